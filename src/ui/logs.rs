//! The logs view (`l` on a pod): the Model's lines of one container, following the newest or
//! scrolled back, with `/` search (highlighted, n/N), wrap and timestamps toggles and the stream's state.

use super::keymap::{Binding, Keys};
use super::panes::PaneCtx;
use super::theme::Theme;
use super::toolkit::{age, fit, wrap};
use super::{KeyOutcome, command::Scope};
use crate::model::{LogLine, LogsView, StreamState};
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

/// What a key does in the logs view; the handler reads the key for the direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogsAction {
    Scroll,
    Previous,
    Search,
    NextMatch,
    Wrap,
    Timestamps,
    Close,
}

use Keys::{Char, Code};

/// The logs view's keys, in the order the help lists them.
pub const KEYS: &[Binding<LogsAction>] = &[
    Binding {
        keys: &[
            Char('j'),
            Char('k'),
            Code(KeyCode::Down),
            Code(KeyCode::Up),
            Code(KeyCode::PageDown),
            Code(KeyCode::PageUp),
            Char(' '),
            Char('g'),
            Char('G'),
            Code(KeyCode::Home),
            Code(KeyCode::End),
        ],
        label: "logs: j k pgup/dn g G",
        help: "scroll the log (g oldest kept line; G newest, and follow again)",
        scope: Scope::Both,
        action: LogsAction::Scroll,
    },
    Binding {
        keys: &[Char('p')],
        label: "logs: p",
        help: "the previous (terminated) container run, or back to the current one",
        scope: Scope::Live,
        action: LogsAction::Previous,
    },
    Binding {
        keys: &[Char('/')],
        label: "logs: /",
        help: "search (enter finds the newest match, highlighted; an empty search clears it)",
        scope: Scope::Both,
        action: LogsAction::Search,
    },
    Binding {
        keys: &[Char('n'), Char('N')],
        label: "logs: n / N",
        help: "the older / newer match",
        scope: Scope::Both,
        action: LogsAction::NextMatch,
    },
    Binding { keys: &[Char('w')], label: "logs: w", help: "wrap long lines, or cut them", scope: Scope::Both, action: LogsAction::Wrap },
    Binding {
        keys: &[Char('t')],
        label: "logs: t",
        help: "show the kubelet's timestamps",
        scope: Scope::Both,
        action: LogsAction::Timestamps,
    },
    Binding {
        keys: &[Code(KeyCode::Esc), Char('q')],
        label: "logs: esc / q",
        help: "close the logs and stop the stream",
        scope: Scope::Both,
        action: LogsAction::Close,
    },
];

/// What a key asks of the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogsOutcome {
    Stay(KeyOutcome),
    /// Read the other run of the container (`p`).
    TogglePrevious,
    Close,
}

/// The view state of the logs view (the lines are the Model's).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogsPane {
    /// The number of the line at the bottom while scrolled back; None follows the newest.
    pub anchor: Option<u64>,
    pub wrap: bool,
    pub timestamps: bool,
    /// The search being typed (`/`), until enter or esc.
    pub typing: Option<String>,
    /// The search term, and the number of the current match.
    pub search: Option<(String, Option<u64>)>,
}

/// Lines a page key moves (as in describe).
const PAGE: u64 = 10;

impl LogsPane {
    pub fn on_key(&mut self, key: KeyEvent, logs: Option<&LogsView>) -> LogsOutcome {
        if let Some(mut text) = self.typing.take() {
            match key.code {
                KeyCode::Esc => {}
                KeyCode::Enter => self.start_search(text, logs),
                _ => {
                    super::edit_line(&mut text, key);
                    self.typing = Some(text);
                }
            }
            return LogsOutcome::Stay(KeyOutcome::Redraw);
        }
        let Some(action) = super::keymap::lookup(KEYS, &key) else { return LogsOutcome::Stay(KeyOutcome::Nothing) };
        match action {
            LogsAction::Close => return LogsOutcome::Close,
            LogsAction::Previous => {
                self.anchor = None;
                return LogsOutcome::TogglePrevious;
            }
            LogsAction::Scroll => self.scroll(key, logs),
            LogsAction::Search => self.typing = Some(String::new()),
            LogsAction::NextMatch => self.next_match(key.code == KeyCode::Char('n'), logs),
            LogsAction::Wrap => self.wrap = !self.wrap,
            LogsAction::Timestamps => self.timestamps = !self.timestamps,
        }
        LogsOutcome::Stay(KeyOutcome::Redraw)
    }

    fn scroll(&mut self, key: KeyEvent, logs: Option<&LogsView>) {
        let Some(v) = logs.filter(|v| !v.lines.is_empty()) else { return };
        let (first, last) = (v.first_number(), v.end_number() - 1);
        let at = self.anchor.unwrap_or(last).clamp(first, last);
        let to = match key.code {
            KeyCode::Char('j') | KeyCode::Down => at.saturating_add(1),
            KeyCode::Char('k') | KeyCode::Up => at.saturating_sub(1),
            KeyCode::PageDown | KeyCode::Char(' ') => at.saturating_add(PAGE),
            KeyCode::PageUp => at.saturating_sub(PAGE),
            KeyCode::Char('g') | KeyCode::Home => first,
            _ => last,
        };
        // Reaching the newest line follows again; scrolled back, new lines do not move the view.
        self.anchor = (to < last).then_some(to.max(first));
    }

    fn start_search(&mut self, term: String, logs: Option<&LogsView>) {
        if term.is_empty() {
            self.search = None;
            return;
        }
        self.search = Some((term, None));
        let from = logs.map_or(0, |v| self.anchor.unwrap_or(v.end_number()).saturating_add(1));
        self.jump(logs, from, true);
    }

    fn next_match(&mut self, older: bool, logs: Option<&LogsView>) {
        let Some((_, current)) = &self.search else { return };
        let from = current.or(self.anchor).unwrap_or(u64::MAX);
        self.jump(logs, from, older);
    }

    /// Moves to the nearest match before (older) or after `from`; the view keeps it in sight.
    fn jump(&mut self, logs: Option<&LogsView>, from: u64, older: bool) {
        let (Some(v), Some((term, current))) = (logs, self.search.as_mut()) else { return };
        let hit = |n: &u64| v.line(*n).is_some_and(|l| find(&l.text, term).is_some());
        let found = if older {
            (v.first_number()..from.min(v.end_number())).rev().find(hit)
        } else {
            (from.saturating_add(1).max(v.first_number())..v.end_number()).find(hit)
        };
        if let Some(n) = found {
            *current = Some(n);
            let last = v.end_number() - 1;
            let bottom = (n + PAGE / 2).min(last);
            self.anchor = (bottom < last).then_some(bottom);
        }
    }

    /// Draws the view over the whole screen but its edge.
    pub fn draw(&self, f: &mut Frame, area: Rect, ctx: &PaneCtx) {
        let rect = Rect { x: area.x + 1, y: area.y + 1, width: area.width.saturating_sub(2), height: area.height.saturating_sub(2) };
        f.render_widget(Clear, rect);
        let theme = ctx.theme;
        let Some(v) = ctx.model.logs.as_ref() else {
            let block = Block::default().borders(Borders::ALL).border_style(theme.focus).title(" logs (esc closes) ");
            f.render_widget(Paragraph::new(Span::styled("no log open", theme.muted)).block(block), rect);
            return;
        };
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.focus)
            .title(Line::from(Span::styled(title(v, self), theme.accent)))
            .title_bottom(Line::from(Span::styled(self.footer(v), theme.muted)));
        let inner = block.inner(rect);
        f.render_widget(block, rect);
        let (state, style) = stream_line(&v.stream, ctx);
        // The stream's state in full (an error's words matter), on up to three rows.
        let mut rows: Vec<Line> =
            wrap(&state, inner.width as usize).into_iter().take(3).map(|r| Line::from(Span::styled(r, style))).collect();
        if let Some(typing) = &self.typing {
            rows.push(Line::from(vec![Span::styled("/", theme.accent), Span::raw(typing.clone()), Span::styled("▏", theme.accent)]));
        }
        let height = (inner.height as usize).saturating_sub(rows.len());
        if v.lines.is_empty() {
            rows.push(Line::from(Span::styled("no lines yet", theme.muted)));
        } else {
            rows.extend(self.body(v, inner.width as usize, height, theme));
        }
        f.render_widget(Paragraph::new(rows), inner);
    }

    /// The rows that end at the anchor (or the newest line), `height` of them at most.
    fn body(&self, v: &LogsView, width: usize, height: usize, theme: &Theme) -> Vec<Line<'static>> {
        let last = v.end_number() - 1;
        let mut n = self.anchor.unwrap_or(last).clamp(v.first_number(), last);
        let mut rows: Vec<Line<'static>> = Vec::new();
        while rows.len() < height {
            let Some(line) = v.line(n) else { break };
            let mut these = self.rows_of(n, line, width, theme);
            these.append(&mut rows);
            rows = these;
            if n == v.first_number() {
                break;
            }
            n -= 1;
        }
        let over = rows.len().saturating_sub(height);
        rows.split_off(over)
    }

    /// One log line as screen rows: the timestamp (if shown), the text cut or wrapped, matches marked.
    fn rows_of(&self, n: u64, line: &LogLine, width: usize, theme: &Theme) -> Vec<Line<'static>> {
        let stamp = match (self.timestamps, line.at) {
            (true, Some(at)) => format!("{} ", at.format("%H:%M:%S%.3f")),
            (true, None) => format!("{:13}", "-"),
            (false, _) => String::new(),
        };
        let room = width.saturating_sub(stamp.chars().count()).max(1);
        let pieces = if self.wrap { wrap(&line.text, room) } else { vec![fit(&line.text, room)] };
        let term = self.search.as_ref().map(|(t, _)| t.as_str());
        let current = self.search.as_ref().and_then(|(_, c)| *c) == Some(n);
        let text_style = if line.text.starts_with("ERROR") || line.text.starts_with("FATAL") { theme.crit } else { theme.text };
        pieces
            .into_iter()
            .enumerate()
            .map(|(i, piece)| {
                let lead = if i == 0 { stamp.clone() } else { " ".repeat(stamp.chars().count()) };
                let mut spans = vec![Span::styled(lead, if current { theme.accent } else { theme.muted })];
                spans.extend(marked(&piece, term, text_style, theme.selected));
                Line::from(spans)
            })
            .collect()
    }

    fn footer(&self, v: &LogsView) -> String {
        let mut parts = Vec::new();
        if let Some((term, _)) = &self.search {
            let count = v.lines.iter().filter(|l| find(&l.text, term).is_some()).count();
            parts.push(format!("/{term}: {count} matching"));
        }
        parts.push(match v.dropped {
            0 => format!("{} lines", v.lines.len()),
            dropped => format!("{} lines ({dropped} older dropped)", v.lines.len()),
        });
        // The help (`?`) lists every key; these two are what a reader needs first.
        parts.push("p previous · esc closes".into());
        format!(" {} ", parts.join(" · "))
    }
}

/// The header: pod, container (when one was named), which run, following or paused.
fn title(v: &LogsView, pane: &LogsPane) -> String {
    let t = &v.target;
    let container = t.container.as_deref().map(|c| format!(" · {c}")).unwrap_or_default();
    let run = if t.previous { "PREVIOUS run" } else { "current run" };
    let follow = match (pane.anchor, &v.stream) {
        (None, StreamState::Following { .. }) => "following".to_string(),
        (None, _) => "at the end".to_string(),
        (Some(n), _) => format!("paused at {}/{} (G follows)", n + 1, v.end_number()),
    };
    format!(" logs {}/{}{container} · {run} · {follow} ", t.namespace, t.pod)
}

/// How the stream stands, in words with its age, and the style to say it in.
fn stream_line(stream: &StreamState, ctx: &PaneCtx) -> (String, Style) {
    let now = ctx.now;
    let until = |at: chrono::DateTime<chrono::Utc>| if at > now { format!("in {}", age(at, now)) } else { "now".to_string() };
    match stream {
        StreamState::Connecting { since } => (format!("◌ connecting ({} ago)…", age(now, *since)), ctx.theme.muted),
        StreamState::Following { since } => (format!("● live: streaming since {}", since.format("%H:%M:%S")), ctx.theme.ok),
        StreamState::Ended { at, reason, retry_at } => {
            let next = retry_at.map_or_else(|| "complete".to_string(), |r| format!("reconnecting {}", until(r)));
            (format!("■ stream ended {} ago: {reason} · {next}", age(now, *at)), ctx.theme.warn)
        }
        StreamState::Failed { since, error, retry_at } => {
            (format!("✖ stream DEAD for {}: {error} · reconnecting {}", age(now, *since), until(*retry_at)), ctx.theme.crit)
        }
    }
}

/// Where `term` occurs in `text`, ignoring ASCII case (byte offsets stay those of `text`).
fn find(text: &str, term: &str) -> Option<usize> {
    if term.is_empty() {
        return None;
    }
    let (hay, needle) = (text.as_bytes(), term.as_bytes());
    hay.windows(needle.len()).position(|w| w.eq_ignore_ascii_case(needle)).filter(|i| text.is_char_boundary(*i))
}

/// `text` as spans with each occurrence of `term` in `hit` style.
fn marked(text: &str, term: Option<&str>, style: Style, hit: Style) -> Vec<Span<'static>> {
    let Some(term) = term.filter(|t| !t.is_empty()) else { return vec![Span::styled(text.to_string(), style)] };
    let mut spans = Vec::new();
    let mut rest = text;
    while let Some(i) = find(rest, term) {
        let end = i + term.len();
        if !rest.is_char_boundary(end) {
            break;
        }
        spans.push(Span::styled(rest[..i].to_string(), style));
        spans.push(Span::styled(rest[i..end].to_string(), hit));
        rest = &rest[end..];
    }
    spans.push(Span::styled(rest.to_string(), style));
    spans
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LogTarget, LogsEvent, logs};
    use crossterm::event::KeyModifiers;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn view(n: usize) -> Option<LogsView> {
        let target = LogTarget::pod("shop", "api-1");
        let mut v = None;
        logs::apply(&mut v, LogsEvent::Opened { at: chrono::DateTime::UNIX_EPOCH, target: target.clone() });
        let lines = (0..n).map(|i| LogLine { at: None, text: if i % 7 == 0 { format!("ERROR {i}") } else { format!("ok {i}") } }).collect();
        logs::apply(&mut v, LogsEvent::Lines { target, lines });
        v
    }

    #[test]
    fn scrolling_back_pauses_and_g_upper_follows_again() {
        let v = view(50);
        let mut pane = LogsPane::default();
        pane.on_key(key(KeyCode::Char('k')), v.as_ref());
        assert_eq!(pane.anchor, Some(48));
        pane.on_key(key(KeyCode::PageUp), v.as_ref());
        assert_eq!(pane.anchor, Some(38));
        pane.on_key(key(KeyCode::Char('g')), v.as_ref());
        assert_eq!(pane.anchor, Some(0));
        pane.on_key(key(KeyCode::Char('G')), v.as_ref());
        assert_eq!(pane.anchor, None, "following");
        assert_eq!(pane.on_key(key(KeyCode::Esc), v.as_ref()), LogsOutcome::Close);
    }

    #[test]
    fn search_finds_the_newest_match_then_n_goes_older_and_upper_n_newer() {
        let v = view(50);
        let mut pane = LogsPane::default();
        for c in "/error".chars() {
            pane.on_key(key(KeyCode::Char(c)), v.as_ref());
        }
        pane.on_key(key(KeyCode::Enter), v.as_ref());
        assert_eq!(pane.search, Some(("error".into(), Some(49))));
        pane.on_key(key(KeyCode::Char('n')), v.as_ref());
        assert_eq!(pane.search.as_ref().and_then(|s| s.1), Some(42));
        pane.on_key(key(KeyCode::Char('N')), v.as_ref());
        assert_eq!(pane.search.as_ref().and_then(|s| s.1), Some(49));
        assert_eq!(marked("an Error and error", Some("error"), Style::default(), Style::default()).len(), 5);
    }
}
