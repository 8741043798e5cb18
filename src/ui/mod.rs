//! Drawing: the whole frame is a pure function of (Model, ViewState, theme, view).
//! Also the view state and the keymap, which change only what is looked at, never the data.

pub mod choices;
pub mod layout;
pub mod note;
pub mod panes;
pub mod picker;
pub mod theme;
pub mod toolkit;
pub mod wizard;

use crate::config::Thresholds;
use crate::model::{Model, SourceId};
use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use layout::View;
use panes::PaneCtx;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use std::collections::BTreeMap;
use theme::Theme;

/// What the keyboard is currently typing into.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Normal,
    Filter,
    Command(String),
    Help,
    /// The selected pod, described (like `kubectl describe pod`) with its events.
    Detail,
    /// The incident timeline, full screen.
    Timeline,
}

/// How the pods pane orders its rows (`s` cycles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PodSort {
    /// Unhealthy first, then by name: what needs attention is on top.
    #[default]
    Health,
    Name,
    Restarts,
    Age,
}

impl PodSort {
    pub fn label(self) -> &'static str {
        match self {
            PodSort::Health => "health",
            PodSort::Name => "name",
            PodSort::Restarts => "restarts",
            PodSort::Age => "age",
        }
    }

    fn next(self) -> PodSort {
        match self {
            PodSort::Health => PodSort::Name,
            PodSort::Name => PodSort::Restarts,
            PodSort::Restarts => PodSort::Age,
            PodSort::Age => PodSort::Health,
        }
    }
}

/// What is looked at: focus, selection, filter. Never the data itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewState {
    pub focus: SourceId,
    pub selection: BTreeMap<SourceId, usize>,
    pub filter: String,
    pub mode: Mode,
    /// A one-line message for the status bar (e.g. an unknown command).
    pub message: Option<String>,
    /// Only this namespace's pods and deployments (`:ns NAME`, `:ns all` clears).
    pub namespace: Option<String>,
    pub pod_sort: PodSort,
    /// How far the timeline overlay is scrolled (0 = the first line shown).
    pub timeline_scroll: usize,
    /// Which kinds of timeline entries are shown (`f` in the timeline cycles).
    pub timeline_kind: TimelineKinds,
    /// Oldest first instead of newest first (`o` in the timeline).
    pub timeline_oldest_first: bool,
}

/// The timeline's kind filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimelineKinds {
    #[default]
    All,
    Detected,
    Action,
    Note,
    Incident,
}

impl TimelineKinds {
    fn next(self) -> TimelineKinds {
        match self {
            TimelineKinds::All => TimelineKinds::Detected,
            TimelineKinds::Detected => TimelineKinds::Action,
            TimelineKinds::Action => TimelineKinds::Note,
            TimelineKinds::Note => TimelineKinds::Incident,
            TimelineKinds::Incident => TimelineKinds::All,
        }
    }

    /// The `TimelineLine::kind` this shows (None: every kind).
    pub fn kind(self) -> Option<crate::model::EntryClass> {
        use crate::model::EntryClass;
        match self {
            TimelineKinds::All => None,
            TimelineKinds::Detected => Some(EntryClass::Detected),
            TimelineKinds::Action => Some(EntryClass::Action),
            TimelineKinds::Note => Some(EntryClass::Note),
            TimelineKinds::Incident => Some(EntryClass::Incident),
        }
    }
}

impl Default for ViewState {
    fn default() -> Self {
        ViewState {
            focus: SourceId::Pods,
            selection: BTreeMap::new(),
            filter: String::new(),
            mode: Mode::Normal,
            message: None,
            namespace: None,
            pod_sort: PodSort::default(),
            timeline_scroll: 0,
            timeline_kind: TimelineKinds::All,
            timeline_oldest_first: false,
        }
    }
}

/// What a key asks of the app loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOutcome {
    Nothing,
    Redraw,
    Quit,
}

/// Every key, for the help screen (and the docs).
pub const KEYS: &[(&str, &str)] = &[
    ("1-5 / tab / shift-tab", "focus pods, replication, sentinel, queues, backups"),
    ("j k / ↓ ↑", "move the selection"),
    ("g / G", "first / last row"),
    ("/", "filter rows by text (enter keeps it, esc clears)"),
    ("enter", "describe the selected pod with its events (esc closes)"),
    ("s", "sort pods: health, name, restarts, age"),
    ("t", "the incident timeline, full screen (j/k scroll, f filters by kind, o oldest/newest first)"),
    ("n", "write a note into the timeline (ctrl-s saves, esc cancels)"),
    (":ns NAME", "show one namespace (:ns all shows every one)"),
    (":open P2 title", "open an incident; :sev P1 and :status mitigated change it"),
    (":run NAME k=v", "a runbook wizard: pick missing params (j/k, enter), preview, type to confirm; esc in a run asks to abort"),
    ("w", "show the runbook wizard again after hiding it (h / esc)"),
    (":", "jump: :pods :replication :sentinel :queues :backups, :q quits"),
    ("?", "this help"),
    ("esc", "close help, clear the filter"),
    ("q / ctrl-c", "quit"),
];

impl ViewState {
    pub fn selected(&self, source: SourceId) -> usize {
        self.selection.get(&source).copied().unwrap_or(0)
    }

    /// Applies a key; pure, so it is tested without a terminal.
    pub fn on_key(&mut self, key: KeyEvent) -> KeyOutcome {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return KeyOutcome::Quit;
        }
        self.message = None;
        match self.mode.clone() {
            Mode::Timeline => {
                match key.code {
                    KeyCode::Char('j') | KeyCode::Down => self.timeline_scroll = self.timeline_scroll.saturating_add(1),
                    KeyCode::Char('k') | KeyCode::Up => self.timeline_scroll = self.timeline_scroll.saturating_sub(1),
                    KeyCode::Char('g') => self.timeline_scroll = 0,
                    KeyCode::Char('f') => {
                        self.timeline_kind = self.timeline_kind.next();
                        self.timeline_scroll = 0;
                    }
                    KeyCode::Char('o') => {
                        self.timeline_oldest_first = !self.timeline_oldest_first;
                        self.timeline_scroll = 0;
                    }
                    KeyCode::Char('q') => return KeyOutcome::Quit,
                    KeyCode::Char('t') | KeyCode::Esc => self.mode = Mode::Normal,
                    _ => return KeyOutcome::Nothing,
                }
                KeyOutcome::Redraw
            }
            Mode::Help | Mode::Detail => {
                if matches!(key.code, KeyCode::Char('q')) && self.mode == Mode::Detail {
                    return KeyOutcome::Quit;
                }
                self.mode = Mode::Normal;
                KeyOutcome::Redraw
            }
            Mode::Filter => {
                match key.code {
                    KeyCode::Esc => {
                        self.filter.clear();
                        self.mode = Mode::Normal;
                    }
                    KeyCode::Enter => self.mode = Mode::Normal,
                    KeyCode::Backspace => {
                        self.filter.pop();
                    }
                    KeyCode::Char(c) if !c.is_control() => self.filter.push(c),
                    _ => return KeyOutcome::Nothing,
                }
                KeyOutcome::Redraw
            }
            Mode::Command(mut text) => {
                match key.code {
                    KeyCode::Esc => self.mode = Mode::Normal,
                    KeyCode::Enter => {
                        self.mode = Mode::Normal;
                        return self.run_command(&text);
                    }
                    KeyCode::Backspace => {
                        text.pop();
                        self.mode = Mode::Command(text);
                    }
                    KeyCode::Char(c) if !c.is_control() => {
                        text.push(c);
                        self.mode = Mode::Command(text);
                    }
                    _ => return KeyOutcome::Nothing,
                }
                KeyOutcome::Redraw
            }
            Mode::Normal => self.on_normal_key(key),
        }
    }

    fn on_normal_key(&mut self, key: KeyEvent) -> KeyOutcome {
        let sel = self.selection.entry(self.focus).or_insert(0);
        match key.code {
            KeyCode::Char('q') => return KeyOutcome::Quit,
            KeyCode::Char('?') => self.mode = Mode::Help,
            KeyCode::Char('/') => self.mode = Mode::Filter,
            KeyCode::Char(':') => self.mode = Mode::Command(String::new()),
            KeyCode::Esc => self.filter.clear(),
            KeyCode::Char('t') => {
                self.timeline_scroll = 0;
                self.mode = Mode::Timeline;
            }
            KeyCode::Enter if self.focus == SourceId::Pods => self.mode = Mode::Detail,
            KeyCode::Char('s') if self.focus == SourceId::Pods => self.pod_sort = self.pod_sort.next(),
            KeyCode::Char('j') | KeyCode::Down => *sel = sel.saturating_add(1),
            KeyCode::Char('k') | KeyCode::Up => *sel = sel.saturating_sub(1),
            KeyCode::Char('g') | KeyCode::Home => *sel = 0,
            KeyCode::Char('G') | KeyCode::End => *sel = usize::MAX / 2,
            KeyCode::Tab => self.focus = cycle(self.focus, 1),
            KeyCode::BackTab => self.focus = cycle(self.focus, SourceId::ALL.len() - 1),
            KeyCode::Char(c @ '1'..='5') => self.focus = SourceId::ALL[(c as usize) - ('1' as usize)],
            _ => return KeyOutcome::Nothing,
        }
        KeyOutcome::Redraw
    }

    fn run_command(&mut self, text: &str) -> KeyOutcome {
        let cmd = text.trim();
        if matches!(cmd, "q" | "quit" | "q!") {
            return KeyOutcome::Quit;
        }
        if let Some(ns) = cmd.strip_prefix("ns").filter(|rest| rest.is_empty() || rest.starts_with(' ')) {
            let ns = ns.trim();
            self.namespace = (!ns.is_empty() && ns != "all").then(|| ns.to_string());
            self.focus = SourceId::Pods;
            self.selection.insert(SourceId::Pods, 0);
            return KeyOutcome::Redraw;
        }
        let names: Vec<&str> = SourceId::ALL.iter().map(|s| s.name()).collect();
        match SourceId::ALL
            .iter()
            .find(|s| s.name() == cmd || (cmd == "pg" && **s == SourceId::Replication) || (cmd == "redis" && **s == SourceId::Sentinel))
        {
            Some(s) => self.focus = *s,
            None => {
                let hint = crate::config::closest(cmd, names.iter().copied())
                    .map_or_else(|| format!("try :{}", names.join(" :")), |s| format!("did you mean :{s}?"));
                self.message = Some(format!("unknown command :{cmd} — {hint}"));
            }
        }
        KeyOutcome::Redraw
    }
}

fn cycle(s: SourceId, by: usize) -> SourceId {
    let i = SourceId::ALL.iter().position(|x| *x == s).unwrap_or(0);
    SourceId::ALL[(i + by) % SourceId::ALL.len()]
}

/// Everything a frame needs besides the model and view state.
pub struct Screen<'a> {
    pub theme: &'a Theme,
    pub views: &'a [View],
    pub view_name: &'a str,
    pub thresholds: &'a Thresholds,
    /// What the top bar says about where sitrep is pointed (context, replay position…).
    pub banner: &'a str,
}

/// Draws one frame.
pub fn render(f: &mut Frame, model: &Model, view: &ViewState, screen: &Screen, now: DateTime<Utc>) {
    let area = f.area();
    let [top, body, bottom] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1), Constraint::Length(1)]).areas(area);
    let mut bar = vec![
        Span::styled(" sitrep ", screen.theme.selected),
        Span::styled(format!(" {} ", screen.banner), screen.theme.accent),
        // Narrow screens keep the time and give the room to the incident (the date rarely matters at 3 a.m.).
        Span::styled(now.format(if area.width < 100 { "%H:%M:%SZ" } else { "%Y-%m-%d %H:%M:%S UTC" }).to_string(), screen.theme.muted),
    ];
    // A shared timeline that cannot reach its database: others do not see what is written here.
    let offline = model.timeline_sync.as_ref().filter(|s| !s.online).map(|s| format!("  ⚠ timeline offline·{} unsynced", s.unsynced.len()));
    // The open incident, at every size: notes and detections go there (cut to fit, with an ellipsis).
    if let Some(incident) = &model.incident {
        let used: usize = bar.iter().map(|s| s.width()).sum::<usize>() + offline.as_ref().map_or(0, |o| o.chars().count());
        let room = (area.width as usize).saturating_sub(used + 2);
        let text: String = if incident.chars().count() > room {
            incident.chars().take(room.saturating_sub(1)).chain(std::iter::once('…')).collect()
        } else {
            incident.clone()
        };
        if room > 3 {
            bar.push(Span::styled(format!("  {text}"), screen.theme.warn));
        }
    }
    if let Some(o) = offline {
        bar.push(Span::styled(o, screen.theme.crit));
    }
    f.render_widget(Paragraph::new(Line::from(bar)), top);
    match layout::choose(screen.views, screen.view_name, area.width, area.height) {
        Some(v) => {
            for (name, rect) in v.split(body) {
                draw_pane(f, &name, rect, model, view, screen, now);
            }
        }
        None => f.render_widget(Paragraph::new("no view fits this terminal; run `sitrep check`"), body),
    }
    f.render_widget(Paragraph::new(status_line(view, screen.theme)), bottom);
    if view.mode == Mode::Help {
        draw_help(f, area, screen.theme);
    }
    if view.mode == Mode::Timeline {
        let ctx = PaneCtx { model, view, theme: screen.theme, thresholds: screen.thresholds, now, focused: true };
        let rect = Rect { x: area.x + 1, y: area.y + 1, width: area.width.saturating_sub(2), height: area.height.saturating_sub(2) };
        panes::timeline::draw(f, rect, &ctx, true);
    }
    if view.mode == Mode::Detail {
        let ctx = PaneCtx { model, view, theme: screen.theme, thresholds: screen.thresholds, now, focused: true };
        panes::pods::draw_detail(f, area, &ctx);
    }
}

fn draw_pane(f: &mut Frame, name: &str, rect: Rect, model: &Model, view: &ViewState, screen: &Screen, now: DateTime<Utc>) {
    let source = match name {
        "pods" => SourceId::Pods,
        "replication" => SourceId::Replication,
        "sentinel" => SourceId::Sentinel,
        "queues" => SourceId::Queues,
        "backups" => SourceId::Backups,
        "focused" => view.focus,
        "timeline" => {
            let ctx = PaneCtx { model, view, theme: screen.theme, thresholds: screen.thresholds, now, focused: false };
            panes::timeline::draw(f, rect, &ctx, false);
            return;
        }
        _ => {
            let ctx = PaneCtx { model, view, theme: screen.theme, thresholds: screen.thresholds, now, focused: false };
            panes::summary::draw(f, rect, &ctx);
            return;
        }
    };
    let ctx = PaneCtx { model, view, theme: screen.theme, thresholds: screen.thresholds, now, focused: view.focus == source };
    match source {
        SourceId::Pods => panes::pods::draw(f, rect, &ctx),
        SourceId::Replication => panes::replication::draw(f, rect, &ctx),
        SourceId::Sentinel => panes::sentinel::draw(f, rect, &ctx),
        SourceId::Queues => panes::queues::draw(f, rect, &ctx),
        SourceId::Backups => panes::backups::draw(f, rect, &ctx),
    }
}

fn status_line<'a>(view: &ViewState, theme: &Theme) -> Line<'a> {
    match &view.mode {
        Mode::Filter => Line::from(vec![Span::styled("/", theme.accent), Span::raw(view.filter.clone()), Span::styled("▏", theme.accent)]),
        Mode::Command(text) => Line::from(vec![Span::styled(":", theme.accent), Span::raw(text.clone()), Span::styled("▏", theme.accent)]),
        _ => {
            if let Some(m) = &view.message {
                return Line::from(Span::styled(m.clone(), theme.warn));
            }
            let mut spans = vec![Span::styled(" ? help  1-5 panes  / filter  : jump  q quit", theme.muted)];
            if let Some(ns) = &view.namespace {
                spans.push(Span::styled(format!("   namespace: {ns}"), theme.warn));
            }
            if view.pod_sort != PodSort::Health {
                spans.push(Span::styled(format!("   pods by {}", view.pod_sort.label()), theme.accent));
            }
            if !view.filter.is_empty() {
                spans.push(Span::styled(format!("   filter: {}", view.filter), theme.warn));
            }
            Line::from(spans)
        }
    }
}

fn draw_help(f: &mut Frame, area: Rect, theme: &Theme) {
    let w = area.width.min(92);
    let inner_w = w.saturating_sub(2).max(1) as usize;
    let lines_needed: usize = KEYS.iter().map(|(k, what)| (24 + k.len().max(22) - 22 + what.len()).div_ceil(inner_w)).sum();
    let h = (lines_needed as u16 + 2).min(area.height);
    let rect = crate::ui::toolkit::centered(area, w, h);
    let lines: Vec<Line> =
        KEYS.iter().map(|(k, what)| Line::from(vec![Span::styled(format!("{k:<22}"), theme.accent), Span::raw(*what)])).collect();
    crate::ui::toolkit::overlay(f, rect, " keys (any key closes) ", lines, true, theme);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn number_keys_and_tab_move_focus() {
        let mut v = ViewState::default();
        v.on_key(key(KeyCode::Char('4')));
        assert_eq!(v.focus, SourceId::Queues);
        v.on_key(key(KeyCode::Tab));
        assert_eq!(v.focus, SourceId::Backups);
        v.on_key(key(KeyCode::Tab));
        assert_eq!(v.focus, SourceId::Pods);
        v.on_key(key(KeyCode::BackTab));
        assert_eq!(v.focus, SourceId::Backups);
    }

    #[test]
    fn colon_jumps_and_unknown_commands_suggest() {
        let mut v = ViewState::default();
        for c in ":queues".chars() {
            v.on_key(key(KeyCode::Char(c)));
        }
        v.on_key(key(KeyCode::Enter));
        assert_eq!(v.focus, SourceId::Queues);
        for c in ":podz".chars() {
            v.on_key(key(KeyCode::Char(c)));
        }
        v.on_key(key(KeyCode::Enter));
        assert!(v.message.as_deref().is_some_and(|m| m.contains(":pods")), "{:?}", v.message);
    }

    #[test]
    fn filter_is_typed_kept_and_cleared() {
        let mut v = ViewState::default();
        for c in "/api".chars() {
            v.on_key(key(KeyCode::Char(c)));
        }
        v.on_key(key(KeyCode::Enter));
        assert_eq!(v.filter, "api");
        assert_eq!(v.on_key(key(KeyCode::Char('q'))), KeyOutcome::Quit);
        v.on_key(key(KeyCode::Esc));
        assert!(v.filter.is_empty());
    }
}
