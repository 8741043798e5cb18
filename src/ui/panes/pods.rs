//! Pods pane: deployments and their rollout, pods (unhealthy first), recent warning events.
//! Mirrors what `kubectl get deploy,pods` and `get events` would tell, in one glance.

use super::PaneCtx;
use crate::model::verdict;
use crate::model::{PodRow, SourceId};
use crate::ui::PodSort;
use crate::ui::toolkit::{age, fit};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState};

pub fn draw(f: &mut Frame, area: Rect, ctx: &PaneCtx) {
    let Some((inner, snap)) = super::open(f, area, ctx, 1, "Pods", SourceId::Pods, &ctx.model.pods) else { return };
    let deploy_rows = snap.deployments.len().min(6) as u16;
    let event_rows = if inner.height > 20 { 5 } else { 0 };
    let [deploy_area, pods_area, events_area] = Layout::vertical([
        Constraint::Length(if deploy_rows > 0 { deploy_rows + 1 } else { 0 }),
        Constraint::Fill(1),
        Constraint::Length(event_rows),
    ])
    .areas(inner);

    let in_namespace = |ns: &String| ctx.view.namespace.as_ref().is_none_or(|want| want == ns);
    let deployments = snap.deployments.iter().filter(|d| in_namespace(&d.namespace) && ctx.matches(&d.name)).map(|d| {
        let style = ctx.theme.row(verdict::rollout(d));
        Row::new(vec![
            format!("{}/{}", d.namespace, d.name),
            format!("{}/{}", d.ready, d.desired),
            d.updated.to_string(),
            d.available.to_string(),
            d.revision.clone(),
            d.rollout.clone(),
        ])
        .style(style)
    });
    let table = Table::new(
        deployments,
        [
            Constraint::Fill(2),
            Constraint::Length(11),
            Constraint::Length(6),
            Constraint::Length(6),
            Constraint::Length(4),
            Constraint::Fill(1),
        ],
    )
    .header(Row::new(vec!["DEPLOYMENT", "READY", "UPD", "AVAIL", "REV", "ROLLOUT"]).style(ctx.theme.muted));
    f.render_widget(table, deploy_area);

    let pods = sorted_pods(&snap.pods, ctx);
    // Only the rows that fit are built: 10,000 pods must not cost 10,000 formatted rows a frame.
    let visible = pods_area.height.saturating_sub(1).max(1) as usize;
    let selected = if ctx.focused && !pods.is_empty() { Some(ctx.view.selected(SourceId::Pods).min(pods.len() - 1)) } else { None };
    let first = selected.map_or(0, |s| s.saturating_sub(visible - 1));
    // The pod column is as wide as the longest visible name; the node gets the rest, and either
    // one that does not fit is cut with `…` (a node in the middle: two nodes must never read alike).
    // READY, STATUS, RESTARTS, AGE, and the one-column gaps between the six columns.
    const MIDDLE: [u16; 4] = [5, 17, 13, 5];
    let fixed = MIDDLE.iter().map(|w| *w as usize).sum::<usize>() + MIDDLE.len() + 1;
    // The table keeps the selection marker's columns (mono: "▶ ") in front of every row while one is selected.
    let marker = if selected.is_some() { ctx.theme.selection_marker().chars().count() } else { 0 };
    let room = (pods_area.width as usize).saturating_sub(fixed + marker);
    let longest = pods.iter().skip(first).take(visible).map(|p| p.name.chars().count()).max().unwrap_or(3);
    let pod_w = longest.clamp(3, room.saturating_sub(8).max(3));
    let node_w = room.saturating_sub(pod_w).max(1);
    let rows = pods.iter().skip(first).take(visible).map(|p| {
        let style = ctx.theme.row(verdict::pod(p));
        let restarts = match p.last_restart {
            Some(t) if p.restarts > 0 => format!("{} ({} ago)", p.restarts, age(ctx.now, t)),
            _ => p.restarts.to_string(),
        };
        Row::new(vec![
            fit(&p.name, pod_w),
            format!("{}/{}", p.ready, p.containers),
            p.status().to_string(),
            restarts,
            p.created.map_or_else(|| "-".into(), |c| age(ctx.now, c)),
            crate::ui::toolkit::fit_middle(&p.node, node_w),
        ])
        .style(style)
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(pod_w as u16),
            Constraint::Length(MIDDLE[0]),
            Constraint::Length(MIDDLE[1]),
            Constraint::Length(MIDDLE[2]),
            Constraint::Length(MIDDLE[3]),
            Constraint::Fill(1),
        ],
    )
    .header(Row::new(vec!["POD", "READY", "STATUS", "RESTARTS", "AGE", "NODE"]).style(ctx.theme.muted))
    .row_highlight_style(ctx.theme.selected)
    .highlight_symbol(ctx.theme.selection_marker());
    let mut state = TableState::default();
    state.select(selected.map(|s| s - first));
    f.render_stateful_widget(table, pods_area, &mut state);

    if event_rows > 0 {
        let lines: Vec<Line> = snap
            .events
            .iter()
            .filter(|e| e.kind == "Warning")
            .take(event_rows as usize)
            .map(|e| {
                // One line each, cut with `…` at the pane's edge (describe, `enter`, has the whole event).
                let when = format!("{:>4} ", e.at.map_or_else(|| "-".into(), |t| age(ctx.now, t)));
                let reason = format!("{} ", e.reason);
                let room = (events_area.width as usize).saturating_sub(when.chars().count() + reason.chars().count());
                Line::from(vec![
                    Span::styled(when, ctx.theme.muted),
                    Span::styled(reason, ctx.theme.warn),
                    Span::raw(fit(&format!("{}: {}", e.object, e.message), room)),
                ])
            })
            .collect();
        f.render_widget(Paragraph::new(lines), events_area);
    }
}

/// Pods in display order (the `s` sort; by default unhealthy first), with the `/` filter and
/// the `:ns` namespace applied.
pub fn sorted_pods<'a>(pods: &'a [PodRow], ctx: &PaneCtx) -> Vec<&'a PodRow> {
    let mut out: Vec<&PodRow> = pods
        .iter()
        .filter(|p| ctx.view.namespace.as_ref().is_none_or(|ns| *ns == p.namespace))
        .filter(|p| ctx.matches(&p.name) || ctx.matches(p.status()))
        .collect();
    let by_name = |a: &&PodRow, b: &&PodRow| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name));
    match ctx.view.pod_sort {
        PodSort::Health => out.sort_by(|a, b| a.is_healthy().cmp(&b.is_healthy()).then_with(|| by_name(a, b))),
        PodSort::Name => out.sort_by(by_name),
        PodSort::Restarts => out.sort_by(|a, b| b.restarts.cmp(&a.restarts).then_with(|| by_name(a, b))),
        PodSort::Age => out.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| by_name(a, b))),
    }
    out
}

/// The pod under the selection, as the pane shows it.
pub fn selected_pod<'a>(ctx: &'a PaneCtx) -> Option<&'a PodRow> {
    let pods = sorted_pods(&ctx.model.pods.as_ref()?.pods, ctx);
    let i = ctx.view.selected(SourceId::Pods).min(pods.len().checked_sub(1)?);
    pods.get(i).copied()
}

/// `kubectl describe pod`, the parts that matter in an incident: status, restarts, node, events.
pub fn draw_detail(f: &mut Frame, area: Rect, ctx: &PaneCtx) {
    let w = area.width.saturating_sub(4).min(120);
    let h = area.height.saturating_sub(4).min(30);
    let rect = crate::ui::toolkit::centered(area, w, h);
    let label = |k: &str| Span::styled(format!("{k:<12}"), ctx.theme.muted);
    let lines: Vec<Line> = match selected_pod(ctx) {
        None => vec![Line::from(Span::styled("no pod selected", ctx.theme.muted))],
        Some(p) => {
            let mut lines = vec![
                Line::from(vec![label("Name"), Span::styled(p.name.clone(), ctx.theme.accent)]),
                Line::from(vec![label("Namespace"), Span::raw(p.namespace.clone())]),
                Line::from(vec![label("Node"), Span::raw(p.node.clone())]),
                Line::from(vec![
                    label("Status"),
                    Span::styled(p.status().to_string(), if p.is_healthy() { ctx.theme.ok } else { ctx.theme.crit }),
                ]),
                Line::from(vec![label("Ready"), Span::raw(format!("{}/{}", p.ready, p.containers))]),
                Line::from(vec![
                    label("Restarts"),
                    Span::raw(match p.last_restart {
                        Some(t) => format!("{} (last {} ago)", p.restarts, age(ctx.now, t)),
                        None => p.restarts.to_string(),
                    }),
                ]),
                Line::from(vec![label("Age"), Span::raw(p.created.map_or_else(|| "-".into(), |c| age(ctx.now, c)))]),
                Line::from(""),
                Line::from(Span::styled("Events", ctx.theme.accent)),
            ];
            let object = format!("pod/{}", p.name);
            let events: Vec<Line> = ctx
                .model
                .pods
                .iter()
                .flat_map(|s| s.events.iter())
                .filter(|e| e.object == object && e.namespace == p.namespace)
                .map(|e| {
                    let style = if e.kind == "Warning" { ctx.theme.warn } else { ctx.theme.text };
                    Line::from(vec![
                        Span::styled(format!("{:>5} ", e.at.map_or_else(|| "-".into(), |t| age(ctx.now, t))), ctx.theme.muted),
                        Span::styled(format!("{:<8}", e.kind), style),
                        Span::styled(format!("{:<18}", e.reason), style),
                        Span::raw(format!("{} (x{})", e.message, e.count)),
                    ])
                })
                .collect();
            if events.is_empty() {
                lines.push(Line::from(Span::styled("  none recorded", ctx.theme.muted)));
            }
            lines.extend(events);
            lines
        }
    };
    crate::ui::toolkit::scrolled_overlay(f, rect, " describe pod (esc closes) ", lines, false, ctx.view.describe_scroll, ctx.theme);
}
