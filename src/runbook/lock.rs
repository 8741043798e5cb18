//! One run at a time per target: `DATA/locks/<target>.lock`, an flock held for the whole run and
//! released when the process ends, holding the pid and runbook of its owner for the message.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{target} is being changed by another run ({holder}); wait for it to finish, or check that process")]
    Held { target: String, holder: String },
    #[error("cannot use the lock file {path}: {source}; set SITREP_DATA_DIR or [general] data_dir to a writable directory")]
    Io { path: PathBuf, source: std::io::Error },
}

/// Held while a runbook changes one target.
#[derive(Debug)]
pub struct TargetLock {
    _file: File,
    pub path: PathBuf,
}

/// A file name for a target (`deployment/shop/api` → `deployment_shop_api`).
pub fn file_name(target: &str) -> String {
    let safe: String = target.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '_' }).collect();
    format!("{}.lock", safe.trim_matches('_'))
}

impl TargetLock {
    /// Takes the target's lock without waiting; `Held` names who has it.
    pub fn try_acquire(data_dir: &Path, target: &str, runbook: &str) -> Result<TargetLock, LockError> {
        let dir = data_dir.join("locks");
        let path = dir.join(file_name(target));
        let io = |source| LockError::Io { path: path.clone(), source };
        std::fs::create_dir_all(&dir).map_err(io)?;
        let mut file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(io)?;
        // SAFETY: the fd belongs to `file`, which outlives the call.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = if holder.trim().is_empty() { "unknown process".to_string() } else { holder.trim().to_string() };
            return Err(LockError::Held { target: target.to_string(), holder });
        }
        let owner = format!("runbook {runbook}, pid {}", std::process::id());
        file.set_len(0).and_then(|()| file.seek(SeekFrom::Start(0))).and_then(|_| file.write_all(owner.as_bytes())).map_err(io)?;
        Ok(TargetLock { _file: file, path })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_run_on_the_same_target_is_refused_and_names_the_first() {
        let dir = tempfile::tempdir().expect("temp dir");
        let first = TargetLock::try_acquire(dir.path(), "deployment/shop/api", "rollback").expect("free");
        let second = TargetLock::try_acquire(dir.path(), "deployment/shop/api", "scale");
        assert!(matches!(&second, Err(LockError::Held { holder, .. }) if holder.contains("rollback")), "{second:?}");
        assert!(TargetLock::try_acquire(dir.path(), "deployment/shop/web", "scale").is_ok(), "another target is free");
        drop(first);
        assert!(TargetLock::try_acquire(dir.path(), "deployment/shop/api", "scale").is_ok(), "free once released");
    }
}
