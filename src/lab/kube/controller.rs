//! The deployment and replicaset controllers: template hash -> ReplicaSet with the next revision,
//! rolling update within maxSurge/maxUnavailable, pods per ReplicaSet, status and conditions, GC.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::events::{self, DEPLOYMENT_CONTROLLER, REPLICASET_CONTROLLER};
use super::kubelet;
use super::meta::{self, int_at, str_at, timestamp};
use super::resources::{DEPLOYMENTS, PODS, REPLICASETS, ResourceType};
use super::selector::match_labels;
use super::store::State;

pub(crate) const REVISION: &str = "deployment.kubernetes.io/revision";
const CHANGE_CAUSE: &str = "kubernetes.io/change-cause";
const HASH_LABEL: &str = "pod-template-hash";

/// Most pods one ReplicaSet creates per pass, like upstream's burst limit: a scale to 10,000
/// becomes a stream of short passes that leave the lock to readers in between.
const CREATE_BURST: i64 = 500;

/// One full pass: garbage collection, deployments, replicasets, kubelet, then statuses.
pub(crate) fn reconcile(state: &mut State, now: DateTime<Utc>) {
    collect_garbage(state);
    for deployment in state.list_owned(DEPLOYMENTS, None) {
        sync_deployment(state, deployment, now);
    }
    for rs in state.list_owned(REPLICASETS, None) {
        sync_replica_set(state, rs, now);
    }
    kubelet::sync_pods(state, now);
    // A ReplicaSet's status only changes when it or one of its pods was written.
    let touched = std::mem::take(&mut state.touched);
    for rs in state.list_owned(REPLICASETS, None) {
        if touched.contains(meta::uid(&rs)) {
            write_replica_set_status(state, rs);
        }
    }
    for deployment in state.list_owned(DEPLOYMENTS, None) {
        write_deployment_status(state, deployment, now);
    }
    super::disruption::sync(state, now);
    super::endpoints::sync(state);
    super::autoscaler::sync(state, now);
}

/// Deletes replicasets and pods whose controlling owner is gone (background cascading delete).
fn collect_garbage(state: &mut State) {
    for child_rt in [REPLICASETS, PODS] {
        for (ns, name) in state.orphans(child_rt) {
            state.delete(child_rt, &ns, &name);
        }
    }
}

/// The ReplicaSets a deployment controls, oldest revision first.
pub(crate) fn owned_replica_sets(state: &State, owner: &Value) -> Vec<Value> {
    let mut owned: Vec<Value> = state.controlled_by(REPLICASETS, meta::uid(owner)).into_iter().cloned().collect();
    owned.sort_by_key(revision);
    owned
}

pub(crate) fn revision(rs: &Value) -> i64 {
    str_at(rs, &format!("/metadata/annotations/{}", REVISION.replace('/', "~1"))).parse().unwrap_or(0)
}

/// A pod template without the `pod-template-hash` label and without empty fields, for comparing
/// templates the way typed decoding would (`resources: {}` and an absent `resources` are equal).
fn bare_template(template: &Value) -> Value {
    let mut bare = template.clone();
    drop_empty(&mut bare);
    if let Some(labels) = bare.pointer_mut("/metadata/labels").and_then(Value::as_object_mut) {
        labels.remove(HASH_LABEL);
        if labels.is_empty() {
            bare["metadata"].as_object_mut().map(|m| m.remove("labels"));
        }
    }
    bare
}

/// A new ReplicaSet for `deployment`'s current template at `revision`, with `replicas` wanted.
pub(crate) fn new_replica_set(deployment: &Value, revision: i64, replicas: i64, now: DateTime<Utc>) -> Value {
    let template = bare_template(&deployment["spec"]["template"]);
    let hash = meta::stable_hash(&template);
    let mut template = template;
    template["metadata"]["labels"][HASH_LABEL] = json!(hash);
    let mut selector = deployment["spec"]["selector"].clone();
    selector["matchLabels"][HASH_LABEL] = json!(hash);
    let mut rs = json!({
        "metadata": {
            "name": format!("{}-{hash}", meta::name(deployment)),
            "namespace": meta::namespace(deployment),
            "labels": template["metadata"]["labels"].clone(),
            "ownerReferences": [meta::owner_reference(deployment)],
            "creationTimestamp": timestamp(now),
            "annotations": {
                REVISION: revision.to_string(),
                "deployment.kubernetes.io/desired-replicas": int_at(deployment, "/spec/replicas", 1).to_string(),
            },
        },
        "spec": {"replicas": replicas, "selector": selector, "template": template},
    });
    copy_change_cause(deployment, &mut rs);
    rs
}

fn copy_change_cause(deployment: &Value, rs: &mut Value) {
    let cause = str_at(deployment, &format!("/metadata/annotations/{}", CHANGE_CAUSE.replace('/', "~1")));
    if !cause.is_empty() {
        meta::set_annotation(rs, CHANGE_CAUSE, cause);
    }
}

/// Percent or absolute `maxSurge`/`maxUnavailable`, resolved against `desired` (rounding as upstream).
fn resolve(value: Option<&Value>, desired: i64, round_up: bool) -> i64 {
    match value {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Value::String(s)) => {
            let percent: i64 = s.trim_end_matches('%').parse().unwrap_or(25);
            let scaled = percent * desired;
            if round_up { (scaled + 99) / 100 } else { scaled / 100 }
        }
        _ => resolve(Some(&json!("25%")), desired, round_up),
    }
}

fn sync_deployment(state: &mut State, deployment: Value, now: DateTime<Utc>) {
    let desired = int_at(&deployment, "/spec/replicas", 1);
    let owned = owned_replica_sets(state, &deployment);
    let template = bare_template(&deployment["spec"]["template"]);
    let max_revision = owned.iter().map(revision).max().unwrap_or(0);
    let current = owned.iter().find(|rs| bare_template(&rs["spec"]["template"]) == template).cloned();
    let new_rs = match current {
        Some(mut rs) => {
            if revision(&rs) < max_revision {
                meta::set_annotation(&mut rs, REVISION, &(max_revision + 1).to_string());
                copy_change_cause(&deployment, &mut rs);
                rs = state.update(REPLICASETS, rs);
            }
            rs
        }
        None => {
            let first = owned.is_empty();
            let rs = new_replica_set(&deployment, max_revision + 1, if first { desired } else { 0 }, now);
            match state.create(REPLICASETS, meta::namespace(&deployment), rs) {
                Ok(rs) => {
                    if first {
                        scaled_event(state, &deployment, &rs, 0, desired, now);
                    }
                    rs
                }
                Err(_) => return,
            }
        }
    };
    let rev = revision(&new_rs).to_string();
    if str_at(&deployment, &format!("/metadata/annotations/{}", REVISION.replace('/', "~1"))) != rev {
        let mut annotated = deployment.clone();
        meta::set_annotation(&mut annotated, REVISION, &rev);
        state.update(DEPLOYMENTS, annotated);
    }
    let old: Vec<Value> = owned.into_iter().filter(|rs| meta::uid(rs) != meta::uid(&new_rs)).collect();
    roll(state, &deployment, new_rs, &old, desired, now);
}

/// One rolling-update step (or a Recreate step): scale the new set up and the old ones down.
fn roll(state: &mut State, deployment: &Value, new_rs: Value, old: &[Value], desired: i64, now: DateTime<Utc>) {
    let recreate = str_at(deployment, "/spec/strategy/type") == "Recreate";
    let strategy = deployment.pointer("/spec/strategy/rollingUpdate");
    let surge = resolve(strategy.and_then(|s| s.get("maxSurge")), desired, true);
    let mut unavailable = resolve(strategy.and_then(|s| s.get("maxUnavailable")), desired, false);
    if surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    let spec = |rs: &Value| int_at(rs, "/spec/replicas", 0);
    let new_spec = spec(&new_rs);
    let old_active: Vec<&Value> = old.iter().filter(|rs| spec(rs) > 0).collect();

    if recreate {
        for rs in &old_active {
            scale_replica_set(state, deployment, rs, 0, now);
        }
        let old_pods_gone = old.iter().all(|rs| int_at(rs, "/status/replicas", 0) == 0);
        if old_active.is_empty() && old_pods_gone && new_spec != desired {
            scale_replica_set(state, deployment, &new_rs, desired, now);
        }
        return;
    }
    if old_active.is_empty() || new_spec > desired {
        if new_spec != desired {
            scale_replica_set(state, deployment, &new_rs, desired, now);
        }
        return;
    }
    let total: i64 = old_active.iter().map(|rs| spec(rs)).sum::<i64>() + new_spec;
    let mut new_rs = new_rs;
    if new_spec < desired {
        let room = (desired + surge - total).min(desired - new_spec);
        if room > 0 {
            new_rs = scale_replica_set(state, deployment, &new_rs, new_spec + room, now);
        }
    }
    scale_down_old(state, deployment, &new_rs, old_active, desired - unavailable, now);
}

/// Upstream's two steps: drop unhealthy old replicas first, then available ones while at least
/// `min_available` pods stay available (so a failing new set never takes the old pods down).
fn scale_down_old(state: &mut State, deployment: &Value, new_rs: &Value, old: Vec<&Value>, min_available: i64, now: DateTime<Utc>) {
    let spec = |rs: &Value| int_at(rs, "/spec/replicas", 0);
    let available = |rs: &Value| int_at(rs, "/status/availableReplicas", 0);
    let all_pods: i64 = old.iter().map(|rs| spec(rs)).sum::<i64>() + spec(new_rs);
    let new_unavailable = (spec(new_rs) - available(new_rs)).max(0);
    let mut cleanup = all_pods - min_available - new_unavailable;
    if cleanup <= 0 {
        return;
    }
    let mut old: Vec<Value> = old.into_iter().cloned().collect();
    for rs in old.iter_mut() {
        let unhealthy = spec(rs) - available(rs);
        if cleanup <= 0 || unhealthy <= 0 {
            continue;
        }
        let cut = cleanup.min(unhealthy);
        *rs = scale_replica_set(state, deployment, rs, spec(rs) - cut, now);
        cleanup -= cut;
    }
    let total_available: i64 = old.iter().map(&available).sum::<i64>() + available(new_rs);
    let mut budget = total_available - min_available;
    for rs in old.iter() {
        if budget <= 0 || spec(rs) == 0 {
            continue;
        }
        let cut = budget.min(spec(rs));
        scale_replica_set(state, deployment, rs, spec(rs) - cut, now);
        budget -= cut;
    }
}

fn scale_replica_set(state: &mut State, deployment: &Value, rs: &Value, to: i64, now: DateTime<Utc>) -> Value {
    let from = int_at(rs, "/spec/replicas", 0);
    if from == to {
        return rs.clone();
    }
    let mut scaled = rs.clone();
    scaled["spec"]["replicas"] = json!(to);
    meta::set_annotation(&mut scaled, "deployment.kubernetes.io/desired-replicas", &int_at(deployment, "/spec/replicas", 1).to_string());
    let scaled = state.update(REPLICASETS, scaled);
    scaled_event(state, deployment, &scaled, from, to, now);
    scaled
}

fn scaled_event(state: &mut State, deployment: &Value, rs: &Value, from: i64, to: i64, now: DateTime<Utc>) {
    let direction = if to > from { "up" } else { "down" };
    let message = format!("Scaled {direction} replica set {} from {from} to {to}", meta::name(rs));
    events::record(state, deployment, None, DEPLOYMENT_CONTROLLER, "ScalingReplicaSet", &message, now);
}

/// Whether a pod's Ready condition is True (counted ready, and a ready endpoint of its services).
pub(crate) fn pod_ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
}

fn sync_replica_set(state: &mut State, rs: Value, now: DateTime<Utc>) {
    let wanted = int_at(&rs, "/spec/replicas", 1);
    let have = state.controlled_count(PODS, meta::uid(&rs)) as i64;
    for _ in have..wanted.min(have + CREATE_BURST) {
        let pod = kubelet::new_pod(state, &rs, now);
        let message = format!("Created pod: {}", meta::name(&pod));
        if state.create(PODS, meta::namespace(&rs), pod).is_ok() {
            events::record(state, &rs, None, REPLICASET_CONTROLLER, "SuccessfulCreate", &message, now);
        }
    }
    if have > wanted {
        let mut pods: Vec<Value> = state.controlled_by(PODS, meta::uid(&rs)).into_iter().cloned().collect();
        // Not-ready pods go first, then the newest.
        pods.sort_by_key(|p| (pod_ready(p), std::cmp::Reverse(str_at(p, "/metadata/creationTimestamp").to_string())));
        for pod in pods.iter().take((have - wanted) as usize) {
            state.delete(PODS, meta::namespace(pod), meta::name(pod));
            let message = format!("Deleted pod: {}", meta::name(pod));
            events::record(state, &rs, None, REPLICASET_CONTROLLER, "SuccessfulDelete", &message, now);
        }
    }
}

fn write_replica_set_status(state: &mut State, rs: Value) {
    let pods = state.controlled_by(PODS, meta::uid(&rs));
    let ready = pods.iter().filter(|p| pod_ready(p)).count();
    let labeled = pods.iter().filter(|p| match_labels(&rs["spec"]["selector"]["matchLabels"], p)).count();
    let replicas = pods.len();
    let mut updated = rs.clone();
    updated["status"] = json!({
        "replicas": replicas,
        "fullyLabeledReplicas": labeled,
        "readyReplicas": ready,
        "availableReplicas": ready,
        "observedGeneration": int_at(&rs, "/metadata/generation", 1),
    });
    drop_zero_counts(&mut updated["status"], &["readyReplicas", "availableReplicas"]);
    state.update(REPLICASETS, updated);
}

/// The API server omits zero-valued optional counters; kubectl's printers treat both alike.
fn drop_zero_counts(status: &mut Value, keys: &[&str]) {
    if let Some(map) = status.as_object_mut() {
        for key in keys {
            if map.get(*key) == Some(&json!(0)) {
                map.remove(*key);
            }
        }
    }
}

fn write_deployment_status(state: &mut State, deployment: Value, now: DateTime<Utc>) {
    let desired = int_at(&deployment, "/spec/replicas", 1);
    let owned = owned_replica_sets(state, &deployment);
    let template = bare_template(&deployment["spec"]["template"]);
    let new_rs = owned.iter().find(|rs| bare_template(&rs["spec"]["template"]) == template);
    let count = |rs: &Value, key: &str| int_at(rs, &format!("/status/{key}"), 0);
    let replicas: i64 = owned.iter().map(|rs| count(rs, "replicas")).sum();
    let ready: i64 = owned.iter().map(|rs| count(rs, "readyReplicas")).sum();
    let available: i64 = owned.iter().map(|rs| count(rs, "availableReplicas")).sum();
    let updated = new_rs.map_or(0, |rs| count(rs, "replicas"));
    let new_available = new_rs.map_or(0, |rs| count(rs, "availableReplicas"));
    let new_name = new_rs.map_or(String::new(), |rs| meta::name(rs).to_string());

    let strategy = deployment.pointer("/spec/strategy/rollingUpdate");
    let max_unavailable = resolve(strategy.and_then(|s| s.get("maxUnavailable")), desired, false);
    let previous = deployment.get("status").cloned().unwrap_or(json!({}));
    let progress_key = |s: &Value| (int_at(s, "/updatedReplicas", 0), int_at(s, "/availableReplicas", 0), int_at(s, "/replicas", 0));
    let progressed = progress_key(&previous) != (updated, available, replicas)
        || int_at(&previous, "/observedGeneration", 0) != int_at(&deployment, "/metadata/generation", 1);
    let old_progressing = condition(&previous, "Progressing");
    let last_progress =
        if progressed { now } else { old_progressing.as_ref().and_then(|c| meta::parse_time(str_at(c, "/lastUpdateTime"))).unwrap_or(now) };
    let complete = updated == desired && replicas == desired && new_available == desired;
    let deadline = int_at(&deployment, "/spec/progressDeadlineSeconds", 600);
    let (status, reason, message) = if complete {
        ("True", "NewReplicaSetAvailable", format!("ReplicaSet \"{new_name}\" has successfully progressed."))
    } else if (now - last_progress).num_seconds() > deadline {
        ("False", "ProgressDeadlineExceeded", format!("ReplicaSet \"{new_name}\" has timed out progressing."))
    } else {
        ("True", "ReplicaSetUpdated", format!("ReplicaSet \"{new_name}\" is progressing."))
    };
    let progressing = transition(old_progressing, "Progressing", status, reason, &message, last_progress, now);
    let (a_status, a_reason, a_message) = if available >= desired - max_unavailable {
        ("True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
    } else {
        ("False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
    };
    let available_cond = transition(condition(&previous, "Available"), "Available", a_status, a_reason, a_message, now, now);

    let mut next = deployment.clone();
    next["status"] = json!({
        "observedGeneration": int_at(&deployment, "/metadata/generation", 1),
        "replicas": replicas,
        "updatedReplicas": updated,
        "readyReplicas": ready,
        "availableReplicas": available,
        "unavailableReplicas": (desired - available).max(0),
        "conditions": [available_cond, progressing],
    });
    drop_zero_counts(&mut next["status"], &["replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "unavailableReplicas"]);
    state.update(DEPLOYMENTS, next);
}

fn condition(status: &Value, kind: &str) -> Option<Value> {
    status.get("conditions")?.as_array()?.iter().find(|c| c["type"] == kind).cloned()
}

/// A condition that keeps its lastTransitionTime unless status changes, and lastUpdateTime unless anything does.
fn transition(
    old: Option<Value>,
    kind: &str,
    status: &str,
    reason: &str,
    message: &str,
    updated_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Value {
    let same = |o: &Value, key: &str, want: &str| str_at(o, &format!("/{key}")) == want;
    let transitioned = match &old {
        Some(o) if same(o, "status", status) => str_at(o, "/lastTransitionTime").to_string(),
        _ => timestamp(now),
    };
    let last_update = match &old {
        Some(o) if same(o, "status", status) && same(o, "reason", reason) && same(o, "message", message) && kind == "Available" => {
            str_at(o, "/lastUpdateTime").to_string()
        }
        _ => timestamp(updated_at),
    };
    json!({
        "type": kind, "status": status, "reason": reason, "message": message,
        "lastUpdateTime": last_update, "lastTransitionTime": transitioned,
    })
}

/// Resources the controller reconciles; writes to them reconcile at once, so clients see the result.
pub(crate) fn is_workload(rt: &ResourceType) -> bool {
    rt.plural == "deployments" || rt.plural == "replicasets"
}

/// Removes nulls, empty maps and empty lists, innermost first.
fn drop_empty(value: &mut Value) {
    let empty = |v: &Value| v.is_null() || v.as_object().is_some_and(|m| m.is_empty()) || v.as_array().is_some_and(|a| a.is_empty());
    match value {
        Value::Object(map) => {
            map.values_mut().for_each(drop_empty);
            map.retain(|_, v| !empty(v));
        }
        Value::Array(items) => items.iter_mut().for_each(drop_empty),
        _ => {}
    }
}
