//! The in-memory cluster state: objects by resource/namespace/name, one resourceVersion counter,
//! and the retained change history that watches replay and resume from.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::error::KubeStandInError;
use super::kubelet::PodLife;
use super::meta;
use super::resources::{EVENTS, NAMESPACES, RESOURCES, ResourceType};

/// How many changes of one resource type a watch can resume across before it gets `410 Gone`.
const HISTORY_LIMIT: usize = 4096;

/// Most events kept: the oldest expire first, as `--event-ttl` makes them on a real server
/// (10,000 starting pods record 50,000 events; keeping them all would cost ~150 MB).
const EVENT_LIMIT: usize = 10_000;

/// Speeds of the simulated controllers and kubelet; the defaults make tests fast.
#[derive(Debug, Clone)]
pub struct Timings {
    /// How long a new pod stays Pending before its containers start.
    pub pod_start: Duration,
    /// How long a started healthy container takes to become ready.
    pub pod_ready: Duration,
    /// How long a crash-looping container runs before it exits with code 1.
    pub crash_after: Duration,
    /// First crash-loop back-off; it doubles per restart up to `backoff_cap`.
    pub backoff_base: Duration,
    /// Longest crash-loop back-off.
    pub backoff_cap: Duration,
    /// Period of BOOKMARK events on watches that allow them.
    pub bookmark_every: Duration,
    /// Period of the controller loop.
    pub tick: Duration,
    /// Period of the horizontal pod autoscaler (`--horizontal-pod-autoscaler-sync-period`).
    pub autoscale_every: Duration,
}

impl Default for Timings {
    fn default() -> Self {
        Self {
            pod_start: Duration::from_millis(400),
            pod_ready: Duration::from_millis(400),
            crash_after: Duration::from_millis(800),
            backoff_base: Duration::from_millis(1500),
            backoff_cap: Duration::from_secs(5),
            bookmark_every: Duration::from_secs(2),
            tick: Duration::from_millis(100),
            autoscale_every: Duration::from_secs(15),
        }
    }
}

/// What happened to an object, as a watch reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    Added,
    Modified,
    Deleted,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Added => "ADDED",
            Change::Modified => "MODIFIED",
            Change::Deleted => "DELETED",
        }
    }
}

/// One retained change, shared by every watch that wants it (the object is shared with the store).
#[derive(Debug)]
pub(crate) struct ChangeRecord {
    pub rv: u64,
    pub resource: &'static str,
    pub change: Change,
    pub object: Arc<Value>,
}

/// Retained changes after a version, and the receiver for the ones to come.
pub(crate) type Subscription = (Vec<Arc<ChangeRecord>>, broadcast::Receiver<Arc<ChangeRecord>>);

/// Namespace (empty for cluster-scoped objects) and name.
pub(crate) type NsName = (String, String);

/// The retained changes of one resource type, like the real API server's per-type watch cache:
/// a busy type (events while 10,000 pods start) cannot push another type's history out.
struct History {
    records: VecDeque<Arc<ChangeRecord>>,
    /// Watches from a version below this get `410 Gone`.
    compacted_rv: u64,
    changes: broadcast::Sender<Arc<ChangeRecord>>,
}

impl History {
    fn new(compacted_rv: u64) -> Self {
        let (changes, _) = broadcast::channel(HISTORY_LIMIT);
        Self { records: VecDeque::new(), compacted_rv, changes }
    }
}

/// Everything behind the lock. Objects are kept per type and shared (`Arc`) with the history
/// and with lists being serialized after the lock is released; the indexes keep every
/// controller pass proportional to what changed, not to the number of pods.
pub(crate) struct State {
    objects: HashMap<&'static str, BTreeMap<NsName, Arc<Value>>>,
    /// Every object's uid, to its key.
    uids: HashMap<String, (&'static str, NsName)>,
    /// Controller uid -> the objects it controls, per type.
    controlled: HashMap<String, HashMap<&'static str, BTreeSet<NsName>>>,
    /// Event aggregation key (involved uid, reason, message) -> the event.
    event_keys: HashMap<String, NsName>,
    /// Events in creation order, for expiring the oldest beyond [`EVENT_LIMIT`].
    event_order: VecDeque<NsName>,
    /// Pods written since the kubelet last looked at them.
    pub(crate) dirty_pods: BTreeSet<NsName>,
    /// Pods written or deleted since the endpoints controller last looked.
    pub(crate) endpoint_pods: HashSet<NsName>,
    /// Pods the scheduler could not place (every node cordoned): looked at again each pass.
    pub(crate) unscheduled: BTreeSet<NsName>,
    /// Uids of objects (and of the controllers of objects) written since the controller's last pass.
    pub(crate) touched: HashSet<String>,
    rv: u64,
    histories: HashMap<&'static str, History>,
    pub pods: HashMap<String, PodLife>,
    pub denied_verbs: BTreeSet<String>,
    pub next_pod_ip: u32,
    pub timings: Timings,
    /// What the endpoints controller keeps between passes.
    pub(crate) endpoints: super::endpoints::Memory,
    /// The last pod/replicaset/budget change the disruption controller looked at, and when.
    pub(crate) budgets_seen: (u64, chrono::DateTime<Utc>),
    /// CPU a deployment's containers use, in percent of their request (a lab fault raises it);
    /// keyed by namespace and the pods' `app` label.
    pub(crate) cpu_load: HashMap<NsName, u32>,
    /// When the autoscaler last synced, and each HPA's recent recommendations (uid -> (time, replicas)).
    pub(crate) autoscaler: super::autoscaler::Memory,
}

/// Shared handle to the in-memory cluster state (cheap to clone).
#[derive(Clone)]
pub struct Cluster {
    state: Arc<Mutex<State>>,
}

impl Default for Cluster {
    fn default() -> Self {
        Self::new()
    }
}

impl Cluster {
    /// An empty cluster (no namespaces) with default [`Timings`].
    pub fn new() -> Self {
        Self::with_timings(Timings::default())
    }

    /// An empty cluster whose controller and kubelet run at the given speeds.
    pub fn with_timings(timings: Timings) -> Self {
        let rv = 1000;
        let state = State {
            objects: RESOURCES.iter().map(|r| (r.plural, BTreeMap::new())).collect(),
            uids: HashMap::new(),
            controlled: HashMap::new(),
            event_keys: HashMap::new(),
            event_order: VecDeque::new(),
            dirty_pods: BTreeSet::new(),
            endpoint_pods: HashSet::new(),
            unscheduled: BTreeSet::new(),
            touched: HashSet::new(),
            rv,
            histories: RESOURCES.iter().map(|r| (r.plural, History::new(rv))).collect(),
            pods: HashMap::new(),
            denied_verbs: BTreeSet::new(),
            next_pod_ip: 10,
            timings,
            endpoints: Default::default(),
            budgets_seen: (0, chrono::DateTime::<Utc>::UNIX_EPOCH),
            cpu_load: HashMap::new(),
            autoscaler: Default::default(),
        };
        Self { state: Arc::new(Mutex::new(state)) }
    }

    /// Locks the state; a panic elsewhere while holding the lock does not poison the lab.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes the server refuse these verbs (e.g. `["create", "delete", "patch", "update"]`) with 403,
    /// and SelfSubjectAccessReviews answer `allowed: false` for them: a read-only identity.
    pub fn deny_verbs(&self, verbs: &[&str]) {
        let mut state = self.lock();
        state.denied_verbs = verbs.iter().map(|v| v.to_string()).collect();
    }

    /// Forgets the watch history, so a watch from any older resourceVersion gets `410 Gone`.
    pub fn compact_history(&self) {
        let mut state = self.lock();
        let rv = state.rv;
        for history in state.histories.values_mut() {
            history.compacted_rv = rv;
            history.records.clear();
        }
    }

    /// Makes the containers of `app`'s pods in `namespace` use `percent` of their CPU request
    /// (as load on the service would): `kubectl top` shows it and the HPA scales on it.
    pub fn set_cpu_load(&self, namespace: &str, app: &str, percent: u32) {
        self.lock().cpu_load.insert((namespace.to_string(), app.to_string()), percent);
    }

    /// Reads one object as JSON (None when absent): for tests and the lab supervisor.
    pub fn object(&self, resource: &str, namespace: &str, name: &str) -> Option<Value> {
        let state = self.lock();
        let rt = RESOURCES.iter().find(|r| r.plural == resource)?;
        state.get(rt, namespace, name).cloned()
    }
}

/// The key events are aggregated by, as the real recorder does.
pub(crate) fn event_key(involved_uid: &str, reason: &str, message: &str) -> String {
    format!("{involved_uid}\u{0}{reason}\u{0}{message}")
}

impl State {
    /// The current (latest) resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    pub fn get(&self, rt: &ResourceType, namespace: &str, name: &str) -> Option<&Value> {
        self.objects.get(rt.plural)?.get(&(scope(rt, namespace), name.to_string())).map(Arc::as_ref)
    }

    fn of_type(&self, rt: &ResourceType, namespace: Option<&str>) -> Box<dyn Iterator<Item = &Arc<Value>> + '_> {
        let Some(objects) = self.objects.get(rt.plural) else {
            return Box::new(std::iter::empty());
        };
        match namespace.filter(|_| rt.namespaced) {
            None => Box::new(objects.values()),
            Some(ns) => {
                let ns = ns.to_string();
                let from = (ns.clone(), String::new());
                Box::new(objects.range(from..).take_while(move |((n, _), _)| *n == ns).map(|(_, obj)| obj))
            }
        }
    }

    /// Shared handles to objects of one type (`namespace` None means all namespaces), to filter and serialize after the lock is released.
    pub fn list_shared(&self, rt: &ResourceType, namespace: Option<&str>) -> Vec<Arc<Value>> {
        self.of_type(rt, namespace).cloned().collect()
    }

    /// Clones of objects of one type (for loops that then mutate the state).
    pub fn list_owned(&self, rt: &ResourceType, namespace: Option<&str>) -> Vec<Value> {
        self.of_type(rt, namespace).map(|o| o.as_ref().clone()).collect()
    }

    /// How many objects of type `rt` the object with uid `owner` controls.
    pub fn controlled_count(&self, rt: &ResourceType, owner: &str) -> usize {
        self.controlled.get(owner).and_then(|by_type| by_type.get(rt.plural)).map_or(0, BTreeSet::len)
    }

    /// The objects of type `rt` the object with uid `owner` controls (an index, not a scan).
    pub fn controlled_by(&self, rt: &ResourceType, owner: &str) -> Vec<&Value> {
        let Some(keys) = self.controlled.get(owner).and_then(|by_type| by_type.get(rt.plural)) else {
            return Vec::new();
        };
        let Some(objects) = self.objects.get(rt.plural) else {
            return Vec::new();
        };
        keys.iter().filter_map(|key| objects.get(key)).map(Arc::as_ref).collect()
    }

    /// Controller uids that no longer name an object, with what they control of type `rt`.
    pub fn orphans(&self, rt: &ResourceType) -> Vec<NsName> {
        self.controlled
            .iter()
            .filter(|(owner, _)| !self.uids.contains_key(*owner))
            .filter_map(|(_, by_type)| by_type.get(rt.plural))
            .flatten()
            .cloned()
            .collect()
    }

    /// The key of the object with this uid, if it exists.
    pub fn key_of_uid(&self, uid: &str) -> Option<&NsName> {
        self.uids.get(uid).map(|(_, key)| key)
    }

    /// The event aggregating (involved uid, reason, message), if one was recorded.
    pub fn event(&self, key: &str) -> Option<&Value> {
        let (ns, name) = self.event_keys.get(key)?;
        self.get(EVENTS, ns, name)
    }

    /// Stores a new object: fills uid, creationTimestamp, resourceVersion, generation.
    pub fn create(&mut self, rt: &'static ResourceType, namespace: &str, mut obj: Value) -> Result<Value, KubeStandInError> {
        let name = meta::name(&obj).to_string();
        if rt.namespaced && self.get(NAMESPACES, "", namespace).is_none() {
            return Err(KubeStandInError::NotFound { resource: "namespaces".into(), name: namespace.into() });
        }
        if self.get(rt, namespace, &name).is_some() {
            return Err(KubeStandInError::AlreadyExists { resource: rt.qualified(), name });
        }
        obj["apiVersion"] = json!(rt.api_version());
        obj["kind"] = json!(rt.kind);
        let metadata = &mut obj["metadata"];
        if rt.namespaced {
            metadata["namespace"] = json!(namespace);
        }
        metadata["uid"] = json!(meta::new_uid());
        if metadata.get("creationTimestamp").is_none_or(Value::is_null) {
            metadata["creationTimestamp"] = json!(meta::timestamp(Utc::now()));
        }
        if matches!(rt.plural, "deployments" | "replicasets" | "horizontalpodautoscalers" | "poddisruptionbudgets") {
            metadata["generation"] = json!(1);
        }
        if rt.plural == "events" {
            self.expire_events(namespace, &name);
        }
        Ok(self.put(rt, namespace, obj, Change::Added))
    }

    /// Remembers a new event and deletes the oldest ones beyond [`EVENT_LIMIT`].
    fn expire_events(&mut self, namespace: &str, name: &str) {
        self.event_order.push_back((namespace.to_string(), name.to_string()));
        while self.event_order.len() > EVENT_LIMIT {
            if let Some((ns, oldest)) = self.event_order.pop_front() {
                self.delete(EVENTS, &ns, &oldest);
            }
        }
    }

    /// Replaces an existing object; bumps `generation` when the spec changed and records a
    /// MODIFIED change only when something besides resourceVersion differs.
    pub fn update(&mut self, rt: &'static ResourceType, mut obj: Value) -> Value {
        let namespace = meta::namespace(&obj).to_string();
        let Some(old) = self.get(rt, &namespace, meta::name(&obj)) else {
            return self.put(rt, &namespace, obj, Change::Added);
        };
        obj["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"].clone();
        if old == &obj {
            return obj;
        }
        if old.get("spec") != obj.get("spec") && old.pointer("/metadata/generation").is_some() {
            obj["metadata"]["generation"] = json!(meta::int_at(old, "/metadata/generation", 1) + 1);
        }
        self.put(rt, &namespace, obj, Change::Modified)
    }

    /// Removes an object, recording a DELETED change; None when it did not exist.
    pub fn delete(&mut self, rt: &'static ResourceType, namespace: &str, name: &str) -> Option<Value> {
        let key = (scope(rt, namespace), name.to_string());
        let old = self.objects.get_mut(rt.plural)?.remove(&key)?;
        self.unindex(rt, &key, &old);
        let mut obj = Arc::unwrap_or_clone(old);
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        if rt.plural == "pods" {
            self.pods.remove(meta::uid(&obj));
            self.dirty_pods.remove(&key);
            self.endpoint_pods.insert(key.clone());
        }
        let shared = Arc::new(obj);
        self.record(rt, Change::Deleted, shared.clone());
        Some(Arc::unwrap_or_clone(shared))
    }

    fn put(&mut self, rt: &'static ResourceType, namespace: &str, mut obj: Value, change: Change) -> Value {
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        let key = (scope(rt, namespace), meta::name(&obj).to_string());
        let shared = Arc::new(obj);
        if let Some(old) = self.objects.entry(rt.plural).or_default().insert(key.clone(), shared.clone()) {
            self.unindex(rt, &key, &old);
        }
        self.index(rt, &key, &shared);
        if rt.plural == "pods" {
            self.endpoint_pods.insert(key.clone());
            self.dirty_pods.insert(key);
        }
        self.record(rt, change, shared.clone());
        Arc::unwrap_or_clone(shared)
    }

    fn index(&mut self, rt: &'static ResourceType, key: &NsName, obj: &Value) {
        let uid = meta::uid(obj);
        self.uids.insert(uid.to_string(), (rt.plural, key.clone()));
        self.touched.insert(uid.to_string());
        if let Some(owner) = meta::controller_uid(obj) {
            self.touched.insert(owner.to_string());
            self.controlled.entry(owner.to_string()).or_default().entry(rt.plural).or_default().insert(key.clone());
        }
        if rt.plural == "events" {
            let involved = meta::str_at(obj, "/involvedObject/uid");
            let aggregation = event_key(involved, meta::str_at(obj, "/reason"), meta::str_at(obj, "/message"));
            self.event_keys.insert(aggregation, key.clone());
        }
    }

    fn unindex(&mut self, rt: &'static ResourceType, key: &NsName, obj: &Value) {
        self.uids.remove(meta::uid(obj));
        if let Some(owner) = meta::controller_uid(obj) {
            self.touched.insert(owner.to_string());
            if let Some(by_type) = self.controlled.get_mut(owner) {
                if let Some(keys) = by_type.get_mut(rt.plural) {
                    keys.remove(key);
                    if keys.is_empty() {
                        by_type.remove(rt.plural);
                    }
                }
                if by_type.is_empty() {
                    self.controlled.remove(owner);
                }
            }
        }
        if rt.plural == "events" {
            let involved = meta::str_at(obj, "/involvedObject/uid");
            self.event_keys.remove(&event_key(involved, meta::str_at(obj, "/reason"), meta::str_at(obj, "/message")));
        }
    }

    fn record(&mut self, rt: &'static ResourceType, change: Change, object: Arc<Value>) {
        let record = Arc::new(ChangeRecord { rv: self.rv, resource: rt.plural, change, object });
        let history = self.histories.entry(rt.plural).or_insert_with(|| History::new(record.rv - 1));
        if history.records.len() >= HISTORY_LIMIT
            && let Some(dropped) = history.records.pop_front()
        {
            history.compacted_rv = dropped.rv;
        }
        history.records.push_back(record.clone());
        // No receivers is normal (nobody watching).
        let _ = history.changes.send(record);
    }

    /// The resourceVersion of the latest change to any of these types (0 when none changed yet).
    pub fn last_change(&self, types: &[&ResourceType]) -> u64 {
        types.iter().filter_map(|rt| self.histories.get(rt.plural)?.records.back().map(|r| r.rv)).max().unwrap_or(0)
    }

    /// Changes after `since` plus a receiver for the ones to come, taken atomically so a
    /// watch misses nothing; `Expired` when `since` is older than the retained history.
    pub fn changes_since(&self, rt: &ResourceType, since: u64) -> Result<Subscription, KubeStandInError> {
        let Some(history) = self.histories.get(rt.plural) else {
            return Err(KubeStandInError::UnknownPath);
        };
        if since < history.compacted_rv {
            return Err(KubeStandInError::Expired { requested: since, oldest: history.compacted_rv });
        }
        let first = history.records.partition_point(|r| r.rv <= since);
        let past = history.records.range(first..).cloned().collect();
        Ok((past, history.changes.subscribe()))
    }
}

/// Cluster-scoped objects are stored under the empty namespace.
fn scope(rt: &ResourceType, namespace: &str) -> String {
    if rt.namespaced { namespace.to_string() } else { String::new() }
}
