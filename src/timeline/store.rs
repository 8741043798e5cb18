//! The local timeline store: `DATA/incidents/<id>.timeline`, one checksummed record a line,
//! fsynced under an flock before it is acknowledged; torn tails moved aside to `<id>.timeline.torn`.

use super::entry::{BadIncidentId, EntryKind, IncidentId, Severity, TimelineEntry};
use super::lock::{FileLock, LockMode};
use super::record::{self, BadRecord};
use crate::clock::Clock;
use chrono::{DateTime, Utc};
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// Environment override of the data directory (tests, drills, a shared box).
pub const DATA_DIR_ENV: &str = "SITREP_DATA_DIR";
const TIMELINE_EXT: &str = "timeline";
const CURRENT_FILE: &str = "current-incident";
const UNATTACHED_DIR: &str = "unattached";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "cannot use {path} as the timeline data directory: {source}; set [general] data_dir in sitrep.toml or {DATA_DIR_ENV} to a writable directory"
    )]
    DataDir { path: PathBuf, source: io::Error },
    #[error("no home directory to keep timelines in; set [general] data_dir in sitrep.toml or {DATA_DIR_ENV}")]
    NoDataDir,
    #[error("cannot {action} {path}: {source}")]
    Io { action: &'static str, path: PathBuf, source: io::Error },
    #[error(
        "no incident is open; start one with `sitrep incident open --sev P3 \"title\"`, or name one with --incident ID (`sitrep incident list` shows them)"
    )]
    NoOpenIncident,
    #[error("no incident `{given}` in {}{}; `sitrep incident list` shows them all", dir.display(), nearest.as_ref().map(|n| format!("; did you mean `{n}`?")).unwrap_or_default())]
    UnknownIncident { given: String, nearest: Option<IncidentId>, dir: PathBuf },
    #[error(transparent)]
    BadId(#[from] BadIncidentId),
    #[error("cannot encode a timeline entry: {0}")]
    Encode(#[from] serde_json::Error),
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> StoreError + 'a {
    move |source| StoreError::Io { action, path: path.to_path_buf(), source }
}

/// A last record that never finished (the writer died mid-write or before fsync).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    pub file: PathBuf,
    pub record: BadRecord,
    /// Where its bytes were kept when the live file was cut back (None: reported only).
    pub moved_to: Option<PathBuf>,
}

impl fmt::Display for TornTail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.record;
        write!(
            f,
            "{}: torn last record at byte {} (line {}, {} bytes, never acknowledged: {})",
            self.file.display(),
            r.offset,
            r.line,
            r.len,
            r.reason
        )?;
        match &self.moved_to {
            Some(side) => write!(f, "; its bytes were moved to {}", side.display()),
            None => write!(f, "; the next write to this incident moves it aside"),
        }
    }
}

/// A corrupt record with good records after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corruption {
    pub file: PathBuf,
    pub record: BadRecord,
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.record;
        write!(
            f,
            "{}:{}: corrupt record at byte {} ({}); the records before and after it are intact; inspect it with `sed -n {}p {}`",
            self.file.display(),
            r.line,
            r.offset,
            r.reason,
            r.line,
            self.file.display()
        )
    }
}

/// Everything readable in one incident's file, and what is wrong with it.
#[derive(Debug, Clone)]
pub struct TimelineRead {
    pub id: IncidentId,
    pub path: PathBuf,
    pub entries: Vec<TimelineEntry>,
    pub corrupt: Vec<Corruption>,
    pub torn: Option<TornTail>,
}

impl TimelineRead {
    /// Every integrity problem as a sentence for people.
    pub fn warnings(&self) -> Vec<String> {
        let mut out: Vec<String> = self.corrupt.iter().map(ToString::to_string).collect();
        out.extend(self.torn.iter().map(ToString::to_string));
        out
    }
}

/// The data directory resolved: `[general] data_dir` (which `config::resolve` sets from
/// `SITREP_DATA_DIR` when that is given), else the platform's.
pub fn data_dir(config: &crate::config::Config) -> Result<PathBuf, StoreError> {
    if !config.general.data_dir.is_empty() {
        return Ok(PathBuf::from(&config.general.data_dir));
    }
    directories::ProjectDirs::from("", "", "sitrep").map(|d| d.data_dir().to_path_buf()).ok_or(StoreError::NoDataDir)
}

/// Incidents kept as files under one data directory.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
    /// The estate key whose open incident `current()` names (`current-incident.<key>`); None: the
    /// one `current-incident` of a store that watches nothing in particular (and of older sitreps).
    scope: Option<String>,
}

impl LocalStore {
    pub fn at(root: impl Into<PathBuf>) -> Self {
        LocalStore { root: root.into(), scope: None }
    }

    /// The store of the data dir, its open incident being the one of the config's estate.
    pub fn from_config(config: &crate::config::Config) -> Result<Self, StoreError> {
        data_dir(config).map(|root| LocalStore::at(root).scoped(&super::estate::Estate::from_config(config)))
    }

    /// The same store, its open incident being `estate`'s: two estates each have their own.
    pub fn scoped(self, estate: &super::estate::Estate) -> Self {
        LocalStore { scope: (!estate.is_empty()).then(|| estate.key()), ..self }
    }

    fn current_file(&self) -> PathBuf {
        match &self.scope {
            Some(key) => self.root.join(format!("{CURRENT_FILE}.{key}")),
            None => self.root.join(CURRENT_FILE),
        }
    }

    /// Incidents open for other estates than this store's (their `current-incident*` pointers).
    pub fn open_elsewhere(&self) -> Vec<IncidentId> {
        let mine = self.current_file();
        let own = self.current().ok().flatten();
        let Ok(read) = fs::read_dir(&self.root) else { return Vec::new() };
        let mut ids: Vec<IncidentId> = read
            .filter_map(Result::ok)
            .filter(|e| e.path() != mine && e.file_name().to_str().is_some_and(|n| n.starts_with(CURRENT_FILE)))
            .filter_map(|e| fs::read_to_string(e.path()).ok())
            .filter_map(|t| t.trim().parse().ok())
            .filter(|id| own.as_ref() != Some(id))
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn incidents_dir(&self) -> PathBuf {
        self.root.join("incidents")
    }

    pub fn path_of(&self, id: &IncidentId) -> PathBuf {
        self.incidents_dir().join(format!("{id}.{TIMELINE_EXT}"))
    }

    /// Creates the directories (and makes their entries durable) before the first incident.
    fn ensure_dirs(&self) -> Result<PathBuf, StoreError> {
        let dir = self.incidents_dir();
        if !dir.is_dir() {
            fs::create_dir_all(&dir).map_err(|source| StoreError::DataDir { path: dir.clone(), source })?;
            sync_dir(&self.root)?;
        }
        Ok(dir)
    }

    /// Every incident id in the store, sorted (ids sort by date).
    pub fn list(&self) -> Result<Vec<IncidentId>, StoreError> {
        let dir = self.incidents_dir();
        let read = match fs::read_dir(&dir) {
            Ok(r) => r,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err("list", &dir)(e)),
        };
        let mut ids: Vec<IncidentId> = read
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".timeline")).and_then(|s| s.parse().ok()))
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// The incident new notes go to, if one is open.
    pub fn current(&self) -> Result<Option<IncidentId>, StoreError> {
        read_pointer(&self.current_file(), &self.root)
    }

    /// Points new notes at `id` (atomically: write, fsync, rename, fsync the directory). A store
    /// bound to an estate also points the plain `current-incident` there: the incident opened last
    /// on this machine, for readers that know no estate (older sitreps, scripts, tests).
    pub fn set_current(&self, id: &IncidentId) -> Result<(), StoreError> {
        let mut paths = vec![self.current_file()];
        if self.scope.is_some() {
            paths.push(self.root.join(CURRENT_FILE));
        }
        for path in paths {
            let mut tmp = tempfile::NamedTempFile::new_in(&self.root).map_err(io_err("write", &path))?;
            writeln!(tmp, "{id}").and_then(|()| tmp.as_file().sync_all()).map_err(io_err("write", &path))?;
            tmp.persist(&path).map_err(|e| io_err("write", &path)(e.error))?;
        }
        sync_dir(&self.root)
    }

    /// Clears the pointers that name `id` (the incident was resolved).
    pub fn clear_current_if(&self, id: &IncidentId) -> Result<(), StoreError> {
        let mut cleared = false;
        for path in [self.current_file(), self.root.join(CURRENT_FILE)] {
            if read_pointer(&path, &self.root)?.as_ref() == Some(id) {
                fs::remove_file(&path).map_err(io_err("remove", &path))?;
                cleared = true;
            }
        }
        if cleared {
            sync_dir(&self.root)?;
        }
        Ok(())
    }

    /// The incident a command means: the one named, else the open one.
    pub fn resolve(&self, given: Option<&str>) -> Result<IncidentId, StoreError> {
        let Some(given) = given else { return self.current()?.ok_or(StoreError::NoOpenIncident) };
        let id: IncidentId = given.parse()?;
        if self.path_of(&id).is_file() {
            return Ok(id);
        }
        let nearest = nearest(id.as_str(), &self.list()?);
        Err(StoreError::UnknownIncident { given: id.to_string(), nearest, dir: self.incidents_dir() })
    }

    /// Opens a new incident: a new file whose first record is `Opened`, and makes it the current one.
    pub fn open_incident(&self, clock: &Clock, author: &str, title: &str, severity: Severity) -> Result<TimelineEntry, StoreError> {
        self.open_incident_for(clock, author, title, severity, None)
    }

    /// Like [`LocalStore::open_incident`], recording the estate the incident is about.
    pub fn open_incident_for(
        &self,
        clock: &Clock,
        author: &str,
        title: &str,
        severity: Severity,
        estate: Option<&super::estate::Estate>,
    ) -> Result<TimelineEntry, StoreError> {
        let dir = self.ensure_dirs()?;
        let now = clock.now();
        let prefix = now.format("%Y-%m-%d-").to_string();
        let mut seq =
            self.list()?.iter().filter_map(|id| id.as_str().strip_prefix(&prefix).and_then(|n| n.parse::<u32>().ok())).max().unwrap_or(0);
        let id = loop {
            seq += 1;
            let id = IncidentId::for_day(now, seq);
            match OpenOptions::new().append(true).create_new(true).open(self.path_of(&id)) {
                Ok(_) => break id,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(StoreError::DataDir { path: dir, source: e }),
            }
        };
        sync_dir(&dir)?;
        let mut writer = TimelineWriter::open(self, &id, clock.clone(), author)?;
        let estate = estate.filter(|e| !e.is_empty()).cloned();
        let opened = writer.append(EntryKind::Opened { title: title.to_string(), severity, estate }, None)?;
        self.set_current(&id)?;
        Ok(opened.entry)
    }

    /// Makes room for an incident opened elsewhere (another responder, via the shared store):
    /// an empty file that [`TimelineWriter::merge`] then fills. Already there: nothing changes.
    pub fn adopt(&self, id: &IncidentId) -> Result<bool, StoreError> {
        let dir = self.ensure_dirs()?;
        match OpenOptions::new().append(true).create_new(true).open(self.path_of(id)) {
            Ok(_) => {
                sync_dir(&dir)?;
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(StoreError::DataDir { path: dir, source: e }),
        }
    }

    fn synced_path(&self, id: &IncidentId) -> PathBuf {
        self.incidents_dir().join(format!("{id}.{TIMELINE_EXT}.synced"))
    }

    /// Ids of this incident's entries known to be in the shared store. A cache (one id a line,
    /// not fsynced): losing it only means the entries are pushed again, which never duplicates.
    pub fn synced(&self, id: &IncidentId) -> std::collections::HashSet<Uuid> {
        fs::read_to_string(self.synced_path(id)).map(|t| t.lines().filter_map(|l| l.trim().parse().ok()).collect()).unwrap_or_default()
    }

    /// Records that these entries reached the shared store.
    pub fn mark_synced(&self, id: &IncidentId, ids: &[Uuid]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let path = self.synced_path(id);
        let text: String = ids.iter().map(|i| format!("{i}\n")).collect();
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .map_err(io_err("write", &path))
    }

    /// Reads an incident without changing a byte: a torn tail is reported, not moved.
    pub fn read(&self, id: &IncidentId) -> Result<TimelineRead, StoreError> {
        let path = self.path_of(id);
        let file = File::open(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => StoreError::UnknownIncident {
                given: id.to_string(),
                nearest: self.list().ok().and_then(|ids| nearest(id.as_str(), &ids)),
                dir: self.incidents_dir(),
            },
            _ => io_err("open", &path)(e),
        })?;
        read_locked(file, path, id)
    }

    /// Where findings made while no incident is open are kept, one journal per estate
    /// (`DATA/unattached/<estate key>.timeline`); the same record format and guarantees.
    pub fn unattached_path(&self, scope: &str) -> PathBuf {
        self.root.join(UNATTACHED_DIR).join(format!("{scope}.{TIMELINE_EXT}"))
    }

    /// Creates the unattached journal of `scope` (and its directory, durably) if it is missing.
    pub fn ensure_unattached(&self, scope: &str) -> Result<PathBuf, StoreError> {
        let path = self.unattached_path(scope);
        let dir = self.root.join(UNATTACHED_DIR);
        if !dir.is_dir() {
            fs::create_dir_all(&dir).map_err(|source| StoreError::DataDir { path: dir.clone(), source })?;
            sync_dir(&self.root)?;
        }
        match OpenOptions::new().append(true).create_new(true).open(&path) {
            Ok(_) => sync_dir(&dir)?,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_err("create", &path)(e)),
        }
        Ok(path)
    }

    /// Reads the unattached journal of `scope`; a journal never written reads as empty.
    pub fn read_unattached(&self, scope: &str) -> Result<TimelineRead, StoreError> {
        let path = self.unattached_path(scope);
        let id = IncidentId::unattached();
        match File::open(&path) {
            Ok(file) => read_locked(file, path, &id),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Ok(TimelineRead { id, path, entries: Vec::new(), corrupt: Vec::new(), torn: None })
            }
            Err(e) => Err(io_err("open", &path)(e)),
        }
    }
}

/// The id a `current-incident*` pointer names, if any.
fn read_pointer(path: &Path, root: &Path) -> Result<Option<IncidentId>, StoreError> {
    match fs::read_to_string(path) {
        Ok(text) if text.trim().is_empty() => Ok(None),
        Ok(text) => Ok(Some(text.trim().parse()?)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StoreError::DataDir { path: root.to_path_buf(), source }),
    }
}

/// Reads a whole timeline file under a shared lock.
fn read_locked(mut file: File, path: PathBuf, id: &IncidentId) -> Result<TimelineRead, StoreError> {
    let _lock = FileLock::acquire(&file, LockMode::Shared).map_err(io_err("lock", &path))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(io_err("read", &path))?;
    let scan = record::scan(&bytes);
    Ok(TimelineRead {
        id: id.clone(),
        corrupt: scan.corrupt.into_iter().map(|record| Corruption { file: path.clone(), record }).collect(),
        torn: scan.torn.map(|record| TornTail { file: path.clone(), record, moved_to: None }),
        entries: scan.entries,
        path,
    })
}

/// Appends to one incident's file; keep one open for a session, or open one per command.
#[derive(Debug)]
pub struct TimelineWriter {
    path: PathBuf,
    file: File,
    incident: IncidentId,
    clock: Clock,
    author: String,
    /// File length after the last scan or write of ours; another length means someone else wrote.
    verified_len: u64,
    /// Torn tails this writer moved aside, oldest first.
    pub repaired: Vec<TornTail>,
    /// Corrupt records found in the middle of the file (reported, never touched).
    pub corrupt: Vec<Corruption>,
    /// Ids of every entry in the file, so a merged entry is never written twice.
    known: std::collections::HashSet<Uuid>,
    /// Set when a write of ours found entries another process had appended.
    others_wrote: bool,
}

/// An entry that is on disk and fsynced.
#[derive(Debug, Clone)]
pub struct Appended {
    pub entry: TimelineEntry,
    /// A torn tail moved aside before this entry was written.
    pub repaired: Option<TornTail>,
}

impl TimelineWriter {
    /// Opens an existing incident for appending; a torn tail is moved aside now, under the lock.
    pub fn open(store: &LocalStore, id: &IncidentId, clock: Clock, author: &str) -> Result<Self, StoreError> {
        let path = store.path_of(id);
        let file = OpenOptions::new().read(true).append(true).open(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => StoreError::UnknownIncident {
                given: id.to_string(),
                nearest: store.list().ok().and_then(|ids| nearest(id.as_str(), &ids)),
                dir: store.incidents_dir(),
            },
            _ => io_err("open for appending", &path)(e),
        })?;
        Self::on_file(path, file, id, clock, author)
    }

    /// Opens the unattached journal of `scope` (created if missing) for appending findings.
    pub fn open_unattached(store: &LocalStore, scope: &str, clock: Clock, author: &str) -> Result<Self, StoreError> {
        let path = store.ensure_unattached(scope)?;
        let file = OpenOptions::new().read(true).append(true).open(&path).map_err(io_err("open for appending", &path))?;
        Self::on_file(path, file, &IncidentId::unattached(), clock, author)
    }

    fn on_file(path: PathBuf, file: File, id: &IncidentId, clock: Clock, author: &str) -> Result<Self, StoreError> {
        let author = crate::sanitize::sanitize_bounded(author, 120);
        let mut writer = TimelineWriter {
            path,
            file,
            incident: id.clone(),
            clock,
            author,
            verified_len: u64::MAX,
            repaired: Vec::new(),
            corrupt: Vec::new(),
            known: std::collections::HashSet::new(),
            others_wrote: false,
        };
        let lock = FileLock::acquire(&writer.file, LockMode::Exclusive).map_err(io_err("lock", &writer.path))?;
        writer.verify_and_repair()?;
        drop(lock);
        Ok(writer)
    }

    pub fn incident(&self) -> &IncidentId {
        &self.incident
    }

    /// Whether another process (a `sitrep note` in a shell, a second console) appended since
    /// this writer last read the file; asking clears it. The console then reloads to show it.
    pub fn others_wrote(&mut self) -> bool {
        let grown = self.file.metadata().is_ok_and(|m| m.len() != self.verified_len);
        std::mem::take(&mut self.others_wrote) || grown
    }

    /// Writes one entry stamped with the clock's now and fsyncs it; when this returns Ok the entry
    /// survives a crash.
    pub fn append(&mut self, kind: EntryKind, corrects: Option<Uuid>) -> Result<Appended, StoreError> {
        let now = self.clock.now();
        self.append_at(now, kind, corrects)
    }

    /// Like [`TimelineWriter::append`], stamped with the time something was seen rather than
    /// written (a [`crate::detect::Detection`]'s `at`, from the Model's clock).
    pub fn append_at(&mut self, at: DateTime<Utc>, kind: EntryKind, corrects: Option<Uuid>) -> Result<Appended, StoreError> {
        let entry = TimelineEntry {
            id: Uuid::new_v4(),
            incident: self.incident.clone(),
            at,
            author: self.author.clone(),
            corrects,
            kind: kind.sanitized(),
        };
        let before = self.repaired.len();
        self.write_locked(std::slice::from_ref(&entry))?;
        Ok(Appended { entry, repaired: self.repaired.get(before).cloned() })
    }

    /// Writes entries that already exist elsewhere (another responder's, from the shared store)
    /// with their own ids, times and authors; an id already in the file is skipped, so merging
    /// the same entries twice never duplicates one. Returns the entries actually written.
    pub fn merge(&mut self, entries: &[TimelineEntry]) -> Result<Vec<TimelineEntry>, StoreError> {
        let fresh: Vec<TimelineEntry> = entries
            .iter()
            .filter(|e| e.incident == self.incident)
            .map(|e| TimelineEntry {
                kind: e.kind.clone().sanitized(),
                author: crate::sanitize::sanitize_bounded(&e.author, 120),
                ..e.clone()
            })
            .collect();
        self.write_locked(&fresh)
    }

    /// Under the exclusive lock: re-verifies the file if someone else wrote, drops entries whose
    /// id is already there, writes the rest in one `write` and fsyncs.
    fn write_locked(&mut self, entries: &[TimelineEntry]) -> Result<Vec<TimelineEntry>, StoreError> {
        let path = self.path.clone();
        let lock = FileLock::acquire(&self.file, LockMode::Exclusive).map_err(io_err("lock", &path))?;
        let len = self.file.metadata().map_err(io_err("stat", &path))?.len();
        if len != self.verified_len {
            self.others_wrote = true;
            self.verify_and_repair()?;
        }
        let mut bytes = Vec::new();
        let mut written = Vec::new();
        let mut ids = std::collections::HashSet::new();
        for entry in entries {
            if self.known.contains(&entry.id) || !ids.insert(entry.id) {
                continue;
            }
            bytes.extend(record::encode(entry)?);
            written.push(entry.clone());
        }
        if written.is_empty() {
            return Ok(written);
        }
        let result = (&self.file).write_all(&bytes).and_then(|()| self.file.sync_data());
        if let Err(e) = result {
            // Cut back a partial write so the next record does not start glued to it.
            let _ = self.file.set_len(self.verified_len).and_then(|()| self.file.sync_data());
            return Err(io_err("append to", &path)(e));
        }
        self.verified_len += bytes.len() as u64;
        self.known.extend(ids);
        drop(lock);
        Ok(written)
    }

    /// Scans the whole file (caller holds the exclusive lock); moves a torn tail aside.
    fn verify_and_repair(&mut self) -> Result<(), StoreError> {
        let path = self.path.clone();
        let mut bytes = Vec::new();
        (&self.file).seek(SeekFrom::Start(0)).map_err(io_err("read", &path))?;
        (&self.file).read_to_end(&mut bytes).map_err(io_err("read", &path))?;
        let scan = record::scan(&bytes);
        self.known = scan.entries.iter().map(|e| e.id).collect();
        self.corrupt = scan.corrupt.into_iter().map(|record| Corruption { file: path.clone(), record }).collect();
        if let Some(record) = scan.torn {
            let tail = &bytes[record.offset as usize..];
            let side = self.keep_aside(&record, tail)?;
            self.file.set_len(scan.good_len).and_then(|()| self.file.sync_data()).map_err(io_err("truncate", &path))?;
            self.repaired.push(TornTail { file: path, record, moved_to: Some(side) });
        }
        self.verified_len = scan.good_len;
        Ok(())
    }

    /// Appends the torn bytes, with a header saying where they came from, to `<file>.torn`; fsynced.
    fn keep_aside(&self, record: &BadRecord, tail: &[u8]) -> Result<PathBuf, StoreError> {
        let mut side = self.path.clone().into_os_string();
        side.push(".torn");
        let side = PathBuf::from(side);
        let created = !side.exists();
        let mut file = OpenOptions::new().create(true).append(true).open(&side).map_err(io_err("create", &side))?;
        let header = format!(
            "# torn tail of {} at byte {} (line {}, {} bytes: {}), moved aside at {}\n",
            self.path.display(),
            record.offset,
            record.line,
            record.len,
            record.reason,
            self.clock.now().to_rfc3339()
        );
        file.write_all(header.as_bytes())
            .and_then(|()| file.write_all(tail))
            .and_then(|()| file.write_all(b"\n"))
            .and_then(|()| file.sync_all())
            .map_err(io_err("write", &side))?;
        if created && let Some(dir) = side.parent() {
            sync_dir(dir)?;
        }
        Ok(side)
    }
}

/// Makes a directory's entries (a new or renamed file) durable.
fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io_err("fsync directory", dir))
}

/// The known id closest to a mistyped one (edit distance), if any is close enough to help.
pub fn nearest(given: &str, known: &[IncidentId]) -> Option<IncidentId> {
    known
        .iter()
        .map(|id| (crate::diag::edit_distance(given, id.as_str()), id))
        .filter(|(d, id)| *d <= id.as_str().len().max(3) / 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, id)| id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[&str]) -> Vec<IncidentId> {
        list.iter().filter_map(|s| s.parse().ok()).collect()
    }

    #[test]
    fn a_mistyped_id_suggests_the_nearest_known_one() {
        let known = ids(&["2026-11-28-001", "2026-11-29-001", "2026-11-29-002"]);
        assert_eq!(nearest("2026-11-29-01", &known).map(String::from), Some("2026-11-29-001".into()));
        assert_eq!(nearest("something-else-entirely", &known), None);
    }
}
