//! Collectors: one task per source, each with its own timeout and backoff, sending Events.
//! They never touch UI state; a dead or slow backend only ever shows up as `SourceFailed`.

pub mod alerts;
pub mod backups;
pub mod kube;
pub mod logs;
pub mod postgres;
pub mod queues;
pub mod sentinel;

use crate::backends::BackendError;
use crate::clock::Clock;
use crate::config::{Config, Timing};
use crate::model::{Event, Observation, SourceId};
use crate::sanitize::redact_secrets;
use std::future::Future;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

/// Starts every enabled collector; disabled ones announce themselves once.
pub fn spawn_all(config: &Config, clock: Clock, tx: UnboundedSender<Event>) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    for source in SourceId::ALL {
        let timing = config.timing_of(source);
        if !config.source_enabled(source) {
            let _ = tx.send(Event::SourceDisabled { source });
            continue;
        }
        let tx = tx.clone();
        let clock = clock.clone();
        let t = timing.timeout;
        let task = match source {
            SourceId::Pods => {
                let pace = kube::Pace { refresh: timing.refresh, timeout: t };
                tokio::spawn(kube::run(config.kube.clone(), pace, clock, tx))
            }
            SourceId::Replication => tokio::spawn(poll(source, timing, clock, tx, postgres::Collector::new(&config.postgres, t))),
            SourceId::Sentinel => tokio::spawn(poll(source, timing, clock, tx, sentinel::Collector::new(&config.sentinel_settings(), t))),
            SourceId::Queues => {
                tokio::spawn(poll(source, timing, clock, tx, queues::Collector::new(&config.queues, &config.sentinel_settings(), t)))
            }
            SourceId::Backups => tokio::spawn(poll(source, timing, clock, tx, backups::Collector::new(config.backups_source()))),
            SourceId::Alerts => tokio::spawn(poll(source, timing, clock, tx, alerts::Collector::new(&config.alerts, t))),
        };
        tasks.push(task);
    }
    tasks
}

/// A polled source: one observation per call, or an error for people.
pub trait Collect: Send {
    fn collect(&mut self) -> impl Future<Output = Result<Observation, BackendError>> + Send;
}

/// The one retry/timeout/backoff loop all polled collectors share.
pub async fn poll<C: Collect>(source: SourceId, timing: Timing, clock: Clock, tx: UnboundedSender<Event>, mut collector: C) {
    let (refresh, timeout) = (timing.refresh, timing.timeout);
    let mut backoff = Backoff::new(refresh);
    loop {
        let result = tokio::time::timeout(timeout, collector.collect()).await;
        let event = match result {
            Ok(Ok(observation)) => {
                backoff.reset();
                Event::Observed { at: clock.now(), observation }
            }
            Ok(Err(error)) => {
                backoff.fail();
                failed(source, &clock, &error.to_string())
            }
            Err(_) => {
                backoff.fail();
                failed(source, &clock, &format!("no answer within {}s (timeout_secs in sitrep.toml)", timeout.as_secs()))
            }
        };
        if tx.send(event).is_err() {
            return; // the console is gone
        }
        tokio::time::sleep(backoff.delay()).await;
    }
}

/// A failure event with its text made safe for the screen and free of secrets.
pub fn failed(source: SourceId, clock: &Clock, error: &str) -> Event {
    tracing::warn!(source = source.name(), error = %redact_secrets(error), "collector failed");
    Event::SourceFailed { at: clock.now(), source, error: clean(error) }
}

/// Outside text, sanitized and redacted, bounded to one screen line (kept here for its users).
pub use crate::sanitize::clean;

/// Exponential backoff from the refresh interval up to 8x it.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    failures: u32,
}

impl Backoff {
    pub fn new(base: Duration) -> Self {
        Backoff { base, failures: 0 }
    }
    pub fn fail(&mut self) {
        self.failures = (self.failures + 1).min(3);
    }
    pub fn reset(&mut self) {
        self.failures = 0;
    }
    pub fn delay(&self) -> Duration {
        self.base * 2u32.pow(self.failures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_eight_times_and_resets() {
        let mut b = Backoff::new(Duration::from_secs(2));
        assert_eq!(b.delay(), Duration::from_secs(2));
        for _ in 0..10 {
            b.fail();
        }
        assert_eq!(b.delay(), Duration::from_secs(16));
        b.reset();
        assert_eq!(b.delay(), Duration::from_secs(2));
    }

    #[test]
    fn failure_text_is_clean_and_secret_free() {
        let e = clean("cannot connect to postgres://app:hunter2@db/x\u{1b}[2J");
        assert_eq!(e, "cannot connect to postgres://app:***@db/x");
    }
}
