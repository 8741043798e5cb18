//! The console against the real lab: all five panes show real data, and after each fault the
//! matching pane shows it — read from the headless frame exactly as a user would see it.

use sitrep::lab::{Lab, LabOptions};
use std::process::Command;
use std::time::{Duration, Instant};

/// One frame of the console after `settle` seconds of live data.
fn frame(lab: &Lab, size: &str, settle: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_sitrep"))
        .args(["console", "--snapshot", "--size", size, "--settle", settle, "--config"])
        .arg(lab.config_path())
        .env("NO_COLOR", "1")
        .output()
        .expect("run sitrep --snapshot");
    assert!(out.status.success(), "snapshot failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Frames until every `needle` is on screen, or fails with the last frame.
fn shows(lab: &Lab, what: &str, needles: &[&str], secs: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let f = frame(lab, "200x60", "3");
        if needles.iter().all(|n| f.contains(n)) {
            return f;
        }
        assert!(Instant::now() < deadline, "{what}: {needles:?} not shown within {secs}s; last frame:\n{f}");
    }
}

#[test]
fn every_pane_shows_real_data_and_each_fault_shows_in_its_pane() {
    let lab = Lab::up(LabOptions { dir: None, scenario: None, owner_pid: Some(std::process::id()) }).expect("lab up");
    let info = lab.info.clone();

    // All five panes with real data, at the size the issue names.
    let f = frame(&lab, "120x40", "6");
    for must in ["api-", "leader pg-", "streaming", "REPORTS MASTER", "celery", "pg_dump", "base backup"] {
        assert!(f.contains(must), "{must} missing at 120x40:\n{f}");
    }
    assert!(!f.contains("FAILING"), "a pane is failing on a healthy lab:\n{f}");

    lab.fault("queue-flood").expect("queue-flood");
    shows(&lab, "queue-flood", &["growing"], 30);

    lab.fault("deploy-bad").expect("deploy-bad");
    shows(&lab, "deploy-bad", &["CrashLoopBackOff"], 60);

    lab.fault("pg-archive-broken").expect("pg-archive-broken");
    shows(&lab, "pg-archive-broken", &["WAL ARCHIVING FAILING"], 60);

    lab.fault("backup-stale").expect("backup-stale");
    shows(&lab, "backup-stale", &["RPO BREACH"], 30);

    lab.fault("pg-standby-pause").expect("pg-standby-pause");
    // The paused standby stops acknowledging: write lag in bytes appears while orders keep coming.
    let f = shows(&lab, "pg-standby-pause", &["streaming"], 30);
    let lagging = (0..10).any(|_| {
        let f = frame(&lab, "200x60", "2");
        f.lines().any(|l| l.contains("pg-1") && (l.contains("KiB") || l.contains("MiB")))
    });
    assert!(lagging, "no lag shown for the paused standby:\n{f}");
    lab.fault("pg-standby-resume").expect("pg-standby-resume");

    let old_master = info.redis.master.clone();
    lab.fault("redis-master-down").expect("redis-master-down");
    let f = shows(&lab, "redis-master-down", &["mymaster at"], 5);
    let moved = Instant::now() + Duration::from_secs(40);
    let mut last = f;
    while Instant::now() < moved {
        last = frame(&lab, "200x60", "3");
        let summary = last.lines().find(|l| l.contains("3 sentinel")).unwrap_or_default().to_string();
        if summary.contains("mymaster at") && !summary.contains(&old_master) {
            break;
        }
    }
    let summary = last.lines().find(|l| l.contains("3 sentinel")).unwrap_or_default();
    assert!(!summary.contains(&old_master), "Sentinels still report the dead master {old_master}:\n{last}");
    lab.down().expect("lab down");
}

#[test]
fn a_stopped_backend_fails_only_its_own_pane_and_recovers() {
    let lab = Lab::up(LabOptions { dir: None, scenario: None, owner_pid: Some(std::process::id()) }).expect("lab up");
    // Freeze the S3 server: only the backups pane may go failing; the others stay fresh.
    let pid = *lab.info.pids.get("moto").expect("moto pid in lab.json") as i32;
    // SAFETY: plain kill(2) on a pid the lab owns.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGSTOP) }, 0);
    let f = frame(&lab, "200x60", "8");
    let backups = f.lines().find(|l| l.contains("5 backups")).unwrap_or_default();
    assert!(backups.contains("FAILING"), "backups pane not failing with S3 frozen:\n{f}");
    for other in ["1 pods", "2 replication", "3 sentinel", "4 queues"] {
        let line = f.lines().find(|l| l.contains(other)).unwrap_or_default();
        assert!(line.contains("fresh"), "{other} should stay fresh:\n{f}");
    }
    assert_eq!(unsafe { libc::kill(pid, libc::SIGCONT) }, 0);
    let f = frame(&lab, "200x60", "6");
    let backups = f.lines().find(|l| l.contains("5 backups")).unwrap_or_default();
    assert!(backups.contains("fresh"), "backups did not recover after SIGCONT:\n{f}");
    lab.down().expect("lab down");
}
