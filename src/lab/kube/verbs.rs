//! The verbs on resources: get, list, create, update, patch, delete, plus the scale and log
//! subresources and SelfSubjectAccessReviews; validation and defaulting as the real server does.

use std::sync::Arc;

use axum::http::Method;
use chrono::Utc;
use serde_json::{Value, json};

use super::controller;
use super::error::{Cause, KubeStandInError};
use super::meta::{self, int_at, str_at};
use super::patch::apply_patch;
use super::protobuf;
use super::resources::{DEPLOYMENTS, RESOURCES, ResourceType};
use super::selector::{FieldSelector, LabelSelector};
use super::store::{Cluster, State};
use super::table::{self, RowObject};
use super::validation;

/// The resource (and maybe object, maybe subresource) a request addresses.
#[derive(Debug)]
pub(crate) struct Target {
    pub rt: &'static ResourceType,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

impl Target {
    fn ns(&self) -> &str {
        self.namespace.as_deref().unwrap_or("")
    }

    fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }

    fn not_found(&self) -> KubeStandInError {
        KubeStandInError::NotFound { resource: self.rt.qualified(), name: self.name().to_string() }
    }
}

/// The RBAC verb of a request.
pub(crate) fn verb_of(method: &Method, target: &Target, watching: bool) -> &'static str {
    match (method.as_str(), target.name.is_some()) {
        ("GET", false) if watching => "watch",
        ("GET", false) => "list",
        ("GET", true) => "get",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", _) => "delete",
        _ => "unknown",
    }
}

/// 405 for a verb the resource does not serve (a watch on metrics, a list of reviews).
pub(crate) fn supported(verb: &str, target: &Target) -> Result<(), KubeStandInError> {
    if target.subresource.is_some() || target.rt.verbs.contains(&verb) {
        return Ok(());
    }
    Err(KubeStandInError::MethodNotAllowed)
}

/// 403 when the verb is denied (read-only identity), as the real authorizer words it.
pub(crate) fn authorize(cluster: &Cluster, verb: &str, target: &Target) -> Result<(), KubeStandInError> {
    if target.rt.plural.starts_with("selfsubject") || !cluster.lock().denied_verbs.contains(verb) {
        return Ok(());
    }
    let subject = match &target.name {
        Some(name) => format!("{} \"{name}\"", target.rt.qualified()),
        None => target.rt.qualified(),
    };
    let scope = target.namespace.as_deref().map_or(" at the cluster scope".to_string(), |ns| format!(" in the namespace \"{ns}\""));
    let resource = match &target.subresource {
        Some(sub) => format!("{}/{sub}", target.rt.plural),
        None => target.rt.plural.to_string(),
    };
    Err(KubeStandInError::Forbidden(format!(
        "{subject} is forbidden: User \"sitrep-lab\" cannot {verb} resource \"{resource}\" in API group \"{}\"{scope}",
        target.rt.group
    )))
}

/// A list answer, serialized. The lock is held only to take shared handles to the objects:
/// filtering, table printing and serialization of 10,000 pods happen after it is released.
pub(crate) fn list(
    cluster: &Cluster,
    target: &Target,
    labels: &LabelSelector,
    fields: &FieldSelector,
    table: Option<RowObject>,
    accept: &str,
    page: &Page,
) -> Result<String, KubeStandInError> {
    let (now_rv, shared) = {
        let state = cluster.lock();
        let objects = if target.rt.is_computed() {
            super::metrics::objects(&state, target.rt, target.namespace.as_deref())
        } else {
            state.list_shared(target.rt, target.namespace.as_deref())
        };
        (state.resource_version(), objects)
    };
    let after = page.after()?;
    // Every page of one listing says the first page's version: a watch from it misses nothing.
    let rv = after.as_ref().map_or(now_rv, |(rv, _, _)| *rv);
    let mut items: Vec<&Value> = shared
        .iter()
        .map(Arc::as_ref)
        .filter(|o| after.as_ref().is_none_or(|(_, ns, name)| (meta::namespace(o), meta::name(o)) > (ns.as_str(), name.as_str())))
        .filter(|o| labels.matches(o) && fields.matches(o))
        .collect();
    if let Some(include) = table {
        return Ok(table::table(target.rt, &items, rv, include).to_string());
    }
    let mut metadata = json!({"resourceVersion": rv.to_string()});
    if let Some(limit) = page.limit.filter(|l| *l > 0 && items.len() > *l) {
        items.truncate(limit);
        if let Some(last) = items.last() {
            metadata["continue"] = json!(format!("{rv}|{}|{}", meta::namespace(last), meta::name(last)));
        }
    }
    let body = if accept.contains("as=PartialObjectMetadataList") {
        let items: Vec<Value> = items.into_iter().map(table::partial_metadata).collect();
        serde_json::to_string(&ListBody {
            kind: "PartialObjectMetadataList".into(),
            api_version: "meta.k8s.io/v1".into(),
            metadata,
            items: items.iter().collect(),
        })
    } else {
        serde_json::to_string(&ListBody { kind: format!("{}List", target.rt.kind), api_version: target.rt.api_version(), metadata, items })
    };
    body.map_err(|e| KubeStandInError::BadRequest(format!("cannot encode the {} list: {e}", target.rt.plural)))
}

/// `limit` and `continue` of a list request, as the API server pages a listing (kube's watcher
/// asks for 500 at a time, kubectl for 500 too).
#[derive(Debug, Default)]
pub(crate) struct Page {
    pub limit: Option<usize>,
    pub continue_token: Option<String>,
}

impl Page {
    /// The listing's version and the last key already sent, from the continue token.
    fn after(&self) -> Result<Option<(u64, String, String)>, KubeStandInError> {
        let Some(token) = self.continue_token.as_deref().filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        let mut parts = token.splitn(3, '|');
        match (parts.next().and_then(|rv| rv.parse().ok()), parts.next(), parts.next()) {
            (Some(rv), Some(ns), Some(name)) => Ok(Some((rv, ns.to_string(), name.to_string()))),
            _ => Err(KubeStandInError::BadRequest(format!("invalid continue token {token:?}"))),
        }
    }
}

/// A `*List` object serialized straight from borrowed items (no deep copy of 10,000 pods).
#[derive(serde::Serialize)]
struct ListBody<'a> {
    kind: String,
    #[serde(rename = "apiVersion")]
    api_version: String,
    metadata: Value,
    items: Vec<&'a Value>,
}

pub(crate) fn get(cluster: &Cluster, target: &Target, table: Option<RowObject>, accept: &str) -> Result<Value, KubeStandInError> {
    let state = cluster.lock();
    if target.rt.is_computed() {
        let objects = super::metrics::objects(&state, target.rt, target.namespace.as_deref());
        let obj = objects.iter().find(|o| meta::name(o) == target.name()).ok_or_else(|| target.not_found())?;
        return Ok(match table {
            Some(include) => table::table(target.rt, &[obj.as_ref()], state.resource_version(), include),
            None => obj.as_ref().clone(),
        });
    }
    let obj = state.get(target.rt, target.ns(), target.name()).ok_or_else(|| target.not_found())?;
    match target.subresource.as_deref() {
        None | Some("status") => {}
        Some("scale") => return Ok(scale_of(obj)),
        Some(_) => return Err(KubeStandInError::UnknownPath),
    }
    if let Some(include) = table {
        return Ok(table::table(target.rt, &[obj], state.resource_version(), include));
    }
    if accept.contains("as=PartialObjectMetadata") {
        return Ok(table::partial_metadata(obj));
    }
    Ok(obj.clone())
}

/// The `autoscaling/v1 Scale` view of a deployment or replicaset.
fn scale_of(obj: &Value) -> Value {
    let mut selector: Vec<String> =
        meta::string_map(obj, "/spec/selector/matchLabels").into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    selector.sort();
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta::name(obj), "namespace": meta::namespace(obj), "uid": meta::uid(obj),
            "resourceVersion": str_at(obj, "/metadata/resourceVersion"),
            "creationTimestamp": str_at(obj, "/metadata/creationTimestamp"),
        },
        "spec": {"replicas": int_at(obj, "/spec/replicas", 1)},
        "status": {"replicas": int_at(obj, "/status/replicas", 0), "selector": selector.join(",")},
    })
}

fn parse_body(body: &[u8]) -> Result<Value, KubeStandInError> {
    if protobuf::is_protobuf(body) {
        return Err(KubeStandInError::UnsupportedMediaType);
    }
    let mut value: Value = serde_json::from_slice(body)
        .or_else(|_| serde_yaml_ng::from_slice(body))
        .map_err(|e| KubeStandInError::BadRequest(format!("the request body is not a valid object: {e}")))?;
    prune_nulls(&mut value);
    Ok(value)
}

/// Drops `null` fields, as decoding into typed objects does on the real server
/// (`creationTimestamp: null` in kubectl's rollback patch must not make templates differ).
pub(crate) fn prune_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(prune_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(prune_nulls),
        _ => {}
    }
}

pub(crate) fn create(cluster: &Cluster, target: &Target, body: &[u8], dry_run: bool) -> Result<Value, KubeStandInError> {
    if target.rt.plural == "selfsubjectaccessreviews" {
        let review = if protobuf::is_protobuf(body) { protobuf::self_subject_access_review(body)? } else { parse_body(body)? };
        return Ok(review_access(cluster, review));
    }
    if target.rt.plural == "selfsubjectrulesreviews" {
        let review = if protobuf::is_protobuf(body) { protobuf::self_subject_rules_review(body)? } else { parse_body(body)? };
        return Ok(review_rules(cluster, review));
    }
    let mut obj = parse_body(body)?;
    if target.name.is_some() {
        return Err(KubeStandInError::MethodNotAllowed);
    }
    let mut state = cluster.lock();
    check_namespace(target, &obj)?;
    if meta::name(&obj).is_empty() {
        let generate = str_at(&obj, "/metadata/generateName").to_string();
        if generate.is_empty() {
            return Err(invalid(target.rt, "", "metadata.name", "Required value: name or generateName is required"));
        }
        obj["metadata"]["name"] = json!(format!("{generate}{}", meta::random_suffix(5)));
    }
    validate_meta(target.rt, &obj)?;
    if let Some(map) = obj.as_object_mut() {
        map.remove("status");
    }
    default_and_validate(target.rt, &mut obj)?;
    if target.rt.plural == "namespaces" {
        obj["status"] = json!({"phase": "Active"});
    }
    if dry_run {
        return Ok(obj);
    }
    let created = state.create(target.rt, target.ns(), obj)?;
    if controller::is_workload(target.rt) {
        controller::reconcile(&mut state, Utc::now());
    }
    Ok(created)
}

pub(crate) fn replace(cluster: &Cluster, target: &Target, body: &[u8], dry_run: bool) -> Result<Value, KubeStandInError> {
    let incoming = parse_body(body)?;
    let mut state = cluster.lock();
    let current = state.get(target.rt, target.ns(), target.name()).cloned().ok_or_else(|| target.not_found())?;
    let sent_rv = str_at(&incoming, "/metadata/resourceVersion");
    if !sent_rv.is_empty() && sent_rv != str_at(&current, "/metadata/resourceVersion") {
        return Err(KubeStandInError::Conflict {
            resource: target.rt.qualified(),
            name: target.name().to_string(),
            detail: "the object has been modified; please apply your changes to the latest version and try again".into(),
        });
    }
    let next = if target.subresource.as_deref() == Some("scale") {
        with_replicas(&current, int_at(&incoming, "/spec/replicas", 1))
    } else {
        check_namespace(target, &incoming)?;
        keep_server_fields(&current, incoming)
    };
    store_change(&mut state, target, next, dry_run)
}

pub(crate) fn patch(cluster: &Cluster, target: &Target, content_type: &str, body: &[u8], dry_run: bool) -> Result<Value, KubeStandInError> {
    let mut state = cluster.lock();
    let current = state.get(target.rt, target.ns(), target.name()).cloned().ok_or_else(|| target.not_found())?;
    let next = if target.subresource.as_deref() == Some("scale") {
        let scale = apply_patch(&scale_of(&current), content_type, body)?;
        with_replicas(&current, int_at(&scale, "/spec/replicas", 1))
    } else {
        let mut patched = apply_patch(&current, content_type, body)?;
        prune_nulls(&mut patched);
        keep_server_fields(&current, patched)
    };
    store_change(&mut state, target, next, dry_run)
}

fn store_change(state: &mut State, target: &Target, mut next: Value, dry_run: bool) -> Result<Value, KubeStandInError> {
    validate_meta(target.rt, &next)?;
    default_and_validate(target.rt, &mut next)?;
    if dry_run {
        return Ok(next);
    }
    let stored = state.update(target.rt, next);
    if controller::is_workload(target.rt) {
        controller::reconcile(state, Utc::now());
    }
    if target.subresource.as_deref() == Some("scale") {
        return Ok(scale_of(&stored));
    }
    Ok(stored)
}

fn with_replicas(current: &Value, replicas: i64) -> Value {
    let mut next = current.clone();
    next["spec"]["replicas"] = json!(replicas);
    next
}

/// Identity, creation time and (for types with a status subresource) status are the server's.
fn keep_server_fields(current: &Value, mut next: Value) -> Value {
    for key in ["name", "namespace", "uid", "creationTimestamp", "generation"] {
        match current["metadata"].get(key) {
            Some(v) => next["metadata"][key] = v.clone(),
            None => {
                if let Some(m) = next["metadata"].as_object_mut() {
                    m.remove(key);
                }
            }
        }
    }
    for key in ["apiVersion", "kind", "status"] {
        if let Some(v) = current.get(key) {
            next[key] = v.clone();
        }
    }
    next
}

fn check_namespace(target: &Target, obj: &Value) -> Result<(), KubeStandInError> {
    let declared = meta::namespace(obj);
    if target.rt.namespaced && !declared.is_empty() && declared != target.ns() {
        return Err(KubeStandInError::BadRequest(
            "the namespace of the provided object does not match the namespace sent on the request".into(),
        ));
    }
    Ok(())
}

pub(crate) fn delete(cluster: &Cluster, target: &Target, dry_run: bool) -> Result<Value, KubeStandInError> {
    let mut state = cluster.lock();
    let current = state.get(target.rt, target.ns(), target.name()).cloned().ok_or_else(|| target.not_found())?;
    if dry_run {
        return Ok(current);
    }
    if target.rt.plural == "namespaces" {
        for rt in RESOURCES.iter().filter(|r| r.namespaced && r.is_stored()) {
            for obj in state.list_owned(rt, Some(target.name())) {
                state.delete(rt, target.name(), meta::name(&obj));
            }
        }
    }
    let deleted = state.delete(target.rt, target.ns(), target.name()).ok_or_else(|| target.not_found())?;
    controller::reconcile(&mut state, Utc::now());
    Ok(deleted)
}

/// `POST pods/NAME/eviction` (policy/v1 or v1beta1 `Eviction`), as the real eviction REST does:
/// 400 when the body names another pod, 404 when the pod is gone, otherwise the pod is deleted and
/// the answer is a `201` Success Status — unless a PodDisruptionBudget covering it is at its
/// minimum (429, clients retry) or two cover it (500).
pub(crate) fn evict(cluster: &Cluster, target: &Target, body: &[u8], dry_run: bool) -> Result<Value, KubeStandInError> {
    let eviction = parse_body(body)?;
    if str_at(&eviction, "/kind") != "Eviction" {
        return Err(KubeStandInError::BadRequest(format!(
            "the body of a pods/eviction request must be an Eviction, not {:?}",
            str_at(&eviction, "/kind")
        )));
    }
    if meta::name(&eviction) != target.name() {
        return Err(KubeStandInError::BadRequest("name in URL does not match name in Eviction object".into()));
    }
    check_namespace(target, &eviction)?;
    let dry_run = dry_run || eviction.pointer("/deleteOptions/dryRun").and_then(Value::as_array).is_some_and(|d| !d.is_empty());
    let mut state = cluster.lock();
    let pod = state.get(target.rt, target.ns(), target.name()).cloned().ok_or_else(|| target.not_found())?;
    super::disruption::check_eviction(&state, &pod)?;
    if !dry_run {
        state.delete(target.rt, target.ns(), target.name()).ok_or_else(|| target.not_found())?;
        controller::reconcile(&mut state, Utc::now());
    }
    Ok(json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}))
}

/// Answers a SelfSubjectAccessReview: allowed unless the verb was denied with `deny_verbs`.
fn review_access(cluster: &Cluster, mut review: Value) -> Value {
    let verb = str_at(&review, "/spec/resourceAttributes/verb").to_string();
    let allowed = !cluster.lock().denied_verbs.contains(&verb);
    review["apiVersion"] = json!("authorization.k8s.io/v1");
    review["kind"] = json!("SelfSubjectAccessReview");
    review["status"] = if allowed { json!({"allowed": true, "reason": "sitrep lab allows everything"}) } else { json!({"allowed": false}) };
    review
}

/// Every verb the stand-in knows, for rules reviews of an identity with some of them denied.
const ALL_VERBS: &[&str] = &["get", "list", "watch", "create", "update", "patch", "delete"];

/// Answers a SelfSubjectRulesReview (`kubectl auth can-i --list`): everything on everything, or
/// the verbs left after `deny_verbs`, plus the self-reviews every authenticated user may create
/// (the `system:basic-user` role).
fn review_rules(cluster: &Cluster, mut review: Value) -> Value {
    let denied = cluster.lock().denied_verbs.clone();
    let verbs: Vec<&str> = if denied.is_empty() { vec!["*"] } else { ALL_VERBS.iter().copied().filter(|v| !denied.contains(*v)).collect() };
    let mut rules = vec![json!({"verbs": verbs, "apiGroups": ["*"], "resources": ["*"]})];
    if !denied.is_empty() {
        rules.push(json!({"verbs": ["create"], "apiGroups": ["authorization.k8s.io"],
                          "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]}));
    }
    let non_resource_verbs = if denied.is_empty() { json!(["*"]) } else { json!(["get"]) };
    review["apiVersion"] = json!("authorization.k8s.io/v1");
    review["kind"] = json!("SelfSubjectRulesReview");
    review["status"] = json!({
        "resourceRules": rules,
        "nonResourceRules": [{"verbs": non_resource_verbs, "nonResourceURLs": ["*"]}],
        "incomplete": false,
    });
    review
}

fn invalid(rt: &ResourceType, name: &str, field: &str, detail: &str) -> KubeStandInError {
    let cause = match detail.strip_prefix("Required value") {
        Some(rest) => Cause::required(field, rest.trim_start_matches(": ")),
        None => Cause { reason: "FieldValueInvalid", field: field.to_string(), message: detail.to_string() },
    };
    invalid_causes(rt, name, vec![cause])
}

fn invalid_causes(rt: &ResourceType, name: &str, causes: Vec<Cause>) -> KubeStandInError {
    KubeStandInError::Invalid { kind: rt.kind.to_string(), group: rt.group.to_string(), name: name.to_string(), causes }
}

/// 422 when the metadata breaks the server's rules (names, labels, annotations): what a real API
/// server refuses must not be stored, or no client can address the object afterwards.
fn validate_meta(rt: &ResourceType, obj: &Value) -> Result<(), KubeStandInError> {
    let causes = validation::object_meta(rt, obj);
    if causes.is_empty() {
        return Ok(());
    }
    Err(invalid_causes(rt, meta::name(obj), causes))
}

/// Server-side defaults and the validation kubectl users meet most (selector vs labels, containers).
fn default_and_validate(rt: &ResourceType, obj: &mut Value) -> Result<(), KubeStandInError> {
    let name = meta::name(obj).to_string();
    let fail = |field: &str, detail: &str| Err(invalid(rt, &name, field, detail));
    let containers_at = match rt.plural {
        "pods" => "/spec/containers",
        "deployments" | "replicasets" => "/spec/template/spec/containers",
        _ => return Ok(()),
    };
    let containers = obj.pointer(containers_at).and_then(Value::as_array).cloned().unwrap_or_default();
    let field = containers_at.trim_start_matches('/').replace('/', ".");
    if containers.is_empty() {
        return fail(&field, "Required value");
    }
    for (i, c) in containers.iter().enumerate() {
        for key in ["name", "image"] {
            if str_at(c, &format!("/{key}")).is_empty() {
                return fail(&format!("{field}[{i}].{key}"), "Required value");
            }
        }
    }
    if rt.plural == "pods" {
        return Ok(());
    }
    if int_at(obj, "/spec/replicas", 1) < 0 {
        return fail("spec.replicas", "Invalid value: must be greater than or equal to 0");
    }
    let selector = obj.pointer("/spec/selector/matchLabels").cloned().unwrap_or(Value::Null);
    if selector.as_object().is_none_or(|m| m.is_empty()) {
        return fail("spec.selector", "Required value");
    }
    let template = json!({"metadata": obj.pointer("/spec/template/metadata").cloned().unwrap_or(json!({}))});
    if !super::selector::match_labels(&selector, &template) {
        return fail(
            "spec.template.metadata.labels",
            &format!("Invalid value: {}: `selector` does not match template `labels`", template["metadata"]["labels"]),
        );
    }
    if rt.plural == DEPLOYMENTS.plural {
        let spec = &mut obj["spec"];
        for (key, value) in [
            ("replicas", json!(1)),
            ("revisionHistoryLimit", json!(10)),
            ("progressDeadlineSeconds", json!(600)),
            ("strategy", json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})),
        ] {
            if spec.get(key).is_none_or(Value::is_null) {
                spec[key] = value;
            }
        }
    }
    Ok(())
}
