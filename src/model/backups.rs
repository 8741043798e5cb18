//! What the S3 collector observed: base backups, archived WAL, dumps and snapshots, with their times.
//! A backup's time is the one in its key when present (S3 LastModified changes on copy).

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub enum BackupKind {
    BaseBackup,
    Wal,
    Dump,
    Snapshot,
}

impl BackupKind {
    pub const ALL: [BackupKind; 4] = [BackupKind::BaseBackup, BackupKind::Wal, BackupKind::Dump, BackupKind::Snapshot];

    pub fn label(self) -> &'static str {
        match self {
            BackupKind::BaseBackup => "base backup",
            BackupKind::Wal => "WAL",
            BackupKind::Dump => "pg_dump",
            BackupKind::Snapshot => "snapshot",
        }
    }
}

/// One backup source's reading (`[s3]` or a `[[backups]]` table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupsSnapshot {
    /// The source's name as `Config::backup_sources` gives it ("s3" for `[s3]`); "" in recordings
    /// made before several sources were read.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
    /// Why this source could not be read just now, in the server's words with the fix, while the
    /// other sources answered: the items are then its last good reading, judged at their own age.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub bucket: String,
    /// The newest few items of each kind (a catalogue's full listing stays in the collector).
    pub items: Vec<BackupItem>,
    /// Missing WAL segments between the oldest and newest archived one: (first missing, last missing).
    pub wal_gaps: Vec<(String, String)>,
    /// The kinds the estate is configured to keep; a kind not here is never "missing".
    #[serde(default = "all_kinds")]
    pub kinds: Vec<BackupKind>,
    /// What a tool's own catalogue says, when the repository has one.
    #[serde(default)]
    pub catalog: Option<Box<CatalogSummary>>,
    /// Objects under a backup prefix not counted as backups because their key holds characters no
    /// backup tool writes (controls, escapes, bidi overrides): how many, and the first, sanitized.
    /// Anyone who can write one object must not be able to pass it off as the newest backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<(usize, String)>,
    /// Each kind's count and bytes over the whole listing, when `items` holds only the newest few
    /// (recordings made before held every item, and no totals).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub totals: BTreeMap<BackupKind, Total>,
    /// S3 requests this reading made (LIST pages and catalogue GETs), so their cost is seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<u64>,
}

/// How many of a kind the listing holds, and their bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Total {
    pub count: usize,
    pub bytes: u64,
}

fn all_kinds() -> Vec<BackupKind> {
    BackupKind::ALL.to_vec()
}

impl Default for BackupsSnapshot {
    fn default() -> Self {
        BackupsSnapshot {
            source: String::new(),
            error: None,
            bucket: String::new(),
            items: vec![],
            wal_gaps: vec![],
            kinds: all_kinds(),
            catalog: None,
            refused: None,
            totals: BTreeMap::new(),
            requests: None,
        }
    }
}

/// Every backup source's reading, in the order `Config::backup_sources` lists them. Each source
/// is judged on its own: one that answers never hides another that fails or breaches.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "SourcesWire")]
pub struct BackupSources {
    pub sources: Vec<BackupsSnapshot>,
}

/// On the wire: `{"sources": [...]}`, or one bare snapshot as recordings made before several
/// sources were read hold it.
#[derive(Deserialize)]
#[serde(untagged)]
enum SourcesWire {
    Many { sources: Vec<BackupsSnapshot> },
    One(Box<BackupsSnapshot>),
}

impl From<SourcesWire> for BackupSources {
    fn from(w: SourcesWire) -> Self {
        match w {
            SourcesWire::Many { sources } => BackupSources { sources },
            SourcesWire::One(one) => BackupSources { sources: vec![*one] },
        }
    }
}

impl From<BackupsSnapshot> for BackupSources {
    fn from(one: BackupsSnapshot) -> Self {
        BackupSources { sources: vec![one] }
    }
}

impl BackupSources {
    pub fn iter(&self) -> impl Iterator<Item = &BackupsSnapshot> {
        self.sources.iter()
    }

    /// Whether the readings come from more than one source (then each is named where it is shown).
    pub fn several(&self) -> bool {
        self.sources.len() > 1
    }

    /// Items of a kind across every source (the dumps a restore may choose from).
    pub fn of_kind(&self, kind: BackupKind) -> impl Iterator<Item = (&BackupsSnapshot, &BackupItem)> {
        self.sources.iter().flat_map(move |s| s.of_kind(kind).map(move |i| (s, i)))
    }

    /// A source's name as the console shows it: "" for a sole source, else its name and a space
    /// (so single-source words stay as they were).
    pub fn label<'a>(&self, s: &'a BackupsSnapshot) -> &'a str {
        if self.several() { s.source.as_str() } else { "" }
    }
}

/// A repository's catalogue in brief: which tool, its backups and its WAL archive. Every string
/// is sanitized by the collector.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CatalogSummary {
    /// "pgbackrest", "barman", "wal-g".
    pub layout: String,
    /// How the layout was found: "auto: 9 backup.info key(s) under …" or "configured".
    pub found: String,
    /// pgBackRest stanza / Barman server name.
    pub name: Option<String>,
    /// Backups the tool marks good.
    pub backup_count: usize,
    pub newest_label: Option<String>,
    /// full / diff / incr / delta.
    pub newest_type: Option<String>,
    pub newest_stop: Option<DateTime<Utc>>,
    pub newest_wal: Option<String>,
    pub newest_wal_at: Option<DateTime<Utc>>,
    pub wal_count: usize,
    /// Catalogue files missing or not understood.
    pub warnings: Vec<String>,
}

impl BackupsSnapshot {
    /// Whether the estate is configured to keep this kind.
    pub fn expects(&self, kind: BackupKind) -> bool {
        self.kinds.contains(&kind)
    }

    pub fn of_kind(&self, kind: BackupKind) -> impl Iterator<Item = &BackupItem> {
        self.items.iter().filter(move |i| i.kind == kind)
    }

    pub fn newest(&self, kind: BackupKind) -> Option<&BackupItem> {
        self.of_kind(kind).max_by(|a, b| (a.at, &a.key).cmp(&(b.at, &b.key)))
    }

    /// A kind's count and bytes over the whole listing (the items themselves when no totals).
    pub fn total(&self, kind: BackupKind) -> Total {
        self.totals
            .get(&kind)
            .copied()
            .unwrap_or_else(|| Total { count: self.of_kind(kind).count(), bytes: self.of_kind(kind).map(|i| i.size).sum() })
    }

    /// Keeps only the newest `keep` items of each kind, after counting them all in `totals`.
    pub fn keep_newest(&mut self, keep: usize) {
        for kind in BackupKind::ALL {
            let total = self.total(kind);
            if total.count > 0 {
                self.totals.insert(kind, total);
            }
        }
        // Newest first; of one second, the greater key (WAL names grow).
        self.items.sort_by(|a, b| (a.kind, b.at, &b.key).cmp(&(b.kind, a.at, &a.key)));
        let mut seen: BTreeMap<BackupKind, usize> = BTreeMap::new();
        self.items.retain(|i| {
            let n = seen.entry(i.kind).or_default();
            *n += 1;
            *n <= keep
        });
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupItem {
    pub kind: BackupKind,
    pub key: String,
    pub at: DateTime<Utc>,
    pub size: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recording_made_with_one_backup_source_reads_as_that_source() {
        let old = r#"{"bucket":"b","items":[{"kind":"Dump","key":"dumps/a.dump","at":"2026-11-29T13:05:01Z","size":3}],"wal_gaps":[]}"#;
        let read: BackupSources = serde_json::from_str(old).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read.sources.len(), 1);
        assert_eq!((read.sources[0].bucket.as_str(), read.sources[0].items.len()), ("b", 1));
        assert_eq!(read.sources[0].kinds, BackupKind::ALL.to_vec(), "as before kinds were configured");
        let two = BackupSources {
            sources: vec![
                BackupsSnapshot { source: "s3".into(), ..read.sources[0].clone() },
                BackupsSnapshot { source: "wal".into(), error: Some("refused".into()), ..BackupsSnapshot::default() },
            ],
        };
        let text = serde_json::to_string(&two).unwrap_or_default();
        assert_eq!(serde_json::from_str::<BackupSources>(&text).ok(), Some(two));
        assert!(serde_json::from_str::<BackupSources>(r#"{"sources": 3}"#).is_err(), "nonsense is refused");
    }
}
