//! The endpoints and endpointslice controllers: for each Service with a selector, its pods (ready
//! ones as addresses, the rest as not ready) written as one Endpoints and slices of 100 endpoints.
//! Incremental, as upstream's: a pass reads only the pods written since the last one, a pod keeps
//! its slice, and only the slices that changed are written (10,000 starting pods stay cheap).

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

use super::controller::pod_ready;
use super::meta::{self, int_at, str_at};
use super::resources::{ENDPOINTS, ENDPOINTSLICES, PODS, ResourceType, SERVICES};
use super::selector::match_labels;
use super::store::{NsName, State};

/// The label linking an EndpointSlice to its Service.
const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
const MANAGED_BY_LABEL: &str = "endpointslice.kubernetes.io/managed-by";
const MANAGED_BY: &str = "endpointslice-controller.k8s.io";
/// `maxEndpointsPerSlice`'s default.
const MAX_SLICE_ENDPOINTS: usize = 100;
/// The most addresses one Endpoints object holds (`maxCapacity` upstream).
const MAX_ENDPOINTS_ADDRESSES: usize = 1000;

/// What an endpoint needs of a pod (the pods themselves are not copied: 10,000 of them may match).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Member {
    ip: String,
    node: String,
    uid: String,
    ready: bool,
}

/// Pod name -> member, one map per slice, and which slice holds each pod.
#[derive(Debug, Default)]
struct Slices {
    slices: Vec<BTreeMap<String, Member>>,
    at: HashMap<String, usize>,
}

/// What the controller keeps between passes.
#[derive(Debug, Default)]
pub(crate) struct Memory {
    /// The last service change looked at (a changed service rebuilds everything).
    services_seen: Option<u64>,
    services: HashMap<NsName, Slices>,
}

fn member(pod: &Value) -> Member {
    Member {
        ip: str_at(pod, "/status/podIP").to_string(),
        node: str_at(pod, "/spec/nodeName").to_string(),
        uid: meta::uid(pod).to_string(),
        ready: pod_ready(pod),
    }
}

fn selects(service: &Value, pod: &Value) -> bool {
    meta::namespace(service) == meta::namespace(pod)
        && match_labels(&service["spec"]["selector"], pod)
        && !str_at(pod, "/status/podIP").is_empty()
}

fn key(obj: &Value) -> NsName {
    (meta::namespace(obj).to_string(), meta::name(obj).to_string())
}

/// Services whose endpoints are the controller's (without a selector they are the user's, as for
/// `default/kubernetes`).
fn selecting_services(state: &State) -> Vec<Value> {
    let services = state.list_owned(SERVICES, None);
    services.into_iter().filter(|s| s.pointer("/spec/selector").and_then(Value::as_object).is_some_and(|m| !m.is_empty())).collect()
}

/// One pass: only the pods written since the last one (a quiet cluster costs nothing).
pub(crate) fn sync(state: &mut State) {
    let services_seen = state.last_change(&[SERVICES]);
    if state.endpoints.services_seen != Some(services_seen) {
        state.endpoints.services_seen = Some(services_seen);
        state.endpoint_pods.clear();
        let services = selecting_services(state);
        rebuild(state, &services);
        return;
    }
    if state.endpoint_pods.is_empty() {
        return;
    }
    let changed = std::mem::take(&mut state.endpoint_pods);
    let services = selecting_services(state);
    let mut dirty: BTreeMap<NsName, Vec<usize>> = BTreeMap::new();
    for (ns, pod_name) in changed {
        let pod = state.get(PODS, &ns, &pod_name).cloned();
        for service in services.iter().filter(|s| meta::namespace(s) == ns) {
            let wanted = pod.as_ref().filter(|p| selects(service, p)).map(member);
            let slices = state.endpoints.services.entry(key(service)).or_default();
            if let Some(index) = place(slices, &pod_name, wanted) {
                dirty.entry(key(service)).or_default().push(index);
            }
        }
    }
    for service in &services {
        if let Some(indexes) = dirty.get_mut(&key(service)) {
            indexes.sort_unstable();
            indexes.dedup();
            write_service(state, service, indexes);
        }
    }
}

/// Puts `pod` (or removes it, for None) in its slice; returns the slice index that changed.
fn place(slices: &mut Slices, pod: &str, wanted: Option<Member>) -> Option<usize> {
    match (slices.at.get(pod).copied(), wanted) {
        (Some(i), Some(m)) if slices.slices[i].get(pod) == Some(&m) => None,
        (Some(i), Some(m)) => {
            slices.slices[i].insert(pod.to_string(), m);
            Some(i)
        }
        (Some(i), None) => {
            slices.slices[i].remove(pod);
            slices.at.remove(pod);
            Some(i)
        }
        (None, Some(m)) => {
            let i = slices.slices.iter().position(|s| s.len() < MAX_SLICE_ENDPOINTS).unwrap_or_else(|| {
                slices.slices.push(BTreeMap::new());
                slices.slices.len() - 1
            });
            slices.slices[i].insert(pod.to_string(), m);
            slices.at.insert(pod.to_string(), i);
            Some(i)
        }
        (None, None) => None,
    }
}

/// Every service from scratch (the first pass, a changed service, a history that no longer reaches).
fn rebuild(state: &mut State, services: &[Value]) {
    state.endpoints.services.clear();
    let pods = state.list_shared(PODS, None);
    for service in services {
        let mut slices = Slices::default();
        for pod in pods.iter().filter(|p| selects(service, p)) {
            place(&mut slices, meta::name(pod), Some(member(pod)));
        }
        state.endpoints.services.insert(key(service), slices);
        let all: Vec<usize> = (0..state.endpoints.services[&key(service)].slices.len().max(1)).collect();
        write_service(state, service, &all);
    }
    drop_orphans(state, services);
}

/// Each service port as the pods expose it: a numeric targetPort, else the port itself.
fn target_ports(service: &Value) -> Vec<Value> {
    let ports = service.pointer("/spec/ports").and_then(Value::as_array).cloned().unwrap_or_default();
    ports
        .iter()
        .map(|p| {
            let port = p.get("targetPort").and_then(Value::as_i64).unwrap_or_else(|| int_at(p, "/port", 0));
            let mut out = json!({"port": port, "protocol": p.get("protocol").cloned().unwrap_or(json!("TCP"))});
            if let Some(name) = p.get("name").filter(|n| n.as_str().is_some_and(|n| !n.is_empty())) {
                out["name"] = name.clone();
            }
            out
        })
        .collect()
}

fn target_ref(namespace: &str, pod: &str, m: &Member) -> Value {
    json!({"kind": "Pod", "namespace": namespace, "name": pod, "uid": m.uid})
}

fn slice_name(service: &NsName, index: usize) -> String {
    format!("{}-{}", service.1, &meta::stable_hash(&json!([service.0, service.1, index]))[..5])
}

/// Writes the service's Endpoints and the slices at `changed`.
fn write_service(state: &mut State, service: &Value, changed: &[usize]) {
    let svc = key(service);
    let (ns, name) = (svc.0.as_str(), svc.1.as_str());
    // Taken out while the objects are written, and put back (not copied: it may hold 10,000 pods).
    let slices = state.endpoints.services.remove(&svc).unwrap_or_default();
    let ports = target_ports(service);
    let created = str_at(service, "/metadata/creationTimestamp");
    let service_labels = service.pointer("/metadata/labels").cloned().unwrap_or(json!({}));

    let mut members: Vec<(&String, &Member)> = slices.slices.iter().flatten().collect();
    members.sort_by(|a, b| (!a.1.ready, a.0).cmp(&(!b.1.ready, b.0)));
    let mut endpoints = json!({"metadata": {"name": name, "namespace": ns, "labels": service_labels, "creationTimestamp": created}});
    if !members.is_empty() {
        // The endpoints controller keeps at most 1000 addresses and says so (slices hold them all).
        let kept = &members[..members.len().min(MAX_ENDPOINTS_ADDRESSES)];
        let address = |pod: &str, m: &Member| json!({"ip": m.ip, "nodeName": m.node, "targetRef": target_ref(ns, pod, m)});
        let ready: Vec<Value> = kept.iter().filter(|(_, m)| m.ready).map(|(pod, m)| address(pod, m)).collect();
        let not_ready: Vec<Value> = kept.iter().filter(|(_, m)| !m.ready).map(|(pod, m)| address(pod, m)).collect();
        let mut subset = json!({"ports": ports});
        if !ready.is_empty() {
            subset["addresses"] = json!(ready);
        }
        if !not_ready.is_empty() {
            subset["notReadyAddresses"] = json!(not_ready);
        }
        endpoints["subsets"] = json!([subset]);
        if members.len() > MAX_ENDPOINTS_ADDRESSES {
            meta::set_annotation(&mut endpoints, "endpoints.kubernetes.io/over-capacity", "truncated");
        }
    }
    write(state, ENDPOINTS, endpoints);

    let mut labels = service_labels;
    labels[SERVICE_NAME_LABEL] = json!(name);
    labels[MANAGED_BY_LABEL] = json!(MANAGED_BY);
    let empty = BTreeMap::new();
    for &index in changed {
        let slice = slices.slices.get(index).unwrap_or(&empty);
        if slice.is_empty() && index > 0 {
            // An emptied slice goes (the first one stays, so a service always has one).
            state.delete(ENDPOINTSLICES, ns, &slice_name(&svc, index));
            continue;
        }
        let endpoints: Vec<Value> = slice
            .iter()
            .map(|(pod, m)| {
                json!({"addresses": [m.ip], "conditions": {"ready": m.ready, "serving": m.ready, "terminating": false},
                       "nodeName": m.node, "targetRef": target_ref(ns, pod, m)})
            })
            .collect();
        let slice = json!({
            "metadata": {"name": slice_name(&svc, index), "namespace": ns, "labels": labels, "creationTimestamp": created,
                         "ownerReferences": [meta::owner_reference(service)]},
            "addressType": "IPv4",
            "endpoints": endpoints,
            "ports": ports,
        });
        write(state, ENDPOINTSLICES, slice);
    }
    state.endpoints.services.insert(svc, slices);
}

/// Creates the object, or replaces it keeping its identity (the store skips unchanged writes).
fn write(state: &mut State, rt: &'static ResourceType, mut obj: Value) {
    let (ns, name) = key(&obj);
    match state.get(rt, &ns, &name) {
        Some(current) => {
            for field in ["uid", "creationTimestamp"] {
                obj["metadata"][field] = current["metadata"][field].clone();
            }
            obj["apiVersion"] = current["apiVersion"].clone();
            obj["kind"] = current["kind"].clone();
            state.update(rt, obj);
        }
        None => {
            // The namespace exists: the service lives in it.
            let _ = state.create(rt, &ns, obj);
        }
    }
}

fn label<'a>(obj: &'a Value, key: &str) -> &'a str {
    str_at(obj, &format!("/metadata/labels/{}", key.replace('/', "~1")))
}

/// Endpoints and slices the controller made for services that are gone (or slices it no longer keeps).
fn drop_orphans(state: &mut State, services: &[Value]) {
    let exists = |ns: &str, name: &str| services.iter().any(|s| meta::namespace(s) == ns && meta::name(s) == name);
    let mut gone = Vec::new();
    for slice in state.list_shared(ENDPOINTSLICES, None) {
        let (ns, service) = (meta::namespace(&slice).to_string(), label(&slice, SERVICE_NAME_LABEL).to_string());
        let kept = state.endpoints.services.get(&(ns.clone(), service.clone())).map_or(0, |s| s.slices.len().max(1));
        let known = (0..kept).any(|i| slice_name(&(ns.clone(), service.clone()), i) == meta::name(&slice));
        if label(&slice, MANAGED_BY_LABEL) == MANAGED_BY && (!exists(&ns, &service) || !known) {
            gone.push((ENDPOINTSLICES, ns, meta::name(&slice).to_string()));
        }
    }
    for endpoints in state.list_shared(ENDPOINTS, None) {
        if !exists(meta::namespace(&endpoints), meta::name(&endpoints))
            && state.get(SERVICES, meta::namespace(&endpoints), meta::name(&endpoints)).is_none()
        {
            gone.push((ENDPOINTS, meta::namespace(&endpoints).to_string(), meta::name(&endpoints).to_string()));
        }
    }
    for (rt, ns, name) in gone {
        state.delete(rt, &ns, &name);
    }
}
