//! Redis and Sentinel: connection settings (TLS, ACL users, the Sentinels' own password apart
//! from the master's), connecting with a deadline and errors in the server's words, the master
//! lookup, and the mapping of SENTINEL/INFO replies onto the model's rows.

use super::{BackendError, within};
use crate::model::{MasterHealth, MasterRow, PriorityDepth, QueueRow, QueuesSnapshot, ReplicaRow, SentinelRow, SentinelSnapshot};
use crate::sanitize::{clean, redact_secrets};
use redis::IntoConnectionInfo;
use redis::aio::MultiplexedConnection;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Which keys of sitrep.toml set a node's TLS and credentials, so that each error names its fix.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SettingKeys {
    /// A Sentinel itself: `[sentinel] username`/`password`, `tls` and the `tls_*_file`s.
    #[default]
    Sentinel,
    /// A master or replica the Sentinels name: `[sentinel] master_username`/`master_password`,
    /// reached with the Sentinels' TLS settings.
    SentinelData,
    /// The server of `[queues] url`: the URL's user and password, `[queues] tls_*_file`.
    QueuesUrl,
}

impl SettingKeys {
    /// Where the credentials are set.
    pub fn auth(self) -> &'static str {
        match self {
            SettingKeys::Sentinel => "[sentinel] username and password (or SITREP_SENTINEL_PASSWORD)",
            SettingKeys::SentinelData => "[sentinel] master_username and master_password (or SITREP_REDIS_PASSWORD)",
            SettingKeys::QueuesUrl => "the user and password in [queues] url (rediss://user:password@host:6380/0)",
        }
    }

    /// The section holding the TLS files.
    pub fn section(self) -> &'static str {
        match self {
            SettingKeys::QueuesUrl => "[queues]",
            SettingKeys::Sentinel | SettingKeys::SentinelData => "[sentinel]",
        }
    }

    fn tls_on(self) -> &'static str {
        match self {
            SettingKeys::QueuesUrl => "use rediss:// in [queues] url",
            SettingKeys::Sentinel | SettingKeys::SentinelData => "set [sentinel] tls = true",
        }
    }

    fn tls_off(self) -> &'static str {
        match self {
            SettingKeys::QueuesUrl => "give the server's TLS port, or use redis:// in [queues] url",
            SettingKeys::Sentinel | SettingKeys::SentinelData => "give the TLS ports in [sentinel] addrs, or set [sentinel] tls = false",
        }
    }
}

/// The TLS files of a connection: a PEM CA bundle (else the system's trust store), and a client
/// certificate with its key for servers started with `tls-auth-clients yes`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedisTls {
    pub ca_file: Option<PathBuf>,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
}

impl RedisTls {
    /// Reads and checks the files, as every connection and `sitrep check` do: certificates in the
    /// CA file and the client certificate, a private key in the key file, cert and key together.
    pub fn certificates(&self, keys: SettingKeys) -> Result<redis::TlsCertificates, BackendError> {
        let section = keys.section();
        let root_cert = self.ca_file.as_deref().map(|p| pem_file(section, "tls_ca_file", p, Pem::Certificates)).transpose()?;
        let missing = |given: &str, wanted: &str| BackendError::BadSetting {
            input: format!("{section} {given}"),
            detail: format!("{given} is given without {wanted}"),
            fix: format!("set both {section} tls_cert_file and tls_key_file (the client certificate and its PEM key), or neither"),
        };
        let client_tls = match (&self.cert_file, &self.key_file) {
            (Some(cert), Some(key)) => Some(redis::ClientTlsConfig {
                client_cert: pem_file(section, "tls_cert_file", cert, Pem::Certificates)?,
                client_key: pem_file(section, "tls_key_file", key, Pem::Key)?,
            }),
            (None, None) => None,
            (Some(_), None) => return Err(missing("tls_cert_file", "tls_key_file")),
            (None, Some(_)) => return Err(missing("tls_key_file", "tls_cert_file")),
        };
        Ok(redis::TlsCertificates { client_tls, root_cert })
    }

    /// Whether any file is named.
    pub fn is_empty(&self) -> bool {
        self.ca_file.is_none() && self.cert_file.is_none() && self.key_file.is_none()
    }
}

#[derive(Clone, Copy)]
enum Pem {
    Certificates,
    Key,
}

/// A PEM file's bytes, once it is known to hold what `key` needs.
fn pem_file(section: &str, key: &str, path: &Path, kind: Pem) -> Result<Vec<u8>, BackendError> {
    let bad = |defect: super::pem::PemDefect, fix: &str| BackendError::BadSetting {
        input: format!("{section} {key} `{}`", clean(&path.display().to_string())),
        detail: defect.to_string(),
        fix: fix.to_string(),
    };
    match kind {
        Pem::Certificates => super::pem::certificates(path).map(|c| c.bytes).map_err(|d| bad(d, super::pem::CERTIFICATES_FIX)),
        Pem::Key => super::pem::private_key(path).map(|(bytes, _)| bytes).map_err(|d| bad(d, super::pem::KEY_FIX)),
    }
}

/// How to reach one kind of Redis node: TLS (None = plain TCP) and the ACL user and password
/// ("" = the default user; no password = no AUTH).
#[derive(Clone, Default, PartialEq)]
pub struct Node {
    pub tls: Option<RedisTls>,
    pub username: String,
    pub password: String,
    pub keys: SettingKeys,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let password = if self.password.is_empty() { "" } else { "***" };
        f.debug_struct("Node")
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &password)
            .field("keys", &self.keys)
            .finish()
    }
}

/// Where the Sentinels are and how to log in to them and to the servers they name: the one
/// place these passwords live after the config is resolved. A Sentinel's own password
/// (`requirepass` in sentinel.conf) is not the master's (`sentinel auth-pass`), so each has its own.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SentinelSettings {
    pub addrs: Vec<String>,
    pub master: String,
    /// The Sentinels themselves.
    pub sentinel: Node,
    /// The master and replicas they name.
    pub data: Node,
}

impl SentinelSettings {
    /// How to reach the Sentinel at `addr`.
    pub fn sentinel_target(&self, addr: &str) -> Result<Target, BackendError> {
        Target::host_port(addr, &self.sentinel)
    }

    /// How to reach the master (or a replica) at `addr` that a Sentinel named.
    pub fn data_target(&self, addr: &str) -> Result<Target, BackendError> {
        Target::host_port(addr, &self.data)
    }

    /// Connects to the Sentinel at `addr` with a deadline.
    pub async fn connect(&self, addr: &str, timeout: Duration) -> Result<MultiplexedConnection, BackendError> {
        connect_to(&self.sentinel_target(addr)?, timeout).await
    }

    /// Connects to the master a Sentinel named at `addr`, with the master's TLS and credentials.
    pub async fn connect_master(&self, addr: &str, timeout: Duration) -> Result<MultiplexedConnection, BackendError> {
        connect_to(&self.data_target(addr)?, timeout).await
    }
}

/// One server to connect to: its address (redis:// or rediss://, no credentials), the database
/// to SELECT, how to log in, and how errors name it (never with a password).
#[derive(Debug, Clone)]
pub struct Target {
    info: redis::ConnectionInfo,
    db: i64,
    node: Node,
    name: String,
}

impl Target {
    /// `host:port` reached as `node` says.
    pub fn host_port(addr: &str, node: &Node) -> Result<Target, BackendError> {
        let scheme = if node.tls.is_some() { "rediss" } else { "redis" };
        let info = format!("{scheme}://{addr}").into_connection_info().map_err(|e| BackendError::BadSetting {
            input: format!("address `{}`", clean(addr)),
            detail: server_words(&e),
            fix: "write it as host:port, e.g. \"10.0.0.7:26379\"".into(),
        })?;
        Ok(Target { info, db: 0, node: node.clone(), name: clean(addr) })
    }

    /// A `[queues] url` (redis:// or rediss://, user:password@ and /db as redis-cli reads them),
    /// with `tls`'s files for rediss://.
    pub fn url(url: &str, tls: &RedisTls) -> Result<Target, BackendError> {
        let parsed = url_info(url)?;
        let r = parsed.redis_settings();
        let encrypted = matches!(parsed.addr(), redis::ConnectionAddr::TcpTls { .. });
        let node = Node {
            tls: encrypted.then(|| tls.clone()),
            username: r.username().unwrap_or_default().to_string(),
            password: r.password().unwrap_or_default().to_string(),
            keys: SettingKeys::QueuesUrl,
        };
        let db = r.db();
        // sitrep logs in itself (see `log_in`): redis-rs is given the address and protocol only.
        let bare = redis::RedisConnectionInfo::default().set_protocol(r.protocol());
        Ok(Target { info: parsed.clone().set_redis_settings(bare), db, node, name: shown_url(url) })
    }

    pub fn node(&self) -> &Node {
        &self.node
    }

    /// How errors and the screen name this server.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The database selected after logging in.
    pub fn db(&self) -> i64 {
        self.db
    }
}

/// A URL as shown: without scheme and without any password.
fn shown_url(url: &str) -> String {
    // Redacted while the scheme is still there: the redaction finds passwords after `://`.
    let redacted = redact_secrets(url);
    clean(redacted.trim_start_matches("rediss://").trim_start_matches("redis://"))
}

/// Parses a redis:// or rediss:// URL (the queue server's), naming it without its password when it is bad.
pub fn url_info(url: &str) -> Result<redis::ConnectionInfo, BackendError> {
    url.into_connection_info().map_err(|e| BackendError::BadSetting {
        input: format!("queue URL `{}`", clean(&redact_secrets(url))),
        detail: server_words(&e),
        fix: "write it as redis://host:6379/0 (rediss:// for TLS), or \"\" to follow the Sentinel master".into(),
    })
}

/// Opens a plain connection with redis-rs's own settings and a deadline; `name` is how errors
/// name the server (never a password).
pub async fn connect(info: redis::ConnectionInfo, name: &str, timeout: Duration) -> Result<MultiplexedConnection, BackendError> {
    let target = Target { info, db: 0, node: Node::default(), name: clean(name) };
    connect_to(&target, timeout).await
}

/// Connects to `target` with its TLS, logs in and selects its database, all within `timeout`.
/// Each failure carries the server's or the TLS library's words and the setting to change.
pub async fn connect_to(target: &Target, timeout: Duration) -> Result<MultiplexedConnection, BackendError> {
    let node = &target.node;
    let client = match &node.tls {
        Some(tls) => redis::Client::build_with_tls(target.info.clone(), tls.certificates(node.keys)?),
        None => redis::Client::open(target.info.clone()),
    }
    .map_err(|e| BackendError::BadSetting {
        input: target.name.clone(),
        detail: server_words(&e),
        fix: format!("check the address and the TLS files in {}", node.keys.section()),
    })?;
    // redis-rs's own defaults (1 s to connect, 500 ms per answer) would cut a slow but working
    // server short of `timeout` (timeout_secs): give it ours.
    let config = redis::AsyncConnectionConfig::new().set_connection_timeout(Some(timeout)).set_response_timeout(Some(timeout));
    within(&target.name, timeout, async {
        let mut con = client.get_multiplexed_async_connection_with_config(&config).await.map_err(|e| unreachable(target, &e))?;
        log_in(&mut con, target).await?;
        Ok(con)
    })
    .await
}

/// AUTH and SELECT, sent by sitrep rather than by redis-rs, which turns a refused AUTH into its
/// own "Password authentication failed" and loses the server's words (WRONGPASS ...). Without
/// them, a PING: a server that wants a password says NOAUTH now, not at the first reading.
async fn log_in(con: &mut MultiplexedConnection, target: &Target) -> Result<(), BackendError> {
    let node = &target.node;
    let mut steps = Vec::new();
    if !node.password.is_empty() || !node.username.is_empty() {
        let mut auth = redis::cmd("AUTH");
        if !node.username.is_empty() {
            auth.arg(&node.username);
        }
        auth.arg(&node.password);
        steps.push(("AUTH", auth));
    }
    if target.db != 0 {
        steps.push(("SELECT", redis::cmd("SELECT").arg(target.db).clone()));
    }
    if steps.is_empty() {
        steps.push(("PING", redis::cmd("PING")));
    }
    for (what, cmd) in steps {
        cmd.query_async::<redis::Value>(con).await.map_err(|e| refused(target, what, &e))?;
    }
    Ok(())
}

/// The connection itself failed: the library's words, and what they most likely mean.
fn unreachable(target: &Target, e: &redis::RedisError) -> BackendError {
    let words = server_words(e);
    let detail = match connect_fix(target, e) {
        Some(fix) => format!("{words}; {fix}"),
        None => words,
    };
    BackendError::Unreachable { target: target.name.clone(), detail }
}

/// A log-in step failed: the server's words with the setting to fix, or a dropped connection.
fn refused(target: &Target, what: &str, e: &redis::RedisError) -> BackendError {
    if e.code().is_none() {
        return unreachable(target, e);
    }
    let words = server_words(e);
    let server = match auth_fix(e, target.node.keys) {
        Some(fix) => format!("{what}: {words}; {fix}"),
        None => format!("{what}: {words}"),
    };
    BackendError::Server { target: target.name.clone(), server }
}

/// The fix for an authentication answer, naming the keys that set the credentials.
fn auth_fix(e: &redis::RedisError, keys: SettingKeys) -> Option<String> {
    let detail = e.detail().unwrap_or_default();
    Some(match e.code()? {
        // No `password:` in the words: the redaction of every message would eat what follows it.
        "WRONGPASS" => format!("the server refused this user or password; check {}", keys.auth()),
        "NOAUTH" => format!("the server wants a password: set {}", keys.auth()),
        "NOPERM" => {
            format!("the ACL user may not run this: grant it on the server (ACL SETUSER), or log in as another user with {}", keys.auth())
        }
        _ if detail.contains("without any password configured") => {
            format!("the server has no password for this user: clear {}", keys.auth())
        }
        _ => return None,
    })
}

/// What a failed connection most likely means, from the TLS library's or the socket's words.
fn connect_fix(target: &Target, e: &redis::RedisError) -> Option<String> {
    let text = e.to_string();
    let has = |s: &str| text.contains(s);
    let keys = target.node.keys;
    let section = keys.section();
    let closed = has("onnection reset") || has("losed") || has("roken pipe") || has("end of file");
    if target.node.tls.is_none() {
        return closed.then(|| format!("the server closed the connection: it probably wants TLS: {}", keys.tls_on()));
    }
    Some(if has("UnknownIssuer") || has("BadSignature") || (has("UnknownCA") && has("invalid peer certificate")) {
        format!(
            "certificate not trusted: set {section} tls_ca_file to the CA file that signed the server's certificate (\"\" = the system's trust store)"
        )
    } else if has("not valid for name") || has("NotValidForName") {
        format!(
            "the server's certificate does not name `{}`: connect by a name it lists (Sentinels name masters by the address they announce: use announce-hostnames, or certificates with IP names)",
            target.info.addr()
        )
    } else if has("certificate expired") || has("Expired") {
        "the server's certificate has expired: renew it on the server".into()
    } else if has("received fatal alert") {
        format!(
            "the server refused the TLS session: it may want a client certificate (set {section} tls_cert_file and tls_key_file) signed by a CA it trusts"
        )
    } else if has("corrupt message") || has("InvalidContentType") || has("unexpected message") {
        format!("the server does not speak TLS on this port: {}", keys.tls_off())
    } else if closed {
        format!(
            "the server closed the TLS session: it may want a client certificate (set {section} tls_cert_file and tls_key_file), or not speak TLS on this port"
        )
    } else {
        return None;
    })
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
    let info = master_info(s, &master_row.addr, per).await;
    let offsets = info.as_ref().map(|(info, _)| parse_offsets(info));
    snap.master_health = info.map(|(info, answered)| Box::new(parse_health(&master_row.addr, &info, answered)));
    snap.replicas = replicas.into_iter().map(pairs).map(|r| replica_row(&r, offsets.as_ref())).collect();
    snap.master = Some(master_row);
    Ok(snap)
}

/// The master's INFO (replication, memory, stats), and how long INFO itself took to answer.
async fn master_info(s: &SentinelSettings, addr: &str, timeout: Duration) -> Option<(String, Duration)> {
    within(addr, timeout, async {
        let mut con = s.connect_master(addr, timeout).await?;
        let asked = std::time::Instant::now();
        let info: String = query(&mut con, redis::cmd("INFO").arg("replication").arg("memory").arg("stats"), addr, "INFO", timeout).await?;
        Ok::<_, BackendError>((info, asked.elapsed()))
    })
    .await
    .ok()
}

/// `used_memory`, `maxmemory`, `maxmemory_policy`, `keyspace_hits` and `keyspace_misses` from
/// INFO's memory and stats sections (the hit rate needs a previous reading: `hit_rate_since`).
pub fn parse_health(addr: &str, info: &str, answered: Duration) -> MasterHealth {
    let mut h =
        MasterHealth { addr: clean(addr), answered_ms: answered.as_millis().min(u128::from(u64::MAX)) as u64, ..MasterHealth::default() };
    for line in info.lines().map(str::trim) {
        let Some((key, value)) = line.split_once(':') else { continue };
        let number = || value.parse::<u64>().unwrap_or(0);
        match key {
            "used_memory" => h.used_memory = number(),
            "maxmemory" => h.maxmemory = number(),
            "maxmemory_policy" => h.maxmemory_policy = clean(value),
            "keyspace_hits" => h.keyspace_hits = number(),
            "keyspace_misses" => h.keyspace_misses = number(),
            _ => {}
        }
    }
    h
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
            QueueServer::Url(u) => shown_url(u),
            QueueServer::Master(addr) => addr.clone(),
        }
    }
}

/// Where the queues are configured to live: `[queues] url` ("" = the master the Sentinels name)
/// and the TLS files for a rediss:// URL.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueSettings {
    pub url: String,
    pub tls: RedisTls,
}

/// Reads Celery queue depths on a Redis URL or on whichever master the Sentinels report
/// right now, keeping its connection between readings.
pub struct QueueReader {
    queue: QueueSettings,
    sentinels: SentinelSettings,
    names: Vec<String>,
    timeout: Duration,
    con: Option<(QueueServer, MultiplexedConnection)>,
}

impl QueueReader {
    /// A `queue` url "" means: follow the master the Sentinels name.
    pub fn new(queue: &QueueSettings, names: &[String], sentinels: &SentinelSettings, timeout: Duration) -> Self {
        QueueReader { queue: queue.clone(), sentinels: sentinels.clone(), names: names.to_vec(), timeout, con: None }
    }

    /// How the queue server is reached now: the URL's target, or the master's at `addr`.
    fn target(&self, server: &QueueServer) -> Result<Target, BackendError> {
        match server {
            QueueServer::Url(url) => Target::url(url, &self.queue.tls),
            // The master a Sentinel names is reached with the master's TLS and credentials, as the effects do.
            QueueServer::Master(addr) => self.sentinels.data_target(addr),
        }
    }

    /// The settings the Sentinels are asked with (and the master they name is reached with).
    pub fn sentinel_settings(&self) -> &SentinelSettings {
        &self.sentinels
    }

    /// Where the queues live now. When no Sentinel answers, the last known master is kept: a
    /// Sentinel outage is the Sentinel pane's finding, and the queues are still readable.
    async fn server(&self) -> Result<QueueServer, BackendError> {
        if !self.queue.url.is_empty() {
            return Ok(QueueServer::Url(self.queue.url.clone()));
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
        connect_to(&self.target(server)?, self.timeout / 2).await
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

    /// An error exactly as a Redis server sends it.
    fn server_error(reply: &[u8]) -> redis::RedisError {
        match redis::parse_redis_value(reply) {
            Ok(redis::Value::ServerError(e)) => e.into(),
            other => redis::RedisError::from((redis::ErrorKind::Parse, "unexpected parse", format!("{other:?}"))),
        }
    }

    /// A connection failure as redis-rs reports it: the rustls or socket error inside an io::Error.
    fn io_failure(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> redis::RedisError {
        std::io::Error::other(e).into()
    }

    fn tls_node(keys: SettingKeys) -> Node {
        Node { tls: Some(RedisTls::default()), keys, ..Node::default() }
    }

    fn detail_of(e: BackendError) -> String {
        e.to_string()
    }

    #[test]
    fn the_sentinels_password_is_not_the_masters_whatever_it_holds() {
        let s = SentinelSettings {
            addrs: vec![],
            master: "m".into(),
            sentinel: Node { password: "p@ss:w/rd".into(), ..Node::default() },
            data: Node { username: "app".into(), password: "other".into(), keys: SettingKeys::SentinelData, ..Node::default() },
        };
        let sentinel = s.sentinel_target("10.0.0.7:26379").ok();
        assert_eq!(sentinel.as_ref().map(|t| t.node().password.as_str()), Some("p@ss:w/rd"));
        assert_eq!(sentinel.as_ref().map(|t| t.name()), Some("10.0.0.7:26379"));
        let master = s.data_target("10.0.0.9:6379").ok();
        assert_eq!(master.as_ref().map(|t| (t.node().username.as_str(), t.node().password.as_str())), Some(("app", "other")));
        assert!(!format!("{s:?}").contains("p@ss") && !format!("{s:?}").contains("other"), "{s:?}");
    }

    #[test]
    fn a_queue_url_gives_its_credentials_and_db_to_sitreps_own_log_in_and_is_shown_without_them() {
        let tls = RedisTls { ca_file: Some("/etc/ca.pem".into()), ..RedisTls::default() };
        let t = Target::url("rediss://app:s%40cret@queues.internal:6380/2", &tls).ok();
        let t = t.as_ref();
        assert_eq!(t.map(|t| (t.node().username.as_str(), t.node().password.as_str(), t.db())), Some(("app", "s@cret", 2)));
        assert_eq!(t.and_then(|t| t.node().tls.clone()), Some(tls.clone()));
        assert_eq!(t.and_then(|t| t.info.redis_settings().password()), None, "redis-rs does not log in itself");
        assert_eq!(t.map(|t| t.name()), Some("app:***@queues.internal:6380/2"));
        let plain = Target::url("redis://queues.internal:6379/0", &tls).ok();
        assert_eq!(plain.map(|t| t.node().tls.is_none()), Some(true), "TLS files apply to rediss:// only");
        let bad = Target::url("rediss://app:s3cr3t@:notaport/0", &tls).err().map(detail_of).unwrap_or_default();
        assert!(bad.contains("queue URL") && !bad.contains("s3cr3t"), "{bad}");
    }

    #[test]
    fn wrongpass_and_noauth_keep_the_servers_words_and_name_the_keys_to_fix() {
        let target = Target::host_port("10.0.0.9:6379", &Node { keys: SettingKeys::SentinelData, ..Node::default() });
        let Ok(target) = target else { panic!("a host:port target") };
        let e = refused(&target, "AUTH", &server_error(b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"));
        let text = e.to_string();
        assert!(text.contains("AUTH: WRONGPASS invalid username-password pair or user is disabled."), "{text}");
        assert!(text.contains("check [sentinel] master_username and master_password"), "{text}");
        let text = refused(&target, "PING", &server_error(b"-NOAUTH Authentication required.\r\n")).to_string();
        assert!(
            text.contains("NOAUTH Authentication required.") && text.contains("the server wants a password: set [sentinel] master_"),
            "{text}"
        );
        let text = refused(&target, "AUTH", &server_error(b"-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n")).to_string();
        assert!(text.contains("called without any password configured") && text.contains("clear [sentinel] master_"), "{text}");
    }

    #[test]
    fn a_closed_plain_connection_suggests_tls_and_tls_failures_name_the_setting() {
        let plain = Target::host_port("10.0.0.9:6380", &Node { keys: SettingKeys::QueuesUrl, ..Node::default() });
        let Ok(plain) = plain else { panic!("a host:port target") };
        // ECONNRESET, as Linux reports it when a TLS-only redis-server drops a plain client.
        let reset: redis::RedisError = std::io::Error::from_raw_os_error(104).into();
        let text = unreachable(&plain, &reset).to_string();
        assert!(text.contains("Connection reset by peer"), "{text}");
        assert!(text.contains("it probably wants TLS: use rediss:// in [queues] url"), "{text}");

        let Ok(tls) = Target::host_port("10.0.0.7:26379", &tls_node(SettingKeys::Sentinel)) else { panic!("a host:port target") };
        use rustls::{AlertDescription, CertificateError, Error};
        let cases: [(Error, &str); 4] = [
            (Error::InvalidCertificate(CertificateError::UnknownIssuer), "certificate not trusted: set [sentinel] tls_ca_file"),
            (Error::InvalidCertificate(CertificateError::NotValidForName), "does not name `10.0.0.7:26379`"),
            (Error::AlertReceived(AlertDescription::CertificateRequired), "set [sentinel] tls_cert_file and tls_key_file"),
            (Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType), "does not speak TLS on this port"),
        ];
        for (rustls_error, fix) in cases {
            let words = rustls_error.to_string();
            let text = unreachable(&tls, &io_failure(rustls_error)).to_string();
            assert!(text.contains(&words) && text.contains(fix), "{text}");
        }
    }

    #[test]
    fn tls_files_are_read_and_checked_before_any_connection() {
        let Ok(dir) = tempfile::tempdir() else { panic!("tempdir") };
        let not_pem = dir.path().join("ca.pem");
        assert!(std::fs::write(&not_pem, "hello").is_ok());
        let text = |tls: RedisTls| tls.certificates(SettingKeys::QueuesUrl).err().map(detail_of).unwrap_or_default();
        let missing = text(RedisTls { ca_file: Some(dir.path().join("nope.pem")), ..RedisTls::default() });
        assert!(
            missing.contains("[queues] tls_ca_file") && missing.contains("nope.pem") && missing.contains("cannot be read"),
            "{missing}"
        );
        let empty = text(RedisTls { ca_file: Some(not_pem.clone()), ..RedisTls::default() });
        assert!(empty.contains("holds no PEM certificate"), "{empty}");
        let half = text(RedisTls { cert_file: Some(not_pem.clone()), ..RedisTls::default() });
        assert!(half.contains("tls_cert_file is given without tls_key_file"), "{half}");
        assert!(RedisTls::default().certificates(SettingKeys::Sentinel).is_ok(), "no file: the system's trust store");
    }
}
