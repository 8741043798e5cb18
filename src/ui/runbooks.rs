//! `:run` with no name: the runbooks in actions/, each with what it does and when to reach for
//! it (its `when`), so the name need not be remembered at 3 a.m. j/k choose, Enter starts the
//! chosen one as `:run NAME` would, Esc closes. A runbook that does not validate is listed with
//! its first problem and cannot be started.

use super::theme::Theme;
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

/// One runbook as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunbookItem {
    pub name: String,
    pub title: String,
    pub when: String,
    /// False for read-only runbooks (triage): they change nothing.
    pub mutates: bool,
    /// Why it cannot be run (it failed validation), in the problem's own words.
    pub invalid: Option<String>,
}

/// The list on screen and the chosen row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunbookList {
    items: Vec<RunbookItem>,
    selected: usize,
}

/// What a key did to the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListOutcome {
    Choosing,
    /// Start this runbook as `:run NAME`.
    Run(String),
    Closed,
    /// Enter on a runbook that is not valid: the list stays, this says why.
    Refused(String),
}

impl RunbookList {
    /// The runbooks found in actions/ (user dirs first), each validated.
    pub fn load() -> RunbookList {
        let items = crate::runbook::load_all()
            .into_iter()
            .map(|file| match crate::runbook::validate(&file) {
                Ok(rb) => RunbookItem { mutates: rb.mutates(), name: rb.name, title: rb.title, when: rb.when, invalid: None },
                Err(problems) => RunbookItem {
                    name: file.name.clone(),
                    title: String::new(),
                    when: String::new(),
                    mutates: false,
                    invalid: Some(problems.first().map(ToString::to_string).unwrap_or_else(|| "invalid".into())),
                },
            })
            .collect();
        RunbookList::new(items)
    }

    pub fn new(items: Vec<RunbookItem>) -> RunbookList {
        RunbookList { items, selected: 0 }
    }

    pub fn on_key(&mut self, key: KeyEvent) -> ListOutcome {
        let last = self.items.len().saturating_sub(1);
        match key.code {
            KeyCode::Esc | KeyCode::Char('q') => return ListOutcome::Closed,
            KeyCode::Char('j') | KeyCode::Down => self.selected = (self.selected + 1).min(last),
            KeyCode::Char('k') | KeyCode::Up => self.selected = self.selected.saturating_sub(1),
            KeyCode::Char('g') | KeyCode::Home => self.selected = 0,
            KeyCode::Char('G') | KeyCode::End => self.selected = last,
            KeyCode::Enter => {
                let Some(item) = self.items.get(self.selected) else { return ListOutcome::Closed };
                return match &item.invalid {
                    Some(why) => ListOutcome::Refused(format!("runbook {} is not valid: {why} (sitrep check)", item.name)),
                    None => ListOutcome::Run(item.name.clone()),
                };
            }
            _ => {}
        }
        ListOutcome::Choosing
    }

    pub fn draw(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        let w = area.width.saturating_sub(4).min(110);
        let width = usize::from(w.saturating_sub(2).max(1));
        let mut lines = Vec::new();
        let mut selected_line = 0;
        if self.items.is_empty() {
            lines.push(Line::from(Span::styled("no runbooks found: put *.toml files in actions/ (docs/runbooks.md)", theme.warn)));
        }
        for (i, item) in self.items.iter().enumerate() {
            let chosen = i == self.selected;
            if chosen {
                selected_line = lines.len();
            }
            // The marker, not only the colour, shows the choice (NO_COLOR, a mono theme).
            let mark = if chosen { "▶ " } else { "  " };
            let head = match &item.invalid {
                Some(_) => format!("{mark}{} — INVALID", item.name),
                None if item.mutates => format!("{mark}{} — {}", item.name, item.title),
                None => format!("{mark}{} — {} (read-only)", item.name, item.title),
            };
            let style = if chosen { theme.selected } else { theme.accent };
            lines.extend(super::toolkit::wrap(&head, width).into_iter().map(|l| Line::from(Span::styled(l, style))));
            let (text, style) = match &item.invalid {
                Some(why) => (why.clone(), theme.crit),
                None => (format!("when: {}", item.when), theme.muted),
            };
            lines.extend(
                super::toolkit::wrap(&text, width.saturating_sub(4))
                    .into_iter()
                    .map(|l| Line::from(Span::styled(format!("    {l}"), style))),
            );
        }
        let h = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX).min(area.height.saturating_sub(2));
        let rect = super::toolkit::centered(area, w, h);
        // The chosen runbook stays in view: scroll so its first line is on the page.
        let page = usize::from(h.saturating_sub(2)).max(1);
        let scroll = selected_line.saturating_sub(page.saturating_sub(3));
        super::toolkit::scrolled_overlay(
            f,
            rect,
            " runbooks · j/k choose · enter runs (dry run first) · esc closes ",
            lines,
            false,
            scroll,
            theme,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn item(name: &str, invalid: Option<&str>) -> RunbookItem {
        RunbookItem {
            name: name.into(),
            title: format!("{name} title"),
            when: "when it hurts".into(),
            mutates: true,
            invalid: invalid.map(str::to_string),
        }
    }

    #[test]
    fn enter_runs_the_chosen_runbook_and_refuses_an_invalid_one() {
        let mut list = RunbookList::new(vec![item("triage", None), item("broken", Some("step 1: no effect")), item("rollback", None)]);
        assert_eq!(list.on_key(key(KeyCode::Enter)), ListOutcome::Run("triage".into()));
        list.on_key(key(KeyCode::Char('j')));
        assert!(matches!(list.on_key(key(KeyCode::Enter)), ListOutcome::Refused(why) if why.contains("step 1: no effect")));
        for _ in 0..5 {
            list.on_key(key(KeyCode::Down));
        }
        assert_eq!(list.on_key(key(KeyCode::Enter)), ListOutcome::Run("rollback".into()), "stops at the last");
        assert_eq!(list.on_key(key(KeyCode::Esc)), ListOutcome::Closed);
    }

    #[test]
    fn the_shipped_runbooks_are_all_listed_and_valid() {
        let list = RunbookList::load();
        let names: Vec<&str> = list.items.iter().map(|i| i.name.as_str()).collect();
        for wanted in ["triage", "rollback", "failover-redis", "restore"] {
            assert!(names.contains(&wanted), "{names:?}");
        }
        assert!(list.items.iter().all(|i| i.invalid.is_none() && !i.when.is_empty()), "{:#?}", list.items);
    }
}
