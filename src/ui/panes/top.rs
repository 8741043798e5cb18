//! Top view of the kube pane (`:top`): what `kubectl top nodes` and `kubectl top pods` show, with
//! each share of a request, limit or allocatable beside it, coloured by the production runbook's
//! CPU and memory thresholds (the verdict module judges; this only draws). A pod the OOM killer
//! ended says so in LAST EXIT. A Metrics API that cannot be read says why, since when, and how old
//! the numbers below it are.

use super::PaneCtx;
use crate::model::verdict::{self, Level};
use crate::model::{NodeRow, PodRow, SourceId};
use crate::ui::kube_views::{KubeView, TopSort};
use crate::ui::toolkit::{age, fit};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState};

/// CPU, %REQ, %LIM, MEM, %REQ, %LIM, LAST EXIT.
const POD_FIXED: [u16; 7] = [7, 5, 5, 8, 5, 5, 10];
/// CPU, %CPU, MEM, %MEM.
const NODE_FIXED: [u16; 4] = [7, 5, 9, 5];

pub fn draw(f: &mut Frame, area: Rect, ctx: &PaneCtx) {
    let Some((inner, snap)) = super::open(f, area, ctx, 1, "Top", SourceId::Pods, &ctx.model.pods) else { return };
    let problem = snap.top_problem.as_ref().map_or_else(Vec::new, |p| super::problem_lines("top", p, ctx, inner.width as usize));
    let pods = sorted_pods(&snap.pods, ctx);
    let node_rows = if snap.nodes.is_empty() { 0 } else { (snap.nodes.len() as u16 + 1).min((inner.height / 3).max(2)) };
    let [head_area, problem_area, nodes_area, pods_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(problem.len() as u16),
        Constraint::Length(node_rows),
        Constraint::Fill(1),
    ])
    .areas(inner);
    f.render_widget(Paragraph::new(head(snap, ctx)), head_area);
    f.render_widget(Paragraph::new(problem), problem_area);
    if node_rows > 0 {
        draw_nodes(f, nodes_area, &snap.nodes, ctx);
    }
    if snap.top_at.is_none() && snap.top_problem.is_none() {
        let text = format!("waiting for the first metrics.k8s.io reading (every {} s)", crate::sources::kube::TOP_EVERY.as_secs());
        f.render_widget(Paragraph::new(Span::styled(text, ctx.theme.muted)), pods_area);
        return;
    }
    if pods.is_empty() {
        let text = if snap.pods.is_empty() { "no pods listed" } else { "no pod matches the filter" };
        f.render_widget(Paragraph::new(Span::styled(text, ctx.theme.muted)), pods_area);
        return;
    }
    draw_pods(f, pods_area, &pods, ctx);
}

fn head<'a>(snap: &crate::model::PodsSnapshot, ctx: &PaneCtx) -> Line<'a> {
    let alarms = verdict::usage_alarms(ctx.thresholds, snap);
    let worst = alarms.first().map(verdict::UsageAlarm::level).unwrap_or_default();
    let read = snap.top_at.map_or_else(|| "not read yet".to_string(), |t| format!("read {} ago", age(ctx.now, t)));
    let near = match alarms.len() {
        0 => "none near its line".to_string(),
        1 => "1 near its line".to_string(),
        n => format!("{n} near their line"),
    };
    Line::from(vec![
        Span::styled(format!("{} pods · {} nodes · {near} · {read}", snap.pods.len(), snap.nodes.len()), ctx.theme.level(worst)),
        Span::styled(format!(" · by {} (s) · :pods", ctx.view.top_sort.label()), ctx.theme.muted),
    ])
}

fn pct(p: Option<u32>) -> String {
    p.map_or_else(|| "-".to_string(), |p| format!("{p}%"))
}

fn draw_nodes(f: &mut Frame, area: Rect, nodes: &[NodeRow], ctx: &PaneCtx) {
    let room = (area.width as usize).saturating_sub(NODE_FIXED.iter().map(|w| *w as usize + 1).sum::<usize>() + 2);
    let name_w = nodes.iter().map(|n| n.name.chars().count()).max().unwrap_or(4).clamp(4, room.max(4));
    let rows = nodes.iter().take(area.height.saturating_sub(1) as usize).map(|n| {
        let (cpu, memory) = verdict::node_usage(ctx.thresholds, n);
        let level = [cpu, memory].iter().flatten().map(|s| s.level).max().unwrap_or_default();
        let (c, m) =
            n.usage.map_or_else(|| ("-".to_string(), "-".to_string()), |u| (verdict::cpu_words(u.cpu_m), verdict::memory_words(u.memory)));
        Row::new(vec![fit(&n.name, name_w), c, pct(cpu.map(|s| s.pct)), m, pct(memory.map(|s| s.pct))]).style(ctx.theme.row(level))
    });
    let mut widths = vec![Constraint::Length(name_w as u16)];
    widths.extend(NODE_FIXED.iter().map(|w| Constraint::Length(*w)));
    let table = Table::new(rows, widths).header(Row::new(vec!["NODE", "CPU", "%CPU", "MEMORY", "%MEM"]).style(ctx.theme.muted));
    f.render_widget(table, area);
}

fn draw_pods(f: &mut Frame, area: Rect, pods: &[&PodRow], ctx: &PaneCtx) {
    let (first, selected) = super::services::window(pods.len(), area, ctx.focused.then(|| ctx.view.kube_selected(KubeView::Top)));
    let visible = pods.iter().skip(first).take(area.height.saturating_sub(1).max(1) as usize);
    let room = (area.width as usize).saturating_sub(POD_FIXED.iter().map(|w| *w as usize + 1).sum::<usize>() + 2);
    let name_w = pods.iter().map(|p| p.namespace.chars().count() + p.name.chars().count() + 1).max().unwrap_or(3).clamp(3, room.max(3));
    let rows = visible.map(|p| {
        let (c, m) =
            p.usage.map_or_else(|| ("-".to_string(), "-".to_string()), |u| (verdict::cpu_words(u.cpu_m), verdict::memory_words(u.memory)));
        let used = p.usage.unwrap_or_default();
        let share = |used: u64, of: Option<u64>| p.usage.and_then(|_| verdict::percent_of(used, of));
        Row::new(vec![
            fit(&format!("{}/{}", p.namespace, p.name), name_w),
            c,
            pct(share(used.cpu_m, p.requests.cpu_m)),
            pct(share(used.cpu_m, p.limits.cpu_m)),
            m,
            pct(share(used.memory, p.requests.memory)),
            pct(share(used.memory, p.limits.memory)),
            fit(p.last_exit.as_deref().or(p.reason.as_deref()).unwrap_or(""), POD_FIXED[6] as usize),
        ])
        .style(ctx.theme.row(level(p, ctx)))
    });
    let mut widths = vec![Constraint::Length(name_w as u16)];
    widths.extend(POD_FIXED.iter().map(|w| Constraint::Length(*w)));
    let table = Table::new(rows, widths)
        .header(Row::new(vec!["POD", "CPU", "%REQ", "%LIM", "MEMORY", "%REQ", "%LIM", "LAST EXIT"]).style(ctx.theme.muted))
        .row_highlight_style(ctx.theme.selected)
        .highlight_symbol(ctx.theme.selection_marker());
    let mut state = TableState::default();
    state.select(selected);
    f.render_stateful_widget(table, area, &mut state);
}

/// A pod's colour here: its worst share, and a warning for a container the OOM killer ended.
fn level(p: &PodRow, ctx: &PaneCtx) -> Level {
    let oom = if p.oom_killed() { Level::Warn } else { Level::Ok };
    verdict::pod_usage(ctx.thresholds, p).max(oom)
}

/// Pods in display order for `s`: the worst share first (then OOMKilled, then by name), or by CPU
/// or memory used; the `:ns` namespace and the `/` filter applied.
pub fn sorted_pods<'a>(pods: &'a [PodRow], ctx: &PaneCtx) -> Vec<&'a PodRow> {
    let mut out: Vec<&PodRow> =
        pods.iter().filter(|p| ctx.view.namespace.as_ref().is_none_or(|ns| *ns == p.namespace)).filter(|p| ctx.matches(&p.name)).collect();
    let t = ctx.thresholds;
    let worst_pct = |p: &PodRow| [verdict::pod_cpu(t, p), verdict::pod_memory(t, p)].iter().flatten().map(|s| s.pct).max().unwrap_or(0);
    let used = |p: &PodRow| p.usage.unwrap_or_default();
    match ctx.view.top_sort {
        // Cached: judging a pod is not free, and this runs on every frame.
        TopSort::Worst => out.sort_by_cached_key(|p| (std::cmp::Reverse(level(p, ctx)), std::cmp::Reverse(worst_pct(p)))),
        TopSort::Cpu => out.sort_by_key(|p| std::cmp::Reverse(used(p).cpu_m)),
        TopSort::Memory => out.sort_by_key(|p| std::cmp::Reverse(used(p).memory)),
    }
    out
}
