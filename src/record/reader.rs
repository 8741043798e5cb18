//! Reading a recording: everything up to a truncation or corruption is kept and the problem is
//! reported with where it happened; a file from a newer sitrep is refused with the reason.

use super::format::{FORMAT, Header, Record, VERSION};
use super::writer::RecordError;
use crate::sanitize::{sanitize, sanitize_json, sanitize_lines};
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// A recording in memory, oldest record first.
#[derive(Debug, Clone)]
pub struct Recording {
    pub path: PathBuf,
    pub header: Header,
    pub records: Vec<Record>,
    /// Set when the file ends early or has a bad record: what happened and after how many records.
    pub problem: Option<String>,
}

impl Recording {
    pub fn duration_ms(&self) -> u64 {
        self.records.last().map_or(0, Record::t)
    }
}

pub fn read(path: &Path) -> Result<Recording, RecordError> {
    let file = std::fs::File::open(path).map_err(|source| RecordError::Read { path: path.to_path_buf(), source })?;
    let decoder = zstd::stream::Decoder::new(file).map_err(|source| RecordError::Read { path: path.to_path_buf(), source })?;
    read_decoded(path, std::io::BufReader::new(decoder))
}

/// Reads a recording's decompressed JSON lines (`path` only names it in messages). Public for the fuzzer.
pub fn read_decoded(path: &Path, decoded: impl BufRead) -> Result<Recording, RecordError> {
    let mut lines = decoded.lines();
    // serde's messages quote the offending input: they are outside text too.
    let not = |detail: String| RecordError::NotARecording { path: path.to_path_buf(), detail: sanitize(&detail) };
    let first = match lines.next() {
        Some(Ok(l)) => l,
        Some(Err(e)) => return Err(not(format!("cannot decompress: {e}"))),
        None => return Err(not("empty file".into())),
    };
    let mut probe: serde_json::Value = serde_json::from_str(&first).map_err(|e| not(format!("bad header: {e}")))?;
    // Recordings are mailed around: every string in them is outside text, made safe here once,
    // before the header is printed (`--info`) or any record reaches the Model and the screen.
    sanitize_json(&mut probe, sanitize);
    if probe.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
        return Err(not("no sitrep header".into()));
    }
    let version = probe.get("version").and_then(|v| v.as_u64()).unwrap_or(0) as u32;
    if version > VERSION {
        return Err(RecordError::Newer { path: path.to_path_buf(), found: version });
    }
    let header: Header = serde_json::from_value(probe).map_err(|e| not(format!("bad header: {e}")))?;
    let mut records = Vec::new();
    let mut problem = None;
    for (i, line) in lines.enumerate() {
        match line {
            Ok(l) => match parse_record(&l) {
                Ok(r) => records.push(r),
                Err(e) => {
                    problem = Some(sanitize(&format!(
                        "record {} (line {}) is corrupt ({e}); replaying the {} records before it",
                        i + 1,
                        i + 2,
                        records.len()
                    )));
                    break;
                }
            },
            Err(e) => {
                problem = Some(sanitize(&format!(
                    "the file ends early after record {} ({e}); it was cut off (crash or full disk?); replaying what is there",
                    records.len()
                )));
                break;
            }
        }
    }
    Ok(Recording { path: path.to_path_buf(), header, records, problem })
}

/// One record line, every string in it sanitized (line breaks kept: a step's output has several lines).
pub fn parse_record(line: &str) -> Result<Record, serde_json::Error> {
    let mut value: serde_json::Value = serde_json::from_str(line)?;
    sanitize_json(&mut value, sanitize_lines);
    serde_json::from_value(value)
}
