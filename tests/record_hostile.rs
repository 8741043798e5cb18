//! A crafted recording never writes to the terminal: its header, events, the notes beside it and
//! the drill scorecard are sanitized before `replay --info` and `replay --snapshot` print them.

use chrono::{DateTime, Duration, Utc};
use sitrep::model::{EntryClass, Event, Observation, QueueRow, QueuesSnapshot, TimelineLine};
use sitrep::record::{Header, Record, Recorder};
use std::process::Command;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Sets the title, clears the screen, reverses the text, and uses C1 controls (NEL, 8-bit CSI).
const EVIL: &str = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{202e}\u{85}\u{9b}31m\u{7f}\u{1b}P1;2|x\u{1b}\\";

fn t0() -> Result<DateTime<Utc>, chrono::ParseError> {
    Ok(DateTime::parse_from_rfc3339("2026-11-29T03:00:00Z")?.with_timezone(&Utc))
}

/// Writes `evil.sitrep` (through the real writer), its annotations and a scorecard beside it.
fn hostile_recording(dir: &std::path::Path) -> Result<std::path::PathBuf, Box<dyn std::error::Error>> {
    let t0 = t0()?;
    let path = dir.join("evil.sitrep");
    let header = Header {
        format: String::new(),
        version: 0,
        sitrep: format!("1.0{EVIL}"),
        started_at: t0,
        cols: 120,
        rows: 40,
        sources: vec![format!("queue celery{EVIL}"), format!("kube{EVIL}prod")],
        timezone: format!("UTC{EVIL}"),
        banner: format!("ctx-{EVIL}shop"),
        refresh_secs: Default::default(),
    };
    let rec = Recorder::create(&path, &header)?;
    let queues = QueuesSnapshot {
        server: format!("redis{EVIL}"),
        queues: vec![QueueRow { name: format!("celery{EVIL}"), depth: 9, ..QueueRow::default() }],
        unacked: None,
    };
    rec.record(Record::Event { t: 0, event: Event::Tick { at: t0 } });
    rec.record(Record::Event { t: 500, event: Event::Observed { at: t0, observation: Observation::Queues(queues) } });
    let line = TimelineLine::unsaved(t0, format!("queue backlog{EVIL} on celery"), EntryClass::Detected);
    rec.record(Record::Event { t: 1000, event: Event::TimelineAppended { line } });
    rec.record(Record::Event { t: 2000, event: Event::Tick { at: t0 + Duration::seconds(2) } });
    drop(rec);
    let notes = dir.join("evil.sitrep.annotations.jsonl");
    let note = serde_json::json!({"at": format!("2026-11-29T03:00:01Z{EVIL}"), "text": format!("look here{EVIL}now")});
    std::fs::write(&notes, format!("{note}\nnot json{EVIL}\n"))?;
    std::fs::write(dir.join("evil.sitrep.scorecard.md"), format!("# Drill scorecard{EVIL}\n\n- detected{EVIL} in 3 s\n"))?;
    Ok(path)
}

/// No byte < 0x20 but newline, no DEL or C1 control, no bidi override or isolate.
fn assert_terminal_safe(what: &str, out: &str) {
    for (i, c) in out.char_indices() {
        let bad = (c < ' ' && c != '\n')
            || ('\u{7f}'..='\u{9f}').contains(&c)
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{61c}');
        assert!(!bad, "{what} prints U+{:04X} at byte {i}:\n{out:?}", c as u32);
    }
}

fn replay(dir: &std::path::Path, args: &[&str]) -> Result<String, Box<dyn std::error::Error>> {
    let out = Command::new(env!("CARGO_BIN_EXE_sitrep"))
        .arg("replay")
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("SITREP_LOG_DIR", dir.join("logs"))
        .output()?;
    let stdout = String::from_utf8(out.stdout)?;
    let stderr = String::from_utf8(out.stderr)?;
    assert!(out.status.success(), "replay {args:?} failed: {stderr}");
    assert_terminal_safe(&format!("replay {args:?} stderr"), &stderr);
    Ok(stdout)
}

#[test]
fn replay_info_prints_no_escape_sequence_from_a_crafted_recording() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = hostile_recording(dir.path())?;
    let info = replay(dir.path(), &[&path.display().to_string(), "--info"])?;
    assert_terminal_safe("replay --info", &info);
    // What is left is the readable text, so the reader still learns what the file says.
    for shown in
        ["banner      ctx-shop", "sources     queue celery, kubeprod", "UTC", "look herenow", "# Drill scorecard", "- detected in 3 s"]
    {
        assert!(info.contains(shown), "--info lacks {shown:?}:\n{info}");
    }
    assert!(!info.contains("pwned"), "the title sequence is dropped whole, not shown as text:\n{info}");
    Ok(())
}

#[test]
fn replay_snapshot_prints_no_escape_sequence_from_a_crafted_recording() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = hostile_recording(dir.path())?;
    let frame = replay(dir.path(), &[&path.display().to_string(), "--snapshot", "--at", "end", "--size", "160x40"])?;
    assert_terminal_safe("replay --snapshot", &frame);
    assert!(frame.contains("ctx-shop"), "the banner is drawn, cleaned:\n{frame}");
    let queue_row = frame.lines().find(|l| l.contains("celery")).ok_or("no queue row drawn")?;
    assert!(queue_row.contains("celery ") && queue_row.contains(" 9 "), "the recorded queue name is drawn, cleaned: {queue_row}");
    assert!(!frame.contains("pwned") && !frame.contains("[2J"), "no sequence shows as text either:\n{frame}");
    Ok(())
}
