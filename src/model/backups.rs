//! What the S3 collector observed: base backups, archived WAL, dumps and snapshots, with their times.
//! A backup's time is the one in its key when present (S3 LastModified changes on copy).

use chrono::{DateTime, Utc};
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupsSnapshot {
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
}

fn all_kinds() -> Vec<BackupKind> {
    BackupKind::ALL.to_vec()
}

impl Default for BackupsSnapshot {
    fn default() -> Self {
        BackupsSnapshot { bucket: String::new(), items: vec![], wal_gaps: vec![], kinds: all_kinds(), catalog: None, refused: None }
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
        self.of_kind(kind).max_by_key(|i| i.at)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupItem {
    pub kind: BackupKind,
    pub key: String,
    pub at: DateTime<Utc>,
    pub size: u64,
}
