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

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BackupsSnapshot {
    pub bucket: String,
    pub items: Vec<BackupItem>,
    /// Missing WAL segments between the oldest and newest archived one: (first missing, last missing).
    pub wal_gaps: Vec<(String, String)>,
}

impl BackupsSnapshot {
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
