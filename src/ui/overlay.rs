//! What lies over the panes, as one state machine: help, describe, timeline, note editor, parameter
//! picker, the runbook wizard's stages, the quit question. A stack: the top one gets keys first.

use super::keymap::HelpRow;
use super::note::NoteEditor;
use super::panes::PaneCtx;
use super::picker::ParamPicker;
use super::theme::Theme;
use super::wizard::Prompt;
use crate::runbook::template::Vars;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

/// Whether the top overlay took a key (gitui's habit): a key it did not take goes on down, to the
/// overlay below it and then to the view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventState {
    Consumed(super::KeyOutcome),
    NotConsumed,
}

/// A runbook chosen with `:run`, not yet started for real.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PendingRun {
    pub name: String,
    pub params: Vars,
}

impl PendingRun {
    pub fn new(name: &str) -> PendingRun {
        PendingRun { name: name.to_string(), params: Vars::new() }
    }
}

/// Where the runbook wizard is. Whether the run goes on or has ended is the Model's (its events).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WizardStage {
    /// The dry run on screen, and the typed confirmation being entered; Enter runs for real when
    /// it is exactly the name the previews gave, else asks again (`wrong` is what was typed).
    Preview { run: PendingRun, typed: String, wrong: Option<String> },
    /// A run on screen without a question: the real run, one that ended, or one in a recording.
    Watching,
    /// Esc during the real run asked: y aborts, n keeps it running, h hides the wizard.
    AbortPrompt,
}

/// One thing over the panes.
pub enum Overlay {
    /// The keys and commands (scrolls; esc, q or ? close it).
    Help,
    /// The selected pod, described (like `kubectl describe pod`) with its events.
    Describe,
    /// The incident timeline, full screen.
    Timeline,
    /// A pod's logs, full screen (the lines are the Model's; the stream runs while it is open).
    Logs(Box<super::logs::LogsPane>),
    /// Boxed: the editor is large beside the other overlays.
    Note(Box<NoteEditor>),
    /// Choosing the parameters `:run` did not give, before the dry run.
    Picker {
        run: PendingRun,
        picker: ParamPicker,
    },
    Wizard(WizardStage),
    /// `:run` with no name: the runbooks to choose from.
    Runbooks(super::runbooks::RunbookList),
    /// `q` while a runbook changes things: `q` again quits, any other key goes on below.
    QuitConfirm,
}

/// The overlays, bottom first.
#[derive(Default)]
pub struct Overlays {
    stack: Vec<Overlay>,
}

impl Overlays {
    pub fn push(&mut self, overlay: Overlay) {
        self.stack.push(overlay);
    }

    /// Takes the top overlay off; it is pushed back when it stays open.
    pub fn pop(&mut self) -> Option<Overlay> {
        self.stack.pop()
    }

    pub fn top(&self) -> Option<&Overlay> {
        self.stack.last()
    }

    pub fn is_empty(&self) -> bool {
        self.stack.is_empty()
    }

    /// Puts `overlay` under the others: what arrives by itself (a recorded run) never takes the
    /// keys from what the person is typing into.
    pub fn push_under(&mut self, overlay: Overlay) {
        self.stack.insert(0, overlay);
    }

    /// The wizard or picker, if one is open.
    pub fn wizard(&self) -> Option<&Overlay> {
        self.stack.iter().find(|o| matches!(o, Overlay::Wizard(_) | Overlay::Picker { .. }))
    }

    /// Whether the logs view is open.
    pub fn has_logs(&self) -> bool {
        self.stack.iter().any(|o| matches!(o, Overlay::Logs(_)))
    }

    /// Closes the logs view wherever it lies.
    pub fn close_logs(&mut self) {
        self.stack.retain(|o| !matches!(o, Overlay::Logs(_)));
    }

    /// Closes the wizard and the picker (a new run replaces them).
    pub fn close_wizard(&mut self) {
        self.stack.retain(|o| !matches!(o, Overlay::Wizard(_) | Overlay::Picker { .. }));
    }

    /// Draws every overlay, bottom first, over the frame `render` drew.
    pub fn draw(&self, f: &mut Frame, ctx: &PaneCtx, help: &[HelpRow]) {
        for overlay in &self.stack {
            overlay.draw(f, ctx, help);
        }
    }
}

impl Overlay {
    fn draw(&self, f: &mut Frame, ctx: &PaneCtx, help: &[HelpRow]) {
        let area = f.area();
        match self {
            Overlay::Help => draw_help(f, area, ctx.theme, help, ctx.view.help_scroll),
            Overlay::Describe => super::panes::pods::draw_detail(f, area, ctx),
            Overlay::Timeline => {
                let rect =
                    Rect { x: area.x + 1, y: area.y + 1, width: area.width.saturating_sub(2), height: area.height.saturating_sub(2) };
                super::panes::timeline::draw(f, rect, ctx, true);
            }
            Overlay::Logs(pane) => pane.draw(f, area, ctx),
            Overlay::Note(note) => note.draw(f, area, ctx.theme),
            Overlay::Picker { picker, .. } => picker.draw(f, area, ctx.theme),
            Overlay::Runbooks(list) => list.draw(f, area, ctx.theme),
            Overlay::Wizard(stage) => {
                if let Some(run) = &ctx.model.runbook {
                    let prompt = match stage {
                        WizardStage::Preview { typed, wrong, .. } => Prompt::Typed { typed, wrong: wrong.as_deref() },
                        WizardStage::AbortPrompt => Prompt::Abort,
                        WizardStage::Watching => Prompt::None,
                    };
                    super::wizard::draw(f, area, run, prompt, ctx.view.wizard_scroll, ctx.now, ctx.theme);
                }
            }
            // The question is in the status bar; what is under it stays in view.
            Overlay::QuitConfirm => {}
        }
    }
}

fn draw_help(f: &mut Frame, area: Rect, theme: &Theme, rows: &[HelpRow], scroll: usize) {
    let w = area.width.min(92);
    let inner_w = w.saturating_sub(2).max(1) as usize;
    let lines_needed: usize = rows.iter().map(|r| (24 + r.keys.len().max(22) - 22 + r.help.len()).div_ceil(inner_w)).sum();
    let h = (lines_needed as u16 + 2).min(area.height);
    let rect = super::toolkit::centered(area, w, h);
    let lines: Vec<Line> =
        rows.iter().map(|r| Line::from(vec![Span::styled(format!("{:<22}", r.keys), theme.accent), Span::raw(r.help)])).collect();
    super::toolkit::scrolled_overlay(f, rect, " keys (esc closes) ", lines, true, scroll, theme);
}
