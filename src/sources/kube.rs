//! Pods collector: watches (not polls) pods, deployments and events with kube's watcher, keeps
//! them as rows (never as API objects), and sends a fresh snapshot whenever the rows changed.
//! kubeconfig/context/namespace as kubectl.

use super::failed;
use crate::backends::BackendError;
use crate::backends::kube as backend;
use crate::backends::kube_scaling as scaling;
use crate::backends::kube_services as services;
use crate::backends::kube_top::{self, TopReading};
use crate::clock::Clock;
use crate::config::KubeSource;
use crate::model::{Event, ListProblem, NodeRow, Observation, SourceId, Usage};
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Event as KubeEvent, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;

/// How often pod and node usage is read: metrics-server's resolution (it scrapes every 15 s), so
/// reading faster would only show the same numbers again.
pub const TOP_EVERY: Duration = Duration::from_secs(15);

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

/// One watch event of any of the three kinds.
enum Change {
    Pod(watcher::Event<Pod>),
    Deployment(watcher::Event<Deployment>),
    Event(watcher::Event<KubeEvent>),
    Service(watcher::Event<Service>),
    Slice(watcher::Event<EndpointSlice>),
    /// Services or their slices cannot be watched: the rest goes on (RBAC may allow pods only).
    ServicesFailed(String),
    Hpa(watcher::Event<HorizontalPodAutoscaler>),
    Pdb(watcher::Event<PodDisruptionBudget>),
    /// HPAs or PDBs cannot be watched: the rest goes on.
    ScalingFailed(String),
}

async fn watch(config: &KubeSource, pace: Pace, client: Client, clock: &Clock, tx: &UnboundedSender<Event>) {
    let ns = &config.namespaces;
    let mut pods = Rows::new(ns, backend::pod_row);
    let mut deps = Rows::new(ns, backend::deployment_row);
    let mut events = Rows::new(ns, backend::event_row);
    let mut svcs = Rows::new(ns, services::service_row);
    let mut slices = Rows::new(ns, services::slice_row);
    let mut svc_problem: Option<ListProblem> = None;
    let mut svc_last_ok = None;
    let mut hpas = Rows::new(ns, scaling::hpa_row);
    let mut pdbs = Rows::new(ns, scaling::pdb_row);
    let mut scaling_problem: Option<ListProblem> = None;
    let mut scaling_last_ok = None;
    let mut top = Top::default();
    // Usage is polled beside the watches, so a slow Metrics API never holds up a pod event.
    let (top_tx, mut top_rx) = tokio::sync::mpsc::channel(1);
    let _poller = tokio_util::task::AbortOnDropHandle::new(tokio::spawn(poll_top(client.clone(), ns.clone(), pace.timeout, top_tx)));
    let wcfg = || watcher::Config::default().any_semantic();
    // Their own backoff: a refused services watch must neither spin nor stop the pods'.
    let apart = |e: watcher::Error| Ok(Change::ServicesFailed(backend::watch_error(&e)));
    let scaling_apart = |e: watcher::Error| Ok(Change::ScalingFailed(backend::watch_error(&e)));
    let streams = futures::stream::select_all(vec![
        watcher(api::<Pod>(&client, ns), wcfg()).map_ok(Change::Pod).boxed(),
        watcher(api::<Deployment>(&client, ns), wcfg()).map_ok(Change::Deployment).boxed(),
        watcher(api::<KubeEvent>(&client, ns), wcfg()).map_ok(Change::Event).boxed(),
        watcher(api::<Service>(&client, ns), wcfg())
            .default_backoff()
            .map_ok(Change::Service)
            .or_else(move |e| async move { apart(e) })
            .boxed(),
        watcher(api::<EndpointSlice>(&client, ns), wcfg())
            .default_backoff()
            .map_ok(Change::Slice)
            .or_else(move |e| async move { apart(e) })
            .boxed(),
        watcher(api::<HorizontalPodAutoscaler>(&client, ns), wcfg())
            .default_backoff()
            .map_ok(Change::Hpa)
            .or_else(move |e| async move { scaling_apart(e) })
            .boxed(),
        watcher(api::<PodDisruptionBudget>(&client, ns), wcfg())
            .default_backoff()
            .map_ok(Change::Pdb)
            .or_else(move |e| async move { scaling_apart(e) })
            .boxed(),
    ]);
    let mut streams = std::pin::pin!(streams);
    let mut dirty = false;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let mut failing = false;
    let mut synced = false;
    let timeout = pace.timeout;
    let mut alive = tokio::time::interval(pace.refresh);
    loop {
        tokio::select! {
            item = streams.next() => match item {
                Some(Ok(change)) => {
                    let settled = match change {
                        Change::Pod(e) => pods.apply(e),
                        Change::Deployment(e) => deps.apply(e),
                        Change::Event(e) => events.apply(e),
                        Change::Service(e) => services_settled(svcs.apply(e), &mut svc_problem, &mut svc_last_ok, clock),
                        Change::Slice(e) => services_settled(slices.apply(e), &mut svc_problem, &mut svc_last_ok, clock),
                        Change::ServicesFailed(error) => list_failed(&mut svc_problem, svc_last_ok, error, clock),
                        Change::Hpa(e) => services_settled(hpas.apply(e), &mut scaling_problem, &mut scaling_last_ok, clock),
                        Change::Pdb(e) => services_settled(pdbs.apply(e), &mut scaling_problem, &mut scaling_last_ok, clock),
                        Change::ScalingFailed(error) => list_failed(&mut scaling_problem, scaling_last_ok, error, clock),
                    };
                    if settled { dirty = true; synced = true; }
                    failing = false;
                }
                Some(Err(e)) => {
                    failing = true;
                    if tx.send(failed(SourceId::Pods, clock, &backend::watch_error(&e))).is_err() { return; }
                    tokio::time::sleep(pace.refresh).await;
                }
                None => return,
            },
            Some(reading) = top_rx.recv() => {
                if top.apply(reading, clock) {
                    dirty = true;
                }
            }
            _ = tick.tick() => {
                if !failing && std::mem::take(&mut dirty) {
                    let pod_rows = pods.live.iter().map(|(key, row)| crate::model::PodRow { usage: top.usage.get(key).copied(), ..row.clone() });
                    let mut snapshot = backend::rows_snapshot(pod_rows.collect(), deps.rows(), events.rows());
                    // Until both lists are in, a service would read as having no endpoint.
                    if svcs.synced && slices.synced {
                        snapshot.services = services::with_endpoints(svcs.rows(), &slices.rows());
                    }
                    snapshot.services_problem = svc_problem.clone();
                    let scaling =
                        crate::model::Scaling { autoscalers: hpas.rows(), budgets: pdbs.rows(), problem: scaling_problem.clone() };
                    snapshot.scaling = (scaling != crate::model::Scaling::default()).then(|| Box::new(scaling));
                    (snapshot.nodes, snapshot.top_at, snapshot.top_problem) = (top.nodes.clone(), top.at, top.problem.clone().map(Box::new));
                    let observation = Observation::Pods(snapshot);
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

/// Reads usage every [`TOP_EVERY`] until the watch that spawned it ends (it is aborted then).
async fn poll_top(
    client: Client,
    namespaces: Vec<String>,
    timeout: Duration,
    tx: tokio::sync::mpsc::Sender<Result<TopReading, BackendError>>,
) {
    let mut every = tokio::time::interval(TOP_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if tx.send(kube_top::read(&client, &namespaces, timeout).await).await.is_err() {
            return;
        }
    }
}

/// The last usage reading, when it was taken, and what fails now (the Metrics API, or the nodes).
#[derive(Default)]
struct Top {
    usage: HashMap<(String, String), Usage>,
    nodes: Vec<NodeRow>,
    at: Option<DateTime<Utc>>,
    problem: Option<ListProblem>,
}

impl Top {
    /// Takes a reading; whether the snapshot must be sent again: after every reading, since its
    /// time is shown. A failed reading keeps the last numbers (the pane shows their age beside the
    /// error) rather than showing none.
    fn apply(&mut self, reading: Result<TopReading, BackendError>, clock: &Clock) -> bool {
        let now = clock.now();
        let failure = match reading {
            Ok(r) => {
                (self.usage, self.nodes, self.at) = (r.pods, r.nodes, Some(now));
                let since = self.problem.as_ref().and_then(|p| p.since).unwrap_or(now);
                self.problem = r.nodes_problem.map(|e| ListProblem {
                    error: crate::sanitize::clean(&e.to_string()),
                    since: Some(since),
                    last_ok: None,
                });
                return true;
            }
            Err(e) => e.to_string(),
        };
        let next = ListProblem {
            error: crate::sanitize::clean(&failure),
            since: self.problem.as_ref().and_then(|p| p.since).or(Some(now)),
            last_ok: self.at,
        };
        let changed = self.problem.as_ref() != Some(&next);
        self.problem = Some(next);
        changed
    }
}

/// A list that cannot be watched while the rest can: its problem, since when, its last answer.
fn list_failed(problem: &mut Option<ListProblem>, last_ok: Option<DateTime<Utc>>, error: String, clock: &Clock) -> bool {
    let since = problem.as_ref().and_then(|p| p.since).unwrap_or_else(|| clock.now());
    let next = Some(ListProblem { error, since: Some(since), last_ok });
    let changed = *problem != next;
    *problem = next;
    changed
}

/// A list's change (services, slices, HPAs, PDBs): a settled one clears the list's problem and is its last answer.
fn services_settled(
    settled: bool,
    problem: &mut Option<ListProblem>,
    last_ok: &mut Option<chrono::DateTime<chrono::Utc>>,
    clock: &Clock,
) -> bool {
    if settled {
        *problem = None;
        *last_ok = Some(clock.now());
    }
    settled
}

/// The model's rows of one kind, keyed by namespace and name: each watch event is turned into its
/// row at once and the API object dropped, so 10,000 pods cost their rows, not their objects.
pub struct Rows<'a, K, R> {
    namespaces: &'a [String],
    row: fn(&K) -> R,
    live: BTreeMap<(String, String), R>,
    /// A re-list in progress (`Init` .. `InitDone`): it replaces `live` once complete.
    listing: Option<BTreeMap<(String, String), R>>,
    /// A listing has completed once.
    synced: bool,
}

impl<'a, K: kube::Resource, R: Clone> Rows<'a, K, R> {
    pub fn new(namespaces: &'a [String], row: fn(&K) -> R) -> Self {
        Rows { namespaces, row, live: BTreeMap::new(), listing: None, synced: false }
    }

    /// Applies one watch event; whether the rows are complete and changed (listing pages are not).
    pub fn apply(&mut self, event: watcher::Event<K>) -> bool {
        match event {
            watcher::Event::Init => {
                self.listing = Some(BTreeMap::new());
                false
            }
            watcher::Event::InitApply(obj) => {
                if let Some((key, row)) = self.keyed(&obj) {
                    self.listing.get_or_insert_default().insert(key, row);
                }
                false
            }
            watcher::Event::InitDone => {
                self.live = self.listing.take().unwrap_or_default();
                self.synced = true;
                true
            }
            watcher::Event::Apply(obj) => {
                if let Some((key, row)) = self.keyed(&obj) {
                    self.live.insert(key, row);
                }
                true
            }
            watcher::Event::Delete(obj) => {
                let meta = obj.meta();
                let key = (meta.namespace.clone().unwrap_or_default(), meta.name.clone().unwrap_or_default());
                self.live.remove(&key);
                true
            }
        }
    }

    /// The object's key and row, if it is in a watched namespace (one, or all, is the API's filter).
    fn keyed(&self, obj: &K) -> Option<((String, String), R)> {
        let meta = obj.meta();
        let ns = meta.namespace.clone().unwrap_or_default();
        let wanted = self.namespaces.len() <= 1 || self.namespaces.contains(&ns);
        wanted.then(|| ((ns, meta.name.clone().unwrap_or_default()), (self.row)(obj)))
    }

    pub fn rows(&self) -> Vec<R> {
        self.live.values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::api::ObjectMeta;

    fn pod(ns: &str, name: &str, phase: &str) -> Pod {
        Pod {
            metadata: ObjectMeta { namespace: Some(ns.into()), name: Some(name.into()), ..Default::default() },
            status: Some(k8s_openapi::api::core::v1::PodStatus { phase: Some(phase.into()), ..Default::default() }),
            ..Default::default()
        }
    }

    fn names(rows: &Rows<'_, Pod, crate::model::PodRow>) -> Vec<String> {
        rows.rows().iter().map(|r| format!("{}/{} {}", r.namespace, r.name, r.phase)).collect()
    }

    #[test]
    fn a_relist_replaces_the_rows_only_when_complete_and_drops_what_it_did_not_list() {
        let all = Vec::new();
        let mut rows = Rows::new(&all, backend::pod_row);
        assert!(!rows.apply(watcher::Event::Init));
        assert!(!rows.apply(watcher::Event::InitApply(pod("shop", "api-1", "Running"))));
        assert!(!rows.apply(watcher::Event::InitApply(pod("shop", "api-2", "Pending"))));
        assert!(names(&rows).is_empty(), "pages of a listing are not yet the rows");
        assert!(rows.apply(watcher::Event::InitDone));
        assert_eq!(names(&rows), ["shop/api-1 Running", "shop/api-2 Pending"]);

        assert!(rows.apply(watcher::Event::Apply(pod("shop", "api-2", "Running"))));
        assert!(rows.apply(watcher::Event::Delete(pod("shop", "api-1", "Running"))));
        assert_eq!(names(&rows), ["shop/api-2 Running"]);

        rows.apply(watcher::Event::Init);
        rows.apply(watcher::Event::InitApply(pod("shop", "api-3", "Running")));
        assert_eq!(names(&rows), ["shop/api-2 Running"], "the old rows stay until the re-list is done");
        rows.apply(watcher::Event::InitDone);
        assert_eq!(names(&rows), ["shop/api-3 Running"]);
    }

    #[test]
    fn only_watched_namespaces_become_rows() {
        let two = vec!["shop".to_string(), "kube-system".to_string()];
        let mut rows = Rows::new(&two, backend::pod_row);
        rows.apply(watcher::Event::Apply(pod("shop", "api-1", "Running")));
        rows.apply(watcher::Event::Apply(pod("default", "other", "Running")));
        assert_eq!(names(&rows), ["shop/api-1 Running"]);
    }
}
