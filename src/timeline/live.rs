//! The console's link to the timeline: a writer thread that owns the store, so an fsync never
//! blocks the draw loop. Requests go in on a channel; what became durable comes back as Events.

use super::entry::{EntryKind, IncidentStatus, Severity, local_author};
use super::store::{LocalStore, TimelineWriter};
use crate::clock::Clock;
use crate::config::Config;
use crate::detect::Detection;
use crate::model::{Event, TimelineLine};
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
    let spawned = std::thread::Builder::new().name("sitrep-timeline".into()).spawn(move || {
        let store = match store {
            Ok(s) => s,
            Err(e) => {
                let _ = events.send(Event::TimelineProblem { error: crate::sources::clean(&e.to_string()) });
                return;
            }
        };
        run(&store, &clock, &events, rx);
    });
    if let Err(e) = spawned {
        tracing::error!("cannot start the timeline writer: {e}");
    }
    tx
}

fn run(store: &LocalStore, clock: &Clock, events: &UnboundedSender<Event>, rx: mpsc::Receiver<TimelineRequest>) {
    let author = local_author();
    let mut writer = load(store, clock, events, &author);
    for request in rx {
        let event = match (request, writer.as_mut()) {
            (TimelineRequest::Open { severity, title }, _) => match store.open_incident(clock, &author, &title, severity) {
                Ok(_) => {
                    writer = load(store, clock, events, &author);
                    continue;
                }
                Err(e) => Event::TimelineProblem { error: format!("incident NOT opened: {}", crate::sources::clean(&e.to_string())) },
            },
            (TimelineRequest::Change(kind), Some(w)) => {
                let closes = matches!(kind, EntryKind::Status { status: IncidentStatus::Resolved });
                match w.append(kind, None) {
                    Ok(a) => {
                        if closes {
                            let _ = store.clear_current_if(&a.entry.incident);
                        }
                        let id = a.entry.incident.clone();
                        writer = load(store, clock, events, &author);
                        if closes && writer.is_none() {
                            let _ = events.send(Event::TimelineProblem {
                                error: format!("incident {id} resolved; `:open P3 title` starts the next"),
                            });
                        }
                        continue;
                    }
                    Err(e) => Event::TimelineProblem { error: format!("change NOT saved: {}", crate::sources::clean(&e.to_string())) },
                }
            }
            (TimelineRequest::Change(_), None) => {
                Event::TimelineProblem { error: "no incident is open; `:open P3 title` opens one".into() }
            }
            (TimelineRequest::Note(text), Some(w)) => match w.append(EntryKind::note(&text), None) {
                Ok(a) => Event::TimelineAppended {
                    line: TimelineLine::saved(a.entry.at, a.entry.kind.describe(), "note", a.entry.id.to_string()),
                },
                Err(e) => Event::TimelineProblem { error: format!("note NOT saved: {}", crate::sources::clean(&e.to_string())) },
            },
            (TimelineRequest::Note(_), None) => Event::TimelineProblem {
                error: "note NOT saved: no incident is open; `:open P3 title` opens one (or `sitrep incident open` in a shell)".into(),
            },
            (TimelineRequest::Detected(d), Some(w)) => match w.append_at(d.at, d.to_entry_kind(), None) {
                Ok(a) => Event::TimelineAppended {
                    line: TimelineLine::saved(a.entry.at, a.entry.kind.describe(), "detected", a.entry.id.to_string()),
                },
                Err(e) => Event::TimelineProblem { error: format!("detection NOT saved: {}", crate::sources::clean(&e.to_string())) },
            },
            (TimelineRequest::Detected(d), None) => {
                Event::TimelineAppended { line: TimelineLine::unsaved(d.at, d.to_entry_kind().describe(), "detected") }
            }
        };
        if events.send(event).is_err() {
            return;
        }
    }
}

/// Loads the open incident into the console and opens a writer on it.
fn load(store: &LocalStore, clock: &Clock, events: &UnboundedSender<Event>, author: &str) -> Option<TimelineWriter> {
    let mut writer = None;
    match store.current() {
        Ok(Some(id)) => match store.read(&id) {
            Ok(read) => {
                let incident = super::incident::Incident::fold(&id, &read.entries);
                let lines = read
                    .entries
                    .iter()
                    .map(|e| TimelineLine::saved(e.at, e.kind.describe(), kind_name(&e.kind), e.id.to_string()))
                    .collect();
                let _ = events.send(Event::TimelineLoaded {
                    incident: Some(format!(
                        "{id} {} {}",
                        incident.severity.map_or_else(|| "P?".to_string(), |s| s.to_string()),
                        incident.title_or_placeholder()
                    )),
                    lines,
                });
                for w in read.warnings() {
                    let _ = events.send(Event::TimelineProblem { error: crate::sources::clean(&w) });
                }
                match TimelineWriter::open(store, &id, clock.clone(), author) {
                    Ok(w) => writer = Some(w),
                    Err(e) => {
                        let _ = events.send(Event::TimelineProblem { error: crate::sources::clean(&e.to_string()) });
                    }
                }
            }
            Err(e) => {
                let _ = events.send(Event::TimelineProblem { error: crate::sources::clean(&e.to_string()) });
            }
        },
        Ok(None) => {
            let _ = events.send(Event::TimelineLoaded { incident: None, lines: Vec::new() });
        }
        Err(e) => {
            let _ = events.send(Event::TimelineProblem { error: crate::sources::clean(&e.to_string()) });
        }
    }
    writer
}

fn kind_name(kind: &EntryKind) -> &'static str {
    match kind {
        EntryKind::Detected { .. } => "detected",
        EntryKind::Note { .. } => "note",
        EntryKind::Action { .. } => "action",
        _ => "incident",
    }
}
