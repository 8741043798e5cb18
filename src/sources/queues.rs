//! Queue collector: Celery queue depths (LLEN of each kombu list) and kombu's unacked count,
//! on a plain Redis URL or on whichever master the Sentinels report right now.

use super::{Collect, clean};
use crate::backends::BackendError;
use crate::backends::redis::{self as backend, SentinelSettings};
use crate::config::QueueSource;
use crate::model::{Observation, QueueRow, QueuesSnapshot};
use crate::sanitize::redact_secrets;
use std::time::Duration;

pub struct Collector {
    url: String,
    sentinels: SentinelSettings,
    names: Vec<String>,
    timeout: Duration,
    con: Option<(Server, redis::aio::MultiplexedConnection)>,
}

/// Where the queues live: a configured URL, or a master ("host:port") a Sentinel named.
#[derive(Debug, Clone, PartialEq)]
enum Server {
    Url(String),
    Master(String),
}

impl Server {
    /// How the server is shown: without scheme and without any password.
    fn shown(&self) -> String {
        match self {
            Server::Url(u) => redact_secrets(u.trim_start_matches("redis://")),
            Server::Master(addr) => addr.clone(),
        }
    }
}

impl Collector {
    pub fn new(queues: &QueueSource, sentinels: &SentinelSettings, timeout: Duration) -> Self {
        Collector { url: queues.url.clone(), sentinels: sentinels.clone(), names: queues.names.clone(), timeout, con: None }
    }

    /// The settings the Sentinels are asked with (and the master they name is reached with).
    pub fn sentinel_settings(&self) -> &SentinelSettings {
        &self.sentinels
    }

    /// Where the queues live now: the configured URL, or the master the Sentinels name. When no
    /// Sentinel answers, the last known master is kept: a Sentinel outage is the Sentinel pane's
    /// finding, and the queues are still readable.
    async fn server(&self) -> Result<Server, BackendError> {
        if !self.url.is_empty() {
            return Ok(Server::Url(self.url.clone()));
        }
        let per = self.timeout / 2;
        let s = &self.sentinels;
        let answers = futures::future::join_all(s.addrs.iter().map(|addr| async move {
            let mut con = s.connect(addr, per).await?;
            match backend::master_addr(&mut con, addr, &s.master, per).await? {
                Some(master) => Ok(master),
                None => {
                    Err(BackendError::Server { target: format!("Sentinel {addr}"), server: format!("knows no master named {}", s.master) })
                }
            }
        }))
        .await;
        let mut reasons = Vec::new();
        for answer in answers {
            match answer {
                Ok(master) => return Ok(Server::Master(master)),
                Err(e) => reasons.push(e.to_string()),
            }
        }
        if reasons.is_empty() {
            reasons.push("no Sentinel configured".into());
        }
        match &self.con {
            Some((known, _)) => Ok(known.clone()),
            None => Err(BackendError::NoneAnswered {
                what: "cannot find the queue server".into(),
                reasons,
                fix: "set [queues] url or fix [sentinel]".into(),
            }),
        }
    }

    async fn connect(&self, server: &Server) -> Result<redis::aio::MultiplexedConnection, BackendError> {
        let per = self.timeout / 2;
        match server {
            Server::Url(url) => backend::connect(backend::url_info(url)?, &server.shown(), per).await,
            // The master a Sentinel names is reached with the Sentinel password, as the effects do.
            Server::Master(addr) => self.sentinels.connect(addr, per).await,
        }
    }
}

impl Collect for Collector {
    async fn collect(&mut self) -> Result<Observation, BackendError> {
        let server = self.server().await?;
        if self.con.as_ref().is_none_or(|(s, _)| *s != server) {
            let con = self.connect(&server).await?;
            self.con = Some((server.clone(), con));
        }
        let Some((_, con)) = self.con.as_mut() else { return Err(BackendError::unexpected(server.shown(), "not connected")) };
        let (counts, unacked) = match backend::queue_depths(con, &server.shown(), &self.names).await {
            Ok(c) => c,
            Err(e) => {
                self.con = None;
                return Err(e);
            }
        };
        Ok(Observation::Queues(QueuesSnapshot {
            server: clean(&server.shown()),
            queues: self.names.iter().zip(counts).map(|(n, depth)| QueueRow { name: clean(n), depth }).collect(),
            unacked,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Env, Overrides, resolve};

    fn collector_for(file_text: &str, env: &Env) -> Option<Collector> {
        let dir = tempfile::tempdir().ok()?;
        let file = dir.path().join("sitrep.toml");
        std::fs::write(&file, file_text).ok()?;
        let config = resolve(Some(&file), env, &Overrides::default()).ok()?;
        Some(Collector::new(&config.queues, &config.sentinel_settings(), Duration::from_secs(1)))
    }

    fn password_used(c: &Collector, addr: &str) -> Option<String> {
        c.sentinel_settings().connection_info(addr).ok()?.redis_settings().password().map(str::to_string)
    }

    #[test]
    fn the_sentinel_password_from_the_environment_reaches_the_queue_collectors_sentinel_connections() {
        let env = Env { sentinel_password: Some("from-env".into()), ..Env::default() };
        let c = collector_for("[sentinel]\naddrs = [\"10.0.0.7:26379\"]\n\n[queues]\nnames = [\"celery\"]\n", &env);
        let c = c.as_ref();
        assert_eq!(c.and_then(|c| password_used(c, "10.0.0.7:26379")).as_deref(), Some("from-env"));
        // The master a Sentinel names is reached with the same settings.
        assert_eq!(c.and_then(|c| password_used(c, "10.0.0.9:6379")).as_deref(), Some("from-env"));
    }

    #[test]
    fn a_password_in_the_file_wins_over_the_environment_and_none_means_none() {
        let env = Env { sentinel_password: Some("from-env".into()), ..Env::default() };
        let c = collector_for("[sentinel]\naddrs = [\"s:26379\"]\npassword = \"from-file\"\n", &env);
        assert_eq!(c.as_ref().and_then(|c| password_used(c, "s:26379")).as_deref(), Some("from-file"));
        let c = collector_for("[sentinel]\naddrs = [\"s:26379\"]\n", &Env::default());
        assert_eq!(c.as_ref().map(|c| password_used(c, "s:26379")), Some(None));
    }
}
