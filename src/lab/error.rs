//! Everything that can go wrong while bringing up, driving or tearing down a lab.
//! Each variant names what failed and what to do about it.

use std::path::PathBuf;

/// A lab failure, phrased for the person running it.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("{binary} is not installed ({why}); install the `{package}` package, e.g. run scripts/install")]
    MissingBinary { binary: String, package: String, why: String },
    #[error(
        "PostgreSQL refuses to run as root and there is no `postgres` user; run as root on a machine with postgresql-15 installed (scripts/install)"
    )]
    NoPostgresUser,
    #[error("the lab must run as root (it runs Patroni as the `postgres` user); re-run with sudo")]
    NotRoot,
    #[error("{dir} is already used by a running lab (supervisor pid {pid}); run `sitrep lab down --dir {dir}` or pick another --dir", dir = .dir.display())]
    DirInUse { dir: PathBuf, pid: u32 },
    #[error("{dir} is not reachable by the `postgres` user (a parent directory is not world-executable, e.g. /root); use a dir under /tmp", dir = .dir.display())]
    DirNotShareable { dir: PathBuf },
    #[error("no lab at {dir}: {why}; start one with `sitrep lab up --dir {dir}`", dir = .dir.display())]
    NoLab { dir: PathBuf, why: String },
    #[error("unknown fault `{name}`{hint}; valid faults: {valid}")]
    UnknownFault { name: String, hint: String, valid: String },
    #[error("unknown scenario `{name}`{hint}; valid scenarios: {valid}")]
    UnknownScenario { name: String, hint: String, valid: String },
    #[error("port {port} for {component} was taken by another process before it started (port race); run the command again")]
    PortRace { component: String, port: u16 },
    #[error("{component} did not become healthy within {secs}s: {why}; see {log}")]
    NotHealthy { component: String, secs: u64, why: String, log: String },
    #[error("the lab supervisor exited before the lab was ready; last lines of {log}:\n{tail}")]
    SupervisorDied { log: String, tail: String },
    #[error("fault `{name}` failed: {why}")]
    FaultFailed { name: String, why: String },
    #[error("cannot find the sitrep binary to run the lab supervisor ({why}); set SITREP_BIN=/path/to/sitrep")]
    NoSitrepBinary { why: String },
    #[error("{what} {path}: {source}", path = .path.display())]
    Io {
        what: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}

impl LabError {
    /// Wraps an IO error with what was being done and on which path.
    pub fn io(what: &str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> LabError {
        let (what, path) = (what.to_string(), path.into());
        move |source| LabError::Io { what, path, source }
    }
}

/// Suggests the nearest valid name (by edit distance) for an unknown one.
pub fn did_you_mean(name: &str, valid: &[&str]) -> String {
    valid
        .iter()
        .map(|v| (crate::diag::edit_distance(name, v), *v))
        .filter(|(d, v)| *d <= 3.max(v.len() / 3))
        .min()
        .map(|(_, v)| format!(" (did you mean `{v}`?)"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typo_suggests_the_nearest_fault() {
        let hint = did_you_mean("redis-master-dwn", &["redis-master-down", "queue-flood"]);
        assert!(hint.contains("redis-master-down"), "{hint}");
        assert_eq!(did_you_mean("zzzzzzzzzzzz", &["queue-flood"]), "");
    }
}
