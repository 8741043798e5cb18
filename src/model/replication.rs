//! What the Postgres/Patroni collector observed: members, leader, standby lag and WAL archiving.
//! Lag is read from pg_stat_replication on the leader; archiving from pg_stat_archiver.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplicationSnapshot {
    pub members: Vec<MemberRow>,
    pub standbys: Vec<StandbyRow>,
    pub archiver: Option<ArchiverRow>,
    /// Patroni cluster members as its REST API reports them.
    pub patroni: Vec<PatroniMember>,
}

impl ReplicationSnapshot {
    /// The leader: Patroni's word first, then whichever member is not in recovery.
    pub fn leader(&self) -> Option<&str> {
        self.patroni
            .iter()
            .find(|m| m.role == "leader" || m.role == "master")
            .map(|m| m.name.as_str())
            .or_else(|| self.members.iter().find(|m| m.reachable && !m.in_recovery).map(|m| m.name.as_str()))
    }

    /// The worst replay lag in seconds across standbys.
    pub fn max_replay_lag_secs(&self) -> Option<f64> {
        self.standbys.iter().filter_map(|s| s.replay_lag_secs).fold(None, |acc, v| Some(acc.map_or(v, |a: f64| a.max(v))))
    }

    pub fn max_replay_lag_bytes(&self) -> Option<u64> {
        self.standbys.iter().map(|s| s.replay_lag_bytes).max()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemberRow {
    pub name: String,
    pub reachable: bool,
    pub in_recovery: bool,
    pub error: Option<String>,
    /// On a standby: seconds since the last replayed transaction (0 when idle and caught up).
    pub replay_delay_secs: Option<f64>,
    /// Its own pg_stat_activity: connections against max_connections, and its longest query.
    /// None when the member did not answer (and in recordings made before it was read).
    #[serde(default)]
    pub load: Option<MemberLoad>,
}

/// How busy one member is, as it says itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemberLoad {
    /// Client backends in pg_stat_activity (this reader's own connection included).
    pub connections: u32,
    /// The server's `max_connections`.
    pub max_connections: u32,
    /// The oldest statement running, or transaction left open, by any other client.
    pub longest: Option<LongQuery>,
}

impl MemberLoad {
    /// Connections as a whole percentage of max_connections (100 when max_connections is 0).
    pub fn percent(&self) -> u32 {
        if self.max_connections == 0 { 100 } else { (u64::from(self.connections) * 100 / u64::from(self.max_connections)) as u32 }
    }
}

/// One backend's statement or open transaction and how long it has been going.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LongQuery {
    pub pid: i32,
    /// Seconds since the statement started (`active`) or the transaction began (`idle in transaction`).
    pub secs: f64,
    /// pg_stat_activity.state: `active`, `idle in transaction`, …
    pub state: String,
    pub user: String,
    /// The statement's first characters, made safe for the screen.
    pub query: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StandbyRow {
    pub name: String,
    pub client_addr: String,
    pub state: String,
    pub sync_state: String,
    pub write_lag_bytes: u64,
    pub flush_lag_bytes: u64,
    pub replay_lag_bytes: u64,
    pub write_lag_secs: Option<f64>,
    pub flush_lag_secs: Option<f64>,
    pub replay_lag_secs: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ArchiverRow {
    pub archived_count: i64,
    pub last_archived_wal: Option<String>,
    pub last_archived_time: Option<DateTime<Utc>>,
    pub failed_count: i64,
    pub last_failed_wal: Option<String>,
    pub last_failed_time: Option<DateTime<Utc>>,
}

impl ArchiverRow {
    /// Archiving is failing when the last failure is newer than the last success.
    pub fn is_failing(&self) -> bool {
        match (self.last_failed_time, self.last_archived_time) {
            (Some(f), Some(a)) => f > a,
            (Some(_), None) => true,
            _ => false,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PatroniMember {
    pub name: String,
    pub role: String,
    pub state: String,
    pub timeline: Option<i64>,
    pub lag_bytes: Option<i64>,
    pub pending_restart: bool,
    pub host: String,
}
