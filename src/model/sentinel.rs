//! What the Sentinel collector observed: each Sentinel's view of the master, and the master's replicas.
//! Disagreement between Sentinels is itself a finding.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SentinelSnapshot {
    pub master_name: String,
    pub sentinels: Vec<SentinelRow>,
    pub master: Option<MasterRow>,
    pub replicas: Vec<ReplicaRow>,
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
