//! Collectors: one task per source, each with its own timeout and backoff, sending Events.
//! They never touch UI state; a dead or slow backend only ever shows up as `SourceFailed`.

pub mod backups;
pub mod kube;
pub mod postgres;
pub mod queues;
pub mod sentinel;

use crate::clock::Clock;
use crate::config::Config;
use crate::model::{Event, Observation, SourceId};
use crate::sanitize::{redact_secrets, sanitize_bounded};
use std::future::Future;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

/// Starts every enabled collector; disabled ones announce themselves once.
pub fn spawn_all(config: &Config, clock: Clock, tx: UnboundedSender<Event>) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    let enabled = [
        (SourceId::Pods, config.kube.enabled),
        (SourceId::Replication, config.postgres.enabled && (!config.postgres.members.is_empty() || !config.postgres.patroni.is_empty())),
        (SourceId::Sentinel, config.sentinel.enabled && !config.sentinel.addrs.is_empty()),
        (
            SourceId::Queues,
            config.queues.enabled
                && !config.queues.names.is_empty()
                && (!config.queues.url.is_empty() || !config.sentinel.addrs.is_empty()),
        ),
        (SourceId::Backups, config.s3.enabled && !config.s3.bucket.is_empty()),
    ];
    for (source, on) in enabled {
        if !on {
            let _ = tx.send(Event::SourceDisabled { source });
            continue;
        }
        let tx = tx.clone();
        let clock = clock.clone();
        let config = config.clone();
        tasks.push(tokio::spawn(async move {
            match source {
                SourceId::Pods => kube::run(config, clock, tx).await,
                SourceId::Replication => poll(source, &config, clock, tx, postgres::Collector::new(&config)).await,
                SourceId::Sentinel => poll(source, &config, clock, tx, sentinel::Collector::new(&config)).await,
                SourceId::Queues => poll(source, &config, clock, tx, queues::Collector::new(&config)).await,
                SourceId::Backups => poll(source, &config, clock, tx, backups::Collector::new(&config)).await,
            }
        }));
    }
    tasks
}

/// A polled source: one observation per call, or an error text for people.
pub trait Collect: Send {
    fn collect(&mut self) -> impl Future<Output = Result<Observation, String>> + Send;
}

/// The one retry/timeout/backoff loop all polled collectors share.
pub async fn poll<C: Collect>(source: SourceId, config: &Config, clock: Clock, tx: UnboundedSender<Event>, mut collector: C) {
    let refresh = Duration::from_secs(config.general.refresh_secs.max(1));
    let timeout = Duration::from_secs(config.general.timeout_secs.max(1));
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
                failed(source, &clock, &error)
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

/// Outside text, sanitized and redacted, bounded to one screen line.
pub fn clean(text: &str) -> String {
    sanitize_bounded(&redact_secrets(text), 240)
}

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
