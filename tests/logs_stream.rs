//! sitrep's log stream task against the stand-in: the last lines then followed, a crash-looping
//! container's runs one after another without a line twice across reconnects, a previous run read
//! once, and a dead API server told with its error and retried.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use sitrep::clock::Clock;
use sitrep::config::KubeSource;
use sitrep::lab::kube::{Cluster, serve, write_kubeconfig};
use sitrep::model::{Event, LogLine, LogTarget, LogsEvent};
use tokio::sync::mpsc::UnboundedReceiver;

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

struct StandIn {
    cluster: Cluster,
    source: KubeSource,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

async fn stand_in() -> Result<StandIn, Box<dyn std::error::Error + Send + Sync>> {
    let cluster = Cluster::new();
    cluster.seed_demo();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let server = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(listener, cluster.clone(), async move {
        let _ = stopped.await;
    }));
    let dir = tempfile::tempdir()?;
    let kubeconfig = dir.path().join("kubeconfig");
    write_kubeconfig(&kubeconfig, &server, "stand-in", "shop")?;
    let source = KubeSource { kubeconfig: kubeconfig.display().to_string(), ..KubeSource::default() };
    Ok(StandIn { cluster, source, stop: Some(stop), _dir: dir })
}

async fn pod_of(s: &StandIn, app: &str, crashing: bool) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let client = sitrep::backends::kube::client(&s.source.kubeconfig, "", Duration::from_secs(5)).await?;
    let pods = Api::<Pod>::namespaced(client, "shop");
    for _ in 0..300 {
        let list = pods.list(&ListParams::default().labels(&format!("app={app}"))).await?;
        let found = list.items.iter().find(|p| {
            let restarts = p.status.as_ref().and_then(|s| s.container_statuses.as_ref()).map_or(0, |c| c[0].restart_count);
            if crashing { restarts >= 1 } else { restarts == 0 }
        });
        if let Some(p) = found.and_then(|p| p.metadata.name.clone()) {
            return Ok(p);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("no {app} pod (crashing: {crashing})").into())
}

/// The logs events that arrive within `secs`.
async fn events(rx: &mut UnboundedReceiver<Event>, secs: u64) -> Vec<LogsEvent> {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while let Ok(Some(event)) = tokio::time::timeout_at(deadline, rx.recv()).await {
        if let Event::Logs(e) = event {
            out.push(e);
        }
    }
    out
}

fn lines(events: &[LogsEvent]) -> Vec<LogLine> {
    events.iter().filter_map(|e| if let LogsEvent::Lines { lines, .. } = e { Some(lines.clone()) } else { None }).flatten().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_pod_is_followed_and_a_crash_looping_ones_runs_come_once_each_across_reconnects() -> TestResult {
    let s = stand_in().await?;
    let web = pod_of(&s, "web", false).await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let follow = sitrep::sources::logs::start(s.source.clone(), Duration::from_secs(5), LogTarget::pod("shop", &web), Clock::Real, tx);
    let seen = events(&mut rx, 3).await;
    assert!(matches!(seen.first(), Some(LogsEvent::Connected { .. })), "{seen:?}");
    let followed = lines(&seen);
    assert!(followed.len() >= 4, "two lines a second arrive while followed: {followed:?}");
    drop(follow);
    tokio::time::sleep(Duration::from_millis(300)).await;
    while rx.try_recv().is_ok() {}
    assert!(events(&mut rx, 1).await.is_empty(), "dropping the follow stops the stream");

    s.cluster.deploy_bad("shop", "api")?;
    let bad = pod_of(&s, "api", true).await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let _follow = sitrep::sources::logs::start(s.source.clone(), Duration::from_secs(5), LogTarget::pod("shop", &bad), Clock::Real, tx);
    let seen = events(&mut rx, 12).await;
    let ended = seen.iter().filter(|e| matches!(e, LogsEvent::Ended { retry_secs: Some(_), .. })).count();
    assert!(ended >= 2, "each run's end is told and followed by a reconnect: {seen:?}");
    let texts: Vec<String> = lines(&seen).into_iter().map(|l| l.text).collect();
    let exits = texts.iter().filter(|t| *t == "FATAL api: exiting with status 1").count();
    assert!(exits >= 2, "several runs' last words: {texts:?}");
    let starts = texts.iter().filter(|t| t.starts_with("INFO api: starting")).count();
    assert!(starts.abs_diff(exits) <= 1, "each run once, never twice after a reconnect: {texts:?}");
    let times: Vec<_> = lines(&seen).into_iter().filter_map(|l| l.at).collect();
    assert!(times.windows(2).all(|w| w[0] < w[1]), "in order, none repeated: {times:?}");

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let previous = LogTarget { previous: true, ..LogTarget::pod("shop", &bad) };
    let _follow = sitrep::sources::logs::start(s.source.clone(), Duration::from_secs(5), previous, Clock::Real, tx);
    let seen = events(&mut rx, 3).await;
    assert!(matches!(seen.last(), Some(LogsEvent::Ended { retry_secs: None, .. })), "a previous run is read once: {seen:?}");
    assert_eq!(lines(&seen).last().map(|l| l.text.as_str()), Some("FATAL api: exiting with status 1"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_api_server_is_told_with_its_words_and_retried_with_backoff() -> TestResult {
    let mut s = stand_in().await?;
    let web = pod_of(&s, "web", false).await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let _follow = sitrep::sources::logs::start(s.source.clone(), Duration::from_secs(2), LogTarget::pod("shop", &web), Clock::Real, tx);
    let seen = events(&mut rx, 2).await;
    assert!(!lines(&seen).is_empty(), "{seen:?}");
    if let Some(stop) = s.stop.take() {
        let _ = stop.send(());
    }
    let seen = events(&mut rx, 8).await;
    let failures: Vec<(String, u64)> = seen
        .iter()
        .filter_map(|e| if let LogsEvent::Failed { error, retry_secs, .. } = e { Some((error.clone(), *retry_secs)) } else { None })
        .collect();
    assert!(failures.len() >= 2, "{seen:?}");
    assert!(failures.iter().all(|(e, _)| e.contains("Connection refused")), "the cause in its own words: {failures:?}");
    eprintln!("{}", failures[0].0);
    assert!(failures.windows(2).all(|w| w[1].1 >= w[0].1) && failures[1].1 > failures[0].1, "the wait grows: {failures:?}");
    Ok(())
}
