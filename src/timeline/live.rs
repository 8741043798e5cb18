//! The console's link to the timeline: a writer thread that owns the store, so an fsync never
//! blocks the draw loop. Requests go in on a channel; what became durable comes back as Events.

use super::entry::{EntryKind, local_author};
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
                match TimelineWriter::open(store, &id, clock.clone(), &author) {
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
    for request in rx {
        let event = match (request, writer.as_mut()) {
            (TimelineRequest::Note(text), Some(w)) => match w.append(EntryKind::note(&text), None) {
                Ok(a) => Event::TimelineAppended {
                    line: TimelineLine::saved(a.entry.at, a.entry.kind.describe(), "note", a.entry.id.to_string()),
                },
                Err(e) => Event::TimelineProblem { error: format!("note NOT saved: {}", crate::sources::clean(&e.to_string())) },
            },
            (TimelineRequest::Note(_), None) => Event::TimelineProblem {
                error: "note NOT saved: no incident is open; run `sitrep incident open --sev P3 \"title\"` in a shell".into(),
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

fn kind_name(kind: &EntryKind) -> &'static str {
    match kind {
        EntryKind::Detected { .. } => "detected",
        EntryKind::Note { .. } => "note",
        EntryKind::Action { .. } => "action",
        _ => "incident",
    }
}
