//! Queues pane: each Celery queue's depth, growth or drain rate, time to drain, and history.
//! Growth is what pages people: a growing queue is yellow, a deep one red.

use super::PaneCtx;
use crate::model::SourceId;
use crate::model::verdict::{self, Trend};
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
    let spark_width = inner.width.saturating_sub(44).clamp(0, 60) as usize;
    let rows = snap.queues.iter().filter(|q| ctx.matches(&q.name)).map(|q| {
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
        Row::new(vec![q.name.clone(), q.depth.to_string(), rate_text, drain, history]).style(style)
    });
    f.render_widget(
        Table::new(
            rows,
            [
                Constraint::Fill(1),
                Constraint::Length(8),
                Constraint::Length(10),
                Constraint::Length(8),
                Constraint::Length(spark_width as u16),
            ],
        )
        .header(Row::new(vec!["QUEUE", "DEPTH", "RATE", "DRAIN", "HISTORY"]).style(ctx.theme.muted)),
        inner,
    );
}

/// The last `width` values as block glyphs scaled to their own maximum.
pub fn spark(values: &[u64], width: usize) -> String {
    let tail = &values[values.len().saturating_sub(width)..];
    let max = tail.iter().copied().max().unwrap_or(0).max(1);
    tail.iter().map(|v| BARS[((*v as f64 / max as f64) * 7.0).round() as usize]).collect()
}
