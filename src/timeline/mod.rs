//! The incident timeline: append-only, crash-safe, exported as a post-mortem draft.
//! See docs/timeline.md.

pub mod adopt;
pub mod cli;
pub mod entry;
pub mod estate;
pub mod export;
pub mod incident;
pub mod live;
pub mod lock;
pub mod record;
pub mod shared;
pub mod store;

pub use entry::{EntryKind, IncidentId, IncidentStatus, Severity, TimelineEntry};
pub use incident::Incident;
pub use store::{Appended, LocalStore, StoreError, TimelineRead, TimelineWriter};
