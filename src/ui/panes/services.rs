//! Services view of the kube pane (`:services`): each Service with its type, ready endpoints
//! against not-ready ones and ports, worst first; a list that cannot be read says why and since when.

use super::PaneCtx;
use crate::model::verdict::{self, Level};
use crate::model::{ServiceRow, SourceId};
use crate::ui::kube_views::KubeView;
use crate::ui::toolkit::fit;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState};

/// TYPE, READY, NOT READY.
const FIXED: [u16; 3] = [12, 7, 9];

pub fn draw(f: &mut Frame, area: Rect, ctx: &PaneCtx) {
    let Some((inner, snap)) = super::open(f, area, ctx, 1, "Services", SourceId::Pods, &ctx.model.pods) else { return };
    let problem: Vec<Line> =
        snap.services_problem.as_ref().map_or_else(Vec::new, |p| super::problem_lines("services", p, ctx, inner.width as usize));
    let rows = sorted_services(&snap.services, ctx);
    let [head_area, problem_area, table_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(problem.len() as u16), Constraint::Fill(1)]).areas(inner);
    f.render_widget(Paragraph::new(head(&snap.services, ctx)), head_area);
    f.render_widget(Paragraph::new(problem), problem_area);
    if rows.is_empty() {
        let text = if snap.services.is_empty() { "no services listed" } else { "no service matches the filter" };
        f.render_widget(Paragraph::new(Span::styled(text, ctx.theme.muted)), table_area);
        return;
    }
    let (first, selected) = window(rows.len(), table_area, ctx.focused.then(|| ctx.view.kube_selected(KubeView::Services)));
    let visible = rows.iter().skip(first).take(table_area.height.saturating_sub(1).max(1) as usize);
    let room = (table_area.width as usize).saturating_sub(FIXED.iter().map(|w| *w as usize + 1).sum::<usize>() + 2);
    let name_w = rows.iter().map(|s| s.namespace.chars().count() + s.name.chars().count() + 1).max().unwrap_or(7).clamp(7, room * 3 / 5);
    let ports_w = room.saturating_sub(name_w + 1).max(1);
    let lines = visible.map(|s| {
        Row::new(vec![
            fit(&format!("{}/{}", s.namespace, s.name), name_w),
            fit(&s.kind, FIXED[0] as usize),
            if s.selector { format!("{}/{}", s.ready, s.total()) } else { format!("{} (-)", s.ready) },
            s.not_ready.to_string(),
            fit(&s.ports, ports_w),
        ])
        .style(ctx.theme.row(verdict::service(s)))
    });
    let widths = [
        Constraint::Length(name_w as u16),
        Constraint::Length(FIXED[0]),
        Constraint::Length(FIXED[1]),
        Constraint::Length(FIXED[2]),
        Constraint::Fill(1),
    ];
    let table = Table::new(lines, widths)
        .header(Row::new(vec!["SERVICE", "TYPE", "READY", "NOT READY", "PORTS"]).style(ctx.theme.muted))
        .row_highlight_style(ctx.theme.selected)
        .highlight_symbol(ctx.theme.selection_marker());
    let mut state = TableState::default();
    state.select(selected);
    f.render_stateful_widget(table, table_area, &mut state);
}

/// The first row shown and the selection inside the shown rows, so the selected row stays in view.
pub fn window(len: usize, table: Rect, selected: Option<usize>) -> (usize, Option<usize>) {
    let visible = table.height.saturating_sub(1).max(1) as usize;
    let selected = selected.map(|s| s.min(len.saturating_sub(1)));
    let first = selected.map_or(0, |s| s.saturating_sub(visible - 1));
    (first, selected.map(|s| s - first))
}

fn head<'a>(services: &[ServiceRow], ctx: &PaneCtx) -> Line<'a> {
    let count = |l: Level| services.iter().filter(|s| verdict::service(s) == l).count();
    let (none, short) = (count(Level::Crit), count(Level::Warn));
    let worst = services.iter().map(verdict::service).max().unwrap_or_default();
    Line::from(vec![
        Span::styled(format!("{} services · {none} with no ready endpoint · {short} short", services.len()), ctx.theme.level(worst)),
        Span::styled(" · :pods :events", ctx.theme.muted),
    ])
}

/// Services in display order: no ready endpoint first, then short, then the rest, each by
/// namespace and name; the `:ns` namespace and the `/` filter (name, type, ports) applied.
pub fn sorted_services<'a>(services: &'a [ServiceRow], ctx: &PaneCtx) -> Vec<&'a ServiceRow> {
    let mut out: Vec<&ServiceRow> = services
        .iter()
        .filter(|s| ctx.view.namespace.as_ref().is_none_or(|ns| *ns == s.namespace))
        .filter(|s| ctx.matches(&s.name) || ctx.matches(&s.kind) || ctx.matches(&s.ports))
        .collect();
    out.sort_by_key(|s| std::cmp::Reverse(verdict::service(s)));
    out
}
