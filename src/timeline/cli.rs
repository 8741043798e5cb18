//! `sitrep incident …`, `sitrep note …`, `sitrep export …`: clap arguments and run functions.
//! The CLI edge (anyhow lives here); every command writes to the out/err it is given, for tests.

use super::entry::{EntryKind, IncidentId, IncidentStatus, Severity, local_author};
use super::export::PostMortem;
use super::incident::{Incident, in_time_order};
use super::store::{LocalStore, StoreError, TimelineRead, TimelineWriter};
use crate::clock::Clock;
use crate::config::Config;
use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use uuid::Uuid;

#[derive(Debug, Args)]
pub struct IncidentArgs {
    #[command(subcommand)]
    pub command: IncidentCommand,
}

#[derive(Debug, Subcommand)]
pub enum IncidentCommand {
    /// Open an incident, make it the one notes go to, print its id.
    Open {
        /// P1 critical (outage, data loss risk), P2 high (>50% users), P3 medium (partial), P4 low.
        #[arg(long = "sev", value_name = "P1..P4")]
        severity: Severity,
        /// One line saying what is wrong, e.g. "checkout API 502s".
        title: String,
        /// Adopt the findings a console kept while no incident was open from this far back (plus
        /// those still active), e.g. 30m, 2h, 0 for only those still active.
        #[arg(long, value_name = "DURATION", value_parser = parse_look_back)]
        look_back: Option<chrono::Duration>,
    },
    /// Record a status change: investigating, identified, mitigated, resolved.
    Status {
        status: IncidentStatus,
        #[arg(long, value_name = "ID")]
        incident: Option<String>,
    },
    /// Record a severity change (P1..P4).
    Severity {
        severity: Severity,
        #[arg(long, value_name = "ID")]
        incident: Option<String>,
    },
    /// Same as `status resolved`; notes then need `incident open` or --incident.
    Close {
        #[arg(long, value_name = "ID")]
        incident: Option<String>,
    },
    /// Every incident in the data directory; `*` marks the open one.
    List,
    /// An incident's timeline, oldest first (default: the open incident).
    Show { id: Option<String> },
    /// With `[timeline] store = "postgres"`: push entries saved here while the shared database was
    /// unreachable, pull everyone else's; exit 1 if anything is still unsynced.
    Sync,
}

#[derive(Debug, Args)]
pub struct NoteArgs {
    /// The note; start it with `action:` or `todo:` to make it a post-mortem action item.
    pub text: String,
    /// Incident to write to (default: the open one).
    #[arg(long, value_name = "ID")]
    pub incident: Option<String>,
    /// This note corrects an earlier entry (its id, as printed by `saved …` or `incident show`).
    #[arg(long, value_name = "ENTRY_ID")]
    pub corrects: Option<Uuid>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Md,
    Json,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Incident to export (default: the open one).
    #[arg(long, value_name = "ID")]
    pub incident: Option<String>,
    #[arg(long, value_enum, default_value = "md")]
    pub format: ExportFormat,
    /// Write here instead of stdout (never inside the data directory).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `30m`, `90s`, `2h`, `0`: how far back `incident open` adopts findings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a look-back: use a number with s, m or h (30m, 2h), or 0 for only the findings still active")]
pub struct BadLookBack(String);

pub fn parse_look_back(text: &str) -> Result<chrono::Duration, BadLookBack> {
    let t = text.trim();
    let bad = || BadLookBack(crate::sanitize::sanitize_bounded(text, 40));
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: i64 = num.parse().map_err(|_| bad())?;
    let secs = match unit {
        "" if n == 0 => 0,
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(bad()),
    };
    Ok(chrono::Duration::seconds(secs))
}

/// What every command needs: where the store is, what time it is, who is typing.
#[derive(Debug, Clone)]
pub struct Session {
    pub store: LocalStore,
    pub clock: Clock,
    pub author: String,
    /// What this process watches; its unattached findings are kept under this estate's key.
    pub estate: super::estate::Estate,
    /// How far back `incident open` adopts findings by default.
    pub look_back: chrono::Duration,
    /// The shared store, when `[timeline] store = "postgres"`.
    pub shared: Option<crate::config::TimelineStoreConfig>,
    pub timeout: std::time::Duration,
}

impl Session {
    pub fn from_config(config: &Config) -> Result<Self, StoreError> {
        Ok(Session {
            store: LocalStore::from_config(config)?,
            clock: Clock::Real,
            author: local_author(),
            estate: super::estate::Estate::from_config(config),
            look_back: config.timeline.look_back(),
            shared: config.timeline.shared().then(|| config.timeline.clone()),
            timeout: std::time::Duration::from_secs(config.general.timeout_secs.max(1)),
        })
    }

    /// The incident a command means. With the shared store, an id only another responder has is
    /// pulled first, and with no incident open here, the newest open shared one is joined.
    fn resolve(&self, given: Option<&str>, err: &mut dyn Write) -> anyhow::Result<IncidentId> {
        let resolved = self.resolve_here(given, err);
        match resolved {
            Err(e) if given.is_none() && matches!(e.downcast_ref::<StoreError>(), Some(StoreError::NoOpenIncident)) => {
                let others: Vec<(IncidentId, Option<super::estate::Estate>)> = self
                    .store
                    .open_elsewhere()
                    .into_iter()
                    .map(|id| {
                        let estate = self.store.read(&id).ok().and_then(|r| Incident::fold(&id, &r.entries).estate);
                        (id, estate)
                    })
                    .collect();
                if others.is_empty() { Err(e) } else { Err(super::estate::NoneOpenHere { mine: self.estate.clone(), others }.into()) }
            }
            other => other,
        }
    }

    /// Refuses to write to an incident about another estate than this session's.
    fn check_estate(&self, id: &IncidentId) -> anyhow::Result<()> {
        let inc = Incident::fold(id, &self.store.read(id)?.entries);
        if self.estate.admits(inc.estate.as_ref()) {
            return Ok(());
        }
        let theirs = inc.estate.unwrap_or_default();
        Err(super::estate::OtherEstate { id: id.clone(), theirs, mine: self.estate.clone() }.into())
    }

    fn resolve_here(&self, given: Option<&str>, err: &mut dyn Write) -> anyhow::Result<IncidentId> {
        let first = self.store.resolve(given);
        if self.shared.is_none() || !matches!(first, Err(StoreError::UnknownIncident { .. } | StoreError::NoOpenIncident)) {
            return Ok(first?);
        }
        if !self.sync(None, err)? {
            return Ok(first?);
        }
        if given.is_none()
            && self.store.current()?.is_none()
            && let Some(id) = self.newest_open_shared()?
        {
            self.store.set_current(&id)?;
            writeln!(err, "joined incident {id}, opened by another responder on the shared timeline")?;
            return Ok(id);
        }
        Ok(self.store.resolve(given)?)
    }

    /// The newest joinable incident here, after a sync has pulled every shared one: derived from the
    /// entries themselves (opened when, resolved or not), so no second trip to the database.
    fn newest_open_shared(&self) -> anyhow::Result<Option<IncidentId>> {
        let mut newest: Option<(chrono::DateTime<chrono::Utc>, IncidentId)> = None;
        for id in self.store.list()? {
            let inc = Incident::fold(&id, &self.store.read(&id)?.entries);
            if let Some(started) = inc.started
                && self.estate.admits(inc.estate.as_ref())
                && super::shared::joinable(started, inc.status == IncidentStatus::Resolved)
                && newest.as_ref().is_none_or(|(t, _)| started > *t)
            {
                newest = Some((started, id));
            }
        }
        Ok(newest.map(|(_, id)| id))
    }

    /// Syncs `only` (or every incident) with the shared store, if there is one. Never fails the
    /// command: what is saved here stays saved; problems go to `err`. Returns whether all is synced.
    fn sync(&self, only: Option<&IncidentId>, err: &mut dyn Write) -> std::io::Result<bool> {
        let Some(cfg) = &self.shared else { return Ok(true) };
        let result = super::shared::block_on(async {
            let mut shared = super::shared::Shared::connect(cfg, self.timeout, false).await?;
            let mut cursor = super::shared::Cursor::default();
            match only {
                Some(id) => shared.sync_incident(&self.store, id, &mut cursor).await.map(|r| vec![(id.clone(), r)]),
                None => shared.sync_all(&self.store, &mut cursor).await,
            }
        });
        match result {
            Some(Ok(done)) => {
                for w in done.iter().flat_map(|(_, r)| r.warnings.iter()) {
                    writeln!(err, "warning: {w}")?;
                }
                Ok(true)
            }
            Some(Err(e)) => {
                writeln!(
                    err,
                    "not shared yet: {e}; kept here and marked unsynced — a running console or `sitrep incident sync` pushes it when the database answers"
                )?;
                Ok(false)
            }
            None => Ok(false),
        }
    }
}

/// After a command that wrote to the timeline outside this module (a runbook run): push it to the
/// shared store now, if there is one, rather than waiting for a console. Problems go to `err`.
pub fn share_now(config: &Config, err: &mut dyn Write) {
    if !config.timeline.shared() {
        return;
    }
    if let Ok(s) = Session::from_config(config)
        && let Ok(Some(id)) = s.store.current()
    {
        let _ = s.sync(Some(&id), err);
    }
}

pub fn run_incident(args: IncidentArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let session = Session::from_config(config)?;
    incident(&session, args, &mut std::io::stdout().lock(), &mut std::io::stderr().lock())
}

pub fn run_note(args: NoteArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let session = Session::from_config(config)?;
    note(&session, args, &mut std::io::stdout().lock(), &mut std::io::stderr().lock())
}

pub fn run_export(args: ExportArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let session = Session::from_config(config)?;
    export(&session, &config.thresholds, args, &mut std::io::stdout().lock(), &mut std::io::stderr().lock())
}

pub fn incident(s: &Session, args: IncidentArgs, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<ExitCode> {
    match args.command {
        IncidentCommand::Open { severity, title, look_back } => {
            // Pull others' incidents first, so the new id does not collide with theirs.
            s.sync(None, &mut std::io::sink())?;
            let previous = s.store.current()?;
            let look_back = look_back.unwrap_or(s.look_back);
            let done = super::adopt::open_adopting(&s.store, &s.estate, &s.clock, &s.author, &title, severity, look_back)?;
            for w in &done.warnings {
                writeln!(err, "warning: {w}")?;
            }
            if !done.adopted.is_empty() {
                writeln!(err, "{}", done.summary(look_back))?;
            }
            let opened = done.opened;
            s.sync(Some(&opened.incident), err)?;
            if let Some(prev) = previous {
                writeln!(
                    err,
                    "note: incident {prev} is still open; notes now go to {} (use --incident {prev} for the other)",
                    opened.incident
                )?;
            }
            writeln!(out, "{}", opened.incident)?;
        }
        IncidentCommand::Status { status, incident } => change(s, incident.as_deref(), EntryKind::Status { status }, out, err)?,
        IncidentCommand::Close { incident } => {
            change(s, incident.as_deref(), EntryKind::Status { status: IncidentStatus::Resolved }, out, err)?;
        }
        IncidentCommand::Severity { severity, incident } => change(s, incident.as_deref(), EntryKind::Severity { severity }, out, err)?,
        IncidentCommand::List => list(s, out, err)?,
        IncidentCommand::Show { id } => return show(s, id.as_deref(), out, err),
        IncidentCommand::Sync => return sync(s, out, err),
    }
    Ok(ExitCode::SUCCESS)
}

fn change(s: &Session, given: Option<&str>, kind: EntryKind, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<()> {
    let resolved = matches!(kind, EntryKind::Status { status: IncidentStatus::Resolved });
    let id = s.resolve(given, err)?;
    let saved = append(s, &id, kind, None, err)?;
    if resolved {
        s.store.clear_current_if(&id)?;
    }
    writeln!(out, "{id}: {} (saved {})", saved.kind.describe(), saved.id)?;
    out.flush()?;
    s.sync(Some(&id), err)?;
    Ok(())
}

pub fn note(s: &Session, args: NoteArgs, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<ExitCode> {
    if args.text.trim().is_empty() {
        bail!("the note is empty; write what you saw or did, e.g. sitrep note \"restarted api-7f9c, errors dropping\"");
    }
    let id = s.resolve(args.incident.as_deref(), err)?;
    if let Some(target) = args.corrects
        && !s.store.read(&id)?.entries.iter().any(|e| e.id == target)
    {
        bail!("incident {id} has no entry {target} to correct; `sitrep incident show {id}` lists entry ids");
    }
    let saved = append(s, &id, EntryKind::note(&args.text), args.corrects, err)?;
    // Printed only now: the entry is written and fsynced.
    writeln!(out, "saved {}", saved.id)?;
    out.flush()?;
    s.sync(Some(&id), err)?;
    Ok(ExitCode::SUCCESS)
}

/// Appends one entry, telling `err` about anything repaired or damaged on the way.
fn append(
    s: &Session,
    id: &IncidentId,
    kind: EntryKind,
    corrects: Option<Uuid>,
    err: &mut dyn Write,
) -> anyhow::Result<super::TimelineEntry> {
    s.check_estate(id)?;
    let mut writer = TimelineWriter::open(&s.store, id, s.clock.clone(), &s.author)?;
    let appended = writer.append(kind, corrects)?;
    for torn in &writer.repaired {
        writeln!(err, "warning: {torn}")?;
    }
    for bad in &writer.corrupt {
        writeln!(err, "warning: {bad}")?;
    }
    Ok(appended.entry)
}

fn list(s: &Session, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<()> {
    s.sync(None, err)?;
    let ids = s.store.list()?;
    if ids.is_empty() {
        writeln!(out, "no incidents in {}; open one with `sitrep incident open --sev P3 \"title\"`", s.store.incidents_dir().display())?;
        return Ok(());
    }
    let current = s.store.current()?;
    for id in ids {
        let read = s.store.read(&id)?;
        let inc = Incident::fold(&id, &read.entries);
        let mark = if current.as_ref() == Some(&id) { '*' } else { ' ' };
        let sev = inc.severity.map_or("P?".to_string(), |v| v.to_string());
        let started = inc.started.map_or("—".to_string(), |t| t.format("%Y-%m-%d %H:%M").to_string());
        writeln!(out, "{mark} {id}  {sev}  {:<13}  {started}  {}", inc.status.name(), inc.title_or_placeholder())?;
        warn_all(&read, err)?;
    }
    Ok(())
}

fn show(s: &Session, given: Option<&str>, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let id = s.resolve(given, err)?;
    s.sync(Some(&id), err)?;
    let read = s.store.read(&id)?;
    let synced = if s.shared.is_some() { Some(s.store.synced(&id)) } else { None };
    let inc = Incident::fold(&id, &read.entries);
    let sev = inc.severity.map_or("P?".to_string(), |v| v.to_string());
    writeln!(out, "{id}  {sev}  {}  {}", inc.status, inc.title_or_placeholder())?;
    for e in in_time_order(&read.entries) {
        let fix = e.corrects.map(|c| format!(" (corrects {c})")).unwrap_or_default();
        let mark = if synced.as_ref().is_some_and(|set| !set.contains(&e.id)) { "  (unsynced)" } else { "" };
        writeln!(out, "{}  {}  {}{fix}  [{}]{mark}", e.at.format("%Y-%m-%d %H:%M:%S"), e.author, e.kind.describe(), e.id)?;
    }
    warn_all(&read, err)?;
    Ok(if read.corrupt.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn sync(s: &Session, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<ExitCode> {
    if s.shared.is_none() {
        bail!("the timeline store is local; set [timeline] store = \"postgres\" and dsn in sitrep.toml to share it (docs/timeline.md)");
    }
    let reached = s.sync(None, err)?;
    let mut left = 0;
    for id in s.store.list()? {
        let unsynced = super::shared::unsynced(&s.store, &id)?;
        if !unsynced.is_empty() {
            writeln!(out, "{id}: {} entries unsynced", unsynced.len())?;
        }
        left += unsynced.len();
    }
    if reached && left == 0 {
        writeln!(out, "every entry here is in the shared store, and every shared entry is here")?;
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::FAILURE)
    }
}

fn warn_all(read: &TimelineRead, err: &mut dyn Write) -> std::io::Result<()> {
    for w in read.warnings() {
        writeln!(err, "warning: {w}")?;
    }
    Ok(())
}

pub fn export(
    s: &Session,
    thresholds: &crate::config::Thresholds,
    args: ExportArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let id = s.store.resolve(args.incident.as_deref())?;
    let read = s.store.read(&id)?;
    warn_all(&read, err)?;
    let mut warnings = read.warnings();
    let mut entries = read.entries.clone();
    // Shared: others' entries are read from the database, in memory; nothing is written anywhere.
    if let Some(cfg) = &s.shared {
        let union = super::shared::block_on(async {
            let shared = super::shared::Shared::connect(cfg, s.timeout, false).await?;
            shared.union(&read.entries, &id).await
        });
        match union {
            Some(Ok((all, problems))) => {
                entries = all;
                warnings.extend(problems);
            }
            Some(Err(e)) => {
                let w = format!("exported from this machine's copy only: {e}");
                writeln!(err, "warning: {w}")?;
                warnings.push(w);
            }
            None => {}
        }
    }
    let draft = PostMortem::new(&id, &entries, thresholds, warnings);
    let text = match args.format {
        ExportFormat::Md => draft.to_markdown(),
        ExportFormat::Json => draft.to_json()?,
    };
    match args.out {
        None => out.write_all(text.as_bytes())?,
        Some(path) => {
            write_outside_store(&s.store, &path, text.as_bytes())?;
            writeln!(err, "wrote {}", path.display())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The console's `:export`: the open incident's draft written to `out` (default `INCIDENT.md` or
/// `.json` in the current directory) by the same [`export`] as `sitrep incident export --out`;
/// returns what to tell the user (where it went, and any warning the export gave).
pub fn export_file(config: &Config, format: ExportFormat, out: Option<PathBuf>) -> anyhow::Result<String> {
    let session = Session::from_config(config)?;
    let Some(id) = session.store.current()? else {
        bail!("no incident is open here; `:open P3 title` opens one (an export is of an incident)");
    };
    let ext = match format {
        ExportFormat::Md => "md",
        ExportFormat::Json => "json",
    };
    let path = out.unwrap_or_else(|| PathBuf::from(format!("{id}.{ext}")));
    let path = if path.is_relative() { std::env::current_dir().context("the current directory")?.join(path) } else { path };
    let mut said = Vec::new();
    let args = ExportArgs { incident: Some(id.to_string()), format, out: Some(path.clone()) };
    export(&session, &config.thresholds, args, &mut std::io::sink(), &mut said)?;
    let warnings: Vec<String> =
        String::from_utf8_lossy(&said).lines().filter_map(|l| l.strip_prefix("warning: ")).map(String::from).collect();
    let mut text = format!("post-mortem draft of {id} written to {}", path.display());
    if !warnings.is_empty() {
        text.push_str(&format!(" (warning: {})", warnings.join("; ")));
    }
    Ok(text)
}

/// Writes the export atomically, refusing any path inside the data directory.
fn write_outside_store(store: &LocalStore, path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let dir_real = dir.canonicalize().with_context(|| format!("cannot write {}: its directory does not exist", path.display()))?;
    if let Ok(root) = store.root().canonicalize()
        && dir_real.starts_with(&root)
    {
        bail!("refusing to write {} inside the timeline data directory {}; choose a path outside it", path.display(), root.display());
    }
    let mut tmp = tempfile::NamedTempFile::new_in(&dir_real).with_context(|| format!("cannot write into {}", dir.display()))?;
    tmp.write_all(bytes).with_context(|| format!("cannot write {}", path.display()))?;
    tmp.persist(path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    /// The shape the lead wires into `sitrep`'s top-level command.
    #[derive(Debug, Parser)]
    struct Sitrep {
        #[command(subcommand)]
        command: Top,
    }

    #[derive(Debug, Subcommand)]
    enum Top {
        Incident(IncidentArgs),
        Note(NoteArgs),
        Export(ExportArgs),
    }

    #[test]
    fn the_commands_parse_the_way_the_runbook_types_them() {
        Sitrep::command().debug_assert();
        let open = Sitrep::try_parse_from(["sitrep", "incident", "open", "--sev", "P2", "checkout 502s"]).map(|c| c.command);
        assert!(matches!(open, Ok(Top::Incident(IncidentArgs { command: IncidentCommand::Open { severity: Severity::P2, .. } }))));
        let status = Sitrep::try_parse_from(["sitrep", "incident", "status", "mitigated"]).map(|c| c.command);
        assert!(matches!(
            status,
            Ok(Top::Incident(IncidentArgs { command: IncidentCommand::Status { status: IncidentStatus::Mitigated, .. } }))
        ));
        let export = Sitrep::try_parse_from(["sitrep", "export", "--format", "json", "--out", "pm.json"]).map(|c| c.command);
        assert!(matches!(export, Ok(Top::Export(ExportArgs { format: ExportFormat::Json, out: Some(_), .. }))));
        let bad = Sitrep::try_parse_from(["sitrep", "incident", "open", "--sev", "P9", "x"]).map(|_| ()).unwrap_err().to_string();
        assert!(bad.contains("P1 (critical)"), "{bad}");
    }
}
