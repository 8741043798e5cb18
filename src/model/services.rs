//! What the kube collector observed of Services: one compact row per service with its endpoint
//! counts (summed from its EndpointSlices), and the list's own problem when it cannot be read.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One Service as the services view shows it (`kubectl get svc` plus its endpoints' readiness).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceRow {
    pub namespace: String,
    pub name: String,
    /// ClusterIP, NodePort, LoadBalancer, ExternalName.
    pub kind: String,
    /// Whether it selects pods (without a selector its endpoints are the user's, not the controller's).
    pub selector: bool,
    /// "80→8080/TCP,443/TCP".
    pub ports: String,
    pub ready: u32,
    pub not_ready: u32,
}

impl ServiceRow {
    pub fn total(&self) -> u32 {
        self.ready + self.not_ready
    }
}

/// A list of the kube source that cannot be read while the rest can (RBAC, an API without it):
/// its error, since when, and when it last answered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListProblem {
    pub error: String,
    pub since: Option<DateTime<Utc>>,
    pub last_ok: Option<DateTime<Utc>>,
}
