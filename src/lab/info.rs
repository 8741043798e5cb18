//! DIR/lab.json: every endpoint, credential, port and pid of a running lab.
//! Written by the supervisor once every component is healthy; read by `attach`, tests and the demo.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::LabError;

/// Fixed lab credentials: fake on purpose, so recordings can be grepped for leaks.
pub const S3_ACCESS_KEY: &str = "AKIASITREPLAB0000001";
pub const S3_SECRET_KEY: &str = "sitrep-lab-secret-do-not-leak";
pub const S3_BUCKET: &str = "sitrep-lab-backups";
pub const S3_REGION: &str = "us-east-1";
pub const SENTINEL_MASTER: &str = "mymaster";
pub const QUEUE_NAMES: [&str; 3] = ["celery", "emails", "reports"];

/// The contents of DIR/lab.json.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LabInfo {
    pub dir: PathBuf,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub scenario: Option<String>,
    pub supervisor_pid: u32,
    /// Loopback control endpoint of the supervisor (`host:port`), used by `sitrep lab fault`.
    pub control_addr: String,
    pub control_token: String,
    pub kube: KubeEndpoints,
    pub postgres: PostgresEndpoints,
    pub redis: RedisEndpoints,
    pub queues: QueueEndpoints,
    pub s3: S3Endpoints,
    /// Component name -> pid of the process the supervisor started.
    pub pids: BTreeMap<String, u32>,
    /// Component name -> port it listens on.
    pub ports: BTreeMap<String, u16>,
    /// Seconds between scheduled pg_dump backups.
    pub backup_every_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KubeEndpoints {
    pub kubeconfig: PathBuf,
    pub server: String,
    pub context: String,
    pub namespace: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PostgresMember {
    pub name: String,
    pub dsn: String,
    pub port: u16,
    pub patroni_url: String,
    pub data_dir: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PostgresEndpoints {
    pub members: Vec<PostgresMember>,
    pub etcd_url: String,
    pub scope: String,
    pub superuser: String,
    pub superuser_password: String,
    pub replication_user: String,
    pub replication_password: String,
    pub database: String,
    /// The lab CA (`sslrootcert`) and the pgpass file (`passfile`) of every member's DSN.
    pub ca_file: PathBuf,
    pub passfile: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RedisEndpoints {
    /// The master at start; after a failover ask the Sentinels.
    pub master: String,
    pub replica: String,
    /// Sentinel addresses as the console sees them (the first goes through the network-slow proxy).
    pub sentinels: Vec<String>,
    /// The Sentinels' own listening addresses, without the proxy.
    pub sentinels_direct: Vec<String>,
    pub master_name: String,
    /// TLS (the lab CA) and every ACL login of the servers and the Sentinels.
    pub logins: super::redis::RedisLogins,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QueueEndpoints {
    pub names: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct S3Endpoints {
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub credentials_file: PathBuf,
    pub profile: String,
    /// The lab CA the https endpoint (the TLS front before moto) is trusted with.
    pub ca_file: PathBuf,
}

impl LabInfo {
    pub fn path(dir: &Path) -> PathBuf {
        dir.join("lab.json")
    }

    pub fn read(dir: &Path) -> Result<LabInfo, LabError> {
        let path = Self::path(dir);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| LabError::NoLab { dir: dir.to_path_buf(), why: format!("cannot read {}: {e}", path.display()) })?;
        serde_json::from_str(&text).map_err(|e| LabError::NoLab {
            dir: dir.to_path_buf(),
            why: format!("{} is not a lab.json of this sitrep version: {e}", path.display()),
        })
    }

    /// Writes atomically (temp file + rename) so readers never see half a file.
    pub fn write(&self) -> Result<(), LabError> {
        let path = Self::path(&self.dir);
        let tmp = self.dir.join(".lab.json.tmp");
        let text = serde_json::to_string_pretty(self).map_err(|e| LabError::Other(e.to_string()))?;
        std::fs::write(&tmp, text).map_err(LabError::io("cannot write", &tmp))?;
        std::fs::rename(&tmp, &path).map_err(LabError::io("cannot write", &path))
    }

    /// The DSN of a member for a given database: the superuser over TLS (verify-full with the
    /// lab CA), the password in the lab's pgpass file. Connect with `backends::postgres::connect`.
    pub fn dsn(&self, member: &str, database: &str) -> Option<String> {
        let m = self.postgres.members.iter().find(|m| m.name == member)?;
        Some(super::postgres::member_dsn(m.port, database, &self.postgres.ca_file, &self.postgres.passfile))
    }

    /// How to reach the Sentinels (their own addresses, not the proxy) and the servers they name:
    /// TLS and the lab's logins, for `backends::redis`.
    pub fn redis_settings(&self) -> crate::backends::redis::SentinelSettings {
        self.redis.logins.sentinel_settings(&self.redis.sentinels_direct)
    }

    /// The environment a libpq program (psql, pg_dump) needs to reach the lab: TLS checked
    /// against the lab CA and the password from the pgpass file.
    pub fn libpq_env(&self) -> Vec<(String, String)> {
        super::postgres::libpq_env(&self.postgres.ca_file, &self.postgres.passfile)
    }
}
