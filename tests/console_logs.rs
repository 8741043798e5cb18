//! The logs view against the real lab, in tmux at 80x24 as a user sees it: after `deploy-bad`,
//! `l` on the crash-looping pod shows its last words, `p` the previous run's, esc closes it.

#[path = "support/tmux.rs"]
mod tmux;

use sitrep::lab::{Lab, LabOptions};
use tmux::Tmux;

#[test]
fn l_on_the_crash_looping_pod_shows_its_last_words_and_p_the_previous_runs() {
    let lab = Lab::up(LabOptions { dir: None, scenario: None, owner_pid: Some(std::process::id()) }).expect("lab up");
    lab.fault("deploy-bad").expect("deploy-bad");
    let cmd = format!("{} --config {}", env!("CARGO_BIN_EXE_sitrep"), lab.config_path().display());
    let tmux = Tmux::start("logs", 80, 24, &cmd, &[("NO_COLOR", "1")]);
    // Unhealthy pods first: the selection starts on a crash-looping one.
    let pod_row = |s: &str| s.lines().find(|l| l.contains("▶ api-")).map(str::to_string);
    let pods = tmux.until("a crash-looping pod selected", 60, |s| pod_row(s).is_some_and(|l| l.contains("CrashLoopBackOff")));
    let pod = pod_row(&pods).and_then(|l| l.split_whitespace().find(|w| w.starts_with("api-")).map(str::to_string));
    let pod = pod.unwrap_or_else(|| panic!("no pod name on screen:\n{pods}"));
    tmux.keys(&["l"]);
    let current = tmux.until("the crash-looping pod's last words", 30, |s| {
        s.contains("ERROR api: config key DATABASE_URL is missing") && s.contains("FATAL api: exiting with status 1")
    });
    eprintln!("after l:\n{current}");
    assert!(current.contains("current run"), "{current}");
    assert!(current.contains(&pod.chars().take(10).collect::<String>()), "the selected pod's log ({pod}):\n{current}");
    tmux.keys(&["p"]);
    let previous = tmux.until("the previous run", 30, |s| s.contains("PREVIOUS run") && s.contains("FATAL api: exiting with status 1"));
    eprintln!("after p:\n{previous}");
    assert!(previous.contains("read to its end"), "a previous run is read once:\n{previous}");
    tmux.keys(&["t"]);
    tmux.until("the kubelet's timestamps", 10, |s| s.lines().any(|l| l.contains(".") && l.contains(" FATAL api: exiting")));
    tmux.keys(&["Escape"]);
    tmux.until("the logs closed", 10, |s| !s.contains("PREVIOUS run") && s.contains("CrashLoopBackOff"));
    tmux.keys(&["q"]);
    lab.down().expect("lab down");
}
