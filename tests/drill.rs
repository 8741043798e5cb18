//! A drill end to end with a scripted trainee: the fault comes, the trainee opens an incident,
//! writes a note and marks it mitigated in the console; the scorecard measures it.

use std::process::Command;
use std::time::{Duration, Instant};

fn tmux(socket: &str, args: &[&str]) -> String {
    let out = Command::new("tmux").arg("-L").arg(socket).args(args).output().expect("tmux (scripts/install installs it)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn wait_screen(socket: &str, what: &str, secs: u64, pred: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let s = tmux(socket, &["capture-pane", "-p", "-t", "drill"]);
        if pred(&s) {
            return s;
        }
        assert!(Instant::now() < deadline, "{what} within {secs}s; screen:\n{s}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn a_scripted_trainee_works_a_queue_backlog_drill_and_gets_a_scorecard() {
    let out = tempfile::tempdir().expect("tempdir");
    let socket = format!("sitrep-drill-{}", std::process::id());
    let cmd = format!("{} lab drill queue-backlog --window 2 --out {}; sleep 30", env!("CARGO_BIN_EXE_sitrep"), out.path().display());
    tmux(&socket, &["new-session", "-d", "-s", "drill", "-x", "120", "-y", "40", &cmd]);
    // The trainee waits for the detector's finding, then acts. (The pane's "growing" alone is not
    // enough: the healthy baseline's producer and consumer jitter can show a small rise before the
    // fault, and a reaction before the fault does not count as detection.)
    wait_screen(&socket, "the console", 120, |s| s.contains("DRILL queue-backlog"));
    tmux(&socket, &["send-keys", "-t", "drill", "t"]);
    wait_screen(&socket, "the detector's finding on the flooded queue", 120, |s| s.contains("over its warning depth"));
    tmux(&socket, &["send-keys", "-t", "drill", "t"]);
    tmux(&socket, &["send-keys", "-t", "drill", ":open P3 celery backlog", "Enter"]);
    wait_screen(&socket, "the incident opened", 20, |s| s.contains("sent to the timeline"));
    tmux(&socket, &["send-keys", "-t", "drill", "n"]);
    tmux(&socket, &["send-keys", "-t", "drill", "-l", "workers scaled out"]);
    tmux(&socket, &["send-keys", "-t", "drill", "C-s"]);
    tmux(&socket, &["send-keys", "-t", "drill", ":status mitigated", "Enter"]);
    std::thread::sleep(Duration::from_secs(2));
    tmux(&socket, &["send-keys", "-t", "drill", "t"]);
    wait_screen(&socket, "the note and the status in the timeline", 20, |s| s.contains("workers scaled out") && s.contains("mitigated"));
    tmux(&socket, &["send-keys", "-t", "drill", "t"]);
    tmux(&socket, &["send-keys", "-t", "drill", "q"]);
    let screen = wait_screen(&socket, "the scorecard", 60, |s| s.contains("Drill scorecard"));
    tmux(&socket, &["kill-server"]);

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
