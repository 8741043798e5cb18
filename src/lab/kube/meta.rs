//! Small helpers over object metadata: timestamps as the API writes them, ages as kubectl prints them,
//! names, uids and label access on `serde_json::Value` objects.

use chrono::{DateTime, SecondsFormat, Utc};
use rand::Rng;
use serde_json::{Map, Value};

/// RFC 3339 with whole seconds and `Z`, like `metav1.Time`.
pub(crate) fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Parses a `metav1.Time` string.
pub(crate) fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc))
}

/// Age as kubectl prints it (`apimachinery/pkg/util/duration.HumanDuration`).
pub(crate) fn human_age(since: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    let Some(since) = since else {
        return "<unknown>".to_string();
    };
    let seconds = (now - since).num_seconds();
    if seconds < -1 {
        return "<invalid>".to_string();
    }
    let seconds = seconds.max(0);
    let (minutes, hours) = (seconds / 60, seconds / 3600);
    let days = hours / 24;
    let years = days / 365;
    match () {
        _ if seconds < 120 => format!("{seconds}s"),
        _ if minutes < 10 && seconds % 60 == 0 => format!("{minutes}m"),
        _ if minutes < 10 => format!("{minutes}m{}s", seconds % 60),
        _ if minutes < 180 => format!("{minutes}m"),
        _ if hours < 8 && minutes % 60 == 0 => format!("{hours}h"),
        _ if hours < 8 => format!("{hours}h{}m", minutes % 60),
        _ if hours < 48 => format!("{hours}h"),
        _ if hours < 192 && hours % 24 == 0 => format!("{days}d"),
        _ if hours < 192 => format!("{days}d{}h", hours % 24),
        _ if days < 730 => format!("{days}d"),
        _ if years < 8 && days % 365 == 0 => format!("{years}y"),
        _ if years < 8 => format!("{years}y{}d", days % 365),
        _ => format!("{years}y"),
    }
}

/// A fresh object uid.
pub(crate) fn new_uid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A random suffix from the alphabet Kubernetes uses for generated names.
pub(crate) fn random_suffix(len: usize) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::rng();
    (0..len).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

/// A stable 10-character hash of a value, spelled like `pod-template-hash`.
pub(crate) fn stable_hash(value: &Value) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    // FNV-1a over the canonical JSON (serde_json maps are sorted): stable across runs and builds.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in value.to_string().bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (0..10)
        .map(|_| {
            let c = ALPHABET[(hash % ALPHABET.len() as u64) as usize] as char;
            hash /= ALPHABET.len() as u64;
            c
        })
        .collect()
}

/// `metadata.name` (empty when absent).
pub(crate) fn name(obj: &Value) -> &str {
    str_at(obj, "/metadata/name")
}

/// `metadata.namespace` (empty when absent).
pub(crate) fn namespace(obj: &Value) -> &str {
    str_at(obj, "/metadata/namespace")
}

/// `metadata.uid` (empty when absent).
pub(crate) fn uid(obj: &Value) -> &str {
    str_at(obj, "/metadata/uid")
}

/// The string at a JSON pointer, or "" when absent or not a string.
pub(crate) fn str_at<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    obj.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// The integer at a JSON pointer, or `default`.
pub(crate) fn int_at(obj: &Value, pointer: &str, default: i64) -> i64 {
    obj.pointer(pointer).and_then(Value::as_i64).unwrap_or(default)
}

/// The creation time of an object.
pub(crate) fn created(obj: &Value) -> Option<DateTime<Utc>> {
    parse_time(str_at(obj, "/metadata/creationTimestamp"))
}

/// A map at a JSON pointer as string pairs (labels, annotations, selectors).
pub(crate) fn string_map(obj: &Value, pointer: &str) -> Vec<(String, String)> {
    obj.pointer(pointer)
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
        .unwrap_or_default()
}

/// The uid of the controlling owner (`ownerReferences[].controller == true`).
pub(crate) fn controller_uid(obj: &Value) -> Option<&str> {
    obj.pointer("/metadata/ownerReferences")?
        .as_array()?
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
        .and_then(|r| r.get("uid"))
        .and_then(Value::as_str)
}

/// An owner reference that makes `owner` the controller of another object.
pub(crate) fn owner_reference(owner: &Value) -> Value {
    serde_json::json!({
        "apiVersion": str_at(owner, "/apiVersion"),
        "kind": str_at(owner, "/kind"),
        "name": name(owner),
        "uid": uid(owner),
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

/// Sets one annotation, creating the map when needed.
pub(crate) fn set_annotation(obj: &mut Value, key: &str, value: &str) {
    let annotations = &mut obj["metadata"]["annotations"];
    if !annotations.is_object() {
        *annotations = Value::Object(Map::new());
    }
    annotations[key] = Value::String(value.to_string());
}

/// Quantities are read once, for the stand-in and for sitrep's own rows alike.
pub(crate) use crate::quantity::{cpu_nanos, memory_bytes};
