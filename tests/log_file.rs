//! A log file that cannot be opened is one warning on stderr, never a panic: the command still runs.
//! Tests run as root, so the unwritable places are ones even root cannot write (under a file, /proc).

use std::process::Command;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Runs `sitrep completions bash` (a command that goes through logging init and exits at once).
fn run_with_log_dir(dir: &std::path::Path) -> Result<std::process::Output, std::io::Error> {
    Command::new(env!("CARGO_BIN_EXE_sitrep")).args(["completions", "bash"]).env("SITREP_LOG_DIR", dir).env("RUST_BACKTRACE", "0").output()
}

fn assert_one_warning(output: &std::process::Output, path: &str, os_error: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "the command must run on without a file log; stderr:\n{stderr}");
    assert!(!output.stdout.is_empty(), "the command's own output is still printed");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "exactly one warning line, got:\n{stderr}");
    let line = lines[0];
    assert!(line.starts_with("sitrep: warning:"), "{line}");
    assert!(line.contains(path), "the warning names the path {path}: {line}");
    assert!(line.contains(os_error), "the warning carries the OS error ({os_error}): {line}");
    assert!(line.contains("SITREP_LOG_DIR"), "the warning names the fix: {line}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_log_dir_under_a_regular_file_is_a_warning() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let file = tmp.path().join("file");
    std::fs::write(&file, "a file, not a directory")?;
    let dir = file.join("logs");
    let output = run_with_log_dir(&dir)?;
    assert_one_warning(&output, &dir.display().to_string(), "os error 20");
    Ok(())
}

#[test]
fn a_log_file_that_cannot_be_created_in_an_existing_dir_is_a_warning_not_a_panic() -> TestResult {
    // /proc exists, but no one (not even root) can create a file in it: this used to exit 101.
    let dir = std::path::Path::new("/proc");
    let output = run_with_log_dir(dir)?;
    assert_one_warning(&output, "/proc/sitrep.log", "os error");
    Ok(())
}
