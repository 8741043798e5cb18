//! Writing a recording as the console runs: records go over a channel to a writer thread, so
//! compression and disk never touch the draw loop; a flush every second bounds what a crash loses.

use super::format::{FORMAT, Header, Record, VERSION};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("cannot create recording {path}: {source}; check the directory exists and is writable")]
    Create { path: PathBuf, source: std::io::Error },
    #[error("cannot read recording {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a sitrep recording ({detail}); sitrep replays files written by `sitrep console --record`")]
    NotARecording { path: PathBuf, detail: String },
    #[error("{path} was written by a newer sitrep (format {found}, this sitrep reads up to {VERSION}); upgrade sitrep to replay it")]
    Newer { path: PathBuf, found: u32 },
}

enum Msg {
    // Boxed: a record (a whole snapshot) is much larger than a flush.
    Record(Box<Record>),
    Flush,
}

/// A running recording; dropping it finishes the file.
pub struct Recorder {
    tx: Option<mpsc::Sender<Msg>>,
    thread: Option<std::thread::JoinHandle<()>>,
    started: std::time::Instant,
}

impl Recorder {
    /// Creates the file and writes the header; fails before the console starts, not halfway.
    pub fn create(path: &Path, header: &Header) -> Result<Recorder, RecordError> {
        let create = |source| RecordError::Create { path: path.to_path_buf(), source };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(create)?;
        }
        let file = std::fs::File::create(path).map_err(create)?;
        let mut encoder = zstd::stream::Encoder::new(std::io::BufWriter::new(file), 3).map_err(create)?;
        let mut head = header.clone();
        head.format = FORMAT.into();
        head.version = VERSION;
        write_line(&mut encoder, &head).map_err(create)?;
        encoder.flush().map_err(create)?;
        let (tx, rx) = mpsc::channel::<Msg>();
        let shown = path.display().to_string();
        let thread = std::thread::Builder::new()
            .name("sitrep-recorder".into())
            .spawn(move || {
                for msg in rx {
                    let result = match msg {
                        Msg::Record(r) => write_line(&mut encoder, &r),
                        Msg::Flush => encoder.flush(),
                    };
                    if let Err(e) = result {
                        tracing::error!("recording {shown}: {e}; recording stopped");
                        return;
                    }
                }
                if let Err(e) = encoder.finish().and_then(|mut w| w.flush()) {
                    tracing::error!("finishing recording {shown}: {e}");
                }
            })
            .map_err(create)?;
        Ok(Recorder { tx: Some(tx), thread: Some(thread), started: std::time::Instant::now() })
    }

    /// Milliseconds since the recording began.
    pub fn offset_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    pub fn record(&self, record: Record) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(Msg::Record(Box::new(record)));
        }
    }

    pub fn flush(&self) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(Msg::Flush);
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One JSON line, with secrets scrubbed once more on the way out (belt and braces: collectors
/// already redact what they read).
fn write_line<T: serde::Serialize>(w: &mut impl Write, value: &T) -> std::io::Result<()> {
    let json = serde_json::to_string(value).map_err(std::io::Error::other)?;
    let clean = crate::sanitize::redact_secrets(&json);
    w.write_all(clean.as_bytes())?;
    w.write_all(b"\n")
}
