//! One pane = one file: each reads the Model and the view state and draws into its area.
//! Panes never do IO and own nothing but what the view state gives them.

pub mod backups;
pub mod pods;
pub mod queues;
pub mod replication;
pub mod sentinel;
pub mod summary;
pub mod timeline;

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

impl PaneCtx<'_> {
    /// Whether a row's text passes the `/` filter (case-insensitive substring).
    pub fn matches(&self, text: &str) -> bool {
        self.view.filter.is_empty() || text.to_lowercase().contains(&self.view.filter.to_lowercase())
    }
}
