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
    /// The nodes with their allocatable resources and usage (`kubectl top nodes`), when listed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeRow>,
    /// When pod and node usage (metrics.k8s.io) was last read; None before the first reading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_at: Option<DateTime<Utc>>,
    /// Why metrics.k8s.io (or the node list) cannot be read, while pods can.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_problem: Option<Box<super::ListProblem>>,
    /// HorizontalPodAutoscalers and PodDisruptionBudgets, when listed (boxed: most snapshots of a
    /// recording carry none, and the event enum stays small).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaling: Option<Box<super::Scaling>>,
}

impl PodsSnapshot {
    pub fn autoscalers(&self) -> &[super::HpaRow] {
        self.scaling.as_deref().map_or(&[], |s| &s.autoscalers)
    }

    pub fn budgets(&self) -> &[super::PdbRow] {
        self.scaling.as_deref().map_or(&[], |s| &s.budgets)
    }

    /// Why HPAs or PDBs cannot be read, while pods can.
    pub fn scaling_problem(&self) -> Option<&super::ListProblem> {
        self.scaling.as_deref()?.problem.as_ref()
    }

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
    /// Why a container last ended (its lastState): "OOMKilled", "Error", "Completed".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_exit: Option<String>,
    /// CPU and memory the containers request, summed (absent in older recordings).
    #[serde(default, skip_serializing_if = "Resources::is_empty")]
    pub requests: Resources,
    /// The pod's limits: set only when every container sets one (else the pod has no limit).
    #[serde(default, skip_serializing_if = "Resources::is_empty")]
    pub limits: Resources,
    /// What its running containers use now (metrics.k8s.io), when read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

impl PodRow {
    /// The status kubectl would print: the waiting reason wins over the phase.
    pub fn status(&self) -> &str {
        self.reason.as_deref().unwrap_or(&self.phase)
    }

    pub fn is_healthy(&self) -> bool {
        self.reason.is_none() && (self.phase == "Succeeded" || (self.phase == "Running" && self.ready == self.containers))
    }

    /// Whether the OOM killer ended a container, now or at its last end.
    pub fn oom_killed(&self) -> bool {
        [&self.reason, &self.last_exit].iter().any(|r| r.as_deref() == Some("OOMKilled"))
    }
}

/// CPU in millicores and memory in bytes, as `kubectl top` reads metrics.k8s.io.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub cpu_m: u64,
    pub memory: u64,
}

/// Requests, limits or a node's allocatable: each resource only when it is set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resources {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_m: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<u64>,
}

impl Resources {
    pub fn is_empty(&self) -> bool {
        self.cpu_m.is_none() && self.memory.is_none()
    }
}

/// One node as `kubectl top nodes` shows it: its allocatable resources and what it uses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRow {
    pub name: String,
    #[serde(default, skip_serializing_if = "Resources::is_empty")]
    pub allocatable: Resources,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
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
