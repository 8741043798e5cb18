//! The opt-in `command` effect: runs an argv (never through a shell) after showing it exactly;
//! validation makes every command step confirmed.

use super::{Ctx, EffectError, Report, input};
use crate::programs::ProgramError;

/// The argv as it will run, each argument quoted when it needs to be.
pub fn show_argv(argv: &[String]) -> String {
    let quote = |a: &String| {
        if !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+".contains(c)) {
            a.clone()
        } else {
            format!("'{}'", a.replace('\'', "'\\''"))
        }
    };
    format!("will run: {}", argv.iter().map(quote).collect::<Vec<_>>().join(" "))
}

pub async fn run(_ctx: &Ctx, argv: &[String]) -> Result<Report, EffectError> {
    let (program, args) = argv.split_first().ok_or_else(|| input("empty argv"))?;
    // Bounded by the step's `timeout_secs` (the runner's timeout drops this future, and the child is
    // killed with it), not by the per-call timeout: a drain may rightly take minutes.
    let output = tokio::process::Command::new(program)
        .args(args)
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|source| ProgramError::Spawn { program: format!("{program} (is it installed and on PATH?)"), source })?;
    // Line by line (clean() would make one bounded line of it), secrets redacted.
    let text = |b: &[u8]| crate::sanitize::sanitize_lines(&crate::sanitize::redact_secrets(String::from_utf8_lossy(b).trim()));
    if output.status.success() {
        Ok(Report::text(format!("{program} exited 0: {}", said(&text(&output.stdout), &text(&output.stderr)))))
    } else {
        Err(ProgramError::Failed {
            program: program.clone(),
            status: output.status.to_string(),
            stderr: said(&text(&output.stderr), &text(&output.stdout)),
        }
        .into())
    }
}

/// How much of a command's output a report keeps: its end, where tools put their verdict. Half a
/// timeline entry, so the step's verification still fits after it.
const OUTPUT_CHARS: usize = 2000;

/// The main stream, then the other one when it has something (kubectl drain says what it evicts
/// on stderr and `node/x drained` on stdout), the lines joined with ` | `, bounded from the start.
pub(super) fn said(main: &str, other: &str) -> String {
    let lines = |t: &str| t.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" | ");
    let (main, other) = (lines(main), lines(other));
    let all = match (main.is_empty(), other.is_empty()) {
        (true, true) => "(no output)".to_string(),
        (false, true) => main,
        (true, false) => other,
        (false, false) => format!("{main} (also: {other})"),
    };
    let count = all.chars().count();
    if count <= OUTPUT_CHARS { all } else { format!("…{}", all.chars().skip(count - OUTPUT_CHARS + 1).collect::<String>()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_streams_are_kept_and_a_long_output_keeps_its_end() {
        assert_eq!(
            said("node/n drained\n", "evicting pod shop/a\n\nevicting pod shop/b"),
            "node/n drained (also: evicting pod shop/a | evicting pod shop/b)"
        );
        assert_eq!(said("", ""), "(no output)");
        let long = format!("{}\nthe verdict", "x".repeat(10_000));
        let kept = said(&long, "");
        assert!(kept.starts_with('…') && kept.ends_with("the verdict") && kept.chars().count() == OUTPUT_CHARS, "{kept}");
    }
}
