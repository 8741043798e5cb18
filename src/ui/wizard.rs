//! The runbook wizard overlay: the run's real state in the header, each step with its state, its
//! explanation and its preview or outcome, and below them, always in view, what to do next.

use super::theme::Theme;
use crate::model::{RunState, RunbookStepView, RunbookView, StepPhase};
use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

/// What the wizard asks of the person at the keyboard (live consoles only; `None` in a replay).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt<'a> {
    None,
    /// After the dry run: the typed confirmation being entered, and the last text that was not it.
    Typed {
        typed: &'a str,
        wrong: Option<&'a str>,
    },
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

fn phase_style(phase: StepPhase, theme: &Theme) -> Style {
    match phase {
        StepPhase::Verified => theme.ok,
        StepPhase::Failed | StepPhase::Refused | StepPhase::PreconditionFailed => theme.crit,
        StepPhase::Running | StepPhase::Confirmed | StepPhase::Aborted => theme.warn,
        StepPhase::Pending | StepPhase::PreconditionChecked | StepPhase::Previewed => theme.text,
    }
}

/// The header's word for the run: the Model's state, and whether the prompt is open on it.
pub fn header(run: &RunbookView, prompt: Prompt) -> String {
    match (run.state(), prompt) {
        (RunState::Previewed, Prompt::Typed { .. }) => "WAITING FOR CONFIRMATION".into(),
        (state, _) if run.dry_run && state != RunState::DryRun && state != RunState::Previewed => format!("{} · dry run", state.name()),
        (state, _) => state.name().into(),
    }
}

/// `now` is the model's time, so a step's elapsed time ticks live and replays the same.
/// `scroll` moves the steps from where the wizard puts them by itself (↑↓ PgUp PgDn).
pub fn draw(f: &mut Frame, area: Rect, run: &RunbookView, prompt: Prompt, scroll: isize, now: DateTime<Utc>, theme: &Theme) {
    let w = area.width.saturating_sub(2).min(110);
    let width = usize::from(w.saturating_sub(2).max(1));
    let footer = wrap_lines(footer(run, prompt, theme), width);
    let (body, focus) = steps(run, now, theme, width);
    // As tall as what it says, within the screen; the footer (the question) is always in view.
    let needed = u16::try_from(body.len() + footer.len() + 2).unwrap_or(u16::MAX);
    let rect = super::toolkit::centered(area, w, needed.min(area.height.saturating_sub(2)).min(36));
    let title = format!(" {} · runbook {} · {} ", header(run, prompt), run.name, run.title);
    let block = Block::default().borders(Borders::ALL).border_style(theme.focus).title(title);
    let inner = block.inner(rect);
    f.render_widget(Clear, rect);
    f.render_widget(block, rect);
    let foot_h = (footer.len() as u16).min(inner.height);
    let body_h = inner.height - foot_h;
    // The step that matters now (the one that ended the run, or the latest reached) stays in view.
    let last_first = body.len().saturating_sub(usize::from(body_h));
    let first = focus.min(last_first).saturating_add_signed(scroll).min(last_first);
    let total = body.len();
    let body: Vec<Line> = body.into_iter().skip(first).collect();
    f.render_widget(Paragraph::new(body), Rect { height: body_h, ..inner });
    if total > usize::from(body_h) && rect.height > 2 {
        // Not everything fits: say which lines are shown and how to see the rest.
        let shown = super::toolkit::shown_lines(first, usize::from(body_h), total, "↑↓ PgUp/PgDn");
        let width = u16::try_from(shown.chars().count()).unwrap_or(u16::MAX).min(rect.width.saturating_sub(2));
        let at = Rect { x: rect.x + rect.width - 1 - width, y: rect.y + rect.height - 1, width, height: 1 };
        f.render_widget(Paragraph::new(Span::styled(shown, theme.muted)), at);
    }
    f.render_widget(Paragraph::new(footer), Rect { y: inner.y + body_h, height: foot_h, ..inner });
}

/// Every step's lines, wrapped to `width`, and the first line of the step to keep in view.
fn steps(run: &RunbookView, now: DateTime<Utc>, theme: &Theme, width: usize) -> (Vec<Line<'static>>, usize) {
    let mut lines = Vec::new();
    let mut focus = 0;
    let focused = run.steps.iter().enumerate().max_by_key(|(i, s)| (focus_rank(s.state), *i)).map(|(i, _)| i);
    for (i, step) in run.steps.iter().enumerate() {
        if Some(i) == focused {
            focus = lines.len();
        }
        let head = Line::from(vec![
            Span::styled(format!("{}. {} ", i + 1, step.name), theme.accent),
            Span::styled(state_label(step, now), phase_style(step.state, theme)),
        ]);
        lines.extend(wrap_lines(vec![head], width));
        for l in super::toolkit::wrap(&step.explain, width.saturating_sub(3)).into_iter().filter(|l| !l.is_empty()) {
            lines.push(Line::from(Span::styled(format!("   {l}"), theme.muted)));
        }
        let style = match step.state {
            StepPhase::Failed | StepPhase::Refused | StepPhase::PreconditionFailed => theme.crit,
            _ => theme.text,
        };
        // Every line: triage's findings are a list, and the one that matters may be the last.
        for l in step.text.lines().filter(|l| !l.trim().is_empty()) {
            for (n, part) in super::toolkit::wrap(l, width.saturating_sub(5)).into_iter().enumerate() {
                let mark = if n == 0 { "›" } else { " " };
                lines.push(Line::from(Span::styled(format!("   {mark} {part}"), style)));
            }
        }
    }
    (lines, focus)
}

/// Which step state most deserves to be in view: one that stopped the run, then one under way.
fn focus_rank(phase: StepPhase) -> u8 {
    match phase {
        StepPhase::Failed | StepPhase::Refused | StepPhase::PreconditionFailed | StepPhase::Aborted => 3,
        StepPhase::Running | StepPhase::Confirmed => 2,
        StepPhase::Pending => 0,
        _ => 1,
    }
}

/// What to do next: the question, or the outcome and how to close.
fn footer<'a>(run: &'a RunbookView, prompt: Prompt<'a>, theme: &Theme) -> Vec<Line<'a>> {
    let mut lines = vec![Line::from("")];
    let state = run.state();
    let outcome = run.outcome.clone().unwrap_or_default();
    match (state, prompt) {
        (RunState::Running, Prompt::Abort) => {
            lines.push(Line::from(Span::styled(
                "Abort the run at the current step (a waiting step is interrupted, no later step starts)?",
                theme.crit,
            )));
            lines.push(Line::from(Span::styled("y = abort · n/Esc = keep running · h = hide (the run goes on)", theme.text)));
        }
        (RunState::Running, _) => lines.push(Line::from(Span::styled("working… (Esc: abort or hide)", theme.warn))),
        (RunState::DryRun, _) => {
            lines.push(Line::from(Span::styled("dry run: checking and previewing each step; nothing changes (Esc cancels)", theme.warn)))
        }
        (RunState::Previewed, Prompt::Typed { typed, wrong }) => {
            lines.push(Line::from(Span::styled(outcome, theme.ok)));
            if let Some(wrong) = wrong {
                let expected = run.typed_confirmation().unwrap_or_default();
                lines.push(Line::from(Span::styled(
                    format!("`{wrong}` is not `{expected}` (exactly, case matters): nothing ran. Type it again."),
                    theme.crit,
                )));
            }
            let ask = match run.typed_confirmation() {
                Some(expected) => format!("To run it for real, type {expected} to confirm, then Enter. Esc cancels."),
                None => "To run it for real, press Enter. Esc cancels.".to_string(),
            };
            lines.push(Line::from(Span::styled(ask, theme.text)));
            if run.typed_confirmation().is_some() {
                lines.push(Line::from(vec![Span::styled("> ", theme.accent), Span::raw(typed), Span::styled("▏", theme.accent)]));
            }
        }
        (RunState::Previewed, _) => {
            lines.push(Line::from(Span::styled(outcome, theme.ok)));
            lines.push(Line::from(Span::styled("Esc closes; `:run` again to run it.", theme.muted)));
        }
        (state, _) => {
            let style = if state == RunState::Completed { theme.ok } else { theme.crit };
            lines.push(Line::from(Span::styled(outcome, style)));
            let close = if run.dry_run {
                "Nothing was changed and nothing asks to be confirmed. Esc closes."
            } else {
                "Esc closes; every step is in the timeline (t)."
            };
            lines.push(Line::from(Span::styled(close, theme.muted)));
        }
    }
    lines
}

/// `lines` cut into rows of `width` characters at most (styled spans keep their style).
fn wrap_lines(lines: Vec<Line<'_>>, width: usize) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for line in lines {
        let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
        if text.chars().count() <= width {
            out.push(Line::from(line.spans.into_iter().map(|s| Span::styled(s.content.into_owned(), s.style)).collect::<Vec<_>>()));
            continue;
        }
        // A long line is one message in one style (the footer's): wrap it by words.
        let style = line.spans.first().map(|s| s.style).unwrap_or_default();
        out.extend(super::toolkit::wrap(&text, width).into_iter().map(|l| Line::from(Span::styled(l, style))));
    }
    out
}
