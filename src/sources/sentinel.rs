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
        // Every Sentinel is asked at once, each with its own deadline: one slow Sentinel is a finding, not a stall.
        let (password, master) = (&self.password, &self.master);
        let asks = futures::future::join_all(self.addrs.iter().map(|addr| async move {
            let row = async {
                let mut con = connect(addr, password, per).await?;
                let reply: Option<(String, String)> =
                    tokio::time::timeout(per, redis::cmd("SENTINEL").arg("get-master-addr-by-name").arg(master).query_async(&mut con))
                        .await
                        .map_err(|_| format!("{addr} did not answer within {}s", per.as_secs_f32()))?
                        .map_err(|e| format!("{addr}: {e}"))?;
                Ok::<_, String>((con, reply.map(|(h, p)| format!("{h}:{p}"))))
            }
            .await;
            (addr, row)
        }))
        .await;
        for (addr, row) in asks {
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
        // The master's INFO has its offset and each replica's acknowledged offset, read at one instant
        // (Sentinel's own copy of replica offsets is refreshed only every 10 s).
        let offsets = master_offsets(&master_row.addr, &self.password, per).await;
        snap.replicas = replicas
            .into_iter()
            .map(pairs)
            .map(|r| {
                let get = |k: &str| r.get(k).cloned().unwrap_or_default();
                let addr = format!("{}:{}", get("ip"), get("port"));
                // A replica the master does not list is not replicating: no lag figure, rather than a stale one.
                let acked = offsets.as_ref().and_then(|o| o.replicas.get(&addr).copied());
                ReplicaRow {
                    addr: clean(&addr),
                    flags: clean(&get("flags")),
                    link_status: clean(&get("master-link-status")),
                    offset: acked.unwrap_or_else(|| get("slave-repl-offset").parse().unwrap_or(0)),
                    lag_bytes: acked.zip(offsets.as_ref()).map(|(a, o)| (o.master - a).max(0)),
                }
            })
            .collect();
        snap.master = Some(master_row);
        Ok(Observation::Sentinel(snap))
    }
}

/// The master's replication offset and each replica's acknowledged offset, by "ip:port".
struct Offsets {
    master: i64,
    replicas: HashMap<String, i64>,
}

async fn master_offsets(addr: &str, password: &str, timeout: Duration) -> Option<Offsets> {
    let mut con = connect(addr, password, timeout).await.ok()?;
    let info: String = tokio::time::timeout(timeout, redis::cmd("INFO").arg("replication").query_async(&mut con)).await.ok()?.ok()?;
    Some(parse_offsets(&info))
}

/// Parses `master_repl_offset:N` and `slaveK:ip=..,port=..,state=..,offset=..,lag=..` lines.
fn parse_offsets(info: &str) -> Offsets {
    let mut out = Offsets { master: 0, replicas: HashMap::new() };
    for line in info.lines().map(str::trim) {
        if let Some(v) = line.strip_prefix("master_repl_offset:") {
            out.master = v.parse().unwrap_or(0);
        } else if line.starts_with("slave") && line.contains("ip=") {
            let fields: HashMap<&str, &str> =
                line.split_once(':').map_or("", |(_, f)| f).split(',').filter_map(|kv| kv.split_once('=')).collect();
            if let (Some(ip), Some(port), Some(off)) =
                (fields.get("ip"), fields.get("port"), fields.get("offset").and_then(|o| o.parse().ok()))
            {
                out.replicas.insert(format!("{ip}:{port}"), off);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replica_offsets_come_from_the_masters_info() {
        let info = "# Replication\r\nrole:master\r\nconnected_slaves:1\r\nslave0:ip=127.0.0.1,port=6381,state=online,offset=990,lag=0\r\nmaster_repl_offset:1000\r\n";
        let o = parse_offsets(info);
        assert_eq!(o.master, 1000);
        assert_eq!(o.replicas.get("127.0.0.1:6381"), Some(&990));
    }
}
