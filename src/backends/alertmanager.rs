//! Alertmanager: the one client of its API v2 (`GET /api/v2/alerts`). Every configured instance
//! is asked at once; alerts are merged by fingerprint, so an HA pair shows each alert once.

use super::BackendError;
use crate::model::alerts::runbook_hint;
use crate::model::{AlertRow, AlertState, AlertmanagerRow, AlertsSnapshot};
use crate::sanitize::clean;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// One alert as API v2 sends it (the fields sitrep reads).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiAlert {
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub fingerprint: String,
    #[serde(default)]
    pub status: ApiStatus,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiStatus {
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub silenced_by: Vec<String>,
}

impl ApiAlert {
    /// The model's row, every text made safe for the screen.
    pub fn row(&self) -> AlertRow {
        let label = |k: &str| self.labels.get(k).map(String::as_str);
        let annotation = |k: &str| self.annotations.get(k).map(String::as_str);
        AlertRow {
            fingerprint: clean(&self.fingerprint),
            name: clean(label("alertname").unwrap_or("")),
            severity: clean(label("severity").unwrap_or("")),
            state: AlertState::parse(&self.status.state),
            silenced: !self.status.silenced_by.is_empty(),
            started: self.starts_at,
            summary: clean(annotation("summary").or(annotation("description")).unwrap_or("")),
            runbook: runbook_hint(label("sitrep_runbook"), annotation("runbook_url")).map(|r| clean(&r)),
            labels: self.labels.iter().map(|(k, v)| (clean(k), clean(v))).collect(),
        }
    }
}

/// Reads the alerts of every configured Alertmanager.
pub struct AlertReader {
    urls: Vec<String>,
    http: reqwest::Client,
}

impl AlertReader {
    /// `timeout` is the collector's; each Alertmanager gets 0.6 of it, as Patroni endpoints do.
    pub fn new(urls: &[String], timeout: Duration) -> Self {
        AlertReader { urls: urls.to_vec(), http: reqwest::Client::builder().timeout(timeout.mul_f32(0.6)).build().unwrap_or_default() }
    }

    /// One reading: every Alertmanager asked at once. An instance that does not answer is a row
    /// with its error; with none answering (or none configured) the reading fails.
    pub async fn read(&self) -> Result<AlertsSnapshot, BackendError> {
        if self.urls.is_empty() {
            return Err(BackendError::BadSetting {
                input: "[alerts] alertmanager".into(),
                detail: "no Alertmanager configured".into(),
                fix: "set [alerts] alertmanager = [\"http://host:9093\"]".into(),
            });
        }
        let snap = self.answers().await;
        if snap.reachable() == 0 {
            return Err(BackendError::NoneAnswered {
                what: "no Alertmanager answers".into(),
                reasons: snap.alertmanagers.iter().filter_map(|a| a.error.clone()).collect(),
                fix: "check [alerts] alertmanager in sitrep.toml".into(),
            });
        }
        Ok(snap)
    }

    /// Every Alertmanager's answer, a dead one as a row with its error (none configured: no rows).
    pub async fn answers(&self) -> AlertsSnapshot {
        let answers = futures::future::join_all(self.urls.iter().map(|url| alerts(&self.http, url))).await;
        let mut snap = AlertsSnapshot::default();
        let mut merged: BTreeMap<String, AlertRow> = BTreeMap::new();
        for (url, answer) in self.urls.iter().zip(answers) {
            match answer {
                Ok(alerts) => {
                    for a in alerts {
                        let row = a.row();
                        // The first Alertmanager's view of an alert wins; a silence either knows
                        // marks it (silences gossip between peers, one may know it first).
                        merged
                            .entry(row.fingerprint.clone())
                            .and_modify(|kept| {
                                if row.silenced && !kept.silenced {
                                    kept.silenced = true;
                                    kept.state = row.state;
                                }
                            })
                            .or_insert(row);
                    }
                    snap.alertmanagers.push(AlertmanagerRow { url: clean(url), error: None });
                }
                Err(e) => snap.alertmanagers.push(AlertmanagerRow { url: clean(url), error: Some(clean(&e.to_string())) }),
            }
        }
        snap.alerts = merged.into_values().collect();
        snap.alerts.sort_by(|a, b| b.started.cmp(&a.started).then_with(|| a.name.cmp(&b.name)));
        snap
    }
}

/// `GET {url}/api/v2/alerts` of one Alertmanager (active, silenced, inhibited and unprocessed).
pub async fn alerts(http: &reqwest::Client, url: &str) -> Result<Vec<ApiAlert>, BackendError> {
    let endpoint = format!("{}/api/v2/alerts", url.trim_end_matches('/'));
    let target = format!("Alertmanager {}", url.trim_end_matches('/'));
    let resp =
        http.get(&endpoint).send().await.map_err(|e| super::http_error(&target, &e, "check [alerts] alertmanager in sitrep.toml"))?;
    let status = resp.status();
    if !status.is_success() {
        let body = resp.text().await.unwrap_or_default();
        let server = format!("{status} {}", body.trim());
        return Err(BackendError::Server { target, server: format!("{server}; is {endpoint} an Alertmanager (API v2)?") });
    }
    resp.json::<Vec<ApiAlert>>().await.map_err(|e| BackendError::unexpected(&target, format!("not API v2 alerts: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_api_v2_alert_becomes_a_clean_row_with_its_runbook() {
        let json = r#"[{"labels":{"alertname":"RedisMasterDown","severity":"critical","master":"mymaster\u001b[2J"},
            "annotations":{"summary":"master down","runbook_url":"https://wiki/runbooks/failover-redis.md"},
            "startsAt":"2026-11-29T03:11:00Z","endsAt":"2026-11-29T03:20:00Z","fingerprint":"ab12",
            "status":{"state":"suppressed","silencedBy":["s1"],"inhibitedBy":[]},"receivers":[{"name":"x"}]}]"#;
        let alerts: Vec<ApiAlert> = serde_json::from_str(json).unwrap_or_default();
        let row = alerts.first().map(ApiAlert::row).unwrap_or_default();
        assert_eq!(
            (row.name.as_str(), row.severity.as_str(), row.state, row.silenced),
            ("RedisMasterDown", "critical", AlertState::Suppressed, true)
        );
        assert_eq!(row.runbook.as_deref(), Some("failover-redis"));
        assert_eq!(row.label("master"), Some("mymaster"), "escape sequences never reach the screen");
        assert_eq!(row.summary, "master down");
    }
}
