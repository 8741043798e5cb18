//! What the kube collector observed of autoscaling and disruption budgets: one compact row per
//! HorizontalPodAutoscaler (`kubectl get hpa`) and per PodDisruptionBudget (`kubectl get pdb`).

use serde::{Deserialize, Serialize};

/// One HPA: what it scales, its bounds, its replicas now and wanted, and CPU against its target.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HpaRow {
    pub namespace: String,
    pub name: String,
    /// "Deployment/api".
    pub target: String,
    pub min: u32,
    pub max: u32,
    pub current: u32,
    pub desired: u32,
    /// The pods' average CPU utilization, percent of request, as the HPA last measured it.
    pub cpu_pct: Option<u32>,
    /// Its CPU target (`averageUtilization`), when it scales on CPU.
    pub cpu_target_pct: Option<u32>,
}

/// One PodDisruptionBudget: its rule and how many pods may be disrupted now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PdbRow {
    pub namespace: String,
    pub name: String,
    /// "2" or "50%"; "" when the budget sets max unavailable instead.
    pub min_available: String,
    pub max_unavailable: String,
    pub allowed: u32,
    pub healthy: u32,
    pub desired_healthy: u32,
    pub expected: u32,
}

/// The autoscaling view's lists, and why they cannot be read while pods can.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scaling {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub autoscalers: Vec<HpaRow>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub budgets: Vec<PdbRow>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<super::ListProblem>,
}
