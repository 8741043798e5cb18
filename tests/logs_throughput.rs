//! Measures (does not assert) how many log lines a second the logs view keeps up with: a stand-in
//! pod writes at a set rate, the console follows it through its real stream task, Model and an
//! 80x24 frame drawn after each burst, as the app loop does. Run:
//! `cargo test --test logs_throughput -- --ignored --nocapture` (`SITREP_LOG_RATES=1000,50000` to choose).

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, PostParams};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use sitrep::app::Console;
use sitrep::clock::Clock;
use sitrep::config::Config;
use sitrep::lab::kube::{Cluster, LOG_RATE_ANNOTATION, serve, write_kubeconfig};
use sitrep::model::{Event, Observation, PodRow, PodsSnapshot};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// A one-pod deployment whose container writes `rate` lines a second.
fn spewer(name: &str, rate: u64) -> Result<Deployment, serde_json::Error> {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}, "annotations": {LOG_RATE_ANNOTATION: rate.to_string()}},
                "spec": {"containers": [{"name": "spew", "image": "registry.local/shop/spew:1.0.0"}]}}}
    }))
}

struct Measured {
    lines: u64,
    secs: f64,
    frames: u64,
    /// How far the newest line shown was behind the clock at the end.
    behind: chrono::Duration,
}

async fn follow(
    kubeconfig: &std::path::Path,
    client: &kube::Client,
    rate: u64,
    secs: u64,
) -> Result<Measured, Box<dyn std::error::Error + Send + Sync>> {
    let name = format!("spew-{rate}");
    Api::<Deployment>::namespaced(client.clone(), "shop").create(&PostParams::default(), &spewer(&name, rate)?).await?;
    let pods = Api::<Pod>::namespaced(client.clone(), "shop");
    let pod = loop {
        let list = pods.list(&ListParams::default().labels(&format!("app={name}"))).await?;
        if let Some(p) = list.items.iter().find(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")) {
            break sitrep::backends::kube::pod_row(p);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut config = Config::default();
    config.kube.kubeconfig = kubeconfig.display().to_string();
    let mut console = Console::new(config, "measure".into(), Clock::Real)?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    console.set_events(tx);
    let snapshot = PodsSnapshot { pods: vec![PodRow { ..pod }], ..PodsSnapshot::default() };
    console.model.apply(Event::Observed { at: chrono::Utc::now(), observation: Observation::Pods(snapshot) });
    let mut terminal = Terminal::new(TestBackend::new(80, 24))?;
    console.on_key(KeyEvent::new(KeyCode::Char('l'), KeyModifiers::NONE));
    let (started, mut frames) = (Instant::now(), 0u64);
    let first = console.model.logs.as_ref().map_or(0, |v| v.end_number());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    // The app loop: every waiting event applied, then one frame.
    loop {
        tokio::select! {
            Some(event) = rx.recv() => {
                let mut events = vec![event];
                while let Ok(e) = rx.try_recv() {
                    events.push(e);
                }
                if console.feed(events) {
                    console.draw(&mut terminal)?;
                    frames += 1;
                }
            }
            _ = tokio::time::sleep_until(deadline) => break,
        }
    }
    let view = console.model.logs.clone().ok_or("the logs view closed")?;
    let newest = view.lines.back().and_then(|l| l.at).unwrap_or_default();
    console.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    Ok(Measured { lines: view.end_number() - first, secs: started.elapsed().as_secs_f64(), frames, behind: chrono::Utc::now() - newest })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run with --ignored --nocapture"]
async fn log_follow_throughput() -> TestResult {
    let cluster = Cluster::new();
    cluster.seed_demo();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let server = format!("http://{}", listener.local_addr()?);
    tokio::spawn(serve(listener, cluster.clone(), std::future::pending()));
    let dir = tempfile::tempdir()?;
    let kubeconfig = dir.path().join("kubeconfig");
    write_kubeconfig(&kubeconfig, &server, "measure", "shop")?;
    let client = kube::Client::try_from(
        kube::Config::from_custom_kubeconfig(
            kube::config::Kubeconfig::read_from(&kubeconfig)?,
            &kube::config::KubeConfigOptions::default(),
        )
        .await?,
    )?;
    let rates = std::env::var("SITREP_LOG_RATES").unwrap_or_else(|_| "100,2000,10000,50000,200000".into());
    println!("{:>10} {:>12} {:>10} {:>8} {:>10}", "written/s", "shown/s", "lines", "frames", "behind");
    for rate in rates.split(',').filter_map(|r| r.trim().parse::<u64>().ok()) {
        let m = follow(&kubeconfig, &client, rate, 10).await?;
        let behind = m.behind.num_milliseconds() as f64 / 1000.0;
        println!("{rate:>10} {:>12.0} {:>10} {:>8} {:>9.2}s", m.lines as f64 / m.secs, m.lines, m.frames, behind);
    }
    Ok(())
}
