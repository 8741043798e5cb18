//! Interactive replay: play, pause, speed 0.25x–32x, seek by time or to the next/previous
//! timeline entry, with a progress bar marking the incident's entries. Any size, resizable.

use crate::app::Console;
use crate::config::Config;
use crate::model::Event;
use crate::record::reader::Recording;
use crate::replay::player::{console_at, parse_offset};
use crate::ui::command::{Command, Scope};
use crate::ui::keymap::{Binding, Keys, lookup};
use crate::ui::{KeyOutcome, Mode};
use crossterm::event::{Event as TermEvent, EventStream, KeyCode, KeyEventKind};
use futures::StreamExt;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

const SPEEDS: [f64; 8] = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0];

/// What the replay's own keys do (the console's keys work too, on the replayed console).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReplayAction {
    PlayPause,
    Faster,
    Slower,
    Forward,
    Back,
    Step,
    NextEntry,
    PreviousEntry,
}

/// The replay's keys: they drive the player and the `?` help of a replay lists them.
const KEYS: &[Binding<ReplayAction>] = &[
    Binding { keys: &[Keys::Char(' ')], label: "space", help: "play / pause", scope: Scope::Replay, action: ReplayAction::PlayPause },
    Binding { keys: &[Keys::Char('+')], label: "+", help: "faster (up to 32x)", scope: Scope::Replay, action: ReplayAction::Faster },
    Binding { keys: &[Keys::Char('-')], label: "-", help: "slower (down to 0.25x)", scope: Scope::Replay, action: ReplayAction::Slower },
    Binding {
        keys: &[Keys::Code(KeyCode::Right)],
        label: "→",
        help: "10 seconds forward",
        scope: Scope::Replay,
        action: ReplayAction::Forward,
    },
    Binding { keys: &[Keys::Code(KeyCode::Left)], label: "←", help: "10 seconds back", scope: Scope::Replay, action: ReplayAction::Back },
    Binding { keys: &[Keys::Char('.')], label: ".", help: "one second forward", scope: Scope::Replay, action: ReplayAction::Step },
    Binding {
        keys: &[Keys::Char(']')],
        label: "]",
        help: "the next timeline entry",
        scope: Scope::Replay,
        action: ReplayAction::NextEntry,
    },
    Binding {
        keys: &[Keys::Char('[')],
        label: "[",
        help: "the previous timeline entry",
        scope: Scope::Replay,
        action: ReplayAction::PreviousEntry,
    },
];

/// Where the player is.
struct Player {
    console: Console,
    pos_ms: u64,
    cursor: crate::replay::player::Cursor,
    playing: bool,
    speed: usize,
}

impl Player {
    fn seek(&mut self, rec: &Recording, config: &Config, to_ms: u64) -> anyhow::Result<()> {
        let to = to_ms.min(rec.duration_ms());
        let view = self.console.view.clone();
        let (mut console, cursor) = crate::replay::player::console_and_cursor_at(rec, config, to, false)?;
        console.view = view;
        console.set_replay(annotations_path(&rec.path), crate::ui::keymap::rows(KEYS, Scope::Replay));
        self.console = console;
        self.pos_ms = to;
        self.cursor = cursor;
        Ok(())
    }

    fn act(&mut self, action: ReplayAction, rec: &Recording, config: &Config, entries: &[u64]) -> anyhow::Result<()> {
        match action {
            ReplayAction::PlayPause => self.playing = !self.playing,
            ReplayAction::Faster => self.speed = (self.speed + 1).min(SPEEDS.len() - 1),
            ReplayAction::Slower => self.speed = self.speed.saturating_sub(1),
            ReplayAction::Forward => self.advance(rec, 10_000),
            ReplayAction::Back => self.seek(rec, config, self.pos_ms.saturating_sub(10_000))?,
            ReplayAction::Step => self.advance(rec, 1000),
            ReplayAction::NextEntry => {
                if let Some(t) = entries.iter().find(|t| **t > self.pos_ms) {
                    self.seek(rec, config, *t)?;
                }
            }
            ReplayAction::PreviousEntry => {
                if let Some(t) = entries.iter().rev().find(|t| **t + 500 < self.pos_ms) {
                    self.seek(rec, config, *t)?;
                }
            }
        }
        Ok(())
    }

    fn advance(&mut self, rec: &Recording, by_ms: u64) {
        self.pos_ms = (self.pos_ms + by_ms).min(rec.duration_ms());
        self.cursor.advance_to(rec, &mut self.console, self.pos_ms, false);
        if self.pos_ms >= rec.duration_ms() {
            self.playing = false;
        }
    }
}

/// Offsets of timeline entries (detections, notes, actions) in the recording.
fn entry_offsets(rec: &Recording) -> Vec<u64> {
    rec.records
        .iter()
        .filter_map(|r| match r {
            crate::record::Record::Event { t, event: Event::TimelineAppended { .. } } => Some(*t),
            _ => None,
        })
        .collect()
}

pub async fn run(rec: Recording, config: Config, speed: f64, from_ms: u64) -> anyhow::Result<()> {
    let console = console_at(&rec, &config, 0, false)?;
    let speed = SPEEDS.iter().position(|s| *s >= speed).unwrap_or(2);
    let mut player = Player { console, pos_ms: 0, cursor: Default::default(), playing: true, speed };
    player.seek(&rec, &config, from_ms)?;
    let entries = entry_offsets(&rec);
    let mut terminal = crate::terminal::enter()?;
    let mut keys = EventStream::new();
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
    let mut last = tokio::time::Instant::now();
    let result: anyhow::Result<()> = loop {
        if let Err(e) = draw(&mut terminal, &player, &rec, &entries) {
            break Err(e);
        }
        tokio::select! {
            _ = tick.tick() => {
                let now = tokio::time::Instant::now();
                if player.playing {
                    let ms = (now - last).as_secs_f64() * 1000.0 * SPEEDS[player.speed];
                    player.advance(&rec, ms as u64);
                }
                last = now;
            }
            key = keys.next() => match key {
                Some(Ok(TermEvent::Key(k))) if k.kind != KeyEventKind::Release => {
                    if let Some(command) = seek_command(&player.console, &k) {
                        player.console.view.mode = Mode::Normal;
                        match parse_offset(&command) {
                            Ok(ms) => player.seek(&rec, &config, ms)?,
                            Err(e) => player.console.view.message = Some(e),
                        }
                        continue;
                    }
                    let free = !player.console.has_overlay() && player.console.view.mode == Mode::Normal;
                    match lookup(KEYS, &k).filter(|_| free) {
                        Some(action) => player.act(action, &rec, &config, &entries)?,
                        None => {
                            if player.console.on_key(k) == KeyOutcome::Quit {
                                break Ok(());
                            }
                        }
                    }
                }
                Some(Ok(TermEvent::Resize(_, _))) => { let _ = terminal.autoresize(); }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break Ok(()),
            },
        }
    };
    crate::terminal::leave();
    result
}

/// `:g 12:30` typed in command mode, taken at Enter (every other command is the console's).
fn seek_command(console: &Console, key: &crossterm::event::KeyEvent) -> Option<String> {
    if key.code != KeyCode::Enter || console.has_overlay() {
        return None;
    }
    match &console.view.mode {
        Mode::Command(text) => match Command::parse(text) {
            Ok(Command::Seek(at)) => Some(at),
            _ => None,
        },
        _ => None,
    }
}

/// Notes typed during a replay live beside the recording: FILE.annotations.jsonl.
pub fn annotations_path(recording: &std::path::Path) -> std::path::PathBuf {
    let mut name = recording.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".annotations.jsonl");
    recording.with_file_name(name)
}

fn draw(terminal: &mut crate::terminal::ConsoleTerminal, p: &Player, rec: &Recording, entries: &[u64]) -> anyhow::Result<()> {
    let c = &p.console;
    terminal
        .draw(|f| {
            let area = f.area();
            c.draw_frame(f);
            let bar = Rect { x: area.x, y: area.y + area.height.saturating_sub(1), width: area.width, height: 1 };
            f.render_widget(Paragraph::new(progress_line(p, rec, entries, area.width, c.theme())), bar);
        })
        .map_err(|e| anyhow::anyhow!("drawing: {e}"))?;
    Ok(())
}

/// "▶ x1 01:23/05:00 [────•──|───] space ±speed ←→ [ ] :g" with timeline entries marked |.
fn progress_line<'a>(p: &Player, rec: &Recording, entries: &[u64], width: u16, theme: &crate::ui::theme::Theme) -> Line<'a> {
    let total = rec.duration_ms().max(1);
    let clock = |ms: u64| format!("{:02}:{:02}", ms / 60_000, (ms / 1000) % 60);
    let head = format!(" {} x{} {}/{} ", if p.playing { "▶" } else { "⏸" }, SPEEDS[p.speed], clock(p.pos_ms), clock(total));
    let tail = " space ± ←→ [ ] :g t ";
    let bar_w = (width as usize).saturating_sub(head.chars().count() + tail.len() + 2).max(10);
    let mut bar: Vec<char> = vec!['─'; bar_w];
    for t in entries {
        let i = ((*t as f64 / total as f64) * (bar_w - 1) as f64) as usize;
        bar[i.min(bar_w - 1)] = '|';
    }
    let at = ((p.pos_ms as f64 / total as f64) * (bar_w - 1) as f64) as usize;
    bar[at.min(bar_w - 1)] = '•';
    Line::from(vec![
        Span::styled(head, theme.selected),
        Span::styled(format!("[{}]", bar.into_iter().collect::<String>()), theme.accent),
        Span::styled(tail, theme.muted),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyEvent, KeyModifiers};

    #[test]
    fn the_help_of_a_replay_lists_the_replay_keys_and_not_the_live_only_ones() {
        let mut console = Console::new(Config::default(), "REPLAY".into(), crate::clock::Clock::Real).expect("console");
        console.set_replay("x.annotations.jsonl".into(), crate::ui::keymap::rows(KEYS, Scope::Replay));
        console.on_key(KeyEvent::new(KeyCode::Char('?'), KeyModifiers::NONE));
        let frame = crate::app::frame_text(&console, 100, 40, false);
        for b in KEYS {
            assert!(frame.contains(b.help), "replay help lacks {}:\n{frame}", b.label);
        }
        assert!(frame.contains(":g 12:30"), "{frame}");
        assert!(!frame.contains(":run"), "runbooks do not run in a replay:\n{frame}");
        assert_eq!(lookup(KEYS, &KeyEvent::new(KeyCode::Char(']'), KeyModifiers::NONE)), Some(ReplayAction::NextEntry));
    }
}
