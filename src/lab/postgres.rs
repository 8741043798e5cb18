//! etcd (one member) and two Patroni members running PostgreSQL 15 as the `postgres` user,
//! with streaming replication, WAL archiving to the lab's S3 and the `shop` database; TCP only
//! over TLS with the lab's certificate (`hostssl` + scram), as a managed database is.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::json;

use super::error::LabError;
use super::process::ProcessSpec;
use super::tools::{PG_BIN, PostgresUser, Toolbox};

/// One Patroni member's ports and paths.
#[derive(Debug, Clone)]
pub struct MemberPlan {
    pub name: String,
    pub pg_port: u16,
    pub rest_port: u16,
    pub home: PathBuf,
}

impl MemberPlan {
    pub fn data_dir(&self) -> PathBuf {
        self.home.join("data")
    }
    pub fn patroni_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.rest_port)
    }
}

/// Everything needed to write the etcd and Patroni command lines and configs.
#[derive(Debug, Clone)]
pub struct PostgresPlan {
    pub dir: PathBuf,
    pub etcd_client_port: u16,
    pub etcd_peer_port: u16,
    pub members: Vec<MemberPlan>,
    pub scope: String,
    pub superuser_password: String,
    pub replication_password: String,
    pub s3_endpoint: String,
    /// The lab CA clients verify the servers with (`super::pki`).
    pub pki: super::pki::LabPki,
    /// DIR/pgpass (root's, mode 0600): the superuser's password for every client of the lab.
    pub passfile: PathBuf,
}

pub const SUPERUSER: &str = "postgres";
pub const REPLICATION_USER: &str = "replicator";

impl PostgresPlan {
    pub fn etcd_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.etcd_client_port)
    }

    pub fn etcd_spec(&self, tools: &Toolbox) -> ProcessSpec {
        let client = self.etcd_url();
        let peer = format!("http://127.0.0.1:{}", self.etcd_peer_port);
        let args = [
            "--name",
            "lab",
            "--data-dir",
            &self.dir.join("etcd").display().to_string(),
            "--listen-client-urls",
            &client,
            "--advertise-client-urls",
            &client,
            "--listen-peer-urls",
            &peer,
            "--initial-advertise-peer-urls",
            &peer,
            "--initial-cluster",
            &format!("lab={peer}"),
            "--initial-cluster-token",
            &self.scope,
        ]
        .map(String::from);
        ProcessSpec { name: "etcd".into(), program: tools.etcd.clone(), args: args.to_vec(), env: vec![], run_as: None }
    }

    /// Writes DIR/pg-N/patroni.yml, owned by postgres, and returns the spec that runs it.
    pub fn patroni_spec(&self, member: &MemberPlan, tools: &Toolbox, user: PostgresUser) -> Result<ProcessSpec, LabError> {
        std::fs::create_dir_all(&member.home).map_err(LabError::io("cannot create", &member.home))?;
        super::tools::chown(&member.home, user)?;
        let path = member.home.join("patroni.yml");
        let yaml = serde_yaml_ng::to_string(&self.patroni_config(member)).map_err(|e| LabError::Other(e.to_string()))?;
        std::fs::write(&path, yaml).map_err(LabError::io("cannot write", &path))?;
        super::tools::chown(&path, user)?;
        Ok(ProcessSpec {
            name: format!("patroni-{}", member.name),
            program: tools.patroni.clone(),
            args: vec![path.display().to_string()],
            env: vec![("HOME".into(), member.home.display().to_string()), ("PATH".into(), format!("{PG_BIN}:/usr/bin:/bin"))],
            run_as: Some(user),
        })
    }

    fn archive_command(&self) -> String {
        let dir = self.dir.display();
        // The real tools run only once `sitrep lab backup-tools setup` configured them; pgBackRest's
        // backup and check insist that archive_command names pgbackrest.
        format!("'{dir}/bin/sitrep' lab wal-push --dir '{dir}' --endpoint {} --real-tools pgbackrest,barman-cloud %p", self.s3_endpoint)
    }

    fn patroni_config(&self, m: &MemberPlan) -> serde_json::Value {
        let listen = format!("127.0.0.1:{}", m.pg_port);
        let rest = format!("127.0.0.1:{}", m.rest_port);
        json!({
            "scope": self.scope,
            "namespace": "/sitrep-lab/",
            "name": m.name,
            "log": {"level": "INFO"},
            "restapi": {"listen": rest, "connect_address": rest},
            "etcd3": {"hosts": format!("127.0.0.1:{}", self.etcd_client_port)},
            "bootstrap": {
                "dcs": {
                    "ttl": 10, "loop_wait": 1, "retry_timeout": 4,
                    "maximum_lag_on_failover": 1_073_741_824u64,
                    "postgresql": {"use_pg_rewind": true, "use_slots": true,
                        "parameters": {"wal_log_hints": "on", "max_wal_senders": 10, "max_replication_slots": 10,
                                       "wal_keep_size": "256MB", "hot_standby": "on"}}
                },
                "initdb": [{"encoding": "UTF8"}, {"auth-local": "trust"}, {"auth-host": "scram-sha-256"}],
            },
            "postgresql": {
                "listen": listen, "connect_address": listen,
                "data_dir": m.data_dir(), "bin_dir": PG_BIN,
                "pgpass": m.home.join("pgpass"),
                // Patroni's own connections (replication, pg_rewind, its superuser checks) go over TLS too.
                "authentication": {
                    "superuser": self.patroni_login(SUPERUSER, &self.superuser_password),
                    "replication": self.patroni_login(REPLICATION_USER, &self.replication_password),
                    "rewind": self.patroni_login(SUPERUSER, &self.superuser_password),
                },
                "parameters": {
                    "unix_socket_directories": m.home, "archive_mode": "on",
                    "archive_command": self.archive_command(), "archive_timeout": "60s",
                    "shared_buffers": "32MB", "max_connections": 50, "password_encryption": "scram-sha-256",
                    "log_min_messages": "warning",
                    "ssl": "on", "ssl_cert_file": self.pki.server_cert, "ssl_key_file": self.pki.server_key,
                    "ssl_min_protocol_version": "TLSv1.2",
                },
                // TCP only with TLS and scram. The socket line stays for the tools that run as
                // postgres on this machine (pgBackRest's pg1-socket-path, barman-cloud-backup -h
                // HOME, pg_ctl -w of a PITR), as a managed database's own agents do.
                "pg_hba": [
                    "local all all trust",
                    format!("hostssl replication {REPLICATION_USER},{SUPERUSER} 127.0.0.1/32 scram-sha-256"),
                    "hostssl all all 127.0.0.1/32 scram-sha-256",
                ],
            },
            "tags": {"nofailover": false, "noloadbalance": false, "clonefrom": false},
        })
    }

    /// One of Patroni's logins: the CA checks the chain (Patroni connects by the address it
    /// listens on, which the certificate names, but libpq's verify-ca is what its docs show).
    fn patroni_login(&self, user: &str, password: &str) -> serde_json::Value {
        json!({"username": user, "password": password, "sslmode": "verify-ca", "sslrootcert": self.pki.ca_cert})
    }

    pub fn dsn(&self, member: &MemberPlan, db: &str) -> String {
        member_dsn(member.pg_port, db, &self.pki.ca_cert, &self.passfile)
    }

    /// The libpq environment of the lab's own pg_dump and pg_basebackup (TLS, and the password
    /// through the pgpass file, never argv).
    pub fn libpq_env(&self) -> Vec<(String, String)> {
        libpq_env(&self.pki.ca_cert, &self.passfile)
    }

    /// Writes DIR/pgpass (mode 0600, as libpq and sitrep insist) with the superuser's password.
    pub fn write_passfile(&self) -> Result<(), LabError> {
        let text = format!("127.0.0.1:*:*:{SUPERUSER}:{}\n", self.superuser_password);
        std::fs::write(&self.passfile, text).map_err(LabError::io("cannot write", &self.passfile))?;
        super::supervisor::set_mode(&self.passfile, 0o600);
        Ok(())
    }
}

/// PGSSLMODE=verify-full, PGSSLROOTCERT and PGPASSFILE: what [`member_dsn`] says, for libpq programs.
pub fn libpq_env(ca: &Path, passfile: &Path) -> Vec<(String, String)> {
    [("PGSSLMODE", "verify-full".to_string()), ("PGSSLROOTCERT", ca.display().to_string()), ("PGPASSFILE", passfile.display().to_string())]
        .map(|(k, v)| (k.to_string(), v))
        .to_vec()
}

/// The DSN of a lab member as a client of a managed database writes it: TLS checked against the
/// lab CA with the host name, the password in a pgpass file (sitrep, psql and the tests read it).
pub fn member_dsn(port: u16, db: &str, ca: &Path, passfile: &Path) -> String {
    format!(
        "host=127.0.0.1 port={port} user={SUPERUSER} dbname={db} sslmode=verify-full sslrootcert={} passfile={} connect_timeout=3",
        ca.display(),
        passfile.display()
    )
}

/// Waits until etcd answers its v3 gateway.
pub async fn wait_etcd(url: &str, timeout: Duration) -> Result<(), LabError> {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + timeout;
    loop {
        let ok = http.post(format!("{url}/v3/maintenance/status")).body("{}").send().await.is_ok_and(|r| r.status().is_success());
        if ok {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(not_healthy("etcd", timeout, "no answer on /v3/maintenance/status", "logs/etcd.log"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One row of Patroni's GET /cluster.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct PatroniMember {
    pub name: String,
    pub role: String,
    pub state: String,
}

/// Patroni's view of the cluster, asked of any member that answers.
pub async fn patroni_members(urls: &[String]) -> Option<Vec<PatroniMember>> {
    #[derive(serde::Deserialize)]
    struct Cluster {
        members: Vec<PatroniMember>,
    }
    let http = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().ok()?;
    for url in urls {
        if let Ok(resp) = http.get(format!("{url}/cluster")).send().await
            && let Ok(c) = resp.json::<Cluster>().await
        {
            return Some(c.members);
        }
    }
    None
}

/// The name of the member Patroni says is the leader.
pub async fn leader(urls: &[String]) -> Option<String> {
    let members = patroni_members(urls).await?;
    members.into_iter().find(|m| m.role == "leader" && m.state == "running").map(|m| m.name)
}

/// Waits for a running leader and a streaming replica; returns the leader's name.
pub async fn wait_replicated(plan: &PostgresPlan, timeout: Duration) -> Result<String, LabError> {
    let urls: Vec<String> = plan.members.iter().map(|m| m.patroni_url()).collect();
    let deadline = Instant::now() + timeout;
    let mut last = String::from("no Patroni REST answered");
    while Instant::now() < deadline {
        if let Some(members) = patroni_members(&urls).await {
            last = format!("{members:?}");
            let leader = members.iter().find(|m| m.role == "leader" && m.state == "running");
            let replica = members.iter().any(|m| m.role != "leader" && matches!(m.state.as_str(), "running" | "streaming"));
            if let (Some(leader), true) = (leader, replica) {
                let member = plan.members.iter().find(|m| m.name == leader.name);
                if let Some(member) = member
                    && streaming_replicas(&plan.dsn(member, "postgres")).await.unwrap_or(0) >= 1
                {
                    return Ok(leader.name.clone());
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Err(not_healthy("patroni", timeout, &stuck_members(plan, &last), "logs/patroni-pg-0.log and logs/patroni-pg-1.log"))
}

/// Why Patroni is not healthy, member by member: Patroni's last view, then the last lines of the
/// log of each member that is not a running leader or a streaming replica.
fn stuck_members(plan: &PostgresPlan, last_view: &str) -> String {
    let mut why = format!("Patroni's last view: {last_view}");
    for m in &plan.members {
        let log = plan.dir.join("logs").join(format!("patroni-{}.log", m.name));
        why.push_str(&format!("\n  {} (last lines of {}):\n{}", m.name, log.display(), super::process::tail(&log, 8)));
    }
    why
}

/// Opens a connection through sitrep's one Postgres connect (TLS, pgpass, the server's words).
pub async fn connect(dsn: &str) -> Result<tokio_postgres::Client, crate::backends::BackendError> {
    Ok(crate::backends::postgres::connect(dsn, Duration::from_secs(3)).await?.client)
}

async fn streaming_replicas(dsn: &str) -> Result<i64, String> {
    let client = connect(dsn).await.map_err(|e| e.to_string())?;
    let row =
        client.query_one("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'", &[]).await.map_err(|e| e.to_string())?;
    row.try_get(0).map_err(|e| e.to_string())
}

/// Creates the `shop` database with customers, orders and order_items (about 20 MB).
pub async fn seed_shop(plan: &PostgresPlan, leader: &MemberPlan) -> Result<(), LabError> {
    let sql_err = |what: &'static str| move |e: tokio_postgres::Error| LabError::Other(format!("seeding shop: {what}: {e}"));
    let connect_err = |e: crate::backends::BackendError| LabError::Other(format!("seeding shop: {e}"));
    let admin = connect(&plan.dsn(leader, "postgres")).await.map_err(connect_err)?;
    admin.batch_execute("CREATE DATABASE shop").await.map_err(sql_err("create database"))?;
    let shop = connect(&plan.dsn(leader, "shop")).await.map_err(connect_err)?;
    shop.batch_execute(SHOP_SQL).await.map_err(sql_err("create tables"))?;
    Ok(())
}

const SHOP_SQL: &str = "
CREATE TABLE customers (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE, name text NOT NULL,
  country text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers(id),
  status text NOT NULL, total_cents bigint NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE order_items (id bigserial PRIMARY KEY, order_id bigint NOT NULL REFERENCES orders(id),
  sku text NOT NULL, quantity int NOT NULL, price_cents bigint NOT NULL);
INSERT INTO customers (email, name, country, created_at)
  SELECT 'customer' || g || '@example.com', 'Customer ' || g, (ARRAY['DE','FR','US','GB','NL','SE'])[1 + g % 6],
         now() - make_interval(mins => g) FROM generate_series(1, 10000) g;
INSERT INTO orders (customer_id, status, total_cents, created_at)
  SELECT 1 + (g * 7919) % 10000, (ARRAY['paid','shipped','delivered','refunded','pending'])[1 + g % 5],
         500 + (g * 37) % 50000, now() - make_interval(secs => g * 11) FROM generate_series(1, 50000) g;
INSERT INTO order_items (order_id, sku, quantity, price_cents)
  SELECT 1 + g % 50000, 'SKU-' || lpad((g % 5000)::text, 5, '0'), 1 + g % 4, 199 + (g * 13) % 9000
  FROM generate_series(1, 120000) g;
CREATE INDEX orders_customer_id ON orders (customer_id);
CREATE INDEX order_items_order_id ON order_items (order_id);
ANALYZE;
";

/// Application traffic: one new order a tick on whichever member is primary, so WAL and lag move.
pub async fn write_orders_forever(dsns: Vec<String>, every: Duration) {
    let mut client: Option<tokio_postgres::Client> = None;
    loop {
        tokio::time::sleep(every).await;
        if client.as_ref().is_none_or(|c| c.is_closed()) {
            client = None;
            for dsn in &dsns {
                if let Ok(c) = connect(dsn).await
                    && let Ok(row) = c.query_one("SELECT NOT pg_is_in_recovery()", &[]).await
                    && row.try_get::<_, bool>(0).unwrap_or(false)
                {
                    client = Some(c);
                    break;
                }
            }
        }
        let Some(c) = &client else { continue };
        let insert =
            "INSERT INTO orders (customer_id, status, total_cents) VALUES (1 + (random() * 9999)::int, 'pending', (random() * 50000)::int)";
        let timed = tokio::time::timeout(Duration::from_secs(2), c.execute(insert, &[])).await;
        if !matches!(timed, Ok(Ok(_))) {
            client = None;
        }
    }
}

/// The postmaster pid from DATA/postmaster.pid, if postgres runs.
pub fn postmaster_pid(data_dir: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(data_dir.join("postmaster.pid")).ok()?;
    let pid: u32 = text.lines().next()?.trim().parse().ok()?;
    super::process::alive(pid).then_some(pid)
}

/// Every pid whose parent is `pid` (the backends and helpers of a postmaster).
pub fn children_of(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return vec![] };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| s.rsplit(')').next()?.split_whitespace().nth(1)?.parse::<u32>().ok())
                == Some(pid)
        })
        .collect()
}

fn not_healthy(component: &str, timeout: Duration, why: &str, log: &str) -> LabError {
    LabError::NotHealthy { component: component.into(), secs: timeout.as_secs(), why: why.into(), log: log.into() }
}
