//! Alerts pane: the `[[checks]]` health checks (failing first, each with its status, latency
//! sparkline and age), what the Alertmanagers say is firing (worst first), silenced ones marked,
//! and an Alertmanager that does not answer named with its error. `enter` offers an alert's runbook.

use super::PaneCtx;
use crate::model::verdict;
use crate::model::{AlertRow, AlertState, AlertsSnapshot, CheckRow, SourceId};
use crate::ui::toolkit::{age, answered, fit, wrap};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState};

/// SEV, AGE, STATE, then name and summary share the rest.
const FIXED: [u16; 3] = [8, 5, 10];

pub fn draw(f: &mut Frame, area: Rect, ctx: &PaneCtx) {
    let with_checks = ctx.model.alerts.as_ref().is_some_and(|s| !s.checks.is_empty());
    let title = if with_checks { "Alerts & checks" } else { "Alerts" };
    let Some((inner, snap)) = super::open(f, area, ctx, 6, title, SourceId::Alerts, &ctx.model.alerts) else { return };
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
    // The checks take at most half of what is left, failing ones first, so the alerts stay seen.
    // With no Alertmanager configured the checks have the whole pane.
    let left = (inner.height as usize).saturating_sub(1 + dead_lines.len());
    // Else half of it, but never fewer lines than the failing checks need one each (and the
    // line that says what is left), while two stay for the alerts' header and worst row.
    let failing = snap.failing_checks().count();
    let needed = if failing == 0 { 0 } else { failing + usize::from(failing < snap.checks.len()) };
    let room = if snap.alertmanagers.is_empty() { left } else { (left / 2).max(needed.min(left.saturating_sub(2))) };
    let check_lines = check_lines(snap, ctx, width, room.max(1));
    let [head_area, checks_area, dead_area, table_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(check_lines.len() as u16),
        Constraint::Length(dead_lines.len() as u16),
        Constraint::Fill(1),
    ])
    .areas(inner);
    f.render_widget(Paragraph::new(head(snap, ctx)), head_area);
    f.render_widget(Paragraph::new(check_lines), checks_area);
    f.render_widget(Paragraph::new(dead_lines), dead_area);
    if snap.alertmanagers.is_empty() {
        return;
    }

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
    let mut spans = Vec::new();
    if !snap.checks.is_empty() {
        let worst = snap.checks.iter().map(verdict::check).max().unwrap_or_default();
        let text = match snap.failing_checks().count() {
            0 => format!("{} checks pass", snap.checks.len()),
            n => format!("{n}/{} checks FAILING", snap.checks.len()),
        };
        spans.push(Span::styled(text, ctx.theme.level(worst)));
        if snap.alertmanagers.is_empty() {
            return Line::from(spans);
        }
        spans.push(Span::styled(" · ", ctx.theme.muted));
    }
    let firing = snap.firing().count();
    let worst = snap.firing().map(verdict::alert).max().unwrap_or_default();
    let suppressed = snap.alerts.iter().filter(|a| a.state == AlertState::Suppressed).count();
    let pending = snap.alerts.iter().filter(|a| a.state == AlertState::Unprocessed).count();
    spans.push(Span::styled(format!("{firing} firing"), ctx.theme.level(worst)));
    if pending > 0 {
        spans.push(Span::styled(format!(" · {pending} pending"), ctx.theme.warn));
    }
    spans.push(Span::styled(format!(" · {suppressed} silenced/inhibited"), ctx.theme.muted));
    let answering = format!(" · {}/{} alertmanagers answer", snap.reachable(), snap.alertmanagers.len());
    let style = if snap.reachable() < snap.alertmanagers.len() { ctx.theme.crit } else { ctx.theme.muted };
    spans.push(Span::styled(answering, style));
    Line::from(spans)
}

/// The health checks, worst first then in config order, in at most `room` lines (the last then
/// says how many more there are): mark, name, status, latency, its sparkline, then since when it
/// fails and why (on up to two lines: the server's words are the news), or how fresh its pass is
/// and what it asks.
fn check_lines<'a>(snap: &AlertsSnapshot, ctx: &PaneCtx, width: usize, room: usize) -> Vec<Line<'a>> {
    let mut checks: Vec<&CheckRow> = snap.checks.iter().filter(|c| ctx.matches(&c.name) || ctx.matches(&c.target)).collect();
    checks.sort_by_key(|c| std::cmp::Reverse(verdict::check(c)));
    let name_w = checks.iter().map(|c| c.name.chars().count()).max().unwrap_or(4).clamp(4, 18);
    let within = ctx.model.fresh_within(SourceId::Alerts);
    let mut rows: Vec<(verdict::Level, String, Vec<String>)> = checks
        .iter()
        .map(|c| {
            let level = verdict::check(c);
            let mark = match level {
                verdict::Level::Ok => "✔",
                verdict::Level::Warn => "▲",
                _ => "✘",
            };
            let status = match (c.status, c.latency_ms) {
                (Some(s), _) => s.to_string(),
                (None, Some(_)) => "open".into(),
                (None, None) => "-".into(),
            };
            let latency = c.latency_ms.map_or_else(|| "-".into(), millis);
            let history = ctx.model.check_latency.get(&c.name).map(|s| super::queues::spark(&s.values(), 8)).unwrap_or_default();
            let when = answered(ctx.model.check_health.get(&c.name), ctx.now, within);
            let tail = match &c.error {
                Some(e) => format!("{when}: {e}"),
                None => format!("{when} · {}", c.target),
            };
            let text = format!("{mark} {:<name_w$} {status:>4} {latency:>6} {history:<8} {tail}", fit(&c.name, name_w));
            let mut lines = if c.passed() { vec![fit(&text, width)] } else { wrap(&text, width) };
            if lines.len() > 2 {
                lines.truncate(2);
                lines[1] = fit(&format!("{} …", lines[1]), width);
            }
            (level, text, lines)
        })
        .collect();
    // All of them when they fit; else the failing ones whole (the server's words are the news)
    // when they and a line to say what is left fit, else each on one line; then as many as leave
    // a line to say what is left (failing ones come first, so they are what is seen).
    let failing_lines: usize = rows.iter().filter(|(l, _, _)| *l == verdict::Level::Crit).map(|(_, _, l)| l.len()).sum();
    let all_lines: usize = rows.iter().map(|(_, _, l)| l.len()).sum();
    if all_lines > room && failing_lines + 1 > room {
        for (_, text, lines) in &mut rows {
            *lines = vec![fit(text, width)];
        }
    }
    let total: usize = rows.iter().map(|(_, _, l)| l.len()).sum();
    let budget = if total <= room { room } else { room.saturating_sub(1) };
    let mut out: Vec<Line> = Vec::new();
    let mut shown = 0;
    for (level, _, lines) in &rows {
        if out.len() + lines.len() > budget {
            break;
        }
        out.extend(lines.iter().map(|l| Line::from(Span::styled(l.clone(), ctx.theme.row(*level)))));
        shown += 1;
    }
    if shown < rows.len() {
        let more = rows.len() - shown;
        let failing = checks[shown..].iter().filter(|c| !c.passed()).count();
        let text = if failing > 0 { format!("  +{more} more ({failing} failing): / to filter") } else { format!("  +{more} more passing") };
        out.push(Line::from(Span::styled(fit(&text, width), ctx.theme.muted)));
    }
    out
}

/// A latency as a check row shows it: "12ms", "1.4s".
fn millis(ms: u64) -> String {
    if ms < 1000 { format!("{ms}ms") } else { format!("{:.1}s", ms as f64 / 1000.0) }
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
