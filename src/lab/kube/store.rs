//! The in-memory cluster state: objects by resource/namespace/name, one resourceVersion counter,
//! and the retained change history that watches replay and resume from.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::error::KubeStandInError;
use super::kubelet::PodLife;
use super::meta;
use super::resources::{NAMESPACES, ResourceType};

/// How many changes a watch can resume across before it gets `410 Gone`.
const HISTORY_LIMIT: usize = 4096;

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

/// One retained change, shared by every watch that wants it.
#[derive(Debug)]
pub(crate) struct ChangeRecord {
    pub rv: u64,
    pub resource: &'static str,
    pub change: Change,
    pub object: Value,
}

/// Retained changes after a version, and the receiver for the ones to come.
pub(crate) type Subscription = (Vec<Arc<ChangeRecord>>, broadcast::Receiver<Arc<ChangeRecord>>);

type ObjectKey = (&'static str, String, String);

/// Everything behind the lock.
pub(crate) struct State {
    objects: BTreeMap<ObjectKey, Value>,
    rv: u64,
    history: VecDeque<Arc<ChangeRecord>>,
    /// Watches from a version below this get `410 Gone`.
    compacted_rv: u64,
    changes: broadcast::Sender<Arc<ChangeRecord>>,
    pub pods: HashMap<String, PodLife>,
    pub denied_verbs: BTreeSet<String>,
    pub next_pod_ip: u32,
    pub timings: Timings,
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
        let (changes, _) = broadcast::channel(HISTORY_LIMIT);
        let state = State {
            objects: BTreeMap::new(),
            rv: 1000,
            history: VecDeque::new(),
            compacted_rv: 1000,
            changes,
            pods: HashMap::new(),
            denied_verbs: BTreeSet::new(),
            next_pod_ip: 10,
            timings,
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
        state.compacted_rv = state.rv;
        state.history.clear();
    }

    /// Reads one object as JSON (None when absent): for tests and the lab supervisor.
    pub fn object(&self, resource: &str, namespace: &str, name: &str) -> Option<Value> {
        let state = self.lock();
        let rt = super::resources::RESOURCES.iter().find(|r| r.plural == resource)?;
        state.get(rt, namespace, name).cloned()
    }
}

impl State {
    /// The current (latest) resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    pub fn get(&self, rt: &ResourceType, namespace: &str, name: &str) -> Option<&Value> {
        self.objects.get(&(rt.plural, scope(rt, namespace), name.to_string()))
    }

    /// Objects of one type; `namespace` None means all namespaces.
    pub fn list(&self, rt: &ResourceType, namespace: Option<&str>) -> Vec<&Value> {
        self.objects
            .iter()
            .filter(|((plural, ns, _), _)| *plural == rt.plural && namespace.is_none_or(|want| !rt.namespaced || want == ns))
            .map(|(_, obj)| obj)
            .collect()
    }

    /// Clones of objects of one type (for loops that then mutate the state).
    pub fn list_owned(&self, rt: &ResourceType, namespace: Option<&str>) -> Vec<Value> {
        self.list(rt, namespace).into_iter().cloned().collect()
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
        if rt.plural == "deployments" || rt.plural == "replicasets" {
            metadata["generation"] = json!(1);
        }
        Ok(self.put(rt, namespace, obj, Change::Added))
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
        let mut obj = self.objects.remove(&(rt.plural, scope(rt, namespace), name.to_string()))?;
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        if rt.plural == "pods" {
            self.pods.remove(meta::uid(&obj));
        }
        self.record(rt, Change::Deleted, obj.clone());
        Some(obj)
    }

    fn put(&mut self, rt: &'static ResourceType, namespace: &str, mut obj: Value, change: Change) -> Value {
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        let key = (rt.plural, scope(rt, namespace), meta::name(&obj).to_string());
        self.objects.insert(key, obj.clone());
        self.record(rt, change, obj.clone());
        obj
    }

    fn record(&mut self, rt: &'static ResourceType, change: Change, object: Value) {
        let record = Arc::new(ChangeRecord { rv: self.rv, resource: rt.plural, change, object });
        if self.history.len() >= HISTORY_LIMIT
            && let Some(dropped) = self.history.pop_front()
        {
            self.compacted_rv = dropped.rv;
        }
        self.history.push_back(record.clone());
        // No receivers is normal (nobody watching).
        let _ = self.changes.send(record);
    }

    /// Changes after `since` plus a receiver for the ones to come, taken atomically so a
    /// watch misses nothing; `Expired` when `since` is older than the retained history.
    pub fn changes_since(&self, since: u64) -> Result<Subscription, KubeStandInError> {
        if since < self.compacted_rv {
            return Err(KubeStandInError::Expired { requested: since, oldest: self.compacted_rv });
        }
        let past = self.history.iter().filter(|r| r.rv > since).cloned().collect();
        Ok((past, self.changes.subscribe()))
    }
}

/// Cluster-scoped objects are stored under the empty namespace.
fn scope(rt: &ResourceType, namespace: &str) -> String {
    if rt.namespaced { namespace.to_string() } else { String::new() }
}
