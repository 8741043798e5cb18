//! Redis and Sentinel: connection settings (with the Sentinel password), connecting with a
//! deadline, the master lookup, and the mapping of SENTINEL/INFO replies onto the model's rows.

use super::{BackendError, within};
use crate::model::{MasterRow, PriorityDepth, QueueRow, QueuesSnapshot, ReplicaRow, SentinelRow, SentinelSnapshot};
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

/// kombu's Redis transport keeps a queue with priorities in several lists: the queue's own key
/// for priority 0 and `queue + SEP + step` for each other step (`Channel._q_for_pri`).
pub const KOMBU_PRIORITY_SEP: &str = "\x06\x16";
/// kombu's default `priority_steps` (`PRIORITY_STEPS`): always shown, even when empty.
pub const KOMBU_PRIORITY_STEPS: [u8; 4] = [0, 3, 6, 9];
/// Every step a Celery priority can map to (0..=9): a `priority_steps = list(range(10))` setup
/// is read too, at the price of a few LLENs of absent keys.
const PRIORITIES_READ: std::ops::RangeInclusive<u8> = 0..=9;

/// The Redis key of `queue`'s list for priority step `priority`, as kombu names it.
pub fn kombu_key(queue: &str, priority: u8) -> String {
    if priority == 0 { queue.to_string() } else { format!("{queue}{KOMBU_PRIORITY_SEP}{priority}") }
}

/// How a kombu list is named to people: its queue and step (the separator is unprintable).
fn list_words(queue: &str, priority: u8) -> String {
    let queue = clean(queue);
    if priority == 0 { format!("`{queue}`") } else { format!("`{queue}` priority {priority} list") }
}

/// One queue's row from the LLEN answers of its priority lists (in PRIORITIES_READ order): the
/// sum, kombu's default steps plus any other step holding messages, or the first list's error.
fn queue_row(name: &str, answers: Vec<redis::RedisResult<u64>>) -> QueueRow {
    let mut row = QueueRow { name: clean(name), ..QueueRow::default() };
    for (priority, answer) in PRIORITIES_READ.zip(answers) {
        match answer {
            Ok(depth) => {
                row.depth += depth;
                if depth > 0 || KOMBU_PRIORITY_STEPS.contains(&priority) {
                    row.priorities.push(PriorityDepth { priority, depth });
                }
            }
            Err(e) if row.error.is_none() => {
                let what = if e.code() == Some("WRONGTYPE") { "is not a list" } else { "cannot be read" };
                // The server's words first: they survive a narrow column.
                row.error = Some(clean(&format!(
                    "{} ({} {what}; kombu keeps each queue as Redis lists: check what wrote it, TYPE shows its kind)",
                    server_words(&e),
                    list_words(name, priority),
                )));
            }
            Err(_) => {}
        }
    }
    if row.error.is_some() {
        row.depth = 0;
        row.priorities.clear();
    }
    row
}

/// Every queue's row (LLEN of each of its kombu priority lists) and HLEN of kombu's `unacked`
/// hash, in one round trip. A key of the wrong type is that queue's finding, not the reading's.
pub async fn queue_rows(
    con: &mut MultiplexedConnection,
    server: &str,
    names: &[String],
) -> Result<(Vec<QueueRow>, Option<u64>), BackendError> {
    let mut pipe = redis::pipe();
    pipe.ignore_errors();
    for name in names {
        for priority in PRIORITIES_READ {
            pipe.cmd("LLEN").arg(kombu_key(name, priority));
        }
    }
    pipe.cmd("HLEN").arg("unacked");
    let mut answers: Vec<redis::RedisResult<u64>> =
        pipe.query_async(con).await.map_err(|e| command_error(server, "reading queue lengths", &e))?;
    let unacked = answers.pop().and_then(Result::ok);
    let mut answers = answers.into_iter();
    let rows = names.iter().map(|name| queue_row(name, answers.by_ref().take(PRIORITIES_READ.count()).collect())).collect();
    Ok((rows, unacked))
}

/// Each queue's depth (summed over its priority lists) and the unacked count; a queue that
/// cannot be read fails the whole answer (for checks that need every queue readable).
pub async fn queue_depths(
    con: &mut MultiplexedConnection,
    server: &str,
    names: &[String],
) -> Result<(Vec<u64>, Option<u64>), BackendError> {
    let (rows, unacked) = queue_rows(con, server, names).await?;
    if let Some(error) = rows.iter().find_map(|r| r.error.clone()) {
        return Err(BackendError::Server { target: clean(server), server: error });
    }
    Ok((rows.iter().map(|r| r.depth).collect(), unacked))
}

/// One reading of the Sentinels: every one asked at once who the master is (each with its own
/// deadline: one slow Sentinel is a finding, not a stall), then one of them for the master's
/// flags/quorum and its replicas; replica lag comes from the master's INFO.
pub async fn sentinel_snapshot(s: &SentinelSettings, timeout: Duration) -> Result<SentinelSnapshot, BackendError> {
    let per = timeout / 2;
    let mut snap = SentinelSnapshot { master_name: clean(&s.master), ..SentinelSnapshot::default() };
    let mut answering = None;
    let asks = futures::future::join_all(s.addrs.iter().map(|addr| async move {
        let row = async {
            let mut con = s.connect(addr, per).await?;
            let master = master_addr(&mut con, addr, &s.master, per).await?;
            Ok::<_, BackendError>((con, master))
        }
        .await;
        (addr, row)
    }))
    .await;
    let mut reasons = Vec::new();
    for (addr, row) in asks {
        match row {
            Ok((con, master_addr)) => {
                snap.sentinels.push(SentinelRow { addr: clean(addr), master_addr: master_addr.as_deref().map(clean), error: None });
                if answering.is_none() {
                    answering = Some((addr, con));
                }
            }
            Err(e) => {
                reasons.push(e.to_string());
                snap.sentinels.push(SentinelRow { addr: clean(addr), master_addr: None, error: Some(clean(&e.to_string())) });
            }
        }
    }
    let Some((addr, mut con)) = answering else {
        return Err(BackendError::NoneAnswered {
            what: "no Sentinel answers".into(),
            reasons,
            fix: "check [sentinel] addrs in sitrep.toml".into(),
        });
    };
    let what = format!("SENTINEL master {}", s.master);
    let master: Vec<String> =
        query(&mut con, redis::cmd("SENTINEL").arg("master").arg(&s.master), addr, &what, per).await.map_err(|e| {
            BackendError::BadSetting {
                input: format!("[sentinel] master `{}`", clean(&s.master)),
                detail: e.to_string(),
                fix: "check [sentinel] master in sitrep.toml".into(),
            }
        })?;
    let master_row = master_row(&pairs(master));
    let replicas: Vec<Vec<String>> =
        query(&mut con, redis::cmd("SENTINEL").arg("replicas").arg(&s.master), addr, "SENTINEL replicas", per).await.unwrap_or_default();
    // The master's INFO has its offset and each replica's acknowledged offset, read at one instant
    // (Sentinel's own copy of replica offsets is refreshed only every 10 s).
    let offsets = master_offsets(s, &master_row.addr, per).await;
    snap.replicas = replicas.into_iter().map(pairs).map(|r| replica_row(&r, offsets.as_ref())).collect();
    snap.master = Some(master_row);
    Ok(snap)
}

async fn master_offsets(s: &SentinelSettings, addr: &str, timeout: Duration) -> Option<Offsets> {
    let info: String = within(addr, timeout, async {
        let mut con = s.connect(addr, timeout).await?;
        query(&mut con, redis::cmd("INFO").arg("replication"), addr, "INFO replication", timeout).await
    })
    .await
    .ok()?;
    Some(parse_offsets(&info))
}

/// Where the queues live: a configured URL, or a master ("host:port") a Sentinel named.
#[derive(Debug, Clone, PartialEq)]
enum QueueServer {
    Url(String),
    Master(String),
}

impl QueueServer {
    /// How the server is shown: without scheme and without any password.
    fn shown(&self) -> String {
        match self {
            QueueServer::Url(u) => redact_secrets(u.trim_start_matches("redis://")),
            QueueServer::Master(addr) => addr.clone(),
        }
    }
}

/// Reads Celery queue depths on a plain Redis URL or on whichever master the Sentinels report
/// right now, keeping its connection between readings.
pub struct QueueReader {
    url: String,
    sentinels: SentinelSettings,
    names: Vec<String>,
    timeout: Duration,
    con: Option<(QueueServer, MultiplexedConnection)>,
}

impl QueueReader {
    /// `url` "" means: follow the master the Sentinels name.
    pub fn new(url: &str, names: &[String], sentinels: &SentinelSettings, timeout: Duration) -> Self {
        QueueReader { url: url.to_string(), sentinels: sentinels.clone(), names: names.to_vec(), timeout, con: None }
    }

    /// The settings the Sentinels are asked with (and the master they name is reached with).
    pub fn sentinel_settings(&self) -> &SentinelSettings {
        &self.sentinels
    }

    /// Where the queues live now. When no Sentinel answers, the last known master is kept: a
    /// Sentinel outage is the Sentinel pane's finding, and the queues are still readable.
    async fn server(&self) -> Result<QueueServer, BackendError> {
        if !self.url.is_empty() {
            return Ok(QueueServer::Url(self.url.clone()));
        }
        let per = self.timeout / 2;
        let s = &self.sentinels;
        let answers = futures::future::join_all(s.addrs.iter().map(|addr| async move {
            let mut con = s.connect(addr, per).await?;
            match master_addr(&mut con, addr, &s.master, per).await? {
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
                Ok(master) => return Ok(QueueServer::Master(master)),
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

    async fn connect(&self, server: &QueueServer) -> Result<MultiplexedConnection, BackendError> {
        let per = self.timeout / 2;
        match server {
            QueueServer::Url(url) => connect(url_info(url)?, &server.shown(), per).await,
            // The master a Sentinel names is reached with the Sentinel password, as the effects do.
            QueueServer::Master(addr) => self.sentinels.connect(addr, per).await,
        }
    }

    /// One reading of every queue's depth and kombu's unacked count.
    pub async fn read(&mut self) -> Result<QueuesSnapshot, BackendError> {
        let server = self.server().await?;
        if self.con.as_ref().is_none_or(|(s, _)| *s != server) {
            let con = self.connect(&server).await?;
            self.con = Some((server.clone(), con));
        }
        let Some((_, con)) = self.con.as_mut() else { return Err(BackendError::unexpected(server.shown(), "not connected")) };
        let (queues, unacked) = match queue_rows(con, &server.shown(), &self.names).await {
            Ok(c) => c,
            Err(e) => {
                self.con = None;
                return Err(e);
            }
        };
        Ok(QueuesSnapshot { server: clean(&server.shown()), queues, unacked })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error exactly as a Redis server sends it for LLEN of a string key.
    fn wrongtype() -> redis::RedisError {
        match redis::parse_redis_value(b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n") {
            Ok(redis::Value::ServerError(e)) => e.into(),
            other => redis::RedisError::from((redis::ErrorKind::Parse, "unexpected parse", format!("{other:?}"))),
        }
    }

    #[test]
    fn kombu_names_priority_lists_with_its_separator() {
        assert_eq!(kombu_key("celery", 0), "celery");
        assert_eq!(kombu_key("celery", 6), "celery\x06\x166");
    }

    #[test]
    fn a_queues_priority_lists_are_summed_and_kept_by_step() {
        // LLEN answers for priorities 0..=9.
        let answers = [50u64, 0, 0, 0, 0, 0, 50, 2, 0, 0].map(Ok).to_vec();
        let row = queue_row("celery", answers);
        assert_eq!(row.depth, 102);
        assert_eq!(row.error, None);
        assert_eq!(row.priorities_text(), "p0 50 · p3 0 · p6 50 · p7 2 · p9 0");
    }

    #[test]
    fn a_queue_key_that_is_not_a_list_is_that_rows_error_in_the_servers_words() {
        let mut answers: Vec<redis::RedisResult<u64>> = vec![Ok(4); 10];
        answers[3] = Err(wrongtype());
        let row = queue_row("cel\x1b[2Jery", answers);
        assert_eq!(row.known_depth(), None);
        assert!(row.priorities.is_empty());
        let error = row.error.unwrap_or_default();
        assert!(error.starts_with("WRONGTYPE Operation against a key"), "{error}");
        assert!(error.contains("priority 3 list is not a list"), "{error}");
        assert!(!error.contains('\x1b') && !row.name.contains('\x1b'), "{error}");
    }

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
