//! Logs go to a file in the user's state dir through tracing — never to the terminal the UI owns.
//! `SITREP_LOG` sets the filter (e.g. `debug`), default `info` with the AWS SDK at `warn` (both through
//! `config::Env`); AWS access key ids are masked in every line. A log file
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
    let filter = tracing_subscriber::EnvFilter::try_new(filter.unwrap_or(DEFAULT_FILTER))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_FILTER));
    let redacting = move || Redacting(tracing_subscriber::fmt::MakeWriter::make_writer(&writer));
    // A second init in one process (tests) keeps the first subscriber; nothing to warn about.
    if tracing_subscriber::fmt().with_writer(redacting).with_ansi(false).with_env_filter(filter).try_init().is_err() {
        return Ok(None);
    }
    Ok(Some(guard))
}

/// The AWS SDK's INFO lines print the credentials chain it built, access key id included: they
/// are kept at warn unless `SITREP_LOG` asks for more, and the writer masks key ids whatever is asked.
const DEFAULT_FILTER: &str = "info,aws_config=warn,aws_runtime=warn,aws_smithy_runtime=warn,aws_sdk_s3=warn,aws_sdk_sts=warn";

/// A log writer that masks AWS access key ids (`AKIA…`, `ASIA…`: 20 upper-case letters and digits)
/// before a line reaches the file; one write is one formatted event.
struct Redacting<W: std::io::Write>(W);

impl<W: std::io::Write> std::io::Write for Redacting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write_all(&redact_key_ids(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// `AKIAIOSFODNN7EXAMPLE` → `AKIA****************`: the kind stays readable, the id does not.
pub fn redact_key_ids(buf: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    const PREFIXES: [&[u8]; 6] = [b"AKIA", b"ASIA", b"AROA", b"AIDA", b"ANPA", b"AGPA"];
    let id_char = |b: u8| b.is_ascii_uppercase() || b.is_ascii_digit();
    let mut out: Option<Vec<u8>> = None;
    let mut i = 0;
    while i + 20 <= buf.len() {
        let at_boundary = i == 0 || !id_char(buf[i - 1]);
        let whole = at_boundary
            && PREFIXES.iter().any(|p| buf[i..].starts_with(p))
            && buf[i..i + 20].iter().all(|b| id_char(*b))
            && buf.get(i + 20).is_none_or(|b| !id_char(*b));
        if whole {
            let o = out.get_or_insert_with(|| buf.to_vec());
            o[i + 4..i + 20].fill(b'*');
            i += 20;
        } else {
            i += 1;
        }
    }
    out.map_or(std::borrow::Cow::Borrowed(buf), std::borrow::Cow::Owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_key_ids_are_masked_and_other_words_kept() {
        let line = b"credentials: access_key_id: \"AKIAIOSFODNN7EXAMPLE\", session ASIA0123456789ABCDEF; AKIASHORT; XAKIAIOSFODNN7EXAMPLE";
        let out = String::from_utf8_lossy(&redact_key_ids(line)).into_owned();
        assert!(out.contains("\"AKIA****************\"") && out.contains("ASIA****************;"), "{out}");
        assert!(out.contains("AKIASHORT") && out.contains("XAKIAIOSFODNN7EXAMPLE"), "only whole 20-character ids: {out}");
        assert!(matches!(redact_key_ids(b"nothing here"), std::borrow::Cow::Borrowed(_)));
    }

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
