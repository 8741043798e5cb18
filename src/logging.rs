//! Logs go to a file in the user's state dir through tracing — never to the terminal the UI owns.
//! `SITREP_LOG` sets the filter (e.g. `debug`), default `info` (both through `config::Env`). A log file
//! that cannot be opened is a warning.

use crate::config::Env;
use std::path::{Path, PathBuf};

/// The file name inside [`log_dir`].
const LOG_FILE: &str = "sitrep.log";

/// The log directory: $SITREP_LOG_DIR, else the user's state dir (~/.local/state/sitrep).
pub fn log_dir(env: &Env) -> PathBuf {
    if let Some(d) = &env.log_dir {
        return d.clone();
    }
    directories::ProjectDirs::from("", "", "sitrep")
        .map(|d| d.state_dir().unwrap_or_else(|| d.data_local_dir()).to_path_buf())
        .unwrap_or_else(|| std::env::temp_dir().join("sitrep"))
}

/// Why the file log could not be started: the path and the OS's own words.
#[derive(Debug, thiserror::Error)]
pub enum LogFileError {
    #[error("cannot create the log directory {}: {source}", path.display())]
    Dir { path: PathBuf, source: std::io::Error },
    #[error("cannot open the log file {}: {source}", path.display())]
    File { path: PathBuf, source: std::io::Error },
}

/// Starts file logging; keep the guard alive for the life of the process. When the log file
/// cannot be opened (a read-only state dir, a dir owned by another user), prints one warning to
/// stderr (called before the UI owns the terminal) and runs on without a file log.
pub fn init(env: &Env) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    let dir = log_dir(env);
    match open(&dir, env.log.as_deref()) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("{}", warning(&e));
            None
        }
    }
}

/// The warning for people: what failed, the OS error, and the fix.
pub fn warning(error: &LogFileError) -> String {
    format!(
        "sitrep: warning: {error}; running without a file log. Set SITREP_LOG_DIR to a directory this user can write (e.g. SITREP_LOG_DIR=/tmp/sitrep-logs)."
    )
}

fn open(dir: &Path, filter: Option<&str>) -> Result<Option<tracing_appender::non_blocking::WorkerGuard>, LogFileError> {
    std::fs::create_dir_all(dir).map_err(|source| LogFileError::Dir { path: dir.to_path_buf(), source })?;
    let path = dir.join(LOG_FILE);
    // Opened here first for a clean io::Error: the appender's own open error wraps it and panics in
    // `rolling::never`; the builder below then reopens the same file for append.
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|source| LogFileError::File { path: path.clone(), source })?;
    let appender = tracing_appender::rolling::RollingFileAppender::builder()
        .rotation(tracing_appender::rolling::Rotation::NEVER)
        .filename_prefix(LOG_FILE)
        .build(dir)
        .map_err(|e| LogFileError::File { path: path.clone(), source: std::io::Error::other(e.to_string()) })?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter =
        tracing_subscriber::EnvFilter::try_new(filter.unwrap_or("info")).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A second init in one process (tests) keeps the first subscriber; nothing to warn about.
    if tracing_subscriber::fmt().with_writer(writer).with_ansi(false).with_env_filter(filter).try_init().is_err() {
        return Ok(None);
    }
    Ok(Some(guard))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unwritable_log_dir_is_an_error_naming_the_path_and_the_fix() -> std::io::Result<()> {
        let tmp = tempfile::tempdir()?;
        let file = tmp.path().join("file");
        std::fs::write(&file, "not a dir")?;
        let under_file = file.join("logs");
        let Err(e) = open(&under_file, None) else { panic!("a dir under a regular file cannot be created") };
        let text = warning(&e);
        assert!(text.contains(&under_file.display().to_string()) && text.contains("SITREP_LOG_DIR"), "{text}");
        assert!(matches!(e, LogFileError::Dir { .. }), "{e:?}");
        Ok(())
    }
}
