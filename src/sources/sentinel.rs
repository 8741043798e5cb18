//! Sentinel collector: asks every configured Sentinel who the master is, then one of them for
//! the master's flags/quorum and its replicas (the reading itself is `backends::redis`).

use super::Collect;
use crate::backends::BackendError;
use crate::backends::redis::{SentinelSettings, sentinel_snapshot};
use crate::model::Observation;
use std::time::Duration;

pub struct Collector {
    sentinels: SentinelSettings,
    timeout: Duration,
}

impl Collector {
    pub fn new(sentinels: &SentinelSettings, timeout: Duration) -> Self {
        Collector { sentinels: sentinels.clone(), timeout }
    }
}

impl Collect for Collector {
    async fn collect(&mut self) -> Result<Observation, BackendError> {
        sentinel_snapshot(&self.sentinels, self.timeout).await.map(Observation::Sentinel)
    }
}
