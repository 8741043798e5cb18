//! What the Sentinel collector observed: each Sentinel's view of the master, and the master's replicas.
//! Disagreement between Sentinels is itself a finding.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SentinelSnapshot {
    pub master_name: String,
    pub sentinels: Vec<SentinelRow>,
    pub master: Option<MasterRow>,
    pub replicas: Vec<ReplicaRow>,
    /// The master's own INFO (memory, keyspace lookups) and how fast it answered. None when the
    /// master did not answer (and in recordings made before it was read).
    #[serde(default)]
    pub master_health: Option<Box<MasterHealth>>,
}

/// What the master says of itself in `INFO memory` and `INFO stats`, and how long INFO took.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MasterHealth {
    /// The master that answered ("host:port", as the Sentinels name it).
    pub addr: String,
    /// Milliseconds from sending INFO to its answer (the connection already open).
    pub answered_ms: u64,
    pub used_memory: u64,
    /// `maxmemory`; 0 means no limit.
    pub maxmemory: u64,
    pub maxmemory_policy: String,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    /// Hits per lookup since the previous reading of the same master (0.0..=1.0). None on the
    /// first reading, after a restart or a failover (the counters start again), or with no
    /// lookup in between.
    pub hit_rate: Option<f64>,
}

impl MasterHealth {
    /// used_memory as a whole percentage of maxmemory; None without a limit.
    pub fn memory_percent(&self) -> Option<u32> {
        (self.maxmemory > 0).then(|| (u128::from(self.used_memory) * 100 / u128::from(self.maxmemory)).min(u128::from(u32::MAX)) as u32)
    }

    /// This reading's hit rate against `previous`, when both are the same master's counters.
    pub fn hit_rate_since(&self, previous: &MasterHealth) -> Option<f64> {
        if previous.addr != self.addr || self.keyspace_hits < previous.keyspace_hits || self.keyspace_misses < previous.keyspace_misses {
            return None;
        }
        let hits = self.keyspace_hits - previous.keyspace_hits;
        let lookups = hits + (self.keyspace_misses - previous.keyspace_misses);
        (lookups > 0).then(|| hits as f64 / lookups as f64)
    }
}

impl SentinelSnapshot {
    /// The master address most Sentinels report.
    pub fn agreed_master(&self) -> Option<&str> {
        let mut counts: Vec<(&str, usize)> = Vec::new();
        for addr in self.sentinels.iter().filter_map(|s| s.master_addr.as_deref()) {
            match counts.iter_mut().find(|(a, _)| *a == addr) {
                Some((_, n)) => *n += 1,
                None => counts.push((addr, 1)),
            }
        }
        counts.into_iter().max_by_key(|(_, n)| *n).map(|(a, _)| a)
    }

    /// True when reachable Sentinels name different masters.
    pub fn disagree(&self) -> bool {
        let mut addrs = self.sentinels.iter().filter_map(|s| s.master_addr.as_deref());
        match addrs.next() {
            Some(first) => addrs.any(|a| a != first),
            None => false,
        }
    }

    pub fn reachable(&self) -> usize {
        self.sentinels.iter().filter(|s| s.error.is_none()).count()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SentinelRow {
    pub addr: String,
    pub master_addr: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MasterRow {
    pub addr: String,
    pub flags: String,
    pub quorum: u32,
    pub other_sentinels: u32,
    pub num_replicas: u32,
}

impl MasterRow {
    pub fn s_down(&self) -> bool {
        self.flags.split(',').any(|f| f == "s_down")
    }
    pub fn o_down(&self) -> bool {
        self.flags.split(',').any(|f| f == "o_down")
    }
    pub fn failover_in_progress(&self) -> bool {
        self.flags.split(',').any(|f| f.starts_with("failover"))
    }
    /// Sentinels that can vote (this one plus the others it knows) reach the quorum.
    pub fn quorum_reachable(&self) -> bool {
        self.other_sentinels + 1 >= self.quorum
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplicaRow {
    pub addr: String,
    pub flags: String,
    pub link_status: String,
    pub offset: i64,
    pub lag_bytes: Option<i64>,
}
