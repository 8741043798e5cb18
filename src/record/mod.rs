//! Recordings: the console's own event stream, written compactly as it happens and read back
//! checked and sanitized (the replay frontend in `crate::replay` plays them).

pub mod format;
pub mod reader;
pub mod writer;

pub use format::{Header, KeyRecord, Record};
pub use reader::{Recording, read};
pub use writer::{RecordError, Recorder};

/// The drill scorecard file beside a recording (written by `sitrep lab drill`, shown by `--info`).
pub fn scorecard_path(recording: &std::path::Path) -> std::path::PathBuf {
    let mut name = recording.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".scorecard.md");
    recording.with_file_name(name)
}
