//! Recordings: written as a stream, read back exactly, and a truncated, corrupt, foreign or newer
//! file gets a clear error — with whatever is readable still replayable.

use chrono::{DateTime, Duration, Utc};
use sitrep::model::{Event, Observation, QueueRow, QueuesSnapshot};
use sitrep::record::{Header, KeyRecord, Record, Recorder, read};
use std::io::Write;

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-29T03:00:00Z").map(|t| t.with_timezone(&Utc)).unwrap_or_default()
}

fn header() -> Header {
    Header {
        format: String::new(),
        version: 0,
        sitrep: "test".into(),
        started_at: t0(),
        cols: 80,
        rows: 24,
        sources: vec!["queue celery".into()],
        timezone: "UTC".into(),
        banner: "test".into(),
        refresh_secs: Default::default(),
    }
}

fn queues(depth: u64) -> Event {
    Event::Observed {
        at: t0() + Duration::seconds(depth as i64),
        observation: Observation::Queues(QueuesSnapshot {
            server: "x".into(),
            queues: vec![QueueRow { name: "celery".into(), depth, ..QueueRow::default() }],
            unacked: None,
        }),
    }
}

/// A recording of `n` queue observations and a key press, finished cleanly.
fn write(dir: &std::path::Path, n: u64) -> std::path::PathBuf {
    let path = dir.join("s.sitrep");
    let rec = Recorder::create(&path, &header()).expect("create");
    for i in 0..n {
        rec.record(Record::Event { t: i * 1000, event: queues(i) });
        if i % 50 == 0 {
            rec.flush();
        }
    }
    rec.record(Record::Key { t: n * 1000, key: KeyRecord("4".into()) });
    drop(rec);
    path
}

#[test]
fn a_recording_reads_back_exactly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), 300);
    let rec = read(&path).expect("read");
    assert!(rec.problem.is_none(), "{:?}", rec.problem);
    assert_eq!(rec.records.len(), 301);
    assert_eq!(rec.records[7], Record::Event { t: 7000, event: queues(7) });
    assert_eq!(rec.header.format, "sitrep-recording");
    assert_eq!(rec.duration_ms(), 300_000);
}

#[test]
fn a_truncated_recording_plays_up_to_the_cut_and_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), 3000);
    let bytes = std::fs::read(&path).expect("bytes");
    std::fs::write(&path, &bytes[..bytes.len() * 2 / 3]).expect("truncate");
    let rec = read(&path).expect("a truncated file still reads");
    let problem = rec.problem.clone().unwrap_or_default();
    assert!(problem.contains("ends early"), "{problem}");
    assert!(rec.records.len() > 100 && rec.records.len() < 3000, "kept {} records", rec.records.len());
    // What survived is exactly the beginning of what was written.
    for (i, r) in rec.records.iter().enumerate() {
        assert_eq!(r, &Record::Event { t: i as u64 * 1000, event: queues(i as u64) });
    }
}

#[test]
fn a_corrupt_recording_keeps_what_came_before_the_damage() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), 3000);
    let mut bytes = std::fs::read(&path).expect("bytes");
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 64] {
        *b ^= 0x5a;
    }
    std::fs::write(&path, &bytes).expect("corrupt");
    let rec = read(&path).expect("a damaged file still reads its good part");
    assert!(rec.problem.is_some());
    assert!(!rec.records.is_empty() && rec.records.len() < 3001);
}

#[test]
fn foreign_and_newer_files_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let foreign = dir.path().join("notes.txt");
    std::fs::write(&foreign, "hello").expect("write");
    let e = read(&foreign).expect_err("not a recording").to_string();
    assert!(e.contains("is not a sitrep recording"), "{e}");

    let newer = dir.path().join("newer.sitrep");
    let mut enc = zstd::stream::Encoder::new(std::fs::File::create(&newer).expect("create"), 3).expect("zstd");
    writeln!(enc, r#"{{"format":"sitrep-recording","version":99}}"#).expect("write");
    enc.finish().expect("finish");
    let e = read(&newer).expect_err("newer").to_string();
    assert!(e.contains("newer sitrep") && e.contains("upgrade"), "{e}");

    let e = read(&dir.path().join("missing.sitrep")).expect_err("missing").to_string();
    assert!(e.contains("cannot read recording"), "{e}");
}

#[test]
fn the_cli_reports_info_and_prints_frames_at_any_size() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), 120);
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sitrep")).arg("replay").arg(&path).args(args).output().expect("run");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let info = run(&["--info"]);
    assert!(info.contains("duration    2m") && info.contains("120 events, 1 keys"), "{info}");
    let small = run(&["--snapshot", "--at", "60s", "--size", "80x24"]);
    assert_eq!(small.lines().count(), 24);
    assert!(small.contains("celery") && small.contains("60"), "{small}");
    let big = run(&["--snapshot", "--size", "200x60"]);
    assert_eq!(big.lines().count(), 60);
    // The recorded key `4` focused the queues pane by the end.
    assert!(big.contains("▶4 queues"), "{big}");
    let cast = dir.path().join("s.cast");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sitrep"))
        .arg("replay")
        .arg(&path)
        .args(["--export-cast"])
        .arg(&cast)
        .args(["--size", "100x30"])
        .output()
        .expect("export");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&cast).expect("cast");
    let head: serde_json::Value = serde_json::from_str(text.lines().next().unwrap_or_default()).expect("cast header is JSON");
    assert_eq!(head["version"], 2);
    assert_eq!(head["width"], 100);
    assert!(text.lines().count() > 100, "one frame a second");
    // Replay never changes the recording.
    let before = std::fs::read(&path).expect("bytes");
    run(&["--snapshot"]);
    assert_eq!(before, std::fs::read(&path).expect("bytes"));
}
