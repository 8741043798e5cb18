//! Queues pane: each Celery queue's depth (summed over kombu's priority lists, shown by priority
//! when they are used), growth or drain rate, time to drain, history, and unreadable queues.
//! Growth is what pages people: a growing queue is yellow, a deep one red.

use super::PaneCtx;
use crate::model::verdict::{self, Level, Trend};
use crate::model::{QueueRow, SourceId};
use crate::ui::toolkit::duration;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Row, Table};

/// Sparkline glyphs for the inline history column.
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

pub fn draw(f: &mut Frame, area: Rect, ctx: &PaneCtx) {
    let mut title = "Queues".to_string();
    if let Some(u) = ctx.model.queues.as_ref().and_then(|q| q.unacked) {
        title = format!("Queues · unacked {u}");
    }
    let Some((inner, snap)) = super::open(f, area, ctx, 4, &title, SourceId::Queues, &ctx.model.queues) else { return };
    let t = ctx.thresholds;
    let shown: Vec<&QueueRow> = snap.queues.iter().filter(|q| ctx.matches(&q.name)).collect();
    // The by-priority column only when some queue uses kombu's priority lists and there is room
    // beside the names and the fixed columns (it takes the history's place first).
    let prio_width = shown.iter().map(|q| q.priorities_text().chars().count()).max().unwrap_or(0).max(11) as u16 + 1;
    let name_width = shown.iter().map(|q| q.name.chars().count()).max().unwrap_or(0).max(5) as u16 + 1;
    // Six columns with the by-priority one: five one-cell gaps, two of them already in the widths'
    // `+ 1`s; the other three the names must not pay for.
    const GAPS: u16 = 3;
    let room_for_prio = inner.width >= 26 + GAPS + name_width + prio_width;
    let prio_width = if shown.iter().any(|q| q.uses_priorities()) && room_for_prio { prio_width } else { 0 };
    let spark_width = inner.width.saturating_sub((44 + prio_width).max(26 + GAPS + name_width + prio_width)).min(60) as usize;
    let rows = shown.into_iter().map(|q| {
        if let Some(error) = &q.error {
            // Depth unknown: no rate, no drain, the server's words in the widest free cell.
            let mut cells = vec![q.name.clone(), "?".into(), "-".into(), "-".into()];
            let widest = spark_width.max(usize::from(prio_width));
            if widest < 20 {
                cells[0] = format!("{}: {error}", q.name);
            }
            if prio_width > 0 {
                cells.push(if usize::from(prio_width) == widest { error.clone() } else { String::new() });
            }
            cells.push(if widest >= 20 && spark_width == widest && usize::from(prio_width) != widest {
                error.clone()
            } else {
                String::new()
            });
            return Row::new(cells).style(ctx.theme.row(Level::Warn));
        }
        let rate = ctx.model.queue_rate(&q.name);
        let (rate_text, drain) = match (verdict::trend(rate), rate) {
            (Trend::Draining, Some(r)) if q.depth > 0 => (format!("{r:+.0}/min"), duration((q.depth as f64 / -r * 60.0) as i64)),
            (Trend::Draining, Some(r)) => (format!("{r:+.0}/min"), "empty".into()),
            (Trend::Growing, Some(r)) => (format!("{r:+.0}/min"), "growing".to_string()),
            (Trend::Steady, _) => (
                "steady".into(),
                if q.depth == 0 {
                    "empty".into()
                } else if verdict::queue_depth(t, q.depth).is_alarm() {
                    "stalled".into()
                } else {
                    "-".into()
                },
            ),
            _ => ("-".into(), "-".into()),
        };
        let style = ctx.theme.row(verdict::queue(t, q.depth, rate));
        let history = ctx.model.queue_history.get(&q.name).map(|s| spark(&s.values(), spark_width)).unwrap_or_default();
        let mut cells = vec![q.name.clone(), q.depth.to_string(), rate_text, drain];
        if prio_width > 0 {
            cells.push(q.priorities_text());
        }
        cells.push(history);
        Row::new(cells).style(style)
    });
    let mut widths = vec![Constraint::Fill(1), Constraint::Length(8), Constraint::Length(10), Constraint::Length(8)];
    let mut header = vec!["QUEUE", "DEPTH", "RATE", "DRAIN"];
    if prio_width > 0 {
        widths.push(Constraint::Length(prio_width));
        header.push("BY PRIORITY");
    }
    widths.push(Constraint::Length(spark_width as u16));
    header.push("HISTORY");
    f.render_widget(Table::new(rows, widths).header(Row::new(header).style(ctx.theme.muted)), inner);
}

/// The last `width` values as block glyphs scaled to their own maximum.
pub fn spark(values: &[u64], width: usize) -> String {
    let tail = &values[values.len().saturating_sub(width)..];
    let max = tail.iter().copied().max().unwrap_or(0).max(1);
    tail.iter().map(|v| BARS[((*v as f64 / max as f64) * 7.0).round() as usize]).collect()
}
