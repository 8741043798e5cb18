//! HorizontalPodAutoscalers and PodDisruptionBudgets as the model's rows, each object turned into
//! a compact row at once (as `kubectl get hpa` / `kubectl get pdb` read them).

use super::BackendError;
use super::kube::err;
use crate::model::{HpaRow, PdbRow};
use crate::sanitize::clean;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::Client;
use kube::api::{Api, ListParams};

fn count(n: Option<i32>) -> u32 {
    n.unwrap_or(0).max(0) as u32
}

pub fn hpa_row(h: &HorizontalPodAutoscaler) -> HpaRow {
    let spec = &h.spec;
    let status = h.status.as_ref();
    let cpu = |m: &k8s_openapi::api::autoscaling::v2::MetricSpec| {
        (m.type_ == "Resource").then_some(m.resource.as_ref()?).filter(|r| r.name == "cpu")?.target.average_utilization
    };
    let cpu_target_pct = spec.metrics.as_deref().and_then(|m| m.iter().find_map(cpu)).map(|p| p.max(0) as u32);
    let cpu_pct = status
        .and_then(|s| {
            s.current_metrics.as_deref()?.iter().find_map(|m| {
                let r = m.resource.as_ref().filter(|r| m.type_ == "Resource" && r.name == "cpu")?;
                r.current.average_utilization
            })
        })
        .map(|p| p.max(0) as u32);
    HpaRow {
        namespace: clean(h.metadata.namespace.as_deref().unwrap_or_default()),
        name: clean(h.metadata.name.as_deref().unwrap_or_default()),
        target: clean(&format!("{}/{}", spec.scale_target_ref.kind, spec.scale_target_ref.name)),
        // The API's default minimum is 1.
        min: count(spec.min_replicas.or(Some(1))),
        max: count(Some(spec.max_replicas)),
        current: status.map_or(0, |s| count(s.current_replicas)),
        desired: status.map_or(0, |s| count(Some(s.desired_replicas))),
        cpu_pct,
        cpu_target_pct,
    }
}

fn int_or_string(v: Option<&IntOrString>) -> String {
    match v {
        Some(IntOrString::Int(n)) => n.to_string(),
        Some(IntOrString::String(s)) => clean(s),
        None => String::new(),
    }
}

pub fn pdb_row(b: &PodDisruptionBudget) -> PdbRow {
    let spec = b.spec.as_ref();
    let status = b.status.clone().unwrap_or_default();
    PdbRow {
        namespace: clean(b.metadata.namespace.as_deref().unwrap_or_default()),
        name: clean(b.metadata.name.as_deref().unwrap_or_default()),
        min_available: int_or_string(spec.and_then(|s| s.min_available.as_ref())),
        max_unavailable: int_or_string(spec.and_then(|s| s.max_unavailable.as_ref())),
        allowed: count(status.disruptions_allowed),
        healthy: count(status.current_healthy),
        desired_healthy: count(status.desired_healthy),
        expected: count(status.expected_pods),
    }
}

/// One listing of the HPAs and PDBs in `ns` (triage), sorted by namespace and name.
pub async fn list(client: &Client, ns: &str) -> Result<(Vec<HpaRow>, Vec<PdbRow>), BackendError> {
    let lp = ListParams::default();
    let hpas =
        Api::<HorizontalPodAutoscaler>::namespaced(client.clone(), ns).list(&lp).await.map_err(err("listing horizontalpodautoscalers"))?;
    let pdbs = Api::<PodDisruptionBudget>::namespaced(client.clone(), ns).list(&lp).await.map_err(err("listing poddisruptionbudgets"))?;
    let mut hpas: Vec<HpaRow> = hpas.items.iter().map(hpa_row).collect();
    let mut pdbs: Vec<PdbRow> = pdbs.items.iter().map(pdb_row).collect();
    hpas.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    pdbs.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    Ok((hpas, pdbs))
}
