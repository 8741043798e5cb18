//! The interactive replay player as a user drives it: `sitrep replay FILE` in a real terminal (tmux),
//! its keys for play/pause, speed, seek by time and by timeline entry, and annotations beside the file.

#[path = "support/tmux.rs"]
mod tmux;

use sitrep::model::Event;
use sitrep::record::Record;
use tmux::Tmux;

/// The player's progress line: "▶ x1 01:23/05:00 [──•──|──] …".
fn progress(screen: &str) -> &str {
    screen.lines().rev().find(|l| l.contains(" x") && l.contains('[') && l.contains('/')).unwrap_or_default()
}

/// The position the progress line shows, "mm:ss".
fn position(screen: &str) -> String {
    let line = progress(screen);
    line.split_whitespace().find(|w| w.contains('/') && w.contains(':')).and_then(|w| w.split('/').next()).unwrap_or_default().to_string()
}

fn clock(ms: u64) -> String {
    format!("{:02}:{:02}", ms / 60_000, (ms / 1000) % 60)
}

/// Waits until the progress line shows `want` (e.g. "⏸ x2 ") and returns the screen.
fn shows(tmux: &Tmux, what: &str, want: &str) -> String {
    tmux.until(what, 20, |s| progress(s).contains(want))
}

#[test]
fn the_player_pauses_changes_speed_seeks_by_time_and_entry_and_keeps_notes_beside_the_recording() {
    let dir = tempfile::tempdir().expect("tempdir");
    let recording = dir.path().join("queue-backlog.sitrep");
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/recordings/queue-backlog.sitrep"), &recording).expect("copy the bundled recording");
    let original = std::fs::read(&recording).expect("recording bytes");
    let rec = sitrep::record::read(&recording).expect("the bundled recording reads");
    let entries: Vec<u64> = rec
        .records
        .iter()
        .filter_map(|r| match r {
            Record::Event { t, event: Event::TimelineAppended { .. } } => Some(*t),
            _ => None,
        })
        .collect();
    assert!(entries.len() >= 2, "the queue-backlog recording holds timeline entries: {entries:?}");
    let total = clock(rec.duration_ms());

    let cmd = format!("{} replay {}; sleep 30", env!("CARGO_BIN_EXE_sitrep"), recording.display());
    let tmux = Tmux::start("replay", 120, 40, &cmd, &[("NO_COLOR", "1")]);
    shows(&tmux, "the player playing at 1x", "▶ x1 ");

    // Pause: the position stops moving.
    tmux.keys(&["Space"]);
    let paused = shows(&tmux, "paused", "⏸ x1 ");
    let at = position(&paused);
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(position(&tmux.screen()), at, "the position moves while paused:\n{}", tmux.screen());

    // Speed: + and - step through 0.25x..32x and stop at the ends.
    tmux.keys(&["+", "+"]);
    shows(&tmux, "4x after two +", "⏸ x4 ");
    tmux.keys(&["-"]);
    shows(&tmux, "2x after a -", "⏸ x2 ");
    tmux.keys(&["+", "+", "+", "+", "+", "+", "+", "+"]);
    shows(&tmux, "32x at most", "⏸ x32 ");
    tmux.keys(&["-", "-", "-", "-", "-", "-", "-", "-", "-", "-"]);
    shows(&tmux, "0.25x at least", "⏸ x0.25 ");
    tmux.keys(&["+", "+"]);
    shows(&tmux, "back to 1x", "⏸ x1 ");

    // Seek by time: `:g`, then ← / → (10 s) and . (1 s).
    tmux.keys(&[":g 1:00", "Enter"]);
    shows(&tmux, ":g 1:00", &format!("⏸ x1 01:00/{total}"));
    tmux.keys(&["Left"]);
    shows(&tmux, "10 s back", &format!("⏸ x1 00:50/{total}"));
    tmux.keys(&["Right"]);
    shows(&tmux, "10 s forward", &format!("⏸ x1 01:00/{total}"));
    tmux.keys(&["."]);
    shows(&tmux, "one second forward", &format!("⏸ x1 01:01/{total}"));

    // Seek by timeline entry: ] to the next, [ to the previous, from the start.
    tmux.keys(&[":g 0s", "Enter"]);
    shows(&tmux, ":g 0s", &format!("⏸ x1 00:00/{total}"));
    let first = entries.iter().copied().find(|t| *t > 0).expect("an entry after the start");
    let second = entries.iter().copied().find(|t| *t > first).expect("a second entry");
    tmux.keys(&["]"]);
    shows(&tmux, "the first entry", &format!("⏸ x1 {}/{total}", clock(first)));
    tmux.keys(&["]"]);
    shows(&tmux, "the second entry", &format!("⏸ x1 {}/{total}", clock(second)));
    if second > first + 500 {
        tmux.keys(&["["]);
        shows(&tmux, "back to the first entry", &format!("⏸ x1 {}/{total}", clock(first)));
    }

    // An annotation goes beside the recording, never into it. The file is the proof: the console's
    // "annotation saved to …" goes on the status line, which the replay's progress bar covers.
    tmux.keys(&["n"]);
    tmux.until("the note editor", 20, |s| s.to_lowercase().contains("note"));
    tmux.type_text("replay note: rollback came late");
    tmux.keys(&["C-s"]);
    let notes = dir.path().join("queue-backlog.sitrep.annotations.jsonl");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !std::fs::read_to_string(&notes).is_ok_and(|t| t.contains("replay note: rollback came late")) {
        assert!(std::time::Instant::now() < deadline, "no annotation in {} within 20s; screen:\n{}", notes.display(), tmux.screen());
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(std::fs::read(&recording).expect("recording bytes"), original, "the recording itself changed");

    // Play again, at 32x: the position moves on.
    tmux.keys(&["+", "+", "+", "+", "+", "Space"]);
    let playing = shows(&tmux, "playing at 32x", "▶ x32 ");
    let from = position(&playing);
    tmux.until("the position moving while playing", 20, |s| !position(s).is_empty() && position(s) != from);
    tmux.keys(&["q"]);
}
