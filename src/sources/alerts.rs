//! Alerts collector: the alerts of every configured Alertmanager, merged (the reading itself is
//! `backends::alertmanager`), and the `[[checks]]` health checks (`backends::checks`), at once.
//! An Alertmanager that does not answer is a row; all of them, a failure, unless there are
//! checks: their results are news of their own, and the dead Alertmanagers stay rows.

use super::Collect;
use crate::backends::BackendError;
use crate::backends::alertmanager::AlertReader;
use crate::backends::checks::CheckRunner;
use crate::config::Config;
use crate::model::{AlertsSnapshot, Observation};
use std::time::Duration;

pub struct Collector {
    reader: AlertReader,
    checks: CheckRunner,
}

impl Collector {
    pub fn new(config: &Config, timeout: Duration) -> Self {
        Collector { reader: AlertReader::new(&config.alerts.alertmanager, timeout), checks: CheckRunner::new(&config.checks, timeout) }
    }

    /// One reading of both (triage takes one too).
    pub async fn read(&self) -> Result<AlertsSnapshot, BackendError> {
        if self.checks.is_empty() {
            return self.reader.read().await;
        }
        let (mut snap, checks) = futures::future::join(self.reader.answers(), self.checks.run()).await;
        snap.checks = checks;
        Ok(snap)
    }
}

impl Collect for Collector {
    async fn collect(&mut self) -> Result<Observation, BackendError> {
        self.read().await.map(Observation::Alerts)
    }
}
