//! PostgreSQL and Patroni: DSN parsing (also used by `sitrep check`), the one `connect`, the
//! leader search, and the mapping of pg_stat_* rows and Patroni's /cluster onto the model's rows.

use super::{BackendError, within};
use crate::model::{ArchiverRow, MemberRow, PatroniMember, ReplicationSnapshot, StandbyRow};
use crate::sanitize::{clean, redact_secrets};
use futures::StreamExt;
use std::str::FromStr;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, Client};

/// What to connect to: a DSN as written in sitrep.toml, or one already parsed (and adjusted).
pub enum Target<'a> {
    Dsn(&'a str),
    Config(&'a tokio_postgres::Config),
}

impl<'a> From<&'a str> for Target<'a> {
    fn from(dsn: &'a str) -> Self {
        Target::Dsn(dsn)
    }
}

impl<'a> From<&'a String> for Target<'a> {
    fn from(dsn: &'a String) -> Self {
        Target::Dsn(dsn)
    }
}

impl<'a> From<&'a tokio_postgres::Config> for Target<'a> {
    fn from(cfg: &'a tokio_postgres::Config) -> Self {
        Target::Config(cfg)
    }
}

/// An open session: the client, and the NOTIFY payloads its connection receives (the channel
/// closes when the connection ends, so a listener learns the link is gone).
pub struct Connected {
    pub client: Client,
    pub notifications: mpsc::UnboundedReceiver<String>,
}

/// Parses a libpq-style DSN or URL, filling what is missing from the PG* environment (as psql).
pub fn pg_config(dsn: &str, timeout: Duration) -> Result<tokio_postgres::Config, BackendError> {
    let mut cfg = tokio_postgres::Config::from_str(dsn).map_err(|e| BackendError::BadSetting {
        input: format!("dsn `{}`", redact_secrets(dsn)),
        detail: e.to_string(),
        fix: "use \"host=... port=... user=...\" or a postgres:// URL".into(),
    })?;
    if cfg.get_hosts().is_empty() {
        cfg.host(std::env::var("PGHOST").unwrap_or_else(|_| "localhost".into()));
    }
    if cfg.get_ports().is_empty()
        && let Some(p) = std::env::var("PGPORT").ok().and_then(|p| p.parse().ok())
    {
        cfg.port(p);
    }
    if cfg.get_user().is_none() {
        cfg.user(std::env::var("PGUSER").unwrap_or_else(|_| "postgres".into()));
    }
    if cfg.get_password().is_none()
        && let Ok(p) = std::env::var("PGPASSWORD")
    {
        cfg.password(p);
    }
    if cfg.get_dbname().is_none()
        && let Ok(d) = std::env::var("PGDATABASE")
    {
        cfg.dbname(d);
    }
    cfg.connect_timeout(timeout);
    cfg.application_name("sitrep");
    Ok(cfg)
}

/// host:port of a parsed config, for messages (never the password).
pub fn describe(cfg: &tokio_postgres::Config) -> String {
    let host = match cfg.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = cfg.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}")
}

/// The one way sitrep connects to PostgreSQL (collectors, effects, the shared timeline), so TLS
/// and authentication rules live here alone. The connection is driven by a spawned task.
pub async fn connect(target: impl Into<Target<'_>>, timeout: Duration) -> Result<Connected, BackendError> {
    let parsed;
    let cfg = match target.into() {
        Target::Dsn(dsn) => {
            parsed = pg_config(dsn, timeout)?;
            &parsed
        }
        Target::Config(cfg) => cfg,
    };
    let name = describe(cfg);
    let (client, mut conn) = within(&name, timeout, async {
        cfg.connect(tokio_postgres::NoTls).await.map_err(|e| BackendError::Unreachable { target: name.clone(), detail: server_words(&e) })
    })
    .await?;
    let (tx, notifications) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| conn.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    let _ = tx.send(n.payload().to_string());
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::info!(target = %name, "postgres connection ended: {}", redact_secrets(&e.to_string()));
                    break;
                }
            }
        }
    });
    Ok(Connected { client, notifications })
}

/// The server's own words for an error: `SEVERITY CODE: message` (and its detail and hint),
/// rather than tokio-postgres's bare `db error`; other errors with their cause.
pub fn server_words(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut text = format!("{} {}: {}", db.severity(), db.code().code(), db.message());
        if let Some(detail) = db.detail() {
            text.push_str(&format!(" (detail: {detail})"));
        }
        if let Some(hint) = db.hint() {
            text.push_str(&format!(" (hint: {hint})"));
        }
        return redact_secrets(&text);
    }
    if e.is_closed() {
        return "the connection was lost".into();
    }
    let mut text = e.to_string();
    if let Some(cause) = std::error::Error::source(e) {
        text = format!("{text}: {cause}");
    }
    redact_secrets(&text)
}

/// A refused or failed query on `target`.
pub fn query_error(target: &str, e: &tokio_postgres::Error) -> BackendError {
    if e.as_db_error().is_none() && e.is_closed() {
        return BackendError::Unreachable { target: target.into(), detail: "the connection was lost".into() };
    }
    BackendError::Server { target: target.into(), server: server_words(e) }
}

/// Whether the server replays WAL (a standby) rather than accepting writes.
pub async fn in_recovery(client: &Client, target: &str) -> Result<bool, BackendError> {
    let row = client.query_one("select pg_is_in_recovery()", &[]).await.map_err(|e| query_error(target, &e))?;
    Ok(row.get(0))
}

/// `select count(*)` of a table whose name the caller has checked to be plain.
pub async fn row_count(client: &Client, target: &str, table: &str) -> Result<i64, BackendError> {
    let row = client.query_one(&format!("select count(*) from \"{table}\""), &[]).await.map_err(|e| query_error(target, &e))?;
    Ok(row.get(0))
}

/// The first member (`(name, dsn)`) that is not in recovery, connected to `database` (or the
/// DSN's own when empty); also its name and parsed config.
pub async fn leader<'a>(
    members: impl IntoIterator<Item = (&'a str, &'a str)>,
    database: &str,
    timeout: Duration,
) -> Result<(String, Client, tokio_postgres::Config), BackendError> {
    let mut reasons = Vec::new();
    for (name, dsn) in members {
        let mut cfg = pg_config(dsn, timeout)?;
        let probe = async {
            let c = connect(&cfg, timeout).await?;
            in_recovery(&c.client, name).await
        };
        match within(name, timeout, probe).await {
            Ok(false) => {
                if !database.is_empty() {
                    cfg.dbname(database);
                }
                let c = connect(&cfg, timeout).await.map_err(|e| e.at(&format!("{name} database {database}")))?;
                return Ok((name.to_string(), c.client, cfg));
            }
            Ok(true) => {}
            Err(e) => reasons.push(format!("{name}: {e}")),
        }
    }
    Err(BackendError::NoneAnswered {
        what: "no Postgres member accepts writes".into(),
        reasons,
        fix: "check [postgres] members in sitrep.toml".into(),
    })
}

/// Reads the replication view of a cluster: each member (`(name, dsn)`) over its own kept
/// connection, plus Patroni's REST view.
pub struct ReplicationReader {
    members: Vec<(String, String, Option<Client>)>,
    patroni: Vec<String>,
    http: reqwest::Client,
    timeout: Duration,
}

impl ReplicationReader {
    pub fn new(members: impl IntoIterator<Item = (String, String)>, patroni: &[String], timeout: Duration) -> Self {
        ReplicationReader {
            members: members.into_iter().map(|(name, dsn)| (name, dsn, None)).collect(),
            patroni: patroni.to_vec(),
            http: reqwest::Client::builder().timeout(timeout.mul_f32(0.6)).build().unwrap_or_default(),
            timeout,
        }
    }

    /// One reading. Members are read at once, each with its own deadline: a frozen standby must
    /// not hide the leader. With every configured member unreachable it fails: Patroni's word
    /// alone is not the database.
    pub async fn read(&mut self) -> Result<ReplicationSnapshot, BackendError> {
        let mut snap = ReplicationSnapshot::default();
        let mut errors = Vec::new();
        let per = self.timeout.mul_f32(0.6);
        let reads = futures::future::join_all(self.members.iter_mut().map(|(name, dsn, client)| async move {
            let result = within(name, per, read_kept(name, dsn, client, per)).await;
            (name, client, result)
        }))
        .await;
        for (name, client, result) in reads {
            match result {
                Ok((row, standbys, archiver)) => {
                    if !row.in_recovery {
                        snap.standbys = standbys;
                        snap.archiver = archiver;
                    }
                    snap.members.push(row);
                }
                Err(e) => {
                    *client = None;
                    errors.push(format!("{name}: {e}"));
                    snap.members.push(MemberRow {
                        name: clean(name),
                        reachable: false,
                        error: Some(clean(&e.to_string())),
                        ..MemberRow::default()
                    });
                }
            }
        }
        if !self.patroni.is_empty() {
            match patroni_cluster(&self.http, &self.patroni).await {
                Ok(members) => snap.patroni = members.iter().map(PatroniClusterMember::row).collect(),
                Err(e) => errors.push(e.to_string()),
            }
        }
        let nothing = snap.members.iter().all(|m| !m.reachable) && (!self.members.is_empty() || snap.patroni.is_empty());
        if nothing {
            return Err(BackendError::NoneAnswered {
                what: "no Postgres member answers".into(),
                reasons: errors,
                fix: "check [postgres] in sitrep.toml".into(),
            });
        }
        Ok(snap)
    }
}

async fn read_kept(
    name: &str,
    dsn: &str,
    slot: &mut Option<Client>,
    timeout: Duration,
) -> Result<(MemberRow, Vec<StandbyRow>, Option<ArchiverRow>), BackendError> {
    if slot.as_ref().is_none_or(|c| c.is_closed()) {
        *slot = Some(connect(dsn, timeout).await?.client);
    }
    let Some(client) = slot.as_ref() else { return Err(BackendError::unexpected(name, "not connected")) };
    read_member(client, name).await
}

/// One member's view: its own row, and on the leader the standbys and the archiver.
pub async fn read_member(client: &Client, name: &str) -> Result<(MemberRow, Vec<StandbyRow>, Option<ArchiverRow>), BackendError> {
    let row = client
        .query_one("select pg_is_in_recovery(), extract(epoch from now() - pg_last_xact_replay_timestamp())::float8", &[])
        .await
        .map_err(|e| query_error(name, &e))?;
    let in_recovery: bool = row.get(0);
    let member_row = MemberRow {
        name: clean(name),
        reachable: true,
        in_recovery,
        error: None,
        replay_delay_secs: if in_recovery { row.get(1) } else { None },
    };
    if in_recovery {
        return Ok((member_row, Vec::new(), None));
    }
    let standbys = client
        .query(
            "select coalesce(application_name,''), coalesce(client_addr::text,''), coalesce(state,''), coalesce(sync_state,''),
                    coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), write_lsn),0)::int8,
                    coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), flush_lsn),0)::int8,
                    coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn),0)::int8,
                    extract(epoch from write_lag)::float8, extract(epoch from flush_lag)::float8, extract(epoch from replay_lag)::float8
             from pg_stat_replication order by 1",
            &[],
        )
        .await
        .map_err(|e| query_error(name, &e))?
        .iter()
        .map(|r| StandbyRow {
            name: clean(r.get::<_, &str>(0)),
            client_addr: clean(r.get::<_, &str>(1)),
            state: clean(r.get::<_, &str>(2)),
            sync_state: clean(r.get::<_, &str>(3)),
            write_lag_bytes: r.get::<_, i64>(4).max(0) as u64,
            flush_lag_bytes: r.get::<_, i64>(5).max(0) as u64,
            replay_lag_bytes: r.get::<_, i64>(6).max(0) as u64,
            write_lag_secs: r.get(7),
            flush_lag_secs: r.get(8),
            replay_lag_secs: r.get(9),
        })
        .collect();
    let archiver = client
        .query_opt(
            "select archived_count, last_archived_wal, last_archived_time, failed_count, last_failed_wal, last_failed_time from pg_stat_archiver",
            &[],
        )
        .await
        .map_err(|e| query_error(name, &e))?
        .map(|r| ArchiverRow {
            archived_count: r.get(0),
            last_archived_wal: r.get::<_, Option<&str>>(1).map(clean),
            last_archived_time: r.get(2),
            failed_count: r.get(3),
            last_failed_wal: r.get::<_, Option<&str>>(4).map(clean),
            last_failed_time: r.get(5),
        });
    Ok((member_row, standbys, archiver))
}

/// Patroni's `GET /cluster`, as both the collector and the failover runbook read it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct PatroniCluster {
    #[serde(default)]
    pub members: Vec<PatroniClusterMember>,
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct PatroniClusterMember {
    pub name: String,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub host: String,
    #[serde(default)]
    pub api_url: String,
    pub timeline: Option<i64>,
    pub lag: Option<serde_json::Value>,
    #[serde(default)]
    pub pending_restart: bool,
}

impl PatroniClusterMember {
    /// The model's row for this member, its text made safe for the screen.
    pub fn row(&self) -> PatroniMember {
        PatroniMember {
            name: clean(&self.name),
            role: clean(&self.role),
            state: clean(&self.state),
            timeline: self.timeline,
            lag_bytes: self.lag.as_ref().and_then(serde_json::Value::as_i64),
            pending_restart: self.pending_restart,
            host: clean(&self.host),
        }
    }
}

/// Asks each Patroni REST endpoint in turn for /cluster; the first answer wins.
pub async fn patroni_cluster(http: &reqwest::Client, urls: &[String]) -> Result<Vec<PatroniClusterMember>, BackendError> {
    if urls.is_empty() {
        return Err(BackendError::BadSetting {
            input: "[postgres] patroni".into(),
            detail: "no Patroni REST endpoint configured".into(),
            fix: "set [postgres] patroni = [\"http://host:8008\"]".into(),
        });
    }
    let mut reasons = Vec::new();
    for url in urls {
        let endpoint = format!("{}/cluster", url.trim_end_matches('/'));
        match http.get(&endpoint).send().await.and_then(reqwest::Response::error_for_status) {
            Ok(resp) => match resp.json::<PatroniCluster>().await {
                Ok(c) => return Ok(c.members),
                Err(e) => reasons.push(format!("Patroni {endpoint}: unexpected answer ({e})")),
            },
            Err(e) => reasons.push(format!("Patroni {endpoint}: {e}")),
        }
    }
    Err(BackendError::NoneAnswered { what: "no Patroni answers".into(), reasons, fix: "check [postgres] patroni in sitrep.toml".into() })
}

/// The cluster's scope from `GET /patroni` of the first endpoint that tells it.
pub async fn patroni_scope(http: &reqwest::Client, urls: &[String]) -> Result<String, BackendError> {
    for url in urls {
        if let Ok(r) = http.get(format!("{}/patroni", url.trim_end_matches('/'))).send().await
            && let Ok(v) = r.json::<serde_json::Value>().await
            && let Some(s) = v.pointer("/patroni/scope").and_then(|s| s.as_str())
        {
            return Ok(clean(s));
        }
    }
    Err(BackendError::NoneAnswered {
        what: "no Patroni endpoint told its scope".into(),
        reasons: urls.to_vec(),
        fix: "check [postgres] patroni in sitrep.toml".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_dsn_names_itself_without_its_password_and_says_how_to_write_one() {
        let Err(e) = pg_config("postgres://app:hunter2@db:notaport/x", Duration::from_secs(1)) else { panic!("accepted a bad port") };
        let text = e.to_string();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("postgres:// URL"), "{text}");
    }

    #[test]
    fn a_parsed_dsn_is_described_by_host_and_port() {
        let cfg = pg_config("host=db.internal port=6543 user=x", Duration::from_secs(1)).ok();
        assert_eq!(cfg.as_ref().map(describe).as_deref(), Some("db.internal:6543"));
    }
}
