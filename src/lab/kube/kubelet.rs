//! The simulated scheduler + kubelet: pods go Pending -> Running -> Ready, or crash-loop with
//! rising restart counts and back-off, and their status and events read like a real node's.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::events::{self, KUBELET, KUBELET_WARNING, NODE_NAME, SCHEDULER, SCHEDULER_WARNING};
use super::meta::{self, str_at, timestamp};
use super::resources::{NODES, PODS};
use super::store::{State, Timings};

/// The address every lab pod reports as `hostIP`.
const HOST_IP: &str = "192.168.49.2";

/// What a container image does when started; read from markers in the image tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    Healthy,
    /// Tag contains `-bad`: exits with code 1 shortly after starting.
    CrashLoop,
    /// Tag contains `-oom`: killed by the OOM killer (exit 137).
    OomKilled,
    /// Tag contains `-missing`: the image cannot be pulled.
    ImagePull,
}

pub(crate) fn fate_of(image: &str) -> Fate {
    let tag = image.rsplit('/').next().unwrap_or(image);
    let tag = tag.split_once(':').map_or("", |(_, t)| t);
    if tag.contains("-bad") {
        Fate::CrashLoop
    } else if tag.contains("-oom") {
        Fate::OomKilled
    } else if tag.contains("-missing") {
        Fate::ImagePull
    } else {
        Fate::Healthy
    }
}

/// Per-pod timeline kept beside the object (the object is rebuilt from it every tick).
#[derive(Debug, Clone)]
pub(crate) struct PodLife {
    pub created: DateTime<Utc>,
    pub first_started: Option<DateTime<Utc>>,
    /// Start of the current run of the failing containers (None while backing off).
    pub run_started: Option<DateTime<Utc>>,
    pub backoff_until: Option<DateTime<Utc>>,
    pub restarts: u32,
    pub last_run: Option<(DateTime<Utc>, DateTime<Utc>)>,
    pub ready: bool,
    pub ready_changed: DateTime<Utc>,
    /// When this pod's timeline next changes by itself (None: settled until someone writes it).
    pub next_due: Option<DateTime<Utc>>,
}

impl PodLife {
    pub fn new(created: DateTime<Utc>) -> Self {
        Self {
            created,
            first_started: None,
            run_started: None,
            backoff_until: None,
            restarts: 0,
            last_run: None,
            ready: false,
            ready_changed: created,
            next_due: Some(created),
        }
    }

    /// A pod that has been running and ready since `started` (seeded demo pods).
    pub fn running_since(created: DateTime<Utc>, started: DateTime<Utc>) -> Self {
        Self {
            first_started: Some(started),
            run_started: Some(started),
            ready: true,
            ready_changed: started,
            next_due: Some(started),
            ..Self::new(created)
        }
    }
}

/// A new pod for a ReplicaSet from its template: scheduled on the lab node with an IP.
pub(crate) fn new_pod(state: &mut State, rs: &Value, now: DateTime<Utc>) -> Value {
    let template = rs.pointer("/spec/template").cloned().unwrap_or(json!({}));
    let rs_name = meta::name(rs);
    let mut pod = json!({
        "metadata": {
            "name": format!("{rs_name}-{}", meta::random_suffix(5)),
            "generateName": format!("{rs_name}-"),
            "namespace": meta::namespace(rs),
            "labels": template.pointer("/metadata/labels").cloned().unwrap_or(json!({})),
            "ownerReferences": [meta::owner_reference(rs)],
            "creationTimestamp": timestamp(now),
        },
        "spec": template.get("spec").cloned().unwrap_or(json!({})),
        "status": {"phase": "Pending"},
    });
    pod["status"]["qosClass"] = json!(qos_class(&pod));
    if let Some(annotations) = template.pointer("/metadata/annotations") {
        pod["metadata"]["annotations"] = annotations.clone();
    }
    schedule(state, &mut pod);
    pod
}

/// The node the scheduler places a new pod on: the first one not cordoned (`spec.unschedulable`).
/// A cluster with no Node objects at all (an unseeded test cluster) has the implicit lab node.
fn schedulable_node(state: &State) -> Option<String> {
    let nodes = state.list_shared(NODES, None);
    if nodes.is_empty() {
        return Some(NODE_NAME.to_string());
    }
    nodes.iter().find(|n| n.pointer("/spec/unschedulable").and_then(Value::as_bool) != Some(true)).map(|n| meta::name(n).to_string())
}

/// Fills what the scheduler and defaulting would: node, IP, restart policy. With every node
/// cordoned the pod gets no `nodeName` and no IP, and stays Pending until one is uncordoned.
fn schedule(state: &mut State, pod: &mut Value) {
    let spec = &mut pod["spec"];
    if str_at(spec, "/nodeName").is_empty() {
        match schedulable_node(state) {
            Some(node) => spec["nodeName"] = json!(node),
            None => {
                if let Some(spec) = spec.as_object_mut() {
                    spec.remove("nodeName");
                }
            }
        }
    }
    for (key, value) in [
        ("restartPolicy", json!("Always")),
        ("schedulerName", json!("default-scheduler")),
        ("serviceAccountName", json!("default")),
        ("terminationGracePeriodSeconds", json!(30)),
        ("dnsPolicy", json!("ClusterFirst")),
    ] {
        if spec.get(key).is_none_or(Value::is_null) {
            spec[key] = value;
        }
    }
    if str_at(pod, "/status/podIP").is_empty() && !str_at(pod, "/spec/nodeName").is_empty() {
        let n = state.next_pod_ip;
        state.next_pod_ip = if n >= 250 { 10 } else { n + 1 };
        let ip = format!("10.244.0.{n}");
        pod["status"]["podIP"] = json!(ip);
        pod["status"]["podIPs"] = json!([{"ip": ip}]);
    }
}

/// One kubelet pass over the pods that need it: those written since the last pass (new ones
/// included) and those whose timeline is due; settled pods cost nothing.
pub(crate) fn sync_pods(state: &mut State, now: DateTime<Utc>) {
    let mut due = std::mem::take(&mut state.dirty_pods);
    due.extend(std::mem::take(&mut state.unscheduled));
    for (uid, life) in &state.pods {
        if life.next_due.is_some_and(|at| at <= now)
            && let Some(key) = state.key_of_uid(uid)
        {
            due.insert(key.clone());
        }
    }
    for (namespace, name) in due {
        if let Some(pod) = state.get(PODS, &namespace, &name).cloned() {
            sync_pod(state, pod, now);
        }
    }
    // The kubelet's own writes need no second look.
    state.dirty_pods.clear();
}

fn sync_pod(state: &mut State, mut pod: Value, now: DateTime<Utc>) {
    let uid = meta::uid(&pod).to_string();
    if str_at(&pod, "/spec/nodeName").is_empty() {
        schedule(state, &mut pod);
        if str_at(&pod, "/spec/nodeName").is_empty() {
            unschedulable(state, pod, now);
            return;
        }
    }
    let mut life = match state.pods.get(&uid) {
        Some(life) => life.clone(),
        None => {
            // Not the creationTimestamp: it has whole seconds, and ContainerCreating must show.
            let life = PodLife::new(now);
            events::record(
                state,
                &pod,
                None,
                SCHEDULER,
                "Scheduled",
                &format!("Successfully assigned {}/{} to {}", meta::namespace(&pod), meta::name(&pod), str_at(&pod, "/spec/nodeName")),
                now,
            );
            life
        }
    };
    advance(state, &pod, &mut life, now);
    let mut updated = pod.clone();
    updated["status"] = pod_status(&pod, &mut life, &state.timings_now(now));
    life.next_due = next_due(pod_fate(&pod), &life, &state.timings);
    state.pods.insert(uid, life);
    state.update(PODS, updated);
}

/// A pod no node will take: Pending with `PodScheduled=False/Unschedulable`, one FailedScheduling
/// event worded as the real scheduler words it, and another try on every pass.
fn unschedulable(state: &mut State, mut pod: Value, now: DateTime<Utc>) {
    let key = (meta::namespace(&pod).to_string(), meta::name(&pod).to_string());
    let nodes = state.list_shared(NODES, None).len();
    let message = format!(
        "0/{nodes} nodes are available: {nodes} node(s) were unschedulable. preemption: 0/{nodes} nodes are available: {nodes} Preemption is not helpful for scheduling."
    );
    if pod.pointer("/status/conditions/0/reason").and_then(Value::as_str) != Some("Unschedulable") {
        events::record(state, &pod, None, SCHEDULER_WARNING, "FailedScheduling", &message, now);
    }
    pod["status"] = json!({
        "phase": "Pending",
        "conditions": [{"type": "PodScheduled", "status": "False", "lastProbeTime": null,
                        "lastTransitionTime": str_at(&pod, "/metadata/creationTimestamp"),
                        "reason": "Unschedulable", "message": message}],
    });
    pod["status"]["qosClass"] = json!(qos_class(&pod));
    state.update(PODS, pod);
    state.unscheduled.insert(key);
}

/// When the timeline next moves on its own: start, readiness, crash, end of back-off.
fn next_due(fate: Fate, life: &PodLife, timings: &Timings) -> Option<DateTime<Utc>> {
    let Some(started) = life.first_started else {
        return match (fate, life.backoff_until) {
            (Fate::ImagePull, Some(until)) => Some(until),
            _ => Some(life.created + to_chrono(timings.pod_start)),
        };
    };
    match fate {
        Fate::Healthy if life.ready => None,
        Fate::Healthy => Some(started + to_chrono(timings.pod_ready)),
        _ => life.run_started.map(|run| run + to_chrono(timings.crash_after)).or(life.backoff_until),
    }
}

/// Timing knobs resolved for one pass.
pub(crate) struct Clock {
    now: DateTime<Utc>,
    ready_after: Duration,
}

impl State {
    fn timings_now(&self, now: DateTime<Utc>) -> Clock {
        Clock { now, ready_after: to_chrono(self.timings.pod_ready) }
    }
}

fn to_chrono(d: std::time::Duration) -> Duration {
    Duration::from_std(d).unwrap_or(Duration::zero())
}

pub(crate) fn containers(pod: &Value) -> Vec<Value> {
    pod.pointer("/spec/containers").and_then(Value::as_array).cloned().unwrap_or_default()
}

/// The worst fate among a pod's containers.
fn pod_fate(pod: &Value) -> Fate {
    let fates: Vec<Fate> = containers(pod).iter().map(|c| fate_of(str_at(c, "/image"))).collect();
    [Fate::ImagePull, Fate::OomKilled, Fate::CrashLoop].into_iter().find(|f| fates.contains(f)).unwrap_or(Fate::Healthy)
}

fn container_path(c: &Value) -> String {
    format!("spec.containers{{{}}}", str_at(c, "/name"))
}

fn record_start(state: &mut State, pod: &Value, now: DateTime<Utc>, only_failing: bool) {
    for c in containers(pod) {
        if only_failing && fate_of(str_at(&c, "/image")) == Fate::Healthy {
            continue;
        }
        let (name, image, path) = (str_at(&c, "/name"), str_at(&c, "/image"), container_path(&c));
        let pulled = format!("Container image \"{image}\" already present on machine");
        events::record(state, pod, Some(&path), KUBELET, "Pulled", &pulled, now);
        events::record(state, pod, Some(&path), KUBELET, "Created", &format!("Created container: {name}"), now);
        events::record(state, pod, Some(&path), KUBELET, "Started", &format!("Started container {name}"), now);
    }
}

fn advance(state: &mut State, pod: &Value, life: &mut PodLife, now: DateTime<Utc>) {
    let timings = state.timings.clone();
    let fate = pod_fate(pod);
    let Some(_) = life.first_started else {
        if now - life.created < to_chrono(timings.pod_start) {
            return;
        }
        if fate == Fate::ImagePull {
            pull_back_off(state, pod, life, now);
            return;
        }
        life.first_started = Some(now);
        life.run_started = Some(now);
        record_start(state, pod, now, false);
        return;
    };
    if fate == Fate::Healthy {
        return;
    }
    match (life.run_started, life.backoff_until) {
        (Some(started), _) if now - started >= to_chrono(timings.crash_after) => {
            life.restarts += 1;
            life.last_run = Some((started, now));
            life.run_started = None;
            let exp = life.restarts.saturating_sub(1).min(10);
            let backoff = timings.backoff_base.saturating_mul(1 << exp).min(timings.backoff_cap);
            life.backoff_until = Some(now + to_chrono(backoff));
            for c in containers(pod).iter().filter(|c| fate_of(str_at(c, "/image")) != Fate::Healthy) {
                let message = format!(
                    "Back-off restarting failed container {} in pod {}_{}({})",
                    str_at(c, "/name"),
                    meta::name(pod),
                    meta::namespace(pod),
                    meta::uid(pod)
                );
                events::record(state, pod, Some(&container_path(c)), KUBELET_WARNING, "BackOff", &message, now);
            }
        }
        (None, Some(until)) if now >= until => {
            life.backoff_until = None;
            life.run_started = Some(now);
            record_start(state, pod, now, true);
        }
        _ => {}
    }
}

fn pull_back_off(state: &mut State, pod: &Value, life: &mut PodLife, now: DateTime<Utc>) {
    if life.backoff_until.is_some_and(|until| now < until) {
        return;
    }
    life.backoff_until = Some(now + to_chrono(state.timings.backoff_cap));
    for c in containers(pod).iter().filter(|c| fate_of(str_at(c, "/image")) == Fate::ImagePull) {
        let (image, path) = (str_at(c, "/image"), container_path(c));
        let failed = format!("Failed to pull image \"{image}\": not found");
        events::record(state, pod, Some(&path), KUBELET, "Pulling", &format!("Pulling image \"{image}\""), now);
        events::record(state, pod, Some(&path), KUBELET_WARNING, "Failed", &failed, now);
        let back_off = format!("Back-off pulling image \"{image}\"");
        events::record(state, pod, Some(&path), KUBELET, "BackOff", &back_off, now);
    }
}

/// The pod's `status`, rebuilt from its timeline.
fn pod_status(pod: &Value, life: &mut PodLife, clock: &Clock) -> Value {
    let now = clock.now;
    let statuses: Vec<Value> = containers(pod).iter().map(|c| container_status(pod, c, life, clock)).collect();
    let ready = !statuses.is_empty() && statuses.iter().all(|s| s["ready"] == json!(true));
    if ready != life.ready {
        life.ready = ready;
        life.ready_changed = now;
    }
    let created = timestamp(life.created);
    let (ready_status, not_ready_reason) = if ready { ("True", None) } else { ("False", Some("ContainersNotReady")) };
    let condition = |kind: &str, status: &str, at: &str, reason: Option<&str>| {
        let mut c = json!({"type": kind, "status": status, "lastProbeTime": null, "lastTransitionTime": at});
        if let Some(reason) = reason {
            c["reason"] = json!(reason);
        }
        c
    };
    let changed = timestamp(life.ready_changed);
    let mut status = json!({
        "phase": if life.first_started.is_some() { "Running" } else { "Pending" },
        "conditions": [
            condition("Initialized", "True", &created, None),
            condition("Ready", ready_status, &changed, not_ready_reason),
            condition("ContainersReady", ready_status, &changed, not_ready_reason),
            condition("PodScheduled", "True", &created, None),
        ],
        "hostIP": HOST_IP,
        "hostIPs": [{"ip": HOST_IP}],
        "podIP": pod.pointer("/status/podIP").cloned().unwrap_or(Value::Null),
        "podIPs": pod.pointer("/status/podIPs").cloned().unwrap_or(Value::Null),
        "startTime": created,
        "containerStatuses": statuses,
        "qosClass": qos_class(pod),
    });
    if let Some(obj) = status.as_object_mut() {
        obj.retain(|_, v| !v.is_null());
    }
    status
}

fn container_status(pod: &Value, c: &Value, life: &PodLife, clock: &Clock) -> Value {
    let (name, image) = (str_at(c, "/name"), str_at(c, "/image"));
    let fate = fate_of(image);
    let container_id = format!("containerd://{}", meta::stable_hash(&json!([meta::uid(pod), name, life.restarts])));
    let mut status = json!({
        "name": name,
        "image": image,
        "imageID": format!("{}@sha256:{}", image.split(':').next().unwrap_or(image), meta::stable_hash(&json!(image))),
        "restartCount": if fate == Fate::Healthy { 0 } else { life.restarts },
        "ready": false,
        "started": false,
    });
    let Some(first_started) = life.first_started else {
        status["state"] = if fate == Fate::ImagePull && life.backoff_until.is_some() {
            json!({"waiting": {"reason": "ImagePullBackOff", "message": format!("Back-off pulling image \"{image}\"")}})
        } else {
            json!({"waiting": {"reason": "ContainerCreating"}})
        };
        return status;
    };
    status["containerID"] = json!(container_id);
    if fate == Fate::Healthy {
        status["state"] = json!({"running": {"startedAt": timestamp(first_started)}});
        status["started"] = json!(true);
        status["ready"] = json!(clock.now - first_started >= clock.ready_after);
        return status;
    }
    if let Some((started, finished)) = life.last_run {
        let (code, reason) = if fate == Fate::OomKilled { (137, "OOMKilled") } else { (1, "Error") };
        status["lastState"] = json!({"terminated": {
            "exitCode": code, "reason": reason, "containerID": container_id,
            "startedAt": timestamp(started), "finishedAt": timestamp(finished)}});
    }
    status["state"] = match life.run_started {
        Some(started) => {
            status["started"] = json!(true);
            json!({"running": {"startedAt": timestamp(started)}})
        }
        None => json!({"waiting": {
            "reason": "CrashLoopBackOff",
            "message": format!("back-off {}s restarting failed container={name} pod={}_{}({})",
                backoff_seconds(life), meta::name(pod), meta::namespace(pod), meta::uid(pod)),
        }}),
    };
    status
}

fn backoff_seconds(life: &PodLife) -> i64 {
    match (life.backoff_until, life.last_run) {
        (Some(until), Some((_, finished))) => (until - finished).num_seconds().max(1),
        _ => 10,
    }
}

/// What one running container uses now, as the kubelet's summary API reports it to metrics-server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Usage {
    pub nanocores: u64,
    pub bytes: u64,
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, other: Self) {
        self.nanocores += other.nanocores;
        self.bytes += other.bytes;
    }
}

/// Used by the node itself (kubelet, runtime, system daemons) besides its pods.
pub(crate) const NODE_OVERHEAD: Usage = Usage { nanocores: 180_000_000, bytes: 900 << 20 };

/// A container's request or limit for one resource, read from its spec.
fn resource_of<'a>(c: &'a Value, kind: &str, resource: &str) -> Option<&'a str> {
    c.pointer(&format!("/resources/{kind}/{resource}")).and_then(Value::as_str)
}

/// A slow wobble in [-1, 1] per pod and minute, so readings move like a real service's do.
fn wobble(uid: &str, now: DateTime<Utc>) -> f64 {
    let seed = format!("{uid}{}", now.timestamp() / 60);
    let hash = seed.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    (hash % 2001) as f64 / 1000.0 - 1.0
}

/// The usage of `pod`'s running containers (None for a container that is not running): healthy
/// ones at 55 % of their CPU request (or the load set with `Cluster::set_cpu_load`) and 60 % of
/// their memory request; a crash-looping one busy at 90 % CPU; one the OOM killer takes, at 97 % of
/// its memory limit.
pub(crate) fn container_usage(state: &State, pod: &Value, now: DateTime<Utc>) -> Vec<(String, Option<Usage>)> {
    let statuses = pod.pointer("/status/containerStatuses").and_then(Value::as_array).cloned().unwrap_or_default();
    let app = str_at(pod, "/metadata/labels/app");
    let load = state.cpu_load.get(&(meta::namespace(pod).to_string(), app.to_string())).copied();
    let w = wobble(meta::uid(pod), now);
    containers(pod)
        .iter()
        .map(|c| {
            let name = str_at(c, "/name").to_string();
            let running = statuses.iter().any(|s| str_at(s, "/name") == name && s.pointer("/state/running").is_some());
            if !running {
                return (name, None);
            }
            let cpu_request = resource_of(c, "requests", "cpu").and_then(meta::cpu_nanos).unwrap_or(100_000_000) as f64;
            let memory_request = resource_of(c, "requests", "memory").and_then(meta::memory_bytes).unwrap_or(128 << 20) as f64;
            let memory_limit = resource_of(c, "limits", "memory").and_then(meta::memory_bytes).map_or(memory_request * 2.0, |m| m as f64);
            let (cpu, memory) = match fate_of(str_at(c, "/image")) {
                Fate::CrashLoop => (cpu_request * 0.9, memory_request * 0.3),
                Fate::OomKilled => (cpu_request * 0.7, memory_limit * 0.97),
                _ => {
                    let cpu_share = load.map_or(0.55, |p| f64::from(p) / 100.0);
                    (cpu_request * cpu_share * (1.0 + 0.08 * w), memory_request * 0.6 * (1.0 + 0.04 * w))
                }
            };
            (name, Some(Usage { nanocores: cpu as u64, bytes: memory as u64 }))
        })
        .collect()
}

/// Burstable when any container asks for resources, BestEffort when none does, Guaranteed when
/// every container's limits equal its requests (as the kubelet classes pods).
pub(crate) fn qos_class(pod: &Value) -> &'static str {
    let all = containers(pod);
    let resources =
        |c: &Value, kind: &str| c.pointer(&format!("/resources/{kind}")).cloned().filter(|r| r.as_object().is_some_and(|m| !m.is_empty()));
    if all.iter().all(|c| resources(c, "requests").is_none() && resources(c, "limits").is_none()) {
        return "BestEffort";
    }
    let guaranteed = all.iter().all(|c| {
        let limits = resources(c, "limits");
        limits.is_some()
            && ["cpu", "memory"].iter().all(|r| limits.as_ref().and_then(|l| l.get(*r)).is_some())
            && resources(c, "requests").is_none_or(|req| req == limits.clone().unwrap_or_default())
    });
    if guaranteed { "Guaranteed" } else { "Burstable" }
}
