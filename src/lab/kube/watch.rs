//! Watches: newline-delimited `{"type":...,"object":...}` events from a resourceVersion, with
//! BOOKMARKs, `410 Gone` for compacted versions, `timeoutSeconds`, and Table-encoded objects for kubectl.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use super::error::KubeStandInError;
use super::meta;
use super::resources::ResourceType;
use super::selector::{FieldSelector, LabelSelector};
use super::store::{ChangeRecord, Cluster};
use super::table::{self, RowObject};

/// What a watch request asked for.
pub(crate) struct WatchRequest {
    pub rt: &'static ResourceType,
    pub namespace: Option<String>,
    pub resource_version: Option<String>,
    pub labels: LabelSelector,
    pub fields: FieldSelector,
    pub bookmarks: bool,
    pub send_initial_events: bool,
    pub timeout: Option<Duration>,
    /// Some when the client asked for Table-encoded objects.
    pub table: Option<RowObject>,
}

impl WatchRequest {
    fn wants(&self, resource: &str, obj: &Value) -> bool {
        resource == self.rt.plural
            && (!self.rt.namespaced || self.namespace.as_deref().is_none_or(|ns| ns == meta::namespace(obj)))
            && self.labels.matches(obj)
            && self.fields.matches(obj)
    }

    fn encode(&self, kind: &str, obj: &Value, rv: u64) -> Bytes {
        let object = match self.table {
            Some(include) => table::table(self.rt, &[obj], rv, include),
            None => obj.clone(),
        };
        let mut line = json!({"type": kind, "object": object}).to_string();
        line.push('\n');
        Bytes::from(line)
    }

    fn bookmark(&self, rv: u64, initial_events_end: bool) -> Bytes {
        let mut metadata = json!({"resourceVersion": rv.to_string()});
        if initial_events_end {
            metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let object = json!({"kind": self.rt.kind, "apiVersion": self.rt.api_version(), "metadata": metadata});
        Bytes::from(json!({"type": "BOOKMARK", "object": object}).to_string() + "\n")
    }
}

type Chunk = Result<Bytes, std::convert::Infallible>;

/// Starts a watch and returns its streaming response (HTTP 200; errors arrive as ERROR events).
pub(crate) fn watch(cluster: &Cluster, request: WatchRequest, stop: CancellationToken, bookmark_every: Duration) -> Response {
    let (tx, rx) = mpsc::channel::<Chunk>(256);
    let mut opening = Vec::new();
    let mut initial_rv = None;
    let subscription = {
        let state = cluster.lock();
        let from: Result<Option<u64>, KubeStandInError> = match request.resource_version.as_deref() {
            None | Some("") | Some("0") => Ok(None),
            Some(text) => text
                .parse::<u64>()
                .map(Some)
                .map_err(|_| KubeStandInError::BadRequest(format!("invalid resourceVersion {text:?}: not a number"))),
        };
        let now_rv = state.resource_version();
        from.and_then(|from| {
            let (past, live) = state.changes_since(request.rt, from.unwrap_or(now_rv))?;
            let initial = from.is_none() || request.send_initial_events;
            if initial {
                // Shared handles only: filtering and encoding happen in the streamer, off the lock.
                opening = state.list_shared(request.rt, request.namespace.as_deref());
                initial_rv = Some(now_rv);
            }
            // After a synthetic initial state, older retained changes are already reflected in it.
            let since = if initial { now_rv } else { from.unwrap_or(now_rv) };
            Ok((past, live, since))
        })
    };
    match subscription {
        Ok((past, live, since)) => {
            let streamer = Streamer { request, tx, last_rv: since, bookmark_every };
            tokio::spawn(streamer.run(Opening { objects: opening, rv: initial_rv }, past, live, stop));
        }
        Err(e) => {
            let line = json!({"type": "ERROR", "object": e.to_status()}).to_string() + "\n";
            // The receiver is still held below, so this cannot fail for lack of a reader.
            let _ = tx.try_send(Ok(Bytes::from(line)));
        }
    }
    let body = Body::from_stream(futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|chunk| (chunk, rx)) }));
    Response::builder().status(StatusCode::OK).header(header::CONTENT_TYPE, "application/json").body(body).unwrap_or_default()
}

/// The synthetic initial state of a watch: the objects as of `rv` (None when not asked for).
struct Opening {
    objects: Vec<Arc<Value>>,
    rv: Option<u64>,
}

struct Streamer {
    request: WatchRequest,
    tx: mpsc::Sender<Chunk>,
    last_rv: u64,
    bookmark_every: Duration,
}

impl Streamer {
    async fn run(
        mut self,
        opening: Opening,
        past: Vec<Arc<ChangeRecord>>,
        mut live: broadcast::Receiver<Arc<ChangeRecord>>,
        stop: CancellationToken,
    ) {
        if let Some(rv) = opening.rv {
            for obj in opening.objects.iter().filter(|o| self.request.wants(self.request.rt.plural, o)) {
                if self.tx.send(Ok(self.request.encode("ADDED", obj, rv))).await.is_err() {
                    return;
                }
            }
            if self.request.send_initial_events && self.tx.send(Ok(self.request.bookmark(rv, true))).await.is_err() {
                return;
            }
        }
        for record in past {
            if !self.forward(&record).await {
                return;
            }
        }
        let deadline = tokio::time::sleep(self.request.timeout.unwrap_or(Duration::from_secs(1800)));
        tokio::pin!(deadline);
        let mut bookmarks = tokio::time::interval(self.bookmark_every);
        bookmarks.tick().await;
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = &mut deadline => return,
                _ = self.tx.closed() => return,
                _ = bookmarks.tick(), if self.request.bookmarks && self.request.table.is_none() => {
                    let bookmark = self.request.bookmark(self.last_rv, false);
                    if self.tx.send(Ok(bookmark)).await.is_err() {
                        return;
                    }
                }
                received = live.recv() => match received {
                    Ok(record) => {
                        if !self.forward(&record).await {
                            return;
                        }
                    }
                    // A watcher too slow for the history channel ends; clients re-watch from their last version.
                    Err(_) => return,
                },
            }
        }
    }

    /// Sends one change if the watch wants it; false when the client has gone.
    async fn forward(&mut self, record: &ChangeRecord) -> bool {
        if record.rv <= self.last_rv {
            return true;
        }
        self.last_rv = record.rv;
        if !self.request.wants(record.resource, &record.object) {
            return true;
        }
        let chunk = self.request.encode(record.change.as_str(), &record.object, record.rv);
        self.tx.send(Ok(chunk)).await.is_ok()
    }
}
