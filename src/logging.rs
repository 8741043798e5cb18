//! Logs go to a file in the user's state dir through tracing — never to the terminal the UI owns.
//! `SITREP_LOG` sets the filter (e.g. `debug`), default `info`; both come in through `config::Env`.

use crate::config::Env;
use std::path::PathBuf;

/// The log directory: $SITREP_LOG_DIR, else the user's state dir (~/.local/state/sitrep).
pub fn log_dir(env: &Env) -> PathBuf {
    if let Some(d) = &env.log_dir {
        return d.clone();
    }
    directories::ProjectDirs::from("", "", "sitrep")
        .map(|d| d.state_dir().unwrap_or_else(|| d.data_local_dir()).to_path_buf())
        .unwrap_or_else(|| std::env::temp_dir().join("sitrep"))
}

/// Starts file logging; keep the guard alive for the life of the process.
pub fn init(env: &Env) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    let dir = log_dir(env);
    std::fs::create_dir_all(&dir).ok()?;
    let appender = tracing_appender::rolling::never(&dir, "sitrep.log");
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = tracing_subscriber::EnvFilter::try_new(env.log.as_deref().unwrap_or("info"))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_writer(writer).with_ansi(false).with_env_filter(filter).try_init().ok()?;
    Some(guard)
}
