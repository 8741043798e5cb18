//! Every fault does to the real processes what its runbook expects, in one lab, in an order
//! where each step heals what it broke; then `lab down` leaves nothing behind. Bad input is refused clearly.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use sitrep::lab::LabInfo;

#[path = "support/deadline.rs"]
mod deadline;

fn run_sitrep(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sitrep")).args(args).output().expect("run sitrep");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// Injects a fault through the library handle (the same control channel `sitrep lab fault` uses).
fn fault(dir: &Path, name: &str) {
    let lab = sitrep::lab::Lab::attach(dir).unwrap_or_else(|e| panic!("attach {}: {e}", dir.display()));
    match lab.fault_detail(name) {
        Ok(detail) => eprintln!("{name}: {detail}"),
        Err(e) => panic!("fault {name} failed: {e}"),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime")
}

/// Polls `check` until it returns Some or `secs` pass.
async fn within<T, F: Future<Output = Option<T>>>(secs: u64, what: &str, mut check: impl FnMut() -> F) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "{what} did not happen within {secs}s");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A session as the lab's clients open one: sitrep's connect (TLS with the lab CA, pgpass).
async fn sql(dsn: &str) -> Option<tokio_postgres::Client> {
    Some(sitrep::backends::postgres::connect(dsn, Duration::from_secs(10)).await.ok()?.client)
}

async fn leader_dsn(info: &LabInfo) -> Option<String> {
    for m in &info.postgres.members {
        let Some(c) = sql(&m.dsn).await else { continue };
        if let Ok(row) = c.query_one("SELECT NOT pg_is_in_recovery()", &[]).await
            && row.get::<_, bool>(0)
        {
            return Some(m.dsn.clone());
        }
    }
    None
}

async fn scalar_i64(dsn: &str, query: &str) -> Option<i64> {
    sql(dsn).await?.query_one(query, &[]).await.ok()?.try_get(0).ok()
}

/// `cmd` on a Redis server (TLS, the sitrep ACL user), through sitrep's backend.
async fn redis_query<T: redis::FromRedisValue>(info: &LabInfo, addr: &str, cmd: &redis::Cmd) -> Option<T> {
    let mut con = info.redis_settings().connect_master(addr, Duration::from_secs(10)).await.ok()?;
    cmd.query_async(&mut con).await.ok()
}

/// The master a Sentinel names (TLS, the Sentinels' own password); 10 s, for the slow one.
async fn sentinel_master(info: &LabInfo, addr: &str) -> Option<String> {
    let s = info.redis_settings();
    let mut con = s.connect(addr, Duration::from_secs(10)).await.ok()?;
    sitrep::backends::redis::master_addr(&mut con, addr, &s.master, Duration::from_secs(10)).await.ok()?
}

async fn queue_depth(info: &LabInfo) -> i64 {
    let master = sentinel_master(info, &info.redis.sentinels_direct[1]).await.unwrap_or_default();
    let mut total = 0;
    // Summed over kombu's priority lists, as Celery stores a task sent with a priority.
    for q in &info.queues.names {
        for p in sitrep::backends::redis::KOMBU_PRIORITY_STEPS {
            total += redis_query::<i64>(info, &master, redis::cmd("LLEN").arg(sitrep::backends::redis::kombu_key(q, p))).await.unwrap_or(0);
        }
    }
    total
}

async fn patroni_leader(info: &LabInfo) -> Option<String> {
    for m in &info.postgres.members {
        let Ok(r) = reqwest::get(format!("{}/cluster", m.patroni_url)).await else { continue };
        let Ok(v) = r.json::<serde_json::Value>().await else { continue };
        let members = v["members"].as_array()?;
        return members
            .iter()
            .find(|m| m["role"] == "leader" && m["state"] == "running")
            .and_then(|m| m["name"].as_str().map(String::from));
    }
    None
}

fn lab_up() -> (PathBuf, LabInfo, f64) {
    let started = Instant::now();
    let (ok, out) = run_sitrep(&["lab", "up", "--owner-pid", &std::process::id().to_string()]);
    let secs = started.elapsed().as_secs_f64();
    assert!(ok, "sitrep lab up failed:\n{out}");
    let dir =
        out.lines().find_map(|l| l.split_once(": ").filter(|(h, _)| h.starts_with("lab ready")).map(|(_, d)| PathBuf::from(d.trim())));
    let dir = dir.unwrap_or_else(|| panic!("no lab dir in:\n{out}"));
    let info = LabInfo::read(&dir).expect("lab.json");
    (dir, info, secs)
}

/// One lab at a time in this file: two on two cores would make the fault timings flaky.
static ONE_LAB_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Asserts that nothing of the lab is left: no process of lab.json, no supervisor, no port, no DIR.
fn assert_nothing_left(dir: &Path, info: &LabInfo) {
    let alive: Vec<u32> = info.pids.values().copied().filter(|p| Path::new(&format!("/proc/{p}")).exists()).collect();
    assert!(alive.is_empty(), "processes left behind: {alive:?}");
    assert!(!Path::new(&format!("/proc/{}", info.supervisor_pid)).exists(), "the supervisor is still running");
    let listening: Vec<u16> = info.ports.values().copied().filter(|p| std::net::TcpStream::connect(("127.0.0.1", *p)).is_ok()).collect();
    assert!(listening.is_empty(), "ports still listening: {listening:?}");
    assert!(!dir.exists(), "{} is still there", dir.display());
}

#[test]
fn every_fault_shows_its_real_effect_and_down_leaves_nothing_behind() {
    let _one = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let (dir, info, up_secs) = lab_up();
    eprintln!("lab up (CLI) took {up_secs:.1}s");
    let d = dir.display().to_string();
    let rt = runtime();
    rt.block_on(async {
        // queue-flood: the producer outruns the consumer by far.
        let before = queue_depth(&info).await;
        fault(&dir, "queue-flood");
        tokio::time::sleep(Duration::from_secs(3)).await;
        let after = queue_depth(&info).await;
        assert!(after - before > 500, "queues grew only from {before} to {after} in 3s");
        fault(&dir, "heal");

        // network-slow: Sentinel 0, reached through the lab's proxy, answers late.
        fault(&dir, "network-slow");
        let t = Instant::now();
        assert!(sentinel_master(&info, &info.redis.sentinels[0]).await.is_some());
        assert!(t.elapsed() >= Duration::from_millis(1400), "slow sentinel answered in {:?}", t.elapsed());
        fault(&dir, "heal");

        // pg-archive-broken: the archiver starts counting failures.
        let leader = within(10, "a primary", || leader_dsn(&info)).await;
        let failed_before = scalar_i64(&leader, "SELECT failed_count FROM pg_stat_archiver").await.unwrap_or(0);
        fault(&dir, "pg-archive-broken");
        within(20, "pg_stat_archiver.failed_count rising", || async {
            let now = scalar_i64(&leader, "SELECT failed_count FROM pg_stat_archiver").await?;
            (now > failed_before).then_some(())
        })
        .await;
        fault(&dir, "heal");

        // pg-connections: the leader's client backends reach 84% of max_connections, one statement
        // sleeping. sitrep's own reading agrees with the server's pg_stat_activity, and the
        // statement's text (its comment holds ESC and U+202E) reaches sitrep made safe.
        fault(&dir, "pg-connections");
        let clients = "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'";
        let max = scalar_i64(&leader, "SELECT current_setting('max_connections')::bigint").await.expect("max_connections");
        within(10, "84% of max_connections in use", || async { scalar_i64(&leader, clients).await.filter(|n| n * 100 >= max * 80) }).await;
        let sleeper = "SELECT pid::bigint FROM pg_stat_activity WHERE state = 'active' AND query LIKE '/* sitrep-lab flood%pg_sleep%'";
        let sleeper = within(10, "the flood's sleeping statement", || scalar_i64(&leader, sleeper)).await;
        let reader =
            sitrep::backends::postgres::connect(leader.as_str(), Duration::from_secs(5)).await.expect("sitrep connects to the leader");
        let load = sitrep::backends::postgres::read_load(&reader.client, "leader").await.expect("sitrep reads the leader's load");
        let truth = scalar_i64(&leader, clients).await.expect("pg_stat_activity");
        // The two reads are two moments, and each probe is a connection of its own.
        assert!((i64::from(load.connections) - truth).abs() <= 2, "sitrep counts {} client backends, the server {truth}", load.connections);
        assert_eq!(i64::from(load.max_connections), max);
        let thresholds = sitrep::config::Thresholds::default();
        assert_eq!(sitrep::model::verdict::connections(&thresholds, &load), sitrep::model::verdict::Level::Warn, "{load:?}");
        let longest = load.longest.clone().expect("the longest statement");
        assert_eq!(i64::from(longest.pid), sleeper, "the oldest statement is the flood's: {longest:?}");
        assert!(longest.query.contains("pg_sleep(3600)") && longest.state == "active", "{longest:?}");
        assert!(!longest.query.chars().any(sitrep::sanitize::is_unsafe), "the statement text is made safe: {:?}", longest.query);
        fault(&dir, "heal");
        let flood = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%sitrep-lab flood%' AND pid <> pg_backend_pid()";
        within(10, "heal ending the flood's backends", || async { scalar_i64(&leader, flood).await.filter(|n| *n == 0) }).await;

        // pg-standby-pause: replay lag grows while orders keep being written.
        let lag = "SELECT COALESCE(max(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)), 0)::bigint FROM pg_stat_replication";
        fault(&dir, "pg-standby-pause");
        let first = within(10, "replay lag above zero", || async { scalar_i64(&leader, lag).await.filter(|l| *l > 0) }).await;
        within(15, "replay lag growing", || async { scalar_i64(&leader, lag).await.filter(|l| *l > first) }).await;
        fault(&dir, "pg-standby-resume");
        within(30, "the standby catching up", || async { scalar_i64(&leader, lag).await.filter(|l| *l < 1024 * 1024) }).await;

        // backup-stale: the newest dump is older than the 300s RPO.
        fault(&dir, "backup-stale");
        let s3 = sitrep::lab::s3::lab_client(&info).expect("the lab's S3 client");
        let dumps = sitrep::lab::s3::list(&s3, "dumps/shop/").await.expect("list dumps");
        let newest = dumps.iter().filter_map(|k| sitrep::lab::s3::dump_time(k)).max().expect("some dump left");
        assert!(chrono::Utc::now() - newest > chrono::TimeDelta::seconds(300), "newest dump {newest} is within the RPO");

        // pod-cpu-hot: kubectl top shows the api pods at 92% of their 250m request (±8%), and
        // sitrep's own reading of the same Metrics API judges each of them critical; heal cools them.
        fault(&dir, "pod-cpu-hot");
        let client = sitrep::backends::kube::client(&info.kube.kubeconfig.to_string_lossy(), &info.kube.context, Duration::from_secs(10))
            .await
            .expect("a kube client for the lab");
        let thresholds = sitrep::config::Thresholds::default();
        let hot = within(40, "kubectl top and sitrep both seeing the api pods hot", || async {
            let out = Command::new("kubectl")
                .arg("--kubeconfig")
                .arg(&info.kube.kubeconfig)
                .args(["top", "pods", "-n", "shop", "-l", "app=api", "--no-headers"])
                .output()
                .ok()?;
            let millis: Vec<u64> = String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|l| l.split_whitespace().nth(1)?.strip_suffix('m')?.parse().ok())
                .collect();
            let top = sitrep::backends::kube_top::read(&client, &["shop".to_string()], Duration::from_secs(10)).await.ok()?;
            let snap = sitrep::backends::kube::list_snapshot(&client, "shop").await.ok()?;
            let levels: Vec<_> = snap
                .pods
                .iter()
                .filter(|p| p.name.starts_with("api-"))
                .map(|p| {
                    let row = sitrep::model::PodRow { usage: top.pods.get(&(p.namespace.clone(), p.name.clone())).copied(), ..p.clone() };
                    sitrep::model::verdict::pod_cpu(&thresholds, &row).map(|s| (s.pct, s.level))
                })
                .collect();
            let hot = millis.len() == 3 && millis.iter().all(|m| (211..=249).contains(m));
            (hot && levels.iter().all(|l| l.is_some_and(|(pct, _)| pct >= 84))).then_some((millis, levels))
        })
        .await;
        eprintln!("pod-cpu-hot: kubectl top {:?}m, sitrep {:?}", hot.0, hot.1);
        assert!(hot.1.iter().flatten().any(|(_, l)| *l == sitrep::model::verdict::Level::Crit), "{hot:?}");
        fault(&dir, "heal");
        let top = sitrep::backends::kube_top::read(&client, &["shop".to_string()], Duration::from_secs(10)).await.expect("metrics");
        assert!(top.pods.iter().filter(|((_, n), _)| n.starts_with("api-")).all(|(_, u)| u.cpu_m < 160), "heal cools them: {top:?}");

        // deploy-bad: the api rollout crash-loops.
        fault(&dir, "deploy-bad");
        within(40, "a pod in CrashLoopBackOff", || async {
            let out =
                Command::new("kubectl").arg("--kubeconfig").arg(&info.kube.kubeconfig).args(["get", "pods", "-n", "shop"]).output().ok()?;
            String::from_utf8_lossy(&out.stdout).contains("CrashLoopBackOff").then_some(())
        })
        .await;

        // redis-memory: the master's maxmemory is lowered under what it holds; sitrep reads
        // the same used_memory and maxmemory as the server's own INFO, and judges it critical.
        fault(&dir, "redis-memory");
        let settings = info.redis_settings();
        let snap = sitrep::backends::redis::sentinel_snapshot(&settings, Duration::from_secs(5)).await.expect("sitrep reads the Sentinels");
        let health = snap.master_health.clone().expect("the master's INFO");
        let master = snap.master.as_ref().map(|m| m.addr.clone()).expect("a master");
        let limit: Vec<String> = redis_query(&info, &master, redis::cmd("CONFIG").arg("GET").arg("maxmemory")).await.expect("CONFIG GET");
        assert_eq!(limit.get(1).and_then(|v| v.parse::<u64>().ok()), Some(health.maxmemory), "sitrep's maxmemory is the server's");
        let server: String = redis_query(&info, &master, redis::cmd("INFO").arg("memory")).await.expect("INFO memory");
        let used =
            server.lines().find_map(|l| l.trim().strip_prefix("used_memory:")).and_then(|v| v.parse::<u64>().ok()).expect("used_memory");
        let pct = health.memory_percent().expect("a limit is set");
        assert!((88..=100).contains(&pct), "used {} of {} is {pct}% (the server says used {used})", health.used_memory, health.maxmemory);
        assert!(used.abs_diff(health.used_memory) * 10 < used, "sitrep read used_memory {}, the server {used}", health.used_memory);
        let thresholds = sitrep::config::Thresholds::default();
        assert_eq!(sitrep::model::verdict::redis_memory(&thresholds, &health), sitrep::model::verdict::Level::Crit);
        fault(&dir, "heal");
        let limit: Vec<String> = redis_query(&info, &master, redis::cmd("CONFIG").arg("GET").arg("maxmemory")).await.expect("CONFIG GET");
        assert_eq!(limit.get(1).map(String::as_str), Some("0"), "heal takes the limit off");

        // redis-master-down: every Sentinel reports the replica as the new master.
        let old_master = sentinel_master(&info, &info.redis.sentinels_direct[0]).await.expect("a master");
        fault(&dir, "redis-master-down");
        within(30, "all Sentinels reporting a new master", || async {
            let mut seen = vec![];
            for s in &info.redis.sentinels_direct {
                seen.push(sentinel_master(&info, s).await?);
            }
            seen.iter().all(|m| *m != old_master && *m == seen[0]).then_some(())
        })
        .await;

        // pg-leader-down: Patroni promotes the standby.
        let old_leader = within(10, "a Patroni leader", || patroni_leader(&info)).await;
        fault(&dir, "pg-leader-down");
        let new_leader =
            within(40, "Patroni electing a new leader", || async { patroni_leader(&info).await.filter(|l| *l != old_leader) }).await;
        eprintln!("Patroni leader moved from {old_leader} to {new_leader}");
    });

    let t = Instant::now();
    let (ok, out) = run_sitrep(&["lab", "down", "--dir", &d]);
    assert!(ok, "lab down failed:\n{out}");
    eprintln!("lab down took {:.1}s", t.elapsed().as_secs_f64());
    assert_nothing_left(&dir, &info);
}

#[test]
fn down_kills_a_frozen_supervisor_and_still_stops_every_component() {
    let _one = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let (dir, info, _) = lab_up();
    let lab = sitrep::lab::Lab::attach(&dir).unwrap_or_else(|e| panic!("attach {}: {e}", dir.display()));
    // SAFETY: kill has no memory-safety preconditions; the pid is the lab's supervisor.
    let frozen = unsafe { libc::kill(info.supervisor_pid as i32, libc::SIGSTOP) } == 0;
    assert!(frozen, "cannot SIGSTOP the supervisor {}", info.supervisor_pid);
    let t = Instant::now();
    // A short grace: the supervisor cannot answer SIGTERM while stopped, so this is the kill path.
    // Liveness, not speed: a down that waits on the frozen supervisor forever fails here by name.
    let limit = Duration::from_secs(180);
    let down = deadline::finishes_within(limit, move || lab.down_within(Duration::from_secs(2)));
    let Some(down) = down else {
        // SAFETY: kill has no memory-safety preconditions; the pid is the lab's supervisor.
        unsafe { libc::kill(info.supervisor_pid as i32, libc::SIGKILL) };
        panic!("lab down of a frozen supervisor (pid {}) hung: not done after {limit:?}", info.supervisor_pid);
    };
    down.unwrap_or_else(|e| panic!("down of a frozen lab failed: {e}"));
    eprintln!("down of a frozen lab took {:.1}s", t.elapsed().as_secs_f64());
    assert_nothing_left(&dir, &info);
}

#[test]
fn an_unknown_fault_names_the_valid_ones_and_the_nearest() {
    let (ok, out) = run_sitrep(&["lab", "fault", "--dir", "/tmp", "redis-mastr-down"]);
    assert!(!ok);
    assert!(out.contains("did you mean `redis-master-down`") && out.contains("pg-leader-down"), "{out}");
    let (ok, out) = run_sitrep(&["lab", "fault", "--list"]);
    assert!(ok && out.lines().count() >= 9, "{out}");
}

#[test]
fn an_unknown_scenario_is_refused_before_anything_starts() {
    let (ok, out) = run_sitrep(&["lab", "up", "--scenario", "primary-db-los"]);
    assert!(!ok);
    assert!(out.contains("did you mean `primary-db-loss`") && out.contains("queue-backlog"), "{out}");
}

#[test]
fn a_dir_used_by_a_running_lab_is_refused() {
    let dir = tempfile::Builder::new().prefix("sitrep-lab-inuse-").tempdir_in("/tmp").expect("temp dir");
    std::fs::write(dir.path().join("supervisor.pid"), "1").expect("write pid");
    let (ok, out) = run_sitrep(&["lab", "up", "--dir", &dir.path().display().to_string()]);
    assert!(!ok);
    assert!(out.contains("already used by a running lab") && out.contains("sitrep lab down"), "{out}");
}

#[test]
fn a_missing_binary_names_its_package_and_scripts_install() {
    let out = Command::new(env!("CARGO_BIN_EXE_sitrep"))
        .args(["lab", "up"])
        .env("SITREP_TOOLS", "/nonexistent-sitrep-tools")
        .output()
        .expect("run sitrep");
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(text.contains("moto_server") && text.contains("scripts/install"), "{text}");
}

#[test]
fn a_dir_the_postgres_user_cannot_reach_is_refused() {
    let (ok, out) = run_sitrep(&["lab", "up", "--dir", "/root/sitrep-lab-test"]);
    assert!(!ok);
    assert!(out.contains("not reachable by the `postgres` user"), "{out}");
    assert!(!Path::new("/root/sitrep-lab-test/lab.json").exists());
}
