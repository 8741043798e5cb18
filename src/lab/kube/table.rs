//! `meta.k8s.io/v1` Tables: the server-side printing kubectl asks for with `Accept: ...;as=Table`.
//! Columns and cell formats follow the real API server's printers (pods, deployments, events...).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::meta::{self, human_age, int_at, parse_time, str_at};
use super::resources::ResourceType;

/// What each row carries besides its cells (`includeObject` query parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RowObject {
    None,
    Metadata,
    Object,
}

impl RowObject {
    pub fn from_query(value: Option<&str>) -> Self {
        match value {
            Some("None") => Self::None,
            Some("Object") => Self::Object,
            _ => Self::Metadata,
        }
    }
}

/// (name, type, priority): priority 1 columns show only with `-o wide`.
type Column = (&'static str, &'static str, u8);

fn columns(rt: &ResourceType) -> &'static [Column] {
    if let Some(columns) = super::printers::columns(rt) {
        return columns;
    }
    match rt.plural {
        "pods" => &[
            ("Name", "string", 0),
            ("Ready", "string", 0),
            ("Status", "string", 0),
            ("Restarts", "string", 0),
            ("Age", "string", 0),
            ("IP", "string", 1),
            ("Node", "string", 1),
            ("Nominated Node", "string", 1),
            ("Readiness Gates", "string", 1),
        ],
        "deployments" => &[
            ("Name", "string", 0),
            ("Ready", "string", 0),
            ("Up-to-date", "integer", 0),
            ("Available", "integer", 0),
            ("Age", "string", 0),
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        "replicasets" => &[
            ("Name", "string", 0),
            ("Desired", "integer", 0),
            ("Current", "integer", 0),
            ("Ready", "integer", 0),
            ("Age", "string", 0),
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        "events" => &[
            ("Last Seen", "string", 0),
            ("Type", "string", 0),
            ("Reason", "string", 0),
            ("Object", "string", 0),
            ("Subobject", "string", 1),
            ("Source", "string", 1),
            ("Message", "string", 0),
            ("First Seen", "string", 1),
            ("Count", "string", 1),
            ("Name", "string", 1),
        ],
        "namespaces" => &[("Name", "string", 0), ("Status", "string", 0), ("Age", "string", 0)],
        "nodes" => &[
            ("Name", "string", 0),
            ("Status", "string", 0),
            ("Roles", "string", 0),
            ("Age", "string", 0),
            ("Version", "string", 0),
            ("Internal-IP", "string", 1),
        ],
        "poddisruptionbudgets" => &[
            ("Name", "string", 0),
            ("Min Available", "string", 0),
            ("Max Unavailable", "string", 0),
            ("Allowed Disruptions", "integer", 0),
            ("Age", "string", 0),
        ],
        _ => &[("Name", "string", 0), ("Age", "string", 0)],
    }
}

/// A Table holding `objects`, one row each.
pub(crate) fn table(rt: &ResourceType, objects: &[&Value], resource_version: u64, include: RowObject) -> Value {
    let now = Utc::now();
    let column_definitions: Vec<Value> = columns(rt)
        .iter()
        .map(|(name, kind, priority)| {
            json!({
                "name": name,
                "type": kind,
                "format": if *name == "Name" { "name" } else { "" },
                "description": "",
                "priority": priority,
            })
        })
        .collect();
    let rows: Vec<Value> = objects.iter().map(|obj| json!({"cells": cells(rt, obj, now), "object": row_object(obj, include)})).collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version.to_string()},
        "columnDefinitions": column_definitions,
        "rows": rows,
    })
}

/// The object as `PartialObjectMetadata` (what `includeObject=Metadata` and metadata-only lists return).
pub(crate) fn partial_metadata(obj: &Value) -> Value {
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]})
}

fn row_object(obj: &Value, include: RowObject) -> Value {
    match include {
        RowObject::None => Value::Null,
        RowObject::Metadata => partial_metadata(obj),
        RowObject::Object => (*obj).clone(),
    }
}

fn cells(rt: &ResourceType, obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let name = json!(meta::name(obj));
    let age = json!(human_age(meta::created(obj), now));
    if let Some(cells) = super::printers::cells(rt, obj, name.clone(), age.clone()) {
        return cells;
    }
    match rt.plural {
        "pods" => pod_cells(obj, now),
        "deployments" => {
            let (containers, images) = containers_and_images(obj);
            vec![
                name,
                json!(format!("{}/{}", int_at(obj, "/status/readyReplicas", 0), int_at(obj, "/spec/replicas", 1))),
                json!(int_at(obj, "/status/updatedReplicas", 0)),
                json!(int_at(obj, "/status/availableReplicas", 0)),
                age,
                json!(containers),
                json!(images),
                json!(selector_text(obj)),
            ]
        }
        "replicasets" => {
            let (containers, images) = containers_and_images(obj);
            vec![
                name,
                json!(int_at(obj, "/spec/replicas", 1)),
                json!(int_at(obj, "/status/replicas", 0)),
                json!(int_at(obj, "/status/readyReplicas", 0)),
                age,
                json!(containers),
                json!(images),
                json!(selector_text(obj)),
            ]
        }
        "events" => event_cells(obj, now),
        "namespaces" => vec![name, json!(str_at(obj, "/status/phase")), age],
        "nodes" => vec![
            name,
            json!(node_status(obj)),
            json!(node_roles(obj)),
            age,
            json!(str_at(obj, "/status/nodeInfo/kubeletVersion")),
            json!(str_at(obj, "/status/addresses/0/address")),
        ],
        "poddisruptionbudgets" => {
            let or_na =
                |p: &str| obj.pointer(p).map_or_else(|| json!("N/A"), |v| json!(v.as_str().map_or_else(|| v.to_string(), String::from)));
            vec![name, or_na("/spec/minAvailable"), or_na("/spec/maxUnavailable"), json!(int_at(obj, "/status/disruptionsAllowed", 0)), age]
        }
        _ => vec![name, age],
    }
}

/// STATUS as `printNode` derives it: the Ready condition (`Ready`, `NotReady`, `Unknown`), then
/// `SchedulingDisabled` when the node is cordoned.
fn node_status(node: &Value) -> String {
    let conditions = node.pointer("/status/conditions").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut status = match conditions.iter().find(|c| str_at(c, "/type") == "Ready") {
        Some(c) if str_at(c, "/status") == "True" => vec!["Ready"],
        Some(_) => vec!["NotReady"],
        None => vec!["Unknown"],
    };
    if node.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
        status.push("SchedulingDisabled");
    }
    status.join(",")
}

/// ROLES from `node-role.kubernetes.io/<role>` labels (and `kubernetes.io/role`), sorted; `<none>` if none.
fn node_roles(node: &Value) -> String {
    let mut roles: Vec<String> = meta::string_map(node, "/metadata/labels")
        .into_iter()
        .filter_map(|(k, v)| match k.strip_prefix("node-role.kubernetes.io/") {
            Some(role) if !role.is_empty() => Some(role.to_string()),
            _ if k == "kubernetes.io/role" && !v.is_empty() => Some(v),
            _ => None,
        })
        .collect();
    roles.sort();
    roles.dedup();
    if roles.is_empty() { "<none>".to_string() } else { roles.join(",") }
}

/// READY, STATUS and RESTARTS the way `kubectl get pods` derives them from container statuses.
fn pod_cells(pod: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let statuses = pod.pointer("/status/containerStatuses").and_then(Value::as_array).cloned().unwrap_or_default();
    let total = pod.pointer("/spec/containers").and_then(Value::as_array).map_or(0, Vec::len);
    let mut reason = str_at(pod, "/status/phase").to_string();
    if let Some(r) = pod.pointer("/status/reason").and_then(Value::as_str) {
        reason = r.to_string();
    }
    let (mut ready, mut restarts, mut last_restart) = (0, 0, None::<DateTime<Utc>>);
    for status in statuses.iter().rev() {
        restarts += int_at(status, "/restartCount", 0);
        if let Some(finished) = parse_time(str_at(status, "/lastState/terminated/finishedAt")) {
            last_restart = last_restart.max(Some(finished));
        }
        let waiting = str_at(status, "/state/waiting/reason");
        let terminated = str_at(status, "/state/terminated/reason");
        if !waiting.is_empty() {
            reason = waiting.to_string();
        } else if !terminated.is_empty() {
            reason = terminated.to_string();
        } else if status.pointer("/state/running").is_some() && status.get("ready").and_then(Value::as_bool) == Some(true) {
            ready += 1;
        }
    }
    if pod.pointer("/metadata/deletionTimestamp").is_some_and(|t| !t.is_null()) {
        reason = "Terminating".to_string();
    }
    let restarts = match last_restart {
        Some(at) if restarts > 0 => format!("{restarts} ({} ago)", human_age(Some(at), now)),
        _ => restarts.to_string(),
    };
    let or_none = |s: &str| if s.is_empty() { "<none>".to_string() } else { s.to_string() };
    vec![
        json!(meta::name(pod)),
        json!(format!("{ready}/{total}")),
        json!(reason),
        json!(restarts),
        json!(human_age(meta::created(pod), now)),
        json!(or_none(str_at(pod, "/status/podIP"))),
        json!(or_none(str_at(pod, "/spec/nodeName"))),
        json!("<none>"),
        json!("<none>"),
    ]
}

fn event_cells(event: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let first = parse_time(str_at(event, "/firstTimestamp"));
    let last = parse_time(str_at(event, "/lastTimestamp")).or(first);
    let count = int_at(event, "/count", 1);
    let last_seen = human_age(last, now);
    let last_seen = if count > 1 { format!("{last_seen} (x{count} over {})", human_age(first, now)) } else { last_seen };
    let object = format!("{}/{}", str_at(event, "/involvedObject/kind").to_lowercase(), str_at(event, "/involvedObject/name"));
    let source = [str_at(event, "/source/component"), str_at(event, "/source/host")]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    vec![
        json!(last_seen),
        json!(str_at(event, "/type")),
        json!(str_at(event, "/reason")),
        json!(object),
        json!(str_at(event, "/involvedObject/fieldPath")),
        json!(source),
        json!(str_at(event, "/message")),
        json!(human_age(first, now)),
        json!(count.to_string()),
        json!(meta::name(event)),
    ]
}

fn containers_and_images(obj: &Value) -> (String, String) {
    let containers = obj.pointer("/spec/template/spec/containers").and_then(Value::as_array).cloned().unwrap_or_default();
    let names: Vec<&str> = containers.iter().map(|c| str_at(c, "/name")).collect();
    let images: Vec<&str> = containers.iter().map(|c| str_at(c, "/image")).collect();
    (names.join(","), images.join(","))
}

fn selector_text(obj: &Value) -> String {
    let mut pairs: Vec<String> = meta::string_map(obj, "/spec/selector/matchLabels").into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.sort();
    pairs.join(",")
}
