//! Label selectors (`app=api,tier in (web),!canary`) and field selectors
//! (`involvedObject.name=x`, `spec.nodeName!=y`) as kubectl and client libraries send them.

use serde_json::Value;

use super::error::KubeStandInError;

/// One parsed requirement of a label selector.
#[derive(Debug, Clone, PartialEq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

/// A parsed label selector; the empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct LabelSelector(Vec<Requirement>);

impl LabelSelector {
    pub fn parse(text: &str) -> Result<Self, KubeStandInError> {
        split_top_level(text)
            .into_iter()
            .filter(|part| !part.trim().is_empty())
            .map(|part| parse_requirement(part.trim()))
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    /// Whether the labels of `obj` satisfy every requirement.
    pub fn matches(&self, obj: &Value) -> bool {
        let labels = obj.pointer("/metadata/labels");
        let label = |key: &str| labels.and_then(|l| l.get(key)).and_then(Value::as_str);
        self.0.iter().all(|req| match req {
            Requirement::Equals(k, v) => label(k) == Some(v),
            Requirement::NotEquals(k, v) => label(k) != Some(v),
            Requirement::In(k, vs) => label(k).is_some_and(|l| vs.iter().any(|v| v == l)),
            Requirement::NotIn(k, vs) => label(k).is_none_or(|l| vs.iter().all(|v| v != l)),
            Requirement::Exists(k) => label(k).is_some(),
            Requirement::DoesNotExist(k) => label(k).is_none(),
        })
    }
}

/// Whether `obj`'s labels include every pair of a `matchLabels` map.
pub(crate) fn match_labels(selector: &Value, obj: &Value) -> bool {
    let Some(wanted) = selector.as_object() else {
        return false;
    };
    let labels = obj.pointer("/metadata/labels");
    wanted.iter().all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

/// Commas inside `in (a,b)` do not split requirements.
fn split_top_level(text: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0i32, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn parse_requirement(part: &str) -> Result<Requirement, KubeStandInError> {
    if let Some(key) = part.strip_prefix('!') {
        return Ok(Requirement::DoesNotExist(key.trim().to_string()));
    }
    if let Some((key, value)) = part.split_once("!=") {
        return Ok(Requirement::NotEquals(key.trim().into(), value.trim().into()));
    }
    if let Some((key, value)) = part.split_once("==").or_else(|| part.split_once('=')) {
        return Ok(Requirement::Equals(key.trim().into(), value.trim().into()));
    }
    for (word, negated) in [(" notin ", true), (" in ", false)] {
        if let Some((key, values)) = part.split_once(word) {
            let values = values.trim().strip_prefix('(').and_then(|v| v.strip_suffix(')')).ok_or_else(|| {
                KubeStandInError::BadRequest(format!("unable to parse requirement: found '{part}', expected: '(' ... ')'"))
            })?;
            let values = values.split(',').map(|v| v.trim().to_string()).collect();
            let key = key.trim().to_string();
            return Ok(if negated { Requirement::NotIn(key, values) } else { Requirement::In(key, values) });
        }
    }
    Ok(Requirement::Exists(part.to_string()))
}

/// A parsed field selector: `path=value` / `path!=value` terms, all of which must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct FieldSelector(Vec<(String, bool, String)>);

impl FieldSelector {
    pub fn parse(text: &str) -> Result<Self, KubeStandInError> {
        let mut terms = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let term = if let Some((path, value)) = part.split_once("!=") {
                (path.to_string(), false, value.to_string())
            } else if let Some((path, value)) = part.split_once("==").or_else(|| part.split_once('=')) {
                (path.to_string(), true, value.to_string())
            } else {
                return Err(KubeStandInError::BadRequest(format!("invalid selector: '{text}'; can't understand '{part}'")));
            };
            terms.push(term);
        }
        Ok(Self(terms))
    }

    /// Whether every term holds; a missing field reads as the empty string, as on the real server.
    pub fn matches(&self, obj: &Value) -> bool {
        self.0.iter().all(|(path, equals, want)| {
            let pointer = format!("/{}", path.replace('.', "/"));
            let found = match obj.pointer(&pointer) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            (found == *want) == *equals
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn set_based_label_selector_picks_only_matching_pods() -> Result<(), KubeStandInError> {
        let pod = json!({"metadata": {"labels": {"app": "api", "tier": "backend"}}});
        assert!(LabelSelector::parse("app=api,tier in (backend,web)")?.matches(&pod));
        assert!(!LabelSelector::parse("app=api,!tier")?.matches(&pod));
        assert!(LabelSelector::parse("app notin (web),canary!=true")?.matches(&pod));
        Ok(())
    }

    #[test]
    fn describe_event_field_selector_matches_the_involved_pod() -> Result<(), KubeStandInError> {
        let event = json!({"involvedObject": {"name": "api-1", "kind": "Pod"}});
        let selector = FieldSelector::parse("involvedObject.name=api-1,involvedObject.kind=Pod")?;
        assert!(selector.matches(&event));
        assert!(!FieldSelector::parse("involvedObject.name!=api-1")?.matches(&event));
        Ok(())
    }
}
