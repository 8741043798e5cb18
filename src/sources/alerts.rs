//! Alerts collector: the alerts of every configured Alertmanager, merged (the reading itself is
//! `backends::alertmanager`). An Alertmanager that does not answer is a row; all of them, a failure.

use super::Collect;
use crate::backends::BackendError;
use crate::backends::alertmanager::AlertReader;
use crate::config::AlertsSource;
use crate::model::Observation;
use std::time::Duration;

pub struct Collector {
    reader: AlertReader,
}

impl Collector {
    pub fn new(alerts: &AlertsSource, timeout: Duration) -> Self {
        Collector { reader: AlertReader::new(&alerts.alertmanager, timeout) }
    }
}

impl Collect for Collector {
    async fn collect(&mut self) -> Result<Observation, BackendError> {
        self.reader.read().await.map(Observation::Alerts)
    }
}
