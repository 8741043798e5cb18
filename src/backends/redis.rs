//! Redis and Sentinel: connection settings (with the Sentinel password), connecting with a
//! deadline, the master lookup, and the mapping of SENTINEL/INFO replies onto the model's rows.

use super::{BackendError, within};
use crate::model::{MasterRow, ReplicaRow};
use crate::sanitize::{clean, redact_secrets};
use redis::IntoConnectionInfo;
use redis::aio::MultiplexedConnection;
use std::collections::HashMap;
use std::time::Duration;

/// Where the Sentinels are and how to log in to them and to the servers they name: the one
/// place the password lives after the config is resolved (file, else SITREP_SENTINEL_PASSWORD).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SentinelSettings {
    pub addrs: Vec<String>,
    pub master: String,
    pub password: String,
}

impl SentinelSettings {
    /// The connection settings for `addr` (a Sentinel, or the master one of them names).
    pub fn connection_info(&self, addr: &str) -> Result<redis::ConnectionInfo, BackendError> {
        connection_info(addr, &self.password)
    }

    /// Connects to `addr` with this password and a deadline.
    pub async fn connect(&self, addr: &str, timeout: Duration) -> Result<MultiplexedConnection, BackendError> {
        connect(self.connection_info(addr)?, addr, timeout).await
    }
}

/// Settings for `host:port` with an optional password (set apart from the URL, so any character
/// in the password is fine).
pub fn connection_info(addr: &str, password: &str) -> Result<redis::ConnectionInfo, BackendError> {
    let info = format!("redis://{addr}").into_connection_info().map_err(|e| BackendError::BadSetting {
        input: format!("address `{}`", clean(addr)),
        detail: server_words(&e),
        fix: "write it as host:port, e.g. \"10.0.0.7:26379\"".into(),
    })?;
    if password.is_empty() {
        return Ok(info);
    }
    let redis = info.redis_settings().clone().set_password(password);
    Ok(info.set_redis_settings(redis))
}

/// Parses a redis:// URL (the queue server's), naming it without its password when it is bad.
pub fn url_info(url: &str) -> Result<redis::ConnectionInfo, BackendError> {
    url.into_connection_info().map_err(|e| BackendError::BadSetting {
        input: format!("queue URL `{}`", redact_secrets(url)),
        detail: server_words(&e),
        fix: "write it as redis://host:6379/0, or \"\" to follow the Sentinel master".into(),
    })
}

/// Opens a connection with a deadline; `name` is how errors name the server (never a password).
pub async fn connect(info: redis::ConnectionInfo, name: &str, timeout: Duration) -> Result<MultiplexedConnection, BackendError> {
    let client = redis::Client::open(info).map_err(|e| BackendError::BadSetting {
        input: clean(name),
        detail: server_words(&e),
        fix: "check the address and password in sitrep.toml".into(),
    })?;
    within(name, timeout, async {
        client
            .get_multiplexed_async_connection()
            .await
            .map_err(|e| BackendError::Unreachable { target: clean(name), detail: server_words(&e) })
    })
    .await
}

/// The server's own words: its error code and message (e.g. `NOGOODSLAVE No suitable replica`),
/// else the client library's description.
pub fn server_words(e: &redis::RedisError) -> String {
    let text = match (e.code(), e.detail()) {
        (Some(code), Some(detail)) => format!("{code} {detail}"),
        (Some(code), None) => code.to_string(),
        _ => e.to_string(),
    };
    redact_secrets(&text)
}

/// A command `what` on `target` that failed.
pub fn command_error(target: &str, what: &str, e: &redis::RedisError) -> BackendError {
    if e.code().is_some() {
        BackendError::Server { target: clean(target), server: format!("{what}: {}", server_words(e)) }
    } else {
        BackendError::Unreachable { target: clean(target), detail: format!("{what}: {}", server_words(e)) }
    }
}

/// Runs `cmd` on `con` with a deadline.
pub async fn query<T: redis::FromRedisValue>(
    con: &mut MultiplexedConnection,
    cmd: &redis::Cmd,
    target: &str,
    what: &str,
    timeout: Duration,
) -> Result<T, BackendError> {
    within(target, timeout, async { cmd.query_async(con).await.map_err(|e| command_error(target, what, &e)) }).await
}

/// `SENTINEL get-master-addr-by-name`: the master's "host:port", or None if the Sentinel knows none.
pub async fn master_addr(
    con: &mut MultiplexedConnection,
    sentinel: &str,
    master: &str,
    timeout: Duration,
) -> Result<Option<String>, BackendError> {
    let reply: Option<(String, String)> = query(
        con,
        redis::cmd("SENTINEL").arg("get-master-addr-by-name").arg(master),
        sentinel,
        "SENTINEL get-master-addr-by-name",
        timeout,
    )
    .await?;
    Ok(reply.map(|(h, p)| format!("{h}:{p}")))
}

/// Turns a flat RESP2 [k, v, k, v, ...] answer into a map.
pub fn pairs(flat: Vec<String>) -> HashMap<String, String> {
    flat.chunks(2).filter(|c| c.len() == 2).map(|c| (c[0].clone(), c[1].clone())).collect()
}

/// `SENTINEL master NAME` as the model's row.
pub fn master_row(m: &HashMap<String, String>) -> MasterRow {
    let get = |k: &str| m.get(k).cloned().unwrap_or_default();
    MasterRow {
        addr: clean(&format!("{}:{}", get("ip"), get("port"))),
        flags: clean(&get("flags")),
        quorum: get("quorum").parse().unwrap_or(0),
        other_sentinels: get("num-other-sentinels").parse().unwrap_or(0),
        num_replicas: get("num-slaves").parse().unwrap_or(0),
    }
}

/// One entry of `SENTINEL replicas NAME` as the model's row; its lag from the master's INFO.
pub fn replica_row(r: &HashMap<String, String>, offsets: Option<&Offsets>) -> ReplicaRow {
    let get = |k: &str| r.get(k).cloned().unwrap_or_default();
    let addr = format!("{}:{}", get("ip"), get("port"));
    // A replica the master does not list is not replicating: no lag figure, rather than a stale one.
    let acked = offsets.and_then(|o| o.replicas.get(&addr).copied());
    ReplicaRow {
        addr: clean(&addr),
        flags: clean(&get("flags")),
        link_status: clean(&get("master-link-status")),
        offset: acked.unwrap_or_else(|| get("slave-repl-offset").parse().unwrap_or(0)),
        lag_bytes: acked.zip(offsets).map(|(a, o)| (o.master - a).max(0)),
    }
}

/// The master's replication offset and each replica's acknowledged offset, by "ip:port".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Offsets {
    pub master: i64,
    pub replicas: HashMap<String, i64>,
}

/// Parses `master_repl_offset:N` and `slaveK:ip=..,port=..,state=..,offset=..,lag=..` lines.
pub fn parse_offsets(info: &str) -> Offsets {
    let mut out = Offsets::default();
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

/// LLEN of each queue and HLEN of kombu's `unacked` hash, in one round trip.
pub async fn queue_depths(
    con: &mut MultiplexedConnection,
    server: &str,
    names: &[String],
) -> Result<(Vec<u64>, Option<u64>), BackendError> {
    let mut pipe = redis::pipe();
    for name in names {
        pipe.cmd("LLEN").arg(name);
    }
    pipe.cmd("HLEN").arg("unacked");
    let mut counts: Vec<u64> = pipe.query_async(con).await.map_err(|e| command_error(server, "reading queue lengths", &e))?;
    let unacked = counts.pop();
    Ok((counts, unacked))
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

    #[test]
    fn the_password_is_set_apart_from_the_address_whatever_it_holds() {
        let s = SentinelSettings { addrs: vec![], master: "m".into(), password: "p@ss:w/rd".into() };
        let info = s.connection_info("10.0.0.7:26379").ok();
        assert_eq!(info.as_ref().and_then(|i| i.redis_settings().password().map(str::to_string)).as_deref(), Some("p@ss:w/rd"));
        assert_eq!(info.map(|i| i.addr().to_string()).as_deref(), Some("10.0.0.7:26379"));
    }
}
