//! Pods collector: watches (not polls) pods, deployments and events with kube's watcher/reflector,
//! and sends a fresh snapshot whenever the stores changed. kubeconfig/context/namespace as kubectl.

use super::{clean, failed};
use crate::clock::Clock;
use crate::config::Config;
use crate::model::{DeploymentRow, Event, KubeEventRow, Observation, PodRow, PodsSnapshot, SourceId};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event as KubeEvent, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher;
use kube::{Api, Client};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;

/// Connects with the kubeconfig conventions kubectl uses ($KUBECONFIG, ~/.kube/config, --context).
pub async fn client(config: &Config) -> Result<Client, String> {
    let kubeconfig = if config.kube.kubeconfig.is_empty() {
        kube::config::Kubeconfig::read().map_err(|e| format!("no kubeconfig ({e}); set KUBECONFIG or [kube] kubeconfig"))?
    } else {
        kube::config::Kubeconfig::read_from(&config.kube.kubeconfig)
            .map_err(|e| format!("cannot read kubeconfig {}: {e}", config.kube.kubeconfig))?
    };
    let options = kube::config::KubeConfigOptions {
        context: (!config.kube.context.is_empty()).then(|| config.kube.context.clone()),
        ..Default::default()
    };
    let mut cfg =
        kube::Config::from_custom_kubeconfig(kubeconfig, &options).await.map_err(|e| format!("kubeconfig: {e}; check [kube] context"))?;
    cfg.connect_timeout = Some(Duration::from_secs(config.general.timeout_secs.max(1)));
    Client::try_from(cfg).map_err(|e| format!("kube client: {e}"))
}

/// Runs the watchers until the console goes away; reconnects with backoff.
pub async fn run(config: Config, clock: Clock, tx: UnboundedSender<Event>) {
    let mut backoff = super::Backoff::new(Duration::from_secs(config.general.refresh_secs.max(1)));
    loop {
        match client(&config).await {
            Ok(client) => {
                watch(&config, client, &clock, &tx).await;
                if tx.is_closed() {
                    return;
                }
            }
            Err(e) => {
                if tx.send(failed(SourceId::Pods, &clock, &e)).is_err() {
                    return;
                }
                backoff.fail();
            }
        }
        tokio::time::sleep(backoff.delay()).await;
    }
}

fn api<K>(client: &Client, namespaces: &[String]) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    <K as kube::Resource>::DynamicType: Default,
{
    match namespaces {
        [one] => Api::namespaced(client.clone(), one),
        _ => Api::all(client.clone()),
    }
}

async fn watch(config: &Config, client: Client, clock: &Clock, tx: &UnboundedSender<Event>) {
    let ns = &config.kube.namespaces;
    let dirty = Arc::new(AtomicBool::new(false));
    let (pods, pods_w) = reflector::store::<Pod>();
    let (deps, deps_w) = reflector::store::<Deployment>();
    let (events, events_w) = reflector::store::<KubeEvent>();
    let wcfg = || watcher::Config::default().any_semantic();
    let streams = futures::stream::select_all(vec![
        reflector::reflector(pods_w, watcher(api::<Pod>(&client, ns), wcfg())).map(settled).boxed(),
        reflector::reflector(deps_w, watcher(api::<Deployment>(&client, ns), wcfg())).map(settled).boxed(),
        reflector::reflector(events_w, watcher(api::<KubeEvent>(&client, ns), wcfg())).map(settled).boxed(),
    ]);
    let mut streams = std::pin::pin!(streams);
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let mut failing = false;
    let mut synced = false;
    let timeout = Duration::from_secs(config.general.timeout_secs.max(1));
    let mut alive = tokio::time::interval(Duration::from_secs(config.general.refresh_secs.max(1)));
    loop {
        tokio::select! {
            item = streams.next() => match item {
                Some(Ok(settled)) => { if settled { dirty.store(true, Ordering::Relaxed); synced = true; } failing = false; }
                Some(Err(e)) => {
                    failing = true;
                    if tx.send(failed(SourceId::Pods, clock, &format!("watch: {e}"))).is_err() { return; }
                    tokio::time::sleep(Duration::from_secs(config.general.refresh_secs.max(1))).await;
                }
                None => return,
            },
            _ = tick.tick() => {
                if !failing && dirty.swap(false, Ordering::Relaxed) {
                    let observation = Observation::Pods(snapshot(&pods, &deps, &events, ns));
                    if tx.send(Event::Observed { at: clock.now(), observation }).is_err() { return; }
                }
            }
            // A quiet watch is a healthy watch: say so, or the pane would turn stale.
            // A quiet watch is only healthy if the API server still answers: ask it, cheaply.
            _ = alive.tick() => {
                if failing || !synced {
                    continue;
                }
                let probe = tokio::time::timeout(timeout, client.apiserver_version()).await;
                let event = match probe {
                    Ok(Ok(_)) => Event::SourceAlive { at: clock.now(), source: SourceId::Pods },
                    Ok(Err(e)) => failed(SourceId::Pods, clock, &format!("API server: {e}")),
                    Err(_) => failed(SourceId::Pods, clock, &format!("API server did not answer within {}s", timeout.as_secs())),
                };
                if tx.send(event).is_err() {
                    return;
                }
            }
        }
    }
}

/// Whether a watch event leaves the store complete (initial listing pages are not).
fn settled<K>(r: Result<watcher::Event<K>, watcher::Error>) -> Result<bool, String> {
    match r {
        Ok(watcher::Event::Init | watcher::Event::InitApply(_)) => Ok(false),
        Ok(_) => Ok(true),
        Err(e) => Err(e.to_string()),
    }
}

fn snapshot(pods: &Store<Pod>, deps: &Store<Deployment>, events: &Store<KubeEvent>, ns: &[String]) -> PodsSnapshot {
    let wanted = |n: Option<&String>| ns.len() <= 1 || n.is_some_and(|n| ns.contains(n));
    let mut out = PodsSnapshot {
        pods: pods.state().iter().filter(|p| wanted(p.metadata.namespace.as_ref())).map(|p| pod_row(p)).collect(),
        deployments: deps.state().iter().filter(|d| wanted(d.metadata.namespace.as_ref())).map(|d| deployment_row(d)).collect(),
        events: events.state().iter().filter(|e| wanted(e.metadata.namespace.as_ref())).map(|e| event_row(e)).collect(),
    };
    out.pods.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    out.deployments.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    out.events.sort_by_key(|e| std::cmp::Reverse(e.at));
    out.events.truncate(50);
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

fn event_row(e: &KubeEvent) -> KubeEventRow {
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
