//! Autoscaling view of the kube pane (`:hpa`): each HorizontalPodAutoscaler with what it scales,
//! its CPU against target, bounds and replicas (at its maximum while over target first), then each
//! PodDisruptionBudget with the disruptions it allows now; a list that cannot be read says why.

use super::PaneCtx;
use crate::model::verdict::{self, Level};
use crate::model::{HpaRow, PdbRow, SourceId};
use crate::ui::kube_views::KubeView;
use crate::ui::toolkit::fit;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState};

pub fn draw(f: &mut Frame, area: Rect, ctx: &PaneCtx) {
    let Some((inner, snap)) = super::open(f, area, ctx, 1, "Autoscaling", SourceId::Pods, &ctx.model.pods) else { return };
    let problem: Vec<Line> =
        snap.scaling_problem().map_or_else(Vec::new, |p| super::problem_lines("autoscalers and budgets", p, ctx, inner.width as usize));
    let hpas = sorted_hpas(snap.autoscalers(), ctx);
    let pdbs: Vec<&PdbRow> = snap
        .budgets()
        .iter()
        .filter(|b| ctx.view.namespace.as_ref().is_none_or(|ns| *ns == b.namespace))
        .filter(|b| ctx.matches(&b.name))
        .collect();
    // Budgets take what they need (up to half), the autoscalers the rest.
    let pdb_h = if pdbs.is_empty() { 0 } else { (pdbs.len() as u16 + 1).min(inner.height.saturating_sub(4) / 2) };
    let [head_area, problem_area, hpa_area, pdb_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(problem.len() as u16), Constraint::Fill(1), Constraint::Length(pdb_h)])
            .areas(inner);
    f.render_widget(Paragraph::new(head(snap.autoscalers(), snap.budgets(), ctx)), head_area);
    f.render_widget(Paragraph::new(problem), problem_area);
    if hpas.is_empty() {
        let text = if snap.autoscalers().is_empty() { "no HorizontalPodAutoscaler listed" } else { "no autoscaler matches the filter" };
        f.render_widget(Paragraph::new(Span::styled(text, ctx.theme.muted)), hpa_area);
    } else {
        draw_hpas(f, hpa_area, ctx, &hpas);
    }
    if !pdbs.is_empty() {
        draw_pdbs(f, pdb_area, ctx, &pdbs);
    }
}

/// CPU against target as `kubectl get hpa` prints it: "92%/70%", "<unknown>/70%".
fn targets(h: &HpaRow) -> String {
    match (h.cpu_pct, h.cpu_target_pct) {
        (Some(now), Some(target)) => format!("{now}%/{target}%"),
        (None, Some(target)) => format!("<unknown>/{target}%"),
        _ => "-".into(),
    }
}

fn draw_hpas(f: &mut Frame, area: Rect, ctx: &PaneCtx, hpas: &[&HpaRow]) {
    let (first, selected) = super::services::window(hpas.len(), area, ctx.focused.then(|| ctx.view.kube_selected(KubeView::Scaling)));
    let fixed = [14u16, 12, 5, 5, 8, 8];
    let room = (area.width as usize).saturating_sub(fixed.iter().map(|w| *w as usize + 1).sum::<usize>() + 2).max(7);
    let rows = hpas.iter().skip(first).take(area.height.saturating_sub(1).max(1) as usize).map(|h| {
        Row::new(vec![
            fit(&format!("{}/{}", h.namespace, h.name), room),
            fit(&h.target, fixed[0] as usize),
            targets(h),
            h.min.to_string(),
            h.max.to_string(),
            h.current.to_string(),
            h.desired.to_string(),
        ])
        .style(ctx.theme.row(verdict::hpa(h)))
    });
    let widths = [
        Constraint::Fill(1),
        Constraint::Length(fixed[0]),
        Constraint::Length(fixed[1]),
        Constraint::Length(fixed[2]),
        Constraint::Length(fixed[3]),
        Constraint::Length(fixed[4]),
        Constraint::Length(fixed[5]),
    ];
    let table = Table::new(rows, widths)
        .header(Row::new(vec!["HPA", "REFERENCE", "TARGETS", "MIN", "MAX", "REPLICAS", "DESIRED"]).style(ctx.theme.muted))
        .row_highlight_style(ctx.theme.selected)
        .highlight_symbol(ctx.theme.selection_marker());
    let mut state = TableState::default();
    state.select(selected);
    f.render_stateful_widget(table, area, &mut state);
}

fn draw_pdbs(f: &mut Frame, area: Rect, ctx: &PaneCtx, pdbs: &[&PdbRow]) {
    let dash = |s: &str| if s.is_empty() { "N/A".to_string() } else { s.to_string() };
    let rows = pdbs.iter().take(area.height.saturating_sub(1) as usize).map(|b| {
        Row::new(vec![
            format!("{}/{}", b.namespace, b.name),
            dash(&b.min_available),
            dash(&b.max_unavailable),
            b.allowed.to_string(),
            b.healthy.to_string(),
            b.desired_healthy.to_string(),
        ])
        .style(ctx.theme.row(verdict::pdb(b)))
    });
    let widths = [
        Constraint::Fill(1),
        Constraint::Length(13),
        Constraint::Length(15),
        Constraint::Length(19),
        Constraint::Length(7),
        Constraint::Length(6),
    ];
    let table = Table::new(rows, widths).header(
        Row::new(vec!["PDB", "MIN AVAILABLE", "MAX UNAVAILABLE", "ALLOWED DISRUPTIONS", "HEALTHY", "NEEDED"]).style(ctx.theme.muted),
    );
    f.render_widget(table, area);
}

fn head<'a>(hpas: &[HpaRow], pdbs: &[PdbRow], ctx: &PaneCtx) -> Line<'a> {
    let count = |l: Level| hpas.iter().filter(|h| verdict::hpa(h) == l).count();
    let (over, at_max) = (count(Level::Crit), count(Level::Warn));
    let blocked = pdbs.iter().filter(|b| verdict::pdb(b).is_alarm()).count();
    let worst = hpas.iter().map(verdict::hpa).max().unwrap_or_default();
    Line::from(vec![
        Span::styled(
            format!("{} HPA(s) · {over} at max over target · {at_max} at max · {blocked} of {} PDB(s) allow none", hpas.len(), pdbs.len()),
            ctx.theme.level(worst),
        ),
        Span::styled(" · :pods :top", ctx.theme.muted),
    ])
}

/// Autoscalers in display order: at max over target first, then at max, each by namespace and
/// name; the `:ns` namespace and the `/` filter (name, reference) applied.
pub fn sorted_hpas<'a>(hpas: &'a [HpaRow], ctx: &PaneCtx) -> Vec<&'a HpaRow> {
    let mut out: Vec<&HpaRow> = hpas
        .iter()
        .filter(|h| ctx.view.namespace.as_ref().is_none_or(|ns| *ns == h.namespace))
        .filter(|h| ctx.matches(&h.name) || ctx.matches(&h.target))
        .collect();
    out.sort_by_key(|h| std::cmp::Reverse(verdict::hpa(h)));
    out
}
