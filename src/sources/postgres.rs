//! Replication collector: each member over tokio-postgres, plus Patroni's REST view of the cluster
//! (read by `backends::postgres`). Lag comes from pg_stat_replication, archiving from pg_stat_archiver.

use super::Collect;
use crate::backends::BackendError;
use crate::backends::postgres::ReplicationReader;
use crate::config::PostgresSource;
use crate::model::Observation;
use std::time::Duration;

pub struct Collector {
    reader: ReplicationReader,
}

impl Collector {
    pub fn new(cfg: &PostgresSource, timeout: Duration) -> Self {
        Collector { reader: ReplicationReader::new(cfg.member_dsns(), &cfg.patroni, timeout) }
    }
}

impl Collect for Collector {
    async fn collect(&mut self) -> Result<Observation, BackendError> {
        self.reader.read().await.map(Observation::Replication)
    }
}
