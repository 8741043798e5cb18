//! Queue collector: Celery queue depths (LLEN of each kombu list) and kombu's unacked count,
//! on a plain Redis URL or on whichever master the Sentinels report right now.

use super::{Collect, clean};
use crate::config::Config;
use crate::model::{Observation, QueueRow, QueuesSnapshot};
use std::time::Duration;

pub struct Collector {
    url: String,
    sentinels: Vec<String>,
    master: String,
    password: String,
    names: Vec<String>,
    timeout: Duration,
    con: Option<(String, redis::aio::MultiplexedConnection)>,
}

impl Collector {
    pub fn new(config: &Config) -> Self {
        Collector {
            url: config.queues.url.clone(),
            sentinels: config.sentinel.addrs.clone(),
            master: config.sentinel.master.clone(),
            password: config.sentinel.password.clone(),
            names: config.queues.names.clone(),
            timeout: Duration::from_secs(config.general.timeout_secs.max(1)),
            con: None,
        }
    }

    /// Where the queues live now: the configured URL, or the master the Sentinels name. When no
    /// Sentinel answers, the last known master is kept: a Sentinel outage is the Sentinel pane's
    /// finding, and the queues are still readable.
    async fn server(&self) -> Result<String, String> {
        if !self.url.is_empty() {
            return Ok(self.url.clone());
        }
        let per = self.timeout / 2;
        let (password, master) = (&self.password, &self.master);
        let answers = futures::future::join_all(self.sentinels.iter().map(|addr| async move {
            let mut con = super::sentinel::connect(addr, password, per).await?;
            let reply: Result<Option<(String, String)>, redis::RedisError> =
                tokio::time::timeout(per, redis::cmd("SENTINEL").arg("get-master-addr-by-name").arg(master).query_async(&mut con))
                    .await
                    .map_err(|_| format!("Sentinel {addr}: no answer"))?;
            match reply {
                Ok(Some((h, p))) => Ok::<String, String>(format!("redis://{h}:{p}")),
                Ok(None) => Err(format!("Sentinel {addr} knows no master named {master}")),
                Err(e) => Err(format!("Sentinel {addr}: {e}")),
            }
        }))
        .await;
        let mut last = String::from("no Sentinel configured");
        for answer in answers {
            match answer {
                Ok(server) => return Ok(server),
                Err(e) => last = e,
            }
        }
        match &self.con {
            Some((known, _)) => Ok(known.clone()),
            None => Err(format!("cannot find the queue server: {last}; set [queues] url or fix [sentinel]")),
        }
    }
}

impl Collect for Collector {
    async fn collect(&mut self) -> Result<Observation, String> {
        let server = self.server().await?;
        if self.con.as_ref().is_none_or(|(s, _)| *s != server) {
            let client = redis::Client::open(server.as_str()).map_err(|e| format!("bad queue URL: {e}"))?;
            let con = tokio::time::timeout(self.timeout / 2, client.get_multiplexed_async_connection())
                .await
                .map_err(|_| format!("cannot reach {}: timeout", crate::sanitize::redact_secrets(&server)))?
                .map_err(|e| format!("cannot reach {}: {e}", crate::sanitize::redact_secrets(&server)))?;
            self.con = Some((server.clone(), con));
        }
        let Some((_, con)) = self.con.as_mut() else { return Err("not connected".into()) };
        let mut pipe = redis::pipe();
        for name in &self.names {
            pipe.cmd("LLEN").arg(name);
        }
        pipe.cmd("HLEN").arg("unacked");
        let mut counts: Vec<u64> = match pipe.query_async(con).await {
            Ok(c) => c,
            Err(e) => {
                self.con = None;
                return Err(format!("reading queue lengths: {e}"));
            }
        };
        let unacked = counts.pop();
        Ok(Observation::Queues(QueuesSnapshot {
            server: clean(&crate::sanitize::redact_secrets(server.trim_start_matches("redis://"))),
            queues: self.names.iter().zip(counts).map(|(n, depth)| QueueRow { name: clean(n), depth }).collect(),
            unacked,
        }))
    }
}
