//! Object metadata validation as the real API server does it: DNS-1123 names, label keys and values,
//! annotation keys. Messages are apimachinery's own (`pkg/util/validation`), so kubectl prints the same text.

use serde_json::Value;

use super::error::Cause;
use super::resources::ResourceType;

const DNS1123_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_SUBDOMAIN_FMT: &str = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_LABEL_ERR: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_ERR: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_ERR: &str =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const LABEL_VALUE_ERR: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_MAX: usize = 63;
const SUBDOMAIN_MAX: usize = 253;
/// `TotalAnnotationSizeLimitB`: keys plus values of all annotations.
const ANNOTATIONS_MAX_BYTES: usize = 256 * 1024;

/// Which rule a kind's `metadata.name` follows (`ValidateNamespaceName` is a label, most are subdomains).
fn name_is_label(rt: &ResourceType) -> bool {
    rt.plural == "namespaces"
}

/// `RegexError`: the message, examples and the regex, worded as apimachinery words it.
fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    if examples.is_empty() {
        return format!("{msg} (regex used for validation is '{fmt}')");
    }
    let examples: String = examples.iter().map(|e| format!("'{e}', ")).collect::<Vec<_>>().join(" or ");
    format!("{msg} (e.g. {examples}regex used for validation is '{fmt}')")
}

fn max_len_error(max: usize) -> String {
    format!("must be no more than {max} characters")
}

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

fn matches_dns_label(value: &str) -> bool {
    let b = value.as_bytes();
    !b.is_empty() && is_lower_alnum(b[0]) && is_lower_alnum(b[b.len() - 1]) && b.iter().all(|&c| is_lower_alnum(c) || c == b'-')
}

fn matches_dns_subdomain(value: &str) -> bool {
    value.split('.').all(matches_dns_label)
}

/// `qualifiedNameFmt`: alphanumeric at both ends, `-_.` allowed inside (upper case too).
fn matches_qualified_name(value: &str) -> bool {
    let b = value.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// `IsDNS1123Label`.
pub(crate) fn dns1123_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > LABEL_MAX {
        errs.push(max_len_error(LABEL_MAX));
    }
    if !matches_dns_label(value) {
        errs.push(regex_error(DNS1123_LABEL_ERR, DNS1123_LABEL_FMT, &["my-name", "123-abc"]));
    }
    errs
}

/// `IsDNS1123Subdomain`.
pub(crate) fn dns1123_subdomain(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > SUBDOMAIN_MAX {
        errs.push(max_len_error(SUBDOMAIN_MAX));
    }
    if !matches_dns_subdomain(value) {
        errs.push(regex_error(DNS1123_SUBDOMAIN_ERR, DNS1123_SUBDOMAIN_FMT, &["example.com"]));
    }
    errs
}

/// `IsQualifiedName`: label and annotation keys, `[prefix/]name`.
pub(crate) fn qualified_name(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_string());
            } else {
                errs.extend(dns1123_subdomain(prefix).into_iter().map(|m| format!("prefix part {m}")));
            }
            *name
        }
        _ => {
            errs.push(format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(QUALIFIED_NAME_ERR, QUALIFIED_NAME_FMT, &["MyName", "my.name", "123-abc"])
            ));
            return errs;
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else if name.len() > LABEL_MAX {
        errs.push(format!("name part {}", max_len_error(LABEL_MAX)));
    }
    if !matches_qualified_name(name) {
        errs.push(format!("name part {}", regex_error(QUALIFIED_NAME_ERR, QUALIFIED_NAME_FMT, &["MyName", "my.name", "123-abc"])));
    }
    errs
}

/// `IsValidLabelValue`.
pub(crate) fn label_value(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > LABEL_MAX {
        errs.push(max_len_error(LABEL_MAX));
    }
    if !value.is_empty() && !matches_qualified_name(value) {
        errs.push(regex_error(LABEL_VALUE_ERR, LABEL_VALUE_FMT, &["MyValue", "my_value", "12345"]));
    }
    errs
}

/// The string form of a map value as the server would decode it (a non-string is itself invalid).
fn text(value: &Value) -> String {
    value.as_str().map_or_else(|| value.to_string(), str::to_string)
}

/// `ValidateLabels` at `field` (e.g. `metadata.labels`): each key a qualified name, each value a label value.
fn labels(obj: &Value, pointer: &str, field: &str, causes: &mut Vec<Cause>) {
    let Some(map) = obj.pointer(pointer).and_then(Value::as_object) else { return };
    for (key, value) in map {
        causes.extend(qualified_name(key).into_iter().map(|m| Cause::invalid(field, key, &m)));
        let value = text(value);
        causes.extend(label_value(&value).into_iter().map(|m| Cause::invalid(field, &value, &m)));
    }
}

/// `ValidateAnnotations`: keys are qualified names (checked lower-cased), total size bounded.
fn annotations(obj: &Value, causes: &mut Vec<Cause>) {
    let Some(map) = obj.pointer("/metadata/annotations").and_then(Value::as_object) else { return };
    let field = "metadata.annotations";
    let mut total = 0;
    for (key, value) in map {
        causes.extend(qualified_name(&key.to_lowercase()).into_iter().map(|m| Cause::invalid(field, key, &m)));
        total += key.len() + text(value).len();
    }
    if total > ANNOTATIONS_MAX_BYTES {
        causes.push(Cause::too_long(field, ANNOTATIONS_MAX_BYTES));
    }
}

/// `ValidateObjectMeta` for `rt` plus the pod template's labels of workloads: every cause found, in the
/// server's order (generateName, name, labels, annotations).
pub(crate) fn object_meta(rt: &ResourceType, obj: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let name_rule: fn(&str) -> Vec<String> = if name_is_label(rt) { dns1123_label } else { dns1123_subdomain };
    let generate = obj.pointer("/metadata/generateName").and_then(Value::as_str).unwrap_or("");
    if !generate.is_empty() {
        // A prefix may end in '-': the generated suffix follows it (`maskTrailingDash`).
        let masked = match generate.strip_suffix('-') {
            Some(head) if head.len() > 1 => format!("{head}a"),
            _ => generate.to_string(),
        };
        causes.extend(name_rule(&masked).into_iter().map(|m| Cause::invalid("metadata.generateName", generate, &m)));
    }
    let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
    if name.is_empty() {
        causes.push(Cause::required("metadata.name", "name or generateName is required"));
    } else {
        causes.extend(name_rule(name).into_iter().map(|m| Cause::invalid("metadata.name", name, &m)));
    }
    labels(obj, "/metadata/labels", "metadata.labels", &mut causes);
    annotations(obj, &mut causes);
    if matches!(rt.plural, "deployments" | "replicasets") {
        labels(obj, "/spec/template/metadata/labels", "spec.template.metadata.labels", &mut causes);
    }
    causes
}

/// Go's `%q` of a string (`strconv.Quote`): how the API server prints bad values. Control characters,
/// bidi controls and other non-printing runes come out as escapes, so the message itself is safe text.
pub(crate) fn go_quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x80 && !(' '..='~').contains(&c) => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if !go_printable(c) => {
                if (c as u32) < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An approximation of Go's `unicode.IsPrint` for non-ASCII: no controls, no format characters
/// (bidi, zero-width), no separators other than the ASCII space, no private use or surrogates.
fn go_printable(c: char) -> bool {
    !(c.is_control()
        || c.is_whitespace()
        || matches!(c,
            '\u{ad}' | '\u{600}'..='\u{605}' | '\u{61c}' | '\u{6dd}' | '\u{70f}' | '\u{180e}'
            | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{206f}'
            | '\u{feff}' | '\u{fff9}'..='\u{fffb}' | '\u{e000}'..='\u{f8ff}'
            | '\u{f0000}'..='\u{10ffff}' | '\u{e0000}'..='\u{e007f}'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::kube::resources::{NAMESPACES, PODS};
    use serde_json::json;

    #[test]
    fn subdomain_message_is_apimachinerys() {
        assert_eq!(
            dns1123_subdomain("Api"),
            [
                r"a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
            ]
        );
        assert!(dns1123_subdomain("api-7d9f.x").is_empty());
        assert!(dns1123_subdomain("api.").len() == 1);
        assert_eq!(dns1123_subdomain(&"a".repeat(254)).len(), 1, "too long but well formed");
    }

    #[test]
    fn several_examples_read_as_in_apimachinery() {
        // Go's RegexError really writes "',  or '" (comma, two spaces): kubectl users see exactly that.
        assert_eq!(
            dns1123_label("A"),
            [
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
            ]
        );
    }

    #[test]
    fn label_rules_for_namespaces_and_qualified_keys() {
        assert!(dns1123_label("a.b").len() == 1);
        assert!(qualified_name("app.kubernetes.io/name").is_empty());
        assert_eq!(qualified_name("/x"), ["prefix part must be non-empty"]);
        assert_eq!(qualified_name("a/b/c").len(), 1);
        assert!(label_value("").is_empty());
        assert!(label_value("My_value.1").is_empty());
        assert_eq!(label_value("-x").len(), 1);
        assert_eq!(label_value(&"x".repeat(64)), ["must be no more than 63 characters"]);
    }

    #[test]
    fn hostile_names_and_labels_are_refused_with_the_field() {
        let pod = json!({"metadata": {"name": "api\u{1b}]0;x\u{7}", "labels": {"app": "a\u{1b}[2J", "ok": "fine"}}});
        let causes = object_meta(PODS, &pod);
        let fields: Vec<&str> = causes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["metadata.name", "metadata.labels"]);
        assert!(
            causes[0].message.starts_with(r#"Invalid value: "api\x1b]0;x\a": a lowercase RFC 1123 subdomain"#),
            "{}",
            causes[0].message
        );
        let bidi = json!({"metadata": {"name": "api\u{202e}"}});
        assert!(object_meta(PODS, &bidi)[0].message.contains(r#""api\u202e""#));
        assert_eq!(object_meta(NAMESPACES, &json!({"metadata": {"name": "a.b"}})).len(), 1);
        assert!(object_meta(PODS, &json!({"metadata": {"name": "a.b", "annotations": {"Example.com/Key": "\u{1b}"}}})).is_empty());
        assert_eq!(
            object_meta(PODS, &json!({"metadata": {"name": "a", "annotations": {"bad key": "v"}}}))[0].field,
            "metadata.annotations"
        );
    }

    #[test]
    fn generate_name_may_end_in_a_dash() {
        assert!(object_meta(PODS, &json!({"metadata": {"generateName": "api-", "name": "api-x"}})).is_empty());
        assert_eq!(object_meta(PODS, &json!({"metadata": {"generateName": "API-", "name": "api-x"}}))[0].field, "metadata.generateName");
    }
}
