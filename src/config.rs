//! sitrep.toml: the one place options are defined, their defaults (from the seeds) and validation.
//! Layering: defaults < file < environment < flags, merged once by `resolve`. Every problem names file, line and fix.

use crate::backends::redis::{Node, QueueSettings, RedisTls, SentinelSettings, SettingKeys};
use crate::model::SourceId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The whole configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub general: General,
    pub kube: KubeSource,
    pub postgres: PostgresSource,
    pub sentinel: SentinelSource,
    pub queues: QueueSource,
    pub s3: S3Source,
    pub alerts: AlertsSource,
    pub timeline: TimelineStoreConfig,
    pub thresholds: Thresholds,
    /// `[[backups]]` tables: more backup sources besides (or instead of) `[s3]`'s, read by `parse`
    /// (each table is `name` plus `[s3]`'s keys); `backup_sources` lists them all.
    #[serde(skip)]
    pub backups: Vec<BackupsSource>,
    /// `[[checks]]` tables: HTTP(S) and TCP health checks, read by `parse` and shown with the
    /// alerts (the alerts collector runs them).
    #[serde(skip)]
    pub checks: Vec<HealthCheck>,
    /// SITREP_TEST_PANIC (never from a file): the console panics after its first frame, so the
    /// terminal-restore test can prove the panic hook gives the terminal back.
    #[serde(skip)]
    pub panic_after_first_frame: bool,
}

/// Where incident timelines are kept, as written in `[timeline] store`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// Files in the data dir only.
    #[default]
    Local,
    /// Files first, then shared through a PostgreSQL database.
    Postgres,
}

/// Where incident timelines are kept: always in local files first (durable before acknowledged);
/// with `store = "postgres"` also shared through a PostgreSQL database (docs/timeline.md).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TimelineStoreConfig {
    /// "local" (default) or "postgres".
    pub store: StoreKind,
    /// For "postgres": libpq key=value DSN or postgres:// URL of the shared database.
    pub dsn: String,
    /// For "postgres": the schema sitrep creates and migrates its tables in.
    pub schema: String,
    /// How far back opening an incident adopts the findings made while none was open.
    pub look_back_secs: u64,
}

impl Default for TimelineStoreConfig {
    fn default() -> Self {
        TimelineStoreConfig {
            store: StoreKind::Local,
            dsn: String::new(),
            schema: "sitrep".into(),
            look_back_secs: crate::timeline::adopt::DEFAULT_LOOK_BACK.num_seconds().unsigned_abs(),
        }
    }
}

impl TimelineStoreConfig {
    pub fn shared(&self) -> bool {
        self.store == StoreKind::Postgres
    }

    /// `look_back_secs` as the duration `incident open` and `:open` adopt findings from.
    pub fn look_back(&self) -> chrono::Duration {
        i64::try_from(self.look_back_secs).ok().and_then(chrono::Duration::try_seconds).unwrap_or(chrono::Duration::MAX)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct General {
    pub refresh_secs: u64,
    pub timeout_secs: u64,
    pub read_only: bool,
    pub theme: String,
    pub view: String,
    pub data_dir: String,
    pub record: bool,
    /// Polled sources slow down while they are steady (no alarm, no failure, no runbook running
    /// for `STEADY_AFTER`) to `Timing::steady`, and are read at their own refresh again the moment
    /// they alarm. `false` reads every source at its refresh all the time.
    pub adaptive: bool,
}

impl Default for General {
    fn default() -> Self {
        General {
            refresh_secs: 2,
            timeout_secs: 3,
            read_only: false,
            theme: "default".into(),
            view: "auto".into(),
            data_dir: String::new(),
            record: false,
            adaptive: true,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct KubeSource {
    pub enabled: bool,
    /// Seconds between reads of this source (kube: between liveness probes); 0 = [general] refresh_secs.
    pub refresh_secs: u64,
    pub kubeconfig: String,
    pub context: String,
    pub namespaces: Vec<String>,
}

impl Default for KubeSource {
    fn default() -> Self {
        KubeSource { enabled: true, refresh_secs: 0, kubeconfig: String::new(), context: String::new(), namespaces: vec![] }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PostgresSource {
    pub enabled: bool,
    /// Seconds between reads of this source (kube: between liveness probes); 0 = [general] refresh_secs.
    pub refresh_secs: u64,
    pub members: Vec<PostgresMember>,
    pub patroni: Vec<String>,
    /// Where pg_restore and pg_ctl live; "" means PATH.
    pub bin_dir: String,
}

impl Default for PostgresSource {
    fn default() -> Self {
        PostgresSource { enabled: true, refresh_secs: 0, members: vec![], patroni: vec![], bin_dir: String::new() }
    }
}

impl PostgresSource {
    /// Each member as (name, dsn).
    pub fn member_dsns(&self) -> Vec<(String, String)> {
        self.members.iter().map(|m| (m.name.clone(), m.dsn.clone())).collect()
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PostgresMember {
    pub name: String,
    pub dsn: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SentinelSource {
    pub enabled: bool,
    /// Seconds between reads of this source (kube: between liveness probes); 0 = [general] refresh_secs.
    pub refresh_secs: u64,
    pub addrs: Vec<String>,
    pub master: String,
    /// The Sentinels' own ACL user and password (`requirepass`/`user` in sentinel.conf).
    pub username: String,
    pub password: String,
    /// The master's and replicas' ACL user and password (what `sentinel auth-user`/`auth-pass` give).
    pub master_username: String,
    pub master_password: String,
    /// The Sentinels and the servers they name speak TLS (`tls-port`, `tls-replication yes`).
    pub tls: bool,
    /// PEM CA bundle ("" = the system's trust store), client certificate and key, for both.
    pub tls_ca_file: String,
    pub tls_cert_file: String,
    pub tls_key_file: String,
}

impl Default for SentinelSource {
    fn default() -> Self {
        SentinelSource {
            enabled: true,
            refresh_secs: 0,
            addrs: vec![],
            master: "mymaster".into(),
            username: String::new(),
            password: String::new(),
            master_username: String::new(),
            master_password: String::new(),
            tls: false,
            tls_ca_file: String::new(),
            tls_cert_file: String::new(),
            tls_key_file: String::new(),
        }
    }
}

impl SentinelSource {
    fn tls_files(&self) -> RedisTls {
        tls_files(&self.tls_ca_file, &self.tls_cert_file, &self.tls_key_file)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct QueueSource {
    pub enabled: bool,
    /// Seconds between reads of this source (kube: between liveness probes); 0 = [general] refresh_secs.
    pub refresh_secs: u64,
    /// redis:// or rediss:// (user:password@ and /db as redis-cli reads them); "" = the Sentinels' master.
    pub url: String,
    pub names: Vec<String>,
    /// For a rediss:// url: PEM CA bundle ("" = the system's trust store), client certificate and key.
    pub tls_ca_file: String,
    pub tls_cert_file: String,
    pub tls_key_file: String,
}

impl Default for QueueSource {
    fn default() -> Self {
        QueueSource {
            enabled: true,
            refresh_secs: 0,
            url: String::new(),
            names: vec!["celery".into()],
            tls_ca_file: String::new(),
            tls_cert_file: String::new(),
            tls_key_file: String::new(),
        }
    }
}

impl QueueSource {
    fn tls_files(&self) -> RedisTls {
        tls_files(&self.tls_ca_file, &self.tls_cert_file, &self.tls_key_file)
    }

    /// Where the queues live as configured: the url and its TLS files.
    pub fn settings(&self) -> QueueSettings {
        QueueSettings { url: self.url.clone(), tls: self.tls_files() }
    }
}

/// Where alerts come from: Alertmanager API v2 base URLs (several allowed: an HA pair's alerts
/// are shown once).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AlertsSource {
    pub enabled: bool,
    /// Seconds between reads of this source (kube: between liveness probes); 0 = [general] refresh_secs.
    pub refresh_secs: u64,
    /// e.g. ["http://alertmanager-0:9093", "http://alertmanager-1:9093"].
    pub alertmanager: Vec<String>,
}

impl Default for AlertsSource {
    fn default() -> Self {
        AlertsSource { enabled: true, refresh_secs: 0, alertmanager: vec![] }
    }
}

/// One `[[checks]]` table: a health check as the runbooks' `curl -f` and "is the port open" are,
/// run by the alerts collector at its pace.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HealthCheck {
    /// Unique among the checks; names the row and the timeline entries.
    pub name: String,
    pub spec: CheckSpec,
}

/// The keys of a `[[checks]]` table besides `name`: exactly one of `url` and `tcp`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct CheckSpec {
    /// An http(s) URL asked with GET (redirects followed), e.g. "https://shop.internal/healthz".
    pub url: String,
    /// A "host:port" that must accept a TCP connection, e.g. "10.0.0.7:6379".
    pub tcp: String,
    /// The status the URL must answer with; 0 = any 2xx (what `curl -f` accepts after redirects).
    pub status: u16,
    /// Text the body must contain ("" = any body).
    pub body_contains: String,
    /// A PEM CA bundle trusted for this URL besides the system's (a private CA).
    pub ca_file: String,
    /// An answer slower than this many milliseconds is a warning (0 = never slow).
    pub slow_ms: u64,
}

impl HealthCheck {
    /// What the check asks, as its row shows it.
    pub fn target(&self) -> String {
        if self.spec.url.is_empty() { format!("tcp {}", self.spec.tcp) } else { self.spec.url.clone() }
    }

    /// What is wrong with the table as written: (key, what, fix).
    pub fn problems(&self) -> Vec<(&'static str, String, String)> {
        let mut out = Vec::new();
        let (url, tcp) = (self.spec.url.as_str(), self.spec.tcp.as_str());
        match (url.is_empty(), tcp.is_empty()) {
            (true, true) => {
                out.push(("", "has neither url nor tcp".into(), "give url = \"https://host/healthz\" or tcp = \"host:port\"".into()))
            }
            (false, false) => out.push(("tcp", "has both url and tcp".into(), "split it into two [[checks]] tables".into())),
            (false, true) if !is_http_url(url) => out.push((
                "url",
                format!("`{}` is not an http(s) URL", crate::sanitize::clean(url)),
                "write it like \"https://shop.internal/healthz\"".into(),
            )),
            (true, false) if !looks_like_host_port(tcp) => {
                out.push(("tcp", format!("`{}` is not host:port", crate::sanitize::clean(tcp)), "write it like \"10.0.0.7:6379\"".into()))
            }
            _ => {}
        }
        if !tcp.is_empty() {
            for (key, set) in [
                ("status", self.spec.status != 0),
                ("body_contains", !self.spec.body_contains.is_empty()),
                ("ca_file", !self.spec.ca_file.is_empty()),
            ] {
                if set {
                    out.push((key, format!("{key} means nothing to a tcp check"), "drop it, or check a url instead".into()));
                }
            }
        }
        if self.spec.status != 0 && !(100..=599).contains(&self.spec.status) {
            out.push((
                "status",
                format!("status {} is not an HTTP status", self.spec.status),
                "use one like 200 or 204 (0 = any 2xx)".into(),
            ));
        }
        if !self.spec.ca_file.is_empty()
            && let Err(d) = crate::backends::pem::roots(Path::new(&self.spec.ca_file))
        {
            out.push((
                "ca_file",
                format!("ca_file {} {d}", crate::sanitize::clean(&self.spec.ca_file)),
                crate::backends::pem::CERTIFICATES_FIX.into(),
            ));
        }
        out
    }
}

/// Three `tls_*_file` keys as the backend takes them ("" = not given).
fn tls_files(ca: &str, cert: &str, key: &str) -> RedisTls {
    let path = |p: &str| (!p.trim().is_empty()).then(|| PathBuf::from(p.trim()));
    RedisTls { ca_file: path(ca), cert_file: path(cert), key_file: path(key) }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct S3Source {
    pub enabled: bool,
    /// Seconds between reads of this source (kube: between liveness probes); 0 = [general] refresh_secs.
    pub refresh_secs: u64,
    pub bucket: String,
    pub region: String,
    pub endpoint: String,
    pub profile: String,
    pub credentials_file: String,
    pub force_path_style: bool,
    /// PEM bundle of the CA(s) that signed an https endpoint's certificate, trusted besides the
    /// system's roots; "" = the system's roots only (or AWS_CA_BUNDLE when that is set).
    pub ca_file: String,
    /// AWS_CA_BUNDLE (never from a file): used when `ca_file` is "".
    #[serde(skip)]
    pub aws_ca_bundle: String,
    pub basebackups_prefix: String,
    pub wal_prefix: String,
    pub dumps_prefix: String,
    pub snapshots_prefix: String,
    /// Which tool writes the base backups and WAL: "auto", "wal-g", "pgbackrest", "barman" or
    /// "files" (today's per-kind prefixes, no catalogue).
    pub layout: String,
    /// Where the tool's repository starts (e.g. "pgbackrest/"); "" = the wal-g prefixes above.
    pub repo_prefix: String,
    /// pgBackRest's stanza ("" = the one found in the repository).
    pub stanza: String,
    /// Barman's server name ("" = the one found in the repository).
    pub server_name: String,
    /// The kinds the estate keeps: "base", "wal", "dumps", "snapshots". A kind not listed is not
    /// looked for, so it is never "missing".
    pub kinds: Vec<String>,
}

/// A backup source as `Config::backup_sources` lists it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NamedBackups<'a> {
    pub name: &'a str,
    pub cfg: &'a S3Source,
    /// Which `[[backups]]` table (0-based); None for `[s3]`.
    pub index: Option<usize>,
}

/// One `[[backups]]` table: a name unique among the backup sources and the keys of `[s3]`.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupsSource {
    pub name: String,
    pub s3: S3Source,
}

impl Default for S3Source {
    fn default() -> Self {
        S3Source {
            enabled: true,
            // Backups change once a minute at most; a listing of a real bucket is many pages.
            refresh_secs: 60,
            bucket: String::new(),
            region: String::new(),
            endpoint: String::new(),
            profile: String::new(),
            credentials_file: String::new(),
            force_path_style: false,
            ca_file: String::new(),
            aws_ca_bundle: String::new(),
            basebackups_prefix: "basebackups_005/".into(),
            wal_prefix: "wal_005/".into(),
            dumps_prefix: "dumps/".into(),
            snapshots_prefix: "snapshots/".into(),
            layout: "auto".into(),
            repo_prefix: String::new(),
            stanza: String::new(),
            server_name: String::new(),
            kinds: ["base", "wal", "dumps", "snapshots"].map(String::from).to_vec(),
        }
    }
}

impl S3Source {
    /// Each kind of backup the estate keeps with the prefix it is listed under.
    pub fn prefixes(&self) -> Vec<(crate::model::BackupKind, &str)> {
        use crate::model::BackupKind;
        [
            (BackupKind::BaseBackup, self.basebackups_prefix.as_str()),
            (BackupKind::Wal, &self.wal_prefix),
            (BackupKind::Dump, &self.dumps_prefix),
            (BackupKind::Snapshot, &self.snapshots_prefix),
        ]
        .into_iter()
        .filter(|(k, _)| self.keeps(*k))
        .collect()
    }

    /// Whether `[s3] kinds` lists this kind.
    pub fn keeps(&self, kind: crate::model::BackupKind) -> bool {
        use crate::model::BackupKind;
        let word = match kind {
            BackupKind::BaseBackup => "base",
            BackupKind::Wal => "wal",
            BackupKind::Dump => "dumps",
            BackupKind::Snapshot => "snapshots",
        };
        self.kinds.iter().any(|k| k.trim().eq_ignore_ascii_case(word))
    }

    /// The kinds kept, as the model carries them.
    pub fn kept_kinds(&self) -> Vec<crate::model::BackupKind> {
        crate::model::BackupKind::ALL.into_iter().filter(|k| self.keeps(*k)).collect()
    }

    /// Whether base backups and WAL come from a tool's catalogue rather than per-kind prefixes.
    pub fn uses_catalog(&self) -> bool {
        match self.layout.trim() {
            "files" => false,
            "auto" => !self.repo_prefix.is_empty(),
            _ => true,
        }
    }

    /// The CA bundle the client trusts besides the system's roots: `ca_file`, else AWS_CA_BUNDLE
    /// (sitrep.toml's key is the more specific; AWS_CA_BUNDLE is often set for every AWS tool).
    pub fn ca_bundle(&self) -> Option<crate::backends::s3::CaBundle<'_>> {
        use crate::backends::s3::CaBundle;
        let (file, env) = (self.ca_file.trim(), self.aws_ca_bundle.trim());
        if !file.is_empty() {
            Some(CaBundle { path: file, setting: "[s3] ca_file" })
        } else {
            (!env.is_empty()).then_some(CaBundle { path: env, setting: "AWS_CA_BUNDLE" })
        }
    }

    /// What this source lists, by key: the repository (or the per-kind prefixes it replaces),
    /// dumps and snapshots, for the kinds it keeps.
    pub fn listed(&self) -> Vec<(&'static str, &str)> {
        use crate::model::BackupKind;
        let mut listed: Vec<(&'static str, &str)> = Vec::new();
        if self.uses_catalog() {
            if self.keeps(BackupKind::BaseBackup) || self.keeps(BackupKind::Wal) {
                listed.push(("repo_prefix", &self.repo_prefix));
            }
        } else {
            if self.keeps(BackupKind::BaseBackup) {
                listed.push(("basebackups_prefix", &self.basebackups_prefix));
            }
            if self.keeps(BackupKind::Wal) {
                listed.push(("wal_prefix", &self.wal_prefix));
            }
        }
        if self.keeps(BackupKind::Dump) {
            listed.push(("dumps_prefix", &self.dumps_prefix));
        }
        if self.keeps(BackupKind::Snapshot) {
            listed.push(("snapshots_prefix", &self.snapshots_prefix));
        }
        listed
    }

    /// `sitrep check`'s findings for `[s3]`: (key, what is wrong, fix).
    pub fn problems(&self) -> Vec<(&'static str, String, String)> {
        let mut out = Vec::new();
        if let Some(ca) = self.ca_bundle()
            && ca.setting == "[s3] ca_file"
            && let Err(e) = crate::backends::s3::read_ca_bundle(ca)
        {
            let (what, fix) = what_and_fix(&e);
            out.push(("ca_file", what, fix));
        }
        let layout = self.layout.trim();
        if layout != "auto" && crate::catalog::Layout::parse(layout).is_none() {
            out.push((
                "layout",
                format!("`{}` is not a known layout", crate::sanitize::clean(layout)),
                "use \"auto\", \"wal-g\", \"pgbackrest\", \"barman\" or \"files\"".to_string(),
            ));
        }
        for k in &self.kinds {
            if !["base", "wal", "dumps", "snapshots"].contains(&k.trim().to_ascii_lowercase().as_str()) {
                out.push((
                    "kinds",
                    format!("`{}` is not a backup kind", crate::sanitize::clean(k)),
                    "list some of \"base\", \"wal\", \"dumps\", \"snapshots\"".into(),
                ));
            }
        }
        let listed = self.listed();
        let walg_at_root = self.uses_catalog() && layout == "wal-g";
        for (key, prefix) in &listed {
            if prefix.is_empty() && !(walg_at_root && *key == "repo_prefix") {
                out.push((
                    *key,
                    format!("{key} is empty: it would list the whole bucket"),
                    format!("set {key} to the folder that holds only these backups (e.g. \"dumps/\"), or drop the kind from [s3] kinds"),
                ));
            }
        }
        for (i, (ka, a)) in listed.iter().enumerate() {
            for (kb, b) in &listed[i + 1..] {
                if !a.is_empty() && !b.is_empty() && (a.starts_with(*b) || b.starts_with(*a)) {
                    out.push((
                        *kb,
                        format!("{ka} \"{a}\" and {kb} \"{b}\" overlap: the same objects would count twice"),
                        "give each kind its own folder".into(),
                    ));
                }
            }
        }
        out
    }

    /// The overrides the S3 client is built with.
    pub fn access(&self) -> crate::backends::s3::Access<'_> {
        crate::backends::s3::Access {
            region: &self.region,
            endpoint: &self.endpoint,
            profile: &self.profile,
            credentials_file: &self.credentials_file,
            force_path_style: self.force_path_style,
            ca_bundle: self.ca_bundle(),
        }
    }
}

/// `sitrep check`'s findings in the environment layer of a resolved config: an AWS_CA_BUNDLE
/// the S3 client would use (no `[s3] ca_file` wins over it) that it cannot read.
pub fn env_problems(c: &Config) -> Vec<Problem> {
    let mut out = Vec::new();
    if c.source_enabled(SourceId::Backups)
        && let Some(ca) = c.s3.ca_bundle().filter(|ca| ca.setting == "AWS_CA_BUNDLE")
        && let Err(e) = crate::backends::s3::read_ca_bundle(ca)
    {
        let (what, fix) = what_and_fix(&e);
        out.push(Problem { file: "AWS_CA_BUNDLE".into(), line: 0, what, fix });
    }
    out
}

/// Thresholds are compared in one place, the verdict module; the config only carries them.
pub use crate::model::verdict::Thresholds;

pub use crate::diag::{Problem, closest, find_line, line_of_offset};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}; check the path given by --config or SITREP_CONFIG")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{} problem(s) in the configuration:\n{}", .0.len(), .0.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
}

/// Every `SITREP_*` variable sitrep reads (outside the lab), taken from the process once at
/// start; docs/sitrep.example.toml lists them. Tests build one by hand instead of touching the process.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Env {
    /// SITREP_CONFIG: the config file (as --config).
    pub config: Option<PathBuf>,
    /// SITREP_SENTINEL_PASSWORD: the Sentinels' own password when `[sentinel] password` is
    /// empty, so it need not be written in a file.
    pub sentinel_password: Option<String>,
    /// SITREP_REDIS_PASSWORD: the password of the master and replicas the Sentinels name when
    /// `[sentinel] master_password` is empty.
    pub redis_password: Option<String>,
    /// SITREP_DATA_DIR: the timeline data dir, over `[general] data_dir`.
    pub data_dir: Option<PathBuf>,
    /// SITREP_LOG: the log filter (e.g. `debug`); default `info`.
    pub log: Option<String>,
    /// SITREP_LOG_DIR: where sitrep.log goes; default the user's state dir.
    pub log_dir: Option<PathBuf>,
    /// SITREP_HOME: the first directory searched for views/, themes/, actions/, recordings/.
    pub home: Option<PathBuf>,
    /// SITREP_TEST_PANIC: panic after the first frame (tests of terminal restoration).
    pub test_panic: bool,
    /// AWS_CA_BUNDLE: the S3 client's CA bundle when `[s3] ca_file` is empty (the AWS CLI's
    /// variable; the rest of the AWS chain's variables are read by aws-config itself).
    pub aws_ca_bundle: Option<PathBuf>,
    /// The PG* variables (PGSSLMODE, PGSSLROOTCERT, PGSSLCERT, PGSSLKEY, PGPASSFILE, PGHOST, ...)
    /// every DSN falls back on, as psql reads them.
    pub pg: crate::backends::postgres::PgEnv,
}

impl Env {
    /// Reads every variable above from this process; empty values count as unset.
    pub fn from_process() -> Env {
        Env::from_lookup(|name| std::env::var_os(name))
    }

    /// The same from any lookup (a map in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<std::ffi::OsString>) -> Env {
        let set = |name: &str| get(name).filter(|v| !v.is_empty());
        let text = |name: &str| set(name).map(|v| v.to_string_lossy().into_owned());
        Env {
            config: set("SITREP_CONFIG").map(PathBuf::from),
            sentinel_password: text("SITREP_SENTINEL_PASSWORD"),
            redis_password: text("SITREP_REDIS_PASSWORD"),
            data_dir: set("SITREP_DATA_DIR").map(PathBuf::from),
            log: text("SITREP_LOG"),
            log_dir: set("SITREP_LOG_DIR").map(PathBuf::from),
            home: set("SITREP_HOME").map(PathBuf::from),
            test_panic: get("SITREP_TEST_PANIC").is_some(),
            aws_ca_bundle: set("AWS_CA_BUNDLE").map(PathBuf::from),
            pg: crate::backends::postgres::PgEnv::from_lookup(&get),
        }
    }
}

/// The command-line flags that override the file and the environment (None/empty/false = not given).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    pub context: Option<String>,
    pub namespaces: Vec<String>,
    pub read_only: bool,
    pub theme: Option<String>,
    pub view: Option<String>,
}

/// The configuration, merged once: defaults < file (`file`, else SITREP_CONFIG, ./sitrep.toml,
/// the user config dir) < environment < flags.
pub fn resolve(file: Option<&Path>, env: &Env, flags: &Overrides) -> Result<Config, ConfigError> {
    let mut config = match locate(file, env) {
        Some(path) => load(&path)?,
        None => Config::default(),
    };
    config.apply_env(env);
    config.apply_flags(flags);
    Ok(config)
}

impl Config {
    /// Applies the environment layer (as `resolve` does); `sitrep check` uses it on a parsed file.
    pub fn apply_env(&mut self, env: &Env) {
        self.panic_after_first_frame = env.test_panic;
        if self.sentinel.password.is_empty()
            && let Some(p) = &env.sentinel_password
        {
            self.sentinel.password.clone_from(p);
        }
        if self.sentinel.master_password.is_empty()
            && let Some(p) = &env.redis_password
        {
            self.sentinel.master_password.clone_from(p);
        }
        if let Some(d) = &env.data_dir {
            self.general.data_dir = d.display().to_string();
        }
        if let Some(ca) = &env.aws_ca_bundle {
            self.s3.aws_ca_bundle = ca.display().to_string();
            for b in &mut self.backups {
                b.s3.aws_ca_bundle = ca.display().to_string();
            }
        }
    }

    fn apply_flags(&mut self, flags: &Overrides) {
        if let Some(c) = &flags.context {
            self.kube.context.clone_from(c);
        }
        if !flags.namespaces.is_empty() {
            self.kube.namespaces.clone_from(&flags.namespaces);
        }
        self.general.read_only |= flags.read_only;
        if let Some(t) = &flags.theme {
            self.general.theme.clone_from(t);
        }
        if let Some(v) = &flags.view {
            self.general.view.clone_from(v);
        }
    }

    /// Every backup source, resolved once: `[s3]` first (named "s3") when it names a bucket, then
    /// each enabled `[[backups]]` table in file order.
    pub fn backup_sources(&self) -> Vec<NamedBackups<'_>> {
        let s3 = (self.s3.enabled && !self.s3.bucket.is_empty()).then_some(NamedBackups { name: "s3", cfg: &self.s3, index: None });
        let tables = self.backups.iter().enumerate().filter(|(_, b)| b.s3.enabled).map(|(i, b)| NamedBackups {
            name: &b.name,
            cfg: &b.s3,
            index: Some(i),
        });
        s3.into_iter().chain(tables).collect()
    }

    /// The backup source the collector, triage and the restore/PITR runbooks read: the first of
    /// `backup_sources` (`[s3]` when nothing names a bucket, so its errors still say what to set).
    pub fn backups_source(&self) -> &S3Source {
        self.backup_sources().first().map_or(&self.s3, |b| b.cfg)
    }

    /// The backup source a runbook reads for `kind`: the first that keeps it (a restore takes its
    /// dump from the source that keeps dumps, a PITR its base backup from the one that keeps
    /// base backups), else the first source.
    pub fn backups_for(&self, kind: crate::model::BackupKind) -> &S3Source {
        self.backup_sources().into_iter().find(|b| b.cfg.kept_kinds().contains(&kind)).map_or_else(|| self.backups_source(), |b| b.cfg)
    }

    /// Whether `source` is configured to be read: the one rule for the console, triage and the CLI.
    pub fn source_enabled(&self, source: SourceId) -> bool {
        match source {
            SourceId::Pods => self.kube.enabled,
            SourceId::Replication => self.postgres.enabled && !(self.postgres.members.is_empty() && self.postgres.patroni.is_empty()),
            SourceId::Sentinel => self.sentinel.enabled && !self.sentinel.addrs.is_empty(),
            SourceId::Queues => {
                self.queues.enabled && !self.queues.names.is_empty() && (!self.queues.url.is_empty() || !self.sentinel.addrs.is_empty())
            }
            SourceId::Backups => !self.backup_sources().is_empty(),
            SourceId::Alerts => self.alerts.enabled && !(self.alerts.alertmanager.is_empty() && self.checks.is_empty()),
        }
    }

    /// Where the Sentinels are, how to log in to them, and how to reach the servers they name
    /// (the same TLS, the master's own credentials).
    pub fn sentinel_settings(&self) -> SentinelSettings {
        let s = &self.sentinel;
        let tls = s.tls.then(|| s.tls_files());
        SentinelSettings {
            addrs: s.addrs.clone(),
            master: s.master.clone(),
            sentinel: Node { tls: tls.clone(), username: s.username.clone(), password: s.password.clone(), keys: SettingKeys::Sentinel },
            data: Node { tls, username: s.master_username.clone(), password: s.master_password.clone(), keys: SettingKeys::SentinelData },
        }
    }

    /// The pace of the collectors: how often they ask and how long they wait.
    /// The pace of one source: its own `refresh_secs`, else `[general] refresh_secs`; the timeout is general.
    pub fn timing_of(&self, source: SourceId) -> Timing {
        let own = match source {
            SourceId::Pods => self.kube.refresh_secs,
            SourceId::Replication => self.postgres.refresh_secs,
            SourceId::Sentinel => self.sentinel.refresh_secs,
            SourceId::Queues => self.queues.refresh_secs,
            // One collector reads every backup source, at the quickest pace any of them asks for
            // (a source's 0 is [general]'s).
            SourceId::Backups => {
                let general = self.general.refresh_secs;
                let paces = self.backup_sources().into_iter().map(|b| if b.cfg.refresh_secs == 0 { general } else { b.cfg.refresh_secs });
                paces.min().unwrap_or(self.s3.refresh_secs)
            }
            SourceId::Alerts => self.alerts.refresh_secs,
        };
        let general = self.timing();
        let refresh = if own == 0 { general.refresh } else { Duration::from_secs(own) };
        Timing { refresh, steady: self.steady_of(refresh), ..general }
    }

    /// The pace of a steady source: three refreshes, but never slower than 30 s (nor faster than its
    /// refresh); a source read once a minute or slower keeps its pace.
    fn steady_of(&self, refresh: Duration) -> Duration {
        if !self.general.adaptive {
            return refresh;
        }
        (refresh * 3).min(Duration::from_secs(30)).max(refresh)
    }

    /// Every source's refresh interval, for judging when its data is stale.
    pub fn refreshes(&self) -> BTreeMap<SourceId, Duration> {
        SourceId::ALL.into_iter().map(|s| (s, self.timing_of(s).refresh)).collect()
    }

    pub fn timing(&self) -> Timing {
        let refresh = Duration::from_secs(self.general.refresh_secs.max(1));
        Timing { refresh, timeout: Duration::from_secs(self.general.timeout_secs.max(1)), steady: self.steady_of(refresh) }
    }
}

/// `[general] refresh_secs` and `timeout_secs` as durations (at least a second each), and the
/// slower pace a polled source keeps while it is steady (`[general] adaptive`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub refresh: Duration,
    pub timeout: Duration,
    pub steady: Duration,
}

/// Where the config was found (or None: built-in defaults).
pub fn locate(explicit: Option<&Path>, env: &Env) -> Option<PathBuf> {
    if let Some(p) = explicit.or(env.config.as_deref()) {
        return Some(p.to_path_buf());
    }
    let local = PathBuf::from("sitrep.toml");
    if local.is_file() {
        return Some(local);
    }
    directories::ProjectDirs::from("", "", "sitrep").map(|d| d.config_dir().join("sitrep.toml")).filter(|p| p.is_file())
}

/// Reads and validates a config file; every problem is reported, not just the first.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
    let (config, problems) = parse(path, &text);
    if problems.is_empty() { Ok(config) } else { Err(ConfigError::Invalid(problems)) }
}

/// Parses config text, collecting every problem; returns the config with bad keys left at default.
pub fn parse(path: &Path, text: &str) -> (Config, Vec<Problem>) {
    let mut problems = Vec::new();
    let root: toml::Table = match text.parse() {
        Ok(t) => t,
        Err(e) => {
            let line = e.span().map_or(1, |s| line_of_offset(text, s.start));
            problems.push(Problem {
                file: path.to_path_buf(),
                line,
                what: format!("not valid TOML: {}", e.message()),
                fix: "fix the syntax (see docs/sitrep.example.toml)".into(),
            });
            return (Config::default(), problems);
        }
    };
    let known = known_keys();
    let mut clean = toml::Table::new();
    let mut backups = Vec::new();
    let mut checks = Vec::new();
    for (section, value) in root {
        if section == "backups" {
            backups = backups_tables(path, text, value, &known, &mut problems);
            continue;
        }
        if section == "checks" {
            checks = checks_tables(path, text, value, &mut problems);
            continue;
        }
        let Some(section_keys) = known.get(section.as_str()) else {
            problems.push(unknown(path, text, None, &section, known.keys().map(String::as_str)));
            continue;
        };
        let toml::Value::Table(table) = value else {
            problems.push(Problem {
                file: path.to_path_buf(),
                line: find_line(text, None, &section),
                what: format!("`{section}` must be a table"),
                fix: format!("write it as a section: [{section}]"),
            });
            continue;
        };
        let mut kept = toml::Table::new();
        for (key, value) in table {
            if !section_keys.contains(&key) {
                problems.push(unknown(path, text, Some(&section), &key, section_keys.iter().map(String::as_str)));
                continue;
            }
            let mut probe = toml::Table::new();
            probe.insert(section.clone(), toml::Value::Table(toml::Table::from_iter([(key.clone(), value.clone())])));
            if let Err(e) = toml::Value::Table(probe).try_into::<Config>() {
                problems.push(Problem {
                    file: path.to_path_buf(),
                    line: find_line(text, Some(&section), &key),
                    what: format!("[{section}] {key}: {}", crate::sanitize::sanitize_bounded(first_line(&e.to_string()).as_str(), 120)),
                    fix: fix_for(&section, &key),
                });
                continue;
            }
            kept.insert(key, value);
        }
        clean.insert(section, toml::Value::Table(kept));
    }
    let mut config = toml::Value::Table(clean).try_into::<Config>().unwrap_or_default();
    config.backups = backups;
    config.checks = checks;
    problems.extend(semantic_problems(path, text, &config));
    problems.extend(backups_problems(path, text, &config));
    problems.extend(checks_problems(path, text, &config));
    (config, problems)
}

/// The `[[backups]]` tables: each key checked as `[s3]`'s are (unknown, wrong type), `name` apart.
fn backups_tables(
    path: &Path,
    text: &str,
    value: toml::Value,
    known: &BTreeMap<String, Vec<String>>,
    problems: &mut Vec<Problem>,
) -> Vec<BackupsSource> {
    let keys = known.get("s3").cloned().unwrap_or_default();
    let tables = ArrayOfTables {
        array: "backups",
        shape_fix: "write each backups source as its own [[backups]] table with a name and [s3]'s keys",
        name_example: "name = \"dumps\"",
        keys: &keys,
        fix_for: &|key| fix_for("s3", key),
    };
    tables.read::<S3Source>(path, text, value, problems).into_iter().map(|(name, s3)| BackupsSource { name, s3 }).collect()
}

/// The `[[checks]]` tables: each key checked alone against `CheckSpec` (unknown, wrong type).
fn checks_tables(path: &Path, text: &str, value: toml::Value, problems: &mut Vec<Problem>) -> Vec<HealthCheck> {
    let keys: Vec<String> = match toml::Value::try_from(CheckSpec::default()) {
        Ok(toml::Value::Table(t)) => t.keys().cloned().collect(),
        _ => Vec::new(),
    };
    let tables = ArrayOfTables {
        array: "checks",
        shape_fix: "write each health check as its own [[checks]] table with a name and a url or tcp",
        name_example: "name = \"api\"",
        keys: &keys,
        fix_for: &|key| format!("give {key} a value of the documented type (see docs/sitrep.example.toml, [[checks]])"),
    };
    // Resolved here, once: what follows (problems, the runner, the rows) reads them trimmed.
    let trimmed = |s: String| s.trim().to_string();
    tables
        .read::<CheckSpec>(path, text, value, problems)
        .into_iter()
        .map(|(name, spec)| HealthCheck {
            name,
            spec: CheckSpec { url: trimmed(spec.url), tcp: trimmed(spec.tcp), ca_file: trimmed(spec.ca_file), ..spec },
        })
        .collect()
}

/// How one array of tables (`[[backups]]`, `[[checks]]`) is read: every table's `name` apart and
/// each other key checked alone (unknown, wrong type), every problem at its own line.
struct ArrayOfTables<'a> {
    array: &'a str,
    shape_fix: &'a str,
    name_example: &'a str,
    keys: &'a [String],
    fix_for: &'a dyn Fn(&str) -> String,
}

impl ArrayOfTables<'_> {
    fn read<T: serde::de::DeserializeOwned + Default>(
        &self,
        path: &Path,
        text: &str,
        value: toml::Value,
        problems: &mut Vec<Problem>,
    ) -> Vec<(String, T)> {
        let array = self.array;
        let at = |index: usize, key: &str| crate::diag::find_line_in_array(text, array, index, key);
        let toml::Value::Array(tables) = value else {
            problems.push(Problem {
                file: path.to_path_buf(),
                line: find_line(text, None, array),
                what: format!("`{array}` must be an array of tables"),
                fix: self.shape_fix.into(),
            });
            return Vec::new();
        };
        let mut out = Vec::new();
        for (index, table) in tables.into_iter().enumerate() {
            let toml::Value::Table(table) = table else { continue };
            let mut kept = toml::Table::new();
            let mut name = String::new();
            for (key, value) in table {
                if key == "name" {
                    match value {
                        toml::Value::String(n) => name = n,
                        _ => problems.push(Problem {
                            file: path.to_path_buf(),
                            line: at(index, "name"),
                            what: format!("[[{array}]] name must be a string"),
                            fix: format!("name it, e.g. {}", self.name_example),
                        }),
                    }
                    continue;
                }
                if !self.keys.contains(&key) {
                    let mut p = unknown(path, text, None, &key, self.keys.iter().map(String::as_str).chain(["name"]));
                    p.what = format!("unknown key `{key}` in [[{array}]]");
                    p.line = at(index, &key);
                    problems.push(p);
                    continue;
                }
                let probe = toml::Value::Table(toml::Table::from_iter([(key.clone(), value.clone())]));
                if let Err(e) = probe.try_into::<T>() {
                    problems.push(Problem {
                        file: path.to_path_buf(),
                        line: at(index, &key),
                        what: format!("[[{array}]] {key}: {}", crate::sanitize::sanitize_bounded(first_line(&e.to_string()).as_str(), 120)),
                        fix: (self.fix_for)(&key),
                    });
                    continue;
                }
                kept.insert(key, value);
            }
            out.push((name, toml::Value::Table(kept).try_into::<T>().unwrap_or_default()));
        }
        out
    }
}

/// `sitrep check`'s findings across the backup sources: each `[[backups]]` table's own problems,
/// names present and unique, no two sources listing overlapping prefixes of one bucket.
fn backups_problems(path: &Path, text: &str, c: &Config) -> Vec<Problem> {
    let mut out = Vec::new();
    let line = |index: Option<usize>, key: &str| match index {
        Some(i) => crate::diag::find_line_in_array(text, "backups", i, key),
        None => find_line(text, Some("s3"), key),
    };
    let sources = c.backup_sources();
    for (i, b) in c.backups.iter().enumerate() {
        let mut bad =
            |key: &str, what: String, fix: String| out.push(Problem { file: path.to_path_buf(), line: line(Some(i), key), what, fix });
        if b.name.trim().is_empty() {
            bad("", format!("[[backups]] table {} has no name", i + 1), "give it name = \"…\", unique among the backup sources".into());
        }
        if b.s3.bucket.trim().is_empty() {
            bad("", format!("[[backups]] `{}` has no bucket", crate::sanitize::clean(&b.name)), "set bucket = \"…\"".into());
        }
        if b.s3.enabled {
            for (key, what, fix) in b.s3.problems() {
                bad(key, format!("[[backups]] `{}`: {what}", crate::sanitize::clean(&b.name)), fix.replace("[s3]", "[[backups]]"));
            }
        }
    }
    for (i, a) in sources.iter().enumerate() {
        for b in &sources[i + 1..] {
            if !a.name.is_empty() && a.name == b.name {
                out.push(Problem {
                    file: path.to_path_buf(),
                    line: line(b.index, "name"),
                    what: format!("two backup sources are named `{}`", crate::sanitize::clean(b.name)),
                    fix: "give each [[backups]] table its own name ([s3]'s source is named \"s3\")".into(),
                });
            }
            if a.cfg.bucket != b.cfg.bucket || a.cfg.endpoint != b.cfg.endpoint {
                continue;
            }
            for (ka, pa) in a.cfg.listed() {
                for (kb, pb) in b.cfg.listed() {
                    if pa.starts_with(pb) || pb.starts_with(pa) {
                        out.push(Problem {
                            file: path.to_path_buf(),
                            line: line(b.index, kb),
                            what: format!(
                                "backup sources `{}` ({ka} \"{pa}\") and `{}` ({kb} \"{pb}\") overlap in bucket {}: the same objects would count twice",
                                crate::sanitize::clean(a.name),
                                crate::sanitize::clean(b.name),
                                crate::sanitize::clean(&b.cfg.bucket)
                            ),
                            fix: "give each source its own folder, or drop the kind from one source's kinds".into(),
                        });
                    }
                }
            }
        }
    }
    out
}

/// `sitrep check`'s findings in the `[[checks]]` tables: each table's own problems, names
/// present and unique.
fn checks_problems(path: &Path, text: &str, c: &Config) -> Vec<Problem> {
    let mut out = Vec::new();
    for (i, check) in c.checks.iter().enumerate() {
        let line = |key: &str| crate::diag::find_line_in_array(text, "checks", i, key);
        let name = crate::sanitize::clean(&check.name);
        if check.name.trim().is_empty() {
            out.push(Problem {
                file: path.to_path_buf(),
                line: line(""),
                what: format!("[[checks]] table {} has no name", i + 1),
                fix: "give it name = \"…\", unique among the checks".into(),
            });
        } else if c.checks[..i].iter().any(|other| other.name == check.name) {
            out.push(Problem {
                file: path.to_path_buf(),
                line: line("name"),
                what: format!("two [[checks]] are named `{name}`"),
                fix: "give each check its own name (it names the row and the timeline entries)".into(),
            });
        }
        for (key, what, fix) in check.problems() {
            out.push(Problem { file: path.to_path_buf(), line: line(key), what: format!("[[checks]] `{name}` {what}"), fix });
        }
    }
    out
}

fn semantic_problems(path: &Path, text: &str, c: &Config) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut bad = |section: &str, key: &str, what: String, fix: &str| {
        out.push(Problem { file: path.to_path_buf(), line: find_line(text, Some(section), key), what, fix: fix.into() })
    };
    if c.general.refresh_secs == 0 {
        bad("general", "refresh_secs", "refresh_secs is 0".into(), "use 1 or more seconds");
    }
    if c.general.timeout_secs == 0 {
        bad("general", "timeout_secs", "timeout_secs is 0".into(), "use 1 or more seconds");
    }
    for addr in &c.sentinel.addrs {
        if !looks_like_host_port(addr) {
            bad("sentinel", "addrs", format!("`{addr}` is not host:port"), "write each Sentinel as \"host:26379\"");
        }
    }
    for url in &c.postgres.patroni {
        if !is_http_url(url) {
            bad("postgres", "patroni", format!("`{url}` is not an http(s) URL"), "write Patroni REST URLs like \"http://10.0.0.5:8008\"");
        }
    }
    for url in &c.alerts.alertmanager {
        if !is_http_url(url) {
            bad(
                "alerts",
                "alertmanager",
                format!("`{}` is not an http(s) URL", crate::sanitize::clean(url)),
                "write each Alertmanager as its base URL, like \"http://10.0.0.9:9093\"",
            );
        }
    }
    for m in &c.postgres.members {
        if m.dsn.trim().is_empty() {
            bad(
                "postgres",
                "members",
                format!("member `{}` has an empty dsn", m.name),
                "give dsn as \"host=... port=... user=...\" or a postgres:// URL",
            );
        } else if let Err(e) = crate::backends::postgres::pg_config(&m.dsn, Duration::from_secs(1)) {
            // The collectors' own parser, with the PG* variables: what fails here fails there.
            bad(
                "postgres",
                "members",
                format!("member `{}`: {}", m.name, crate::sanitize::redact_secrets(&e.to_string())),
                "fix the member's dsn",
            );
        }
    }
    if c.timeline.store == StoreKind::Postgres {
        if c.timeline.dsn.trim().is_empty() {
            bad(
                "timeline",
                "dsn",
                "store = \"postgres\" needs the shared database's dsn".into(),
                "set dsn = \"host=db.internal dbname=sitrep user=sitrep\" (or a postgres:// URL), or store = \"local\"",
            );
        } else if let Err(e) = crate::backends::postgres::pg_config(&c.timeline.dsn, Duration::from_secs(1)) {
            bad("timeline", "dsn", format!("the dsn cannot be read: {}", crate::sanitize::redact_secrets(&e.to_string())), "fix the dsn");
        }
    }
    let schema_ok = {
        let mut b = c.timeline.schema.bytes();
        b.next().is_some_and(|f| f.is_ascii_lowercase() || f == b'_')
            && c.timeline.schema.len() <= 48
            && c.timeline.schema.bytes().all(|x| x.is_ascii_lowercase() || x.is_ascii_digit() || x == b'_')
    };
    if !schema_ok {
        bad(
            "timeline",
            "schema",
            format!("`{}` is not a plain schema name", crate::sanitize::sanitize_bounded(&c.timeline.schema, 60)),
            "use lower-case letters, digits and _ (e.g. \"sitrep\")",
        );
    }
    if c.s3.enabled && !c.s3.bucket.is_empty() {
        for (key, what, fix) in c.s3.problems() {
            bad("s3", key, what, &fix);
        }
    }
    for (key, what) in c.thresholds.inconsistencies() {
        bad("thresholds", key, what, "make the warning threshold the lower one");
    }
    out.extend(redis_problems(path, text, c));
    out
}

/// `sitrep check`'s findings for Redis: the queue URL read by the collectors' parser, TLS files
/// named where no TLS is used, and every named file read as the connections will read it.
fn redis_problems(path: &Path, text: &str, c: &Config) -> Vec<Problem> {
    use crate::backends::redis::Target;
    let mut out = Vec::new();
    let mut bad = |section: &str, key: &str, what: String, fix: String| {
        out.push(Problem { file: path.to_path_buf(), line: find_line(text, Some(section), key), what, fix })
    };
    let shown = |e: &dyn std::fmt::Display| crate::sanitize::redact_secrets(&e.to_string());
    let (q, s) = (&c.queues, &c.sentinel);
    let url = q.url.trim();
    if !(url.is_empty() || url.starts_with("redis://") || url.starts_with("rediss://")) {
        bad(
            "queues",
            "url",
            format!("`{}` is not a redis:// or rediss:// URL", crate::sanitize::clean(&crate::sanitize::redact_secrets(url))),
            "write it as redis://host:6379/0 (rediss:// for TLS), or \"\" to follow the Sentinel master".into(),
        );
    } else if !url.is_empty() {
        match Target::url(url, &q.tls_files()) {
            Err(e) => bad("queues", "url", shown(&e), "fix [queues] url".into()),
            Ok(t) if t.node().tls.is_none() && !q.tls_files().is_empty() => bad(
                "queues",
                "url",
                "tls_*_file is set but [queues] url is redis:// (plain): the files would not be used".into(),
                "use rediss:// for TLS, or remove [queues] tls_ca_file, tls_cert_file and tls_key_file".into(),
            ),
            Ok(t) => {
                if let Some(tls) = &t.node().tls
                    && let Err(e) = tls.certificates(SettingKeys::QueuesUrl)
                {
                    let (what, fix) = what_and_fix(&e);
                    bad("queues", first_tls_key(&what), what, fix);
                }
            }
        }
    } else if !q.tls_files().is_empty() {
        bad(
            "queues",
            "tls_ca_file",
            "[queues] tls_*_file is set without a [queues] url: the Sentinels' master is reached with [sentinel]'s TLS".into(),
            "move the files to [sentinel] tls_ca_file, tls_cert_file and tls_key_file, or set a rediss:// url".into(),
        );
    }
    if s.tls {
        if let Err(e) = s.tls_files().certificates(SettingKeys::Sentinel) {
            let (what, fix) = what_and_fix(&e);
            bad("sentinel", first_tls_key(&what), what, fix);
        }
    } else if !s.tls_files().is_empty() {
        let given = [("tls_ca_file", &s.tls_ca_file), ("tls_cert_file", &s.tls_cert_file), ("tls_key_file", &s.tls_key_file)];
        bad(
            "sentinel",
            given.iter().find(|(_, v)| !v.trim().is_empty()).map_or("tls", |(k, _)| *k),
            "[sentinel] tls_*_file is set but tls = false: the files would not be used".into(),
            "set [sentinel] tls = true (the Sentinels' TLS ports in addrs), or remove the files".into(),
        );
    }
    out
}

/// A backend's verdict on a setting as a problem's what and fix (never with a password).
fn what_and_fix(e: &crate::backends::BackendError) -> (String, String) {
    use crate::sanitize::redact_secrets;
    match e {
        crate::backends::BackendError::BadSetting { input, detail, fix } => (redact_secrets(&format!("{input}: {detail}")), fix.clone()),
        other => (redact_secrets(&other.to_string()), "see docs/sitrep.example.toml".into()),
    }
}

/// Which `tls_*_file` key an error is about (the first it names), for its line.
fn first_tls_key(error: &str) -> &'static str {
    ["tls_key_file", "tls_cert_file", "tls_ca_file"]
        .into_iter()
        .filter_map(|k| error.find(k).map(|at| (at, k)))
        .min()
        .map_or("tls_ca_file", |(_, k)| k)
}

/// An http:// or https:// URL with a host (what Patroni's and Alertmanager's URLs must be).
fn is_http_url(s: &str) -> bool {
    reqwest::Url::parse(s.trim()).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty()))
}

fn looks_like_host_port(s: &str) -> bool {
    s.rsplit_once(':').is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok())
}

fn unknown<'a>(path: &Path, text: &str, section: Option<&str>, key: &str, candidates: impl Iterator<Item = &'a str>) -> Problem {
    let suggestion = closest(key, candidates);
    let what = match section {
        Some(s) => format!("unknown key `{key}` in [{s}]"),
        None => format!("unknown section [{key}]"),
    };
    let fix = match suggestion {
        Some(s) => format!("did you mean `{s}`?"),
        None => "remove it (see docs/sitrep.example.toml for every option)".into(),
    };
    Problem { file: path.to_path_buf(), line: find_line(text, section, key), what, fix }
}

/// Keys of every section, taken from the defaults so the list can never drift from the structs.
fn known_keys() -> std::collections::BTreeMap<String, Vec<String>> {
    let mut out = std::collections::BTreeMap::new();
    if let Ok(toml::Value::Table(root)) = toml::Value::try_from(Config::default()) {
        for (section, value) in root {
            if let toml::Value::Table(t) = value {
                out.insert(section, t.keys().cloned().collect());
            }
        }
    }
    out
}

/// How to fix a value of the wrong type: the choices for an enum-valued key, else an example.
fn fix_for(section: &str, key: &str) -> String {
    match (section, key) {
        ("timeline", "store") => "use \"local\" (files in the data dir) or \"postgres\" (shared between responders)".into(),
        _ => format!("give {key} a value of the documented type (see docs/sitrep.example.toml: {})", example_of(section, key)),
    }
}

fn example_of(section: &str, key: &str) -> String {
    toml::Value::try_from(Config::default())
        .ok()
        .and_then(|v| v.get(section).and_then(|s| s.get(key)).map(|v| format!("{key} = {v}")))
        .unwrap_or_else(|| key.to_string())
}

fn first_line(s: &str) -> String {
    // toml errors carry a caret diagram after the message; the first meaningful line is enough.
    s.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with("TOML parse error")).unwrap_or(s).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<Problem> {
        parse(Path::new("sitrep.toml"), text).1
    }

    #[test]
    fn backups_tables_are_resolved_once_with_every_problem_at_its_line() {
        // One [[backups]] table alone is the backup source, as [s3] was.
        let (c, found) = parse(
            Path::new("sitrep.toml"),
            "[[backups]]\nname = \"wal\"\nbucket = \"b\"\nlayout = \"pgbackrest\"\nrepo_prefix = \"pgbackrest/\"\nkinds = [\"base\", \"wal\"]\n",
        );
        assert!(found.is_empty(), "{found:?}");
        assert_eq!(c.backup_sources().iter().map(|b| b.name).collect::<Vec<_>>(), ["wal"]);
        assert_eq!(c.backups_source().repo_prefix, "pgbackrest/");
        assert!(c.source_enabled(SourceId::Backups));
        // Two sources: a duplicate name, an overlap in one bucket, an unknown key, a wrong type,
        // each said at its own line. Two good sources are no problem: each is read.
        let text = "[s3]\nbucket = \"b\"\nkinds = [\"dumps\"]\ndumps_prefix = \"dumps/\"\n\n\
                    [[backups]]\nname = \"s3\"\nbucket = \"b\"\nkinds = [\"dumps\"]\ndumps_prefix = \"dumps/shop/\"\nstanzaa = \"x\"\nforce_path_style = \"yes\"\n";
        let found = problems(text);
        let at = |words: &str| {
            found.iter().find(|p| p.what.contains(words)).map(|p| p.line).unwrap_or_else(|| panic!("no {words:?} in {found:?}"))
        };
        assert_eq!(at("two backup sources are named `s3`"), 7);
        assert_eq!(at("overlap in bucket b"), 10);
        assert_eq!(at("unknown key `stanzaa` in [[backups]]"), 11);
        assert!(found.iter().any(|p| p.what.contains("unknown key `stanzaa`") && p.fix.contains("stanza")), "{found:?}");
        assert_eq!(at("[[backups]] force_path_style"), 12);
        let two = "[s3]\nbucket = \"b\"\nkinds = [\"dumps\"]\n\n[[backups]]\nname = \"wal\"\nbucket = \"b\"\nlayout = \"pgbackrest\"\n\
                   repo_prefix = \"pgbackrest/\"\nkinds = [\"base\", \"wal\"]\n";
        let (c, found) = parse(Path::new("sitrep.toml"), two);
        assert!(found.is_empty(), "{found:?}");
        assert_eq!(c.backup_sources().iter().map(|b| b.name).collect::<Vec<_>>(), ["s3", "wal"]);
        assert_eq!(c.timing_of(SourceId::Backups).refresh, Duration::from_secs(60), "both at [s3]'s default 60 s");
        let general = parse(Path::new("sitrep.toml"), &format!("[general]\nrefresh_secs = 5\n\n{two}refresh_secs = 0\n")).0;
        assert_eq!(general.timing_of(SourceId::Backups).refresh, Duration::from_secs(5), "a source's 0 is [general]'s, the quicker");
        // A restore reads the source that keeps dumps, a PITR the one that keeps base backups.
        assert_eq!(c.backups_for(crate::model::BackupKind::Dump).repo_prefix, "");
        assert_eq!(c.backups_for(crate::model::BackupKind::BaseBackup).repo_prefix, "pgbackrest/");
        // A table without a name or bucket, and its own [s3]-style problems.
        let found = problems("[[backups]]\ndumps_prefix = \"\"\nkinds = [\"dumps\"]\n");
        assert!(found.iter().any(|p| p.what.contains("has no name") && p.line == 1), "{found:?}");
        assert!(found.iter().any(|p| p.what.contains("has no bucket")), "{found:?}");
        assert!(found.iter().any(|p| p.what.contains("dumps_prefix is empty") && p.line == 2), "{found:?}");
    }

    #[test]
    fn checks_tables_are_read_with_every_problem_at_its_line() {
        let text = "[[checks]]\nname = \"api\"\nurl = \"https://shop.internal/healthz\"\nbody_contains = \"ok\"\nslow_ms = 800\n\n\
                    [[checks]]\nname = \"redis\"\ntcp = \"10.0.0.7:6379\"\n";
        let (c, found) = parse(Path::new("sitrep.toml"), text);
        assert!(found.is_empty(), "{found:?}");
        assert_eq!(c.checks.iter().map(|k| k.name.as_str()).collect::<Vec<_>>(), ["api", "redis"]);
        assert_eq!(c.checks[0].spec.slow_ms, 800);
        assert_eq!(c.checks[1].target(), "tcp 10.0.0.7:6379");
        assert!(c.source_enabled(SourceId::Alerts), "checks alone make the alerts source");
        let off = parse(Path::new("x"), &format!("[alerts]\nenabled = false\n\n{text}")).0;
        assert!(!off.source_enabled(SourceId::Alerts), "[alerts] enabled = false turns the checks off too");
        let text = "[[checks]]\nname = \"api\"\nurl = \"ftp://x\"\n\n\
                    [[checks]]\nname = \"api\"\ntcp = \"nohost\"\nstatus = 200\n\n\
                    [[checks]]\nurl = \"https://a\"\ntcp = \"a:1\"\nbody_contain = \"x\"\nslow_ms = \"fast\"\n";
        let found = problems(text);
        let at = |words: &str| {
            found.iter().find(|p| p.what.contains(words)).map(|p| p.line).unwrap_or_else(|| panic!("no {words:?} in {found:?}"))
        };
        assert_eq!(at("`ftp://x` is not an http(s) URL"), 3);
        assert_eq!(at("two [[checks]] are named `api`"), 6);
        assert_eq!(at("`nohost` is not host:port"), 7);
        assert_eq!(at("status means nothing to a tcp check"), 8);
        assert_eq!(at("table 3 has no name"), 10);
        assert_eq!(at("has both url and tcp"), 12);
        assert_eq!(at("unknown key `body_contain` in [[checks]]"), 13);
        assert!(found.iter().any(|p| p.what.contains("unknown key `body_contain`") && p.fix.contains("body_contains")), "{found:?}");
        assert_eq!(at("[[checks]] slow_ms"), 14);
        assert_eq!(problems("checks = 3\n").first().map(|p| p.what.as_str()), Some("`checks` must be an array of tables"));
    }

    #[test]
    fn unknown_key_and_wrong_type_are_both_reported_with_lines() {
        let text = "[general]\nrefresh_secs = \"fast\"\n\n[sentinel]\nmaster = \"mymaster\"\nadrs = [\"a:1\"]\n";
        let found = problems(text);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].line, 2);
        assert!(found[0].what.contains("refresh_secs"), "{}", found[0]);
        assert_eq!(found[1].line, 6);
        assert!(found[1].fix.contains("did you mean `addrs`"), "{}", found[1]);
    }

    #[test]
    fn unknown_section_is_suggested() {
        let found = problems("[sentinels]\naddrs = []\n");
        assert_eq!(found.len(), 1);
        assert!(found[0].fix.contains("`sentinel`"), "{}", found[0]);
    }

    #[test]
    fn syntax_error_names_its_line() {
        let found = problems("[general]\nrefresh_secs = = 3\n");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].line, 2);
    }

    #[test]
    fn a_shared_timeline_needs_a_known_store_a_dsn_and_a_plain_schema_name() {
        let found = problems("[timeline]\nstore = \"postgress\"\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].line == 2 && found[0].fix.contains("\"postgres\""), "{}", found[0]);
        let found = problems("[timeline]\nstore = \"postgres\"\n");
        assert!(found.len() == 1 && found[0].what.contains("dsn"), "{found:?}");
        let found = problems("[timeline]\nstore = \"postgres\"\ndsn = \"host=db\"\nschema = \"x; DROP TABLE y\"\n");
        assert!(found.len() == 1 && found[0].line == 4 && found[0].fix.contains("lower-case"), "{found:?}");
        assert!(problems("[timeline]\nstore = \"postgres\"\ndsn = \"host=db dbname=incidents\"\n").is_empty());
    }

    #[test]
    fn the_look_back_is_read_from_the_timeline_section() {
        let (c, found) = parse(Path::new("x"), "[timeline]\nlook_back_secs = 7200\n");
        assert!(found.is_empty(), "{found:?}");
        assert_eq!(c.timeline.look_back(), chrono::Duration::hours(2));
        assert_eq!(Config::default().timeline.look_back(), crate::timeline::adopt::DEFAULT_LOOK_BACK);
        // Any number is a duration, never a panic.
        let (c, _) = parse(Path::new("x"), &format!("[timeline]\nlook_back_secs = {}\n", i64::MAX));
        assert_eq!(c.timeline.look_back(), chrono::Duration::MAX);
        let found = problems("[timeline]\nlook_back_secs = \"2h\"\n");
        assert!(found.len() == 1 && found[0].line == 2, "{found:?}");
    }

    #[test]
    fn defaults_come_from_the_seeds() {
        let (c, found) = parse(Path::new("x"), "");
        assert!(found.is_empty());
        assert_eq!(c.thresholds.rpo_secs, 300);
        assert_eq!(c.thresholds.redis_rto_secs, 120);
    }

    #[test]
    fn each_source_refreshes_at_its_own_pace_backups_once_a_minute_by_default() {
        let c = Config::default();
        assert_eq!(c.timing_of(SourceId::Backups).refresh, Duration::from_secs(60));
        assert_eq!(c.timing_of(SourceId::Replication), c.timing(), "0 is [general] refresh_secs");
        let text = "[general]\nrefresh_secs = 5\ntimeout_secs = 4\n[sentinel]\nrefresh_secs = 10\n[s3]\nrefresh_secs = 0\n";
        let (c, found) = parse(Path::new("sitrep.toml"), text);
        assert!(found.is_empty(), "{found:?}");
        let sentinel = Timing { refresh: Duration::from_secs(10), timeout: Duration::from_secs(4), steady: Duration::from_secs(30) };
        assert_eq!(c.timing_of(SourceId::Sentinel), sentinel);
        assert_eq!(c.timing_of(SourceId::Backups).refresh, Duration::from_secs(5));
        assert_eq!(c.timing_of(SourceId::Queues).refresh, Duration::from_secs(5));
        assert_eq!(c.refreshes().get(&SourceId::Sentinel), Some(&Duration::from_secs(10)));
    }

    #[test]
    fn a_steady_source_slows_to_three_refreshes_at_most_30s_unless_adaptive_is_off() {
        let c = Config::default();
        assert_eq!(c.timing_of(SourceId::Replication).steady, Duration::from_secs(6), "2 s -> 6 s");
        assert_eq!(c.timing_of(SourceId::Backups).steady, Duration::from_secs(60), "a minute or slower keeps its pace");
        let (c, found) = parse(Path::new("sitrep.toml"), "[general]\nrefresh_secs = 15\n");
        assert!(found.is_empty(), "{found:?}");
        assert_eq!(c.timing_of(SourceId::Queues).steady, Duration::from_secs(30), "45 s is capped at 30 s");
        let (c, found) = parse(Path::new("sitrep.toml"), "[general]\nadaptive = false\n");
        assert!(found.is_empty(), "{found:?}");
        assert_eq!(c.timing_of(SourceId::Replication).steady, Duration::from_secs(2));
    }

    #[test]
    fn the_documented_example_is_valid() {
        let text = include_str!("../docs/sitrep.example.toml");
        let (c, found) = parse(Path::new("docs/sitrep.example.toml"), text);
        assert!(found.is_empty(), "{found:?}");
        assert_eq!(c, Config::default());
    }

    #[test]
    fn layers_merge_defaults_then_file_then_environment_then_flags() {
        let Ok(dir) = tempfile::tempdir() else { return };
        let file = dir.path().join("sitrep.toml");
        let text = "[general]\ndata_dir = \"/from/file\"\ntheme = \"dark\"\n[kube]\ncontext = \"file-ctx\"\n";
        assert!(std::fs::write(&file, text).is_ok());
        let env = Env::from_lookup(|name| match name {
            "SITREP_DATA_DIR" => Some("/from/env".into()),
            "SITREP_SENTINEL_PASSWORD" => Some("pw".into()),
            "SITREP_LOG" => Some("".into()),
            _ => None,
        });
        assert_eq!(env.log, None, "an empty variable counts as unset");
        let flags = Overrides { context: Some("flag-ctx".into()), read_only: true, ..Overrides::default() };
        let c = resolve(Some(&file), &env, &flags).unwrap_or_default();
        assert_eq!(c.general.data_dir, "/from/env");
        assert_eq!(c.general.theme, "dark");
        assert_eq!(c.kube.context, "flag-ctx");
        assert!(c.general.read_only);
        assert_eq!(c.sentinel.password, "pw");
        assert_eq!(c.general.refresh_secs, 2, "a default stays when nothing sets it");
        let c = resolve(Some(&file), &Env::default(), &Overrides::default()).unwrap_or_default();
        assert_eq!((c.general.data_dir.as_str(), c.kube.context.as_str()), ("/from/file", "file-ctx"));
    }

    #[test]
    fn one_rule_says_which_sources_are_on() {
        let mut c = Config::default();
        assert!(c.source_enabled(SourceId::Pods));
        assert!(!c.source_enabled(SourceId::Queues), "queues need a URL or Sentinels to find the server");
        c.sentinel.addrs = vec!["s:26379".into()];
        assert!(c.source_enabled(SourceId::Queues) && c.source_enabled(SourceId::Sentinel));
        c.queues.enabled = false;
        assert!(!c.source_enabled(SourceId::Queues));
        assert!(!c.source_enabled(SourceId::Backups));
    }

    #[test]
    fn the_store_kind_reads_the_same_text_as_before() {
        let (c, found) = parse(Path::new("x"), "[timeline]\nstore = \"postgres\"\ndsn = \"host=db\"\n");
        assert!(found.is_empty(), "{found:?}");
        assert_eq!(c.timeline.store, StoreKind::Postgres);
        assert!(c.timeline.shared());
    }

    #[test]
    fn an_empty_or_overlapping_s3_prefix_is_a_problem() {
        let found = problems("[s3]\nbucket = \"b\"\ndumps_prefix = \"\"\n");
        assert!(found.len() == 1 && found[0].what.contains("whole bucket") && found[0].line == 3, "{found:?}");
        let found =
            problems("[s3]\nbucket = \"b\"\nlayout = \"pgbackrest\"\nrepo_prefix = \"backups/\"\ndumps_prefix = \"backups/dumps/\"\n");
        assert!(found.len() == 1 && found[0].what.contains("overlap"), "{found:?}");
        let found = problems("[s3]\nbucket = \"b\"\nlayout = \"pgbackrst\"\n");
        assert!(found.iter().any(|p| p.line == 3 && p.fix.contains("\"pgbackrest\"")), "{found:?}");
        let ok = "[s3]\nbucket = \"b\"\nlayout = \"pgbackrest\"\nrepo_prefix = \"pgbackrest/\"\nkinds = [\"base\", \"wal\"]\ndumps_prefix = \"\"\n";
        assert!(problems(ok).is_empty(), "a kind not kept is not listed: {:?}", problems(ok));
    }

    #[test]
    fn the_s3_ca_bundle_is_ca_file_then_aws_ca_bundle_and_check_reads_it() {
        let Ok(dir) = tempfile::tempdir() else { panic!("tempdir") };
        let missing = dir.path().join("no-such-ca.pem").display().to_string();
        let not_pem = dir.path().join("key.pem");
        assert!(std::fs::write(&not_pem, "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n").is_ok());
        let found = problems(&format!("[s3]\nbucket = \"b\"\nca_file = \"{missing}\"\n"));
        assert!(found.len() == 1 && found[0].line == 3, "{found:?}");
        assert!(found[0].what.contains("[s3] ca_file") && found[0].what.contains("no-such-ca.pem"), "{}", found[0]);
        let found = problems(&format!("[s3]\nbucket = \"b\"\nca_file = \"{}\"\n", not_pem.display()));
        assert!(found.len() == 1 && found[0].what.contains("no PEM certificate"), "{found:?}");
        // The file's key wins over AWS_CA_BUNDLE; the variable fills an empty key.
        let env = Env::from_lookup(|name| (name == "AWS_CA_BUNDLE").then(|| "/etc/env-ca.pem".into()));
        let mut c = Config::default();
        c.apply_env(&env);
        assert_eq!(c.s3.access().ca_bundle.map(|ca| (ca.path, ca.setting)), Some(("/etc/env-ca.pem", "AWS_CA_BUNDLE")));
        c.s3.ca_file = "/etc/file-ca.pem".into();
        assert_eq!(c.s3.access().ca_bundle.map(|ca| (ca.path, ca.setting)), Some(("/etc/file-ca.pem", "[s3] ca_file")));
        assert_eq!(Config::default().s3.access().ca_bundle, None, "neither: the system's roots");
        // check names a bad AWS_CA_BUNDLE the client would use, and not one the file overrides.
        c.s3.bucket = "b".into();
        assert!(env_problems(&c).is_empty(), "ca_file wins: the variable is not read");
        c.s3.ca_file.clear();
        let found = env_problems(&c);
        assert!(found.len() == 1 && found[0].to_string().starts_with("AWS_CA_BUNDLE"), "{found:?}");
    }

    #[test]
    fn check_reads_member_dsns_with_the_collectors_parser() {
        let found = problems("[postgres]\nmembers = [{ name = \"pg-0\", dsn = \"host=db password=s3cr3t sslmode=verify-full\" }]\n");
        assert!(found.len() == 1 && found[0].what.contains("pg-0") && found[0].what.contains("sslrootcert"), "{found:?}");
        assert!(!found[0].to_string().contains("s3cr3t"), "{}", found[0]);
        let found =
            problems("[postgres]\nmembers = [{ name = \"pg-0\", dsn = \"host=db sslmode=require sslrootcert=/no/such/ca.pem\" }]\n");
        assert!(found.len() == 1 && found[0].what.contains("/no/such/ca.pem"), "{found:?}");
        assert!(
            problems("[postgres]\nmembers = [{ name = \"pg-0\", dsn = \"host=db sslmode=verify-full sslrootcert=system\" }]\n").is_empty()
        );
    }

    #[test]
    fn check_reads_redis_tls_settings_as_the_connections_will() {
        let Ok(dir) = tempfile::tempdir() else { panic!("tempdir") };
        let ca = dir.path().join("ca.pem");
        assert!(std::fs::write(&ca, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n").is_ok());
        let ca = ca.display().to_string();
        let missing = dir.path().join("no-such-ca.pem").display().to_string();
        // A rediss URL with a missing CA file: the file named, on the key's line, no password shown.
        let found = problems(&format!("[queues]\nurl = \"rediss://app:s3cr3t@q:6380/0\"\ntls_ca_file = \"{missing}\"\n"));
        assert!(found.len() == 1 && found[0].line == 3 && found[0].what.contains("no-such-ca.pem"), "{found:?}");
        assert!(found[0].what.contains("[queues] tls_ca_file") && !found[0].to_string().contains("s3cr3t"), "{}", found[0]);
        assert!(problems(&format!("[queues]\nurl = \"rediss://app:s3cr3t@q:6380/0\"\ntls_ca_file = \"{ca}\"\n")).is_empty());
        assert!(problems("[queues]\nurl = \"rediss://q:6380/0\"\n").is_empty(), "no CA file: the system's trust store");
        // TLS files that would not be used, and a certificate without its key.
        let found = problems(&format!("[queues]\nurl = \"redis://q:6379/0\"\ntls_ca_file = \"{ca}\"\n"));
        assert!(found.len() == 1 && found[0].fix.contains("use rediss://"), "{found:?}");
        let found = problems(&format!("[sentinel]\naddrs = [\"s:26379\"]\ntls_ca_file = \"{ca}\"\n"));
        assert!(found.len() == 1 && found[0].fix.contains("tls = true"), "{found:?}");
        let found = problems(&format!("[sentinel]\naddrs = [\"s:26379\"]\ntls = true\ntls_cert_file = \"{ca}\"\n"));
        assert!(found.len() == 1 && found[0].line == 4 && found[0].what.contains("without tls_key_file"), "{found:?}");
        let found = problems(&format!("[sentinel]\naddrs = [\"s:26379\"]\ntls = true\ntls_ca_file = \"{missing}\"\n"));
        assert!(found.len() == 1 && found[0].what.contains("no-such-ca.pem"), "{found:?}");
        // A URL the collectors' parser refuses, named without its password.
        let found = problems("[queues]\nurl = \"rediss://app:s3cr3t@:x/0\"\n");
        assert!(found.len() == 1 && found[0].line == 2 && !found[0].to_string().contains("s3cr3t"), "{found:?}");
        let found = problems("[queues]\nurl = \"http://q:6379\"\n");
        assert!(found.len() == 1 && found[0].what.contains("not a redis:// or rediss:// URL"), "{found:?}");
    }

    #[test]
    fn alertmanager_urls_are_checked_and_switch_the_alerts_source_on() {
        let found = problems("[alerts]\nalertmanager = [\"http://am-0:9093\", \"am-1:9093\", \"ftp://am-2\"]\n");
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found.iter().all(|p| p.line == 2 && p.fix.contains("http://")), "{found:?}");
        assert!(found[0].what.contains("am-1:9093") && found[1].what.contains("ftp://am-2"), "{found:?}");
        let (c, found) = parse(Path::new("x"), "[alerts]\nalertmanager = [\"https://am.internal\"]\n");
        assert!(found.is_empty(), "{found:?}");
        assert!(c.source_enabled(SourceId::Alerts));
        assert!(!Config::default().source_enabled(SourceId::Alerts), "no [alerts]: no alerts source");
    }

    #[test]
    fn semantic_mistakes_are_caught() {
        let found = problems("[sentinel]\naddrs = [\"nohost\"]\n[thresholds]\nlag_warn_secs = 100\nlag_crit_secs = 10\n");
        assert_eq!(found.len(), 2, "{found:?}");
    }
}
