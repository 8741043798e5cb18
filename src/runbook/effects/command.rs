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

pub async fn run(ctx: &Ctx, argv: &[String]) -> Result<Report, EffectError> {
    let (program, args) = argv.split_first().ok_or_else(|| input("empty argv"))?;
    let output = tokio::time::timeout(
        ctx.timeout.max(std::time::Duration::from_secs(30)),
        tokio::process::Command::new(program).args(args).kill_on_drop(true).output(),
    )
    .await
    .map_err(|_| super::not_ready(format!("{program} did not finish in time")))?
    .map_err(|source| ProgramError::Spawn { program: format!("{program} (is it installed and on PATH?)"), source })?;
    let text = |b: &[u8]| crate::sanitize::clean(String::from_utf8_lossy(b).trim());
    if output.status.success() {
        Ok(Report::text(format!("{program} exited 0: {}", text(&output.stdout))))
    } else {
        Err(ProgramError::Failed { program: program.clone(), status: output.status.to_string(), stderr: text(&output.stderr) }.into())
    }
}
