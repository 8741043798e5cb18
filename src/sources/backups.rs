//! Backup inventory collector: lists the configured S3 prefixes (standard AWS chain, profiles,
//! AWS_ENDPOINT_URL) and classifies base backups, WAL, dumps and snapshots with their times.

use super::{Collect, clean};
use crate::backends::BackendError;
use crate::backends::s3::{self as backend, base_name, classify, wal_gaps};
use crate::config::S3Source;
use crate::model::{BackupKind, BackupsSnapshot, Observation};

pub struct Collector {
    cfg: S3Source,
    client: Option<aws_sdk_s3::Client>,
}

impl Collector {
    pub fn new(cfg: &S3Source) -> Self {
        Collector { cfg: cfg.clone(), client: None }
    }
}

impl Collect for Collector {
    async fn collect(&mut self) -> Result<Observation, BackendError> {
        if self.client.is_none() {
            self.client = Some(backend::client(self.cfg.access()).await);
        }
        let Some(client) = self.client.as_ref() else { return Err(BackendError::unexpected("S3", "no client")) };
        let mut base_sizes: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
        let mut snap = BackupsSnapshot { bucket: clean(&self.cfg.bucket), ..BackupsSnapshot::default() };
        let prefixes = [
            (BackupKind::BaseBackup, &self.cfg.basebackups_prefix),
            (BackupKind::Wal, &self.cfg.wal_prefix),
            (BackupKind::Dump, &self.cfg.dumps_prefix),
            (BackupKind::Snapshot, &self.cfg.snapshots_prefix),
        ];
        for (kind, prefix) in prefixes {
            let listed = backend::list(client, &self.cfg.bucket, prefix).await.map_err(|e| BackendError::NoneAnswered {
                what: format!("S3 bucket {}", self.cfg.bucket),
                reasons: vec![e.to_string()],
                fix: "check [s3] bucket/endpoint/profile in sitrep.toml".into(),
            })?;
            for obj in listed {
                if kind == BackupKind::BaseBackup {
                    *base_sizes.entry(base_name(&obj.key).to_string()).or_default() += obj.size;
                }
                if let Some(item) = classify(kind, &obj.key, obj.modified, obj.size) {
                    snap.items.push(item);
                }
            }
        }
        // A base backup's size is its tar partitions plus its sentinel.
        for item in snap.items.iter_mut().filter(|i| i.kind == BackupKind::BaseBackup) {
            if let Some(total) = base_sizes.get(base_name(&item.key)) {
                item.size = *total;
            }
        }
        let wal: Vec<&str> = snap.of_kind(BackupKind::Wal).map(|i| i.key.as_str()).collect();
        snap.wal_gaps = wal_gaps(&wal);
        Ok(Observation::Backups(snap))
    }
}
