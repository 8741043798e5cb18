//! Alerts pane: what the Alertmanagers say is firing (worst first), silenced ones marked, and an
//! Alertmanager that does not answer named with its error. `enter` offers an alert's runbook.

use super::PaneCtx;
use crate::model::verdict;
use crate::model::{AlertRow, AlertState, AlertsSnapshot, SourceId};
use crate::ui::toolkit::{age, answered, fit, wrap};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState};

/// SEV, AGE, STATE, then name and summary share the rest.
const FIXED: [u16; 3] = [8, 5, 10];

pub fn draw(f: &mut Frame, area: Rect, ctx: &PaneCtx) {
    let Some((inner, snap)) = super::open(f, area, ctx, 6, "Alerts", SourceId::Alerts, &ctx.model.alerts) else { return };
    // Each Alertmanager that does not answer: its error (which names it) and since when, on up
    // to three lines, so the server's words are read at 80 columns too.
    let width = inner.width as usize;
    let dead_lines: Vec<Line> = snap
        .alertmanagers
        .iter()
        .filter_map(|a| {
            let when = answered(ctx.model.alertmanager_health.get(&a.url), ctx.now, ctx.model.fresh_within(SourceId::Alerts));
            a.error.as_ref().map(|e| wrap(&format!("⚠ {when}: {e}"), width))
        })
        .flat_map(|mut lines| {
            if lines.len() > 3 {
                lines.truncate(3);
                lines[2] = fit(&format!("{} …", lines[2]), width);
            }
            lines
        })
        .map(|l| Line::from(Span::styled(l, ctx.theme.crit)))
        .collect();
    let [head_area, dead_area, table_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(dead_lines.len() as u16), Constraint::Fill(1)]).areas(inner);
    f.render_widget(Paragraph::new(head(snap, ctx)), head_area);
    f.render_widget(Paragraph::new(dead_lines), dead_area);

    let alerts = sorted_alerts(snap, ctx);
    if alerts.is_empty() {
        let text = if snap.alerts.is_empty() { "no alerts firing" } else { "no alert matches the filter" };
        f.render_widget(Paragraph::new(Span::styled(text, ctx.theme.muted)), table_area);
        return;
    }
    let visible = table_area.height.saturating_sub(1).max(1) as usize;
    let selected = if ctx.focused { Some(ctx.view.selected(SourceId::Alerts).min(alerts.len() - 1)) } else { None };
    let first = selected.map_or(0, |s| s.saturating_sub(visible - 1));
    let room = (table_area.width as usize).saturating_sub(FIXED.iter().map(|w| *w as usize + 1).sum::<usize>() + 2);
    let name_w = alerts.iter().skip(first).take(visible).map(|a| a.name.chars().count()).max().unwrap_or(4).clamp(4, room / 2);
    let summary_w = room.saturating_sub(name_w + 1).max(1);
    let rows = alerts.iter().skip(first).take(visible).map(|a| {
        let summary = match &a.runbook {
            Some(r) => format!("{} ▸ {r}", a.summary),
            None => a.summary.clone(),
        };
        Row::new(vec![
            if a.severity.is_empty() { "-".into() } else { fit(&a.severity, FIXED[0] as usize) },
            a.started.map_or_else(|| "-".into(), |t| age(ctx.now, t)),
            state_word(a).to_string(),
            fit(&a.name, name_w),
            fit(&summary, summary_w),
        ])
        .style(ctx.theme.row(verdict::alert(a)))
    });
    let widths = [
        Constraint::Length(FIXED[0]),
        Constraint::Length(FIXED[1]),
        Constraint::Length(FIXED[2]),
        Constraint::Length(name_w as u16),
        Constraint::Fill(1),
    ];
    let table = Table::new(rows, widths)
        .header(Row::new(vec!["SEVERITY", "AGE", "STATE", "ALERT", "SUMMARY"]).style(ctx.theme.muted))
        .row_highlight_style(ctx.theme.selected)
        .highlight_symbol(ctx.theme.selection_marker());
    let mut state = TableState::default();
    state.select(selected.map(|s| s - first));
    f.render_stateful_widget(table, table_area, &mut state);
}

fn head<'a>(snap: &AlertsSnapshot, ctx: &PaneCtx) -> Line<'a> {
    let firing = snap.firing().count();
    let worst = snap.firing().map(verdict::alert).max().unwrap_or_default();
    let suppressed = snap.alerts.iter().filter(|a| a.state == AlertState::Suppressed).count();
    let pending = snap.alerts.iter().filter(|a| a.state == AlertState::Unprocessed).count();
    let mut spans = vec![Span::styled(format!("{firing} firing"), ctx.theme.level(worst))];
    if pending > 0 {
        spans.push(Span::styled(format!(" · {pending} pending"), ctx.theme.warn));
    }
    spans.push(Span::styled(format!(" · {suppressed} silenced/inhibited"), ctx.theme.muted));
    let answering = format!(" · {}/{} alertmanagers answer", snap.reachable(), snap.alertmanagers.len());
    let style = if snap.reachable() < snap.alertmanagers.len() { ctx.theme.crit } else { ctx.theme.muted };
    spans.push(Span::styled(answering, style));
    Line::from(spans)
}

/// What the STATE column says: a silence is named as such (inhibited alerts are suppressed too).
fn state_word(a: &AlertRow) -> &'static str {
    match a.state {
        AlertState::Suppressed if a.silenced => "silenced",
        AlertState::Suppressed => "inhibited",
        other => other.name(),
    }
}

/// Alerts in display order: worst first, muted ones last, then newest; the `/` filter applied
/// to the name, the summary and the labels.
pub fn sorted_alerts<'a>(snap: &'a AlertsSnapshot, ctx: &PaneCtx) -> Vec<&'a AlertRow> {
    let mut out: Vec<&AlertRow> = snap
        .alerts
        .iter()
        .filter(|a| ctx.matches(&a.name) || ctx.matches(&a.summary) || a.labels.iter().any(|(_, v)| ctx.matches(v)))
        .collect();
    let rank = |a: &AlertRow| (std::cmp::Reverse(verdict::alert(a)), a.state == AlertState::Suppressed);
    out.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| b.started.cmp(&a.started)).then_with(|| a.name.cmp(&b.name)));
    out
}

/// The alert the selection is on, if any.
pub fn selected_alert<'a>(ctx: &'a PaneCtx) -> Option<&'a AlertRow> {
    let alerts = sorted_alerts(ctx.model.alerts.as_ref()?, ctx);
    let i = ctx.view.selected(SourceId::Alerts).min(alerts.len().checked_sub(1)?);
    alerts.get(i).copied()
}
