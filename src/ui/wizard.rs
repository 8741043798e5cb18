//! The runbook wizard overlay: each step with its state and its preview (dry run) or outcome,
//! then what to do next — type the name of what will change, Enter runs, Esc hides.

use super::theme::Theme;
use crate::model::RunbookView;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

/// `input` is the typed confirmation being entered (live consoles only; None in a replay).
pub fn draw(f: &mut Frame, area: Rect, run: &RunbookView, input: Option<&str>, theme: &Theme) {
    let w = area.width.saturating_sub(2).min(110);
    let h = area.height.saturating_sub(2).min(36);
    let rect = crate::ui::toolkit::centered(area, w, h);
    let mut lines = Vec::new();
    for (i, (name, state, text)) in run.steps.iter().enumerate() {
        let style = match state.as_str() {
            "verified" => theme.ok,
            "failed" | "refused" => theme.crit,
            "running" | "confirmed" => theme.warn,
            _ => theme.text,
        };
        lines.push(Line::from(vec![Span::styled(format!("{}. {name} ", i + 1), theme.accent), Span::styled(format!("[{state}]"), style)]));
        for l in text.lines().filter(|l| !l.trim().is_empty()).take(4) {
            lines.push(Line::from(Span::styled(format!("   {l}"), theme.muted)));
        }
    }
    lines.push(Line::from(""));
    match (&run.outcome, run.dry_run, input) {
        (None, _, _) => lines.push(Line::from(Span::styled("working…", theme.warn))),
        (Some(o), true, Some(typed)) => {
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
    f.render_widget(Clear, rect);
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).border_style(theme.focus).title(title)),
        rect,
    );
}
