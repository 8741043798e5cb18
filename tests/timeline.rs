//! The incident timeline as an on-call engineer relies on it: SIGKILLed writers, torn and corrupt
//! files, wrong ids, unwritable dirs, concurrent writers, and the post-mortem export.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use sitrep::clock::Clock;
use sitrep::config::Thresholds;
use sitrep::timeline::cli::{self, ExportArgs, ExportFormat, IncidentArgs, IncidentCommand, NoteArgs, Session};
use sitrep::timeline::entry::{EntryKind, IncidentId, IncidentStatus, Severity, TimelineEntry};
use sitrep::timeline::estate::Estate;
use sitrep::timeline::lock::{FileLock, LockMode};
use sitrep::timeline::{LocalStore, TimelineWriter, record};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::thread::JoinHandle;
use std::time::Instant;
use uuid::Uuid;

const WRITER_DIR: &str = "SITREP_TEST_WRITER_DIR";
const WRITER_INCIDENT: &str = "SITREP_TEST_WRITER_INCIDENT";
const WRITER_TEARS: &str = "SITREP_TEST_WRITER_TEARS";
const WRITER_COUNT: &str = "SITREP_TEST_WRITER_COUNT";

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-29T03:00:00Z").map(|t| t.with_timezone(&Utc)).unwrap_or_default()
}

fn session(dir: &Path) -> Session {
    Session {
        store: LocalStore::at(dir),
        clock: Clock::virtual_at(start()),
        author: "oncall@laptop".into(),
        estate: Estate::default(),
        look_back: sitrep::timeline::adopt::DEFAULT_LOOK_BACK,
        shared: None,
        timeout: std::time::Duration::from_secs(3),
    }
}

/// Runs a CLI function, returning (result, stdout, stderr).
fn run<F>(f: F) -> (anyhow::Result<ExitCode>, String, String)
where
    F: FnOnce(&mut Vec<u8>, &mut Vec<u8>) -> anyhow::Result<ExitCode>,
{
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let result = f(&mut out, &mut err);
    (result, String::from_utf8_lossy(&out).into_owned(), String::from_utf8_lossy(&err).into_owned())
}

fn note(s: &Session, text: &str) -> String {
    let args = NoteArgs { text: text.into(), incident: None, corrects: None };
    let (result, out, err) = run(|o, e| cli::note(s, args, o, e));
    assert!(result.is_ok(), "note failed: {result:?} {err}");
    out.trim().strip_prefix("saved ").map(str::to_string).unwrap_or_else(|| panic!("no `saved <id>` in {out:?}"))
}

fn open(s: &Session, title: &str) -> IncidentId {
    let args = IncidentArgs { command: IncidentCommand::Open { severity: Severity::P2, title: title.into(), look_back: None } };
    let (result, out, err) = run(|o, e| cli::incident(s, args, o, e));
    assert!(result.is_ok(), "open failed: {result:?} {err}");
    out.trim().parse().unwrap_or_else(|e| panic!("open printed {out:?}: {e}"))
}

// ---------------------------------------------------------------- writer child (re-exec)

/// Not a test on its own: the crash tests re-exec this binary to run it as a writer process.
#[test]
#[ignore = "child process of the crash tests"]
fn writer_child() {
    let (Some(dir), Some(id)) = (std::env::var_os(WRITER_DIR), std::env::var(WRITER_INCIDENT).ok()) else { return };
    let store = LocalStore::at(PathBuf::from(dir));
    let s = Session {
        store,
        clock: Clock::Real,
        author: format!("writer-{}@test", std::process::id()),
        estate: Estate::default(),
        look_back: sitrep::timeline::adopt::DEFAULT_LOOK_BACK,
        shared: None,
        timeout: std::time::Duration::from_secs(3),
    };
    let count: usize = std::env::var(WRITER_COUNT).ok().and_then(|c| c.parse().ok()).unwrap_or(usize::MAX);
    let tears = std::env::var_os(WRITER_TEARS).is_some();
    let mut stdout = std::io::stdout().lock();
    for n in 0..count {
        if tears && n == 2 {
            tear_and_hang(&s, &id, &mut stdout);
        }
        let text = format!("writer {} note {n} {}", std::process::id(), "x".repeat(n % 7 * 100));
        let args = NoteArgs { text, incident: Some(id.clone()), corrects: None };
        if let Err(e) = cli::note(&s, args, &mut stdout, &mut std::io::stderr()) {
            panic!("writer failed: {e:#}");
        }
    }
}

/// Dies the way a power cut would leave it: half a record written under the lock, never finished.
fn tear_and_hang(s: &Session, id: &str, stdout: &mut impl Write) -> ! {
    let path = s.store.incidents_dir().join(format!("{id}.timeline"));
    let file = std::fs::OpenOptions::new().append(true).open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let _lock = FileLock::acquire(&file, LockMode::Exclusive).unwrap_or_else(|e| panic!("lock: {e}"));
    let entry = TimelineEntry {
        id: Uuid::new_v4(),
        incident: id.parse().unwrap_or_else(|e| panic!("{e}")),
        at: Utc::now(),
        author: "tearer@test".into(),
        corrects: None,
        kind: EntryKind::note("this record is never finished"),
    };
    let line = record::encode(&entry).unwrap_or_default();
    (&file).write_all(&line[..line.len() / 2]).unwrap_or_else(|e| panic!("{e}"));
    let _ = writeln!(stdout, "torn");
    let _ = stdout.flush();
    loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}

struct Writer {
    child: Child,
    lines: JoinHandle<Vec<String>>,
}

fn spawn_writer(dir: &Path, id: &IncidentId, tears: bool, count: Option<usize>) -> Writer {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
    let mut cmd = Command::new(exe);
    cmd.args(["writer_child", "--exact", "--ignored", "--nocapture", "--test-threads=1", "-q"])
        .env(WRITER_DIR, dir)
        .env(WRITER_INCIDENT, id.as_str())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if tears {
        cmd.env(WRITER_TEARS, "1");
    }
    if let Some(n) = count {
        cmd.env(WRITER_COUNT, n.to_string());
    }
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn writer: {e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("piped stdout"));
    let lines = std::thread::spawn(move || BufReader::new(stdout).lines().map_while(Result::ok).collect());
    Writer { child, lines }
}

fn finish(mut w: Writer, kill: bool) -> Vec<String> {
    if kill {
        let _ = w.child.kill(); // SIGKILL
    }
    let _ = w.child.wait();
    w.lines.join().unwrap_or_default()
}

fn saved_ids(lines: &[String]) -> impl Iterator<Item = Uuid> + '_ {
    lines.iter().filter_map(|l| l.strip_prefix("saved ")).filter_map(|id| id.trim().parse().ok())
}

// ---------------------------------------------------------------- crash safety

#[test]
fn every_note_acknowledged_before_a_sigkill_is_still_there_after_reopening() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let s = session(dir.path());
    let id = open(&s, "crash drill");
    let began = Instant::now();
    let mut rng = rand::rng();
    let (mut running, mut acknowledged, mut tears_printed, mut kills, mut spawned_tearers) = (Vec::new(), Vec::new(), 0, 0, 0);
    while kills < 240 {
        while running.len() < 4 {
            let tears = rng.random_range(0..8) == 0;
            spawned_tearers += usize::from(tears);
            running.push(spawn_writer(dir.path(), &id, tears, None));
        }
        std::thread::sleep(std::time::Duration::from_millis(rng.random_range(1..12)));
        let victim = running.swap_remove(rng.random_range(0..running.len()));
        let lines = finish(victim, true);
        kills += 1;
        tears_printed += lines.iter().filter(|l| *l == "torn").count();
        acknowledged.extend(saved_ids(&lines));
    }
    for w in running {
        let lines = finish(w, true);
        kills += 1;
        tears_printed += lines.iter().filter(|l| *l == "torn").count();
        acknowledged.extend(saved_ids(&lines));
    }
    // Reopen for writing, as the next `sitrep note` would: a torn tail is moved aside.
    let writer = TimelineWriter::open(&s.store, &id, s.clock.clone(), "checker@test").unwrap_or_else(|e| panic!("{e}"));
    assert!(writer.corrupt.is_empty(), "records interleaved or damaged: {:?}", writer.corrupt);
    let read = s.store.read(&id).unwrap_or_else(|e| panic!("{e}"));
    assert!(read.corrupt.is_empty() && read.torn.is_none(), "{:?}", read.warnings());
    let present: std::collections::HashSet<Uuid> = read.entries.iter().map(|e| e.id).collect();
    let lost: Vec<&Uuid> = acknowledged.iter().filter(|id| !present.contains(id)).collect();
    assert!(lost.is_empty(), "{} acknowledged entries lost: {lost:?}", lost.len());
    let side = std::fs::read_to_string(s.store.path_of(&id).with_extension("timeline.torn")).unwrap_or_default();
    // Each half record starts with its checksum and `{"id":"`; two tears in a row are moved aside together.
    let moved_aside = side.matches(" {\"id\":\"").count();
    assert!(moved_aside >= tears_printed && moved_aside <= spawned_tearers, "{moved_aside} torn writes kept aside, {tears_printed} seen");
    eprintln!(
        "crash drill: {kills} SIGKILLs, {} acknowledged notes all present, {moved_aside} torn tails moved aside, {:?}",
        acknowledged.len(),
        began.elapsed()
    );
    assert!(acknowledged.len() > 50, "writers should get real work done between kills, got {}", acknowledged.len());
}

#[test]
fn two_processes_appending_at_once_never_interleave_a_record() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let s = session(dir.path());
    let id = open(&s, "two writers");
    let writers: Vec<Writer> = (0..2).map(|_| spawn_writer(dir.path(), &id, false, Some(150))).collect();
    let acknowledged: Vec<Uuid> = writers.into_iter().flat_map(|w| saved_ids(&finish(w, false)).collect::<Vec<_>>()).collect();
    assert_eq!(acknowledged.len(), 300);
    let read = s.store.read(&id).unwrap_or_else(|e| panic!("{e}"));
    assert!(read.corrupt.is_empty() && read.torn.is_none(), "{:?}", read.warnings());
    assert_eq!(read.entries.len(), 301, "the opening entry and 2 x 150 notes");
    let authors: std::collections::HashSet<&str> = read.entries.iter().map(|e| e.author.as_str()).collect();
    assert_eq!(authors.len(), 3, "{authors:?}");
}

// ---------------------------------------------------------------- damaged files

#[test]
fn a_torn_last_record_is_reported_with_its_offset_and_kept_aside_while_earlier_notes_survive() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let s = session(dir.path());
    let id = open(&s, "torn tail");
    let first = note(&s, "replica lag 40s");
    let path = s.store.path_of(&id);
    let good_len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or_default();
    let half = b"1234abcd {\"id\":\"half";
    std::fs::OpenOptions::new().append(true).open(&path).and_then(|mut f| f.write_all(half)).unwrap_or_else(|e| panic!("{e}"));

    let (result, out, err) = run(|o, e| cli::incident(&s, IncidentArgs { command: IncidentCommand::Show { id: None } }, o, e));
    assert!(result.is_ok(), "{result:?}");
    assert!(out.contains("replica lag 40s"), "{out}");
    assert!(err.contains(&format!("torn last record at byte {good_len}")), "{err}");
    assert_eq!(std::fs::metadata(&path).map(|m| m.len()).unwrap_or_default(), good_len + half.len() as u64, "show changes nothing");

    let (_, _, err) = run(|o, e| cli::note(&s, NoteArgs { text: "next".into(), incident: None, corrects: None }, o, e));
    assert!(err.contains("moved to") && err.contains(".torn"), "{err}");
    let side = std::fs::read_to_string(path.with_extension("timeline.torn")).unwrap_or_default();
    assert!(side.contains("{\"id\":\"half") && side.contains(&format!("at byte {good_len}")), "{side}");
    let read = s.store.read(&id).unwrap_or_else(|e| panic!("{e}"));
    assert!(read.torn.is_none() && read.corrupt.is_empty());
    assert!(read.entries.iter().any(|e| e.id.to_string() == first));
    assert_eq!(read.entries.len(), 3);
}

#[test]
fn a_corrupt_record_in_the_middle_is_an_error_naming_file_line_and_offset_and_its_neighbours_are_still_shown() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let s = session(dir.path());
    let id = open(&s, "bit rot");
    note(&s, "before the damage");
    note(&s, "the damaged one");
    note(&s, "after the damage");
    let path = s.store.path_of(&id);
    let mut bytes = std::fs::read(&path).unwrap_or_default();
    let third_line = bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').nth(1).map(|(i, _)| i + 1).unwrap_or_default();
    bytes[third_line + 40] ^= 0x20;
    std::fs::write(&path, &bytes).unwrap_or_else(|e| panic!("{e}"));

    let (result, out, err) = run(|o, e| cli::incident(&s, IncidentArgs { command: IncidentCommand::Show { id: None } }, o, e));
    assert_eq!(result.ok(), Some(ExitCode::FAILURE), "a damaged timeline must not look fine to scripts");
    assert!(out.contains("before the damage") && out.contains("after the damage") && !out.contains("the damaged one"), "{out}");
    assert!(err.contains(&format!("{}:3: corrupt record at byte {third_line}", path.display())), "{err}");

    let saved = note(&s, "still writable");
    let after = std::fs::read(&path).unwrap_or_default();
    assert_eq!(&after[..bytes.len()], &bytes[..], "appending never rewrites what is there");
    assert!(s.store.read(&id).map(|r| r.entries.iter().any(|e| e.id.to_string() == saved)).unwrap_or(false));
}

// ---------------------------------------------------------------- people typing the wrong thing

#[test]
fn a_note_without_an_open_incident_says_how_to_open_one() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let s = session(dir.path());
    let (result, out, _) = run(|o, e| cli::note(&s, NoteArgs { text: "x".into(), incident: None, corrects: None }, o, e));
    let msg = format!("{:#}", result.err().unwrap_or_else(|| anyhow::anyhow!("no error")));
    assert!(msg.contains("sitrep incident open --sev P3 \"title\""), "{msg}");
    assert!(out.is_empty(), "nothing may look saved");
}

#[test]
fn an_unknown_incident_id_suggests_the_nearest_one() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let s = session(dir.path());
    let id = open(&s, "real one");
    let args = NoteArgs { text: "x".into(), incident: Some("2026-11-29-01".into()), corrects: None };
    let (result, _, _) = run(|o, e| cli::note(&s, args, o, e));
    let msg = format!("{:#}", result.err().unwrap_or_else(|| anyhow::anyhow!("no error")));
    assert!(msg.contains(&format!("did you mean `{id}`?")), "{msg}");
    let args = NoteArgs { text: "x".into(), incident: Some("../../etc/passwd".into()), corrects: None };
    let (result, _, _) = run(|o, e| cli::note(&s, args, o, e));
    assert!(format!("{:#}", result.err().unwrap_or_else(|| anyhow::anyhow!("no error"))).contains("is not an incident id"));
}

#[test]
fn a_correction_names_an_entry_that_exists() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let s = session(dir.path());
    let id = open(&s, "typo");
    let wrong: Uuid = note(&s, "pg-0 rebuilt").parse().unwrap_or_else(|e| panic!("{e}"));
    let args = NoteArgs { text: "pg-0 NOT rebuilt".into(), incident: None, corrects: Some(wrong) };
    let (result, _, _) = run(|o, e| cli::note(&s, args, o, e));
    assert!(result.is_ok(), "{result:?}");
    let args = NoteArgs { text: "fix of nothing".into(), incident: None, corrects: Some(Uuid::nil()) };
    let (result, out, _) = run(|o, e| cli::note(&s, args, o, e));
    let msg = format!("{:#}", result.err().unwrap_or_else(|| anyhow::anyhow!("no error")));
    assert!(msg.contains(&format!("`sitrep incident show {id}`")) && out.is_empty(), "{msg}");
}

#[test]
fn an_unwritable_data_dir_is_a_clear_error_that_names_the_setting_to_change() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap_or_else(|e| panic!("{e}"));
    let s = session(&file.join("sitrep"));
    let args = IncidentArgs { command: IncidentCommand::Open { severity: Severity::P1, title: "db down".into(), look_back: None } };
    let (result, out, _) = run(|o, e| cli::incident(&s, args, o, e));
    let msg = format!("{:#}", result.err().unwrap_or_else(|| anyhow::anyhow!("no error")));
    assert!(msg.contains("not-a-dir") && msg.contains("[general] data_dir") && msg.contains("SITREP_DATA_DIR"), "{msg}");
    assert!(out.is_empty());
    assert_eq!(std::fs::read(&file).unwrap_or_default(), b"x", "nothing touched");
}

#[test]
fn the_incident_workflow_from_open_to_close() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let s = session(dir.path());
    let id = open(&s, "checkout 502s");
    assert_eq!(id.as_str(), "2026-11-29-001");
    for command in [
        IncidentCommand::Severity { severity: Severity::P1, incident: None },
        IncidentCommand::Status { status: IncidentStatus::Mitigated, incident: None },
        IncidentCommand::Close { incident: None },
    ] {
        s.clock.advance(Duration::minutes(5));
        let (result, _, err) = run(|o, e| cli::incident(&s, IncidentArgs { command }, o, e));
        assert!(result.is_ok(), "{result:?} {err}");
    }
    let (_, out, _) = run(|o, e| cli::incident(&s, IncidentArgs { command: IncidentCommand::List }, o, e));
    assert!(out.contains("2026-11-29-001  P1  resolved"), "{out}");
    let (result, _, _) = run(|o, e| cli::note(&s, NoteArgs { text: "late".into(), incident: None, corrects: None }, o, e));
    assert!(result.is_err(), "a closed incident is no longer where notes go");
    let second = open(&s, "second");
    assert_eq!(second.as_str(), "2026-11-29-002");
}

// ---------------------------------------------------------------- post-mortem export

/// A fixed incident with fixed ids, written through the record format into a store.
fn fixed_incident(dir: &Path) -> (Session, IncidentId) {
    let s = session(dir);
    let id: IncidentId = "2026-11-29-001".parse().unwrap_or_else(|e| panic!("{e}"));
    let at = |min: i64, sec: i64| start() + Duration::minutes(min) + Duration::seconds(sec);
    let mut n = 0u128;
    let mut e = |t: DateTime<Utc>, author: &str, kind: EntryKind| {
        n += 1;
        TimelineEntry {
            id: Uuid::from_u128((n * 0x1111_1111) << 96 | n),
            incident: id.clone(),
            at: t,
            author: author.into(),
            corrects: None,
            kind,
        }
    };
    let (ana, bo) = ("ana@laptop", "bo@desk");
    let detected = |what: &str, source: &str, age: Option<i64>| EntryKind::Detected {
        what: what.into(),
        source: source.into(),
        recovered: false,
        backup_age_secs: age,
    };
    let action =
        |step: &str, outcome: &str| EntryKind::Action { runbook: "postgres-failover".into(), step: step.into(), outcome: outcome.into() };
    let mut entries = vec![
        e(at(-2, 10), "sitrep@console", detected("source replication failing: connection refused", "replication", None)),
        e(
            at(0, 0),
            ana,
            EntryKind::Opened { title: "Primary Postgres down | checkout failing".into(), severity: Severity::P2, estate: None },
        ),
        e(at(1, 30), "sitrep@console", detected("newest WAL is older than the RPO (6m 40s old)", "backups", Some(400))),
        e(at(2, 0), ana, EntryKind::Severity { severity: Severity::P1 }),
        e(at(3, 0), bo, EntryKind::note("pg-0 disk full, WAL archiving stuck")),
        e(at(4, 0), bo, action("promote pg-1", "ok: pg-1 is leader on timeline 3")),
        e(at(5, 0), ana, EntryKind::Status { status: IncidentStatus::Mitigated }),
        e(at(6, 0), bo, EntryKind::note("todo: alert on disk usage above 80% on Postgres volumes")),
        e(at(7, 0), ana, EntryKind::note("Action: rehearse failover monthly")),
        e(at(20, 0), ana, EntryKind::Status { status: IncidentStatus::Resolved }),
    ];
    let mut wrong = e(at(8, 0), bo, EntryKind::note("pg-0 was rebuilt"));
    wrong.id = Uuid::from_u128(0xdead_beef << 96);
    let mut fix = e(at(9, 0), bo, EntryKind::note("pg-0 is NOT rebuilt yet; scheduled for tomorrow"));
    fix.corrects = Some(wrong.id);
    entries.extend([wrong, fix]);
    std::fs::create_dir_all(s.store.incidents_dir()).unwrap_or_else(|e| panic!("{e}"));
    let bytes: Vec<u8> = entries.iter().flat_map(|e| record::encode(e).unwrap_or_default()).collect();
    std::fs::write(s.store.path_of(&id), bytes).unwrap_or_else(|e| panic!("{e}"));
    (s, id)
}

fn export(s: &Session, id: &IncidentId, format: ExportFormat) -> String {
    let args = ExportArgs { incident: Some(id.to_string()), format, out: None };
    let (result, out, err) = run(|o, e| cli::export(s, &Thresholds::default(), args, o, e));
    assert!(result.is_ok() && err.is_empty(), "{result:?} {err}");
    out
}

#[test]
fn the_post_mortem_draft_follows_the_template() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (s, id) = fixed_incident(dir.path());
    insta::assert_snapshot!("postmortem_markdown", export(&s, &id, ExportFormat::Md));
}

#[test]
fn export_never_changes_the_timeline_and_gives_the_same_bytes_every_time() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (s, id) = fixed_incident(dir.path());
    let path = s.store.path_of(&id);
    let before = std::fs::read(&path).unwrap_or_default();
    let md = export(&s, &id, ExportFormat::Md);
    let json = export(&s, &id, ExportFormat::Json);
    assert_eq!(md, export(&s, &id, ExportFormat::Md));
    assert_eq!(json, export(&s, &id, ExportFormat::Json));
    assert_eq!(std::fs::read(&path).unwrap_or_default(), before);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
    assert_eq!(value["format_version"], 1);
    assert_eq!(value["rto"]["achieved_secs"], 410, "from the first detection (02:58:10) to mitigated (03:05:00)");
    assert_eq!(value["entries"].as_array().map(Vec::len), Some(12));

    let into_store = ExportArgs { incident: Some(id.to_string()), format: ExportFormat::Md, out: Some(path.clone()) };
    let (result, _, _) = run(|o, e| cli::export(&s, &Thresholds::default(), into_store, o, e));
    assert!(format!("{:#}", result.err().unwrap_or_else(|| anyhow::anyhow!("no error"))).contains("refusing to write"));
    assert_eq!(std::fs::read(&path).unwrap_or_default(), before, "even --out pointed at the timeline itself");
}

#[test]
fn merging_another_responders_entries_twice_or_from_two_writers_writes_each_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = session(dir.path());
    let id = open(&s, "checkout 502s");
    let theirs: Vec<TimelineEntry> = (0..3)
        .map(|i| TimelineEntry {
            id: Uuid::new_v4(),
            incident: id.clone(),
            at: start() + Duration::seconds(i),
            author: "bob@other-box".into(),
            corrects: None,
            kind: EntryKind::note(&format!("bob's note {i}")),
        })
        .collect();
    // Two writers on the same file (a console and a shell), both merging the same pulled entries.
    let mut first = TimelineWriter::open(&s.store, &id, s.clock.clone(), "ana@laptop").expect("writer");
    let mut second = TimelineWriter::open(&s.store, &id, s.clock.clone(), "ana@laptop").expect("writer");
    assert_eq!(first.merge(&theirs).expect("merge").len(), 3);
    assert_eq!(second.merge(&theirs).expect("merge").len(), 0, "the second writer sees they are there");
    assert_eq!(first.merge(&theirs[1..]).expect("merge").len(), 0);
    let read = s.store.read(&id).expect("read");
    assert_eq!(read.entries.len(), 4, "opened + Bob's three, once each");
    // They keep their own ids, times and authors.
    assert!(theirs.iter().all(|t| read.entries.iter().any(|e| e.id == t.id && e.at == t.at && e.author == "bob@other-box")));
    // An entry of another incident is never merged into this one.
    let stray = TimelineEntry { incident: "2026-01-01-001".parse().expect("id"), id: Uuid::new_v4(), ..theirs[0].clone() };
    assert_eq!(first.merge(&[stray]).expect("merge").len(), 0);
}

// ---------------------------------------------------------------- adopting what came before

fn finding(what: &str, source: sitrep::model::SourceId, at: DateTime<Utc>, recovered: bool) -> sitrep::detect::Detection {
    sitrep::detect::Detection { at, source, what: what.into(), recovered, backup_age_secs: None, subject: what.into() }
}

/// A config whose store is `dir` and whose estate is one Postgres on `port` (no kubeconfig read).
fn lab_config(dir: &Path, port: u16) -> sitrep::config::Config {
    let mut config = sitrep::config::Config::default();
    config.general.data_dir = dir.display().to_string();
    config.kube.enabled = false;
    config.postgres.members =
        vec![sitrep::config::PostgresMember { name: "pg-0".into(), dsn: format!("host=127.0.0.1 port={port} dbname=app") }];
    config
}

fn session_for(config: &sitrep::config::Config, clock: &Clock) -> Session {
    let mut s = Session::from_config(config).expect("session");
    s.clock = clock.clone();
    s.author = "oncall@laptop".into();
    s
}

/// Waits (up to 20 s) for the console's writer thread to load an open incident; returns its lines.
fn loaded_incident(rx: &mut tokio::sync::mpsc::UnboundedReceiver<sitrep::model::Event>) -> Vec<sitrep::model::TimelineLine> {
    console_loads(rx, "an open incident", |incident, _| incident.is_some())
}

#[test]
fn open_from_the_console_adopts_the_findings_it_kept_before_and_impact_starts_at_the_first() {
    use sitrep::model::SourceId;
    use sitrep::timeline::live::{self, TimelineRequest};
    let dir = tempfile::tempdir().expect("tempdir");
    let config = lab_config(dir.path(), 5432);
    let clock = Clock::virtual_at(start());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let console = live::spawn(&config, clock.clone(), tx);
    let old = start() - Duration::minutes(50);
    let began = start() - Duration::minutes(12);
    let moved = start() - Duration::minutes(7);
    for d in [
        // An episode that ended long ago: not this incident's.
        finding("queue celery growing: over its warning depth (2000 messages)", SourceId::Queues, old, false),
        finding("queue celery back under its warning depth (3 messages)", SourceId::Queues, old + Duration::minutes(2), true),
        // Still crash-looping although older than the window.
        finding("crashloop began: pod shop/api-7f9c in CrashLoopBackOff (4 restarts)", SourceId::Pods, old, false),
        finding("queue celery growing: over its warning depth (9000 messages)", SourceId::Queues, began, false),
        finding("Redis master (Sentinel) moved from 10.0.0.1:6379 to 10.0.0.2:6379", SourceId::Sentinel, moved, true),
    ] {
        console.send(TimelineRequest::Detected(d)).expect("console writer running");
    }
    console.send(TimelineRequest::Open { severity: Severity::P2, title: "checkout slow".into() }).expect("send");
    let lines = loaded_incident(&mut rx);
    let texts: Vec<String> = lines.iter().map(|l| l.text.clone()).collect();
    assert_eq!(lines.len(), 4, "opened + crashloop + flood + master moved: {texts:#?}");
    assert!(lines.iter().all(|l| l.id.is_some()), "adopted lines are saved entries: {texts:#?}");
    // What was adopted is said as news, not as a problem.
    let deadline = Instant::now() + std::time::Duration::from_secs(20);
    let notice = loop {
        match rx.try_recv() {
            Ok(sitrep::model::Event::TimelineNotice { text }) => break text,
            Ok(sitrep::model::Event::TimelineProblem { error }) => panic!("adoption reported as a problem: {error}"),
            Ok(_) => {}
            Err(_) if Instant::now() < deadline => std::thread::sleep(std::time::Duration::from_millis(20)),
            Err(_) => panic!("no notice of what :open adopted"),
        }
    };
    assert!(notice.contains("adopted 3"), "{notice}");
    drop(console);

    let store = LocalStore::from_config(&config).expect("store");
    let id = store.current().expect("current").expect("an incident is open");
    let journal = store.read_unattached(&Estate::from_config(&config).key()).expect("journal");
    assert_eq!(journal.entries.len(), 5, "every finding was kept, fsynced, before :open");
    let read = store.read(&id).expect("read");
    let journal_at = |what: &str| journal.entries.iter().find(|e| e.kind.describe().contains(what)).map(|e| (e.id, e.at));
    for what in ["crashloop began", "9000 messages", "master (Sentinel) moved"] {
        let adopted = read.entries.iter().find(|e| e.kind.describe().contains(what)).map(|e| (e.id, e.at));
        assert_eq!(adopted, journal_at(what), "{what}: adopted with its original id and time");
    }
    let inc = sitrep::timeline::Incident::fold(&id, &read.entries);
    assert_eq!(inc.impact_began(), Some(old), "impact starts at the earliest adopted finding");
    assert_eq!(inc.detected, Some(old));
}

/// Waits (up to 20 s) for the console to load a timeline that satisfies `want` (the incident line
/// and the texts of its lines); returns its lines.
fn console_loads(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<sitrep::model::Event>,
    what: &str,
    want: impl Fn(&Option<String>, &[String]) -> bool,
) -> Vec<sitrep::model::TimelineLine> {
    let deadline = Instant::now() + std::time::Duration::from_secs(20);
    let mut last = Vec::new();
    while Instant::now() < deadline {
        match rx.try_recv() {
            Ok(sitrep::model::Event::TimelineLoaded { incident, lines }) => {
                last = lines.iter().map(|l| l.text.clone()).collect();
                if want(&incident, &last) {
                    return lines;
                }
            }
            Ok(_) => {}
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    }
    panic!("the console never showed {what}; last loaded: {last:#?}");
}

#[test]
fn the_console_follows_incidents_that_other_processes_open_write_and_resolve() {
    use sitrep::timeline::live;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = lab_config(dir.path(), 5432);
    let clock = Clock::virtual_at(start());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let console = live::spawn(&config, clock.clone(), tx);
    console_loads(&mut rx, "the empty start", |incident, _| incident.is_none());
    // Another responder works from a shell, as the README suggests: `sitrep incident open`, `sitrep note`.
    let shell = session_for(&config, &clock);
    let id = open(&shell, "checkout slow");
    console_loads(&mut rx, "the incident the shell opened", |incident, _| incident.as_deref().is_some_and(|i| i.starts_with(id.as_str())));
    note(&shell, "root cause: a bad deploy of shop/api");
    let noted = Instant::now();
    let lines: Vec<String> =
        console_loads(&mut rx, "the shell's note", |_, lines| lines.iter().any(|l| l.contains("root cause: a bad deploy of shop/api")))
            .into_iter()
            .map(|l| l.text)
            .collect();
    // Measured, not asserted (the issue asks for 2 s; the writer looks every 500 ms).
    eprintln!("MEASURE a shell's note reached the console in {} ms", noted.elapsed().as_millis());
    assert!(lines.iter().any(|l| l.starts_with("oncall@laptop: ")), "someone else's entries carry their author: {lines:#?}");
    let close = IncidentArgs { command: IncidentCommand::Close { incident: None } };
    let (result, _, err) = run(|o, e| cli::incident(&shell, close, o, e));
    assert!(result.is_ok(), "{err}");
    console_loads(&mut rx, "that no incident is open once the shell resolved it", |incident, _| incident.is_none());
    drop(console);
}

#[test]
fn the_consoles_open_adopts_as_far_back_as_timeline_look_back_secs_says() {
    use sitrep::model::SourceId;
    use sitrep::timeline::live::{self, TimelineRequest};
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = lab_config(dir.path(), 5432);
    // Two hours, where the default (30 min) would leave the settled episode out.
    config.timeline.look_back_secs = 7200;
    let clock = Clock::virtual_at(start());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let console = live::spawn(&config, clock.clone(), tx);
    let old = start() - Duration::minutes(90);
    for d in [
        finding("queue celery growing: over its warning depth (2000 messages)", SourceId::Queues, old, false),
        finding("queue celery back under its warning depth (3 messages)", SourceId::Queues, old + Duration::minutes(2), true),
        finding("source backups failing: timeout", SourceId::Backups, start() - Duration::hours(3), false),
        finding("source backups recovered", SourceId::Backups, start() - Duration::hours(3) + Duration::minutes(1), true),
    ] {
        console.send(TimelineRequest::Detected(d)).expect("console writer running");
    }
    console.send(TimelineRequest::Open { severity: Severity::P3, title: "slow queue".into() }).expect("send");
    let texts: Vec<String> = loaded_incident(&mut rx).iter().map(|l| l.text.clone()).collect();
    assert_eq!(texts.len(), 3, "opened + the queue episode 90 min ago; the settled backups one 3 h ago stays out: {texts:#?}");
    assert!(texts.iter().any(|t| t.contains("2000 messages")) && texts.iter().any(|t| t.contains("3 messages")), "{texts:#?}");
    assert!(!texts.iter().any(|t| t.contains("source backups")), "{texts:#?}");
}

#[test]
fn open_from_the_cli_adopts_a_consoles_findings_once_and_only_within_the_look_back() {
    use sitrep::model::SourceId;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = lab_config(dir.path(), 5432);
    let clock = Clock::virtual_at(start());
    let s = session_for(&config, &clock);
    let store = LocalStore::from_config(&config).expect("store");
    let scope = s.estate.key();
    let mut journal = None;
    for (min, what) in
        [(-45, "source queues failing: connection refused"), (-44, "source queues recovered"), (-20, "source queues failing: timeout")]
    {
        let d = finding(what, SourceId::Queues, start() + Duration::minutes(min), what.ends_with("recovered"));
        sitrep::timeline::adopt::keep(&mut journal, &store, &scope, &clock, "sitrep@console", d.at, sitrep::timeline::EntryKind::from(&d))
            .expect("kept");
    }
    let first = open(&s, "queues down");
    let read = store.read(&first).expect("read");
    assert_eq!(read.entries.len(), 2, "opened + the failure 20 min ago; the settled one 45 min ago stays out");
    let export_md = export(&s, &first, ExportFormat::Md);
    assert!(export_md.contains("| Detected | 2026-11-29 02:40:00 |"), "{export_md}");

    // Resolved, then a second incident: what the first adopted is not adopted again.
    let close = IncidentArgs { command: IncidentCommand::Close { incident: None } };
    let (result, _, _) = run(|o, e| cli::incident(&s, close, o, e));
    assert!(result.is_ok());
    let second = open(&s, "another");
    assert_eq!(store.read(&second).expect("read").entries.len(), 1, "only its opening");

    // --look-back 0 adopts only what is still active: not a settled finding seconds old.
    let d = finding("source queues recovered", SourceId::Queues, start(), true);
    sitrep::timeline::adopt::keep(
        &mut journal,
        &store,
        &scope,
        &clock,
        "sitrep@console",
        d.at - Duration::seconds(5),
        sitrep::timeline::EntryKind::from(&d),
    )
    .expect("kept");
    let args =
        IncidentArgs { command: IncidentCommand::Open { severity: Severity::P3, title: "none".into(), look_back: Some(Duration::zero()) } };
    let (result, out, err) = run(|o, e| cli::incident(&s, args, o, e));
    assert!(result.is_ok(), "{result:?} {err}");
    let third: IncidentId = out.trim().parse().expect("id");
    assert_eq!(store.read(&third).expect("read").entries.len(), 1);
}

/// A small incident as the lab's on-call would leave it: findings kept by a console before
/// anyone opened, an open from the shell, prefixed notes, mitigated but not resolved.
fn small_incident(dir: &Path) -> (Session, IncidentId) {
    use sitrep::model::SourceId;
    let config = lab_config(dir, 5432);
    let clock = Clock::virtual_at(start());
    let s = session_for(&config, &clock);
    let mut journal = None;
    for (min, source, what, recovered) in [
        (-19, SourceId::Pods, "crashloop began: pod shop/api-7f9c in CrashLoopBackOff (3 restarts)", false),
        (-16, SourceId::Queues, "queue celery growing: over its warning depth (4200 messages)", false),
        (-9, SourceId::Sentinel, "Redis master (Sentinel) moved from 10.0.0.1:6379 to 10.0.0.2:6379", true),
    ] {
        let d = finding(what, source, start() + Duration::minutes(min), recovered);
        sitrep::timeline::adopt::keep(
            &mut journal,
            &s.store,
            &s.estate.key(),
            &clock,
            "sitrep@console",
            d.at,
            sitrep::timeline::EntryKind::from(&d),
        )
        .expect("kept");
    }
    let id = open(&s, "checkout slow, queue backing up");
    for text in [
        "Root cause: api v2.3 crash-loops on a missing env var; workers starve",
        "resolution: rolled back api to v2.2, purged the stuck queue",
        "Lesson: a canary would have caught the crash loop before full rollout",
        "TODO: alert on crash loops in the deploy pipeline",
        "restarted nothing else",
    ] {
        clock.advance(Duration::minutes(2));
        note(&s, text);
    }
    let args = IncidentArgs { command: IncidentCommand::Status { status: IncidentStatus::Mitigated, incident: None } };
    let (result, _, _) = run(|o, e| cli::incident(&s, args, o, e));
    assert!(result.is_ok());
    (s, id)
}

/// The export with each entry's random id replaced by its place in the timeline.
fn export_stable_ids(s: &Session, id: &IncidentId) -> String {
    let mut md = export(s, id, ExportFormat::Md);
    let read = s.store.read(id).expect("read");
    let mut entries = read.entries.clone();
    entries.sort_by_key(|e| e.at);
    for (n, e) in entries.iter().enumerate() {
        md = md.replace(&e.id.simple().to_string()[..8], &format!("entry-{n:02}"));
    }
    md
}

#[test]
fn the_post_mortem_measures_from_impact_and_fills_sections_from_prefixed_notes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (s, id) = small_incident(dir.path());
    let md = export_stable_ids(&s, &id);
    // Detected before the open; times measured from the first finding, 19 min before it.
    assert!(md.contains("| Detected | 2026-11-29 02:41:00 | 0s |"), "{md}");
    assert!(md.contains("| Opened | 2026-11-29 03:00:00 | 19m 00s |"), "{md}");
    assert!(md.contains("| Time to mitigate (= RTO achieved) | 29m 00s | measured"), "{md}");
    assert!(md.contains("| Time to resolve | unknown | unknown: the incident is not resolved |"), "{md}");
    assert!(md.contains("**RPO** (target 5m 00s): **unknown**"), "{md}");
    assert!(md.contains("2 anomaly detection(s)"), "{md}");
    let section =
        |title: &str| md.split(&format!("## {title}\n")).nth(1).and_then(|r| r.split("\n## ").next()).unwrap_or_default().to_string();
    assert!(section("Root cause").contains("- api v2.3 crash-loops on a missing env var"), "{md}");
    assert!(section("Resolution").contains("- rolled back api to v2.2"), "{md}");
    assert!(section("Lessons learned").contains("- a canary would have caught"), "{md}");
    assert!(section("Action items").contains("- [ ] alert on crash loops"), "{md}");
    assert!(!section("Lessons learned").contains("TODO"), "{md}");
    insta::assert_snapshot!("postmortem_small_incident_adopted", md);
    let json: serde_json::Value = serde_json::from_str(&export(&s, &id, ExportFormat::Json)).expect("json");
    assert_eq!(json["figures"][2]["secs"], 29 * 60);
    assert_eq!(json["figures"][3]["secs"], serde_json::Value::Null);
    assert_eq!(json["root_cause"][0]["author"], "oncall@laptop");
}

// ---------------------------------------------------------------- authors

#[test]
fn with_user_and_logname_empty_as_under_tmux_or_cron_the_author_is_the_passwd_name() {
    let home = tempfile::tempdir().expect("tempdir");
    std::fs::write(home.path().join("none.toml"), "[kube]\nenabled = false\n").expect("config");
    let sitrep = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_sitrep"))
            .args(args)
            .env("SITREP_DATA_DIR", home.path().join("data"))
            .env("SITREP_CONFIG", home.path().join("none.toml"))
            .env("USER", "")
            .env("LOGNAME", "")
            .output()
            .expect("run sitrep")
    };
    assert!(sitrep(&["incident", "open", "--sev", "P3", "cron job failing"]).status.success());
    let out = sitrep(&["note", "written from cron"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let store = LocalStore::at(home.path().join("data"));
    let id = store.current().expect("current").expect("open");
    // SAFETY: getuid cannot fail.
    let want = sitrep::timeline::entry::passwd_name(unsafe { libc::getuid() }).expect("this test's uid is in passwd");
    for e in store.read(&id).expect("read").entries {
        let user = e.author.split('@').next().unwrap_or_default().to_string();
        assert_eq!(user, want, "{}", e.author);
    }
}

// ---------------------------------------------------------------- estates

#[test]
fn two_estates_on_one_machine_never_write_into_each_others_incident() {
    use sitrep::model::SourceId;
    use sitrep::timeline::live::{self, TimelineRequest};
    let dir = tempfile::tempdir().expect("tempdir");
    let (config_a, config_b) = (lab_config(dir.path(), 5432), lab_config(dir.path(), 6432));
    let clock = Clock::virtual_at(start());
    let (a, b) = (session_for(&config_a, &clock), session_for(&config_b, &clock));
    assert_ne!(a.estate.key(), b.estate.key());
    // A console of estate A kept a finding before anyone opened.
    let mut journal = None;
    let d = finding("source queues failing: connection refused", SourceId::Queues, start() - Duration::minutes(3), false);
    sitrep::timeline::adopt::keep(
        &mut journal,
        &a.store,
        &a.estate.key(),
        &clock,
        "sitrep@console",
        d.at,
        sitrep::timeline::EntryKind::from(&d),
    )
    .expect("kept");

    let ia = open(&a, "estate A: queues down");
    let inc_a = sitrep::timeline::Incident::fold(&ia, &a.store.read(&ia).expect("read").entries);
    assert_eq!(inc_a.estate.as_ref(), Some(&a.estate), "the incident records its estate");

    // B has no incident: its note is refused, naming A's incident and estate and how to open one.
    let args = NoteArgs { text: "from B".into(), incident: None, corrects: None };
    let (result, out, _) = run(|o, e| cli::note(&b, args, o, e));
    let msg = format!("{:#}", result.err().unwrap_or_else(|| anyhow::anyhow!("no error")));
    assert!(msg.contains(&format!("{ia} (")) && msg.contains("127.0.0.1:5432/app") && msg.contains("sitrep incident open"), "{msg}");
    assert!(out.is_empty());
    // Naming A's incident from B is refused too.
    let args = NoteArgs { text: "from B".into(), incident: Some(ia.to_string()), corrects: None };
    let (result, _, _) = run(|o, e| cli::note(&b, args, o, e));
    let msg = format!("{:#}", result.err().unwrap_or_else(|| anyhow::anyhow!("no error")));
    assert!(msg.contains("another estate") && msg.contains("127.0.0.1:5432/app") && msg.contains("127.0.0.1:6432/app"), "{msg}");

    // B opens its own: it does not adopt A's finding, and A's notes still go to A's incident.
    let ib = open(&b, "estate B: checkout slow");
    assert_eq!(b.store.read(&ib).expect("read").entries.len(), 1, "only its opening, none of A's findings");
    assert_eq!(LocalStore::at(dir.path()).current().expect("current"), Some(ib.clone()), "the plain pointer: opened last");
    assert_eq!(a.store.current().expect("current"), Some(ia.clone()), "A's own pointer did not move");
    note(&a, "note for A");
    note(&b, "note for B");

    // A console of estate B loads B's incident and writes its detection there.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let console = live::spawn(&config_b, clock.clone(), tx);
    loaded_incident(&mut rx);
    let seen = finding("crashloop began: pod b/api in CrashLoopBackOff (3 restarts)", SourceId::Pods, start(), false);
    console.send(TimelineRequest::Detected(seen)).expect("send");
    console.send(TimelineRequest::Note("console B".into())).expect("send");
    let deadline = Instant::now() + std::time::Duration::from_secs(20);
    while b.store.read(&ib).expect("read").entries.len() < 4 && Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    drop(console);

    let texts = |id: &IncidentId| -> Vec<String> { a.store.read(id).expect("read").entries.iter().map(|e| e.kind.describe()).collect() };
    let (in_a, in_b) = (texts(&ia), texts(&ib));
    assert!(in_a.iter().any(|t| t.contains("note for A")) && in_a.iter().any(|t| t.contains("source queues failing")), "{in_a:#?}");
    assert!(in_a.iter().all(|t| !t.contains("B") || t.contains("estate A")), "nothing of B in A: {in_a:#?}");
    assert!(in_b.iter().any(|t| t.contains("note for B")) && in_b.iter().any(|t| t.contains("console B")), "{in_b:#?}");
    assert!(in_b.iter().any(|t| t.contains("crashloop began: pod b/api")), "{in_b:#?}");
    assert!(in_b.iter().all(|t| !t.contains("for A") && !t.contains("queues failing")), "nothing of A in B: {in_b:#?}");
}

#[test]
fn a_restarted_console_with_no_incident_still_shows_the_findings_open_would_adopt() {
    use sitrep::model::SourceId;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = lab_config(dir.path(), 5432);
    let clock = Clock::virtual_at(start());
    let store = LocalStore::from_config(&config).expect("store");
    let key = Estate::from_config(&config).key();
    let mut journal = None;
    let d = finding("source queues failing: connection refused", SourceId::Queues, start() - Duration::minutes(4), false);
    sitrep::timeline::adopt::keep(&mut journal, &store, &key, &clock, "sitrep@console", d.at, sitrep::timeline::EntryKind::from(&d))
        .expect("kept");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let _console = sitrep::timeline::live::spawn(&config, clock.clone(), tx);
    let deadline = Instant::now() + std::time::Duration::from_secs(20);
    let lines = loop {
        match rx.try_recv() {
            Ok(sitrep::model::Event::TimelineLoaded { incident: None, lines }) => break lines,
            Ok(_) => {}
            Err(_) if Instant::now() < deadline => std::thread::sleep(std::time::Duration::from_millis(20)),
            Err(_) => panic!("the console never loaded"),
        }
    };
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].id.is_none() && lines[0].text.contains("source queues failing"), "{lines:?}");
}

/// The console's `:export` writes what `sitrep incident export` prints, to the file named or to
/// INCIDENT.md here, and says where; with no incident open it says how to open one.
#[test]
fn the_consoles_export_writes_the_clis_draft_and_names_the_file() {
    let data = tempfile::tempdir().expect("tempdir");
    let out = tempfile::tempdir().expect("tempdir");
    let mut config = sitrep::config::Config::default();
    config.general.data_dir = data.path().display().to_string();
    let none = cli::export_file(&config, ExportFormat::Md, Some(out.path().join("pm.md")));
    let why = format!("{:#}", none.err().unwrap_or_else(|| anyhow::anyhow!("no error")));
    assert!(why.contains("no incident is open") && why.contains(":open"), "{why}");

    let s = Session::from_config(&config).expect("session");
    let id = open(&s, "api crash-looping");
    note(&s, "root cause: a bad image");
    let path = out.path().join("pm.md");
    let said = cli::export_file(&config, ExportFormat::Md, Some(path.clone())).expect("exported");
    assert!(said.contains(&id.to_string()) && said.contains(&path.display().to_string()), "{said}");
    assert_eq!(std::fs::read_to_string(&path).expect("the file"), export(&s, &id, ExportFormat::Md));
    let json = cli::export_file(&config, ExportFormat::Json, Some(out.path().join("pm.json"))).expect("json");
    assert!(json.ends_with("pm.json"), "{json}");
    let inside = cli::export_file(&config, ExportFormat::Md, Some(data.path().join("pm.md")));
    assert!(format!("{:#}", inside.err().unwrap_or_else(|| anyhow::anyhow!("no error"))).contains("refusing to write"));
}
