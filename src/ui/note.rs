//! The note editor (ratatui-textarea): multi-line, ctrl-s saves, esc cancels — asking first when
//! text would be lost. It only collects text; saving is the timeline writer's job.

use super::theme::Theme;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::{Block, Borders, Clear};
use ratatui_textarea::TextArea;

/// An open editor.
pub struct NoteEditor {
    area: TextArea<'static>,
    confirm_discard: bool,
}

impl Default for NoteEditor {
    fn default() -> Self {
        let mut area = TextArea::default();
        // Soft wrap: a long note stays readable at 80x24 instead of scrolling sideways.
        area.set_wrap_mode(ratatui_textarea::WrapMode::WordOrGlyph);
        NoteEditor { area, confirm_discard: false }
    }
}

/// What a key did to the editor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoteOutcome {
    Editing,
    /// Esc on a non-empty note: the next Esc discards.
    ConfirmDiscard,
    Discarded,
    Save(String),
}

impl NoteEditor {
    pub fn text(&self) -> String {
        self.area.lines().join("\n")
    }

    pub fn on_key(&mut self, key: KeyEvent) -> NoteOutcome {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('s') {
            let text = self.text();
            return if text.trim().is_empty() { NoteOutcome::Discarded } else { NoteOutcome::Save(text) };
        }
        if key.code == KeyCode::Esc {
            if self.text().trim().is_empty() || self.confirm_discard {
                return NoteOutcome::Discarded;
            }
            self.confirm_discard = true;
            return NoteOutcome::ConfirmDiscard;
        }
        self.confirm_discard = false;
        self.area.input(key);
        NoteOutcome::Editing
    }

    pub fn draw(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        let w = area.width.saturating_sub(4).min(100);
        let h = area.height.saturating_sub(4).min(12);
        let rect = super::toolkit::centered(area, w, h);
        let title = if self.confirm_discard {
            " unsaved note: esc again discards, ctrl-s saves "
        } else {
            " note for the timeline · ctrl-s saves · esc cancels "
        };
        let mut editor = self.area.clone();
        editor.set_block(
            Block::default().borders(Borders::ALL).border_style(if self.confirm_discard { theme.warn } else { theme.focus }).title(title),
        );
        f.render_widget(Clear, rect);
        f.render_widget(&editor, rect);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn esc_asks_before_losing_text_and_ctrl_s_saves_every_line() {
        let mut n = NoteEditor::default();
        for c in "rolled back".chars() {
            n.on_key(key(KeyCode::Char(c)));
        }
        n.on_key(key(KeyCode::Enter));
        for c in "api ok".chars() {
            n.on_key(key(KeyCode::Char(c)));
        }
        assert_eq!(n.on_key(key(KeyCode::Esc)), NoteOutcome::ConfirmDiscard);
        n.on_key(key(KeyCode::Char('!')));
        assert_eq!(n.on_key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL)), NoteOutcome::Save("rolled back\napi ok!".into()));
    }

    #[test]
    fn a_long_note_wraps_so_all_of_it_shows_at_80x24() {
        let mut n = NoteEditor::default();
        let text = "root cause: api 1.5.0 reads REDIS_URL that the chart no longer sets, so every pod exits at start and the end is here";
        for c in text.chars() {
            n.on_key(key(KeyCode::Char(c)));
        }
        let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(80, 24)).expect("terminal");
        let theme = crate::ui::theme::Theme::mono();
        terminal.draw(|f| n.draw(f, f.area(), &theme)).expect("draw");
        let screen: String = terminal.backend().buffer().content().iter().map(|c| c.symbol()).collect();
        assert!(screen.contains("the end is here"), "the note's end is off screen:\n{screen}");
        assert!(screen.contains("root cause: api 1.5.0"), "{screen}");
    }

    #[test]
    fn an_empty_note_closes_without_asking() {
        let mut n = NoteEditor::default();
        assert_eq!(n.on_key(key(KeyCode::Esc)), NoteOutcome::Discarded);
    }
}
