//! Events view of the kube pane (`:events`): the namespace's events, Warning ones first and then
//! Normal ones, each block newest first by last timestamp, with count, age, reason, object, message.

use super::PaneCtx;
use crate::model::verdict;
use crate::model::{KubeEventRow, SourceId};
use crate::ui::kube_views::KubeView;
use crate::ui::toolkit::{age, fit};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState};

/// LAST, TYPE, REASON, COUNT.
const FIXED: [u16; 4] = [5, 7, 16, 5];

pub fn draw(f: &mut Frame, area: Rect, ctx: &PaneCtx) {
    let Some((inner, snap)) = super::open(f, area, ctx, 1, "Events", SourceId::Pods, &ctx.model.pods) else { return };
    let events = sorted_events(&snap.events, ctx);
    let [head_area, table_area] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(inner);
    let warnings = snap.events.iter().filter(|e| verdict::event(e).is_alarm()).count();
    let style = if warnings > 0 { ctx.theme.warn } else { ctx.theme.muted };
    f.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(format!("{} events · {warnings} warnings", snap.events.len()), style),
            Span::styled(" · warnings first, each newest first · :pods :services", ctx.theme.muted),
        ])),
        head_area,
    );
    if events.is_empty() {
        let text = if snap.events.is_empty() { "no events" } else { "no event matches the filter" };
        f.render_widget(Paragraph::new(Span::styled(text, ctx.theme.muted)), table_area);
        return;
    }
    let selected = ctx.focused.then(|| ctx.view.kube_selected(KubeView::Events));
    let (first, selected) = super::services::window(events.len(), table_area, selected);
    let shown: Vec<&&KubeEventRow> = events.iter().skip(first).take(table_area.height.saturating_sub(1).max(1) as usize).collect();
    let room = (table_area.width as usize).saturating_sub(FIXED.iter().map(|w| *w as usize + 1).sum::<usize>() + 3);
    let object_w = shown.iter().map(|e| e.object.chars().count()).max().unwrap_or(6).clamp(6, room * 2 / 5);
    let message_w = room.saturating_sub(object_w + 1).max(1);
    let rows = shown.iter().map(|e| {
        Row::new(vec![
            e.at.map_or_else(|| "-".into(), |t| age(ctx.now, t)),
            fit(&e.kind, FIXED[1] as usize),
            fit(&e.reason, FIXED[2] as usize),
            format!("x{}", e.count),
            fit(&e.object, object_w),
            fit(&e.message, message_w),
        ])
        .style(ctx.theme.row(verdict::event(e)))
    });
    let widths = [
        Constraint::Length(FIXED[0]),
        Constraint::Length(FIXED[1]),
        Constraint::Length(FIXED[2]),
        Constraint::Length(FIXED[3]),
        Constraint::Length(object_w as u16),
        Constraint::Fill(1),
    ];
    let table = Table::new(rows, widths)
        .header(Row::new(vec!["LAST", "TYPE", "REASON", "COUNT", "OBJECT", "MESSAGE"]).style(ctx.theme.muted))
        .row_highlight_style(ctx.theme.selected)
        .highlight_symbol(ctx.theme.selection_marker());
    let mut state = TableState::default();
    state.select(selected);
    f.render_stateful_widget(table, table_area, &mut state);
}

/// Events in display order: the Warning block first, then the rest, each newest first by last
/// timestamp (an event without one last), ties by object; the `:ns` namespace and the `/`
/// filter (reason, object, message, type) applied.
pub fn sorted_events<'a>(events: &'a [KubeEventRow], ctx: &PaneCtx) -> Vec<&'a KubeEventRow> {
    let mut out: Vec<&KubeEventRow> = events
        .iter()
        .filter(|e| ctx.view.namespace.as_ref().is_none_or(|ns| *ns == e.namespace))
        .filter(|e| ctx.matches(&e.reason) || ctx.matches(&e.object) || ctx.matches(&e.message) || ctx.matches(&e.kind))
        .collect();
    out.sort_by(|a, b| {
        let rank = |e: &KubeEventRow| (std::cmp::Reverse(verdict::event(e)), e.at.is_none(), std::cmp::Reverse(e.at));
        rank(a).cmp(&rank(b)).then_with(|| a.object.cmp(&b.object))
    });
    out
}
