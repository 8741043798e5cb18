//! The pod logs being viewed: which container, the newest lines (a bounded ring), and how the
//! stream stands. Changed only by `Event::Logs`, so a recording replays the logs that were viewed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Lines the Model keeps of the viewed log; older ones are dropped (and counted).
pub const LOG_LINES_KEPT: usize = 5000;

/// Which log is read: one pod's container, its current run or the one before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogTarget {
    pub namespace: String,
    pub pod: String,
    /// None: the pod's only (or first) container, as kubectl defaults it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// The previous (terminated) run of the container (`kubectl logs -p`).
    #[serde(default)]
    pub previous: bool,
}

impl LogTarget {
    pub fn pod(namespace: &str, pod: &str) -> LogTarget {
        LogTarget { namespace: namespace.to_string(), pod: pod.to_string(), container: None, previous: false }
    }
}

/// One line of a container's log: the kubelet's timestamp and the text, sanitized.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
    pub text: String,
}

/// What happened to the log stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum LogsEvent {
    /// The logs view opened on `target` (or switched to it): what was shown before is dropped.
    Opened { at: DateTime<Utc>, target: LogTarget },
    /// The stream is connected (again).
    Connected { at: DateTime<Utc>, target: LogTarget },
    /// New lines, oldest first.
    Lines { target: LogTarget, lines: Vec<LogLine> },
    /// The stream ended by itself: the container exited, or a previous run was read to its end.
    Ended { at: DateTime<Utc>, target: LogTarget, reason: String, retry_secs: Option<u64> },
    /// The stream failed (or could not start); it is tried again after `retry_secs`.
    Failed { at: DateTime<Utc>, target: LogTarget, error: String, retry_secs: u64 },
    /// The logs view closed and its stream stopped.
    Closed,
}

/// How the stream stands, as the view's header says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamState {
    Connecting { since: DateTime<Utc> },
    Following { since: DateTime<Utc> },
    Ended { at: DateTime<Utc>, reason: String, retry_at: Option<DateTime<Utc>> },
    Failed { since: DateTime<Utc>, error: String, retry_at: DateTime<Utc> },
}

/// The log on screen.
#[derive(Debug, Clone, PartialEq)]
pub struct LogsView {
    pub target: LogTarget,
    pub lines: VecDeque<LogLine>,
    /// Lines dropped from the front (so a line's number stays the same as the ring moves).
    pub dropped: u64,
    pub stream: StreamState,
}

impl LogsView {
    /// The number of the first line kept (lines are numbered from 0 since the view opened).
    pub fn first_number(&self) -> u64 {
        self.dropped
    }

    /// One past the number of the newest line.
    pub fn end_number(&self) -> u64 {
        self.dropped + self.lines.len() as u64
    }

    /// The line numbered `n`, if still kept.
    pub fn line(&self, n: u64) -> Option<&LogLine> {
        self.lines.get(usize::try_from(n.checked_sub(self.dropped)?).ok()?)
    }
}

/// Applies a logs event to the view; whether anything visible changed.
pub fn apply(view: &mut Option<LogsView>, event: LogsEvent) -> bool {
    let retry = |at: DateTime<Utc>, secs: u64| at + chrono::Duration::seconds(secs as i64);
    match event {
        LogsEvent::Opened { at, target } => {
            *view = Some(LogsView { target, lines: VecDeque::new(), dropped: 0, stream: StreamState::Connecting { since: at } });
            true
        }
        LogsEvent::Closed => view.take().is_some(),
        other => {
            let Some(v) = view.as_mut() else { return false };
            match other {
                LogsEvent::Connected { at, target } if target == v.target => v.stream = StreamState::Following { since: at },
                LogsEvent::Lines { target, lines } if target == v.target && !lines.is_empty() => {
                    v.lines.extend(lines);
                    let over = v.lines.len().saturating_sub(LOG_LINES_KEPT);
                    v.lines.drain(..over);
                    v.dropped += over as u64;
                }
                LogsEvent::Ended { at, target, reason, retry_secs } if target == v.target => {
                    v.stream = StreamState::Ended { at, reason, retry_at: retry_secs.map(|s| retry(at, s)) };
                }
                LogsEvent::Failed { at, target, error, retry_secs } if target == v.target => {
                    let since = match &v.stream {
                        StreamState::Failed { since, .. } => *since,
                        _ => at,
                    };
                    v.stream = StreamState::Failed { since, error, retry_at: retry(at, retry_secs) };
                }
                // Another target's news (a stream stopped as the view switched): not on screen.
                _ => return false,
            }
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap_or_default()
    }

    fn lines(from: usize, n: usize) -> Vec<LogLine> {
        (from..from + n).map(|i| LogLine { at: Some(t(i as i64)), text: format!("line {i}") }).collect()
    }

    #[test]
    fn the_ring_keeps_the_newest_lines_and_their_numbers() {
        let target = LogTarget::pod("shop", "api-1");
        let mut view = None;
        apply(&mut view, LogsEvent::Opened { at: t(0), target: target.clone() });
        apply(&mut view, LogsEvent::Lines { target: target.clone(), lines: lines(0, LOG_LINES_KEPT) });
        apply(&mut view, LogsEvent::Lines { target: target.clone(), lines: lines(LOG_LINES_KEPT, 10) });
        let v = view.clone().unwrap_or_else(|| panic!("open"));
        assert_eq!((v.lines.len(), v.first_number(), v.end_number()), (LOG_LINES_KEPT, 10, LOG_LINES_KEPT as u64 + 10));
        assert_eq!(v.line(10).map(|l| l.text.as_str()), Some("line 10"));
        assert_eq!(v.line(9), None, "dropped");
        let other = LogTarget { previous: true, ..target.clone() };
        assert!(!apply(&mut view, LogsEvent::Lines { target: other, lines: lines(0, 1) }), "a stopped stream's lines are not shown");
    }

    #[test]
    fn a_failing_stream_keeps_since_when_it_fails_and_a_connection_clears_it() {
        let target = LogTarget::pod("shop", "api-1");
        let mut view = None;
        apply(&mut view, LogsEvent::Opened { at: t(0), target: target.clone() });
        let failed = |at, error: &str| LogsEvent::Failed { at, target: target.clone(), error: error.into(), retry_secs: 2 };
        apply(&mut view, failed(t(1), "refused"));
        apply(&mut view, failed(t(4), "refused again"));
        let stream = view.as_ref().map(|v| v.stream.clone());
        assert_eq!(stream, Some(StreamState::Failed { since: t(1), error: "refused again".into(), retry_at: t(6) }));
        apply(&mut view, LogsEvent::Connected { at: t(7), target: target.clone() });
        assert_eq!(view.as_ref().map(|v| v.stream.clone()), Some(StreamState::Following { since: t(7) }));
        assert!(apply(&mut view, LogsEvent::Closed));
        assert!(view.is_none());
    }
}
