//! Replication collector: each member over tokio-postgres, plus Patroni's REST view of the cluster.
//! Lag comes from pg_stat_replication on the leader, archiving from pg_stat_archiver.

use super::{Collect, clean};
use crate::config::{Config, PostgresMember};
use crate::model::{ArchiverRow, MemberRow, Observation, PatroniMember, ReplicationSnapshot, StandbyRow};
use std::str::FromStr;
use std::time::Duration;

pub struct Collector {
    members: Vec<(PostgresMember, Option<tokio_postgres::Client>)>,
    patroni: Vec<String>,
    http: reqwest::Client,
    timeout: Duration,
}

impl Collector {
    pub fn new(config: &Config) -> Self {
        let timeout = Duration::from_secs(config.general.timeout_secs.max(1));
        Collector {
            members: config.postgres.members.iter().map(|m| (m.clone(), None)).collect(),
            patroni: config.postgres.patroni.clone(),
            http: reqwest::Client::builder().timeout(timeout.mul_f32(0.6)).build().unwrap_or_default(),
            timeout,
        }
    }
}

impl Collect for Collector {
    async fn collect(&mut self) -> Result<Observation, String> {
        let mut snap = ReplicationSnapshot::default();
        let mut errors = Vec::new();
        // Members are read at once, each with its own deadline: a frozen standby must not hide the leader.
        let per = self.timeout.mul_f32(0.6);
        let reads = futures::future::join_all(self.members.iter_mut().map(|(member, client)| async move {
            let result = match tokio::time::timeout(per, read_member(member, client, per)).await {
                Ok(r) => r,
                Err(_) => Err(format!("no answer within {:.1}s", per.as_secs_f32())),
            };
            (member, client, result)
        }))
        .await;
        for (member, client, result) in reads {
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
                    errors.push(format!("{}: {e}", member.name));
                    snap.members.push(MemberRow {
                        name: clean(&member.name),
                        reachable: false,
                        error: Some(clean(&e)),
                        ..MemberRow::default()
                    });
                }
            }
        }
        if !self.patroni.is_empty() {
            match read_patroni(&self.http, &self.patroni).await {
                Ok(members) => snap.patroni = members,
                Err(e) => errors.push(e),
            }
        }
        // Patroni's word alone is not the database: with every configured member unreachable the pane fails.
        let nothing = snap.members.iter().all(|m| !m.reachable) && (!self.members.is_empty() || snap.patroni.is_empty());
        if nothing {
            return Err(format!("{}; check [postgres] in sitrep.toml", errors.join("; ")));
        }
        Ok(Observation::Replication(snap))
    }
}

/// Parses a libpq-style DSN or URL, filling what is missing from the PG* environment.
pub fn pg_config(dsn: &str, timeout: Duration) -> Result<tokio_postgres::Config, String> {
    let mut cfg =
        tokio_postgres::Config::from_str(dsn).map_err(|e| format!("bad dsn ({e}); use \"host=... port=... user=...\" or postgres://"))?;
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

async fn connect(member: &PostgresMember, timeout: Duration) -> Result<tokio_postgres::Client, String> {
    let cfg = pg_config(&member.dsn, timeout)?;
    let (client, conn) = cfg.connect(tokio_postgres::NoTls).await.map_err(|e| format!("cannot connect: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

async fn read_member(
    member: &PostgresMember,
    slot: &mut Option<tokio_postgres::Client>,
    timeout: Duration,
) -> Result<(MemberRow, Vec<StandbyRow>, Option<ArchiverRow>), String> {
    if slot.as_ref().is_none_or(|c| c.is_closed()) {
        *slot = Some(connect(member, timeout).await?);
    }
    let Some(client) = slot.as_ref() else { return Err("not connected".into()) };
    let row = client
        .query_one("select pg_is_in_recovery(), extract(epoch from now() - pg_last_xact_replay_timestamp())::float8", &[])
        .await
        .map_err(|e| e.to_string())?;
    let in_recovery: bool = row.get(0);
    let member_row = MemberRow {
        name: clean(&member.name),
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
        .map_err(|e| e.to_string())?
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
        .map_err(|e| e.to_string())?
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

/// Asks each Patroni REST endpoint in turn for /cluster; the first answer wins.
async fn read_patroni(http: &reqwest::Client, urls: &[String]) -> Result<Vec<PatroniMember>, String> {
    let mut last = String::new();
    for url in urls {
        let endpoint = format!("{}/cluster", url.trim_end_matches('/'));
        match http.get(&endpoint).send().await.and_then(reqwest::Response::error_for_status) {
            Ok(resp) => match resp.json::<PatroniCluster>().await {
                Ok(c) => {
                    return Ok(c
                        .members
                        .into_iter()
                        .map(|m| PatroniMember {
                            name: clean(&m.name),
                            role: clean(&m.role),
                            state: clean(&m.state),
                            timeline: m.timeline,
                            lag_bytes: m.lag.and_then(|l| l.as_i64()),
                            pending_restart: m.pending_restart,
                            host: clean(&m.host),
                        })
                        .collect());
                }
                Err(e) => last = format!("Patroni {endpoint}: unexpected answer ({e})"),
            },
            Err(e) => last = format!("Patroni {endpoint}: {e}"),
        }
    }
    Err(last)
}
