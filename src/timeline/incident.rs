//! An incident as its entries add up to: title, severity, status, key times, participants.
//! Pure folding; an entry that was corrected no longer counts, its correction does.

use super::entry::{EntryKind, IncidentId, IncidentStatus, Severity, TimelineEntry};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashSet;
use uuid::Uuid;

/// The state of one incident, derived from its timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    pub id: IncidentId,
    /// None when the opening record is missing or corrupt.
    pub title: Option<String>,
    pub severity: Option<Severity>,
    /// The estate it is about, from its opening record (None: opened by an older sitrep).
    pub estate: Option<super::estate::Estate>,
    pub status: IncidentStatus,
    pub started: Option<DateTime<Utc>>,
    /// First anomaly detected (not a recovery), also when it was adopted from before the opening.
    pub detected: Option<DateTime<Utc>>,
    /// First finding of any kind: a recovery (a master that moved) also says something had failed.
    pub first_finding: Option<DateTime<Utc>>,
    /// When service was restored (mitigated, or resolved without a mitigated step).
    pub mitigated: Option<DateTime<Utc>>,
    pub resolved: Option<DateTime<Utc>>,
    /// `user@host` of everyone who wrote to it, in order of first appearance.
    pub participants: Vec<String>,
    pub entries: usize,
}

impl Incident {
    /// Folds entries (any order) into the incident's state.
    pub fn fold(id: &IncidentId, entries: &[TimelineEntry]) -> Self {
        let mut incident = Incident {
            id: id.clone(),
            title: None,
            severity: None,
            estate: None,
            status: IncidentStatus::Investigating,
            started: None,
            detected: None,
            first_finding: None,
            mitigated: None,
            resolved: None,
            participants: Vec::new(),
            entries: entries.len(),
        };
        let corrected = corrected_ids(entries);
        for entry in in_time_order(entries) {
            if !incident.participants.contains(&entry.author) {
                incident.participants.push(entry.author.clone());
            }
            if corrected.contains(&entry.id) {
                continue;
            }
            incident.apply(entry);
        }
        incident
    }

    fn apply(&mut self, entry: &TimelineEntry) {
        match &entry.kind {
            EntryKind::Opened { title, severity, estate } => {
                self.title = Some(title.clone());
                if self.estate.is_none() {
                    self.estate.clone_from(estate);
                }
                self.severity.get_or_insert(*severity);
                self.started.get_or_insert(entry.at);
            }
            EntryKind::Severity { severity } => self.severity = Some(*severity),
            EntryKind::Detected { recovered, .. } => {
                self.first_finding.get_or_insert(entry.at);
                if !recovered {
                    self.detected.get_or_insert(entry.at);
                }
            }
            EntryKind::Status { status } => self.set_status(*status, entry.at),
            EntryKind::Action { .. } | EntryKind::Note { .. } => {}
        }
    }

    fn set_status(&mut self, status: IncidentStatus, at: DateTime<Utc>) {
        self.status = status;
        match status {
            IncidentStatus::Investigating | IncidentStatus::Identified => {
                // Reopened: service is not restored after all.
                self.mitigated = None;
                self.resolved = None;
            }
            IncidentStatus::Mitigated => {
                self.mitigated.get_or_insert(at);
                self.resolved = None;
            }
            IncidentStatus::Resolved => {
                self.mitigated.get_or_insert(at);
                self.resolved.get_or_insert(at);
            }
        }
    }

    /// When impact began as far as the timeline knows: the earlier of opening and first finding
    /// (findings made before the opening are adopted into the incident, so this reaches back).
    pub fn impact_began(&self) -> Option<DateTime<Utc>> {
        match (self.started, self.first_finding) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn title_or_placeholder(&self) -> &str {
        self.title.as_deref().unwrap_or("(untitled: the opening record is missing)")
    }
}

/// Ids of entries that a later entry corrects.
pub fn corrected_ids(entries: &[TimelineEntry]) -> HashSet<Uuid> {
    entries.iter().filter_map(|e| e.corrects).collect()
}

/// Entries sorted by time; entries with the same time keep their order in the file.
pub fn in_time_order(entries: &[TimelineEntry]) -> Vec<&TimelineEntry> {
    let mut sorted: Vec<&TimelineEntry> = entries.iter().collect();
    sorted.sort_by_key(|e| e.at);
    sorted
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn at(min: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default() + Duration::minutes(min)
    }

    fn entry(n: u128, min: i64, kind: EntryKind) -> TimelineEntry {
        TimelineEntry {
            id: Uuid::from_u128(n),
            incident: IncidentId::for_day(at(0), 1),
            at: at(min),
            author: if n.is_multiple_of(2) { "ana@laptop".into() } else { "bo@desk".into() },
            corrects: None,
            kind,
        }
    }

    #[test]
    fn status_changes_set_the_mitigate_and_resolve_times() {
        let id = IncidentId::for_day(at(0), 1);
        let entries = vec![
            entry(1, 0, EntryKind::Opened { title: "db down".into(), severity: Severity::P2, estate: None }),
            entry(2, 3, EntryKind::Severity { severity: Severity::P1 }),
            entry(3, 9, EntryKind::Status { status: IncidentStatus::Mitigated }),
            entry(4, 30, EntryKind::Status { status: IncidentStatus::Resolved }),
        ];
        let inc = Incident::fold(&id, &entries);
        assert_eq!(inc.severity, Some(Severity::P1));
        assert_eq!((inc.mitigated, inc.resolved), (Some(at(9)), Some(at(30))));
        assert_eq!(inc.participants, vec!["bo@desk".to_string(), "ana@laptop".to_string()]);
    }

    #[test]
    fn a_corrected_status_no_longer_counts() {
        let id = IncidentId::for_day(at(0), 1);
        let mut wrong = entry(4, 5, EntryKind::Status { status: IncidentStatus::Mitigated });
        wrong.id = Uuid::from_u128(40);
        let mut fix = entry(5, 6, EntryKind::note("not mitigated: the replica is still down"));
        fix.corrects = Some(wrong.id);
        let entries = vec![entry(1, 0, EntryKind::Opened { title: "x".into(), severity: Severity::P3, estate: None }), wrong, fix];
        let inc = Incident::fold(&id, &entries);
        assert_eq!((inc.status, inc.mitigated), (IncidentStatus::Investigating, None));
    }
}
