//! The faults the runbooks are written for, as names a person types and what each one does.
//! The supervisor applies them to the real processes (see supervisor::Estate::apply).

use std::time::Duration;

use super::error::{LabError, did_you_mean};

/// One injectable fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    PgLeaderDown,
    PgStandbyPause,
    PgStandbyResume,
    PgArchiveBroken,
    PgConnections,
    RedisMasterDown,
    RedisMemory,
    QueueFlood,
    BackupStale,
    DeployBad,
    PodCpuHot,
    NetworkSlow,
    Heal,
}

/// Name, fault and a one-line explanation for `sitrep lab fault --list`.
pub const FAULTS: [(&str, Fault, &str); 13] = [
    (
        "pg-leader-down",
        Fault::PgLeaderDown,
        "SIGKILL the Patroni leader (Patroni and its postmaster): the leader key expires (ttl 10s) and Patroni promotes the standby",
    ),
    (
        "pg-standby-pause",
        Fault::PgStandbyPause,
        "SIGSTOP the standby's postgres processes: replication and replay lag grow while orders keep coming",
    ),
    ("pg-standby-resume", Fault::PgStandbyResume, "SIGCONT the standby paused by pg-standby-pause: it catches up"),
    (
        "pg-archive-broken",
        Fault::PgArchiveBroken,
        "archive_command starts failing (DIR/faults/archive-broken) and a WAL switch is forced: pg_stat_archiver.failed_count rises",
    ),
    (
        "pg-connections",
        Fault::PgConnections,
        "hold connections to the leader up to 84% of max_connections, one running pg_sleep(3600): the Production runbook's connection pool exhausted, with a long query",
    ),
    (
        "redis-master-down",
        Fault::RedisMasterDown,
        "SIGKILL the Redis master: after down-after-milliseconds (2s) the Sentinels agree (quorum 2) and promote the replica",
    ),
    (
        "redis-memory",
        Fault::RedisMemory,
        "CONFIG SET maxmemory on the Redis master so its used_memory is 92% of it (policy noeviction): near the Production runbook's 90% critical, writes refused at 100%",
    ),
    (
        "queue-flood",
        Fault::QueueFlood,
        "the Celery producer sends 100x its rate, far above what the worker drains: kombu's size of celery/emails/reports climbs",
    ),
    (
        "backup-stale",
        Fault::BackupStale,
        "stop the scheduled pg_dump job and delete dumps newer than the 300s RPO: the newest backup is older than the RPO",
    ),
    ("deploy-bad", Fault::DeployBad, "roll out a broken image to deployment shop/api: its new pods go into CrashLoopBackOff"),
    (
        "pod-cpu-hot",
        Fault::PodCpuHot,
        "shop/api's running pods use 92% of their CPU request (the kubelet's usage, as kubectl top reads it): past the Production runbook's 85% critical and the HPA's 70% target",
    ),
    (
        "network-slow",
        Fault::NetworkSlow,
        "add 1.5s to every answer of Sentinel 0 (through the lab's TCP proxy, the first Sentinel in sitrep.toml)",
    ),
    (
        "heal",
        Fault::Heal,
        "undo what can be undone: resume the standby, fix archiving, end the connection flood, clear maxmemory, api CPU back to 55%, restart killed members (they rejoin as replicas), normal queue rate, restart backups, no delay",
    ),
];

/// Delay `network-slow` adds to each answer.
pub const SLOW_DELAY: Duration = Duration::from_millis(1500);

impl Fault {
    pub fn parse(name: &str) -> Result<Fault, LabError> {
        FAULTS.iter().find(|(n, _, _)| *n == name).map(|(_, f, _)| *f).ok_or_else(|| {
            let names: Vec<&str> = FAULTS.iter().map(|(n, _, _)| *n).collect();
            LabError::UnknownFault { name: name.into(), hint: did_you_mean(name, &names), valid: names.join(", ") }
        })
    }

    pub fn name(self) -> &'static str {
        FAULTS.iter().find(|(_, f, _)| *f == self).map(|(n, _, _)| *n).unwrap_or("?")
    }
}

/// The text of `sitrep lab fault --list`.
pub fn describe_all() -> String {
    FAULTS.iter().map(|(n, _, why)| format!("{n:<18} {why}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_name_parses_back_to_itself() {
        for (name, fault, _) in FAULTS {
            assert_eq!(Fault::parse(name).ok(), Some(fault));
            assert_eq!(fault.name(), name);
        }
    }

    #[test]
    fn an_unknown_fault_lists_the_valid_ones_and_the_nearest() {
        let err = Fault::parse("queue-flod").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("did you mean `queue-flood`"), "{err}");
        assert!(err.contains("pg-leader-down"), "{err}");
    }
}
