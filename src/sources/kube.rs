//! Pods collector: watches (not polls) pods, deployments and events with kube's watcher/reflector,
//! and sends a fresh snapshot whenever the stores changed. kubeconfig/context/namespace as kubectl.

use super::failed;
use crate::backends::kube as backend;
use crate::clock::Clock;
use crate::config::KubeSource;
use crate::model::{Event, Observation, PodsSnapshot, SourceId};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event as KubeEvent, Pod};
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher;
use kube::{Api, Client};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;

/// How often to say a quiet watch is alive, and how long to wait for the API server.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    pub refresh: Duration,
    pub timeout: Duration,
}

/// Runs the watchers until the console goes away; reconnects with backoff.
pub async fn run(config: KubeSource, pace: Pace, clock: Clock, tx: UnboundedSender<Event>) {
    let mut backoff = super::Backoff::new(pace.refresh);
    loop {
        match backend::client(&config.kubeconfig, &config.context, pace.timeout).await {
            Ok(client) => {
                watch(&config, pace, client, &clock, &tx).await;
                if tx.is_closed() {
                    return;
                }
            }
            Err(e) => {
                if tx.send(failed(SourceId::Pods, &clock, &e.to_string())).is_err() {
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

async fn watch(config: &KubeSource, pace: Pace, client: Client, clock: &Clock, tx: &UnboundedSender<Event>) {
    let ns = &config.namespaces;
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
    let timeout = pace.timeout;
    let mut alive = tokio::time::interval(pace.refresh);
    loop {
        tokio::select! {
            item = streams.next() => match item {
                Some(Ok(settled)) => { if settled { dirty.store(true, Ordering::Relaxed); synced = true; } failing = false; }
                Some(Err(e)) => {
                    failing = true;
                    if tx.send(failed(SourceId::Pods, clock, &backend::watch_error(&e))).is_err() { return; }
                    tokio::time::sleep(pace.refresh).await;
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
fn settled<K>(r: Result<watcher::Event<K>, watcher::Error>) -> Result<bool, watcher::Error> {
    r.map(|e| !matches!(e, watcher::Event::Init | watcher::Event::InitApply(_)))
}

fn snapshot(pods: &Store<Pod>, deps: &Store<Deployment>, events: &Store<KubeEvent>, ns: &[String]) -> PodsSnapshot {
    let wanted = |n: Option<&String>| ns.len() <= 1 || n.is_some_and(|n| ns.contains(n));
    let (pods, deps, events) = (pods.state(), deps.state(), events.state());
    backend::snapshot(
        pods.iter().map(|p| &**p).filter(|p| wanted(p.metadata.namespace.as_ref())),
        deps.iter().map(|d| &**d).filter(|d| wanted(d.metadata.namespace.as_ref())),
        events.iter().map(|e| &**e).filter(|e| wanted(e.metadata.namespace.as_ref())),
    )
}
