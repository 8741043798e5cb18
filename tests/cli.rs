//! The command line as a user meets it: --help, completions, and `sitrep check` on a broken file.

use std::process::Command;

#[path = "support/deadline.rs"]
mod deadline;

fn sitrep(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sitrep")).args(args).output().expect("run sitrep");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The subcommands a `Commands:` section of clap's help lists (without clap's own `help`).
fn listed_commands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(String::from)
        .collect()
}

/// Every command of the CLI, each with its nested commands (empty for a leaf).
const COMMANDS: &[(&str, &[&str])] = &[
    ("console", &[]),
    ("demo", &[]),
    ("replay", &[]),
    ("export", &[]),
    ("incident", &["open", "status", "severity", "close", "list", "show", "sync"]),
    ("lab", &["up", "down", "status", "fault", "heal", "scenarios", "drill", "soak", "info", "backup-tools"]),
    ("check", &[]),
    ("note", &[]),
    ("runbook", &["list", "show", "run"]),
    ("completions", &[]),
];

/// `sitrep ARGS --help`: it succeeds, its usage line names the command, and it says what it does.
fn help_of(args: &[&str]) -> String {
    let mut full = args.to_vec();
    full.push("--help");
    let (code, out, err) = sitrep(&full);
    assert_eq!(code, 0, "sitrep {} --help failed: {err}", args.join(" "));
    let usage = format!("Usage: sitrep {}", args.join(" "));
    assert!(out.lines().any(|l| l.trim_end().starts_with(usage.trim_end())), "sitrep {} --help lacks {usage:?}:\n{out}", args.join(" "));
    assert!(
        out.lines().next().is_some_and(|l| l.len() > 10 && !l.starts_with("Usage")),
        "sitrep {} --help opens with what it does:\n{out}",
        args.join(" ")
    );
    out
}

/// Every help text of the CLI, with the command line that printed it.
fn every_help() -> Vec<(String, String)> {
    let mut all = vec![("sitrep --help".to_string(), help_of(&[]))];
    for (cmd, nested) in COMMANDS {
        all.push((format!("sitrep {cmd} --help"), help_of(&[cmd])));
        for sub in *nested {
            all.push((format!("sitrep {cmd} {sub} --help"), help_of(&[cmd, sub])));
        }
    }
    all
}

#[test]
fn help_lists_every_subcommand() {
    let top = help_of(&[]);
    let expected: Vec<String> = COMMANDS.iter().map(|(c, _)| c.to_string()).collect();
    assert_eq!(listed_commands(&top), expected, "--help lists exactly the commands, in order:\n{top}");
    for (cmd, nested) in COMMANDS {
        let out = help_of(&[cmd]);
        let expected: Vec<String> = nested.iter().map(|c| c.to_string()).collect();
        assert_eq!(listed_commands(&out), expected, "sitrep {cmd} --help lists exactly its subcommands:\n{out}");
        for sub in *nested {
            help_of(&[cmd, sub]);
        }
    }
}

#[test]
fn help_says_nothing_false() {
    // Words that promise less than the build does (or more than it has) — each is false today.
    // (`todo:` is a real note prefix, so only the upper-case TODO counts.)
    let stale = ["not in this build", "not yet", "not implemented", "unimplemented", "coming soon", "placeholder"];
    let mut false_claims = Vec::new();
    for (cmd, out) in every_help() {
        for line in out.lines() {
            let lower = line.to_lowercase();
            if let Some(w) = stale.iter().copied().find(|w| lower.contains(w)).or(line.contains("TODO").then_some("TODO")) {
                false_claims.push(format!("{cmd}: {w:?} in {:?}", line.trim()));
            }
        }
    }
    // Replay is in this build: it reads a bundled recording and draws its frames.
    let recording = concat!(env!("CARGO_MANIFEST_DIR"), "/recordings/bad-deploy.sitrep");
    let (code, info, err) = sitrep(&["replay", recording, "--info"]);
    assert_eq!(code, 0, "replay --info on a bundled recording: {err}");
    assert!(info.contains("sitrep-recording") && info.contains("duration"), "{info}");
    let (code, frame, err) = sitrep(&["replay", recording, "--snapshot", "--size", "80x24"]);
    assert_eq!(code, 0, "replay --snapshot on a bundled recording: {err}");
    assert_eq!(frame.lines().count(), 24, "{frame}");
    assert!(false_claims.is_empty(), "help texts say false things:\n{}", false_claims.join("\n"));
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
    // Liveness, not speed: the step's own timeout is 120 s, so an end before it is the Ctrl-C's doing.
    let pid = child.id();
    let limit = std::time::Duration::from_secs(100);
    let Some(out) = deadline::finishes_within(limit, move || child.wait_with_output()) else {
        // SAFETY: kills our own child by its pid, so the hung run does not outlive the test.
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        panic!("Ctrl-C did not end `sitrep runbook run wait-health` (pid {pid}): still running after {limit:?}");
    };
    let out = out.expect("wait");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "an aborted run is not a success: {stdout}");
    assert!(stdout.contains("operator"), "the step says it was aborted by the operator:\n{stdout}");
    let mut show = Command::new(env!("CARGO_BIN_EXE_sitrep"));
    env(&mut show);
    let timeline = String::from_utf8_lossy(&show.args(["incident", "show"]).output().expect("show").stdout).into_owned();
    assert!(timeline.contains("wait-health / health") && timeline.contains("operator"), "{timeline}");
}
