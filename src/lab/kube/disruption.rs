//! PodDisruptionBudgets (policy/v1): the disruption controller's status (expected, healthy,
//! desired, allowed disruptions) and the check the eviction REST makes with it, as upstream's
//! `pkg/controller/disruption` and `pkg/registry/core/pod/storage/eviction.go` do.

use std::sync::Arc;

use serde_json::{Value, json};

use super::controller::pod_ready as ready;
use super::error::KubeStandInError;
use super::meta::{self, str_at};
use super::resources::{PODDISRUPTIONBUDGETS, PODS, REPLICASETS};
use super::selector::match_labels;
use super::store::State;

/// What a budget allows now, computed from the live pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Budget {
    pub expected: i64,
    pub healthy: i64,
    pub desired: i64,
}

impl Budget {
    pub fn allowed(&self) -> i64 {
        (self.healthy - self.desired).max(0)
    }
}

/// `matchLabels` and `matchExpressions` (In, NotIn, Exists, DoesNotExist) of a LabelSelector; an
/// empty selector selects every pod of the namespace, as in policy/v1.
fn selects(selector: &Value, pod: &Value) -> bool {
    let labels_ok = selector.get("matchLabels").is_none_or(|m| match_labels(m, pod));
    let label = |key: &str| pod.pointer("/metadata/labels").and_then(|l| l.get(key)).and_then(Value::as_str);
    let expressions = selector.get("matchExpressions").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    labels_ok
        && expressions.iter().all(|e| {
            let key = str_at(e, "/key");
            let values: Vec<&str> =
                e.get("values").and_then(Value::as_array).map(|v| v.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
            match str_at(e, "/operator") {
                "In" => label(key).is_some_and(|l| values.contains(&l)),
                "NotIn" => label(key).is_none_or(|l| !values.contains(&l)),
                "Exists" => label(key).is_some(),
                "DoesNotExist" => label(key).is_none(),
                _ => false,
            }
        })
}

/// `minAvailable`/`maxUnavailable` as a count of `expected`: an integer, or a percentage rounded up.
fn count_of(value: &Value, expected: i64) -> Option<i64> {
    if let Some(n) = value.as_i64() {
        return Some(n);
    }
    let percent: i64 = value.as_str()?.strip_suffix('%')?.parse().ok()?;
    Some((percent * expected + 99) / 100)
}

/// The pods a budget covers.
fn covered(state: &State, pdb: &Value) -> Vec<Arc<Value>> {
    let selector = pdb.pointer("/spec/selector").cloned().unwrap_or_else(|| json!({}));
    state.list_shared(PODS, Some(meta::namespace(pdb))).into_iter().filter(|p| selects(&selector, p)).collect()
}

/// Expected pods (the scale of the pods' controllers, or the pods themselves), healthy (Ready)
/// pods, and the healthy pods the budget needs.
pub(crate) fn budget(state: &State, pdb: &Value) -> Budget {
    let pods = covered(state, pdb);
    let healthy = pods.iter().filter(|p| ready(p)).count() as i64;
    let mut controllers: Vec<&str> = pods.iter().filter_map(|p| meta::controller_uid(p)).collect();
    controllers.sort_unstable();
    controllers.dedup();
    let replica_sets = state.list_shared(REPLICASETS, Some(meta::namespace(pdb)));
    let scale: i64 = controllers
        .iter()
        .map(|uid| replica_sets.iter().find(|rs| meta::uid(rs) == *uid).map_or(1, |rs| meta::int_at(rs, "/spec/replicas", 1)))
        .sum();
    let uncontrolled = pods.iter().filter(|p| meta::controller_uid(p).is_none()).count() as i64;
    let expected = scale + uncontrolled;
    let desired = match (pdb.pointer("/spec/minAvailable"), pdb.pointer("/spec/maxUnavailable")) {
        (Some(min), _) => count_of(min, expected).unwrap_or(0),
        (None, Some(max)) => (expected - count_of(max, expected).unwrap_or(0)).max(0),
        (None, None) => 0,
    };
    Budget { expected, healthy, desired }
}

/// Writes each budget's status when it changed (what `kubectl get pdb` shows); only after pods,
/// replicasets or budgets changed, so a quiet cluster pays nothing.
pub(crate) fn sync(state: &mut State, now: chrono::DateTime<chrono::Utc>) {
    let seen = state.last_change(&[PODS, REPLICASETS, PODDISRUPTIONBUDGETS]);
    // At most once a second while pods churn (a budget over 10,000 starting pods costs a scan).
    let (last_seen, last_at) = state.budgets_seen;
    if seen == last_seen || (now - last_at < chrono::Duration::seconds(1) && last_change_was_pods(state, last_seen)) {
        return;
    }
    state.budgets_seen = (seen, now);
    for pdb in state.list_owned(PODDISRUPTIONBUDGETS, None) {
        let b = budget(state, &pdb);
        let allowed = b.allowed();
        let (status, reason) = if allowed > 0 { ("True", "SufficientPods") } else { ("False", "InsufficientPods") };
        let mut next = pdb.clone();
        next["status"] = json!({
            "observedGeneration": meta::int_at(&pdb, "/metadata/generation", 1),
            "disruptionsAllowed": allowed,
            "currentHealthy": b.healthy,
            "desiredHealthy": b.desired,
            "expectedPods": b.expected,
            "conditions": [{"type": "DisruptionAllowed", "status": status, "reason": reason, "message": "",
                            "observedGeneration": meta::int_at(&pdb, "/metadata/generation", 1),
                            "lastTransitionTime": pdb.pointer("/status/conditions/0/lastTransitionTime").cloned()
                                .filter(|_| str_at(&pdb, "/status/conditions/0/status") == status)
                                .unwrap_or_else(|| json!(meta::timestamp(chrono::Utc::now())))}],
        });
        if next["status"] != pdb["status"] {
            state.update(PODDISRUPTIONBUDGETS, next);
        }
    }
}

/// Whether only pods changed since `seen` (a new or edited budget is written at once).
fn last_change_was_pods(state: &State, seen: u64) -> bool {
    state.last_change(&[REPLICASETS, PODDISRUPTIONBUDGETS]) <= seen
}

/// Whether evicting `pod` now keeps every budget covering it: a pod that is not running (Pending,
/// Succeeded, Failed) may always go; one budget at its minimum refuses with 429, and more than one
/// budget is refused with 500, as upstream's eviction REST words them.
pub(crate) fn check_eviction(state: &State, pod: &Value) -> Result<(), KubeStandInError> {
    if matches!(str_at(pod, "/status/phase"), "Pending" | "Succeeded" | "Failed") {
        return Ok(());
    }
    let budgets: Vec<Value> = state
        .list_shared(PODDISRUPTIONBUDGETS, Some(meta::namespace(pod)))
        .into_iter()
        .filter(|pdb| selects(&pdb.pointer("/spec/selector").cloned().unwrap_or_else(|| json!({})), pod))
        .map(|p| (*p).clone())
        .collect();
    match budgets.as_slice() {
        [] => Ok(()),
        [pdb] => {
            let b = budget(state, pdb);
            // An unhealthy pod does not count against a budget that is met (IfHealthyBudget).
            if b.allowed() > 0 || (!ready(pod) && b.healthy >= b.desired) {
                return Ok(());
            }
            Err(KubeStandInError::TooManyRequests {
                message: "Cannot evict pod as it would violate the pod's disruption budget.".into(),
                cause: format!(
                    "The disruption budget {} needs {} healthy pods and has {} currently",
                    meta::name(pdb),
                    b.desired,
                    b.healthy
                ),
            })
        }
        _ => Err(KubeStandInError::Internal(
            "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_round_up_and_expressions_select() {
        assert_eq!(count_of(&json!("50%"), 3), Some(2));
        assert_eq!(count_of(&json!(2), 3), Some(2));
        assert_eq!(count_of(&json!("x"), 3), None);
        let pod = json!({"metadata": {"labels": {"app": "api", "tier": "web"}}});
        assert!(selects(&json!({"matchLabels": {"app": "api"}}), &pod));
        assert!(selects(&json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web"]}]}), &pod));
        assert!(!selects(&json!({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["web"]}]}), &pod));
        assert!(selects(&json!({}), &pod), "an empty selector selects every pod");
    }
}
