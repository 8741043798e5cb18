//! Drawing: the whole frame is a pure function of (Model, ViewState, overlays, theme, view).
//! Also the view state and its keys, which change only what is looked at, never the data.

pub mod command;
pub mod keymap;
pub mod kube_views;
pub mod layout;
pub mod logs;
pub mod note;
pub mod overlay;
pub mod panes;
pub mod picker;
pub mod runbooks;
pub mod theme;
pub mod toolkit;
pub mod wizard;

use crate::config::Thresholds;
use crate::model::{Model, SourceId};
use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use layout::{PaneId, View};
use panes::PaneCtx;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use std::collections::BTreeMap;
use theme::Theme;

/// What the keyboard is currently typing into when no overlay takes the key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Normal,
    Filter,
    Command(String),
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
    /// The runbook names `tab` completes after `:run ` (read from actions/ when the console starts).
    pub runbook_names: Vec<String>,
    /// How far the describe overlay is scrolled (lines from its top).
    pub describe_scroll: usize,
    /// How far the help (`?`) is scrolled.
    pub help_scroll: usize,
    /// How far the wizard's steps are scrolled from where the wizard would put them by itself
    /// (the step that matters now): up is negative.
    pub wizard_scroll: isize,
    /// What the kube pane shows (pods, services, events) and each view's own selection.
    pub kube_view: kube_views::KubeView,
    pub kube_selection: BTreeMap<kube_views::KubeView, usize>,
    /// How the top view orders its pods (`s` there).
    pub top_sort: kube_views::TopSort,
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
            runbook_names: Vec::new(),
            describe_scroll: 0,
            help_scroll: 0,
            wizard_scroll: 0,
            kube_view: kube_views::KubeView::Pods,
            kube_selection: BTreeMap::new(),
            top_sort: kube_views::TopSort::default(),
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

/// What a key typed into the view asks for beyond the view itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViewKey {
    /// Done by the view (or nothing to do).
    Outcome(KeyOutcome),
    /// A bound key whose work is the console's (help, timeline, describe, note, wizard).
    Action(keymap::Action),
    /// The `:` line, submitted and parsed.
    Command(Result<command::Command, command::CommandError>),
}

impl ViewState {
    pub fn selected(&self, source: SourceId) -> usize {
        self.selection.get(&source).copied().unwrap_or(0)
    }

    /// The selection of the kube pane's services or events view.
    pub fn kube_selected(&self, view: kube_views::KubeView) -> usize {
        self.kube_selection.get(&view).copied().unwrap_or(0)
    }

    /// Whether the kube pane shows something other than pods (its pod keys then do nothing).
    fn kube_elsewhere(&self) -> bool {
        self.focus == SourceId::Pods && self.kube_view != kube_views::KubeView::Pods
    }

    /// Applies a key; pure, so it is tested without a terminal. Keys for the console (help,
    /// timeline, describe, note, runbooks) do nothing here; [`ViewState::key`] reports them.
    pub fn on_key(&mut self, key: KeyEvent) -> KeyOutcome {
        match self.key(key) {
            ViewKey::Outcome(outcome) => outcome,
            ViewKey::Action(_) => KeyOutcome::Nothing,
            ViewKey::Command(command) => self.command(command),
        }
    }

    /// Applies a key to the view and says what is left for the console to do.
    pub fn key(&mut self, key: KeyEvent) -> ViewKey {
        // Ctrl-C quits from every mode, the typing ones too.
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return ViewKey::Outcome(KeyOutcome::Quit);
        }
        self.message = None;
        let outcome = match self.mode.clone() {
            Mode::Filter => {
                match key.code {
                    KeyCode::Esc => {
                        self.filter.clear();
                        self.mode = Mode::Normal;
                    }
                    KeyCode::Enter => self.mode = Mode::Normal,
                    _ if edit_line(&mut self.filter, key) => {}
                    _ => return ViewKey::Outcome(KeyOutcome::Nothing),
                }
                KeyOutcome::Redraw
            }
            Mode::Command(mut text) => {
                match key.code {
                    KeyCode::Esc => self.mode = Mode::Normal,
                    KeyCode::Enter => {
                        self.mode = Mode::Normal;
                        return ViewKey::Command(command::Command::parse(&text));
                    }
                    KeyCode::Tab => {
                        let done = command::complete(&text, &self.runbook_names);
                        if !done.candidates.is_empty() {
                            self.message = Some(done.candidates.join("  "));
                        }
                        self.mode = Mode::Command(done.text);
                    }
                    _ if edit_line(&mut text, key) => self.mode = Mode::Command(text),
                    _ => return ViewKey::Outcome(KeyOutcome::Nothing),
                }
                KeyOutcome::Redraw
            }
            Mode::Normal => match keymap::lookup(keymap::LIVE, &key) {
                Some(action) => return self.act(action, key),
                None => KeyOutcome::Nothing,
            },
        };
        ViewKey::Outcome(outcome)
    }

    /// A bound key in normal mode: the view's own actions are done here.
    fn act(&mut self, action: keymap::Action, key: KeyEvent) -> ViewKey {
        use keymap::Action;
        let elsewhere = self.kube_elsewhere();
        let sel =
            if elsewhere { self.kube_selection.entry(self.kube_view).or_insert(0) } else { self.selection.entry(self.focus).or_insert(0) };
        match (action, key.code) {
            (Action::KubeView, _) => {
                self.focus = SourceId::Pods;
                self.kube_view = self.kube_view.next();
            }
            (Action::SortPods, _) if elsewhere && self.kube_view == kube_views::KubeView::Top => self.top_sort = self.top_sort.next(),
            (Action::Describe | Action::SortPods | Action::Logs, _) if elsewhere => return ViewKey::Outcome(KeyOutcome::Nothing),
            (Action::Quit, _) => return ViewKey::Outcome(KeyOutcome::Quit),
            (Action::Filter, _) => self.mode = Mode::Filter,
            (Action::Command, _) => self.mode = Mode::Command(String::new()),
            (Action::ClearFilter, _) => self.filter.clear(),
            (Action::SortPods, _) if self.focus == SourceId::Pods => self.pod_sort = self.pod_sort.next(),
            // Enter on an alert offers the runbook it names (the console's to open).
            (Action::Describe, _) if self.focus == SourceId::Alerts => return ViewKey::Action(action),
            (Action::Describe | Action::SortPods | Action::Logs, _) if self.focus != SourceId::Pods => {
                return ViewKey::Outcome(KeyOutcome::Nothing);
            }
            (Action::Move, KeyCode::Char('j') | KeyCode::Down) => *sel = sel.saturating_add(1),
            (Action::Move, _) => *sel = sel.saturating_sub(1),
            (Action::Jump, KeyCode::Char('g') | KeyCode::Home) => *sel = 0,
            (Action::Jump, _) => *sel = usize::MAX / 2,
            (Action::Focus, KeyCode::Tab) => self.focus = cycle(self.focus, 1),
            (Action::Focus, KeyCode::BackTab) => self.focus = cycle(self.focus, SourceId::ALL.len() - 1),
            (Action::Focus, KeyCode::Char(c @ '1'..='6')) => self.focus = SourceId::ALL[(c as usize) - ('1' as usize)],
            (Action::Focus, _) => return ViewKey::Outcome(KeyOutcome::Nothing),
            (
                Action::Describe | Action::SortPods | Action::Logs | Action::Timeline | Action::Note | Action::ShowWizard | Action::Help,
                _,
            ) => {
                return ViewKey::Action(action);
            }
        }
        ViewKey::Outcome(KeyOutcome::Redraw)
    }

    /// A key while the timeline is full screen: scrolls it, filters it by kind, turns its order.
    pub fn scroll_timeline(&mut self, key: KeyEvent) -> KeyOutcome {
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
            _ => return KeyOutcome::Nothing,
        }
        KeyOutcome::Redraw
    }

    /// A key while a pod is described: scrolls it. Returns None for a key that closes it.
    pub fn scroll_describe(&mut self, key: KeyEvent) -> Option<KeyOutcome> {
        scroll_overlay(&mut self.describe_scroll, key)
    }

    /// A key while the help is open: scrolls it (it is longer than 80x24); `?` closes it too.
    pub fn scroll_help(&mut self, key: KeyEvent) -> Option<KeyOutcome> {
        if key.code == KeyCode::Char('?') {
            return None;
        }
        scroll_overlay(&mut self.help_scroll, key)
    }

    /// A key that scrolls the wizard's steps (arrows and pages; j/k too when nothing is typed).
    pub fn scroll_wizard(&mut self, key: KeyEvent, typing: bool) -> bool {
        let by: isize = match key.code {
            KeyCode::Down => 1,
            KeyCode::Up => -1,
            KeyCode::Char('j') if !typing => 1,
            KeyCode::Char('k') if !typing => -1,
            KeyCode::PageDown => PAGE as isize,
            KeyCode::PageUp => -(PAGE as isize),
            _ => return false,
        };
        // Bounded, so coming back from far past an end takes no more keys than going there.
        self.wizard_scroll = (self.wizard_scroll + by).clamp(-(MAX_SCROLL as isize), MAX_SCROLL as isize);
        true
    }

    /// Carries out a `:` command that only changes the view; the others need a console with a
    /// timeline writer and runbooks, so here they only say so.
    pub fn command(&mut self, command: Result<command::Command, command::CommandError>) -> KeyOutcome {
        use command::Command;
        match command {
            Ok(Command::Quit) => return KeyOutcome::Quit,
            Ok(Command::Focus(source)) => {
                self.focus = source;
                if source == SourceId::Pods {
                    self.kube_view = kube_views::KubeView::Pods;
                }
            }
            Ok(Command::Kube(view)) => {
                self.focus = SourceId::Pods;
                self.kube_view = view;
            }
            Ok(Command::Namespace(ns)) => {
                self.namespace = ns;
                self.focus = SourceId::Pods;
                self.selection.insert(SourceId::Pods, 0);
            }
            Ok(Command::Run { .. } | Command::Runbooks) => self.message = Some("runbooks run only in the interactive console".into()),
            Ok(Command::Open { .. } | Command::Severity(_) | Command::Status(_)) => {
                self.message = Some("not saved: no timeline writer here (a replay or a headless frame)".into());
            }
            Ok(Command::Seek(_)) => self.message = Some(":g moves through a replay; this console is live".into()),
            Ok(Command::Export { .. }) => {
                self.message = Some("no timeline writer here to export from; `sitrep incident export` in a shell does it".into());
            }
            Err(e) => self.message = Some(e.to_string()),
        }
        KeyOutcome::Redraw
    }
}

/// Lines a page key moves an overlay.
const PAGE: usize = 10;
/// The farthest the wizard scrolls from its own position (it clamps to its lines when drawn).
const MAX_SCROLL: usize = 400;

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

/// Draws one frame's panes and bars; the overlays go on top ([`overlay::Overlays::draw`]).
pub fn render(f: &mut Frame, model: &Model, view: &ViewState, screen: &Screen, now: DateTime<Utc>) {
    let area = f.area();
    let [top, body, bottom] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1), Constraint::Length(1)]).areas(area);
    let mut bar = vec![
        Span::styled(" sitrep ", screen.theme.selected),
        Span::styled(format!(" {} ", screen.banner), screen.theme.accent),
        // Narrow screens keep the time and give the room to the incident (the date rarely matters at 3 a.m.).
        // To the minute: a seconds clock alone cost an idle console ~2.7 KB a minute over SSH; the
        // timeline and the panes' ages keep their seconds.
        Span::styled(now.format(if area.width < 100 { "%H:%MZ" } else { "%Y-%m-%d %H:%M UTC" }).to_string(), screen.theme.muted),
    ];
    // A shared timeline that cannot reach its database: others do not see what is written here.
    let offline = model.timeline_sync.as_ref().filter(|s| !s.online).map(|s| format!("  ⚠ timeline offline·{} unsynced", s.unsynced.len()));
    // The open incident, at every size: notes and detections go there (cut to fit, with an ellipsis).
    if let Some(incident) = &model.incident {
        let used: usize = bar.iter().map(|s| s.width()).sum::<usize>() + offline.as_ref().map_or(0, |o| o.chars().count());
        let room = (area.width as usize).saturating_sub(used + 2);
        let text = toolkit::fit(incident, room);
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
            // Alerts are optional: their pane is absent until the source is configured and heard from.
            let shown = |p: PaneId| p != PaneId::Source(SourceId::Alerts) || model.reported(SourceId::Alerts);
            for (pane, rect) in v.split_shown(body, shown) {
                draw_pane(f, pane, rect, model, view, screen, now);
            }
        }
        None => f.render_widget(Paragraph::new("no view fits this terminal; run `sitrep check`"), body),
    }
    f.render_widget(Paragraph::new(status_line(view, screen.theme)), bottom);
}

fn draw_pane(f: &mut Frame, pane: PaneId, rect: Rect, model: &Model, view: &ViewState, screen: &Screen, now: DateTime<Utc>) {
    let source = match pane {
        PaneId::Source(source) => source,
        PaneId::Focused => view.focus,
        PaneId::Timeline => {
            let ctx = PaneCtx { model, view, theme: screen.theme, thresholds: screen.thresholds, now, focused: false };
            panes::timeline::draw(f, rect, &ctx, false);
            return;
        }
        PaneId::Summary => {
            let ctx = PaneCtx { model, view, theme: screen.theme, thresholds: screen.thresholds, now, focused: false };
            panes::summary::draw(f, rect, &ctx);
            return;
        }
    };
    let ctx = PaneCtx { model, view, theme: screen.theme, thresholds: screen.thresholds, now, focused: view.focus == source };
    match source {
        SourceId::Pods => match view.kube_view {
            kube_views::KubeView::Pods => panes::pods::draw(f, rect, &ctx),
            kube_views::KubeView::Services => panes::services::draw(f, rect, &ctx),
            kube_views::KubeView::Events => panes::events::draw(f, rect, &ctx),
            kube_views::KubeView::Top => panes::top::draw(f, rect, &ctx),
            kube_views::KubeView::Scaling => panes::scaling::draw(f, rect, &ctx),
        },
        SourceId::Replication => panes::replication::draw(f, rect, &ctx),
        SourceId::Sentinel => panes::sentinel::draw(f, rect, &ctx),
        SourceId::Queues => panes::queues::draw(f, rect, &ctx),
        SourceId::Backups => panes::backups::draw(f, rect, &ctx),
        SourceId::Alerts => panes::alerts::draw(f, rect, &ctx),
    }
}

fn status_line<'a>(view: &ViewState, theme: &Theme) -> Line<'a> {
    match &view.mode {
        Mode::Filter => Line::from(vec![Span::styled("/", theme.accent), Span::raw(view.filter.clone()), Span::styled("▏", theme.accent)]),
        Mode::Command(text) => {
            let mut spans = vec![Span::styled(":", theme.accent), Span::raw(text.clone()), Span::styled("▏", theme.accent)];
            // What tab found when it could not choose: the candidates, after the cursor.
            if let Some(m) = &view.message {
                spans.push(Span::styled(format!("   {m}"), theme.muted));
            }
            Line::from(spans)
        }
        _ => {
            if let Some(m) = &view.message {
                return Line::from(Span::styled(m.clone(), theme.warn));
            }
            let mut spans = vec![Span::styled(" ? help  1-6 panes  / filter  : jump  q quit", theme.muted)];
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

/// A key on a scrolled overlay (describe, help): j/k, pages, g/G. None for a key that closes it
/// (Esc, q); any other key does nothing, so a stray key never closes what is being read.
fn scroll_overlay(s: &mut usize, key: KeyEvent) -> Option<KeyOutcome> {
    match key.code {
        KeyCode::Esc | KeyCode::Char('q') => return None,
        KeyCode::Char('j') | KeyCode::Down => *s = s.saturating_add(1),
        KeyCode::Char('k') | KeyCode::Up => *s = s.saturating_sub(1),
        KeyCode::PageDown | KeyCode::Char(' ') => *s = s.saturating_add(PAGE),
        KeyCode::PageUp => *s = s.saturating_sub(PAGE),
        KeyCode::Char('g') | KeyCode::Home => *s = 0,
        // The overlay stops at its last line, however far this goes.
        KeyCode::Char('G') | KeyCode::End => *s = usize::MAX / 2,
        _ => return Some(KeyOutcome::Nothing),
    }
    Some(KeyOutcome::Redraw)
}

/// One line being typed (the `/` filter, the `:` line), edited as a shell line is: Backspace,
/// Ctrl-U clears, Ctrl-W deletes the last word; other Ctrl/Alt chords type nothing. Whether the
/// key was an edit.
pub(crate) fn edit_line(text: &mut String, key: KeyEvent) -> bool {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Backspace => {
            text.pop();
        }
        KeyCode::Char('u') if ctrl => text.clear(),
        KeyCode::Char('w') if ctrl => {
            let kept = text.trim_end().rfind(' ').map_or(0, |i| i + 1);
            text.truncate(kept);
        }
        KeyCode::Char(_) if ctrl || key.modifiers.contains(KeyModifiers::ALT) => return false,
        KeyCode::Char(c) if !c.is_control() => text.push(c),
        _ => return false,
    }
    true
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
        assert_eq!(v.focus, SourceId::Alerts);
        v.on_key(key(KeyCode::Tab));
        assert_eq!(v.focus, SourceId::Pods);
        v.on_key(key(KeyCode::BackTab));
        assert_eq!(v.focus, SourceId::Alerts);
        v.on_key(key(KeyCode::Char('6')));
        assert_eq!(v.focus, SourceId::Alerts);
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

    #[test]
    fn ctrl_u_and_ctrl_w_edit_the_typed_line_and_type_nothing() {
        let mut v = ViewState::default();
        let ctrl = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL);
        for c in ":open P2 api down".chars() {
            v.on_key(key(KeyCode::Char(c)));
        }
        v.on_key(ctrl('w'));
        assert_eq!(v.mode, Mode::Command("open P2 api ".into()));
        v.on_key(ctrl('u'));
        assert_eq!(v.mode, Mode::Command(String::new()), "Ctrl-U clears; it does not type u");
        v.on_key(KeyEvent::new(KeyCode::Char('x'), KeyModifiers::ALT));
        assert_eq!(v.mode, Mode::Command(String::new()), "an Alt chord types nothing");
        for c in "qu".chars() {
            v.on_key(key(KeyCode::Char(c)));
        }
        v.on_key(key(KeyCode::Esc));
        for c in "/ap".chars() {
            v.on_key(key(KeyCode::Char(c)));
        }
        v.on_key(ctrl('u'));
        assert_eq!(v.filter, "", "the filter line edits the same way");
    }
}
