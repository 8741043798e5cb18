//! Scenarios: faults chained over time that replay the seeds' incidents (`lab up --scenario`).
//! Each starts healthy for a while so the console shows the before and the after.

use std::time::Duration;

use super::error::{LabError, did_you_mean};
use super::faults::Fault;

/// One scheduled fault: after `at` from the lab being ready, apply `fault`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScenarioStep {
    pub at: Duration,
    pub fault: Fault,
}

const fn step(secs: u64, fault: Fault) -> ScenarioStep {
    ScenarioStep { at: Duration::from_secs(secs), fault }
}

/// Name, explanation, steps.
pub const SCENARIOS: [(&str, &str, &[ScenarioStep]); 6] = [
    ("bad-deploy", "30s healthy, then a broken rollout of shop/api crash-loops", &[step(30, Fault::DeployBad)]),
    ("primary-db-loss", "30s healthy, then the Patroni leader dies and the standby is promoted", &[step(30, Fault::PgLeaderDown)]),
    ("redis-master-loss", "30s healthy, then the Redis master dies and the Sentinels fail over", &[step(30, Fault::RedisMasterDown)]),
    ("queue-backlog", "20s healthy, then the producer floods the Celery queues", &[step(20, Fault::QueueFlood)]),
    (
        "backup-gap",
        "30s healthy, then WAL archiving breaks; 10s later the dump job stops and recent dumps vanish",
        &[step(30, Fault::PgArchiveBroken), step(40, Fault::BackupStale)],
    ),
    (
        "demo",
        "a mixed incident: queue backlog at 20s, bad deploy at 45s, Redis master loss at 75s",
        &[step(20, Fault::QueueFlood), step(45, Fault::DeployBad), step(75, Fault::RedisMasterDown)],
    ),
];

pub fn steps(name: &str) -> Result<&'static [ScenarioStep], LabError> {
    SCENARIOS.iter().find(|(n, _, _)| *n == name).map(|(_, _, s)| *s).ok_or_else(|| {
        let names: Vec<&str> = SCENARIOS.iter().map(|(n, _, _)| *n).collect();
        LabError::UnknownScenario { name: name.into(), hint: did_you_mean(name, &names), valid: names.join(", ") }
    })
}

pub fn describe_all() -> String {
    SCENARIOS.iter().map(|(n, why, _)| format!("{n:<18} {why}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenarios_start_healthy_and_keep_their_order() {
        for (name, _, steps) in SCENARIOS {
            assert!(steps.first().is_some_and(|s| s.at >= Duration::from_secs(20)), "{name} starts too early");
            assert!(steps.windows(2).all(|w| w[0].at < w[1].at), "{name} is out of order");
        }
        let err = steps("primary-db-los").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("did you mean `primary-db-loss`"), "{err}");
    }
}
