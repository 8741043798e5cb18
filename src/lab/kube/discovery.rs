//! Discovery documents (`/version`, `/api`, `/apis`, per group/version resource lists) in the legacy
//! form, and the small OpenAPI v3 index that tells kubectl the server validates fields itself.

use serde_json::{Value, json};

use super::resources::{GROUP_VERSIONS, ResourceType, api_version};

/// The `/version` document: a 1.32 server, within the skew kubectl 1.27 … 1.33 accept.
pub(crate) fn version() -> Value {
    json!({
        "major": "1",
        "minor": "32",
        "gitVersion": "v1.32.0-sitrep-lab",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z",
        "goVersion": "go1.23.4",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

/// `/api`: the legacy core group's versions.
pub(crate) fn core_versions() -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:443"}],
    })
}

/// `/apis`: every named group with its one version.
pub(crate) fn group_list() -> Value {
    let groups: Vec<Value> = GROUP_VERSIONS
        .iter()
        .filter(|(group, _)| !group.is_empty())
        .map(|(group, version)| {
            let gv = json!({"groupVersion": api_version(group, version), "version": version});
            json!({"name": group, "versions": [gv.clone()], "preferredVersion": gv})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/api/v1` or `/apis/{group}/{version}`: the resources of one group/version, None when unserved.
pub(crate) fn resource_list(group: &str, version: &str) -> Option<Value> {
    if !GROUP_VERSIONS.contains(&(group, version)) {
        return None;
    }
    let mut resources = Vec::new();
    for rt in ResourceType::of_group_version(group, version) {
        let mut entry = json!({
            "name": rt.plural,
            "singularName": rt.singular,
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": rt.verbs,
        });
        if !rt.short_names.is_empty() {
            entry["shortNames"] = json!(rt.short_names);
        }
        if !rt.categories.is_empty() {
            entry["categories"] = json!(rt.categories);
        }
        resources.push(entry);
        for sub in rt.subresources {
            let mut entry = json!({
                "name": format!("{}/{}", rt.plural, sub.name),
                "singularName": "",
                "namespaced": rt.namespaced,
                "kind": sub.kind,
                "verbs": sub.verbs,
            });
            if sub.group != rt.group {
                entry["group"] = json!(sub.group);
                entry["version"] = json!(sub.version);
            }
            resources.push(entry);
        }
    }
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": api_version(group, version),
        "resources": resources,
    }))
}

fn openapi_path(group: &str, version: &str) -> String {
    if group.is_empty() { format!("api/{version}") } else { format!("apis/{group}/{version}") }
}

/// `/openapi/v3`: one entry per served group/version.
pub(crate) fn openapi_v3_index() -> Value {
    let paths: serde_json::Map<String, Value> = GROUP_VERSIONS
        .iter()
        .map(|(group, version)| {
            let path = openapi_path(group, version);
            let url = json!({"serverRelativeURL": format!("/openapi/v3/{path}?hash=sitrep-lab")});
            (path, url)
        })
        .collect();
    json!({"paths": paths})
}

/// `/openapi/v3/{api/v1|apis/g/v}`: only the PATCH operations with their GVK and the
/// `fieldValidation` parameter, which is what kubectl's field-validation check reads. Without
/// schemas kubectl computes strategic patches from its built-in types, as it does for old servers.
pub(crate) fn openapi_v3_group_version(path: &str) -> Option<Value> {
    let (group, version) = GROUP_VERSIONS.iter().find(|(g, v)| openapi_path(g, v) == path)?;
    let mut paths = serde_json::Map::new();
    for rt in ResourceType::of_group_version(group, version) {
        let base = format!("/{}", openapi_path(group, version));
        let item = if rt.namespaced {
            format!("{base}/namespaces/{{namespace}}/{}/{{name}}", rt.plural)
        } else {
            format!("{base}/{}/{{name}}", rt.plural)
        };
        let operation = json!({
            "operationId": format!("patch{}", rt.kind),
            "x-kubernetes-action": "patch",
            "x-kubernetes-group-version-kind": {"group": group, "version": version, "kind": rt.kind},
            "parameters": [
                {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
                {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
            ],
            "responses": {"200": {"description": "OK"}},
        });
        paths.insert(item, json!({"patch": operation}));
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (sitrep lab stand-in)", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": {}},
    }))
}
