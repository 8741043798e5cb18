//! The horizontal pod autoscaler (autoscaling/v2, CPU utilization): every 15 s (`Timings`) it reads the ready
//! pods' usage from the kubelet, recommends a replica count as upstream's `replica_calculator` does
//! (10 % tolerance, min/max), scales up at once and down only after a 5-minute stabilization window.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::controller::pod_ready;
use super::events::{self, AUTOSCALER};
use super::meta::{self, int_at, str_at, timestamp};
use super::resources::{DEPLOYMENTS, HORIZONTALPODAUTOSCALERS, PODS};
use super::selector::match_labels;
use super::store::State;

/// The default `behavior.scaleDown.stabilizationWindowSeconds`.
const SCALE_DOWN_WINDOW: Duration = Duration::seconds(300);
/// `--horizontal-pod-autoscaler-tolerance`.
const TOLERANCE: f64 = 0.1;

/// What the autoscaler remembers between passes.
#[derive(Debug, Default)]
pub(crate) struct Memory {
    last_sync: Option<DateTime<Utc>>,
    /// HPA uid -> recent (time, recommended replicas), for the scale-down window.
    recommendations: HashMap<String, VecDeque<(DateTime<Utc>, i64)>>,
}

/// One HPA's reading: CPU utilization of the ready pods (percent of request) and their count.
struct Reading {
    utilization: i64,
    average_millis: u64,
    ready: i64,
}

/// Every HPA, every `autoscale_every` (and at once when one is new or changed).
pub(crate) fn sync(state: &mut State, now: DateTime<Utc>) {
    let hpas = state.list_owned(HORIZONTALPODAUTOSCALERS, None);
    let changed = hpas.iter().any(|h| int_at(h, "/status/observedGeneration", 0) != int_at(h, "/metadata/generation", 1));
    let every = Duration::from_std(state.timings.autoscale_every).unwrap_or(Duration::seconds(15));
    let due = state.autoscaler.last_sync.is_none_or(|at| now - at >= every);
    if hpas.is_empty() || !(changed || due) {
        return;
    }
    state.autoscaler.last_sync = Some(now);
    for hpa in hpas {
        sync_one(state, hpa, now);
    }
}

fn cpu_target(hpa: &Value) -> Option<i64> {
    let metrics = hpa.pointer("/spec/metrics").and_then(Value::as_array)?;
    metrics
        .iter()
        .find(|m| str_at(m, "/type") == "Resource" && str_at(m, "/resource/name") == "cpu")
        .and_then(|m| m.pointer("/resource/target/averageUtilization"))
        .and_then(Value::as_i64)
}

fn read_cpu(state: &State, deployment: &Value, now: DateTime<Utc>) -> Option<Reading> {
    let selector = &deployment["spec"]["selector"]["matchLabels"];
    let (mut used, mut requested, mut ready) = (0u64, 0u64, 0i64);
    for pod in state.list_shared(PODS, Some(meta::namespace(deployment))).iter().filter(|p| match_labels(selector, p) && pod_ready(p)) {
        let Some(usage) = super::metrics::pod_total(state, pod, now) else {
            continue;
        };
        let containers = pod.pointer("/spec/containers").and_then(Value::as_array).cloned().unwrap_or_default();
        let request: u64 = containers.iter().filter_map(|c| meta::cpu_nanos(str_at(c, "/resources/requests/cpu"))).sum();
        if request == 0 {
            // Upstream refuses a utilization target when a pod has no request; so do we.
            return None;
        }
        used += usage.nanocores;
        requested += request;
        ready += 1;
    }
    (ready > 0).then(|| Reading {
        utilization: ((used as f64 / requested as f64) * 100.0).round() as i64,
        average_millis: used / ready as u64 / 1_000_000,
        ready,
    })
}

fn sync_one(state: &mut State, hpa: Value, now: DateTime<Utc>) {
    let ns = meta::namespace(&hpa).to_string();
    let target_name = str_at(&hpa, "/spec/scaleTargetRef/name").to_string();
    let (min, max) = (int_at(&hpa, "/spec/minReplicas", 1), int_at(&hpa, "/spec/maxReplicas", 1));
    let Some(deployment) = state.get(DEPLOYMENTS, &ns, &target_name).cloned() else {
        let message =
            format!("the HPA controller was unable to get the target's current scale: deployments.apps \"{target_name}\" not found");
        write_status(
            state,
            &hpa,
            json!({"currentReplicas": 0, "desiredReplicas": 0}),
            &[("AbleToScale", "False", "FailedGetScale", &message)],
            now,
        );
        return;
    };
    let current = int_at(&deployment, "/spec/replicas", 1);
    let target = cpu_target(&hpa);
    let reading = if current == 0 { None } else { target.and_then(|_| read_cpu(state, &deployment, now)) };
    let raw = match (&reading, target) {
        _ if current == 0 => 0,
        (Some(r), Some(t)) => {
            let ratio = r.utilization as f64 / t as f64;
            if (ratio - 1.0).abs() <= TOLERANCE { current } else { (ratio * r.ready as f64).ceil() as i64 }
        }
        _ => current,
    };
    let clamped = if current == 0 { 0 } else { raw.clamp(min, max) };
    let window = state.autoscaler.recommendations.entry(meta::uid(&hpa).to_string()).or_default();
    window.push_back((now, clamped));
    while window.front().is_some_and(|(at, _)| now - *at > SCALE_DOWN_WINDOW) {
        window.pop_front();
    }
    let stabilized = window.iter().map(|(_, r)| *r).max().unwrap_or(clamped);
    let desired = if clamped >= current { clamped } else { stabilized.min(current) };

    let mut status = json!({"currentReplicas": current, "desiredReplicas": desired});
    if let Some(last) = hpa.pointer("/status/lastScaleTime") {
        status["lastScaleTime"] = last.clone();
    }
    if let Some(r) = &reading {
        status["currentMetrics"] = json!([{"type": "Resource", "resource": {"name": "cpu",
            "current": {"averageValue": format!("{}m", r.average_millis), "averageUtilization": r.utilization}}}]);
    }
    if desired != current {
        let reason = match &reading {
            _ if desired == min && current < min => "Current number of replicas below Spec.MinReplicas".to_string(),
            _ if desired == max && current > max => "Current number of replicas above Spec.MaxReplicas".to_string(),
            _ => format!("cpu resource utilization (percentage of request) {} target", if desired > current { "above" } else { "below" }),
        };
        let mut scaled = deployment.clone();
        scaled["spec"]["replicas"] = json!(desired);
        state.update(DEPLOYMENTS, scaled);
        events::record(state, &hpa, None, AUTOSCALER, "SuccessfulRescale", &format!("New size: {desired}; reason: {reason}"), now);
        status["lastScaleTime"] = json!(timestamp(now));
    }
    let able = if desired != current {
        ("AbleToScale", "True", "SucceededRescale", format!("the HPA controller was able to update the target scale to {desired}"))
    } else {
        ("AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size".to_string())
    };
    let active = match (&reading, current) {
        (_, 0) => {
            ("ScalingActive", "False", "ScalingDisabled", "scaling is disabled since the replica count of the target is zero".to_string())
        }
        (Some(_), _) => (
            "ScalingActive",
            "True",
            "ValidMetricFound",
            "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)".to_string(),
        ),
        (None, _) => (
            "ScalingActive",
            "False",
            "FailedGetResourceMetric",
            "the HPA was unable to compute the replica count: failed to get cpu utilization: no ready pods with metrics and requests"
                .to_string(),
        ),
    };
    let limited = if raw > max {
        ("ScalingLimited", "True", "TooManyReplicas", "the desired replica count is more than the maximum replica count".to_string())
    } else if raw < min && current != 0 {
        ("ScalingLimited", "True", "TooFewReplicas", "the desired replica count is less than the minimum replica count".to_string())
    } else {
        ("ScalingLimited", "False", "DesiredWithinRange", "the desired count is within the acceptable range".to_string())
    };
    let conditions = [able, active, limited];
    let conditions: Vec<(&str, &str, &str, &str)> = conditions.iter().map(|(t, s, r, m)| (*t, *s, *r, m.as_str())).collect();
    write_status(state, &hpa, status, &conditions, now);
}

/// Writes `status` with its conditions (keeping each one's lastTransitionTime while its status holds).
fn write_status(state: &mut State, hpa: &Value, mut status: Value, conditions: &[(&str, &str, &str, &str)], now: DateTime<Utc>) {
    let old = hpa.pointer("/status/conditions").and_then(Value::as_array).cloned().unwrap_or_default();
    let conditions: Vec<Value> = conditions
        .iter()
        .map(|(kind, cond_status, reason, message)| {
            let since = old
                .iter()
                .find(|c| str_at(c, "/type") == *kind && str_at(c, "/status") == *cond_status)
                .map_or_else(|| timestamp(now), |c| str_at(c, "/lastTransitionTime").to_string());
            json!({"type": kind, "status": cond_status, "reason": reason, "message": message, "lastTransitionTime": since})
        })
        .collect();
    status["observedGeneration"] = json!(int_at(hpa, "/metadata/generation", 1));
    status["conditions"] = json!(conditions);
    if hpa.get("status") != Some(&status) {
        let mut next = hpa.clone();
        next["status"] = status;
        state.update(HORIZONTALPODAUTOSCALERS, next);
    }
}
