//! Backup inventory collector: lists the configured S3 prefixes (standard AWS chain, profiles,
//! AWS_ENDPOINT_URL) and classifies base backups, WAL, dumps and snapshots (`backends::s3`).

use super::Collect;
use crate::backends::BackendError;
use crate::backends::s3::{self as backend};
use crate::config::S3Source;
use crate::model::Observation;

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
        backend::inventory(client, &self.cfg.bucket, &self.cfg.prefixes()).await.map(Observation::Backups)
    }
}
