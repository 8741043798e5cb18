//! The console against the real lab: all five panes show real data, and after each fault the
//! matching pane shows it — read from the headless frame exactly as a user would see it.

#[path = "support/tmux.rs"]
mod tmux;

use sitrep::lab::{Lab, LabOptions};
use std::process::Command;
use std::time::{Duration, Instant};
use tmux::Tmux;

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

/// Each test here runs its own lab; two at once on a 2-core CI machine would only test the machine.
static ONE_LAB_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn every_pane_shows_real_data_and_each_fault_shows_in_its_pane() {
    let _serial = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let lab = Lab::up(LabOptions { dir: None, scenario: None, owner_pid: Some(std::process::id()) }).expect("lab up");
    let info = lab.info.clone();

    // All five panes with real data, at the size the issue names, none failing once the lab settled.
    let musts = ["api-", "leader pg-", "streaming", "REPORTS MASTER", "celery", "pg_dump", "base backup"];
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let f = frame(&lab, "120x40", "6");
        if musts.iter().all(|m| f.contains(m)) && !f.contains("FAILING") {
            break;
        }
        assert!(Instant::now() < deadline, "not every pane shows healthy real data at 120x40:\n{f}");
    }

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

/// The console on the lab in a private tmux session, colours off.
fn console(lab: &Lab, cols: u16, rows: u16) -> Tmux {
    let cmd = format!("{} --config {}", env!("CARGO_BIN_EXE_sitrep"), lab.config_path().display());
    Tmux::start("test", cols, rows, &cmd, &[("NO_COLOR", "1")])
}

fn summary_line<'a>(screen: &'a str, pane: &str) -> &'a str {
    screen.lines().find(|l| l.contains(pane)).unwrap_or_default()
}

/// A postmaster and its backends: stopping only the postmaster leaves open connections serving.
fn with_children(parents: &[u32]) -> Vec<u32> {
    let mut all = parents.to_vec();
    for p in parents {
        let out = Command::new("pgrep").args(["-P", &p.to_string()]).output().expect("pgrep");
        all.extend(String::from_utf8_lossy(&out.stdout).split_whitespace().filter_map(|s| s.parse::<u32>().ok()));
    }
    all
}

fn signal(pids: &[u32], sig: i32) {
    for pid in pids {
        // SAFETY: kill(2) on pids the lab started.
        unsafe { libc::kill(*pid as i32, sig) };
    }
}

#[test]
fn frozen_backends_fail_only_their_own_pane_while_keys_answer() {
    let _serial = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let lab = Lab::up(LabOptions { dir: None, scenario: None, owner_pid: Some(std::process::id()) }).expect("lab up");
    let pids = |prefix: &str| -> Vec<u32> { lab.info.pids.iter().filter(|(k, _)| k.starts_with(prefix)).map(|(_, v)| *v).collect() };
    let tmux = console(&lab, 80, 24);
    let panes = ["1 pods", "2 replication", "3 sentinel", "4 queues", "5 backups"];
    tmux.until("every pane fresh", 30, |s| panes.iter().all(|p| summary_line(s, p).contains("fresh")));

    let cases: [(&str, Vec<u32>, &str, &str); 4] = [
        ("S3 server", pids("moto"), "5 backups", "5"),
        ("every Sentinel", pids("sentinel-"), "3 sentinel", "3"),
        ("every Postgres member", with_children(&pids("postgres-")), "2 replication", "2"),
        ("the Kubernetes API", vec![lab.info.supervisor_pid], "1 pods", "1"),
    ];
    for (what, frozen, pane, key) in cases {
        signal(&frozen, libc::SIGSTOP);
        let s = tmux.until(&format!("{pane} failing with {what} frozen"), 30, |s| summary_line(s, pane).contains("FAIL"));
        for other in panes.iter().filter(|p| **p != pane && !(pane == "1 pods" && **p == "4 queues")) {
            assert!(!summary_line(&s, other).contains("FAIL"), "{other} failed too with {what} frozen:\n{s}");
        }
        // Keys still answer while the backend hangs: focus moves to the failing pane and its error shows.
        tmux.keys(&[key]);
        tmux.until(&format!("focus on {pane}"), 5, |s| summary_line(s, pane).contains(&format!("▶{key}")));
        tmux.until(&format!("{pane} error shown"), 5, |s| s.contains('⚠') || s.contains("no answer") || s.contains("cannot"));
        signal(&frozen, libc::SIGCONT);
        tmux.until(&format!("{pane} recovers after {what} resumes"), 40, |s| summary_line(s, pane).contains("fresh"));
    }
    tmux.keys(&["q"]);
    drop(tmux);
    lab.down().expect("lab down");
}

/// The lab's secrets, as they appear in lab.json and DIR/sitrep.toml.
fn lab_secrets(lab: &Lab) -> Vec<String> {
    let mut out = vec![lab.info.s3.secret_access_key.clone(), lab.info.s3.access_key_id.clone()];
    for m in &lab.info.postgres.members {
        if let Some(p) = m.dsn.split_whitespace().find_map(|kv| kv.strip_prefix("password=")) {
            out.push(p.to_string());
        }
    }
    out.retain(|s| s.len() >= 6);
    out
}

#[test]
fn a_recorded_lab_session_replays_to_the_frames_shown_live_and_keeps_no_secret() {
    let _serial = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let lab = Lab::up(LabOptions { dir: None, scenario: None, owner_pid: Some(std::process::id()) }).expect("lab up");
    let dir = tempfile::tempdir().expect("tempdir");
    let recording = dir.path().join("session.sitrep");
    // A live headless session with a fault in the middle, recorded.
    let logs = dir.path().join("logs");
    let handle = {
        let config = lab.config_path();
        let recording = recording.clone();
        let logs = logs.clone();
        std::thread::spawn(move || {
            Command::new(env!("CARGO_BIN_EXE_sitrep"))
                .args(["console", "--snapshot", "--size", "120x40", "--settle", "14", "--record"])
                .arg(&recording)
                .arg("--config")
                .arg(&config)
                .env("NO_COLOR", "1")
                .env("SITREP_LOG_DIR", &logs)
                .env("SITREP_LOG", "debug")
                .output()
                .expect("record")
        })
    };
    std::thread::sleep(Duration::from_secs(5));
    lab.fault("queue-flood").expect("queue-flood");
    let out = handle.join().expect("recording thread");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let live = String::from_utf8_lossy(&out.stdout).into_owned();

    let replay = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_sitrep"))
            .arg("replay")
            .arg(&recording)
            .args(args)
            .env("NO_COLOR", "1")
            .output()
            .expect("replay");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // The last live frame and the replayed one at the same moment and size: identical but for the banner.
    let replayed = replay(&["--snapshot", "--size", "120x40"]).replace("REPLAY · ", "");
    assert_eq!(replayed, live, "replay differs from what was shown live");
    // Other sizes render too.
    for (size, rows) in [("80x24", 24), ("200x60", 60)] {
        let f = replay(&["--snapshot", "--at", "10s", "--size", size]);
        assert_eq!(f.lines().count(), rows);
        assert!(f.contains("queues"), "{f}");
    }
    // No lab credential is in the recording, compressed or not.
    let raw = std::fs::read(&recording).expect("recording bytes");
    let text = String::from_utf8_lossy(&zstd::decode_all(&raw[..]).expect("zstd")).into_owned();
    for secret in lab_secrets(&lab) {
        assert!(!text.contains(&secret), "the recording contains the lab secret {secret}");
    }
    // Nor the log, even at debug (the AWS SDK prints its credentials chain, access key id included).
    let log = std::fs::read_to_string(logs.join("sitrep.log")).expect("the session's log");
    assert!(log.contains("AKIA****************") || !log.contains("AKIA"), "the log names key ids unmasked");
    for secret in lab_secrets(&lab) {
        assert!(!log.contains(&secret), "sitrep.log contains the lab secret {secret}");
    }
    lab.down().expect("lab down");
}

#[test]
fn frames_taken_while_recording_equal_the_replayed_frames_at_the_same_offsets() {
    use sitrep::app::{Console, frame_text};
    use sitrep::clock::Clock;
    use sitrep::model::Event;
    let _serial = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let lab = Lab::up(LabOptions { dir: None, scenario: None, owner_pid: Some(std::process::id()) }).expect("lab up");
    let mut config = sitrep::config::load(&lab.config_path()).expect("lab config");
    config.general.theme = "mono".into();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("live.sitrep");
    let header = sitrep::record::Header {
        format: String::new(),
        version: 0,
        sitrep: "test".into(),
        started_at: chrono::Utc::now(),
        cols: 120,
        rows: 40,
        sources: vec![],
        timezone: "UTC".into(),
        banner: "live".into(),
        refresh_secs: Default::default(),
    };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let live: Vec<(u64, String, String)> = rt.block_on(async {
        let mut console = Console::new(config.clone(), "live".into(), Clock::Real).expect("console");
        console.set_recorder(sitrep::record::Recorder::create(&path, &header).expect("recorder"));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let tasks = sitrep::sources::spawn_all(&config, Clock::Real, tx);
        let mut frames = Vec::new();
        for (i, fault) in [(0, None), (1, Some("queue-flood")), (2, Some("deploy-bad"))] {
            if let Some(f) = fault {
                lab.fault(f).expect("fault");
            }
            let until = tokio::time::Instant::now() + Duration::from_secs(6);
            while let Ok(Some(ev)) = tokio::time::timeout_at(until, rx.recv()).await {
                console.feed(vec![ev]);
            }
            console.feed(vec![Event::Tick { at: chrono::Utc::now() }]);
            let t = console.recorder().map_or(0, |r| r.offset_ms());
            frames.push((t, frame_text(&console, 120, 40, false), format!("frame {i}")));
        }
        for t in tasks {
            t.abort();
        }
        console.finish_recording();
        frames
    });
    let rec = sitrep::record::read(&path).expect("read the recording");
    assert!(rec.problem.is_none(), "{:?}", rec.problem);
    for (t, frame, what) in &live {
        let replayed = sitrep::replay::player::console_at(&rec, &config, *t, true).expect("replay console");
        let replayed = frame_text(&replayed, 120, 40, false).replace("REPLAY · ", "");
        assert_eq!(&replayed, frame, "{what} at {t} ms differs from the live one");
    }
    assert!(live[1].1.contains("growing") || live[2].1.contains("growing"), "the flood shows: {}", live[2].1);
    lab.down().expect("lab down");
}

#[test]
fn the_rollback_wizard_in_the_console_undoes_a_bad_deploy_after_the_typed_name() {
    let _serial = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let lab = Lab::up(LabOptions { dir: None, scenario: None, owner_pid: Some(std::process::id()) }).expect("lab up");
    lab.fault("deploy-bad").expect("deploy-bad");
    let tmux = console(&lab, 100, 34);
    tmux.until("the bad rollout on screen", 60, |s| s.contains("CrashLoopBackOff"));
    // A precondition that does not hold shows in the dry run, in its own words, and nothing is asked.
    tmux.keys(&[":run rollback deployment=nosuch"]);
    tmux.keys(&["Enter"]);
    let stopped = tmux.until("the dry run stopped by its precondition", 30, |s| s.contains("STOPPED · dry run"));
    assert!(stopped.contains("[precondition failed]") && stopped.contains("precondition not met"), "{stopped}");
    assert!(!stopped.contains("to confirm"), "no typed prompt after a failed precondition:\n{stopped}");
    tmux.keys(&["Escape"]);
    // An Esc followed at once by `:` reads as Alt-: to a terminal; the next keys wait for the close.
    tmux.until("the stopped wizard closed by Esc", 10, |s| !s.contains("STOPPED · dry run"));
    tmux.keys(&[":run rollback deployment=api"]);
    tmux.keys(&["Enter"]);
    tmux.until("the preview", 30, |s| s.contains("WAITING FOR CONFIRMATION") && s.contains("type api to confirm"));
    // A wrong name is said to be wrong and asked again; nothing changes: the deployment, read by
    // the real kubectl, is as before.
    let before = api_deployment(&lab);
    assert!(
        before.starts_with("image=registry.local/shop/api:") && !before.starts_with("image=registry.local/shop/api:1.4.2 "),
        "the bad rollout is live: {before}"
    );
    tmux.keys(&["API"]);
    tmux.keys(&["Enter"]);
    tmux.until("the typo asked again", 30, |s| s.contains("`API` is not `api`") && s.contains("type api to confirm"));
    // A rollback under way would change the template (image) and the revision within a second or two.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(api_deployment(&lab), before, "the wrong name changed deployment/api");
    tmux.keys(&["api"]);
    tmux.keys(&["Enter"]);
    tmux.until("the rollback completed", 60, |s| s.contains("COMPLETED") && s.contains("completed in") && s.contains("[verified]"));
    let image = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&lab.info.kube.kubeconfig)
        .args(["get", "deployment", "api", "-n", "shop", "-o", "jsonpath={.spec.template.spec.containers[0].image}"])
        .output()
        .expect("kubectl");
    assert_eq!(String::from_utf8_lossy(&image.stdout), "registry.local/shop/api:1.4.2");
    tmux.keys(&["Escape"]);
    tmux.keys(&["q"]);
    drop(tmux);
    lab.down().expect("lab down");
}

/// deployment/api as the real kubectl reads it from the stand-in: image, revision, generation.
fn api_deployment(lab: &Lab) -> String {
    let jsonpath = "jsonpath=image={.spec.template.spec.containers[0].image} \
                    revision={.metadata.annotations.deployment\\.kubernetes\\.io/revision} generation={.metadata.generation}";
    let out = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&lab.info.kube.kubeconfig)
        .args(["get", "deployment", "api", "-n", "shop", "-o", jsonpath])
        .output()
        .expect("kubectl (scripts/install installs it)");
    assert!(out.status.success(), "kubectl get deployment api failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The value column of a `| name | value | … |` row of the export's tables.
fn md_cell<'a>(md: &'a str, row: &str) -> &'a str {
    md.lines()
        .find(|l| l.starts_with(&format!("| {row} |")))
        .and_then(|l| l.split('|').nth(2))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no `{row}` row in the export:\n{md}"))
}

/// The production runbook's workflow as an on-call engineer works it: the alarms come first, the
/// incident is opened after them from the console, mitigated, and exported from the console. The
/// export keeps the detections made before `:open`, and RTO counts from the first of them.
#[test]
fn detections_before_open_are_in_the_incident_and_the_console_export_counts_from_the_first() {
    let _serial = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let lab = Lab::up(LabOptions { dir: None, scenario: None, owner_pid: Some(std::process::id()) }).expect("lab up");
    let tmux = console(&lab, 80, 24);
    tmux.until("the pods pane fresh", 40, |s| summary_line(s, "1 pods").contains("fresh"));
    lab.fault("deploy-bad").expect("deploy-bad");
    lab.fault("queue-flood").expect("queue-flood");
    // Both alarms are on screen, read in the full-screen timeline, while no incident is open yet.
    tmux.keys(&["t"]);
    tmux.until("both detections before any incident", 120, |s| s.contains("crashloop began") && s.contains("growing"));
    tmux.keys(&["Escape"]);
    tmux.until("the timeline closed", 10, |s| summary_line(s, "1 pods").contains("pods"));
    // The export's times are to the second: open in a later second than the detections seen, so
    // "before the open" is told apart from "in the same second".
    std::thread::sleep(Duration::from_millis(1100));
    tmux.keys(&[":open P2 api crash-looping, queue backing up", "Enter"]);
    tmux.until("the incident open in the header", 20, |s| s.contains("P2 INVESTIGATING"));
    tmux.keys(&[":status mitigated", "Enter"]);
    tmux.until("the status in the header", 20, |s| s.contains("P2 MITIGATED"));
    let out = tempfile::tempdir().expect("temp dir");
    let path = out.path().join("pm.md");
    tmux.keys(&[&format!(":export md {}", path.display()), "Enter"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !path.exists() {
        assert!(Instant::now() < deadline, "the export was not written; screen:\n{}", tmux.screen());
        std::thread::sleep(Duration::from_millis(100));
    }
    let md = std::fs::read_to_string(&path).expect("the export");
    tmux.keys(&["q"]);
    drop(tmux);
    lab.down().expect("lab down");

    eprintln!("EXPORT\n{md}");
    let (impact, detected, opened) = (md_cell(&md, "Impact began"), md_cell(&md, "Detected"), md_cell(&md, "Opened"));
    assert!(detected < opened, "detected {detected} is not before opened {opened}:\n{md}");
    assert_eq!(impact, detected, "impact begins at the first detection:\n{md}");
    let rows: Vec<&str> = md.lines().filter(|l| l.starts_with("| 20") && l.contains(" detected [")).collect();
    let crash = rows.iter().find(|l| l.contains("crashloop began: pod shop/api-")).unwrap_or_else(|| panic!("no crash loop:\n{md}"));
    let flood = rows.iter().find(|l| l.contains("queue") && l.contains("growing")).unwrap_or_else(|| panic!("no queue growth:\n{md}"));
    for row in [crash, flood] {
        let at = row.split('|').nth(1).map(str::trim).unwrap_or_default();
        assert!(at < opened, "{row} is not before the open at {opened}");
    }
    assert!(md_cell(&md, "Time to mitigate (= RTO achieved)") != "unknown", "{md}");
    assert!(md.contains("measured: impact began → status mitigated"), "{md}");
}
