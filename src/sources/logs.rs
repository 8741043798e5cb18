//! The logs view's collector: one pod container's log, read while the view is open (the last
//! lines, then followed), reconnecting with backoff; every line reaches the Model as `Event::Logs`.

use crate::backends::kube::{self as backend, LogRead};
use crate::clock::Clock;
use crate::config::KubeSource;
use crate::model::{Event, LogLine, LogTarget, LogsEvent};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

/// Lines read when the view opens (`kubectl logs --tail=500`).
pub const FIRST_LINES: i64 = 500;
/// Lines are sent at most this often, so a spewing pod costs one redraw per batch, not per line.
const BATCH_EVERY: Duration = Duration::from_millis(50);
/// …or when this many are waiting.
const BATCH_MOST: usize = 2000;
/// The first wait before reconnecting; it doubles on each failure up to 8 times.
const RETRY_FIRST: Duration = Duration::from_secs(1);

/// A log being followed; dropping it stops the stream.
pub struct LogFollow {
    task: JoinHandle<()>,
}

impl Drop for LogFollow {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts following `target`'s log with the pods source's kubeconfig and context.
pub fn start(config: KubeSource, timeout: Duration, target: LogTarget, clock: Clock, tx: UnboundedSender<Event>) -> LogFollow {
    LogFollow { task: tokio::spawn(run(config, timeout, target, clock, tx)) }
}

/// How one connection ended.
enum End {
    /// The console is gone.
    Gone,
    /// The server ended the log: the container exited (or a previous run was read to its end).
    Ended,
    Failed(String),
}

async fn run(config: KubeSource, timeout: Duration, target: LogTarget, clock: Clock, tx: UnboundedSender<Event>) {
    let mut backoff = super::Backoff::new(RETRY_FIRST);
    // The newest line's time: a reconnect asks from there and skips what it already has.
    let mut newest: Option<DateTime<Utc>> = None;
    // Kept across reconnects (a crash loop ends the stream every run; an exec plugin need not run
    // each time); made again after a failure.
    let mut client: Option<kube::Client> = None;
    loop {
        let end = follow_once(&config, timeout, &target, &mut client, &mut newest, &clock, &tx).await;
        if matches!(end, End::Failed(_)) {
            client = None;
        }
        let at = clock.now();
        let event = match end {
            End::Gone => return,
            // A previous run does not change: read once, complete.
            End::Ended if target.previous => {
                let reason = "the previous run's log, read to its end".to_string();
                let _ = tx.send(Event::Logs(LogsEvent::Ended { at, target, reason, retry_secs: None }));
                return;
            }
            End::Ended => {
                backoff.reset();
                let reason = "the container exited (or the server closed the stream)".to_string();
                LogsEvent::Ended { at, target: target.clone(), reason, retry_secs: Some(backoff.delay().as_secs()) }
            }
            End::Failed(error) => {
                backoff.fail();
                LogsEvent::Failed { at, target: target.clone(), error, retry_secs: backoff.delay().as_secs() }
            }
        };
        if tx.send(Event::Logs(event)).is_err() {
            return;
        }
        tokio::time::sleep(backoff.delay()).await;
    }
}

/// One connection: the log from where it left off, followed until it ends or fails.
async fn follow_once(
    config: &KubeSource,
    timeout: Duration,
    target: &LogTarget,
    client: &mut Option<kube::Client>,
    newest: &mut Option<DateTime<Utc>>,
    clock: &Clock,
    tx: &UnboundedSender<Event>,
) -> End {
    let client = match client {
        Some(client) => client.clone(),
        None => match backend::client(&config.kubeconfig, &config.context, timeout).await {
            Ok(made) => client.insert(made).clone(),
            Err(e) => return End::Failed(crate::sanitize::clean(&e.to_string())),
        },
    };
    let read = match *newest {
        // A second more than the gap, then the lines already shown are skipped by their time.
        Some(at) => LogRead { follow: !target.previous, tail: None, since_secs: Some((clock.now() - at).num_seconds().max(0) + 1) },
        None => LogRead { follow: !target.previous, tail: Some(FIRST_LINES), since_secs: None },
    };
    let opened = tokio::time::timeout(timeout, backend::log_lines(&client, target, read)).await;
    let lines = match opened {
        Ok(Ok(lines)) => lines,
        Ok(Err(e)) => return End::Failed(crate::sanitize::clean(&e.to_string())),
        Err(_) => return End::Failed(format!("the API server did not answer within {}s", timeout.as_secs())),
    };
    if tx.send(Event::Logs(LogsEvent::Connected { at: clock.now(), target: target.clone() })).is_err() {
        return End::Gone;
    }
    let mut lines = std::pin::pin!(lines);
    let mut batch: Vec<LogLine> = Vec::new();
    let mut flush = tokio::time::interval(BATCH_EVERY);
    let send = |batch: &mut Vec<LogLine>| {
        batch.is_empty() || tx.send(Event::Logs(LogsEvent::Lines { target: target.clone(), lines: std::mem::take(batch) })).is_ok()
    };
    loop {
        tokio::select! {
            line = lines.next() => match line {
                Some(Ok(line)) => {
                    // Already shown before a reconnect (same or older time).
                    if newest.is_some_and(|n| line.at.is_some_and(|at| at <= n)) {
                        continue;
                    }
                    if line.at.is_some() {
                        *newest = line.at;
                    }
                    batch.push(line);
                    if batch.len() >= BATCH_MOST && !send(&mut batch) {
                        return End::Gone;
                    }
                }
                Some(Err(e)) => return if send(&mut batch) { End::Failed(crate::sanitize::clean(&e.to_string())) } else { End::Gone },
                None => return if send(&mut batch) { End::Ended } else { End::Gone },
            },
            _ = flush.tick() => if !send(&mut batch) { return End::Gone },
        }
    }
}
