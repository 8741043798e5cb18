//! The console's link to the timeline: a writer thread that owns the store, so an fsync never
//! blocks the draw loop. Requests go in on a channel; what became durable comes back as Events.

use super::adopt::open_adopting;
use super::entry::{EntryKind, IncidentStatus, Severity, local_author};
use super::estate::Estate;
use super::store::{LocalStore, TimelineWriter};
use crate::clock::Clock;
use crate::config::Config;
use crate::detect::Detection;
use crate::model::{EntryClass, Event, TimelineLine};
use std::sync::mpsc;
use tokio::sync::mpsc::UnboundedSender;

/// What the console asks of the timeline.
#[derive(Debug, Clone)]
pub enum TimelineRequest {
    /// A note typed in the editor; shown as saved only once durable.
    Note(String),
    /// A detected transition; written if an incident is open, shown as an unsaved finding if not.
    Detected(Detection),
    /// `:open P2 title`: a new incident becomes the open one.
    Open { severity: Severity, title: String },
    /// `:sev P1`, `:status mitigated`: a change recorded as an entry.
    Change(EntryKind),
    /// The open incident changed under us (another responder's incident was joined): read it again.
    Reload,
    /// `:export md|json [FILE]`: the post-mortem draft, written by its own thread (a shared store's
    /// union may take a network round trip; notes must not wait for it).
    Export { format: super::cli::ExportFormat, out: Option<std::path::PathBuf> },
}

/// Parses the console's incident commands; None if `cmd` is not one of them.
pub fn parse_command(cmd: &str) -> Option<Result<TimelineRequest, String>> {
    let (word, rest) = cmd.split_once(' ').unwrap_or((cmd, ""));
    let rest = rest.trim();
    match word {
        "open" => Some(match rest.split_once(' ') {
            Some((sev, title)) if !title.trim().is_empty() => sev
                .parse::<Severity>()
                .map(|severity| TimelineRequest::Open { severity, title: title.trim().to_string() })
                .map_err(|e| e.to_string()),
            _ => Err("usage: :open P1|P2|P3|P4 title".into()),
        }),
        "sev" | "severity" => Some(
            rest.parse::<Severity>().map(|severity| TimelineRequest::Change(EntryKind::Severity { severity })).map_err(|e| e.to_string()),
        ),
        "status" => Some(
            rest.parse::<IncidentStatus>().map(|status| TimelineRequest::Change(EntryKind::Status { status })).map_err(|e| e.to_string()),
        ),
        _ => None,
    }
}

/// Starts the writer thread; it loads the open incident's entries first.
pub fn spawn(config: &Config, clock: Clock, events: UnboundedSender<Event>) -> mpsc::Sender<TimelineRequest> {
    let (tx, rx) = mpsc::channel::<TimelineRequest>();
    let store = LocalStore::from_config(config);
    let estate = Estate::from_config(config);
    // How far back `:open` adopts the findings kept while no incident was open.
    let look_back = config.timeline.look_back();
    let events_for_sync = events.clone();
    let for_exports = config.clone();
    let spawned = std::thread::Builder::new().name("sitrep-timeline".into()).spawn(move || {
        let store = match store {
            Ok(s) => s,
            Err(e) => {
                let _ = events.send(Event::TimelineProblem { error: crate::sanitize::clean(&e.to_string()) });
                return;
            }
        };
        run(&store, &clock, &estate, &events, rx, look_back, &for_exports);
    });
    if let Err(e) = spawned {
        tracing::error!("cannot start the timeline writer: {e}");
    }
    if config.timeline.shared() {
        spawn_sync(config, events_for_sync, tx.clone());
    }
    tx
}

fn run(
    store: &LocalStore,
    clock: &Clock,
    estate: &Estate,
    events: &UnboundedSender<Event>,
    rx: mpsc::Receiver<TimelineRequest>,
    look_back: chrono::Duration,
    config: &Config,
) {
    let author = local_author();
    let scope = estate.key();
    // Findings made while no incident is open: kept here, adopted by the next `:open`.
    let mut unattached: Option<TimelineWriter> = None;
    // The writer, and the open incident as last loaded: another process may open, resolve or write to one.
    let (mut writer, mut loaded) = load(store, clock, events, &author, estate, look_back);
    loop {
        let request = match rx.recv_timeout(FOLLOW_EVERY) {
            Ok(r) => r,
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let current = store.current().ok().flatten();
                if current != loaded || writer.as_mut().is_some_and(TimelineWriter::others_wrote) {
                    (writer, loaded) = load(store, clock, events, &author, estate, look_back);
                }
                continue;
            }
        };
        let event = match (request, writer.as_mut()) {
            (TimelineRequest::Export { format, out }, _) => {
                export_in_background(config, format, out, events.clone());
                continue;
            }
            (TimelineRequest::Reload, _) => {
                (writer, loaded) = load(store, clock, events, &author, estate, look_back);
                continue;
            }
            (TimelineRequest::Open { severity, title }, _) => {
                match open_adopting(store, estate, clock, &author, &title, severity, look_back) {
                    Ok(done) => {
                        // The journal writer would re-scan a file another process may have grown.
                        unattached = None;
                        (writer, loaded) = load(store, clock, events, &author, estate, look_back);
                        for w in &done.warnings {
                            let _ = events.send(Event::TimelineProblem { error: crate::sanitize::clean(w) });
                        }
                        if !done.adopted.is_empty() {
                            let _ = events.send(Event::TimelineNotice { text: done.summary(look_back) });
                        }
                        continue;
                    }
                    Err(e) => Event::TimelineProblem { error: format!("incident NOT opened: {}", crate::sanitize::clean(&e.to_string())) },
                }
            }
            (TimelineRequest::Change(kind), Some(w)) => {
                let closes = matches!(kind, EntryKind::Status { status: IncidentStatus::Resolved });
                match w.append(kind, None) {
                    Ok(a) => {
                        if closes {
                            let _ = store.clear_current_if(&a.entry.incident);
                        }
                        let id = a.entry.incident.clone();
                        (writer, loaded) = load(store, clock, events, &author, estate, look_back);
                        if closes && writer.is_none() {
                            let _ = events
                                .send(Event::TimelineNotice { text: format!("incident {id} resolved; `:open P3 title` starts the next") });
                        }
                        continue;
                    }
                    Err(e) => Event::TimelineProblem { error: format!("change NOT saved: {}", crate::sanitize::clean(&e.to_string())) },
                }
            }
            (TimelineRequest::Change(_), None) => {
                Event::TimelineProblem { error: "no incident is open; `:open P3 title` opens one".into() }
            }
            (TimelineRequest::Note(text), Some(w)) => match w.append(EntryKind::note(&text), None) {
                Ok(a) => Event::TimelineAppended {
                    line: TimelineLine::saved(a.entry.at, a.entry.kind.describe(), EntryClass::Note, a.entry.id.to_string()),
                },
                Err(e) => Event::TimelineProblem { error: format!("note NOT saved: {}", crate::sanitize::clean(&e.to_string())) },
            },
            (TimelineRequest::Note(_), None) => Event::TimelineProblem {
                error: "note NOT saved: no incident is open; `:open P3 title` opens one (or `sitrep incident open` in a shell)".into(),
            },
            (TimelineRequest::Detected(d), Some(w)) => match w.append_at(d.at, crate::timeline::EntryKind::from(&d), None) {
                Ok(a) => Event::TimelineAppended {
                    line: TimelineLine::saved(a.entry.at, a.entry.kind.describe(), EntryClass::Detected, a.entry.id.to_string()),
                },
                Err(e) => Event::TimelineProblem { error: format!("detection NOT saved: {}", crate::sanitize::clean(&e.to_string())) },
            },
            (TimelineRequest::Detected(d), None) => {
                // Kept durably outside any incident (the line stays marked unsaved: it is in no
                // incident yet); the next `:open` or `sitrep incident open` adopts it.
                if let Err(e) =
                    super::adopt::keep(&mut unattached, store, &scope, clock, &author, d.at, crate::timeline::EntryKind::from(&d))
                {
                    unattached = None;
                    let _ = events.send(Event::TimelineProblem {
                        error: format!("finding NOT kept for the next :open: {}", crate::sanitize::clean(&e.to_string())),
                    });
                }
                Event::TimelineAppended {
                    line: TimelineLine::unsaved(d.at, crate::timeline::EntryKind::from(&d).describe(), EntryClass::Detected),
                }
            }
        };
        if events.send(event).is_err() {
            return;
        }
    }
}

/// Writes the post-mortem draft on its own thread and says where it went (or why not).
fn export_in_background(
    config: &Config,
    format: super::cli::ExportFormat,
    out: Option<std::path::PathBuf>,
    events: UnboundedSender<Event>,
) {
    let config = config.clone();
    let spawned = std::thread::Builder::new().name("sitrep-export".into()).spawn(move || {
        let event = match super::cli::export_file(&config, format, out) {
            Ok(text) => Event::TimelineNotice { text: crate::sanitize::clean(&text) },
            Err(e) => Event::TimelineProblem { error: format!("export NOT written: {}", crate::sanitize::clean(&format!("{e:#}"))) },
        };
        let _ = events.send(event);
    });
    if let Err(e) = spawned {
        tracing::error!("cannot start the export: {e}");
    }
}

/// How often the writer thread looks for entries and incidents written by other processes.
const FOLLOW_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// Loads the open incident into the console and opens a writer on it; returns the writer and the
/// incident the store named as open (the writer thread compares it to notice another process's).
fn load(
    store: &LocalStore,
    clock: &Clock,
    events: &UnboundedSender<Event>,
    author: &str,
    estate: &Estate,
    look_back: chrono::Duration,
) -> (Option<TimelineWriter>, Option<super::IncidentId>) {
    let current = store.current();
    let loaded = current.as_ref().ok().and_then(Clone::clone);
    let mut writer = None;
    match current {
        Ok(Some(id)) => match store.read(&id) {
            Ok(read) => {
                let incident = super::incident::Incident::fold(&id, &read.entries);
                if !estate.admits(incident.estate.as_ref()) {
                    // Never joined: this console's findings go to its own journal until `:open`.
                    let _ = events.send(Event::TimelineLoaded { incident: None, lines: Vec::new() });
                    let refused = super::estate::OtherEstate { id, theirs: incident.estate.unwrap_or_default(), mine: estate.clone() };
                    let _ = events.send(Event::TimelineProblem { error: crate::sanitize::clean(&refused.to_string()) });
                    return (None, loaded);
                }
                let lines = read
                    .entries
                    .iter()
                    .map(|e| TimelineLine::saved(e.at, described(e, author), e.kind.class(), e.id.to_string()))
                    .collect();
                let _ = events.send(Event::TimelineLoaded {
                    // What the header shows: id, severity, status (the work's stage), title.
                    incident: Some(format!(
                        "{id} {} {} · {}",
                        incident.severity.map_or_else(|| "P?".to_string(), |s| s.to_string()),
                        incident.status.name().to_uppercase(),
                        incident.title_or_placeholder()
                    )),
                    lines,
                });
                for w in read.warnings() {
                    let _ = events.send(Event::TimelineProblem { error: crate::sanitize::clean(&w) });
                }
                match TimelineWriter::open(store, &id, clock.clone(), author) {
                    Ok(w) => writer = Some(w),
                    Err(e) => {
                        let _ = events.send(Event::TimelineProblem { error: crate::sanitize::clean(&e.to_string()) });
                    }
                }
            }
            Err(e) => {
                let _ = events.send(Event::TimelineProblem { error: crate::sanitize::clean(&e.to_string()) });
            }
        },
        Ok(None) => {
            // What `:open` would adopt, so a restarted console still shows the findings it kept.
            let now = clock.now();
            let kept =
                store.read_unattached(&estate.key()).map(|r| super::adopt::select(&r.entries, now - look_back, now)).unwrap_or_default();
            let lines = kept.iter().map(|e| TimelineLine::unsaved(e.at, e.kind.describe(), EntryClass::Detected)).collect();
            let _ = events.send(Event::TimelineLoaded { incident: None, lines });
        }
        Err(e) => {
            let _ = events.send(Event::TimelineProblem { error: crate::sanitize::clean(&e.to_string()) });
        }
    }
    (writer, loaded)
}

/// An entry as a timeline line: someone else's carries their user@host.
fn described(e: &super::entry::TimelineEntry, me: &str) -> String {
    if e.author == me { e.kind.describe() } else { format!("{}: {}", e.author, e.kind.describe()) }
}

/// How often the sync thread looks for local entries to push (pulls come at once, by NOTIFY).
const SYNC_ROUND: std::time::Duration = std::time::Duration::from_millis(400);
/// The database is asked for news without a NOTIFY this often, as a backstop.
const FULL_PULL_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// Starts the shared-timeline sync on its own thread and runtime: local file IO and a slow or
/// dead database never touch the draw loop. It reports its state as `Event::TimelineSync`.
fn spawn_sync(config: &Config, events: UnboundedSender<Event>, writer: mpsc::Sender<TimelineRequest>) {
    let cfg = config.timeline.clone();
    let timeout = std::time::Duration::from_secs(config.general.timeout_secs.max(1));
    let store = match LocalStore::from_config(config) {
        Ok(s) => s,
        Err(_) => return, // the writer thread reports it
    };
    let estate = Estate::from_config(config);
    let spawned = std::thread::Builder::new().name("sitrep-timeline-sync".into()).spawn(move || {
        let _ = super::shared::block_on(sync_loop(cfg, timeout, store, estate, events, writer));
    });
    if let Err(e) = spawned {
        tracing::error!("cannot start the shared timeline sync: {e}");
    }
}

async fn sync_loop(
    cfg: crate::config::TimelineStoreConfig,
    timeout: std::time::Duration,
    store: LocalStore,
    estate: Estate,
    events: UnboundedSender<Event>,
    writer: mpsc::Sender<TimelineRequest>,
) {
    use super::shared::{Cursor, Shared};
    use crate::model::SyncStatus;
    let author = local_author();
    let mut backoff = std::time::Duration::from_millis(500);
    let mut offline_since: Option<chrono::DateTime<chrono::Utc>> = None;
    let mut last: Option<SyncStatus> = None;
    let mut report = |status: SyncStatus| -> bool {
        if last.as_ref() != Some(&status) {
            last = Some(status.clone());
            return events.send(Event::TimelineSync { status }).is_ok();
        }
        !events.is_closed()
    };
    loop {
        let error = match Shared::connect(&cfg, timeout, true).await {
            Ok(mut shared) => {
                backoff = std::time::Duration::from_millis(500);
                offline_since = None;
                let mut cursor = Cursor::default();
                let mut last_full_pull = std::time::Instant::now();
                let mut notes = shared.notifications.take();
                // Entries written while offline, in any incident, go first.
                let mut error = match shared.sync_all(&store, &mut cursor).await {
                    Ok(done) => {
                        warn_all(&events, done.iter().flat_map(|(_, r)| r.warnings.iter()));
                        let current = store.current().ok().flatten();
                        if done.iter().any(|(id, r)| Some(id) == current.as_ref() && !r.pulled.is_empty()) {
                            let _ = writer.send(TimelineRequest::Reload);
                        }
                        None
                    }
                    Err(e) => Some(e),
                };
                // Whether the database may have news (a NOTIFY, the backstop, or just connected).
                let mut news = true;
                while error.is_none() {
                    match round(&mut shared, &store, Me { estate: &estate, author: &author }, &mut cursor, &events, &writer, news).await {
                        Ok(()) => {
                            // After a round everything written before it is in the database; what
                            // comes after is pushed by the next round, within SYNC_ROUND.
                            if !report(SyncStatus { online: true, since: None, error: None, unsynced: Vec::new() }) {
                                return;
                            }
                        }
                        Err(e) => {
                            error = Some(e);
                            break;
                        }
                    }
                    // Wake on another responder's entry, or look for our own after a short while.
                    let mut named = Vec::new();
                    let link = match notes.as_mut() {
                        Some(rx) => tokio::select! {
                            n = rx.recv() => match n {
                                Some(id) => {
                                    named.push(id);
                                    while let Ok(more) = rx.try_recv() {
                                        named.push(more);
                                    }
                                    true
                                }
                                None => false,
                            },
                            () = tokio::time::sleep(SYNC_ROUND) => true,
                        },
                        None => {
                            tokio::time::sleep(SYNC_ROUND).await;
                            true
                        }
                    };
                    news = !named.is_empty();
                    for id in named.iter().filter_map(|n| n.parse::<super::entry::IncidentId>().ok()) {
                        cursor.invalidate(&id);
                    }
                    if last_full_pull.elapsed() >= FULL_PULL_EVERY {
                        cursor.invalidate_all();
                        last_full_pull = std::time::Instant::now();
                        news = true;
                    }
                    if !link {
                        error = Some(super::shared::SharedError::Unreachable("the connection was lost".into()));
                    } else if let Err(e) = others(&mut shared, &store, &mut cursor, &events, named).await {
                        error = Some(e);
                    }
                }
                error.map(|e| e.to_string()).unwrap_or_default()
            }
            Err(e) => e.to_string(),
        };
        let since = *offline_since.get_or_insert_with(chrono::Utc::now);
        tracing::warn!("shared timeline offline: {error}");
        let unsynced = current_unsynced(&store);
        if !report(SyncStatus { online: false, since: Some(since), error: Some(crate::sanitize::clean(&error)), unsynced }) {
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(std::time::Duration::from_secs(4));
    }
}

/// Who this console is: the estate it watches and the author of its entries.
#[derive(Clone, Copy)]
struct Me<'a> {
    estate: &'a Estate,
    author: &'a str,
}

/// One sync of the open incident; joins another responder's open incident when none is open here.
async fn round(
    shared: &mut super::shared::Shared,
    store: &LocalStore,
    me: Me<'_>,
    cursor: &mut super::shared::Cursor,
    events: &UnboundedSender<Event>,
    writer: &mpsc::Sender<TimelineRequest>,
    news: bool,
) -> Result<(), super::shared::SharedError> {
    let Me { estate, author } = me;
    let current = store.current()?;
    let Some(id) = current else {
        if !news {
            return Ok(());
        }
        let open: Vec<_> =
            shared.incidents().await?.into_iter().filter(|(_, opened, resolved)| super::shared::joinable(*opened, *resolved)).collect();
        for (id, _, _) in open {
            shared.sync_incident(store, &id, cursor).await?;
            // Only an incident about this console's estate is joined.
            let about = super::incident::Incident::fold(&id, &store.read(&id)?.entries).estate;
            if !estate.admits(about.as_ref()) {
                continue;
            }
            store.set_current(&id)?;
            // The reload shows it, with the other responders' names on their entries.
            tracing::info!("joined incident {id}, opened by another responder");
            let _ = writer.send(TimelineRequest::Reload);
            break;
        }
        return Ok(());
    };
    let done = shared.sync_incident(store, &id, cursor).await?;
    warn_all(events, done.warnings.iter());
    for e in done.pulled {
        let line = TimelineLine::saved(e.at, described(&e, author), e.kind.class(), e.id.to_string());
        let _ = events.send(Event::TimelineAppended { line });
    }
    Ok(())
}

/// Incidents other than the open one that NOTIFY named: kept up to date here too (so `incident
/// list` and a later switch see them whole); one this machine had never seen is announced.
async fn others(
    shared: &mut super::shared::Shared,
    store: &LocalStore,
    cursor: &mut super::shared::Cursor,
    events: &UnboundedSender<Event>,
    mut named: Vec<String>,
) -> Result<(), super::shared::SharedError> {
    named.sort();
    named.dedup();
    let current = store.current()?;
    for raw in named {
        let Ok(id) = raw.parse::<super::entry::IncidentId>() else { continue };
        if current.as_ref() == Some(&id) {
            continue;
        }
        let new_here = !store.path_of(&id).is_file();
        shared.sync_incident(store, &id, cursor).await?;
        if new_here && current.is_some() {
            let read = store.read(&id)?;
            let inc = super::incident::Incident::fold(&id, &read.entries);
            let by = read.entries.first().map(|e| e.author.clone()).unwrap_or_default();
            let _ = events.send(Event::TimelineProblem {
                error: crate::sanitize::clean(&format!(
                    "another incident was opened by {by}: {id} {} {}; this console stays on its own (`sitrep incident list`)",
                    inc.severity.map_or_else(|| "P?".to_string(), |s| s.to_string()),
                    inc.title_or_placeholder()
                )),
            });
        }
    }
    Ok(())
}

fn current_unsynced(store: &LocalStore) -> Vec<String> {
    match store.current() {
        Ok(Some(id)) => super::shared::unsynced(store, &id).map(|v| v.iter().map(ToString::to_string).collect()).unwrap_or_default(),
        _ => Vec::new(),
    }
}

fn warn_all<'a>(events: &UnboundedSender<Event>, warnings: impl Iterator<Item = &'a String>) {
    for w in warnings {
        tracing::warn!("shared timeline: {w}");
        let _ = events.send(Event::TimelineProblem { error: crate::sanitize::clean(w) });
    }
}
