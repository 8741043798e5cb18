//! Detection against the real lab: the console runs in tmux with an incident open; the lab's
//! faults are injected together, then healed (with the mitigations an on-call engineer would
//! apply: roll the deployment back, purge the flooded queues); each fault must leave exactly one
//! detected entry and one recovery entry in the timeline — one per transition, not one per poll.
//! This binary has its own lab: it breaks things.

#[path = "support/tmux.rs"]
mod tmux;

use sitrep::lab::LabInfo;
use sitrep::timeline::{EntryKind, LocalStore, TimelineEntry};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use tmux::Tmux;

fn sitrep(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sitrep")).args(args).env("SITREP_LAB_BACKUP_SECS", "10").output().expect("run sitrep");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

fn fault(dir: &Path, name: &str) {
    let lab = sitrep::lab::Lab::attach(dir).unwrap_or_else(|e| panic!("attach {}: {e}", dir.display()));
    match lab.fault_detail(name) {
        Ok(detail) => eprintln!("{name}: {detail}"),
        Err(e) => panic!("fault {name} failed: {e}"),
    }
}

/// Stops the lab however the test ends (the console's tmux, declared later, goes first).
struct LabDown {
    lab: PathBuf,
}

impl Drop for LabDown {
    fn drop(&mut self) {
        let _ = Command::new(env!("CARGO_BIN_EXE_sitrep")).args(["lab", "down", "--dir"]).arg(&self.lab).output();
    }
}

/// Detected entries as (what, recovered).
fn detections(store: &LocalStore) -> Vec<(String, bool)> {
    let id = store.current().ok().flatten().expect("the incident is open");
    let read = store.read(&id).expect("the timeline reads");
    read.entries
        .iter()
        .filter_map(|e: &TimelineEntry| match &e.kind {
            EntryKind::Detected { what, recovered, .. } => Some((what.clone(), *recovered)),
            _ => None,
        })
        .collect()
}

fn count_containing(found: &[(String, bool)], part: &str) -> usize {
    found.iter().filter(|(w, _)| w.contains(part)).count()
}

fn count(found: &[(String, bool)], prefix: &str) -> usize {
    found.iter().filter(|(w, _)| w.starts_with(prefix)).count()
}

/// Waits until `pred` holds over the detections, printing them if it never does.
fn wait_for(store: &LocalStore, what: &str, secs: u64, pred: impl Fn(&[(String, bool)]) -> bool) {
    let start = Instant::now();
    loop {
        let found = detections(store);
        if pred(&found) {
            eprintln!("{what}: after {:.1}s", start.elapsed().as_secs_f64());
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(secs), "{what} within {secs}s; the timeline has:\n{}", show(&found));
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn show(found: &[(String, bool)]) -> String {
    found.iter().map(|(w, r)| format!("  {} {w}\n", if *r { "recovered" } else { "detected " })).collect()
}

/// Pods named in crashloop entries: (began, ended) per pod.
fn crashloops(found: &[(String, bool)]) -> std::collections::BTreeMap<String, (usize, usize)> {
    let mut out = std::collections::BTreeMap::new();
    for (w, _) in found {
        for (prefix, ended) in [("crashloop began: pod ", false), ("crashloop ended: pod ", true)] {
            if let Some(rest) = w.strip_prefix(prefix) {
                let pod = rest.split_whitespace().next().unwrap_or_default().to_string();
                let slot: &mut (usize, usize) = out.entry(pod).or_default();
                if ended {
                    slot.1 += 1;
                } else {
                    slot.0 += 1;
                }
            }
        }
    }
    out
}

/// Empties the Celery queues on whichever node Sentinel names master: the purge an engineer does
/// once the flood's source is stopped and the backlog is known to be junk. TLS and the lab's
/// logins, through sitrep's backend.
async fn purge_queues(info: &LabInfo) {
    let s = info.redis_settings();
    let master = sitrep::lab::redis::master_from_sentinel(&s, &info.redis.sentinels_direct[0]).await.expect("a master from Sentinel");
    let mut con = s.connect_master(&master, Duration::from_secs(5)).await.expect("connect to the master");
    for q in &info.queues.names {
        for p in sitrep::backends::redis::KOMBU_PRIORITY_STEPS {
            let _: redis::RedisResult<()> =
                redis::cmd("LTRIM").arg(sitrep::backends::redis::kombu_key(q, p)).arg(1).arg(0).query_async(&mut con).await;
        }
    }
}

async fn switch_wal(info: &LabInfo) {
    for m in &info.postgres.members {
        if let Ok(c) = sitrep::backends::postgres::connect(&m.dsn, Duration::from_secs(5)).await.map(|c| c.client) {
            let _ = c.query("SELECT pg_switch_wal() WHERE NOT pg_is_in_recovery()", &[]).await;
        }
    }
}

#[test]
fn each_lab_fault_is_one_detected_entry_and_one_recovery() {
    let (ok, out) = sitrep(&["lab", "up", "--owner-pid", &std::process::id().to_string()]);
    assert!(ok, "lab up: {out}");
    let dir =
        out.lines().find_map(|l| l.split_once(": ").filter(|(h, _)| h.starts_with("lab ready")).map(|(_, d)| PathBuf::from(d.trim())));
    let dir = dir.unwrap_or_else(|| panic!("no lab dir in:\n{out}"));
    let info = LabInfo::read(&dir).expect("lab.json");
    let _lab_down = LabDown { lab: dir.clone() };

    // The lab's config, with thresholds a test can cross in seconds (sitrep.toml is the user's).
    let work = tempfile::tempdir().expect("tempdir");
    let lab_config = std::fs::read_to_string(dir.join("sitrep.toml")).expect("lab sitrep.toml");
    let config = work.path().join("sitrep.toml");
    let thresholds = "[thresholds]\nrpo_secs = 300\nlag_warn_secs = 30\nlag_crit_secs = 600\nlag_warn_bytes = 262144\nquery_warn_secs = 20\nquery_crit_secs = 7200\n";
    std::fs::write(&config, lab_config.replace("[thresholds]\nrpo_secs = 300\n", thresholds)).expect("config");
    let data = work.path().join("data");
    let store = LocalStore::at(&data);
    let env = format!("SITREP_CONFIG={} SITREP_DATA_DIR={}", config.display(), data.display());
    let (ok, out) = {
        let o = Command::new(env!("CARGO_BIN_EXE_sitrep"))
            .args(["incident", "open", "--sev", "P2", "lab faults"])
            .env("SITREP_CONFIG", &config)
            .env("SITREP_DATA_DIR", &data)
            .output()
            .expect("incident open");
        (o.status.success(), String::from_utf8_lossy(&o.stderr).into_owned())
    };
    assert!(ok, "{out}");
    let cmd = format!("{env} {} console", env!("CARGO_BIN_EXE_sitrep"));
    let _console = Tmux::start("detect", 200, 60, &cmd, &[]);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");

    // A healthy lab first: whatever is found at start-up is the baseline.
    std::thread::sleep(Duration::from_secs(12));
    let baseline = detections(&store);
    eprintln!("baseline:\n{}", show(&baseline));

    for f in ["queue-flood", "pg-standby-pause", "pg-archive-broken", "deploy-bad", "backup-stale", "pg-connections"] {
        fault(&dir, f);
    }
    wait_for(&store, "every fault detected", 120, |found| {
        count_containing(found, "connections at warning level") > 0
            && count(found, "Postgres long query at warning level") > 0
            && count(found, "queue ") > 0
            && count(found, "replication lag at warning level") > 0
            && count(found, "WAL archiving failing") > 0
            && count(found, "crashloop began") > 0
            && count(found, "newest pg_dump is older than the RPO") > 0
    });

    // Heal: resume the standby, fix archiving, restart the backup job, stop the flood; then the
    // mitigations: roll api back and purge the backlog; a WAL switch wakes the archiver.
    fault(&dir, "heal");
    let undo = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&info.kube.kubeconfig)
        .args(["rollout", "undo", "deployment/api", "-n", &info.kube.namespace])
        .output()
        .expect("kubectl");
    assert!(undo.status.success(), "kubectl rollout undo: {}", String::from_utf8_lossy(&undo.stderr));
    rt.block_on(purge_queues(&info));
    rt.block_on(switch_wal(&info));
    // The archiver is woken by a WAL switch at most every 10 s: each switch moves the leader's
    // LSN a segment ahead, and a standby still catching up after its pause is then truly behind.
    let last_switch = std::cell::Cell::new(Instant::now());
    wait_for(&store, "every fault recovered", 150, |found| {
        let loops = crashloops(found);
        let queues_over = found.iter().filter(|(w, r)| w.starts_with("queue ") && !r).count();
        let queues_back = found.iter().filter(|(w, r)| w.starts_with("queue ") && *r).count();
        if count(found, "WAL archiving recovered") == 0 && last_switch.get().elapsed() >= Duration::from_secs(10) {
            rt.block_on(switch_wal(&info));
            last_switch.set(Instant::now());
        }
        queues_back >= queues_over
            && count_containing(found, "connections back under the warning share") > 0
            && count_containing(found, "no statement or transaction over the query threshold now") > 0
            && count(found, "replication lag back under") > 0
            && count(found, "WAL archiving recovered") > 0
            && loops.values().all(|(began, ended)| *ended >= *began)
            && count(found, "newest pg_dump is within the RPO again") > 0
    });
    // Let a few more polls go by: a flap would show up now as a second entry.
    std::thread::sleep(Duration::from_secs(8));
    let found = detections(&store);
    let report = show(&found);
    eprintln!("timeline:\n{report}");
    // Lag: the WAL switch that wakes the archiver after heal can put the just-resumed standby a
    // segment behind for real (seen once under CI load: "0s, 16.0MiB behind"); that is a second
    // transition, not a flap, so lag is held to matched pairs, the first before heal.
    let lag = count(&found, "replication lag at warning level");
    assert!(lag >= 1 && lag == count(&found, "replication lag back under"), "lag entries in pairs:\n{report}");
    for (what, recovery) in [
        ("WAL archiving failing", "WAL archiving recovered"),
        ("newest pg_dump is older than the RPO", "newest pg_dump is within the RPO again"),
    ] {
        assert_eq!(count(&found, what), 1, "exactly one `{what}`:\n{report}");
        assert_eq!(count(&found, recovery), 1, "exactly one `{recovery}`:\n{report}");
    }
    // The connection flood: one entry when the leader crossed 80% of max_connections, one when
    // heal ended it; its sleeping statement the same (the member is named in both).
    assert_eq!(count_containing(&found, "connections at warning level"), 1, "{report}");
    assert_eq!(count_containing(&found, "connections back under the warning share"), 1, "{report}");
    let long = count(&found, "Postgres long query at warning level");
    let long_back = count_containing(&found, "no statement or transaction over the query threshold now");
    assert!(long >= 1 && long == long_back, "long statements: {long} detected, {long_back} recovered:\n{report}");
    assert!(
        found.iter().any(|(w, _)| w.starts_with("Postgres long query")
            && w.contains("pg_sleep(3600)")
            && !w.chars().any(sitrep::sanitize::is_unsafe)),
        "the flood's statement is named, made safe:\n{report}"
    );
    for q in &info.queues.names {
        let over = count(&found, &format!("queue {q} growing"));
        let back = count(&found, &format!("queue {q} back under"));
        assert!(over <= 1 && over == back, "queue {q}: {over} detected, {back} recovered:\n{report}");
    }
    assert!(info.queues.names.iter().any(|q| count(&found, &format!("queue {q} growing")) == 1), "{report}");
    let loops = crashloops(&found);
    assert!(!loops.is_empty(), "{report}");
    for (pod, (began, ended)) in &loops {
        assert_eq!((*began, *ended), (1, 1), "pod {pod}: one crashloop began and one ended:\n{report}");
    }

    // Losing a primary: Patroni and Sentinel move them. One entry says where it went (or one that
    // it was lost and one where it came back, if there was no leader for longer than the fold).
    fault(&dir, "redis-master-down");
    fault(&dir, "pg-leader-down");
    let moved_or_back = |found: &[(String, bool)], what: &str| {
        found.iter().any(|(w, r)| w.starts_with(what) && *r && (w.contains("moved from") || w.contains("there was none")))
    };
    wait_for(&store, "both primaries replaced", 120, |found| {
        moved_or_back(found, "Redis master (Sentinel)") && moved_or_back(found, "Postgres leader")
    });
    fault(&dir, "heal");
    std::thread::sleep(Duration::from_secs(8));
    let found = detections(&store);
    let report = show(&found);
    eprintln!("timeline after the primaries moved:\n{report}");
    for what in ["Redis master (Sentinel)", "Postgres leader"] {
        let entries: Vec<&(String, bool)> = found.iter().filter(|(w, _)| w.starts_with(what)).collect();
        let one_move = entries.len() == 1 && entries[0].0.contains("moved from");
        let lost_then_back = entries.len() == 2 && entries[0].0.contains("lost") && !entries[0].1 && entries[1].1;
        assert!(one_move || lost_then_back, "{what}: one move, or lost then back:\n{report}");
    }

    // Nothing else flapped: every other kind of detection (a source failing while the standby was
    // frozen, say) also comes in detected/recovered pairs at most once each.
    let other: Vec<&(String, bool)> = found.iter().filter(|(w, _)| w.starts_with("source ")).collect();
    for (w, _) in &other {
        let source = w.split_whitespace().nth(1).unwrap_or_default();
        let n = other.iter().filter(|(x, _)| x.split_whitespace().nth(1) == Some(source)).count();
        assert!(n <= 2, "source {source} flapped:\n{report}");
    }
}
