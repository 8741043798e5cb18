//! The shared timeline: the same incidents in a PostgreSQL database, so every responder's console
//! shows every responder's entries within a second (LISTEN/NOTIFY).
//!
//! Local files stay the durable record: an entry is acknowledged once it is fsynced locally
//! (store.rs). Pushing it here is idempotent — its UUID is the primary key, `ON CONFLICT DO
//! NOTHING` — so a retry after a lost acknowledgement never duplicates it. Pulling writes other
//! responders' entries into the local file with their own ids, skipping ids already there. While
//! the database is unreachable, entries wait locally and count as unsynced; the next sync pushes
//! them. sitrep creates and migrates its own schema, under an advisory lock.

use super::entry::{EntryKind, IncidentId, IncidentStatus, TimelineEntry};
use super::store::{LocalStore, StoreError, TimelineWriter};
use crate::clock::Clock;
use crate::config::TimelineStoreConfig;
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_postgres::Client;
use uuid::Uuid;

/// The schema version this sitrep writes and understands.
pub const SCHEMA_VERSION: i32 = 1;

/// Any 64-bit number that other applications are unlikely to use for an advisory lock.
const MIGRATION_LOCK: i64 = 0x5173_7265_7074_6c31;

/// Migrations, in order; `{s}` is the schema. Never edit a shipped one: add the next.
const MIGRATIONS: &[(i32, &str)] = &[(
    1,
    r"
CREATE TABLE {s}.incidents (
    id           text PRIMARY KEY,
    opened_entry uuid NOT NULL,
    opened_at    timestamptz NOT NULL,
    opened_by    text NOT NULL,
    title        text NOT NULL,
    resolved     boolean NOT NULL DEFAULT false
);
CREATE TABLE {s}.entries (
    id          uuid PRIMARY KEY,
    seq         bigserial NOT NULL UNIQUE,
    incident    text NOT NULL,
    at          timestamptz NOT NULL,
    author      text NOT NULL,
    record      jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX entries_incident_seq ON {s}.entries (incident, seq);
CREATE FUNCTION {s}.notify_entry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{s}_timeline', NEW.incident);
    RETURN NULL;
END $$;
CREATE TRIGGER entries_notify AFTER INSERT ON {s}.entries FOR EACH ROW EXECUTE FUNCTION {s}.notify_entry();
",
)];

#[derive(Debug, thiserror::Error)]
pub enum SharedError {
    #[error("the shared timeline database is unreachable: {0}")]
    Unreachable(String),
    #[error("the shared timeline database did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the shared timeline database refused a query: {0}")]
    Query(String),
    #[error(
        "the shared timeline schema `{schema}` is at version {found}, newer than this sitrep understands ({SCHEMA_VERSION}); upgrade sitrep here (entries stay local and unsynced meanwhile)"
    )]
    NewerSchema { schema: String, found: i32 },
    #[error(transparent)]
    Local(#[from] StoreError),
}

impl From<tokio_postgres::Error> for SharedError {
    fn from(e: tokio_postgres::Error) -> Self {
        if e.is_closed() {
            return SharedError::Unreachable("the connection was lost".into());
        }
        // The server's message is the useful part (`db error: ERROR: …` says little on its own).
        SharedError::Query(crate::backends::postgres::server_words(&e))
    }
}

impl SharedError {
    /// The link is gone (reconnect) rather than a query being refused.
    pub fn is_link(&self) -> bool {
        matches!(self, SharedError::Unreachable(_) | SharedError::Timeout(_))
    }
}

/// An open connection to the shared store.
pub struct Shared {
    client: Client,
    schema: String,
    timeout: Duration,
    /// Incident ids named by NOTIFY; closed when the connection is lost.
    pub notifications: Option<mpsc::UnboundedReceiver<String>>,
}

/// What a sync of one incident did.
#[derive(Debug, Default, Clone)]
pub struct SyncReport {
    pub pushed: usize,
    /// Other responders' entries now written locally.
    pub pulled: Vec<TimelineEntry>,
    /// Something people should know (an incident id opened twice while apart, an unreadable row).
    pub warnings: Vec<String>,
}

/// What this process already knows of the database, so a round only moves what is new.
#[derive(Debug, Default)]
pub struct Cursor {
    seq: HashMap<IncidentId, i64>,
    remote: HashMap<IncidentId, HashSet<Uuid>>,
    local_len: HashMap<IncidentId, u64>,
    /// Incidents pulled since the database last said (NOTIFY) they have news: no need to ask.
    fresh: HashSet<IncidentId>,
}

impl Cursor {
    /// The database has news for `id` (NOTIFY named it): the next sync pulls it.
    pub fn invalidate(&mut self, id: &IncidentId) {
        self.fresh.remove(id);
    }

    /// Pull everything on the next sync (a backstop should a notification ever be missed).
    pub fn invalidate_all(&mut self) {
        self.fresh.clear();
    }
}

async fn within<T>(timeout: Duration, f: impl std::future::Future<Output = Result<T, SharedError>>) -> Result<T, SharedError> {
    tokio::time::timeout(timeout, f).await.unwrap_or(Err(SharedError::Timeout(timeout)))
}

impl Shared {
    /// Connects, creates or migrates the schema, and (with `listen`) subscribes to new entries.
    pub async fn connect(cfg: &TimelineStoreConfig, timeout: Duration, listen: bool) -> Result<Shared, SharedError> {
        // The notification channel closes with the connection: the sync loop sees the link is gone.
        let connected = crate::backends::postgres::connect(&cfg.dsn, timeout).await.map_err(|e| match e {
            crate::backends::BackendError::Timeout { .. } => SharedError::Timeout(timeout),
            other => SharedError::Unreachable(other.to_string()),
        })?;
        let crate::backends::postgres::Connected { client, notifications } = connected;
        let mut shared = Shared { client, schema: cfg.schema.clone(), timeout, notifications: Some(notifications) };
        within(timeout, shared.migrate()).await?;
        if listen {
            let sql = format!("LISTEN {}_timeline", shared.schema);
            within(timeout, async { shared.client.batch_execute(&sql).await.map_err(SharedError::from) }).await?;
        }
        Ok(shared)
    }

    /// Creates the schema or brings it to [`SCHEMA_VERSION`]; refuses a newer one.
    async fn migrate(&mut self) -> Result<(), SharedError> {
        let s = self.schema.clone();
        let tx = self.client.transaction().await?;
        tx.query("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
        tx.batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {s}; CREATE TABLE IF NOT EXISTS {s}.meta (key text PRIMARY KEY, value text NOT NULL)"
        ))
        .await?;
        let found: i32 = tx
            .query_opt(&format!("SELECT value FROM {s}.meta WHERE key = 'schema_version'"), &[])
            .await?
            .and_then(|row| row.get::<_, String>(0).parse().ok())
            .unwrap_or(0);
        if found > SCHEMA_VERSION {
            return Err(SharedError::NewerSchema { schema: s, found });
        }
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > found) {
            tx.batch_execute(&sql.replace("{s}", &s)).await?;
            tx.execute(
                &format!(
                    "INSERT INTO {s}.meta (key, value) VALUES ('schema_version', $1) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
                ),
                &[&version.to_string()],
            )
            .await?;
            tracing::info!("shared timeline: schema {s} migrated to version {version}");
        }
        tx.commit().await?;
        Ok(())
    }

    /// Inserts entries that are not there yet, in one transaction; returns how many were new.
    pub async fn push(&mut self, entries: &[TimelineEntry]) -> Result<(usize, Vec<String>), SharedError> {
        let timeout = self.timeout.max(Duration::from_secs(1)) * 4;
        within(timeout, self.push_inner(entries)).await
    }

    async fn push_inner(&mut self, entries: &[TimelineEntry]) -> Result<(usize, Vec<String>), SharedError> {
        let s = self.schema.clone();
        let tx = self.client.transaction().await?;
        let insert = tx
            .prepare(&format!(
                "INSERT INTO {s}.entries (id, incident, at, author, record) VALUES ($1::text::uuid, $2, $3, $4, $5::text::jsonb) ON CONFLICT (id) DO NOTHING"
            ))
            .await?;
        let mut new = 0;
        let mut warnings = Vec::new();
        for e in entries {
            let record = serde_json::to_string(e).map_err(|err| SharedError::Query(format!("cannot encode entry {}: {err}", e.id)))?;
            new += tx.execute(&insert, &[&e.id.to_string(), &e.incident.as_str(), &e.at, &e.author, &record]).await? as usize;
            match &e.kind {
                EntryKind::Opened { title, .. } => {
                    let claimed = tx
                        .execute(
                            &format!(
                                "INSERT INTO {s}.incidents (id, opened_entry, opened_at, opened_by, title) VALUES ($1, $2::text::uuid, $3, $4, $5) ON CONFLICT (id) DO NOTHING"
                            ),
                            &[&e.incident.as_str(), &e.id.to_string(), &e.at, &e.author, title],
                        )
                        .await?;
                    if claimed == 0 {
                        let first: Option<String> = tx
                            .query_opt(&format!("SELECT opened_entry::text FROM {s}.incidents WHERE id = $1"), &[&e.incident.as_str()])
                            .await?
                            .map(|r| r.get(0));
                        if first.is_some_and(|f| f != e.id.to_string()) {
                            warnings.push(format!(
                                "incident {} was also opened elsewhere while this machine could not reach the shared store; both timelines are now one, under {}",
                                e.incident, e.incident
                            ));
                        }
                    }
                }
                EntryKind::Status { status } => {
                    tx.execute(
                        &format!("UPDATE {s}.incidents SET resolved = $2 WHERE id = $1"),
                        &[&e.incident.as_str(), &(*status == IncidentStatus::Resolved)],
                    )
                    .await?;
                }
                _ => {}
            }
        }
        tx.commit().await?;
        Ok((new, warnings))
    }

    /// Entries of `incident` after `seq`, in the order the database received them.
    pub async fn fetch_after(&self, incident: &IncidentId, seq: i64) -> Result<(Vec<(i64, TimelineEntry)>, Vec<String>), SharedError> {
        let sql = format!("SELECT seq, record::text FROM {}.entries WHERE incident = $1 AND seq > $2 ORDER BY seq", self.schema);
        let rows =
            within(self.timeout.max(Duration::from_secs(1)) * 4, async { Ok(self.client.query(&sql, &[&incident.as_str(), &seq]).await?) })
                .await?;
        let mut out = Vec::with_capacity(rows.len());
        let mut warnings = Vec::new();
        for row in rows {
            let seq: i64 = row.get(0);
            let text: String = row.get(1);
            match serde_json::from_str::<TimelineEntry>(&text) {
                Ok(e) if e.incident == *incident => out.push((seq, e)),
                Ok(e) => warnings.push(format!("shared row {seq} says incident {} but is filed under {incident}; skipped", e.incident)),
                Err(err) => warnings.push(format!(
                    "shared row {seq} of {incident} is not an entry this sitrep can read ({err}); written by a newer sitrep? It stays in the database"
                )),
            }
        }
        Ok((out, warnings))
    }

    /// Incidents in the database: (id, opened at, resolved), newest first.
    pub async fn incidents(&self) -> Result<Vec<(IncidentId, DateTime<Utc>, bool)>, SharedError> {
        let sql = format!("SELECT id, opened_at, resolved FROM {}.incidents ORDER BY opened_at DESC", self.schema);
        let rows = within(self.timeout, async { Ok(self.client.query(&sql, &[]).await?) }).await?;
        Ok(rows.iter().filter_map(|r| r.get::<_, String>(0).parse().ok().map(|id| (id, r.get(1), r.get(2)))).collect())
    }

    /// Brings one incident's local file and the database to the same set of entries: pulls what
    /// others wrote (merged locally, never twice; skipped while the cursor knows there is nothing
    /// new), pushes what is only here (skipped while the local file has not grown).
    pub async fn sync_incident(&mut self, store: &LocalStore, id: &IncidentId, cursor: &mut Cursor) -> Result<SyncReport, SharedError> {
        let mut report = SyncReport::default();
        let fetched = if cursor.fresh.contains(id) {
            Vec::new()
        } else {
            let after = cursor.seq.get(id).copied().unwrap_or(0);
            let (fetched, warnings) = self.fetch_after(id, after).await?;
            report.warnings.extend(warnings);
            cursor.fresh.insert(id.clone());
            fetched
        };
        let remote = cursor.remote.entry(id.clone()).or_default();
        if let Some((last, _)) = fetched.last() {
            cursor.seq.insert(id.clone(), *last);
        }
        remote.extend(fetched.iter().map(|(_, e)| e.id));
        let local_len = std::fs::metadata(store.path_of(id)).map(|m| m.len()).ok();
        if fetched.is_empty() && local_len.is_some() && cursor.local_len.get(id) == local_len.as_ref() {
            return Ok(report);
        }
        store.adopt(id)?;
        let read = store.read(id)?;
        let local: HashSet<Uuid> = read.entries.iter().map(|e| e.id).collect();
        let incoming: Vec<TimelineEntry> = fetched.into_iter().map(|(_, e)| e).filter(|e| !local.contains(&e.id)).collect();
        if !incoming.is_empty() {
            let mut writer = TimelineWriter::open(store, id, Clock::Real, "sync")?;
            report.pulled = writer.merge(&incoming)?;
        }
        let outgoing: Vec<TimelineEntry> = read.entries.into_iter().filter(|e| !remote.contains(&e.id)).collect();
        if !outgoing.is_empty() {
            let (new, warnings) = self.push(&outgoing).await?;
            report.pushed = new;
            report.warnings.extend(warnings);
            remote.extend(outgoing.iter().map(|e| e.id));
        }
        let already = store.synced(id);
        let confirmed: Vec<Uuid> = remote.iter().filter(|u| !already.contains(u)).copied().collect();
        store.mark_synced(id, &confirmed)?;
        cursor.local_len.insert(id.clone(), std::fs::metadata(store.path_of(id)).map(|m| m.len()).unwrap_or(0));
        Ok(report)
    }

    /// Every incident here and there: local ones pushed, remote ones pulled.
    pub async fn sync_all(&mut self, store: &LocalStore, cursor: &mut Cursor) -> Result<Vec<(IncidentId, SyncReport)>, SharedError> {
        let mut ids: Vec<IncidentId> = store.list()?;
        for (id, _, _) in self.incidents().await? {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        let mut out = Vec::new();
        for id in ids {
            let report = self.sync_incident(store, &id, cursor).await?;
            out.push((id, report));
        }
        Ok(out)
    }

    /// The union of this machine's copy and the database's entries of `id`, without writing
    /// anything anywhere (for export).
    pub async fn union(&self, local: &[TimelineEntry], id: &IncidentId) -> Result<(Vec<TimelineEntry>, Vec<String>), SharedError> {
        let (fetched, warnings) = self.fetch_after(id, 0).await?;
        let known: HashSet<Uuid> = local.iter().map(|e| e.id).collect();
        let mut all = local.to_vec();
        all.extend(fetched.into_iter().map(|(_, e)| e).filter(|e| !known.contains(&e.id)));
        Ok((all, warnings))
    }
}

/// How old an unresolved shared incident may be and still be joined by a console or command that has
/// none open: one someone forgot to resolve last week is not today's.
pub const JOIN_WITHIN_HOURS: i64 = 12;

/// Whether an incident is one to join automatically: unresolved and opened recently.
pub fn joinable(opened: DateTime<Utc>, resolved: bool) -> bool {
    !resolved && Utc::now() - opened < chrono::Duration::hours(JOIN_WITHIN_HOURS)
}

/// Entries of `id` on this machine that the database is not known to have.
pub fn unsynced(store: &LocalStore, id: &IncidentId) -> Result<Vec<Uuid>, StoreError> {
    let synced = store.synced(id);
    Ok(store.read(id)?.entries.iter().map(|e| e.id).filter(|u| !synced.contains(u)).collect())
}

/// A runtime for the CLI's one-off syncs (the console has its own thread and runtime).
pub fn block_on<T>(f: impl std::future::Future<Output = T>) -> Option<T> {
    match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => Some(rt.block_on(f)),
        Err(e) => {
            tracing::error!("cannot start a runtime for the shared timeline: {e}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_recent_unresolved_incident_is_joined_by_itself() {
        let now = Utc::now();
        assert!(joinable(now - chrono::Duration::hours(1), false));
        assert!(!joinable(now - chrono::Duration::hours(1), true), "resolved");
        assert!(!joinable(now - chrono::Duration::hours(JOIN_WITHIN_HOURS + 1), false), "forgotten last week");
    }

    #[test]
    fn every_migration_names_its_schema_and_versions_rise_to_the_current_one() {
        let versions: Vec<i32> = MIGRATIONS.iter().map(|(v, _)| *v).collect();
        assert_eq!(versions, (1..=SCHEMA_VERSION).collect::<Vec<_>>());
        assert!(MIGRATIONS.iter().all(|(_, sql)| sql.contains("{s}.")), "no table outside the configured schema");
    }
}
