//! `metrics.k8s.io/v1beta1` as metrics-server serves it: PodMetrics and NodeMetrics computed on
//! each read from the kubelet's container usage (never stored, never watched).

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::kubelet::{self, NODE_OVERHEAD, Usage};
use super::meta::{self, str_at, timestamp};
use super::resources::{NODES, PODS, ResourceType};
use super::store::State;

/// metrics-server's scrape window (the kubelet's CPU rate is averaged over it).
const POD_WINDOW: &str = "15s";
const NODE_WINDOW: &str = "20s";

/// CPU in nanocores and memory in KiB, as metrics-server writes quantities.
fn usage_json(usage: Usage) -> Value {
    json!({"cpu": format!("{}n", usage.nanocores), "memory": format!("{}Ki", usage.bytes / 1024)})
}

fn object_meta(obj: &Value, now: DateTime<Utc>) -> Value {
    let mut metadata = json!({"name": meta::name(obj), "creationTimestamp": timestamp(now)});
    if !meta::namespace(obj).is_empty() {
        metadata["namespace"] = json!(meta::namespace(obj));
    }
    if let Some(labels) = obj.pointer("/metadata/labels") {
        metadata["labels"] = labels.clone();
    }
    metadata
}

/// A pod's metrics, or None when none of its containers runs (metrics-server leaves it out).
fn pod_metrics(state: &State, pod: &Value, now: DateTime<Utc>) -> Option<Value> {
    let usage = kubelet::container_usage(state, pod, now);
    if usage.iter().all(|(_, u)| u.is_none()) {
        return None;
    }
    let containers: Vec<Value> = usage.into_iter().filter_map(|(name, u)| Some(json!({"name": name, "usage": usage_json(u?)}))).collect();
    Some(json!({
        "kind": "PodMetrics",
        "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": object_meta(pod, now),
        "timestamp": timestamp(now - Duration::seconds(5)),
        "window": POD_WINDOW,
        "containers": containers,
    }))
}

/// The sum of a pod's running containers.
pub(crate) fn pod_total(state: &State, pod: &Value, now: DateTime<Utc>) -> Option<Usage> {
    let mut total = None::<Usage>;
    for (_, usage) in kubelet::container_usage(state, pod, now) {
        if let Some(u) = usage {
            *total.get_or_insert_default() += u;
        }
    }
    total
}

fn node_metrics(state: &State, node: &Value, now: DateTime<Utc>) -> Value {
    let mut usage = NODE_OVERHEAD;
    for pod in state.list_shared(PODS, None).iter().filter(|p| str_at(p, "/spec/nodeName") == meta::name(node)) {
        if let Some(u) = pod_total(state, pod, now) {
            usage += u;
        }
    }
    json!({
        "kind": "NodeMetrics",
        "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": object_meta(node, now),
        "timestamp": timestamp(now - Duration::seconds(5)),
        "window": NODE_WINDOW,
        "usage": usage_json(usage),
    })
}

/// The metrics objects of `rt` (NodeMetrics or PodMetrics) in `namespace` (None: all), by name.
pub(crate) fn objects(state: &State, rt: &ResourceType, namespace: Option<&str>) -> Vec<Arc<Value>> {
    let now = Utc::now();
    if rt.namespaced {
        let pods = state.list_shared(PODS, namespace);
        pods.iter().filter_map(|p| pod_metrics(state, p, now)).map(Arc::new).collect()
    } else {
        state.list_shared(NODES, None).iter().map(|n| Arc::new(node_metrics(state, n, now))).collect()
    }
}

/// CPU and memory cells as `kubectl get podmetrics` prints them from metrics-server's table.
pub(crate) fn cells(obj: &Value) -> (String, String) {
    let mut usage = Usage::default();
    let add = |u: &Value, total: &mut Usage| {
        total.nanocores += meta::cpu_nanos(str_at(u, "/cpu")).unwrap_or(0);
        total.bytes += meta::memory_bytes(str_at(u, "/memory")).unwrap_or(0);
    };
    match obj.get("containers").and_then(Value::as_array) {
        Some(containers) => containers.iter().for_each(|c| add(&c["usage"], &mut usage)),
        None => add(&obj["usage"], &mut usage),
    }
    (format!("{}m", usage.nanocores / 1_000_000), format!("{}Mi", usage.bytes >> 20))
}
