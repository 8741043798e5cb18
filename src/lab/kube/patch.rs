//! The three patch types kubectl sends: JSON patch (rollout undo), merge patch (scale) and
//! strategic merge patch (apply, rollout restart), the last merging lists such as containers by key.

use serde_json::{Map, Value};

use super::error::KubeStandInError;

/// Applies a patch body of the given `Content-Type` to `target`.
pub(crate) fn apply_patch(target: &Value, content_type: &str, body: &[u8]) -> Result<Value, KubeStandInError> {
    let bad = |e: &dyn std::fmt::Display| KubeStandInError::BadRequest(format!("invalid patch: {e}"));
    let mut patched = target.clone();
    let media = content_type.split(';').next().unwrap_or("").trim();
    match media {
        "application/json-patch+json" => {
            let ops: json_patch::Patch = serde_json::from_slice(body).map_err(|e| bad(&e))?;
            json_patch::patch(&mut patched, &ops).map_err(|e| bad(&e))?;
        }
        "application/merge-patch+json" => {
            let patch: Value = serde_json::from_slice(body).map_err(|e| bad(&e))?;
            json_patch::merge(&mut patched, &patch);
        }
        "application/strategic-merge-patch+json" => {
            let patch: Value = serde_json::from_slice(body).map_err(|e| bad(&e))?;
            strategic_merge(&mut patched, &patch);
        }
        other => {
            return Err(KubeStandInError::BadRequest(format!(
                "the body of the request was in an unknown format - accepted media types include: \
                 application/json-patch+json, application/merge-patch+json, \
                 application/strategic-merge-patch+json (got {other:?})"
            )));
        }
    }
    Ok(patched)
}

/// The key that identifies list items under a field, for lists merged rather than replaced.
fn merge_key(field: &str) -> Option<&'static str> {
    match field {
        "containers" | "initContainers" | "ephemeralContainers" | "env" | "volumes" | "imagePullSecrets" => Some("name"),
        "volumeMounts" => Some("mountPath"),
        "ports" => Some("containerPort"),
        "conditions" => Some("type"),
        "ownerReferences" => Some("uid"),
        _ => None,
    }
}

/// Lists of scalars merged as sets rather than replaced.
fn merges_scalars(field: &str) -> bool {
    field == "finalizers"
}

/// Strategic merge of `patch` into `target` (maps merge, `null` deletes, `$patch` directives).
pub(crate) fn strategic_merge(target: &mut Value, patch: &Value) {
    let Some(patch) = patch.as_object() else {
        *target = patch.clone();
        return;
    };
    if patch.get("$patch").and_then(Value::as_str) == Some("replace") {
        let mut replacement = patch.clone();
        replacement.remove("$patch");
        *target = Value::Object(replacement);
        return;
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Some(map) = target.as_object_mut() else {
        return;
    };
    for (key, value) in patch {
        if let Some(field) = key.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(items)), Some(remove)) = (map.get_mut(field), value.as_array()) {
                items.retain(|item| !remove.contains(item));
            }
            continue;
        }
        if key.starts_with('$') {
            // $setElementOrder/..., $retainKeys: ordering and pruning hints we can ignore.
            continue;
        }
        match value {
            Value::Null => {
                map.remove(key);
            }
            Value::Object(_) => strategic_merge(map.entry(key.clone()).or_insert(Value::Null), value),
            Value::Array(items) => merge_list(map, key, items),
            _ => {
                map.insert(key.clone(), value.clone());
            }
        }
    }
}

fn merge_list(map: &mut Map<String, Value>, field: &str, items: &[Value]) {
    let replace_whole = items.iter().any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace"));
    let existing = map.get_mut(field).and_then(Value::as_array_mut);
    match (merge_key(field), existing) {
        (Some(key), Some(current)) if !replace_whole => {
            for item in items {
                let id = item.get(key);
                let position = current.iter().position(|c| c.get(key) == id && id.is_some());
                let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
                match (position, delete) {
                    (Some(i), true) => {
                        current.remove(i);
                    }
                    (Some(i), false) => strategic_merge(&mut current[i], item),
                    (None, true) => {}
                    (None, false) => current.push(strip_directives(item)),
                }
            }
        }
        (None, Some(current)) if merges_scalars(field) && !replace_whole => {
            for item in items {
                if !current.contains(item) {
                    current.push(item.clone());
                }
            }
        }
        _ => {
            let kept = items.iter().filter(|i| i.get("$patch").is_none()).map(strip_directives).collect();
            map.insert(field.to_string(), Value::Array(kept));
        }
    }
}

fn strip_directives(item: &Value) -> Value {
    let mut clean = Value::Null;
    strategic_merge(&mut clean, item);
    if item.is_object() { clean } else { item.clone() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn apply_patch_changes_one_container_image_and_keeps_the_sidecar() -> Result<(), KubeStandInError> {
        let deployment = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "api", "image": "api:1"}, {"name": "proxy", "image": "envoy:1"}]}}}});
        let patch = json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "api"}, {"name": "proxy"}],
            "containers": [{"name": "api", "image": "api:2"}]}}}});
        let patched = apply_patch(&deployment, "application/strategic-merge-patch+json", patch.to_string().as_bytes())?;
        let containers = &patched["spec"]["template"]["spec"]["containers"];
        assert_eq!(containers[0]["image"], "api:2");
        assert_eq!(containers[1]["image"], "envoy:1");
        Ok(())
    }

    #[test]
    fn rollout_undo_json_patch_replaces_the_template() -> Result<(), KubeStandInError> {
        let deployment = json!({"spec": {"template": {"spec": {"containers": [{"name": "api", "image": "bad"}]}}}});
        let patch = json!([{"op": "replace", "path": "/spec/template",
            "value": {"spec": {"containers": [{"name": "api", "image": "good"}]}}}]);
        let patched = apply_patch(&deployment, "application/json-patch+json", patch.to_string().as_bytes())?;
        assert_eq!(patched["spec"]["template"]["spec"]["containers"][0]["image"], "good");
        Ok(())
    }

    #[test]
    fn null_in_a_merge_deletes_the_key() {
        let mut target = json!({"metadata": {"annotations": {"a": "1", "b": "2"}}});
        strategic_merge(&mut target, &json!({"metadata": {"annotations": {"a": null}}}));
        assert_eq!(target, json!({"metadata": {"annotations": {"b": "2"}}}));
    }
}
