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
use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Starts every enabled collector at its full pace all the time; disabled ones announce themselves once.
pub fn spawn_all(config: &Config, clock: Clock, tx: UnboundedSender<Event>) -> Vec<JoinHandle<()>> {
    spawn_all_paced(config, clock, tx, Urgency::none())
}

/// Starts every enabled collector; a polled one slows to its steady pace while `urgency` (the
/// console's view of which sources alarm) leaves it out for `STEADY_AFTER`.
pub fn spawn_all_paced(config: &Config, clock: Clock, tx: UnboundedSender<Event>, urgency: Urgency) -> Vec<JoinHandle<()>> {
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
        let pacer = Pacer { source, timing, urgency: urgency.clone() };
        let task = match source {
            SourceId::Pods => {
                let pace = kube::Pace { refresh: timing.refresh, timeout: t };
                tokio::spawn(kube::run(config.kube.clone(), pace, clock, tx))
            }
            SourceId::Replication => tokio::spawn(poll(pacer, clock, tx, postgres::Collector::new(&config.postgres, t))),
            SourceId::Sentinel => tokio::spawn(poll(pacer, clock, tx, sentinel::Collector::new(&config.sentinel_settings(), t))),
            SourceId::Queues => {
                tokio::spawn(poll(pacer, clock, tx, queues::Collector::new(&config.queues, &config.sentinel_settings(), t)))
            }
            SourceId::Backups => tokio::spawn(poll(pacer, clock, tx, backups::Collector::new(config, t))),
            SourceId::Alerts => tokio::spawn(poll(pacer, clock, tx, alerts::Collector::new(config, t))),
        };
        tasks.push(task);
    }
    tasks
}

/// A polled source: one observation per call, or an error for people.
pub trait Collect: Send {
    fn collect(&mut self) -> impl Future<Output = Result<Observation, BackendError>> + Send;
}

/// Which sources alarm, fail, go stale or have a runbook running, as the console judges them
/// (`Console::publish_urgency`); collectors read it to choose their pace.
#[derive(Debug, Clone)]
pub struct Urgency(Option<watch::Receiver<BTreeSet<SourceId>>>);

impl Urgency {
    /// Nobody judges: every collector keeps its full pace (tests, one-shot reads).
    pub fn none() -> Self {
        Urgency(None)
    }

    /// The sender the console publishes to, and the receiver collectors get.
    pub fn channel() -> (watch::Sender<BTreeSet<SourceId>>, Urgency) {
        let (tx, rx) = watch::channel(BTreeSet::new());
        (tx, Urgency(Some(rx)))
    }

    /// Unjudged sources are urgent: without a console's view, full pace is the safe one.
    fn is(&self, source: SourceId) -> bool {
        self.0.as_ref().is_none_or(|rx| rx.borrow().contains(&source))
    }

    /// Returns once `source` becomes urgent (never, without a console).
    async fn until(&mut self, source: SourceId) {
        let Some(rx) = self.0.as_mut() else { return std::future::pending().await };
        loop {
            if rx.changed().await.is_err() {
                return std::future::pending().await;
            }
            if rx.borrow_and_update().contains(&source) {
                return;
            }
        }
    }
}

/// How long a polled source must stay calm before it slows to its steady pace.
pub const STEADY_AFTER: Duration = Duration::from_secs(30);

/// A polled source's pace: its refresh while it alarms or a runbook runs (and for `STEADY_AFTER`
/// after), `Timing::steady` once calm.
pub struct Pacer {
    pub source: SourceId,
    pub timing: Timing,
    pub urgency: Urgency,
}

/// The one retry/timeout/backoff loop all polled collectors share. After each answer it tells
/// the Model its pace (`Event::Paced`) when that changed, so freshness is judged by the interval
/// the source is really read at.
pub async fn poll<C: Collect>(mut pacer: Pacer, clock: Clock, tx: UnboundedSender<Event>, mut collector: C) {
    let (source, timing) = (pacer.source, pacer.timing);
    let mut backoff = Backoff::new(timing.refresh);
    let mut pace = timing.refresh;
    let mut calm_since = Instant::now();
    loop {
        let began = Instant::now();
        let result = tokio::time::timeout(timing.timeout, collector.collect()).await;
        let (event, ok) = match result {
            Ok(Ok(observation)) => {
                backoff.reset();
                (Event::Observed { at: clock.now(), observation }, true)
            }
            Ok(Err(error)) => {
                backoff.fail();
                (failed(source, &clock, &error.to_string()), false)
            }
            Err(_) => {
                backoff.fail();
                let text = format!("no answer within {}s (timeout_secs in sitrep.toml)", timing.timeout.as_secs());
                (failed(source, &clock, &text), false)
            }
        };
        if tx.send(event).is_err() {
            return; // the console is gone
        }
        if !ok || pacer.urgency.is(source) {
            calm_since = Instant::now();
        }
        let want = if calm_since.elapsed() >= STEADY_AFTER { timing.steady } else { timing.refresh };
        if want != pace {
            pace = want;
            tracing::debug!(source = source.name(), every_secs = pace.as_secs(), "pace");
            if tx.send(Event::Paced { source, every_secs: pace.as_secs() }).is_err() {
                return;
            }
        }
        let delay = if ok { pace } else { backoff.delay() };
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            // Alarming while asleep at the steady pace: read again one refresh after the last read.
            _ = pacer.urgency.until(source), if delay > timing.refresh => {
                tokio::time::sleep_until(began + timing.refresh).await;
                calm_since = Instant::now();
            }
        }
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

    struct Counting(std::sync::Arc<std::sync::atomic::AtomicU32>);

    impl Collect for Counting {
        async fn collect(&mut self) -> Result<Observation, BackendError> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(Observation::Queues(crate::model::QueuesSnapshot::default()))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_calm_source_slows_to_its_steady_pace_and_reads_again_at_once_when_it_alarms() {
        let reads = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let (urgent, urgency) = Urgency::channel();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let timing = Timing { refresh: Duration::from_secs(2), timeout: Duration::from_secs(1), steady: Duration::from_secs(6) };
        let pacer = Pacer { source: SourceId::Queues, timing, urgency };
        let task = tokio::spawn(poll(pacer, Clock::Real, tx, Counting(reads.clone())));
        let count = || reads.load(std::sync::atomic::Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(31)).await;
        let calm = count();
        assert_eq!(calm, 16, "every 2 s for the first 30 s");
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(count() - calm, 10, "then every 6 s");
        let mut paced = Vec::new();
        while let Ok(e) = rx.try_recv() {
            if let Event::Paced { every_secs, .. } = e {
                paced.push(every_secs);
            }
        }
        assert_eq!(paced, vec![6], "the Model is told the slower pace once");
        let before = count();
        urgent.send_replace([SourceId::Queues].into_iter().collect());
        tokio::time::sleep(Duration::from_millis(2100)).await;
        assert!(count() > before, "an alarm wakes the collector within one refresh");
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert!(count() - before >= 5, "and it keeps the full pace while alarming");
        let back: Vec<u64> = std::iter::from_fn(|| rx.try_recv().ok())
            .filter_map(|e| if let Event::Paced { every_secs, .. } = e { Some(every_secs) } else { None })
            .collect();
        assert_eq!(back, vec![2]);
        task.abort();
    }
}
