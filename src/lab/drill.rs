//! Training drills: a lab, a scenario's faults at a random moment, the trainee in the recorded
//! console, and a scorecard — time to detect, time to mitigate against the RTO, the oldest newest-backup
//! any detection saw against the RPO, runbooks used against the ones the seeds expect.

use super::{Lab, LabOptions};
use crate::config::{Config, Thresholds};
use crate::timeline::entry::{EntryKind, IncidentStatus, TimelineEntry};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What a drill expects of the trainee, per scenario (from the seeds' runbooks).
pub fn expected_runbooks(scenario: &str) -> Vec<&'static str> {
    match scenario {
        "bad-deploy" => vec!["triage", "rollback"],
        "primary-db-loss" => vec!["triage", "failover-postgres"],
        "redis-master-loss" => vec!["triage", "failover-redis"],
        "queue-backlog" => vec!["triage", "scale"],
        "backup-gap" => vec!["triage", "restore"],
        _ => vec!["triage"],
    }
}

/// The recovery-time target a scenario is judged against (seeds/002).
pub fn rto_for(scenario: &str, t: &Thresholds) -> u64 {
    match scenario {
        "primary-db-loss" => t.postgres_rto_secs,
        "redis-master-loss" => t.redis_rto_secs,
        _ => t.rto_secs,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scorecard {
    pub scenario: String,
    pub fault_at: DateTime<Utc>,
    pub detected_after_secs: Option<i64>,
    pub mitigated_after_secs: Option<i64>,
    pub rto_secs: u64,
    pub rto_met: Option<bool>,
    pub data_lost_secs: Option<i64>,
    pub rpo_secs: u64,
    pub runbooks_used: Vec<String>,
    pub runbooks_expected: Vec<String>,
    pub recording: PathBuf,
}

impl Scorecard {
    /// Scores a drill from the incident entries the trainee produced. Pure.
    pub fn score(scenario: &str, fault_at: DateTime<Utc>, entries: &[TimelineEntry], t: &Thresholds, recording: PathBuf) -> Scorecard {
        let after = |e: &&TimelineEntry| e.at >= fault_at;
        // Detection is the first human reaction: an incident opened, a note, a runbook step.
        let detected = entries
            .iter()
            .filter(after)
            .find(|e| matches!(e.kind, EntryKind::Opened { .. } | EntryKind::Note { .. } | EntryKind::Action { .. }))
            .map(|e| (e.at - fault_at).num_seconds());
        let mitigated = entries
            .iter()
            .filter(after)
            .find(|e| matches!(e.kind, EntryKind::Status { status: IncidentStatus::Mitigated | IncidentStatus::Resolved }))
            .map(|e| (e.at - fault_at).num_seconds());
        let data_lost = entries
            .iter()
            .filter_map(|e| match &e.kind {
                EntryKind::Detected { backup_age_secs: Some(a), .. } => Some(*a),
                _ => None,
            })
            .max();
        let mut used: Vec<String> = entries
            .iter()
            .filter_map(|e| match &e.kind {
                EntryKind::Action { runbook, .. } => Some(runbook.clone()),
                _ => None,
            })
            .collect();
        used.sort();
        used.dedup();
        let rto = rto_for(scenario, t);
        Scorecard {
            scenario: scenario.into(),
            fault_at,
            detected_after_secs: detected,
            mitigated_after_secs: mitigated,
            rto_secs: rto,
            rto_met: mitigated.map(|m| crate::model::verdict::objective_met(rto, m)),
            data_lost_secs: data_lost,
            rpo_secs: t.rpo_secs,
            runbooks_used: used,
            runbooks_expected: expected_runbooks(scenario).into_iter().map(String::from).collect(),
            recording,
        }
    }

    pub fn to_markdown(&self) -> String {
        let secs = |s: Option<i64>| s.map_or_else(|| "never".to_string(), crate::human::duration);
        let missing: Vec<&String> = self.runbooks_expected.iter().filter(|r| !self.runbooks_used.contains(r)).collect();
        format!(
            "# Drill scorecard: {}\n\n| | |\n|---|---|\n| Fault injected | {} UTC |\n| Time to detect | {} |\n| Time to mitigate | {} (RTO {}: {}) |\n| Largest backup age detected | {} (RPO {}) |\n| Runbooks used | {} |\n| Runbooks expected | {} |\n| Recording | `{}` |\n",
            self.scenario,
            self.fault_at.format("%Y-%m-%d %H:%M:%S"),
            secs(self.detected_after_secs),
            secs(self.mitigated_after_secs),
            crate::human::duration(self.rto_secs as i64),
            match self.rto_met {
                Some(true) => "met",
                Some(false) => "MISSED",
                None => "not mitigated",
            },
            // The largest backup age among detections: what a restore then would have lost, not a measure of
            // data actually lost in the drill.
            self.data_lost_secs.map_or_else(|| "no backup detection".to_string(), crate::human::duration),
            crate::human::duration(self.rpo_secs as i64),
            if self.runbooks_used.is_empty() { "none".to_string() } else { self.runbooks_used.join(", ") },
            if missing.is_empty() {
                self.runbooks_expected.join(", ")
            } else {
                format!(
                    "{} (not used: {})",
                    self.runbooks_expected.join(", "),
                    missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                )
            },
            self.recording.display()
        )
    }
}

pub use crate::record::scorecard_path;

/// Runs a drill: lab up, faults at a random moment within `window`, the recorded console, scorecard.
pub fn run(scenario: &str, window: Duration, out_dir: &Path) -> anyhow::Result<Scorecard> {
    use anyhow::Context;
    let steps = super::scenarios::steps(scenario)?;
    std::fs::create_dir_all(out_dir).with_context(|| format!("cannot create {}", out_dir.display()))?;
    eprintln!("sitrep drill: starting the lab for `{scenario}`; the fault comes at a random moment within {}s…", window.as_secs());
    let lab = Lab::up(LabOptions { dir: None, scenario: None, owner_pid: Some(std::process::id()) })?;
    let stamp = Utc::now().format("%Y%m%dT%H%M%SZ");
    let recording = out_dir.join(format!("drill-{scenario}-{stamp}.sitrep"));
    let data_dir = out_dir.join(format!("drill-{scenario}-{stamp}.data"));
    let mut config: Config = crate::config::load(&lab.config_path())?;
    config.general.data_dir = data_dir.display().to_string();
    // The faults, shifted to a random start inside the window, on their own thread.
    let delay = Duration::from_millis(rand::random_range(0..=window.as_millis().max(1) as u64));
    let first = steps.first().map_or(Duration::ZERO, |s| s.at);
    let plan: Vec<(Duration, String)> = steps.iter().map(|s| (delay + (s.at - first), s.fault.name().to_string())).collect();
    let fault_at = Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
    let lab_for_faults = lab.clone();
    std::thread::spawn(move || {
        let start = std::time::Instant::now();
        for (at, fault) in plan {
            std::thread::sleep(at.saturating_sub(start.elapsed()));
            if let Err(e) = lab_for_faults.fault(&fault) {
                tracing::error!("drill fault {fault}: {e}");
            }
        }
    });
    let start = crate::console::Start { record: Some(recording.clone()), snapshot: None };
    let result = crate::console::run(config.clone(), &start, format!("DRILL {scenario}"));
    let entries = read_entries(&config);
    let card = Scorecard::score(scenario, fault_at, &entries, &config.thresholds, recording.clone());
    std::fs::write(scorecard_path(&recording), card.to_markdown()).with_context(|| "writing the scorecard")?;
    std::fs::write(recording.with_extension("scorecard.json"), serde_json::to_string_pretty(&card)?)?;
    if let Err(e) = lab.down() {
        eprintln!("sitrep drill: stopping the lab: {e}");
    }
    result?;
    Ok(card)
}

/// Every entry of every incident the trainee opened in the drill's data dir.
fn read_entries(config: &Config) -> Vec<TimelineEntry> {
    let Ok(store) = crate::timeline::store::LocalStore::from_config(config) else { return Vec::new() };
    let mut out = Vec::new();
    for id in store.list().unwrap_or_default() {
        if let Ok(read) = store.read(&id) {
            out.extend(read.entries);
        }
    }
    out.sort_by_key(|e| e.at);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::entry::IncidentId;

    fn detected(at: DateTime<Utc>, backup_age_secs: Option<i64>) -> TimelineEntry {
        TimelineEntry {
            id: uuid::Uuid::new_v4(),
            incident: IncidentId::for_day(at, 1),
            at,
            author: "trainee@lab".into(),
            corrects: None,
            kind: EntryKind::Detected { what: "newest dump old".into(), source: "backups".into(), recovered: false, backup_age_secs },
        }
    }

    #[test]
    fn the_scorecard_names_the_largest_backup_age_among_detections_for_what_it_is() {
        let fault_at = Utc::now();
        let entries = [detected(fault_at, Some(400)), detected(fault_at, Some(5400)), detected(fault_at, None)];
        let card = Scorecard::score("backup-gap", fault_at, &entries, &Thresholds::default(), "drill.sitrep".into());
        assert_eq!(card.data_lost_secs, Some(5400), "the largest age among the detections");
        let md = card.to_markdown();
        assert!(md.contains("| Largest backup age detected | 90m (RPO 5m) |"), "{md}");
        assert!(!md.to_lowercase().contains("data lost"), "the row is not a measure of data lost:\n{md}");

        let none = Scorecard::score("backup-gap", fault_at, &[detected(fault_at, None)], &Thresholds::default(), "d.sitrep".into());
        assert!(none.to_markdown().contains("| Largest backup age detected | no backup detection (RPO "), "{}", none.to_markdown());
    }
}
