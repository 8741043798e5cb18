//! The command line as a user meets it: --help, completions, and `sitrep check` on a broken file.

use std::process::Command;

fn sitrep(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sitrep")).args(args).output().expect("run sitrep");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn help_lists_every_subcommand() {
    let (code, out, _) = sitrep(&["--help"]);
    assert_eq!(code, 0);
    for cmd in ["console", "demo", "replay", "export", "lab", "check", "note", "runbook", "incident", "completions"] {
        assert!(out.contains(cmd), "--help lacks {cmd}:\n{out}");
    }
    for cmd in ["console", "replay", "lab", "check", "note", "runbook", "export", "demo"] {
        let (code, out, _) = sitrep(&[cmd, "--help"]);
        assert_eq!(code, 0, "{cmd} --help");
        assert!(out.contains("Usage"), "{out}");
    }
}

#[test]
fn completions_are_generated_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, out, _) = sitrep(&["completions", shell]);
        assert_eq!(code, 0);
        assert!(out.contains("replay") && out.len() > 1000, "{shell}");
    }
}

#[test]
fn check_reports_an_unknown_key_and_a_wrong_type_with_their_lines_and_exits_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sitrep.toml");
    std::fs::write(&path, "[general]\nrefresh_secs = \"often\"\n\n[sentinel]\nmaster = \"mymaster\"\nadrs = [\"10.0.0.7:26379\"]\n")
        .expect("write");
    let (code, out, _) = sitrep(&["check", "--config", path.to_str().unwrap_or_default()]);
    assert_eq!(code, 1, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.iter().any(|l| l.contains("sitrep.toml:2:") && l.contains("refresh_secs")), "{out}");
    assert!(lines.iter().any(|l| l.contains("sitrep.toml:6:") && l.contains("did you mean `addrs`")), "{out}");
}

#[test]
fn the_console_refuses_a_broken_config_before_touching_the_terminal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sitrep.toml");
    std::fs::write(&path, "[queues]\nurl = \"http://not-redis\"\n").expect("write");
    let (code, _, err) = sitrep(&["--config", path.to_str().unwrap_or_default(), "--snapshot", "--settle", "0"]);
    assert_eq!(code, 1);
    assert!(err.contains("sitrep.toml:2") && err.contains("redis://"), "{err}");
    let (code, _, err) = sitrep(&["--config", "/nonexistent/sitrep.toml", "--snapshot"]);
    assert_eq!(code, 1);
    assert!(err.contains("cannot read /nonexistent/sitrep.toml"), "{err}");
}

#[test]
fn ctrl_c_during_a_runbook_step_aborts_it_and_the_abort_is_in_the_timeline() {
    // A runbook of the user's whose step waits on a health check that never answers.
    let home = tempfile::tempdir().expect("tempdir");
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let url = format!("http://{}/health", silent.local_addr().expect("addr"));
    std::fs::create_dir_all(home.path().join("actions")).expect("actions dir");
    let runbook = format!(
        "name = \"wait-health\"\ntitle = \"Wait for the API health check\"\nwhen = \"after a deploy\"\n\n\
         [[steps]]\nname = \"health\"\nexplain = \"The API answers its health check.\"\npreview = \"GET {url}\"\n\
         effect = {{ kind = \"http\", url = \"{url}\" }}\ntimeout_secs = 120\non_failure = \"look at the API's logs\"\n"
    );
    std::fs::write(home.path().join("actions/wait-health.toml"), runbook).expect("runbook");
    let data = home.path().join("data");
    let env = |c: &mut Command| {
        c.env("SITREP_HOME", home.path()).env("SITREP_DATA_DIR", &data).env("SITREP_CONFIG", home.path().join("none.toml"));
    };
    std::fs::write(home.path().join("none.toml"), "[general]\ntimeout_secs = 120\n").expect("config");
    let mut open = Command::new(env!("CARGO_BIN_EXE_sitrep"));
    env(&mut open);
    assert!(open.args(["incident", "open", "--sev", "P3", "api slow"]).output().expect("open").status.success());

    let mut run = Command::new(env!("CARGO_BIN_EXE_sitrep"));
    env(&mut run);
    let child = run
        .args(["runbook", "run", "wait-health"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runbook run");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    // SAFETY: sends SIGINT to our own child by its pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let started = std::time::Instant::now();
    let out = child.wait_with_output().expect("wait");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "Ctrl-C did not end the run");
    assert!(!out.status.success(), "an aborted run is not a success: {stdout}");
    assert!(stdout.contains("operator"), "the step says it was aborted by the operator:\n{stdout}");
    let mut show = Command::new(env!("CARGO_BIN_EXE_sitrep"));
    env(&mut show);
    let timeline = String::from_utf8_lossy(&show.args(["incident", "show"]).output().expect("show").stdout).into_owned();
    assert!(timeline.contains("wait-health / health") && timeline.contains("operator"), "{timeline}");
}
