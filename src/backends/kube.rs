//! Kubernetes: the client with kubectl's conventions (kubeconfig, context, connect timeout),
//! API errors in the server's words, and pods, deployments and events as the model's rows.

use super::BackendError;
use super::kube_auth::{AuthProblem, Credential, Explain, Identity, TokenFile, unusable_files};
use crate::model::{DeploymentRow, KubeEventRow, PodRow, PodsSnapshot, Resources};
use crate::sanitize::clean;
use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event as KubeEvent, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::Client;
use kube::api::{Api, ListParams};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The most recent events a snapshot keeps.
const EVENTS_KEPT: usize = 100;

/// Connects with the kubeconfig conventions kubectl uses ($KUBECONFIG, ~/.kube/config, --context)
/// and its auth forms (token, tokenFile, client certificates, exec plugins, CA file or data).
/// `kubeconfig` and `context` empty mean kubectl's defaults. A 401 or a TLS failure on any request
/// later is told with the kubeconfig's cluster and user, the server's words and the fix.
pub async fn client(kubeconfig: &str, context: &str, timeout: Duration) -> Result<Client, BackendError> {
    let kubeconfig = read_kubeconfig(kubeconfig)?;
    if let Some(bad) = unusable_files(&kubeconfig, context).into_iter().next() {
        return Err(BackendError::BadSetting { input: "kubeconfig".into(), detail: bad.to_string(), fix: bad.fix() });
    }
    let who = Identity::of(&kubeconfig, context);
    let options = kube::config::KubeConfigOptions { context: (!context.is_empty()).then(|| context.to_string()), ..Default::default() };
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &options).await.map_err(|e| BackendError::BadSetting {
        input: "kubeconfig".into(),
        detail: e.to_string(),
        fix: "check [kube] context (or --context)".into(),
    })?;
    config.connect_timeout = Some(timeout);
    // kube sends a tokenFile's newline and so an invalid header; sitrep reads it as kubectl does.
    let token_file = match config.auth_info.token_file.take() {
        Some(file) if config.auth_info.token.is_none() => {
            config.auth_info.exec = None;
            Some(Arc::new(TokenFile::open(Path::new(&file), &who)?))
        }
        _ => None,
    };
    // An exec plugin never gets the console's terminal: its prompts and stderr would draw over it.
    if let Some(exec) = config.auth_info.exec.as_mut() {
        exec.interactive_mode = Some(kube::config::ExecInteractiveMode::Never);
    }
    let builder = kube::client::ClientBuilder::try_from(config).map_err(|e| match &who.credential {
        Credential::Exec(line) => BackendError::BadSetting {
            input: format!("the exec plugin of user {:?} in the kubeconfig", who.user),
            detail: clean(&e.to_string()),
            fix: format!("run `{line}` yourself to see why it fails"),
        },
        _ => BackendError::Unreachable { target: format!("the Kubernetes API ({who})"), detail: e.to_string() },
    })?;
    Ok(builder.with_layer(&Explain { who: Arc::new(who), token_file }).build())
}

/// The kubeconfig at `path`, or (empty) kubectl's: $KUBECONFIG (merged) or ~/.kube/config.
pub fn read_kubeconfig(path: &str) -> Result<kube::config::Kubeconfig, BackendError> {
    if path.is_empty() {
        kube::config::Kubeconfig::read().map_err(|e| BackendError::BadSetting {
            input: "kubeconfig".into(),
            detail: format!("none found ({e})"),
            fix: "set KUBECONFIG or [kube] kubeconfig".into(),
        })
    } else {
        let bad = |detail: String| BackendError::BadSetting {
            input: format!("kubeconfig {path}"),
            detail: format!("cannot be read ({detail})"),
            fix: "check [kube] kubeconfig in sitrep.toml".into(),
        };
        // kube's own error quotes the path twice ('"/x"'): say the file's error first.
        std::fs::metadata(path).map_err(|e| bad(e.to_string()))?;
        kube::config::Kubeconfig::read_from(path).map_err(|e| bad(e.to_string()))
    }
}

/// An API error on `what`, with the server's message and, for 403/404, the fix.
pub fn error(what: &str, e: kube::Error) -> BackendError {
    match e {
        kube::Error::Service(e) if e.is::<AuthProblem>() => match e.downcast_ref::<AuthProblem>() {
            Some(problem) => problem.at(what),
            None => BackendError::Unreachable { target: what.into(), detail: e.to_string() },
        },
        kube::Error::Api(s) if s.code == 403 => BackendError::Server {
            target: what.into(),
            server: format!("forbidden ({}); ask for the permission or run with an identity that has it", s.message),
        },
        kube::Error::Api(s) if s.code == 404 => {
            BackendError::Server { target: what.into(), server: format!("not found ({}); check the name and [kube] namespaces", s.message) }
        }
        kube::Error::Api(s) => BackendError::Server { target: what.into(), server: format!("{} {}", s.code, s.message) },
        // kube's own line hides the cause ("client error (Connect)"): its causes say what happened.
        other => BackendError::Unreachable { target: what.into(), detail: clean(&super::causes(&other)) },
    }
}

/// A watch's failure as a pane shows it: an auth or TLS problem by itself (it names the cluster,
/// the user and the fix, and must fit one line), anything else after `watch: `.
pub fn watch_error(e: &kube::runtime::watcher::Error) -> String {
    use kube::runtime::watcher::Error as W;
    let problem = match e {
        W::InitialListFailed(kube::Error::Service(b))
        | W::WatchStartFailed(kube::Error::Service(b))
        | W::WatchFailed(kube::Error::Service(b)) => b.downcast_ref::<AuthProblem>(),
        _ => None,
    };
    problem.map_or_else(|| format!("watch: {e}"), ToString::to_string)
}

/// For `map_err`: an API error on `what`.
pub fn err(what: &str) -> impl FnOnce(kube::Error) -> BackendError + '_ {
    move |e| error(what, e)
}

/// One listing of pods, deployments and events in `ns`, as the watcher's snapshot would show it.
pub async fn list_snapshot(client: &Client, ns: &str) -> Result<PodsSnapshot, BackendError> {
    let lp = ListParams::default();
    let pods = Api::<Pod>::namespaced(client.clone(), ns).list(&lp).await.map_err(err("listing pods"))?;
    let deps = Api::<Deployment>::namespaced(client.clone(), ns).list(&lp).await.map_err(err("listing deployments"))?;
    let events = Api::<KubeEvent>::namespaced(client.clone(), ns).list(&lp).await.map_err(err("listing events"))?;
    let mut snap = snapshot(pods.items.iter(), deps.items.iter(), events.items.iter());
    // Services are read apart: an identity that may not list them still sees its pods.
    match super::kube_services::list_services(client, ns).await {
        Ok(services) => snap.services = services,
        Err(e) => snap.services_problem = Some(super::kube_services::problem(&e)),
    }
    Ok(snap)
}

/// The model's snapshot of these objects: sorted by namespace and name, newest events first.
pub fn snapshot<'a>(
    pods: impl Iterator<Item = &'a Pod>,
    deps: impl Iterator<Item = &'a Deployment>,
    events: impl Iterator<Item = &'a KubeEvent>,
) -> PodsSnapshot {
    rows_snapshot(pods.map(pod_row).collect(), deps.map(deployment_row).collect(), events.map(event_row).collect())
}

/// The model's snapshot of these rows: sorted by namespace and name, newest events first.
pub fn rows_snapshot(pods: Vec<PodRow>, deployments: Vec<DeploymentRow>, events: Vec<KubeEventRow>) -> PodsSnapshot {
    let mut out = PodsSnapshot { pods, deployments, events, ..PodsSnapshot::default() };
    out.pods.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    out.deployments.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    out.events.sort_by_key(|e| std::cmp::Reverse(e.at));
    out.events.truncate(EVENTS_KEPT);
    out
}

fn time(t: Option<&Time>) -> Option<DateTime<Utc>> {
    t.and_then(|t| DateTime::from_timestamp(t.0.as_second(), t.0.subsec_nanosecond().max(0) as u32))
}

pub fn pod_row(p: &Pod) -> PodRow {
    let status = p.status.clone().unwrap_or_default();
    let statuses = status.container_statuses.clone().unwrap_or_default();
    let containers = p.spec.as_ref().map_or(statuses.len(), |s| s.containers.len()) as u32;
    let reason = statuses
        .iter()
        .find_map(|c| {
            let state = c.state.as_ref()?;
            state.waiting.as_ref().and_then(|w| w.reason.clone()).or_else(|| state.terminated.as_ref().and_then(|t| t.reason.clone()))
        })
        .filter(|r| r != "ContainerCreating" && r != "PodInitializing" && r != "Completed")
        .or_else(|| status.reason.clone());
    PodRow {
        namespace: clean(p.metadata.namespace.as_deref().unwrap_or("")),
        name: clean(p.metadata.name.as_deref().unwrap_or("")),
        phase: clean(status.phase.as_deref().unwrap_or("Unknown")),
        ready: statuses.iter().filter(|c| c.ready).count() as u32,
        containers,
        restarts: statuses.iter().map(|c| c.restart_count.max(0) as u32).sum(),
        last_restart: statuses.iter().filter_map(|c| time(c.last_state.as_ref()?.terminated.as_ref()?.finished_at.as_ref())).max(),
        created: time(p.metadata.creation_timestamp.as_ref()),
        node: clean(p.spec.as_ref().and_then(|s| s.node_name.as_deref()).unwrap_or("")),
        reason: reason.map(|r| clean(&r)),
        last_exit: statuses
            .iter()
            .filter_map(|c| c.last_state.as_ref()?.terminated.as_ref())
            .max_by_key(|t| time(t.finished_at.as_ref()))
            .and_then(|t| t.reason.as_deref())
            .map(clean),
        requests: pod_resources(p, |r| r.requests.as_ref(), false),
        limits: pod_resources(p, |r| r.limits.as_ref(), true),
        usage: None,
    }
}

/// A pod's requests or limits: the sum over its containers. A limit binds the pod only when every
/// container sets it (`every`); a request is the sum of those set. Unreadable quantities count as unset.
fn pod_resources(
    p: &Pod,
    of: impl Fn(&k8s_openapi::api::core::v1::ResourceRequirements) -> Option<&BTreeMap<String, Quantity>>,
    every: bool,
) -> Resources {
    let containers = p.spec.as_ref().map(|s| s.containers.as_slice()).unwrap_or_default();
    let sum = |name: &str, read: fn(&str) -> Option<u64>| -> Option<u64> {
        let each: Vec<Option<u64>> =
            containers.iter().map(|c| c.resources.as_ref().and_then(&of).and_then(|m| m.get(name)).and_then(|q| read(&q.0))).collect();
        if each.is_empty() || (every && each.iter().any(Option::is_none)) || each.iter().all(Option::is_none) {
            return None;
        }
        Some(each.into_iter().flatten().sum())
    };
    Resources {
        cpu_m: sum("cpu", |q| crate::quantity::cpu_nanos(q).map(|n| n.div_ceil(1_000_000))),
        memory: sum("memory", crate::quantity::memory_bytes),
    }
}

pub fn deployment_row(d: &Deployment) -> DeploymentRow {
    let status = d.status.clone().unwrap_or_default();
    let desired = d.spec.replicas.unwrap_or(1).max(0) as u32;
    let updated = status.updated_replicas.unwrap_or(0).max(0) as u32;
    let available = status.available_replicas.unwrap_or(0).max(0) as u32;
    let stalled = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_.as_deref() == Some("Progressing") && c.status.as_deref() == Some("False"))
        .map(|c| c.reason.clone().unwrap_or_default());
    let rollout = match stalled {
        Some(r) => format!("stalled ({r})"),
        None if updated >= desired && available >= desired && status.replicas.unwrap_or(0).max(0) as u32 == desired => {
            "complete".to_string()
        }
        None => "progressing".to_string(),
    };
    DeploymentRow {
        namespace: clean(d.metadata.namespace.as_deref().unwrap_or("")),
        name: clean(d.metadata.name.as_deref().unwrap_or("")),
        desired,
        updated,
        ready: status.ready_replicas.unwrap_or(0).max(0) as u32,
        available,
        revision: clean(
            d.metadata.annotations.as_ref().and_then(|a| a.get("deployment.kubernetes.io/revision")).map_or("", String::as_str),
        ),
        images: d
            .spec
            .template
            .spec
            .as_ref()
            .map(|s| s.containers.iter().filter_map(|c| c.image.as_deref().map(clean)).collect())
            .unwrap_or_default(),
        rollout,
    }
}

/// An event as the model's row, with its time (last seen, else first seen, else event time).
pub fn event_row(e: &KubeEvent) -> KubeEventRow {
    KubeEventRow {
        at: time(e.last_timestamp.as_ref())
            .or_else(|| time(e.first_timestamp.as_ref()))
            .or_else(|| e.event_time.as_ref().and_then(|t| DateTime::from_timestamp(t.0.as_second(), 0))),
        namespace: clean(e.metadata.namespace.as_deref().unwrap_or("")),
        object: clean(&format!(
            "{}/{}",
            e.involved_object.kind.as_deref().unwrap_or("").to_lowercase(),
            e.involved_object.name.as_deref().unwrap_or("")
        )),
        kind: clean(e.type_.as_deref().unwrap_or("Normal")),
        reason: clean(e.reason.as_deref().unwrap_or("")),
        message: clean(e.message.as_deref().unwrap_or("")),
        count: e.count.unwrap_or(1).max(0) as u32,
    }
}

/// Longest log line kept, in characters (a longer one is cut with `…`).
const LOG_LINE_CHARS: usize = 2000;

/// How a log is read: from where, and whether it is followed.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogRead {
    pub follow: bool,
    /// The last lines only (`--tail`).
    pub tail: Option<i64>,
    /// Lines written in the last seconds only (a reconnect picks up where it left off).
    pub since_secs: Option<i64>,
}

/// A pod container's log as lines, the kubelet's timestamp taken off each and the text made safe
/// for the screen (`sanitize`, secrets redacted). With `follow`, the lines come as they are written.
pub async fn log_lines(
    client: &Client,
    target: &crate::model::LogTarget,
    read: LogRead,
) -> Result<impl futures::Stream<Item = Result<crate::model::LogLine, BackendError>> + use<>, BackendError> {
    use futures::{AsyncBufReadExt, TryStreamExt};
    let what = format!("the log of pod {}/{}", target.namespace, target.pod);
    let params = kube::api::LogParams {
        container: target.container.clone(),
        follow: read.follow,
        previous: target.previous,
        tail_lines: read.tail,
        since_seconds: read.since_secs,
        timestamps: true,
        ..Default::default()
    };
    let api = Api::<Pod>::namespaced(client.clone(), &target.namespace);
    let stream = api.log_stream(&target.pod, &params).await.map_err(err(&what))?;
    Ok(stream
        .lines()
        .map_ok(|raw| log_line(&raw))
        .map_err(move |e| BackendError::Unreachable { target: what.clone(), detail: clean(&super::causes(&e)) }))
}

/// One line of `timestamps=true` output: `2026-12-02T16:20:01.123456789Z text`, made safe.
pub fn log_line(raw: &str) -> crate::model::LogLine {
    let raw = raw.strip_suffix('\r').unwrap_or(raw);
    let stamped = raw.split_once(' ').and_then(|(at, text)| Some((DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc), text)));
    let (at, text) = match stamped {
        Some((at, text)) => (Some(at), text),
        None => (None, raw),
    };
    crate::model::LogLine { at, text: crate::sanitize::sanitize_bounded(&crate::sanitize::redact_secrets(text), LOG_LINE_CHARS) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ObjectReference;

    #[test]
    fn an_event_keeps_its_time_for_the_collector_and_triage_alike() {
        let at: Time = serde_json::from_value(serde_json::json!("2026-11-29T13:05:01Z")).unwrap_or_else(|_| panic!("a time"));
        let e = KubeEvent {
            last_timestamp: Some(at),
            involved_object: ObjectReference { kind: Some("Pod".into()), name: Some("api-1".into()), ..Default::default() },
            type_: Some("Warning".into()),
            reason: Some("BackOff".into()),
            ..Default::default()
        };
        let snap = snapshot(std::iter::empty(), std::iter::empty(), std::iter::once(&e));
        assert_eq!(snap.events[0].at.map(|t| t.to_rfc3339()).as_deref(), Some("2026-11-29T13:05:01+00:00"));
        assert_eq!(snap.events[0].object, "pod/api-1");
    }

    #[test]
    fn a_log_line_loses_its_stamp_escapes_bells_and_bidi_overrides() {
        let line = log_line("2026-12-02T16:20:01.123456789Z ERROR \u{1b}[31mred\u{1b}[0m \u{7}bell \u{202e}desrever password=hunter2");
        assert_eq!(line.at.map(|t| t.to_rfc3339()).as_deref(), Some("2026-12-02T16:20:01.123456789+00:00"));
        assert_eq!(line.text, "ERROR red bell desrever password=***");
        assert_eq!(log_line("no stamp here").at, None);
    }
}
