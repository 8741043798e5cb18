//! What a timeline is made of: incident ids, severities, statuses and the append-only entries.
//! Entries are never edited; a correction is a new entry that names the one it corrects.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// Longest title kept, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest note, detection, action or outcome text kept, in characters.
pub const MAX_TEXT_CHARS: usize = 4000;

/// An incident's id: short, sortable, safe as a file name (`2026-11-29-001`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IncidentId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{given}` is not an incident id: use 1-64 letters, digits, `-` or `_` (e.g. 2026-11-29-001)")]
pub struct BadIncidentId {
    pub given: String,
}

impl IncidentId {
    /// The id for the `seq`-th incident opened on `day` (1-based).
    pub fn for_day(day: DateTime<Utc>, seq: u32) -> Self {
        IncidentId(format!("{}-{seq:03}", day.format("%Y-%m-%d")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id stamped on findings kept while no incident is open (never an incident's file name:
    /// they live in `DATA/unattached/`, and adoption re-stamps them with the new incident's id).
    pub fn unattached() -> Self {
        IncidentId(UNATTACHED.to_string())
    }
}

const UNATTACHED: &str = "unattached";

impl FromStr for IncidentId {
    type Err = BadIncidentId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok =
            !s.is_empty() && s.len() <= 64 && !s.starts_with('-') && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok { Ok(IncidentId(s.to_string())) } else { Err(BadIncidentId { given: crate::sanitize::sanitize_bounded(s, 80) }) }
    }
}

impl TryFrom<String> for IncidentId {
    type Error = BadIncidentId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<IncidentId> for String {
    fn from(id: IncidentId) -> String {
        id.0
    }
}

impl fmt::Display for IncidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// seeds/004 severity levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Severity {
    P1,
    P2,
    P3,
    P4,
}

impl Severity {
    /// seeds/004 "Severity Levels".
    pub fn meaning(self) -> &'static str {
        match self {
            Severity::P1 => "Critical: complete service outage, data loss risk",
            Severity::P2 => "High: degraded service affecting >50% users",
            Severity::P3 => "Medium: partial service disruption",
            Severity::P4 => "Low: minor issues, no user impact",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a severity: use P1 (critical), P2 (high), P3 (medium) or P4 (low)")]
pub struct BadSeverity(pub String);

impl FromStr for Severity {
    type Err = BadSeverity;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "P1" | "1" => Ok(Severity::P1),
            "P2" | "2" => Ok(Severity::P2),
            "P3" | "3" => Ok(Severity::P3),
            "P4" | "4" => Ok(Severity::P4),
            _ => Err(BadSeverity(crate::sanitize::sanitize_bounded(s, 40))),
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

/// Where an incident stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    Investigating,
    Identified,
    Mitigated,
    Resolved,
}

impl IncidentStatus {
    pub fn name(self) -> &'static str {
        match self {
            IncidentStatus::Investigating => "investigating",
            IncidentStatus::Identified => "identified",
            IncidentStatus::Mitigated => "mitigated",
            IncidentStatus::Resolved => "resolved",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a status: use investigating, identified, mitigated or resolved")]
pub struct BadStatus(pub String);

impl FromStr for IncidentStatus {
    type Err = BadStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "investigating" => Ok(IncidentStatus::Investigating),
            "identified" => Ok(IncidentStatus::Identified),
            "mitigated" => Ok(IncidentStatus::Mitigated),
            "resolved" | "closed" => Ok(IncidentStatus::Resolved),
            _ => Err(BadStatus(crate::sanitize::sanitize_bounded(s, 40))),
        }
    }
}

impl fmt::Display for IncidentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What an entry records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EntryKind {
    /// The first entry of every incident.
    Opened {
        title: String,
        severity: Severity,
        /// What the incident is about; None in incidents opened by older sitreps (bound to none).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        estate: Option<super::estate::Estate>,
    },
    /// Something seen: by the detector (`source` is a source name) or reported by a person.
    Detected {
        what: String,
        source: String,
        recovered: bool,
        /// For backup detections: age of the newest backup, the data a restore would lose.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        backup_age_secs: Option<i64>,
    },
    /// A runbook step that was run, and what came of it.
    Action {
        runbook: String,
        step: String,
        outcome: String,
    },
    Note {
        text: String,
    },
    Status {
        status: IncidentStatus,
    },
    Severity {
        severity: Severity,
    },
}

impl From<&crate::detect::Detection> for EntryKind {
    /// A detector's transition as the `Detected` entry the timeline keeps.
    fn from(d: &crate::detect::Detection) -> Self {
        EntryKind::Detected {
            what: d.what.clone(),
            source: d.source.name().to_string(),
            recovered: d.recovered,
            backup_age_secs: d.backup_age_secs,
        }
    }
}

impl EntryKind {
    pub fn note(text: &str) -> Self {
        EntryKind::Note { text: text.to_string() }
    }

    /// The class the console files this entry under.
    pub fn class(&self) -> crate::model::EntryClass {
        use crate::model::EntryClass;
        match self {
            EntryKind::Detected { .. } => EntryClass::Detected,
            EntryKind::Note { .. } => EntryClass::Note,
            EntryKind::Action { .. } => EntryClass::Action,
            _ => EntryClass::Incident,
        }
    }

    /// The same entry with every outside text made safe for terminals and scrubbed of secrets.
    pub fn sanitized(self) -> Self {
        match self {
            EntryKind::Opened { title, severity, estate } => {
                EntryKind::Opened { title: clean(&title, MAX_TITLE_CHARS), severity, estate: estate.map(super::estate::Estate::sanitized) }
            }
            EntryKind::Detected { what, source, recovered, backup_age_secs } => EntryKind::Detected {
                what: clean(&what, MAX_TEXT_CHARS),
                source: clean(&source, MAX_TITLE_CHARS),
                recovered,
                backup_age_secs,
            },
            EntryKind::Action { runbook, step, outcome } => EntryKind::Action {
                runbook: clean(&runbook, MAX_TITLE_CHARS),
                step: clean(&step, MAX_TITLE_CHARS),
                outcome: clean(&outcome, MAX_TEXT_CHARS),
            },
            EntryKind::Note { text } => EntryKind::Note { text: clean(&text, MAX_TEXT_CHARS) },
            other @ (EntryKind::Status { .. } | EntryKind::Severity { .. }) => other,
        }
    }

    /// One line for tables and `incident show`.
    pub fn describe(&self) -> String {
        match self {
            EntryKind::Opened { title, severity, .. } => format!("opened {severity}: {title}"),
            EntryKind::Detected { what, source, recovered, .. } => {
                let tag = if *recovered { "recovered" } else { "detected" };
                format!("{tag} [{source}] {what}")
            }
            EntryKind::Action { runbook, step, outcome } => format!("action {runbook} / {step}: {outcome}"),
            EntryKind::Note { text } => format!("note: {text}"),
            EntryKind::Status { status } => format!("status -> {status}"),
            EntryKind::Severity { severity } => format!("severity -> {severity}"),
        }
    }
}

fn clean(text: &str, max_chars: usize) -> String {
    let safe = crate::sanitize::sanitize(text);
    crate::sanitize::sanitize_bounded(&crate::sanitize::redact_secrets(&safe), max_chars)
}

/// One durable record of the timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub id: Uuid,
    pub incident: IncidentId,
    pub at: DateTime<Utc>,
    /// `user@host` of the process that wrote it.
    pub author: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrects: Option<Uuid>,
    #[serde(flatten)]
    pub kind: EntryKind,
}

/// `user@host` of this process: `$USER`, else `$LOGNAME`, else the passwd name of the uid (tmux,
/// cron and systemd often leave both empty), else `uid N`; and the kernel's host name.
pub fn local_author() -> String {
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    let user = user_name(std::env::var("USER").ok(), std::env::var("LOGNAME").ok(), uid);
    let host = host_name().unwrap_or_else(|| "localhost".into());
    crate::sanitize::sanitize_bounded(&format!("{user}@{host}"), 120)
}

/// The first non-empty of the two environment names, else passwd's name for `uid`, else `uid N`.
pub fn user_name(user: Option<String>, logname: Option<String>, uid: u32) -> String {
    let given = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    given(user).or_else(|| given(logname)).or_else(|| passwd_name(uid)).unwrap_or_else(|| format!("uid {uid}"))
}

/// The login name passwd (files, LDAP, whatever NSS says) has for `uid`.
pub fn passwd_name(uid: u32) -> Option<String> {
    let mut buf = vec![0u8; 1024];
    loop {
        // SAFETY: all-zero is a valid passwd (null pointers, zero ids); getpwuid_r fills it.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: pwd, buf (valid for buf.len() bytes) and found outlive the call; the strings it
        // sets point into buf, which is read below before it is dropped or resized.
        let rc = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr().cast(), buf.len(), &mut found) };
        if rc == libc::ERANGE && buf.len() < 1 << 20 {
            buf.resize(buf.len() * 4, 0);
            continue;
        }
        if rc != 0 || found.is_null() || pwd.pw_name.is_null() {
            return None;
        }
        // SAFETY: pw_name is a NUL-terminated string inside buf, set by a successful call.
        let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) }.to_string_lossy().into_owned();
        return (!name.is_empty()).then_some(name);
    }
}

fn host_name() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that many bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    let name = String::from_utf8_lossy(&buf[..end]).into_owned();
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detections_become_detected_entries() {
        let det = crate::detect::Detection {
            at: chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default(),
            source: crate::model::SourceId::Backups,
            what: "x".into(),
            recovered: false,
            backup_age_secs: Some(9),
            subject: "Backup(Dump)".into(),
        };
        assert!(matches!(EntryKind::from(&det), EntryKind::Detected { backup_age_secs: Some(9), recovered: false, .. }));
    }

    #[test]
    fn incident_ids_refuse_anything_that_could_escape_the_data_dir() {
        assert!("2026-11-29-001".parse::<IncidentId>().is_ok());
        for bad in ["", "../etc/passwd", "a/b", "-rf", "x y", &"a".repeat(65)] {
            assert!(bad.parse::<IncidentId>().is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn severities_and_statuses_parse_the_way_people_type_them() {
        assert_eq!("p2".parse::<Severity>(), Ok(Severity::P2));
        assert_eq!("Mitigated".parse::<IncidentStatus>(), Ok(IncidentStatus::Mitigated));
        assert_eq!("closed".parse::<IncidentStatus>(), Ok(IncidentStatus::Resolved));
        let err = "P9".parse::<Severity>().map(|_| ()).unwrap_err();
        assert!(err.to_string().contains("P1 (critical)"), "{err}");
    }

    #[test]
    fn an_empty_user_falls_back_to_the_passwd_name_then_the_uid_never_unknown() {
        let root = passwd_name(0).unwrap_or_default();
        assert_eq!(root, "root", "uid 0 is root in every passwd");
        assert_eq!(user_name(Some(String::new()), None, 0), "root");
        assert_eq!(user_name(Some(" ".into()), Some(String::new()), 0), "root");
        assert_eq!(user_name(None, Some("ana".into()), 0), "ana");
        assert_eq!(user_name(Some("bo".into()), Some("ana".into()), 0), "bo");
        assert_eq!(user_name(Some(String::new()), None, 3_999_999_999), "uid 3999999999");
        // SAFETY: getuid cannot fail.
        let me = unsafe { libc::getuid() };
        assert_ne!(user_name(None, None, me), "unknown");
    }

    #[test]
    fn typed_text_loses_escape_sequences_and_secrets_before_it_is_stored() {
        let kind = EntryKind::note("failover \u{1b}[31mdone\u{1b}[0m, dsn postgres://app:hunter2@db:5432/app").sanitized();
        let EntryKind::Note { text } = kind else { panic!("still a note") };
        assert!(!text.contains('\u{1b}') && !text.contains("hunter2"), "{text}");
        assert!(text.contains("app:***@db"), "{text}");
    }
}
