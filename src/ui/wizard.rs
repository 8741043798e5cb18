//! The runbook wizard overlay: each step with its state and its preview (dry run) or outcome,
//! then what to do next — type the name of what will change, Enter runs, Esc asks to abort or hides.

use super::theme::Theme;
use crate::model::{RunbookStepView, RunbookView, StepPhase};
use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

/// What the wizard asks of the person at the keyboard (live consoles only; `None` in a replay).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt<'a> {
    None,
    /// The typed confirmation being entered after the dry run.
    Typed(&'a str),
    /// Esc during a real run: abort it, keep it running, or hide the wizard.
    Abort,
}

/// `[running 12s]` from the model's time, and the step's timeout when known.
fn state_label(step: &RunbookStepView, now: DateTime<Utc>) -> String {
    let limit = step.timeout_secs.map(|t| format!(" · timeout {t}s")).unwrap_or_default();
    match step.started.filter(|_| step.is_running()) {
        Some(since) => format!("[{} {}{limit}]", step.state.name(), super::toolkit::duration((now - since).num_seconds().max(0))),
        None if step.is_running() => format!("[{}{limit}]", step.state.name()),
        None => format!("[{}]", step.state.name()),
    }
}

/// `now` is the model's time, so a step's elapsed time ticks live and replays the same.
pub fn draw(f: &mut Frame, area: Rect, run: &RunbookView, prompt: Prompt, now: DateTime<Utc>, theme: &Theme) {
    let w = area.width.saturating_sub(2).min(110);
    let h = area.height.saturating_sub(2).min(36);
    let rect = crate::ui::toolkit::centered(area, w, h);
    let mut lines = Vec::new();
    for (i, step) in run.steps.iter().enumerate() {
        let style = match step.state {
            StepPhase::Verified => theme.ok,
            StepPhase::Failed | StepPhase::Refused => theme.crit,
            StepPhase::Running | StepPhase::Confirmed | StepPhase::Aborted => theme.warn,
            StepPhase::Pending | StepPhase::PreconditionChecked | StepPhase::Previewed => theme.text,
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{}. {} ", i + 1, step.name), theme.accent),
            Span::styled(state_label(step, now), style),
        ]));
        for l in step.text.lines().filter(|l| !l.trim().is_empty()).take(4) {
            lines.push(Line::from(Span::styled(format!("   {l}"), theme.muted)));
        }
    }
    lines.push(Line::from(""));
    match (&run.outcome, run.dry_run, prompt) {
        (None, false, Prompt::Abort) => {
            lines.push(Line::from(Span::styled(
                "Abort the run at the current step (a waiting step is interrupted, no later step starts)?",
                theme.crit,
            )));
            lines.push(Line::from(Span::styled("y = abort · n/Esc = keep running · h = hide (the run goes on)", theme.text)));
        }
        (None, false, _) => lines.push(Line::from(Span::styled("working… (Esc: abort or hide)", theme.warn))),
        (None, true, _) => lines.push(Line::from(Span::styled("working…", theme.warn))),
        (Some(o), true, Prompt::Typed(typed)) => {
            lines.push(Line::from(Span::styled(o.clone(), theme.muted)));
            lines.push(Line::from(Span::styled(
                "To run it for real, type the name of what will change (as in the previews; empty if no step asks), then Enter. Esc cancels.",
                theme.text,
            )));
            lines.push(Line::from(vec![Span::styled("> ", theme.accent), Span::raw(typed.to_string()), Span::styled("▏", theme.accent)]));
        }
        (Some(o), _, _) => {
            let style = if o.starts_with("completed") || o.starts_with("dry run") { theme.ok } else { theme.crit };
            lines.push(Line::from(Span::styled(o.clone(), style)));
            lines.push(Line::from(Span::styled("Esc closes; every step is in the timeline (t).", theme.muted)));
        }
    }
    let title = format!(" {}runbook {} · {} ", if run.dry_run { "PREVIEW (dry run) · " } else { "RUNNING · " }, run.name, run.title);
    crate::ui::toolkit::overlay(f, rect, title, lines, false, theme);
}
