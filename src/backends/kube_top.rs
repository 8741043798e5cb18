//! Pod and node usage from `metrics.k8s.io` (what `kubectl top` reads from metrics-server), and
//! the nodes' allocatable resources: read on a timer, never watched (metrics-server serves no
//! watch), and turned into numbers at once.

use super::BackendError;
use super::kube::err;
use crate::model::{NodeRow, Resources, Usage};
use crate::quantity::{cpu_nanos, memory_bytes};
use crate::sanitize::clean;
use k8s_openapi::api::core::v1::Node;
use kube::Client;
use kube::api::{Api, ListParams};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// metrics.k8s.io's version served by metrics-server (and the lab's stand-in).
const METRICS_API: &str = "/apis/metrics.k8s.io/v1beta1";

/// What a reading is of, as the pane and errors name it.
const WHAT: &str = "metrics.k8s.io (kubectl top)";

#[derive(Debug, Deserialize)]
struct List<T> {
    #[serde(default = "Vec::new")]
    items: Vec<T>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Meta {
    name: String,
    namespace: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Quantities {
    cpu: String,
    memory: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ContainerMetrics {
    usage: Quantities,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PodMetrics {
    metadata: Meta,
    containers: Vec<ContainerMetrics>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NodeMetrics {
    metadata: Meta,
    usage: Quantities,
}

/// One quantity pair as numbers (a CPU in nanocores rounds up to a millicore, as kubectl prints it
/// rounded; an unreadable quantity counts as 0 rather than dropping the pod).
fn usage(q: &Quantities) -> Usage {
    Usage { cpu_m: cpu_nanos(&q.cpu).map_or(0, |n| n.div_ceil(1_000_000)), memory: memory_bytes(&q.memory).unwrap_or(0) }
}

/// One reading: each pod's usage keyed by its raw (namespace, name), as the pod watch keys its
/// rows (names are cleaned where rows are made), and the nodes. The node list can be
/// forbidden (a namespaced identity) while pod metrics are not: then `nodes_problem` says why.
#[derive(Debug, Default)]
pub struct TopReading {
    pub pods: HashMap<(String, String), Usage>,
    pub nodes: Vec<NodeRow>,
    pub nodes_problem: Option<BackendError>,
}

/// The Metrics API's own failure, with what kubectl says of it and the fix: 404 and 503 mean no
/// metrics-server (or its APIService is down), as `kubectl top`'s "Metrics API not available".
fn metrics_error(e: kube::Error) -> BackendError {
    match e {
        kube::Error::Api(s) if s.code == 404 || s.code == 503 => BackendError::Server {
            target: WHAT.into(),
            server: format!(
                "Metrics API not available ({} {}); install metrics-server, or check `kubectl get apiservice v1beta1.metrics.k8s.io`",
                s.code,
                clean(&s.message)
            ),
        },
        other => super::kube::error(WHAT, other),
    }
}

async fn get<T: serde::de::DeserializeOwned>(client: &Client, path: &str) -> Result<T, BackendError> {
    let request = http::Request::get(path).body(Vec::new()).map_err(|e| BackendError::BadSetting {
        input: "a metrics.k8s.io path".into(),
        detail: e.to_string(),
        fix: "check [kube] namespaces".into(),
    })?;
    client.request::<T>(request).await.map_err(metrics_error)
}

/// Reads pod usage in `namespaces` (one, or all when several or none are watched) and the nodes,
/// each within `timeout`.
pub async fn read(client: &Client, namespaces: &[String], timeout: Duration) -> Result<TopReading, BackendError> {
    let late = || BackendError::Unreachable { target: WHAT.into(), detail: format!("no answer within {}s", timeout.as_secs()) };
    let path = match namespaces {
        [one] => format!("{METRICS_API}/namespaces/{}/pods", url_segment(one)),
        _ => format!("{METRICS_API}/pods"),
    };
    let pods: List<PodMetrics> = tokio::time::timeout(timeout, get(client, &path)).await.map_err(|_| late())??;
    let wanted = |ns: &str| namespaces.len() <= 1 || namespaces.iter().any(|n| n == ns);
    let pods =
        pods.items
            .iter()
            .filter(|p| wanted(&p.metadata.namespace))
            .map(|p| {
                let total = p.containers.iter().map(|c| usage(&c.usage)).fold(Usage::default(), |a, b| Usage {
                    cpu_m: a.cpu_m.saturating_add(b.cpu_m),
                    memory: a.memory.saturating_add(b.memory),
                });
                ((p.metadata.namespace.clone(), p.metadata.name.clone()), total)
            })
            .collect();
    let (nodes, nodes_problem) = match tokio::time::timeout(timeout, read_nodes(client)).await {
        Ok(Ok(nodes)) => (nodes, None),
        Ok(Err(e)) => (Vec::new(), Some(e)),
        Err(_) => (Vec::new(), Some(late())),
    };
    Ok(TopReading { pods, nodes, nodes_problem })
}

/// The nodes, by name, with allocatable resources and usage.
async fn read_nodes(client: &Client) -> Result<Vec<NodeRow>, BackendError> {
    let listed = Api::<Node>::all(client.clone()).list(&ListParams::default()).await.map_err(err("listing nodes"))?;
    let metrics: List<NodeMetrics> = get(client, &format!("{METRICS_API}/nodes")).await?;
    let usage_of: BTreeMap<&str, Usage> = metrics.items.iter().map(|m| (m.metadata.name.as_str(), usage(&m.usage))).collect();
    let mut rows: Vec<NodeRow> = listed
        .items
        .iter()
        .map(|n| {
            let name = n.metadata.name.as_deref().unwrap_or("");
            let alloc = n.status.as_ref().and_then(|s| s.allocatable.as_ref());
            let read = |key: &str| alloc.and_then(|a| a.get(key)).map(|q| q.0.as_str());
            NodeRow {
                name: clean(name),
                allocatable: Resources {
                    cpu_m: read("cpu").and_then(cpu_nanos).map(|n| n / 1_000_000),
                    memory: read("memory").and_then(memory_bytes),
                },
                usage: usage_of.get(name).copied(),
            }
        })
        .collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(rows)
}

/// A namespace as one URL path segment (a name from the config may hold anything).
fn url_segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_server_quantities_become_millicores_and_bytes() {
        let q = Quantities { cpu: "137512345n".into(), memory: "159744Ki".into() };
        assert_eq!(usage(&q), Usage { cpu_m: 138, memory: 159_744 * 1024 });
        let hostile = Quantities { cpu: "lots".into(), memory: "\u{1b}[31m".into() };
        assert_eq!(usage(&hostile), Usage::default(), "an unreadable quantity is 0, not a panic");
    }

    #[test]
    fn a_namespace_cannot_leave_its_path_segment() {
        assert_eq!(url_segment("shop"), "shop");
        assert_eq!(url_segment("../nodes?x"), "%2E%2E%2Fnodes%3Fx");
    }
}
