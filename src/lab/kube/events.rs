//! core/v1 Events as the kubelet, scheduler and controllers record them, aggregated like the real
//! event recorder (same object + reason + message bumps `count` and `lastTimestamp`).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::meta::{self, timestamp};
use super::resources::EVENTS;
use super::store::{State, event_key};

/// Who reports an event: the `source.component` and whether it is a Warning.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reporter {
    pub component: &'static str,
    pub warning: bool,
}

pub(crate) const KUBELET: Reporter = Reporter { component: "kubelet", warning: false };
pub(crate) const KUBELET_WARNING: Reporter = Reporter { component: "kubelet", warning: true };
pub(crate) const SCHEDULER: Reporter = Reporter { component: "default-scheduler", warning: false };
pub(crate) const SCHEDULER_WARNING: Reporter = Reporter { component: "default-scheduler", warning: true };
pub(crate) const DEPLOYMENT_CONTROLLER: Reporter = Reporter { component: "deployment-controller", warning: false };
pub(crate) const REPLICASET_CONTROLLER: Reporter = Reporter { component: "replicaset-controller", warning: false };
pub(crate) const AUTOSCALER: Reporter = Reporter { component: "horizontal-pod-autoscaler", warning: false };

/// The first node: every seeded pod runs on it, and new pods go there while it is schedulable.
pub(crate) const NODE_NAME: &str = "lab-node-1";
/// The seeded worker node: empty until `lab-node-1` is cordoned or drained.
pub(crate) const SECOND_NODE: &str = "lab-node-2";

/// Records (or aggregates into an existing) event about `involved`, happening at `at`.
pub(crate) fn record(
    state: &mut State,
    involved: &Value,
    field_path: Option<&str>,
    reporter: Reporter,
    reason: &str,
    message: &str,
    at: DateTime<Utc>,
) {
    let namespace = meta::namespace(involved).to_string();
    let uid = meta::uid(involved);
    let existing = state.event(&event_key(uid, reason, message)).cloned();
    if let Some(mut event) = existing {
        event["count"] = json!(meta::int_at(&event, "/count", 1) + 1);
        event["lastTimestamp"] = json!(timestamp(at));
        state.update(EVENTS, event);
        return;
    }
    let mut involved_object = json!({
        "kind": meta::str_at(involved, "/kind"),
        "namespace": namespace,
        "name": meta::name(involved),
        "uid": uid,
        "apiVersion": meta::str_at(involved, "/apiVersion"),
        "resourceVersion": meta::str_at(involved, "/metadata/resourceVersion"),
    });
    if let Some(path) = field_path {
        involved_object["fieldPath"] = json!(path);
    }
    // The kubelet reporting is the one of the pod's node.
    let node = meta::str_at(involved, "/spec/nodeName");
    let host = match reporter.component {
        "kubelet" if node.is_empty() => NODE_NAME,
        "kubelet" => node,
        _ => "",
    };
    let event = json!({
        "metadata": {
            "name": format!("{}.{:016x}", meta::name(involved), rand::random::<u64>()),
            "namespace": namespace,
            "creationTimestamp": timestamp(at),
        },
        "involvedObject": involved_object,
        "reason": reason,
        "message": message,
        "source": if host.is_empty() { json!({"component": reporter.component}) }
                  else { json!({"component": reporter.component, "host": host}) },
        "firstTimestamp": timestamp(at),
        "lastTimestamp": timestamp(at),
        "count": 1,
        "type": if reporter.warning { "Warning" } else { "Normal" },
        "eventTime": null,
        "reportingComponent": reporter.component,
        "reportingInstance": host,
    });
    // The namespace exists: `involved` lives in it.
    let _ = state.create(EVENTS, &namespace, event);
}
