//! What the kube collector observed: pods, deployments and recent events.
//! All text fields are sanitized by the collector before they get here.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PodsSnapshot {
    pub pods: Vec<PodRow>,
    pub deployments: Vec<DeploymentRow>,
    pub events: Vec<KubeEventRow>,
    /// Services with their endpoint counts (absent in recordings made before they were kept).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<super::ServiceRow>,
    /// Why services or their EndpointSlices cannot be read, while pods can.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services_problem: Option<super::ListProblem>,
}

impl PodsSnapshot {
    /// Every namespace a pod or deployment of this snapshot is in, sorted, once each.
    pub fn namespaces(&self) -> Vec<&str> {
        let all = self.pods.iter().map(|p| p.namespace.as_str()).chain(self.deployments.iter().map(|d| d.namespace.as_str()));
        all.collect::<std::collections::BTreeSet<_>>().into_iter().collect()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PodRow {
    pub namespace: String,
    pub name: String,
    pub phase: String,
    pub ready: u32,
    pub containers: u32,
    pub restarts: u32,
    pub last_restart: Option<DateTime<Utc>>,
    pub created: Option<DateTime<Utc>>,
    pub node: String,
    /// CrashLoopBackOff, ImagePullBackOff, OOMKilled, ... when a container is not running.
    pub reason: Option<String>,
}

impl PodRow {
    /// The status kubectl would print: the waiting reason wins over the phase.
    pub fn status(&self) -> &str {
        self.reason.as_deref().unwrap_or(&self.phase)
    }

    pub fn is_healthy(&self) -> bool {
        self.reason.is_none() && (self.phase == "Succeeded" || (self.phase == "Running" && self.ready == self.containers))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeploymentRow {
    pub namespace: String,
    pub name: String,
    pub desired: u32,
    pub updated: u32,
    pub ready: u32,
    pub available: u32,
    pub revision: String,
    pub images: Vec<String>,
    /// "complete", "progressing", "stalled (ProgressDeadlineExceeded)".
    pub rollout: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KubeEventRow {
    pub at: Option<DateTime<Utc>>,
    pub namespace: String,
    pub object: String,
    pub kind: String,
    pub reason: String,
    pub message: String,
    pub count: u32,
}
