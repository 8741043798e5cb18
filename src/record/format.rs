//! The recording format: a zstd stream of JSON lines — a versioned header, then one record per
//! event, key or resize with its offset from the start. Flushed every second, so a crash loses ≤ 1 s.

use crate::model::Event;
use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::{Deserialize, Serialize};

/// What the first line says; `format` tells a sitrep recording from any other file.
pub const FORMAT: &str = "sitrep-recording";
/// Bumped when a reader of the previous version could misread a file.
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    pub version: u32,
    pub sitrep: String,
    pub started_at: DateTime<Utc>,
    pub cols: u16,
    pub rows: u16,
    /// Where the console was pointed, secrets removed (e.g. "sentinel 127.0.0.1:26379").
    pub sources: Vec<String>,
    pub timezone: String,
    /// The banner the console showed (context, namespaces).
    pub banner: String,
    /// Each source's refresh interval in seconds, as the recorded console judged freshness by
    /// it; a replay judges by the same (absent in older recordings: the replaying config's).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub refresh_secs: std::collections::BTreeMap<crate::model::SourceId, u64>,
}

/// One recorded thing, `t` milliseconds after `started_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "r", rename_all = "snake_case")]
pub enum Record {
    Event { t: u64, event: Event },
    Key { t: u64, key: KeyRecord },
    Resize { t: u64, cols: u16, rows: u16 },
}

impl Record {
    pub fn t(&self) -> u64 {
        match self {
            Record::Event { t, .. } | Record::Key { t, .. } | Record::Resize { t, .. } => *t,
        }
    }
}

/// A key press, in words that survive crossterm upgrades: "a", "ctrl+s", "enter", "tab".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord(pub String);

impl KeyRecord {
    pub fn from_key(key: &KeyEvent) -> Option<KeyRecord> {
        let name = match key.code {
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Enter => "enter".into(),
            KeyCode::Esc => "esc".into(),
            KeyCode::Tab => "tab".into(),
            KeyCode::BackTab => "backtab".into(),
            KeyCode::Backspace => "backspace".into(),
            KeyCode::Up => "up".into(),
            KeyCode::Down => "down".into(),
            KeyCode::Left => "left".into(),
            KeyCode::Right => "right".into(),
            KeyCode::Home => "home".into(),
            KeyCode::End => "end".into(),
            _ => return None,
        };
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        Some(KeyRecord(if ctrl { format!("ctrl+{name}") } else { name }))
    }

    pub fn to_key(&self) -> Option<KeyEvent> {
        let (mods, name) = match self.0.strip_prefix("ctrl+") {
            Some(rest) if !rest.is_empty() => (KeyModifiers::CONTROL, rest),
            _ => (KeyModifiers::NONE, self.0.as_str()),
        };
        let code = match name {
            "enter" => KeyCode::Enter,
            "esc" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "backspace" => KeyCode::Backspace,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            one if one.chars().count() == 1 => KeyCode::Char(one.chars().next()?),
            _ => return None,
        };
        Some(KeyEvent::new(code, mods))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_their_names() {
        for k in [
            KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE),
            KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL),
            KeyEvent::new(KeyCode::BackTab, KeyModifiers::NONE),
            KeyEvent::new(KeyCode::Char('+'), KeyModifiers::NONE),
        ] {
            let r = KeyRecord::from_key(&k).expect("recordable");
            assert_eq!(r.to_key(), Some(k), "{r:?}");
        }
    }
}
