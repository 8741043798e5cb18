//! A drill end to end with a scripted trainee: the fault comes, the trainee opens an incident,
//! writes a note and marks it mitigated in the console; the scorecard measures it.

#[path = "support/tmux.rs"]
mod tmux;

use std::process::Command;
use std::time::Duration;
use tmux::Tmux;

#[test]
fn a_scripted_trainee_works_a_queue_backlog_drill_and_gets_a_scorecard() {
    let out = tempfile::tempdir().expect("tempdir");
    let cmd = format!("{} lab drill queue-backlog --window 2 --out {}; sleep 30", env!("CARGO_BIN_EXE_sitrep"), out.path().display());
    let tmux = Tmux::start("drill", 120, 40, &cmd, &[]);
    // The trainee waits for the detector's finding, then acts. (The pane's "growing" alone is not
    // enough: the healthy baseline's producer and consumer jitter can show a small rise before the
    // fault, and a reaction before the fault does not count as detection.)
    tmux.until("the console", 120, |s| s.contains("DRILL queue-backlog"));
    tmux.keys(&["t"]);
    tmux.until("the detector's finding on the flooded queue", 120, |s| s.contains("over its warning depth"));
    tmux.keys(&["t"]);
    tmux.keys(&[":open P3 celery backlog", "Enter"]);
    tmux.until("the incident opened", 20, |s| s.contains("sent to the timeline"));
    tmux.keys(&["n"]);
    tmux.type_text("workers scaled out");
    tmux.keys(&["C-s"]);
    tmux.keys(&[":status mitigated", "Enter"]);
    std::thread::sleep(Duration::from_secs(2));
    tmux.keys(&["t"]);
    tmux.until("the note and the status in the timeline", 20, |s| s.contains("workers scaled out") && s.contains("mitigated"));
    tmux.keys(&["t"]);
    tmux.keys(&["q"]);
    let screen = tmux.until("the scorecard", 60, |s| s.contains("Drill scorecard"));
    drop(tmux);

    let card = std::fs::read_dir(out.path())
        .expect("out dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".scorecard.md"))
        .unwrap_or_else(|| panic!("no scorecard written; screen:\n{screen}"));
    let text = std::fs::read_to_string(&card).expect("scorecard");
    assert!(text.contains("| Time to detect |") && !text.contains("| Time to detect | never |"), "{text}");
    assert!(text.contains("(RTO 15m: met)"), "{text}");
    assert!(text.contains("not used: triage, scale"), "{text}");
    // The recording beside it replays, and its info shows the scorecard.
    let recording = card.to_string_lossy().trim_end_matches(".scorecard.md").to_string();
    let info = Command::new(env!("CARGO_BIN_EXE_sitrep")).args(["replay", &recording, "--info"]).output().expect("replay --info");
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(info.contains("Drill scorecard: queue-backlog") && info.contains("keys"), "{info}");
}
