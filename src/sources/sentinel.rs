//! Sentinel collector: asks every configured Sentinel who the master is, then one of them for
//! the master's flags/quorum and its replicas; replica lag is read from the master's INFO.

use super::{Collect, clean};
use crate::config::Config;
use crate::model::{MasterRow, Observation, ReplicaRow, SentinelRow, SentinelSnapshot};
use std::collections::HashMap;
use std::time::Duration;

pub struct Collector {
    addrs: Vec<String>,
    master: String,
    password: String,
    timeout: Duration,
}

impl Collector {
    pub fn new(config: &Config) -> Self {
        let password = if config.sentinel.password.is_empty() {
            std::env::var("SITREP_SENTINEL_PASSWORD").unwrap_or_default()
        } else {
            config.sentinel.password.clone()
        };
        Collector {
            addrs: config.sentinel.addrs.clone(),
            master: config.sentinel.master.clone(),
            password,
            timeout: Duration::from_secs(config.general.timeout_secs.max(1)),
        }
    }
}

/// Opens a connection to `addr` with a deadline; the error names the address and the fix.
pub async fn connect(addr: &str, password: &str, timeout: Duration) -> Result<redis::aio::MultiplexedConnection, String> {
    let url = if password.is_empty() { format!("redis://{addr}") } else { format!("redis://:{password}@{addr}") };
    let client = redis::Client::open(url).map_err(|e| format!("bad address {addr}: {e}"))?;
    match tokio::time::timeout(timeout, client.get_multiplexed_async_connection()).await {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(e)) => Err(format!("cannot reach {addr}: {e}")),
        Err(_) => Err(format!("cannot reach {addr}: no answer within {}s", timeout.as_secs())),
    }
}

/// Turns a flat RESP2 [k, v, k, v, ...] answer into a map.
pub fn pairs(flat: Vec<String>) -> HashMap<String, String> {
    flat.chunks(2).filter(|c| c.len() == 2).map(|c| (c[0].clone(), c[1].clone())).collect()
}

impl Collect for Collector {
    async fn collect(&mut self) -> Result<Observation, String> {
        let per = self.timeout / 2;
        let mut snap = SentinelSnapshot { master_name: clean(&self.master), ..SentinelSnapshot::default() };
        let mut answering = None;
        for addr in &self.addrs {
            let row = async {
                let mut con = connect(addr, &self.password, per).await?;
                let reply: Option<(String, String)> = tokio::time::timeout(
                    per,
                    redis::cmd("SENTINEL").arg("get-master-addr-by-name").arg(&self.master).query_async(&mut con),
                )
                .await
                .map_err(|_| format!("{addr} did not answer within {}s", per.as_secs_f32()))?
                .map_err(|e| format!("{addr}: {e}"))?;
                Ok::<_, String>((con, reply.map(|(h, p)| format!("{h}:{p}"))))
            }
            .await;
            match row {
                Ok((con, master_addr)) => {
                    snap.sentinels.push(SentinelRow { addr: clean(addr), master_addr: master_addr.as_deref().map(clean), error: None });
                    if answering.is_none() {
                        answering = Some(con);
                    }
                }
                Err(e) => snap.sentinels.push(SentinelRow { addr: clean(addr), master_addr: None, error: Some(clean(&e)) }),
            }
        }
        let Some(mut con) = answering else {
            return Err(format!("no Sentinel answers ({}); check [sentinel] addrs in sitrep.toml", self.addrs.join(", ")));
        };
        let master: Vec<String> = redis::cmd("SENTINEL")
            .arg("master")
            .arg(&self.master)
            .query_async(&mut con)
            .await
            .map_err(|e| format!("SENTINEL master {}: {e}; check [sentinel] master in sitrep.toml", self.master))?;
        let m = pairs(master);
        let get = |k: &str| m.get(k).cloned().unwrap_or_default();
        let master_row = MasterRow {
            addr: clean(&format!("{}:{}", get("ip"), get("port"))),
            flags: clean(&get("flags")),
            quorum: get("quorum").parse().unwrap_or(0),
            other_sentinels: get("num-other-sentinels").parse().unwrap_or(0),
            num_replicas: get("num-slaves").parse().unwrap_or(0),
        };
        let replicas: Vec<Vec<String>> =
            redis::cmd("SENTINEL").arg("replicas").arg(&self.master).query_async(&mut con).await.unwrap_or_default();
        let master_offset = master_offset(&master_row.addr, &self.password, per).await;
        snap.replicas = replicas
            .into_iter()
            .map(pairs)
            .map(|r| {
                let get = |k: &str| r.get(k).cloned().unwrap_or_default();
                let offset: i64 = get("slave-repl-offset").parse().unwrap_or(0);
                ReplicaRow {
                    addr: clean(&format!("{}:{}", get("ip"), get("port"))),
                    flags: clean(&get("flags")),
                    link_status: clean(&get("master-link-status")),
                    offset,
                    lag_bytes: master_offset.map(|m| m - offset),
                }
            })
            .collect();
        snap.master = Some(master_row);
        Ok(Observation::Sentinel(snap))
    }
}

async fn master_offset(addr: &str, password: &str, timeout: Duration) -> Option<i64> {
    let mut con = connect(addr, password, timeout).await.ok()?;
    let info: String = tokio::time::timeout(timeout, redis::cmd("INFO").arg("replication").query_async(&mut con)).await.ok()?.ok()?;
    info.lines().find_map(|l| l.strip_prefix("master_repl_offset:")).and_then(|v| v.trim().parse().ok())
}
