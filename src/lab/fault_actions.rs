//! How the supervisor applies each fault to the real processes and in-process services,
//! and how `heal` puts back what can be put back.

use std::time::Duration;

use super::error::LabError;
use super::faults::{Fault, SLOW_DELAY};
use super::supervisor::Estate;

/// The task that holds `pg-connections`' clients, and the mark in its backends' statements.
const FLOOD_TASK: &str = "pg-connections";
const FLOOD_MARK: &str = "sitrep-lab flood";

/// `pod-cpu-hot`'s share of the api pods' CPU request, and what `heal` puts back (the kubelet's
/// healthy share).
const HOT_CPU_PCT: u32 = 92;
const NORMAL_CPU_PCT: u32 = 55;

impl Estate {
    /// Applies one fault; the answer says what was done, for the person who asked.
    pub async fn apply(&self, fault: Fault) -> Result<String, LabError> {
        let failed = |why: String| LabError::FaultFailed { name: fault.name().into(), why };
        match fault {
            Fault::PgLeaderDown => self.kill_pg_leader().await.map_err(failed),
            Fault::PgStandbyPause => self.pause_standby().await.map_err(failed),
            Fault::PgStandbyResume => Ok(self.resume_standby()),
            Fault::PgArchiveBroken => self.break_archiving().await.map_err(failed),
            Fault::PgConnections => self.flood_connections().await.map_err(failed),
            Fault::RedisMasterDown => self.kill_redis_master().await.map_err(failed),
            Fault::RedisMemory => self.fill_redis_memory().await.map_err(failed),
            Fault::QueueFlood => {
                self.celery.set_multiplier(super::celery::FLOOD)?;
                Ok(format!("Celery producer rate x{}", super::celery::FLOOD))
            }
            Fault::BackupStale => {
                self.stop_task("backups");
                let n = super::s3::delete_recent_dumps(&self.s3, Duration::from_secs(300)).await?;
                Ok(format!("backup job stopped; deleted {n} dumps newer than 300s"))
            }
            Fault::DeployBad => {
                let cluster = self.cluster().ok_or_else(|| failed("the kube stand-in is not running".into()))?;
                super::kube_link::deploy_bad(&cluster, "shop", "api").map_err(failed)?;
                Ok("deployment shop/api rolled out with a crashing image".into())
            }
            Fault::PodCpuHot => {
                let cluster = self.cluster().ok_or_else(|| failed("the kube stand-in is not running".into()))?;
                cluster.set_cpu_load("shop", "api", HOT_CPU_PCT);
                Ok(format!("shop/api's running pods use {HOT_CPU_PCT}% of their CPU request"))
            }
            Fault::NetworkSlow => {
                self.proxy_delay.set(SLOW_DELAY.as_millis() as u64);
                Ok(format!("sentinel-0 answers {}ms late", SLOW_DELAY.as_millis()))
            }
            Fault::Heal => self.heal().await,
        }
    }

    /// The kube stand-in, when it runs.
    fn cluster(&self) -> Option<crate::lab::kube::Cluster> {
        self.kube.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    async fn leader_and_replica(&self) -> Result<(super::postgres::MemberPlan, super::postgres::MemberPlan), String> {
        let leader = super::postgres::leader(&self.patroni_urls()).await.ok_or("Patroni reports no running leader")?;
        let l = self.pg.members.iter().find(|m| m.name == leader).cloned().ok_or("unknown leader")?;
        let r = self.pg.members.iter().find(|m| m.name != leader).cloned().ok_or("no standby")?;
        Ok((l, r))
    }

    async fn kill_pg_leader(&self) -> Result<String, String> {
        let (leader, _) = self.leader_and_replica().await?;
        let patroni = format!("patroni-{}", leader.name);
        let postmaster = super::postgres::postmaster_pid(&leader.data_dir());
        self.children.signal(&patroni, libc::SIGKILL);
        if let Some(pid) = postmaster {
            let kids = super::postgres::children_of(pid);
            super::process::send(pid, libc::SIGKILL);
            kids.into_iter().for_each(|k| {
                super::process::send(k, libc::SIGKILL);
            });
        }
        Ok(format!("killed {} (Patroni and postmaster {postmaster:?}); the standby takes over within ~10s", leader.name))
    }

    async fn pause_standby(&self) -> Result<String, String> {
        let (_, standby) = self.leader_and_replica().await?;
        let pm = super::postgres::postmaster_pid(&standby.data_dir()).ok_or("the standby's postmaster is not running")?;
        let mut pids = super::postgres::children_of(pm);
        pids.push(pm);
        for pid in &pids {
            super::process::send(*pid, libc::SIGSTOP);
        }
        let n = pids.len();
        self.paused.lock().unwrap_or_else(|p| p.into_inner()).extend(pids);
        Ok(format!("SIGSTOPped {n} postgres processes of {}", standby.name))
    }

    fn resume_standby(&self) -> String {
        let pids = std::mem::take(&mut *self.paused.lock().unwrap_or_else(|p| p.into_inner()));
        pids.iter().for_each(|p| {
            super::process::send(*p, libc::SIGCONT);
        });
        format!("resumed {} postgres processes", pids.len())
    }

    async fn break_archiving(&self) -> Result<String, String> {
        let flag = self.dir.join("faults/archive-broken");
        std::fs::write(&flag, "pg-archive-broken\n").map_err(|e| format!("cannot write {}: {e}", flag.display()))?;
        let (leader, _) = self.leader_and_replica().await?;
        let client = super::postgres::connect(&self.pg.dsn(&leader, "shop")).await.map_err(|e| e.to_string())?;
        client
            .batch_execute("INSERT INTO orders (customer_id, status, total_cents) VALUES (1, 'pending', 100); SELECT pg_switch_wal()")
            .await
            .map_err(|e| e.to_string())?;
        Ok(format!("archive_command fails while {} exists; WAL switched on {}", flag.display(), leader.name))
    }

    /// Opens connections to the leader until its client backends are 84% of max_connections
    /// (over the Production runbook's 80% warning, under its 90% critical), one of them running
    /// `pg_sleep(3600)`, and holds them in a task until `heal`.
    async fn flood_connections(&self) -> Result<String, String> {
        let (leader, _) = self.leader_and_replica().await?;
        let dsn = self.pg.dsn(&leader, "shop");
        let probe = super::postgres::connect(&dsn).await.map_err(|e| e.to_string())?;
        let row = probe
            .query_one(
                "select current_setting('max_connections')::int8, (select count(*) from pg_stat_activity where backend_type = 'client backend')::int8",
                &[],
            )
            .await
            .map_err(|e| e.to_string())?;
        let (max, used): (i64, i64) = (row.get(0), row.get(1));
        let target = (max * 84 + 99) / 100;
        let mut held = vec![probe];
        for _ in used..target {
            let client = super::postgres::connect(&dsn).await.map_err(|e| format!("after {} connections: {e}", held.len()))?;
            // Each backend's last statement carries the mark heal looks for (sitrep's connect
            // sets its own application_name).
            client.batch_execute(&format!("select 1 /* {FLOOD_MARK} */")).await.map_err(|e| e.to_string())?;
            held.push(client);
        }
        let n = held.len();
        self.keep_task(
            FLOOD_TASK,
            tokio::spawn(async move {
                // The statement runs until heal terminates it; the clients stay open with it.
                // Its comment is hostile text, as any client may send: the console must show it safe.
                let _ = held[0].batch_execute(&format!("/* {FLOOD_MARK} \u{1b}[2J\u{202e} */ select pg_sleep(3600)")).await;
                std::future::pending::<()>().await;
                drop(held);
            }),
        );
        Ok(format!(
            "{n} connections held on {} ({} of max_connections {max}), one running pg_sleep(3600)",
            leader.name,
            used.max(0) + n as i64 - 1
        ))
    }

    /// Ends what `pg-connections` holds: the task (its clients) and, on every member, the
    /// backends it opened (a backend sleeping in a statement does not notice its client leave).
    async fn end_connection_flood(&self) -> Option<String> {
        if !self.stop_task(FLOOD_TASK) {
            return None;
        }
        let mut ended = 0;
        for m in &self.pg.members {
            let Ok(client) = super::postgres::connect(&self.pg.dsn(m, "shop")).await else { continue };
            let sql = format!(
                "select count(pg_terminate_backend(pid)) from pg_stat_activity where query like '%{FLOOD_MARK}%' and pid <> pg_backend_pid()"
            );
            if let Ok(row) = client.query_one(&sql, &[]).await {
                ended += row.get::<_, i64>(0);
            }
        }
        Some(format!("connection flood ended ({ended} backends terminated)"))
    }

    /// Lowers the master's maxmemory until what it holds is 92% of it, with `noeviction`: the
    /// Production runbook's memory at critical, and Celery's writes refused once it reaches 100%.
    async fn fill_redis_memory(&self) -> Result<String, String> {
        let settings = self.redis.settings();
        let master = super::redis::current_master(&settings).await.ok_or("no Sentinel names a master")?;
        let mut con = super::redis::master_connection(&settings).await.ok_or_else(|| format!("the master {master} does not answer"))?;
        let info: String = redis::cmd("INFO").arg("memory").query_async(&mut con).await.map_err(|e| e.to_string())?;
        let used = crate::backends::redis::parse_health(&master, &info, Duration::ZERO).used_memory;
        let limit = used * 100 / 92;
        for (key, value) in [("maxmemory-policy", "noeviction".to_string()), ("maxmemory", limit.to_string())] {
            let () = redis::cmd("CONFIG")
                .arg("SET")
                .arg(key)
                .arg(&value)
                .query_async(&mut con)
                .await
                .map_err(|e| format!("CONFIG SET {key}: {e}"))?;
        }
        Ok(format!("maxmemory {limit} bytes on {master} (used_memory {used}: 92%), policy noeviction"))
    }

    /// Takes the limit `redis-memory` set off every data node (a failover may have moved it).
    async fn clear_redis_memory(&self) -> Option<String> {
        let settings = self.redis.settings();
        let mut cleared = vec![];
        for port in [self.redis.master_port, self.redis.replica_port] {
            let addr = format!("127.0.0.1:{port}");
            let Ok(mut con) = settings.connect_master(&addr, Duration::from_secs(3)).await else { continue };
            let limit: Result<Vec<String>, _> = redis::cmd("CONFIG").arg("GET").arg("maxmemory").query_async(&mut con).await;
            if limit.ok().and_then(|v| v.get(1).cloned()).is_some_and(|v| v != "0") {
                let set: Result<(), _> = redis::cmd("CONFIG").arg("SET").arg("maxmemory").arg("0").query_async(&mut con).await;
                if set.is_ok() {
                    cleared.push(addr);
                }
            }
        }
        (!cleared.is_empty()).then(|| format!("maxmemory cleared on {}", cleared.join(", ")))
    }

    async fn kill_redis_master(&self) -> Result<String, String> {
        let master = super::redis::current_master(&self.redis.settings()).await.ok_or("no Sentinel answers")?;
        let name = if master.ends_with(&format!(":{}", self.redis.master_port)) { "redis-0" } else { "redis-1" };
        if !self.children.signal(name, libc::SIGKILL) {
            return Err(format!("{name} ({master}) is not running"));
        }
        Ok(format!("killed {name} ({master}); the Sentinels promote the replica after ~2s"))
    }

    async fn heal(&self) -> Result<String, LabError> {
        let mut done = vec![self.resume_standby()];
        done.extend(self.end_connection_flood().await);
        done.extend(self.clear_redis_memory().await);
        let _ = std::fs::remove_file(self.dir.join("faults/archive-broken"));
        for name in ["patroni-pg-0", "patroni-pg-1", "redis-0", "redis-1", super::celery::PRODUCER, super::celery::WORKER] {
            if !self.children.is_running(name) && self.children.pid(name).is_some() {
                if name.starts_with("patroni") {
                    let member = name.trim_start_matches("patroni-");
                    if let Some(m) = self.pg.members.iter().find(|m| m.name == member) {
                        super::supervisor::kill_stray_postmaster(&m.data_dir()).await;
                    }
                }
                self.children.restart(name)?;
                done.push(format!("restarted {name}"));
            }
        }
        self.celery.set_multiplier(1)?;
        self.proxy_delay.set(0);
        if let Some(cluster) = self.cluster() {
            cluster.set_cpu_load("shop", "api", NORMAL_CPU_PCT);
        }
        if !self.tasks.lock().unwrap_or_else(|p| p.into_inner()).contains_key("backups") {
            self.start_backup_job();
            done.push("backup job restarted".into());
        }
        Ok(done.join("; "))
    }
}
