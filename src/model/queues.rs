//! What the queue collector observed: Celery queue depths (Redis list lengths) and unacked counts.
//! Rates and time-to-drain are derived from the Model's history, not measured here.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QueuesSnapshot {
    pub server: String,
    pub queues: Vec<QueueRow>,
    /// kombu's `unacked` hash: messages taken by a worker and not yet acknowledged.
    pub unacked: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QueueRow {
    pub name: String,
    pub depth: u64,
}
