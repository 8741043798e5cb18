//! A Redis master and replica (no persistence) and three Sentinels watching `mymaster`
//! with quorum 2, TLS only (the lab's certificate) with ACL users as a managed Redis is, plus the
//! small client helpers the queues and health checks share (through `backends::redis`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::error::LabError;
use super::info::SENTINEL_MASTER;
use super::process::ProcessSpec;
use super::tools::Toolbox;
use crate::backends::BackendError;
use crate::backends::redis::{Node, RedisTls, SentinelSettings, SettingKeys};

/// Every login of the lab's Redis (in lab.json): the one place the lab's clients (traffic,
/// health checks, tests, sitrep.toml) take their TLS and credentials from.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct RedisLogins {
    /// The lab CA the servers' certificate is checked against.
    pub ca_file: PathBuf,
    /// The ACL user of sitrep and the lab's traffic on the master and replica.
    pub user: String,
    pub password: String,
    /// The Sentinels' own password (`requirepass` in sentinel.conf), not the master's.
    pub sentinel_password: String,
    /// The replica's login on the master (`masteruser`/`masterauth`).
    pub replication_user: String,
    pub replication_password: String,
    /// The Sentinels' login on the master and replica (`sentinel auth-user`/`auth-pass`).
    pub monitor_user: String,
    pub monitor_password: String,
}

impl std::fmt::Debug for RedisLogins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLogins").field("ca_file", &self.ca_file).field("user", &self.user).finish_non_exhaustive()
    }
}

impl RedisLogins {
    /// Fresh passwords for a new lab.
    pub fn generate(ca_file: &Path) -> RedisLogins {
        let secret = || uuid::Uuid::new_v4().simple().to_string()[..20].to_string();
        RedisLogins {
            ca_file: ca_file.to_path_buf(),
            user: "sitrep".into(),
            password: secret(),
            sentinel_password: secret(),
            replication_user: "replicator".into(),
            replication_password: secret(),
            monitor_user: "sentinel".into(),
            monitor_password: secret(),
        }
    }

    /// How sitrep's backends reach the Sentinels at `addrs` and the servers they name: TLS with
    /// the lab CA, the Sentinels' password, and the sitrep ACL user on the data nodes.
    pub fn sentinel_settings(&self, addrs: &[String]) -> SentinelSettings {
        let tls = Some(RedisTls { ca_file: Some(self.ca_file.clone()), cert_file: None, key_file: None });
        SentinelSettings {
            addrs: addrs.to_vec(),
            master: SENTINEL_MASTER.into(),
            sentinel: Node {
                tls: tls.clone(),
                username: String::new(),
                password: self.sentinel_password.clone(),
                keys: SettingKeys::Sentinel,
            },
            data: Node { tls, username: self.user.clone(), password: self.password.clone(), keys: SettingKeys::SentinelData },
        }
    }

    /// The ACL lines of a data node: no default user; sitrep, replication and the Sentinels each
    /// with their own password (Redis's documented rights for the last two).
    fn acl(&self) -> String {
        format!(
            "user default off\n\
             user {} on >{} ~* &* +@all\n\
             user {} on >{} +psync +replconf +ping\n\
             user {} on >{} allchannels +multi +slaveof +replicaof +ping +exec +subscribe +config|rewrite +role +publish +info +client|setname +client|kill +script|kill\n",
            self.user, self.password, self.replication_user, self.replication_password, self.monitor_user, self.monitor_password
        )
    }
}

#[derive(Debug, Clone)]
pub struct RedisPlan {
    pub dir: PathBuf,
    pub master_port: u16,
    pub replica_port: u16,
    pub sentinel_ports: Vec<u16>,
    pub pki: super::pki::LabPki,
    pub logins: RedisLogins,
}

impl RedisPlan {
    /// TLS only: `port 0`, the lab's certificate on `tls-port`, replication over TLS.
    fn tls_lines(&self, port: u16) -> String {
        format!(
            "port 0\ntls-port {port}\nbind 127.0.0.1\ntls-cert-file {}\ntls-key-file {}\ntls-ca-cert-file {}\n\
             tls-auth-clients no\ntls-replication yes\nprotected-mode no\ndaemonize no\nloglevel warning\n",
            self.pki.server_cert.display(),
            self.pki.server_key.display(),
            self.pki.ca_cert.display(),
        )
    }

    /// Writes DIR/NAME/redis.conf (mode 0600: it holds the ACL passwords) and returns the spec.
    pub fn server_spec(&self, tools: &Toolbox, name: &str, port: u16, replica_of: Option<u16>) -> Result<ProcessSpec, LabError> {
        let home = self.dir.join(name);
        std::fs::create_dir_all(&home).map_err(LabError::io("cannot create", &home))?;
        let mut text = format!(
            "{}save \"\"\nappendonly no\ndir {}\n{}masteruser {}\nmasterauth {}\n",
            self.tls_lines(port),
            home.display(),
            self.logins.acl(),
            self.logins.replication_user,
            self.logins.replication_password,
        );
        if let Some(master) = replica_of {
            text.push_str(&format!("replicaof 127.0.0.1 {master}\n"));
        }
        let conf = write_private(&home.join("redis.conf"), &text)?;
        Ok(ProcessSpec { name: name.into(), program: tools.redis_server.clone(), args: vec![conf], env: vec![], run_as: None })
    }

    /// Writes DIR/sentinel-N/sentinel.conf (Sentinel rewrites it) and returns the spec.
    pub fn sentinel_spec(&self, tools: &Toolbox, index: usize) -> Result<ProcessSpec, LabError> {
        let name = format!("sentinel-{index}");
        let home = self.dir.join(&name);
        std::fs::create_dir_all(&home).map_err(LabError::io("cannot create", &home))?;
        let l = &self.logins;
        let text = format!(
            "{tls}dir {home}\nrequirepass {own}\n\
             sentinel monitor {SENTINEL_MASTER} 127.0.0.1 {master} 2\n\
             sentinel auth-user {SENTINEL_MASTER} {user}\n\
             sentinel auth-pass {SENTINEL_MASTER} {pass}\n\
             sentinel down-after-milliseconds {SENTINEL_MASTER} 2000\n\
             sentinel failover-timeout {SENTINEL_MASTER} 10000\n\
             sentinel parallel-syncs {SENTINEL_MASTER} 1\n",
            tls = self.tls_lines(self.sentinel_ports[index]),
            home = home.display(),
            own = l.sentinel_password,
            master = self.master_port,
            user = l.monitor_user,
            pass = l.monitor_password,
        );
        let conf = write_private(&home.join("sentinel.conf"), &text)?;
        Ok(ProcessSpec { name, program: tools.redis_sentinel.clone(), args: vec![conf], env: vec![], run_as: None })
    }

    /// The Sentinels' own addresses (no proxy), with the lab's logins.
    pub fn settings(&self) -> SentinelSettings {
        let addrs: Vec<String> = self.sentinel_ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        self.logins.sentinel_settings(&addrs)
    }
}

fn write_private(path: &Path, text: &str) -> Result<String, LabError> {
    std::fs::write(path, text).map_err(LabError::io("cannot write", path))?;
    super::supervisor::set_mode(path, 0o600);
    Ok(path.display().to_string())
}

/// A deadline short enough for a lab that kills its own servers.
const TIMEOUT: Duration = Duration::from_secs(3);

/// `SENTINEL get-master-addr-by-name mymaster` on one Sentinel, as "host:port".
pub async fn master_from_sentinel(s: &SentinelSettings, sentinel: &str) -> Result<String, BackendError> {
    let mut con = s.connect(sentinel, TIMEOUT).await?;
    crate::backends::redis::master_addr(&mut con, sentinel, &s.master, TIMEOUT)
        .await?
        .ok_or_else(|| BackendError::Server { target: sentinel.into(), server: format!("knows no master {}", s.master) })
}

/// The master the first answering Sentinel names.
pub async fn current_master(s: &SentinelSettings) -> Option<String> {
    for addr in &s.addrs {
        if let Ok(m) = master_from_sentinel(s, addr).await {
            return Some(m);
        }
    }
    None
}

/// A connection to the master the Sentinels name (checked with ROLE), with the sitrep ACL user.
pub async fn master_connection(s: &SentinelSettings) -> Option<redis::aio::MultiplexedConnection> {
    let master = current_master(s).await?;
    let mut con = s.connect_master(&master, TIMEOUT).await.ok()?;
    let role: Vec<redis::Value> = redis::cmd("ROLE").query_async(&mut con).await.ok()?;
    matches!(role.first(), Some(redis::Value::BulkString(r)) if r == b"master").then_some(con)
}

/// Waits until the replica is in sync and every Sentinel knows the master and the other two.
pub async fn wait_ready(plan: &RedisPlan, timeout: Duration) -> Result<(), LabError> {
    let deadline = Instant::now() + timeout;
    let replica = format!("127.0.0.1:{}", plan.replica_port);
    let mut last = String::new();
    while Instant::now() < deadline {
        match ready_once(plan, &replica).await {
            Ok(()) => return Ok(()),
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(LabError::NotHealthy {
        component: "redis".into(),
        secs: timeout.as_secs(),
        why: last,
        log: "logs/redis-*.log, logs/sentinel-*.log".into(),
    })
}

async fn ready_once(plan: &RedisPlan, replica: &str) -> Result<(), String> {
    let s = plan.settings();
    let mut con = s.connect_master(replica, TIMEOUT).await.map_err(|e| format!("replica: {e}"))?;
    let info: String = redis::cmd("INFO").arg("replication").query_async(&mut con).await.map_err(|e| e.to_string())?;
    if !info.contains("master_link_status:up") {
        return Err("replica link to master is not up yet".into());
    }
    for port in &plan.sentinel_ports {
        let addr = format!("127.0.0.1:{port}");
        let mut con = s.connect(&addr, TIMEOUT).await.map_err(|e| format!("sentinel {addr}: {e}"))?;
        let sentinels: Vec<redis::Value> =
            redis::cmd("SENTINEL").arg("sentinels").arg(SENTINEL_MASTER).query_async(&mut con).await.map_err(|e| e.to_string())?;
        if sentinels.len() < plan.sentinel_ports.len() - 1 {
            return Err(format!("sentinel {addr} knows {} other sentinels", sentinels.len()));
        }
        let replicas: Vec<redis::Value> =
            redis::cmd("SENTINEL").arg("replicas").arg(SENTINEL_MASTER).query_async(&mut con).await.map_err(|e| e.to_string())?;
        if replicas.is_empty() {
            return Err(format!("sentinel {addr} has not discovered the replica"));
        }
    }
    Ok(())
}
