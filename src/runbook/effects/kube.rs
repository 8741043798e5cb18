//! Kubernetes effects with the kube crate: permission (SelfSubjectAccessReview), rollout undo to
//! a revision, scale, restart by deleting pods, cordon, and the checks that a rollout is done.

use super::{Ctx, EffectError, Report, input, not_ready};
use crate::backends::kube::{deployment_row, err as kube_err, pod_row};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::authorization::v1::{ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec};
use k8s_openapi::api::core::v1::{Event as KubeEvent, Node, Pod, PodTemplateSpec};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::json;

const REVISION: &str = "deployment.kubernetes.io/revision";

async fn client(ctx: &Ctx) -> Result<Client, EffectError> {
    Ok(crate::backends::kube::client(&ctx.config.kube.kubeconfig, &ctx.config.kube.context, ctx.timeout).await?)
}

/// Asks the API server whether we may `verb` `resource` in the namespace.
pub async fn can_i(ctx: &Ctx, verb: &str, resource: &str, group: &str) -> Result<Report, EffectError> {
    let ns = ctx.namespace();
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                namespace: Some(ns.clone()),
                verb: Some(verb.to_string()),
                resource: Some(resource.to_string()),
                group: Some(group.to_string()),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let api: Api<SelfSubjectAccessReview> = Api::all(client(ctx).await?);
    let answer = api.create(&PostParams::default(), &review).await.map_err(kube_err("SelfSubjectAccessReview"))?;
    let status = answer.status.unwrap_or_default();
    if status.allowed {
        Ok(Report::text(format!("allowed to {verb} {resource} in {ns}")))
    } else {
        let why = status.reason.filter(|r| !r.is_empty()).map(|r| format!(" ({r})")).unwrap_or_default();
        Err(not_ready(format!(
            "not allowed to {verb} {resource} in {ns}{why}; `kubectl auth can-i {verb} {resource} -n {ns}` says no — get the role bound or use another context"
        )))
    }
}

/// The deployment's ReplicaSets by revision, highest first.
async fn revisions(api_rs: &Api<ReplicaSet>, deploy: &Deployment) -> Result<Vec<(u64, ReplicaSet)>, EffectError> {
    let uid = deploy.metadata.uid.clone().unwrap_or_default();
    let name = deploy.metadata.name.clone().unwrap_or_default();
    let list = api_rs.list(&ListParams::default()).await.map_err(kube_err("listing ReplicaSets"))?;
    let mut out: Vec<(u64, ReplicaSet)> = list
        .items
        .into_iter()
        .filter(|rs| rs.metadata.owner_references.iter().flatten().any(|o| o.kind == "Deployment" && (o.uid == uid || o.name == name)))
        .filter_map(|rs| {
            let rev = rs.metadata.annotations.as_ref()?.get(REVISION)?.parse().ok()?;
            Some((rev, rs))
        })
        .collect();
    out.sort_by_key(|r| std::cmp::Reverse(r.0));
    Ok(out)
}

fn current_revision(d: &Deployment) -> u64 {
    d.metadata.annotations.as_ref().and_then(|a| a.get(REVISION)).and_then(|r| r.parse().ok()).unwrap_or(0)
}

/// The revision to go back to: `previous` (the highest below the current) or a number, read with
/// the caller's client (one connect per effect: with an exec plugin each connect runs it).
async fn target(ctx: &Ctx, client: &Client, deployment: &str, revision: &str) -> Result<(Deployment, u64, ReplicaSet), EffectError> {
    let client = client.clone();
    let ns = ctx.namespace();
    let deploy =
        Api::<Deployment>::namespaced(client.clone(), &ns).get(deployment).await.map_err(kube_err(&format!("deployment {deployment}")))?;
    let all = revisions(&Api::namespaced(client, &ns), &deploy).await?;
    let current = current_revision(&deploy);
    let known: Vec<String> = all.iter().map(|(r, _)| r.to_string()).collect();
    let found = if revision.is_empty() || revision == "previous" {
        all.into_iter().find(|(r, _)| *r < current)
    } else {
        let wanted: u64 = revision
            .parse()
            .map_err(|_| input(format!("revision `{revision}` is not a number; use `previous` or one of {}", known.join(", "))))?;
        if wanted == current {
            return Err(input(format!(
                "revision {wanted} is what deployment/{deployment} runs now; choose another of {}",
                known.join(", ")
            )));
        }
        all.into_iter().find(|(r, _)| *r == wanted)
    };
    let (rev, rs) = found.ok_or_else(|| {
        input(format!("deployment/{deployment} has no revision `{revision}` to go back to (it has {}; now at {current})", known.join(", ")))
    })?;
    Ok((deploy, rev, rs))
}

fn facts(from: u64, to: u64) -> Vec<(&'static str, String)> {
    vec![("from_revision", from.to_string()), ("to_revision", to.to_string())]
}

pub async fn revision_exists(ctx: &Ctx, deployment: &str, revision: &str) -> Result<Report, EffectError> {
    let (deploy, rev, _) = target(ctx, &client(ctx).await?, deployment, revision).await?;
    let from = current_revision(&deploy);
    Ok(Report::text(format!("deployment/{deployment} is at revision {from}; revision {rev} is available")).with(facts(from, rev)))
}

/// Images and env of two pod templates, side by side: what a rollback changes.
pub fn template_diff(now: Option<&PodTemplateSpec>, then: Option<&PodTemplateSpec>) -> Vec<String> {
    let containers = |t: Option<&PodTemplateSpec>| t.and_then(|t| t.spec.as_ref()).map(|s| s.containers.clone()).unwrap_or_default();
    let (now, then) = (containers(now), containers(then));
    let mut out = Vec::new();
    for c in &now {
        let Some(old) = then.iter().find(|o| o.name == c.name) else {
            out.push(format!("container {}: removed", c.name));
            continue;
        };
        if c.image != old.image {
            out.push(format!("{} image: {} → {}", c.name, c.image.as_deref().unwrap_or("?"), old.image.as_deref().unwrap_or("?")));
        }
        let env = |c: &k8s_openapi::api::core::v1::Container| -> Vec<(String, String)> {
            c.env.iter().flatten().map(|e| (e.name.clone(), e.value.clone().unwrap_or_else(|| "(from a reference)".into()))).collect()
        };
        let (a, b) = (env(c), env(old));
        for (k, v) in &a {
            match b.iter().find(|(k2, _)| k2 == k) {
                None => out.push(format!("{} env {k}: removed (was {v})", c.name)),
                Some((_, v2)) if v2 != v => out.push(format!("{} env {k}: {v} → {v2}", c.name)),
                Some(_) => {}
            }
        }
        for (k, v) in b.iter().filter(|(k, _)| !a.iter().any(|(k2, _)| k2 == k)) {
            out.push(format!("{} env {k}: added ({v})", c.name));
        }
    }
    for c in then.iter().filter(|o| !now.iter().any(|c| c.name == o.name)) {
        out.push(format!("container {}: added ({})", c.name, c.image.as_deref().unwrap_or("?")));
    }
    if out.is_empty() {
        out.push("no image or env change (same pod template)".into());
    }
    out.into_iter().map(|l| crate::sanitize::clean(&l)).collect()
}

/// The revision diff shown before a rollback, with a warning when the target revision's pods
/// crash-looped (a second rollback's `previous` is often the bad deploy the first one undid).
pub async fn undo_preview(ctx: &Ctx, deployment: &str, revision: &str) -> Result<String, EffectError> {
    let client = client(ctx).await?;
    let (deploy, rev, rs) = target(ctx, &client, deployment, revision).await?;
    let lines = template_diff(Some(&deploy.spec.template), rs.spec.template.as_ref());
    let mut text = format!(
        "revision {} → {rev}:\n{}",
        current_revision(&deploy),
        lines.iter().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n")
    );
    if let Some(hash) = rs.metadata.labels.as_ref().and_then(|l| l.get("pod-template-hash")) {
        let events: Api<KubeEvent> = Api::namespaced(client, &ctx.namespace());
        // Events are the only memory of pods that are gone; without them there is no warning, not an error.
        if let Ok(list) = events.list(&ListParams::default()).await
            && let Some(warning) = crashlooped(&list.items, &format!("{deployment}-{hash}-"))
        {
            text.push_str(&format!(
                "\n  WARNING: revision {rev} crash-looped: {warning}. Rolling back to it brings the failure back; choose an older revision (revision=N)."
            ));
        }
    }
    Ok(text)
}

/// The worst crash loop among the events of pods named `prefix…` (one ReplicaSet's pods), in words.
fn crashlooped(events: &[KubeEvent], prefix: &str) -> Option<String> {
    events
        .iter()
        .filter(|e| e.reason.as_deref() == Some("BackOff") && e.type_.as_deref() == Some("Warning"))
        .filter(|e| e.message.as_deref().is_some_and(|m| m.contains("restarting failed container")))
        .filter(|e| e.involved_object.kind.as_deref() == Some("Pod"))
        .filter(|e| e.involved_object.name.as_deref().is_some_and(|n| n.starts_with(prefix)))
        .max_by_key(|e| e.count.unwrap_or(1))
        .map(|e| {
            let pod = e.involved_object.name.as_deref().unwrap_or("?");
            crate::sanitize::clean(&format!("pod {pod} restarted in back-off ({} times)", e.count.unwrap_or(1)))
        })
}

/// `kubectl rollout undo`: the deployment's template becomes the old ReplicaSet's (JSON patch).
pub async fn rollout_undo(ctx: &Ctx, deployment: &str, revision: &str) -> Result<Report, EffectError> {
    let client = client(ctx).await?;
    let (deploy, rev, rs) = target(ctx, &client, deployment, revision).await?;
    let mut template = rs.spec.template.ok_or_else(|| not_ready(format!("revision {rev} has no pod template")))?;
    if let Some(labels) = template.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        labels.remove("pod-template-hash");
    }
    let patch: json_patch::Patch = serde_json::from_value(json!([{ "op": "replace", "path": "/spec/template", "value": template }]))
        .map_err(|e| not_ready(format!("building the rollback patch: {e}")))?;
    let api: Api<Deployment> = Api::namespaced(client, &ctx.namespace());
    api.patch(deployment, &PatchParams::default(), &Patch::Json::<()>(patch))
        .await
        .map_err(kube_err(&format!("rolling back deployment/{deployment}")))?;
    let from = current_revision(&deploy);
    Ok(Report::text(format!("deployment/{deployment} rolled back from revision {from} to the template of revision {rev}"))
        .with(facts(from, rev)))
}

/// Done when every replica is updated, available and ready, no old pod is left, and no pod is failing.
pub async fn rollout_complete(ctx: &Ctx, deployment: &str) -> Result<Report, EffectError> {
    let client = client(ctx).await?;
    let ns = ctx.namespace();
    let d =
        Api::<Deployment>::namespaced(client.clone(), &ns).get(deployment).await.map_err(kube_err(&format!("deployment {deployment}")))?;
    let observed = d.status.as_ref().and_then(|s| s.observed_generation).unwrap_or(0);
    if observed < d.metadata.generation.unwrap_or(0) {
        return Err(not_ready(format!("deployment/{deployment}: the controller has not seen the change yet")));
    }
    let row = deployment_row(&d);
    if row.rollout != "complete" || row.ready < row.desired {
        return Err(not_ready(format!(
            "deployment/{deployment}: rollout {}, {}/{} ready, {} updated",
            row.rollout, row.ready, row.desired, row.updated
        )));
    }
    let pods =
        Api::<Pod>::namespaced(client, &ns).list(&ListParams::default().labels(&selector(&d))).await.map_err(kube_err("listing pods"))?;
    let rows: Vec<_> = pods.items.iter().map(pod_row).collect();
    if let Some(bad) = rows.iter().find(|p| !p.is_healthy()) {
        return Err(not_ready(format!("pod {} is {}", bad.name, bad.status())));
    }
    Ok(Report::text(format!(
        "deployment/{deployment}: {}/{} pods ready at revision {} ({})",
        row.ready,
        row.desired,
        row.revision,
        row.images.join(", ")
    )))
}

fn selector(d: &Deployment) -> String {
    d.spec
        .selector
        .match_labels
        .as_ref()
        .map(|m| m.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","))
        .unwrap_or_default()
}

pub async fn scale(ctx: &Ctx, deployment: &str, replicas: &str) -> Result<Report, EffectError> {
    let n: i32 = replicas
        .parse()
        .ok()
        .filter(|n| (0..=1000).contains(n))
        .ok_or_else(|| input(format!("replicas `{replicas}` is not a number from 0 to 1000")))?;
    let api: Api<Deployment> = Api::namespaced(client(ctx).await?, &ctx.namespace());
    let before = api.get(deployment).await.map_err(kube_err(&format!("deployment {deployment}")))?.spec.replicas.unwrap_or(1);
    api.patch(deployment, &PatchParams::default(), &Patch::Merge(json!({ "spec": { "replicas": n } })))
        .await
        .map_err(kube_err(&format!("scaling deployment/{deployment}")))?;
    Ok(Report::text(format!("deployment/{deployment} scaled from {before} to {n} replicas")))
}

pub async fn scale_preview(ctx: &Ctx, deployment: &str, replicas: &str) -> Result<String, EffectError> {
    let api: Api<Deployment> = Api::namespaced(client(ctx).await?, &ctx.namespace());
    let d = api.get(deployment).await.map_err(kube_err(&format!("deployment {deployment}")))?;
    Ok(format!("replicas: {} → {replicas}", d.spec.replicas.unwrap_or(1)))
}

/// A PodDisruptionBudget covering a deployment's pods, as its status says now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetNow {
    pub name: String,
    pub allowed: i32,
    pub desired: i32,
    pub healthy: i32,
}

/// Why the change would break a budget, if it would: a restart (`replicas` None) needs one allowed
/// disruption of each budget; a scale needs at least each budget's desired healthy pods.
pub fn budget_refusal(budgets: &[BudgetNow], replicas: Option<i32>) -> Option<String> {
    let broken = budgets.iter().find(|b| match replicas {
        None => b.allowed < 1,
        Some(n) => n < b.desired,
    })?;
    let BudgetNow { name, allowed, desired, healthy } = broken;
    Some(match replicas {
        None => format!(
            "PodDisruptionBudget {name} allows {allowed} disruption(s) now ({healthy} healthy, {desired} needed): restarting would take the pods below it; wait until the pods are ready, or scale up first"
        ),
        Some(n) => format!(
            "PodDisruptionBudget {name} needs {desired} healthy pods: {n} replica(s) would break it; scale to at least {desired}, or change the budget first"
        ),
    })
}

/// Whether a LabelSelector selects pods with `labels` (matchLabels and matchExpressions).
fn selects(selector: &LabelSelector, labels: &std::collections::BTreeMap<String, String>) -> bool {
    let pairs = selector.match_labels.as_ref().is_none_or(|m| m.iter().all(|(k, v)| labels.get(k) == Some(v)));
    pairs
        && selector.match_expressions.iter().flatten().all(|e| {
            let values = e.values.as_deref().unwrap_or_default();
            match (e.operator.as_str(), labels.get(&e.key)) {
                ("In", Some(v)) => values.contains(v),
                ("NotIn", v) => v.is_none_or(|v| !values.contains(v)),
                ("Exists", v) => v.is_some(),
                ("DoesNotExist", v) => v.is_none(),
                _ => false,
            }
        })
}

/// The precondition of `restart-pods` and `scale`: the budgets covering the deployment's pods
/// allow the change (`replicas` empty: a restart).
pub async fn disruption_budget(ctx: &Ctx, deployment: &str, replicas: &str) -> Result<Report, EffectError> {
    let replicas = match replicas {
        "" => None,
        text => Some(text.parse::<i32>().map_err(|_| input(format!("replicas `{text}` is not a number")))?),
    };
    let client = client(ctx).await?;
    let ns = ctx.namespace();
    let d =
        Api::<Deployment>::namespaced(client.clone(), &ns).get(deployment).await.map_err(kube_err(&format!("deployment {deployment}")))?;
    let labels = d.spec.template.metadata.as_ref().and_then(|m| m.labels.clone()).unwrap_or_default();
    let budgets: Vec<BudgetNow> = Api::<PodDisruptionBudget>::namespaced(client, &ns)
        .list(&ListParams::default())
        .await
        .map_err(kube_err("listing PodDisruptionBudgets"))?
        .items
        .into_iter()
        .filter(|b| b.spec.as_ref().and_then(|s| s.selector.as_ref()).is_some_and(|s| selects(s, &labels)))
        .map(|b| {
            let status = b.status.unwrap_or_default();
            BudgetNow {
                name: b.metadata.name.unwrap_or_default(),
                allowed: status.disruptions_allowed.unwrap_or(0),
                desired: status.desired_healthy.unwrap_or(0),
                healthy: status.current_healthy.unwrap_or(0),
            }
        })
        .collect();
    if let Some(why) = budget_refusal(&budgets, replicas) {
        return Err(not_ready(crate::sanitize::clean(&why)));
    }
    Ok(Report::text(match budgets.as_slice() {
        [] => format!("no PodDisruptionBudget covers deployment/{deployment}"),
        _ => budgets
            .iter()
            .map(|b| format!("PodDisruptionBudget {} allows {} disruption(s)", b.name, b.allowed))
            .collect::<Vec<_>>()
            .join("; "),
    }))
}

/// `all`: a rolling restart, as `kubectl rollout restart` does it (a new `restartedAt` in the
/// pod template, so the controller replaces the pods a few at a time and capacity holds). One
/// pod: deletes it, and its ReplicaSet starts a fresh one.
pub async fn restart_pods(ctx: &Ctx, deployment: &str, pod: &str) -> Result<Report, EffectError> {
    let client = client(ctx).await?;
    let ns = ctx.namespace();
    let deployments = Api::<Deployment>::namespaced(client.clone(), &ns);
    let d = deployments.get(deployment).await.map_err(kube_err(&format!("deployment {deployment}")))?;
    if pod.is_empty() || pod == "all" {
        let at = ctx.clock.now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let restart = json!({ "spec": { "template": { "metadata": { "annotations": { "kubectl.kubernetes.io/restartedAt": at } } } } });
        deployments
            .patch(deployment, &PatchParams::default(), &Patch::Merge(restart))
            .await
            .map_err(kube_err(&format!("restarting deployment/{deployment}")))?;
        let pods = d.spec.replicas.unwrap_or(1);
        return Ok(Report::text(format!(
            "rolling restart of deployment/{deployment} ({pods} pod(s)): new pods replace the old ones a few at a time (restartedAt {at})"
        )));
    }
    let pods: Api<Pod> = Api::namespaced(client, &ns);
    let names: Vec<String> = pods
        .list(&ListParams::default().labels(&selector(&d)))
        .await
        .map_err(kube_err("listing pods"))?
        .items
        .into_iter()
        .filter_map(|p| p.metadata.name)
        .filter(|n| n == pod)
        .collect();
    if names.is_empty() {
        return Err(input(format!(
            "deployment/{deployment} has no pod named `{pod}`; `sitrep runbook show restart-pods` lists how to choose"
        )));
    }
    for name in &names {
        pods.delete(name, &DeleteParams::default()).await.map_err(kube_err(&format!("deleting pod {name}")))?;
    }
    Ok(Report::text(format!("deleted {} pod(s) of deployment/{deployment}: {}", names.len(), names.join(", "))))
}

pub async fn cordon(ctx: &Ctx, node: &str) -> Result<Report, EffectError> {
    let api: Api<Node> = Api::all(client(ctx).await?);
    api.patch(node, &PatchParams::default(), &Patch::Merge(json!({ "spec": { "unschedulable": true } })))
        .await
        .map_err(kube_err(&format!("cordoning node {node}")))?;
    Ok(Report::text(format!("node {node} cordoned: no new pods will be scheduled on it")))
}

/// The node is unschedulable, as `kubectl get node` shows `SchedulingDisabled`; counts the pods
/// still placed on it (a drain's job).
pub async fn node_cordoned(ctx: &Ctx, node: &str) -> Result<Report, EffectError> {
    let client = client(ctx).await?;
    let n = Api::<Node>::all(client.clone()).get(node).await.map_err(kube_err(&format!("node {node}")))?;
    if !n.spec.as_ref().and_then(|s| s.unschedulable).unwrap_or(false) {
        return Err(not_ready(format!("node {node} is still schedulable (no SchedulingDisabled)")));
    }
    let on_node = ListParams::default().fields(&format!("spec.nodeName={node}"));
    let pods = Api::<Pod>::all(client).list(&on_node).await.map_err(kube_err(&format!("listing the pods on node {node}")))?;
    Ok(Report::text(format!("node {node} is cordoned (SchedulingDisabled); {} pod(s) still on it", pods.items.len())))
}

#[cfg(test)]
mod budget_tests {
    use super::*;

    fn budget(allowed: i32, desired: i32, healthy: i32) -> BudgetNow {
        BudgetNow { name: "api".into(), allowed, desired, healthy }
    }

    #[test]
    fn a_restart_needs_an_allowed_disruption_and_a_scale_the_budgets_minimum() {
        assert_eq!(budget_refusal(&[budget(1, 2, 3)], None), None);
        let refused = budget_refusal(&[budget(0, 2, 2)], None).unwrap_or_default();
        assert!(refused.contains("PodDisruptionBudget api allows 0 disruption(s) now (2 healthy, 2 needed)"), "{refused}");
        assert_eq!(budget_refusal(&[budget(0, 2, 2)], Some(2)), None, "scaling to the minimum keeps it");
        let refused = budget_refusal(&[budget(1, 2, 3)], Some(1)).unwrap_or_default();
        assert!(refused.contains("needs 2 healthy pods: 1 replica(s) would break it"), "{refused}");
        assert_eq!(budget_refusal(&[], Some(0)), None, "no budget, nothing to break");
    }
}
