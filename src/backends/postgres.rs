//! PostgreSQL and Patroni: DSN parsing (also used by `sitrep check`), the one `connect`, the
//! leader search, and the mapping of pg_stat_* rows and Patroni's /cluster onto the model's rows.

use super::pg_tls::{self, RootCert, SslMode, TlsSettings};
use super::{BackendError, within};
use crate::model::{ArchiverRow, LongQuery, MemberLoad, MemberRow, PatroniMember, ReplicationSnapshot, StandbyRow};
use crate::sanitize::{clean, redact_secrets};
use futures::StreamExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, Client};
use tokio_postgres_rustls::MakeRustlsConnect;

/// What to connect to: a DSN as written in sitrep.toml, or one already parsed (and adjusted).
pub enum Target<'a> {
    Dsn(&'a str),
    Config(&'a PgConfig),
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

impl<'a> From<&'a PgConfig> for Target<'a> {
    fn from(cfg: &'a PgConfig) -> Self {
        Target::Config(cfg)
    }
}

/// An open session: the client, and the NOTIFY payloads its connection receives (the channel
/// closes when the connection ends, so a listener learns the link is gone).
pub struct Connected {
    pub client: Client,
    pub notifications: mpsc::UnboundedReceiver<String>,
}

/// A parsed DSN: tokio-postgres's part (host, user, ...) and the TLS part libpq has and
/// tokio-postgres lacks. Derefs to the tokio-postgres config, so callers adjust host/port/dbname.
#[derive(Debug, Clone)]
pub struct PgConfig {
    pub pg: tokio_postgres::Config,
    pub tls: TlsSettings,
}

impl std::ops::Deref for PgConfig {
    type Target = tokio_postgres::Config;
    fn deref(&self) -> &tokio_postgres::Config {
        &self.pg
    }
}

impl std::ops::DerefMut for PgConfig {
    fn deref_mut(&mut self) -> &mut tokio_postgres::Config {
        &mut self.pg
    }
}

/// The PG* variables a DSN falls back on, as psql reads them. `config::Env` holds the process's
/// (read by the same lookup); tests build one by hand.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PgEnv {
    pub host: Option<String>,
    pub port: Option<String>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub database: Option<String>,
    pub sslmode: Option<String>,
    pub sslrootcert: Option<String>,
    pub sslcert: Option<String>,
    pub sslkey: Option<String>,
    pub passfile: Option<PathBuf>,
    /// $HOME: where ~/.pgpass and ~/.postgresql/ are.
    pub home: Option<PathBuf>,
}

impl PgEnv {
    /// Reads PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE, PGSSLROOTCERT, PGSSLCERT,
    /// PGSSLKEY, PGPASSFILE and HOME; empty values count as unset.
    pub fn from_lookup(get: impl Fn(&str) -> Option<std::ffi::OsString>) -> PgEnv {
        let text = |name: &str| get(name).filter(|v| !v.is_empty()).map(|v| v.to_string_lossy().into_owned());
        PgEnv {
            host: text("PGHOST"),
            port: text("PGPORT"),
            user: text("PGUSER"),
            password: text("PGPASSWORD"),
            database: text("PGDATABASE"),
            sslmode: text("PGSSLMODE"),
            sslrootcert: text("PGSSLROOTCERT"),
            sslcert: text("PGSSLCERT"),
            sslkey: text("PGSSLKEY"),
            passfile: text("PGPASSFILE").map(PathBuf::from),
            home: text("HOME").map(PathBuf::from),
        }
    }

    /// This process's variables, read once (the same lookup `config::Env::from_process` uses).
    pub fn process() -> &'static PgEnv {
        static ENV: std::sync::OnceLock<PgEnv> = std::sync::OnceLock::new();
        ENV.get_or_init(|| PgEnv::from_lookup(|name| std::env::var_os(name)))
    }

    fn home_file(&self, rel: &str) -> Option<PathBuf> {
        self.home.as_ref().map(|h| h.join(rel)).filter(|p| p.is_file())
    }
}

/// The libpq keys sitrep handles itself (tokio-postgres rejects them or knows only some values).
const OWN_KEYS: [&str; 7] = ["sslmode", "sslrootcert", "sslcert", "sslkey", "passfile", "sslpassword", "sslsni"];

/// Parses a libpq-style DSN or URL, filling what is missing from the PG* environment (as psql).
pub fn pg_config(dsn: &str, timeout: Duration) -> Result<PgConfig, BackendError> {
    pg_config_in(dsn, timeout, PgEnv::process())
}

/// [`pg_config`] with the PG* variables given.
pub fn pg_config_in(dsn: &str, timeout: Duration, env: &PgEnv) -> Result<PgConfig, BackendError> {
    let shown = shown_dsn(dsn);
    let bad = |detail: String, fix: &str| BackendError::BadSetting { input: format!("dsn `{shown}`"), detail, fix: fix.into() };
    let (rest, own) = split_own_keys(dsn).map_err(|detail| bad(detail, "use \"host=... port=... user=...\" or a postgres:// URL"))?;
    let mut cfg = tokio_postgres::Config::from_str(&rest).map_err(|e| {
        let cause = std::error::Error::source(&e).map(|c| format!(": {c}")).unwrap_or_default();
        bad(redact_secrets(&format!("{e}{cause}")), "use \"host=... port=... user=...\" or a postgres:// URL (libpq's key names)")
    })?;
    let own_value = |key: &str| own.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    if own_value("sslpassword").is_some() {
        return Err(bad(
            "sslpassword (an encrypted client key) is not supported".into(),
            "decrypt the key once (openssl pkey -in key.pem -out plain.pem, mode 0600) and drop sslpassword",
        ));
    }
    let mode_text = own_value("sslmode").or_else(|| env.sslmode.clone());
    let mode = match &mode_text {
        None => SslMode::default(),
        Some(m) => SslMode::parse(m).ok_or_else(|| {
            bad(format!("sslmode `{}` is not one of libpq's modes", clean(m)), &format!("use sslmode={}", SslMode::CHOICES))
        })?,
    };
    let path = |key: &str, var: &Option<String>| own_value(key).or_else(|| var.clone());
    let root_cert = match path("sslrootcert", &env.sslrootcert) {
        Some(r) if r == "system" => Some(RootCert::System),
        Some(r) => Some(RootCert::File(PathBuf::from(r))),
        None => env.home_file(".postgresql/root.crt").map(RootCert::File),
    };
    // libpq: sslrootcert=system makes verify-full the default mode.
    let mode = if root_cert == Some(RootCert::System) && mode_text.is_none() { SslMode::VerifyFull } else { mode };
    let cert = path("sslcert", &env.sslcert).map(PathBuf::from);
    let key = path("sslkey", &env.sslkey).map(PathBuf::from);
    // libpq's default client certificate is used only when both of its files are there.
    let (cert, key) = match (cert, key) {
        (None, None) => match (env.home_file(".postgresql/postgresql.crt"), env.home_file(".postgresql/postgresql.key")) {
            (Some(c), Some(k)) => (Some(c), Some(k)),
            _ => (None, None),
        },
        given => given,
    };
    let tls = TlsSettings { mode, root_cert, cert, key };
    if mode != SslMode::Disable {
        tls.validate()?;
    }
    if cfg.get_hosts().is_empty() {
        cfg.host(env.host.as_deref().unwrap_or("localhost"));
    }
    if cfg.get_ports().is_empty()
        && let Some(p) = env.port.as_deref().and_then(|p| p.parse().ok())
    {
        cfg.port(p);
    }
    if cfg.get_user().is_none() {
        cfg.user(env.user.as_deref().unwrap_or("postgres"));
    }
    if cfg.get_password().is_none()
        && let Some(p) = &env.password
    {
        cfg.password(p);
    }
    if cfg.get_dbname().is_none()
        && let Some(d) = &env.database
    {
        cfg.dbname(d);
    }
    if cfg.get_password().is_none() {
        let passfile = own_value("passfile")
            .map(PathBuf::from)
            .or_else(|| env.passfile.clone())
            .or_else(|| env.home.as_ref().map(|h| h.join(".pgpass")));
        if let Some(pw) = passfile.and_then(|f| pgpass_password(&f, &cfg)) {
            cfg.password(pw);
        }
    }
    cfg.connect_timeout(timeout);
    cfg.application_name("sitrep");
    cfg.ssl_mode(match mode {
        SslMode::Disable | SslMode::Allow => tokio_postgres::config::SslMode::Disable,
        SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => tokio_postgres::config::SslMode::Require,
    });
    Ok(PgConfig { pg: cfg, tls })
}

/// A DSN as it may be shown: its password (key=value or URL) replaced by `***`.
pub fn shown_dsn(dsn: &str) -> String {
    match split_pairs(dsn) {
        Some(Ok(pairs)) => pairs
            .iter()
            .map(|(k, v)| if k == "password" { format!("{k}=***") } else { format!("{k}={}", quote(v)) })
            .collect::<Vec<_>>()
            .join(" "),
        _ => redact_secrets(dsn),
    }
}

/// Takes sitrep's own keys out of a DSN: the rest (for tokio-postgres) and the taken pairs.
fn split_own_keys(dsn: &str) -> Result<(String, Vec<(String, String)>), String> {
    let own = |k: &str| OWN_KEYS.contains(&k);
    if let Some(pairs) = split_pairs(dsn) {
        let (taken, rest): (Vec<_>, Vec<_>) = pairs?.into_iter().partition(|(k, _)| own(k));
        let rest = rest.iter().map(|(k, v)| format!("{k}={}", quote(v))).collect::<Vec<_>>().join(" ");
        return Ok((rest, taken));
    }
    // A URL: the query string's own keys are taken out, the rest is left as written.
    let after_auth = dsn.rfind('@').unwrap_or(0);
    let Some(q) = dsn[after_auth..].find('?').map(|i| i + after_auth) else { return Ok((dsn.to_string(), Vec::new())) };
    let mut taken = Vec::new();
    let mut kept = Vec::new();
    for part in dsn[q + 1..].split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').ok_or_else(|| format!("URL parameter `{}` has no value", clean(part)))?;
        let key = percent_decode(k);
        if own(&key) {
            taken.push((key, percent_decode(v)));
        } else {
            kept.push(part);
        }
    }
    let base = &dsn[..q];
    Ok((if kept.is_empty() { base.to_string() } else { format!("{base}?{}", kept.join("&")) }, taken))
}

/// The pairs of a key=value DSN (libpq's syntax: quotes, backslash escapes); None for a URL.
fn split_pairs(dsn: &str) -> Option<Result<Vec<(String, String)>, String>> {
    let t = dsn.trim_start();
    if t.starts_with("postgres://") || t.starts_with("postgresql://") {
        return None;
    }
    let mut out = Vec::new();
    let mut it = dsn.chars().peekable();
    loop {
        while it.next_if(|c| c.is_whitespace()).is_some() {}
        let mut key = String::new();
        while let Some(c) = it.next_if(|c| !c.is_whitespace() && *c != '=') {
            key.push(c);
        }
        if key.is_empty() {
            return Some(Ok(out));
        }
        while it.next_if(|c| c.is_whitespace()).is_some() {}
        if it.next() != Some('=') {
            return Some(Err(format!("`{}` has no `=value`", clean(&key))));
        }
        while it.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if it.next_if_eq(&'\'').is_some() {
            loop {
                match it.next() {
                    Some('\'') => break,
                    Some('\\') => value.extend(it.next()),
                    Some(c) => value.push(c),
                    None => return Some(Err(format!("the value of `{}` has no closing quote", clean(&key)))),
                }
            }
        } else {
            while let Some(c) = it.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    value.extend(it.next());
                } else {
                    value.push(c);
                }
            }
        }
        out.push((key, value));
    }
}

fn quote(v: &str) -> String {
    format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (b.get(i + 1).and_then(|c| hex(*c)), b.get(i + 2).and_then(|c| hex(*c)))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The password ~/.pgpass (or PGPASSFILE, or `passfile`) gives for this host, port, database
/// and user; a file others can read is ignored, as libpq does.
fn pgpass_password(file: &Path, cfg: &tokio_postgres::Config) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file).ok()?.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(
                "password file {} has group or world access; permissions should be u=rw (0600) or less: ignored",
                file.display()
            );
            return None;
        }
    }
    let text = std::fs::read_to_string(file).ok()?;
    let host = match cfg.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        _ => "localhost".into(),
    };
    let port = cfg.get_ports().first().copied().unwrap_or(5432).to_string();
    let user = cfg.get_user().unwrap_or("postgres");
    let db = cfg.get_dbname().unwrap_or(user);
    pgpass_lookup(&text, &host, &port, db, user)
}

/// The first matching line of a .pgpass text (`host:port:db:user:password`, `*` matches all,
/// `\:` and `\\` escape).
pub fn pgpass_lookup(text: &str, host: &str, port: &str, db: &str, user: &str) -> Option<String> {
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut fields = vec![String::new()];
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => fields.last_mut()?.extend(chars.next()),
                ':' if fields.len() < 5 => fields.push(String::new()),
                c => fields.last_mut()?.push(c),
            }
        }
        if fields.len() != 5 {
            continue;
        }
        let hit = |pattern: &str, value: &str| pattern == "*" || pattern == value;
        if hit(&fields[0], host) && hit(&fields[1], port) && hit(&fields[2], db) && hit(&fields[3], user) {
            return fields.pop();
        }
    }
    None
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
    let tls = MakeRustlsConnect::new(cfg.tls.client_config()?.unwrap_or_else(plain_only));
    let (client, mut conn) = within(&name, timeout, async {
        let first = cfg.pg.connect(tls.clone()).await;
        // libpq's fallbacks: `allow` tries TLS when plain is refused, `prefer` plain when TLS is.
        let retry = match (cfg.tls.mode, &first) {
            (SslMode::Allow, Err(e)) if e.as_db_error().is_some() => Some(tokio_postgres::config::SslMode::Require),
            (SslMode::Prefer, Err(e)) if e.as_db_error().is_some() => Some(tokio_postgres::config::SslMode::Disable),
            _ => None,
        };
        let result = match retry {
            Some(mode) => {
                let mut again = cfg.pg.clone();
                again.ssl_mode(mode);
                match again.connect(tls.clone()).await {
                    Ok(c) => Ok(c),
                    Err(_) => first,
                }
            }
            None => first,
        };
        result.map_err(|e| BackendError::Unreachable { target: name.clone(), detail: connect_words(&e, cfg) })
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

/// The environment a libpq program sitrep runs (pg_restore in the restore runbook) needs to
/// connect as `cfg` does: PGSSLMODE, PGSSLROOTCERT, PGSSLCERT, PGSSLKEY from the resolved TLS
/// settings, and PGPASSWORD with the password resolved from the dsn, PGPASSWORD or the pgpass
/// file (the environment, never argv, which `ps` shows). Host, port and user go in argv.
pub fn libpq_env(cfg: &PgConfig) -> Vec<(&'static str, std::ffi::OsString)> {
    let mut env = vec![("PGSSLMODE", cfg.tls.mode.name().into())];
    match &cfg.tls.root_cert {
        Some(RootCert::System) => env.push(("PGSSLROOTCERT", "system".into())),
        Some(RootCert::File(f)) => env.push(("PGSSLROOTCERT", f.clone().into_os_string())),
        None => {}
    }
    if let Some(cert) = &cfg.tls.cert {
        env.push(("PGSSLCERT", cert.clone().into_os_string()));
    }
    if let Some(key) = &cfg.tls.key {
        env.push(("PGSSLKEY", key.clone().into_os_string()));
    }
    if let Some(pw) = cfg.get_password() {
        env.push(("PGPASSWORD", String::from_utf8_lossy(pw).into_owned().into()));
    }
    env
}

/// A TLS configuration that is never used (sslmode=disable never starts TLS); tokio-postgres
/// wants one connector type whatever the mode.
fn plain_only() -> rustls::ClientConfig {
    rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(rustls::RootCertStore::empty()).with_no_client_auth())
        .unwrap_or_else(|_| rustls::ClientConfig::builder().with_root_certificates(rustls::RootCertStore::empty()).with_no_client_auth())
}

/// A failed connection in the server's own words, then what to change: the fix for the
/// mistakes people make with managed databases (no TLS, untrusted CA, wrong password).
pub fn connect_words(e: &tokio_postgres::Error, cfg: &PgConfig) -> String {
    let words = server_words(e);
    let host = describe(cfg).rsplit_once(':').map_or_else(|| describe(cfg), |(h, _)| h.to_string());
    let fix = if let Some(db) = e.as_db_error() {
        let msg = db.message();
        match db.code().code() {
            "28000" if msg.contains("no encryption") => Some(
                "server requires TLS: add sslmode=require to the dsn ([postgres] members dsn, [timeline] dsn), or verify-full with sslrootcert"
                    .to_string(),
            ),
            "28000" if msg.contains("SSL encryption") => {
                Some("the server has no pg_hba.conf line for this user over TLS: ask for a hostssl entry, or check user and dbname".into())
            }
            "28000" => Some("the server has no pg_hba.conf entry for this host, user and database: check user and dbname, or ask for access".into()),
            // Worded without `password=`: the redaction of every message would eat what follows it.
            "28P01" => Some("check the password (the dsn's password key, PGPASSWORD, or the pgpass file: passfile, PGPASSFILE, ~/.pgpass) and the user".into()),
            "3D000" => Some("check dbname in the dsn".into()),
            _ => None,
        }
    } else if let Some(fix) = pg_tls::tls_fix(e, &host) {
        Some(fix)
    } else if words.contains("server does not support TLS") {
        Some("the server does not offer TLS: turn ssl on there, or use sslmode=prefer".into())
    } else {
        None
    };
    match fix {
        Some(fix) => format!("{words}; {fix}"),
        None => words,
    }
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
) -> Result<(String, Client, PgConfig), BackendError> {
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
        load: Some(read_load(client, name).await?),
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

/// A member's connections against `max_connections` and the oldest statement (or open
/// transaction) of any other client, from its own pg_stat_activity. Any role may read these
/// columns; another role's statement text reads `<insufficient privilege>` without
/// pg_read_all_stats, and is shown so.
pub async fn read_load(client: &Client, name: &str) -> Result<MemberLoad, BackendError> {
    let row = client
        .query_one(
            "select (select count(*) from pg_stat_activity where backend_type = 'client backend')::int8,
                    current_setting('max_connections')::int8,
                    q.pid, q.secs, q.state, q.usename, q.query
             from (select 1) one
             left join lateral (
                 select pid, extract(epoch from now() - case when state = 'active' then query_start else xact_start end)::float8 as secs,
                        coalesce(state, '') as state, coalesce(usename::text, '') as usename, left(coalesce(query, ''), 200) as query
                 from pg_stat_activity
                 where backend_type = 'client backend' and pid <> pg_backend_pid()
                   and (state = 'active' or state like 'idle in transaction%')
                   and (case when state = 'active' then query_start else xact_start end) is not null
                 order by case when state = 'active' then query_start else xact_start end
                 limit 1) q on true",
            &[],
        )
        .await
        .map_err(|e| query_error(name, &e))?;
    let count = |i: usize| row.get::<_, i64>(i).clamp(0, i64::from(u32::MAX)) as u32;
    let longest = row.get::<_, Option<i32>>(2).map(|pid| LongQuery {
        pid,
        secs: row.get::<_, Option<f64>>(3).unwrap_or(0.0).max(0.0),
        state: clean(row.get::<_, Option<&str>>(4).unwrap_or_default()),
        user: clean(row.get::<_, Option<&str>>(5).unwrap_or_default()),
        query: crate::sanitize::sanitize_bounded(
            &row.get::<_, Option<&str>>(6).unwrap_or_default().split_whitespace().collect::<Vec<_>>().join(" "),
            120,
        ),
    });
    Ok(MemberLoad { connections: count(0), max_connections: count(1), longest })
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
        assert_eq!(cfg.as_ref().map(|c| describe(c)).as_deref(), Some("db.internal:6543"));
    }

    fn ca_file() -> Option<tempfile::NamedTempFile> {
        tempfile::NamedTempFile::new().ok()
    }

    #[test]
    fn verify_full_without_root_certificates_is_refused_with_the_key_and_the_fix() {
        let Err(e) = pg_config_in("host=db sslmode=verify-full", Duration::from_secs(1), &PgEnv::default()) else { panic!("accepted") };
        let text = e.to_string();
        assert!(text.contains("sslrootcert") && text.contains("verify-full"), "{text}");
        let env = PgEnv { sslmode: Some("verify-ca".into()), ..PgEnv::default() };
        assert!(pg_config_in("host=db", Duration::from_secs(1), &env).is_err(), "PGSSLMODE counts");
        assert!(pg_config_in("host=db sslmode=verify-full sslrootcert=system", Duration::from_secs(1), &PgEnv::default()).is_ok());
        let Err(e) = pg_config_in("host=db sslmode=require sslrootcert=system", Duration::from_secs(1), &PgEnv::default()) else {
            panic!()
        };
        assert!(e.to_string().contains("weak sslmode"), "{e}");
    }

    #[test]
    fn tls_keys_are_read_in_both_forms_and_from_the_environment() {
        let Some(ca) = ca_file() else { return };
        let ca_path = ca.path().display().to_string();
        let kv = format!("host=db.internal user=app password='p w' sslmode=verify-full sslrootcert='{ca_path}' dbname=shop");
        let url = format!("postgresql://app:p%20w@db.internal/shop?sslmode=verify-full&sslrootcert={ca_path}&connect_timeout=5");
        for dsn in [kv, url] {
            let cfg = pg_config_in(&dsn, Duration::from_secs(1), &PgEnv::default()).unwrap_or_else(|e| panic!("{dsn}: {e}"));
            assert_eq!(cfg.tls.mode, SslMode::VerifyFull, "{dsn}");
            assert_eq!(cfg.tls.root_cert, Some(RootCert::File(ca.path().to_path_buf())), "{dsn}");
            assert_eq!(cfg.get_password(), Some(&b"p w"[..]), "{dsn}");
            assert_eq!(cfg.get_dbname(), Some("shop"), "{dsn}");
        }
        let env = PgEnv { sslmode: Some("require".into()), sslrootcert: Some(ca_path.clone()), ..PgEnv::default() };
        let cfg = pg_config_in("host=db", Duration::from_secs(1), &env).ok();
        assert_eq!(cfg.map(|c| c.tls.mode), Some(SslMode::Require));
        let cfg = pg_config_in("host=db sslmode=disable", Duration::from_secs(1), &env).ok();
        assert_eq!(cfg.map(|c| c.tls.mode), Some(SslMode::Disable), "the dsn wins over PGSSLMODE");
    }

    #[test]
    fn a_wrong_key_or_value_or_file_is_named_and_the_password_is_not() {
        let cases = [
            ("host=db password='s3cr3t pw' sslmode=verify", "sslmode `verify`"),
            ("host=db password=s3cr3t sslcrl=/x", "sslcrl"),
            ("postgres://u:s3cr3t@db/x?sslrootcert=/no/such/ca.pem&sslmode=verify-ca", "/no/such/ca.pem"),
            ("host=db password=s3cr3t sslcert=/no/cert.pem sslkey=/no/key.pem", "sslcert `/no/cert.pem`"),
        ];
        for (dsn, named) in cases {
            let Err(e) = pg_config_in(dsn, Duration::from_secs(1), &PgEnv::default()) else { panic!("accepted {dsn}") };
            let text = e.to_string();
            assert!(text.contains(named), "{dsn}: {text}");
            assert!(!text.contains("s3cr3t"), "{dsn}: {text}");
        }
    }

    #[test]
    fn pgpass_gives_the_password_of_the_first_matching_line() {
        let text = "# comment\nother:5432:*:app:nope\ndb.internal:*:shop:app:pa\\:ss\n*:*:*:*:fallback\n";
        assert_eq!(pgpass_lookup(text, "db.internal", "5432", "shop", "app").as_deref(), Some("pa:ss"));
        assert_eq!(pgpass_lookup(text, "x", "1", "y", "z").as_deref(), Some("fallback"));
        assert_eq!(pgpass_lookup("a:1:b:c:d\n", "a", "2", "b", "c"), None);
    }

    #[test]
    fn pgpass_is_used_only_without_a_password_and_only_when_private() {
        let Ok(dir) = tempfile::tempdir() else { return };
        let file = dir.path().join("pgpass");
        assert!(std::fs::write(&file, "db:5432:*:app:from-file\n").is_ok());
        let env = PgEnv { passfile: Some(file.clone()), ..PgEnv::default() };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert!(std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).is_ok());
            let cfg = pg_config_in("host=db user=app", Duration::from_secs(1), &env).ok();
            assert_eq!(cfg.and_then(|c| c.get_password().map(<[u8]>::to_vec)), None, "a world-readable file is ignored");
            assert!(std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).is_ok());
        }
        let cfg = pg_config_in("host=db user=app", Duration::from_secs(1), &env).ok();
        assert_eq!(cfg.and_then(|c| c.get_password().map(<[u8]>::to_vec)), Some(b"from-file".to_vec()));
        let cfg = pg_config_in("host=db user=app password=given", Duration::from_secs(1), &env).ok();
        assert_eq!(cfg.and_then(|c| c.get_password().map(<[u8]>::to_vec)), Some(b"given".to_vec()));
    }
}
