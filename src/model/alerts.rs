//! What the alerts collector observed: the alerts of every configured Alertmanager, merged by
//! fingerprint into compact rows, each Alertmanager's own answer (an unreachable one is a row),
//! and the `[[checks]]` health checks' results.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertsSnapshot {
    /// Each configured Alertmanager, in config order, with its error when it did not answer.
    pub alertmanagers: Vec<AlertmanagerRow>,
    /// The alerts, each once (an HA pair reports every alert twice), newest first.
    pub alerts: Vec<AlertRow>,
    /// Each `[[checks]]` health check, in config order (absent from older recordings).
    #[serde(default)]
    pub checks: Vec<CheckRow>,
}

impl AlertsSnapshot {
    pub fn reachable(&self) -> usize {
        self.alertmanagers.iter().filter(|a| a.error.is_none()).count()
    }

    /// Alerts that are firing and not silenced or inhibited.
    pub fn firing(&self) -> impl Iterator<Item = &AlertRow> {
        self.alerts.iter().filter(|a| a.state == AlertState::Active)
    }

    /// Health checks that fail (a slow one passes).
    pub fn failing_checks(&self) -> impl Iterator<Item = &CheckRow> {
        self.checks.iter().filter(|c| !c.passed())
    }
}

/// One health check's result, every text sanitized where it was made.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckRow {
    pub name: String,
    /// What was asked: the URL, or "tcp host:port".
    pub target: String,
    /// The HTTP status answered (None for a TCP check or when nothing answered).
    pub status: Option<u16>,
    /// From the request (or connect) to the answer, when there was one.
    pub latency_ms: Option<u64>,
    /// Why the check fails (refused, TLS, wrong status, body without the text), in the server's
    /// words where it gave any; None when it passed.
    pub error: Option<String>,
    /// `slow_ms` of its table: an answer slower than this warns (0 = never).
    pub slow_ms: u64,
}

impl CheckRow {
    pub fn passed(&self) -> bool {
        self.error.is_none()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertmanagerRow {
    pub url: String,
    pub error: Option<String>,
}

/// Alertmanager's `status.state` of an alert.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// Firing and notified.
    #[default]
    Active,
    /// Firing, but silenced or inhibited.
    Suppressed,
    /// Received, not yet through the pipeline (the group wait).
    Unprocessed,
}

impl AlertState {
    pub fn parse(word: &str) -> AlertState {
        match word {
            "suppressed" => AlertState::Suppressed,
            "unprocessed" => AlertState::Unprocessed,
            _ => AlertState::Active,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            AlertState::Active => "firing",
            AlertState::Suppressed => "suppressed",
            AlertState::Unprocessed => "pending",
        }
    }
}

/// One alert, every text sanitized where it entered.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertRow {
    pub fingerprint: String,
    /// The `alertname` label.
    pub name: String,
    /// The `severity` label ("" when it has none).
    pub severity: String,
    pub state: AlertState,
    /// A silence matches it (`status.silencedBy` is not empty).
    pub silenced: bool,
    pub started: Option<DateTime<Utc>>,
    /// The `summary` annotation, else `description`.
    pub summary: String,
    /// The runbook the alert names (its `sitrep_runbook` label, else the last part of its
    /// `runbook_url` annotation); whether actions/ has it is the console's to say.
    pub runbook: Option<String>,
    /// Every label, sorted by name.
    pub labels: Vec<(String, String)>,
}

impl AlertRow {
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// The runbook an alert names: `sitrep_runbook` wins; a `runbook_url` names one by its last path
/// part without extension (`https://wiki/runbooks/failover-redis.md` → `failover-redis`).
pub fn runbook_hint(label: Option<&str>, runbook_url: Option<&str>) -> Option<String> {
    if let Some(name) = label.map(str::trim).filter(|n| !n.is_empty()) {
        return Some(name.to_string());
    }
    let url = runbook_url?.trim();
    let path = url.split(['?', '#']).next().unwrap_or(url).trim_end_matches('/');
    let last = path.rsplit('/').next().unwrap_or(path);
    let stem = last.rsplit_once('.').map_or(last, |(stem, _)| stem);
    let plain = !stem.is_empty() && stem.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    plain.then(|| stem.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_label_wins_and_a_url_names_its_last_part() {
        assert_eq!(runbook_hint(Some("failover-redis"), Some("https://x/y/rollback")).as_deref(), Some("failover-redis"));
        assert_eq!(runbook_hint(None, Some("https://wiki/runbooks/failover-redis.md#steps")).as_deref(), Some("failover-redis"));
        assert_eq!(runbook_hint(Some(" "), Some("https://wiki/runbooks/scale/")).as_deref(), Some("scale"));
        assert_eq!(runbook_hint(None, Some("https://wiki/runbooks/redis%20down")), None);
        assert_eq!(runbook_hint(None, None), None);
    }
}
