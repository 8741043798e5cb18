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
