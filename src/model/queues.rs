//! What the queue collector observed: Celery queue depths (the sum of kombu's priority lists),
//! each priority list's depth, unacked counts, and a queue whose key could not be read.
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
    /// Messages waiting: the sum over the queue's kombu priority lists (0 when `error` is set:
    /// then the depth is unknown, see `known_depth`).
    pub depth: u64,
    /// Each priority list's length, lowest step first (kombu's steps 0/3/6/9, plus any other step
    /// holding messages). Empty in recordings made before sitrep read priorities.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub priorities: Vec<PriorityDepth>,
    /// Why the queue could not be read (e.g. its key is not a list), in the server's words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One kombu priority list: `name` for priority 0, `name + "\x06\x16" + priority` for the others.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriorityDepth {
    pub priority: u8,
    pub depth: u64,
}

impl QueueRow {
    /// The depth, or None when the queue could not be read.
    pub fn known_depth(&self) -> Option<u64> {
        self.error.is_none().then_some(self.depth)
    }

    /// True when messages wait in a priority list other than the queue's own key (p0).
    pub fn uses_priorities(&self) -> bool {
        self.priorities.iter().any(|p| p.priority != 0 && p.depth > 0)
    }

    /// "p0 50 · p3 0 · p6 50 · p9 0".
    pub fn priorities_text(&self) -> String {
        self.priorities.iter().map(|p| format!("p{} {}", p.priority, p.depth)).collect::<Vec<_>>().join(" · ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_recorded_before_priorities_were_read_still_load() {
        let row: Result<QueueRow, _> = serde_json::from_str(r#"{"name":"celery","depth":5}"#);
        let row = row.ok();
        assert_eq!(row.as_ref().map(|r| r.depth), Some(5));
        assert_eq!(row.as_ref().map(|r| r.priorities.is_empty() && r.error.is_none()), Some(true));
    }

    #[test]
    fn an_unreadable_reading_adds_no_history_so_it_never_looks_like_a_drain() {
        use crate::model::{Event, Model, Observation};
        use chrono::{DateTime, Duration};
        let at = |s: i64| DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap_or_default();
        let snap = |row: QueueRow| Observation::Queues(QueuesSnapshot { server: "r".into(), queues: vec![row], unacked: None });
        let mut m = Model::new(Duration::seconds(2));
        m.apply(Event::Observed { at: at(0), observation: snap(QueueRow { name: "celery".into(), depth: 600, ..QueueRow::default() }) });
        let broken = QueueRow { name: "celery".into(), error: Some("WRONGTYPE".into()), ..QueueRow::default() };
        m.apply(Event::Observed { at: at(30), observation: snap(broken) });
        assert_eq!(m.queue_history.get("celery").map(|s| s.values()), Some(vec![600]));
        assert_eq!(m.queues.as_ref().map(|q| q.queues[0].known_depth()), Some(None));
    }

    #[test]
    fn an_unreadable_queue_has_no_known_depth() {
        let row = QueueRow { name: "celery".into(), error: Some("WRONGTYPE".into()), ..QueueRow::default() };
        assert_eq!(row.known_depth(), None);
        let row = QueueRow {
            name: "celery".into(),
            depth: 100,
            priorities: vec![PriorityDepth { priority: 0, depth: 50 }, PriorityDepth { priority: 6, depth: 50 }],
            error: None,
        };
        assert_eq!(row.known_depth(), Some(100));
        assert!(row.uses_priorities());
        assert_eq!(row.priorities_text(), "p0 50 · p6 50");
    }
}
