//! Sentinel collector: asks every configured Sentinel who the master is, then one of them for
//! the master's flags/quorum and its replicas, and the master for its INFO (the reading itself is
//! `backends::redis`); the hit rate is the master's lookups between two readings.

use super::Collect;
use crate::backends::BackendError;
use crate::backends::redis::{SentinelSettings, sentinel_snapshot};
use crate::model::{MasterHealth, Observation};
use std::time::Duration;

pub struct Collector {
    sentinels: SentinelSettings,
    timeout: Duration,
    /// The master's last INFO counters, for the hit rate between two readings.
    previous: Option<Box<MasterHealth>>,
}

impl Collector {
    pub fn new(sentinels: &SentinelSettings, timeout: Duration) -> Self {
        Collector { sentinels: sentinels.clone(), timeout, previous: None }
    }
}

impl Collect for Collector {
    async fn collect(&mut self) -> Result<Observation, BackendError> {
        let mut snap = sentinel_snapshot(&self.sentinels, self.timeout).await?;
        if let Some(health) = snap.master_health.as_mut() {
            health.hit_rate = self.previous.as_ref().and_then(|p| health.hit_rate_since(p));
        }
        self.previous = snap.master_health.clone();
        Ok(Observation::Sentinel(snap))
    }
}
