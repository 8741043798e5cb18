//! `{name}` placeholders in runbook text, filled from params, built-ins and facts found by earlier
//! steps. An unknown name is left visible (`{name}`) at run time and refused at validation.

use std::collections::BTreeMap;

/// Named values a runbook's text may use.
pub type Vars = BTreeMap<String, String>;

/// Names every run has without declaring them.
/// `kubeconfig` and `kube_context` are `[kube]`'s (empty: kubectl's defaults), for `command` argv
/// such as `kubectl --kubeconfig {kubeconfig} --context {kube_context} ...`.
pub const BUILTINS: [&str; 6] = ["namespace", "sentinel_master", "patroni_scope", "stamp", "kubeconfig", "kube_context"];

/// The placeholder names in `text`, in order.
pub fn placeholders(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        let name = &after[..close];
        if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            out.push(name);
        }
        rest = &after[close + 1..];
    }
    out
}

/// `text` with every known placeholder replaced.
pub fn render(text: &str, vars: &Vars) -> String {
    let mut out = text.to_string();
    for name in placeholders(text) {
        if let Some(v) = vars.get(name) {
            out = out.replace(&format!("{{{name}}}"), v);
        }
    }
    out
}

/// Placeholders still unfilled after rendering with `vars`.
pub fn missing<'a>(text: &'a str, vars: &Vars) -> Vec<&'a str> {
    placeholders(text).into_iter().filter(|n| !vars.contains_key(*n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_and_json_braces_are_left_alone() {
        let vars: Vars = [("deployment".to_string(), "api".to_string())].into();
        assert_eq!(render("rollout undo deployment/{deployment} {\"a\": 1}", &vars), "rollout undo deployment/api {\"a\": 1}");
        assert_eq!(missing("{deployment} to {revision}", &vars), vec!["revision"]);
    }
}
