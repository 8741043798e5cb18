//! Keys as data: one table of bindings (keys, what the help shows, the action) drives both the
//! key dispatch and the `?` help, so the help cannot drift from what the keys do.

use super::command::{COMMANDS, Scope};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// The keys a binding answers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keys {
    Char(char),
    Code(KeyCode),
    /// Any character in the range, e.g. `1`..=`5`.
    Range(char, char),
    /// The character with Control held.
    Ctrl(char),
}

impl Keys {
    fn matches(self, key: &KeyEvent) -> bool {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match (self, key.code) {
            (Keys::Ctrl(want), KeyCode::Char(c)) => ctrl && c == want,
            (Keys::Char(want), KeyCode::Char(c)) => !ctrl && c == want,
            (Keys::Range(lo, hi), KeyCode::Char(c)) => !ctrl && (lo..=hi).contains(&c),
            (Keys::Code(want), code) => !ctrl && code == want,
            _ => false,
        }
    }
}

/// One line of a key table: the keys, how the help names them, what they do, and the action.
#[derive(Debug, Clone, Copy)]
pub struct Binding<A: 'static> {
    pub keys: &'static [Keys],
    pub label: &'static str,
    pub help: &'static str,
    pub scope: Scope,
    pub action: A,
}

/// The action bound to `key` in `table`, if any.
pub fn lookup<A: Copy>(table: &[Binding<A>], key: &KeyEvent) -> Option<A> {
    table.iter().find(|b| b.keys.iter().any(|k| k.matches(key))).map(|b| b.action)
}

/// What the console's keys do outside any overlay; the handler reads the key for the details
/// (which pane, which direction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `1`-`6` that pane, tab the next, shift-tab the previous.
    Focus,
    /// j k / ↓ ↑.
    Move,
    /// g / G: first or last row.
    Jump,
    Filter,
    Describe,
    Logs,
    SortPods,
    /// `v`: the kube pane's next view (pods, services, events).
    KubeView,
    Timeline,
    Note,
    Command,
    ShowWizard,
    Help,
    ClearFilter,
    Quit,
}

use Keys::{Char, Code};

/// The live console's keys, in the order the help lists them.
pub const LIVE: &[Binding<Action>] = &[
    Binding {
        keys: &[Keys::Range('1', '6'), Code(KeyCode::Tab), Code(KeyCode::BackTab)],
        label: "1-6 / tab / shift-tab",
        help: "focus pods, replication, sentinel, queues, backups, alerts",
        scope: Scope::Both,
        action: Action::Focus,
    },
    Binding {
        keys: &[Char('j'), Char('k'), Code(KeyCode::Down), Code(KeyCode::Up)],
        label: "j k / ↓ ↑",
        help: "move the selection",
        scope: Scope::Both,
        action: Action::Move,
    },
    Binding {
        keys: &[Char('g'), Char('G'), Code(KeyCode::Home), Code(KeyCode::End)],
        label: "g / G",
        help: "first / last row",
        scope: Scope::Both,
        action: Action::Jump,
    },
    Binding {
        keys: &[Char('/')],
        label: "/",
        help: "filter rows by text (enter keeps it, esc clears)",
        scope: Scope::Both,
        action: Action::Filter,
    },
    Binding {
        keys: &[Code(KeyCode::Enter)],
        label: "enter",
        help: "describe the selected pod with its events (esc closes); on an alert, open the runbook it names",
        scope: Scope::Both,
        action: Action::Describe,
    },
    Binding {
        keys: &[Char('l')],
        label: "l",
        help: "the selected pod's logs: the last 500 lines, then followed (keys below; esc closes)",
        scope: Scope::Both,
        action: Action::Logs,
    },
    Binding {
        keys: &[Char('s')],
        label: "s",
        help: "sort pods: health, name, restarts, age; :top: worst, CPU, memory",
        scope: Scope::Both,
        action: Action::SortPods,
    },
    Binding {
        keys: &[Char('v')],
        label: "v",
        help: "pane 1 shows pods, services, events, top (CPU, memory), hpa (autoscalers, PDBs); :svc :events :top :hpa",
        scope: Scope::Both,
        action: Action::KubeView,
    },
    Binding {
        keys: &[Char('t')],
        label: "t",
        help: "the incident timeline, full screen (j/k scroll, f filters by kind, o oldest/newest first)",
        scope: Scope::Both,
        action: Action::Timeline,
    },
    Binding {
        keys: &[Char('n')],
        label: "n",
        help: "write a note into the timeline (ctrl-s saves, esc cancels)",
        scope: Scope::Both,
        action: Action::Note,
    },
    Binding {
        keys: &[Char('w')],
        label: "w",
        help: "show the runbook wizard again after hiding it (h / esc)",
        scope: Scope::Live,
        action: Action::ShowWizard,
    },
    Binding {
        keys: &[Char(':')],
        label: ":",
        help: "jump: :pods :services :events :replication :sentinel :queues :backups :alerts, :q quits",
        scope: Scope::Both,
        action: Action::Command,
    },
    Binding { keys: &[Char('?')], label: "?", help: "this help", scope: Scope::Both, action: Action::Help },
    Binding {
        keys: &[Code(KeyCode::Esc)],
        label: "esc",
        help: "close help, clear the filter",
        scope: Scope::Both,
        action: Action::ClearFilter,
    },
    Binding { keys: &[Char('q'), Keys::Ctrl('c')], label: "q / ctrl-c", help: "quit", scope: Scope::Both, action: Action::Quit },
];

/// One line of the help screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HelpRow {
    pub keys: &'static str,
    pub help: &'static str,
}

/// The rows of a key table, for the help screen.
pub fn rows<A>(table: &[Binding<A>], scope: Scope) -> Vec<HelpRow> {
    table.iter().filter(|b| b.scope.shown_in(scope)).map(|b| HelpRow { keys: b.label, help: b.help }).collect()
}

/// The whole help for `scope`: the extra table (a replay's own keys) first, then the `:` commands
/// that have a help line of their own, then the console's keys, then the logs view's.
pub fn help(extra: &[HelpRow], scope: Scope) -> Vec<HelpRow> {
    let commands =
        COMMANDS.iter().filter(|c| c.scope.shown_in(scope) && !c.help.is_empty()).map(|c| HelpRow { keys: c.usage, help: c.help });
    extra.iter().copied().chain(commands).chain(rows(LIVE, scope)).chain(rows(super::logs::KEYS, scope)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn every_live_key_is_found_and_listed() {
        assert_eq!(lookup(LIVE, &key(KeyCode::Char('3'))), Some(Action::Focus));
        assert_eq!(lookup(LIVE, &key(KeyCode::Down)), Some(Action::Move));
        assert_eq!(lookup(LIVE, &KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)), Some(Action::Quit));
        assert_eq!(lookup(LIVE, &key(KeyCode::Char('c'))), None);
        let help = help(&[], Scope::Live);
        for b in LIVE {
            assert!(help.iter().any(|r| r.keys == b.label), "{} is not in the help", b.label);
        }
        assert!(help.iter().any(|r| r.keys.starts_with(":run")));
        assert!(!help.iter().any(|r| r.keys.starts_with(":g")), "replay commands stay out of the live help");
    }
}
