//! Findings made while no incident is open: kept durably in an unattached journal per estate, and
//! adopted by the next `open` (look-back window plus findings still active), keeping id and time.

use super::entry::{EntryKind, Severity, TimelineEntry};
use super::estate::Estate;
use super::incident::in_time_order;
use super::lock::{FileLock, LockMode};
use super::store::{LocalStore, StoreError, TimelineWriter};
use crate::clock::Clock;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use std::collections::HashSet;
use uuid::Uuid;

/// How far back `open` looks for findings when nothing else is configured.
pub const DEFAULT_LOOK_BACK: Duration = Duration::minutes(30);

/// What an `open` did.
#[derive(Debug, Clone)]
pub struct Opened {
    /// The `Opened` entry of the new incident.
    pub opened: TimelineEntry,
    /// The findings copied into it, oldest first, with their original ids and times.
    pub adopted: Vec<TimelineEntry>,
    /// Damage found in the journal or in incident files while choosing (reported, never fatal).
    pub warnings: Vec<String>,
}

impl Opened {
    /// One line for a person: how many findings came along and from when.
    pub fn summary(&self, look_back: Duration) -> String {
        match self.adopted.first() {
            None => format!("no finding from the last {} to adopt", super::export::duration(look_back.num_seconds())),
            Some(first) => format!(
                "adopted {} finding(s) made before the incident was opened (look-back {} and still-active findings), the first at {} UTC: impact counts from there",
                self.adopted.len(),
                super::export::duration(look_back.num_seconds()),
                first.at.format("%H:%M:%S")
            ),
        }
    }
}

/// Keeps one finding in the journal of `scope` (fsynced before this returns).
pub fn keep(
    writer: &mut Option<TimelineWriter>,
    store: &LocalStore,
    scope: &str,
    clock: &Clock,
    author: &str,
    at: DateTime<Utc>,
    kind: EntryKind,
) -> Result<TimelineEntry, StoreError> {
    let w = match writer {
        Some(w) => w,
        None => writer.insert(TimelineWriter::open_unattached(store, scope, clock.clone(), author)?),
    };
    Ok(w.append_at(at, kind, None)?.entry)
}

/// Opens an incident that adopts the findings of `scope` made in the last `look_back`, and the
/// older ones still active (no recovery of the same thing since). Findings already in an incident
/// are not adopted twice. Two processes opening at once are serialized by a lock file, so a
/// finding is adopted by one of them only.
pub fn open_adopting(
    store: &LocalStore,
    estate: &Estate,
    clock: &Clock,
    author: &str,
    title: &str,
    severity: Severity,
    look_back: Duration,
) -> Result<Opened, StoreError> {
    let scope = &estate.key();
    let journal = store.ensure_unattached(scope)?;
    let lock_path = journal.with_extension("lock");
    let lock_file = std::fs::OpenOptions::new().create(true).append(true).open(&lock_path).map_err(|source| StoreError::Io {
        action: "create",
        path: lock_path.clone(),
        source,
    })?;
    let _lock = FileLock::acquire(&lock_file, LockMode::Exclusive).map_err(|source| StoreError::Io {
        action: "lock",
        path: lock_path.clone(),
        source,
    })?;
    let read = store.read_unattached(scope)?;
    let mut warnings = read.warnings();
    let now = clock.now();
    let candidates = select(&read.entries, now - look_back, now);
    let taken = match candidates.first() {
        Some(first) => already_adopted(store, first.at.date_naive(), &mut warnings)?,
        None => HashSet::new(),
    };
    let opened = store.open_incident_for(clock, author, title, severity, Some(estate))?;
    let copies: Vec<TimelineEntry> = candidates
        .into_iter()
        .filter(|e| !taken.contains(&e.id))
        .map(|e| TimelineEntry { incident: opened.incident.clone(), ..e })
        .collect();
    let mut writer = TimelineWriter::open(store, &opened.incident, clock.clone(), author)?;
    let adopted = writer.merge(&copies)?;
    Ok(Opened { opened, adopted, warnings })
}

/// The journal's findings to adopt at `now`, oldest first: those at or after `since`, and older
/// anomalies whose subject has not recovered since.
pub fn select(journal: &[TimelineEntry], since: DateTime<Utc>, now: DateTime<Utc>) -> Vec<TimelineEntry> {
    let findings: Vec<&TimelineEntry> =
        in_time_order(journal).into_iter().filter(|e| e.at <= now && matches!(e.kind, EntryKind::Detected { .. })).collect();
    let mut recovered_later: HashSet<String> = HashSet::new();
    let mut chosen = Vec::new();
    for e in findings.iter().rev() {
        let EntryKind::Detected { what, source, recovered, .. } = &e.kind else { continue };
        let key = subject(source, what);
        let active = !recovered && !recovered_later.contains(&key);
        if *recovered {
            recovered_later.insert(key);
        }
        if e.at >= since || active {
            chosen.push((*e).clone());
        }
    }
    chosen.reverse();
    chosen
}

/// Ids of the entries of every incident opened on or after `day`: a finding adopted once is
/// there (an incident can only adopt findings made before it was opened).
fn already_adopted(store: &LocalStore, day: NaiveDate, warnings: &mut Vec<String>) -> Result<HashSet<Uuid>, StoreError> {
    let mut ids = HashSet::new();
    for id in store.list()? {
        let opened_day = id.as_str().get(..10).and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
        if opened_day.is_some_and(|d| d < day) {
            continue;
        }
        match store.read(&id) {
            Ok(read) => ids.extend(read.entries.iter().map(|e| e.id)),
            Err(e) => warnings.push(format!("cannot check incident {id} for findings it already adopted: {e}")),
        }
    }
    Ok(ids)
}

/// What a finding is about, so a recovery can be matched with the anomaly it ends: the detector's
/// own wording (src/detect.rs) without the state words. Unknown wording falls back to the source.
pub fn subject(source: &str, what: &str) -> String {
    let first_word = |s: &str| s.split_whitespace().next().unwrap_or_default().to_string();
    let thing = if let Some(rest) = what.strip_prefix("crashloop began: pod ").or_else(|| what.strip_prefix("crashloop ended: pod ")) {
        format!("crashloop {}", first_word(rest))
    } else if let Some(rest) = what.strip_prefix("queue ") {
        format!("queue {}", first_word(rest))
    } else if let Some(rest) = what.strip_prefix("source ") {
        format!("source {}", first_word(rest))
    } else if what.starts_with("replication lag") {
        "replication lag".into()
    } else if what.starts_with("WAL archiving") {
        "WAL archiving".into()
    } else if let Some((thing, _)) =
        what.split_once(" moved from ").or_else(|| what.split_once(" lost: ")).or_else(|| what.split_once(" is "))
    {
        thing.to_string()
    } else {
        String::new()
    };
    format!("{source}/{thing}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::entry::IncidentId;

    fn at(min: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default() + Duration::minutes(min)
    }

    fn finding(n: u128, min: i64, source: &str, what: &str, recovered: bool) -> TimelineEntry {
        TimelineEntry {
            id: Uuid::from_u128(n),
            incident: IncidentId::unattached(),
            at: at(min),
            author: "sitrep@console".into(),
            corrects: None,
            kind: EntryKind::Detected { what: what.into(), source: source.into(), recovered, backup_age_secs: None },
        }
    }

    #[test]
    fn recoveries_pair_with_the_anomaly_they_end_in_the_detectors_wording() {
        let pairs = [
            (
                "pods",
                "crashloop began: pod shop/api-7f9c in CrashLoopBackOff (4 restarts)",
                "crashloop ended: pod shop/api-7f9c (0 restarts)",
            ),
            (
                "queues",
                "queue celery growing: over its warning depth (5000 messages)",
                "queue celery back under its warning depth (3 messages)",
            ),
            (
                "replication",
                "replication lag at critical level (70s, 2 MiB behind, was warning)",
                "replication lag back under the warning threshold (1s)",
            ),
            ("backups", "newest WAL is older than the RPO (6m 40s old)", "newest WAL is within the RPO again (10s old)"),
            ("replication", "WAL archiving failing (last failed WAL 0001)", "WAL archiving recovered (last archived WAL 0002)"),
            ("queues", "source queues failing: connection refused", "source queues recovered"),
            (
                "sentinel",
                "Redis master (Sentinel) lost: none now (was 10.0.0.1:6379)",
                "Redis master (Sentinel) is 10.0.0.2:6379 (there was none)",
            ),
        ];
        for (source, began, ended) in pairs {
            assert_eq!(subject(source, began), subject(source, ended), "{began} / {ended}");
        }
        assert_ne!(subject("pods", "crashloop began: pod a/x (2)"), subject("pods", "crashloop ended: pod a/y (0)"));
    }

    #[test]
    fn the_window_and_still_active_findings_are_adopted_and_settled_old_ones_are_not() {
        let journal = vec![
            finding(1, 0, "pods", "crashloop began: pod a/x in CrashLoopBackOff (3 restarts)", false),
            finding(2, 5, "queues", "queue celery growing: over its warning depth (2000 messages)", false),
            finding(3, 9, "queues", "queue celery back under its warning depth (0 messages)", true),
            finding(4, 70, "sentinel", "Redis master (Sentinel) moved from 10.0.0.1:6379 to 10.0.0.2:6379", true),
            finding(5, 80, "queues", "queue celery growing: over its warning depth (9000 messages)", false),
        ];
        let now = at(90);
        let ids: Vec<u128> = select(&journal, now - DEFAULT_LOOK_BACK, now).iter().map(|e| e.id.as_u128()).collect();
        // 1: still crash-looping (no recovery since); 2-3: an episode that ended outside the window.
        assert_eq!(ids, vec![1, 4, 5]);
    }
}
