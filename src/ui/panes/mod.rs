//! One pane = one file: each reads the Model and the view state and draws into its area.
//! Panes never do IO and own nothing but what the view state gives them.

pub mod alerts;
pub mod backups;
pub mod events;
pub mod pods;
pub mod queues;
pub mod replication;
pub mod scaling;
pub mod sentinel;
pub mod services;
pub mod summary;
pub mod timeline;
pub mod top;

use super::ViewState;
use super::theme::Theme;
use crate::config::Thresholds;
use crate::model::Model;
use chrono::{DateTime, Utc};

/// What every pane gets to draw with.
pub struct PaneCtx<'a> {
    pub model: &'a Model,
    pub view: &'a ViewState,
    pub theme: &'a Theme,
    pub thresholds: &'a Thresholds,
    pub now: DateTime<Utc>,
    pub focused: bool,
}

/// Draws a pane's frame with its number, title and health badge. Returns where the data goes and
/// the data, or None when there is none yet (the frame then says why: waiting, off, or the error).
/// A failing source with older data gets its error on the first line.
pub fn open<'a, T>(
    f: &mut ratatui::Frame,
    area: ratatui::layout::Rect,
    ctx: &PaneCtx,
    index: usize,
    title: &str,
    source: crate::model::SourceId,
    data: &'a Option<T>,
) -> Option<(ratatui::layout::Rect, &'a T)> {
    use crate::ui::toolkit::{error_banner, pane_block, placeholder};
    let health = ctx.model.health(source);
    let block = pane_block(index, title, &health, ctx.focused, ctx.theme, ctx.now);
    let inner = block.inner(area);
    f.render_widget(block, area);
    match data {
        Some(d) => Some((error_banner(f, inner, &health, ctx.theme), d)),
        None => {
            f.render_widget(placeholder(&health, ctx.theme), inner);
            None
        }
    }
}

impl PaneCtx<'_> {
    /// Whether a row's text passes the `/` filter (case-insensitive substring).
    pub fn matches(&self, text: &str) -> bool {
        self.view.filter.is_empty() || text.to_lowercase().contains(&self.view.filter.to_lowercase())
    }
}

/// A list's error (`what`: "services", "top"), since when it fails and how old the rows below it
/// are, on up to two lines.
pub fn problem_lines<'a>(what: &str, p: &crate::model::ListProblem, ctx: &PaneCtx, width: usize) -> Vec<ratatui::text::Line<'a>> {
    use crate::ui::toolkit::{age, fit, wrap};
    let since = p.since.map_or_else(String::new, |t| format!("failing {}", age(ctx.now, t)));
    let data = p.last_ok.map_or_else(|| "no data".to_string(), |t| format!("data {} old", age(ctx.now, t)));
    let mut lines = wrap(&format!("⚠ {what}: {} ({since} · {data})", p.error), width.max(1));
    if lines.len() > 2 {
        lines.truncate(2);
        lines[1] = fit(&format!("{} …", lines[1]), width);
    }
    lines.into_iter().map(|l| ratatui::text::Line::from(ratatui::text::Span::styled(l, ctx.theme.crit))).collect()
}
