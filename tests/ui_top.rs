//! The kube pane's top view (`:top`) drawn off-screen at 80x24 and 200x60: nodes and pods with
//! CPU and memory against requests, limits and allocatable, the worst share first, `s` sorting by
//! CPU and memory, an OOMKilled last exit, and a Metrics API that cannot be read.

#[path = "support/console.rs"]
mod console_support;

use chrono::{DateTime, Duration, Utc};
use console_support::kube_console;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use sitrep::app::{Console, frame_text};
use sitrep::model::*;
use sitrep::ui::kube_views::{KubeView, TopSort};

const MI: u64 = 1 << 20;

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-29T03:12:00Z").map(|t| t.with_timezone(&Utc)).unwrap_or_default() + Duration::seconds(secs)
}

/// A running pod requesting 200m and 256Mi, limited to 512Mi (no CPU limit), using `cpu_m` and `mem_mi`.
fn pod(name: &str, cpu_m: u64, mem_mi: u64, last_exit: Option<&str>) -> PodRow {
    PodRow {
        namespace: "shop".into(),
        name: name.into(),
        phase: "Running".into(),
        ready: 1,
        containers: 1,
        created: Some(at(-3600)),
        node: "lab-node-1".into(),
        last_exit: last_exit.map(Into::into),
        requests: Resources { cpu_m: Some(200), memory: Some(256 * MI) },
        limits: Resources { cpu_m: None, memory: Some(512 * MI) },
        usage: Some(Usage { cpu_m, memory: mem_mi * MI }),
        ..PodRow::default()
    }
}

fn snapshot() -> PodsSnapshot {
    PodsSnapshot {
        pods: vec![
            pod("api-1", 110, 150, None),
            // 180m of a 200m request: 90 %, over the runbook's 85 % critical line.
            pod("api-2", 180, 160, None),
            // 480Mi of a 512Mi limit: 93 %, and the last container was OOMKilled.
            pod("worker-1", 60, 480, Some("OOMKilled")),
            PodRow { usage: None, phase: "Pending".into(), ready: 0, ..pod("worker-2", 0, 0, None) },
        ],
        nodes: vec![NodeRow {
            name: "lab-node-1".into(),
            allocatable: Resources { cpu_m: Some(4000), memory: Some(8192 * MI) },
            usage: Some(Usage { cpu_m: 1200, memory: 3000 * MI }),
        }],
        top_at: Some(at(-4)),
        ..PodsSnapshot::default()
    }
}

fn console(snap: PodsSnapshot) -> Console {
    kube_console(snap, at(0))
}

fn command(c: &mut Console, text: &str) {
    for ch in format!(":{text}").chars() {
        c.view.on_key(KeyEvent::new(KeyCode::Char(ch), KeyModifiers::NONE));
    }
    c.view.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
}

/// The pod names in the order the pods table shows them.
fn pod_order(frame: &str) -> Vec<&'static str> {
    let rows: Vec<&str> = frame.lines().skip_while(|l| !l.contains("LAST EXIT")).skip(1).collect();
    let mut named: Vec<(usize, &'static str)> = ["api-1", "api-2", "worker-1", "worker-2"]
        .into_iter()
        .filter_map(|n| rows.iter().position(|r| r.contains(&format!("shop/{n}"))).map(|i| (i, n)))
        .collect();
    named.sort();
    named.into_iter().map(|(_, n)| n).collect()
}

#[test]
fn top_shows_usage_against_requests_and_limits_worst_first_at_80x24() {
    let mut c = console(snapshot());
    command(&mut c, "top");
    assert_eq!((c.view.focus, c.view.kube_view), (SourceId::Pods, KubeView::Top));
    let frame = frame_text(&c, 80, 24, false);
    assert_eq!(pod_order(&frame), ["worker-1", "api-2", "api-1", "worker-2"], "the crit shares first, the unread pod last:\n{frame}");
    let line = |name: &str| frame.lines().find(|l| l.contains(&format!("shop/{name}"))).unwrap_or_default().to_string();
    assert!(line("api-2").contains("180m") && line("api-2").contains("90%"), "CPU of its request:\n{frame}");
    assert!(line("worker-1").contains("480Mi") && line("worker-1").contains("93%") && line("worker-1").contains("OOMKilled"), "{frame}");
    assert!(line("worker-2").matches(" - ").count() >= 2, "no usage is a dash, not a zero:\n{frame}");
    assert!(frame.contains("lab-node-1") && frame.contains("1200m") && frame.contains("30%"), "the node against allocatable:\n{frame}");
    assert!(frame.contains("4 pods · 1 nodes · 3 near their line · read 4s ago"), "{frame}");
    insta::assert_snapshot!("top_80x24", frame);
}

#[test]
fn top_in_pane_one_of_the_wall_view_at_200x60() {
    let mut c = console(snapshot());
    command(&mut c, "top");
    let frame = frame_text(&c, 200, 60, false);
    assert!(frame.contains("1 Top") && frame.contains("2 Replication") && frame.contains("OOMKilled"), "{frame}");
    assert!(frame.contains("3 near a CPU/memory line (:top)"), "the summary strip says why pods are not green:\n{frame}");
    insta::assert_snapshot!("top_200x60", frame);
}

#[test]
fn s_sorts_the_top_view_by_cpu_then_memory_and_leaves_the_pods_sort_alone() {
    let mut c = console(snapshot());
    command(&mut c, "top");
    let s = KeyEvent::new(KeyCode::Char('s'), KeyModifiers::NONE);
    c.view.on_key(s);
    assert_eq!(c.view.top_sort, TopSort::Cpu);
    assert_eq!(pod_order(&frame_text(&c, 80, 24, false)), ["api-2", "api-1", "worker-1", "worker-2"]);
    c.view.on_key(s);
    assert_eq!(pod_order(&frame_text(&c, 80, 24, false)), ["worker-1", "api-2", "api-1", "worker-2"]);
    c.view.on_key(s);
    assert_eq!(c.view.top_sort, TopSort::Worst);
    assert_eq!(c.view.pod_sort, sitrep::ui::PodSort::Health, "the pods view's sort is its own");
}

#[test]
fn a_metrics_api_that_cannot_be_read_says_why_and_how_old_the_numbers_are() {
    let mut snap = snapshot();
    snap.top_problem = Some(Box::new(ListProblem {
        error: "metrics.k8s.io (kubectl top): Metrics API not available (404 the server could not find the requested resource); install metrics-server".into(),
        since: Some(at(-30)),
        last_ok: Some(at(-45)),
    }));
    snap.top_at = Some(at(-45));
    let mut c = console(snap);
    command(&mut c, "top");
    let frame = frame_text(&c, 200, 60, false);
    assert!(frame.contains("⚠ top: metrics.k8s.io (kubectl top): Metrics API not available"), "{frame}");
    assert!(frame.contains("failing 30s") && frame.contains("data 45s old") && frame.contains("read 45s ago"), "{frame}");
}

#[test]
fn before_the_first_reading_the_view_waits_rather_than_showing_zeros() {
    let snap = PodsSnapshot { top_at: None, nodes: Vec::new(), ..snapshot() };
    let snap = PodsSnapshot { pods: snap.pods.into_iter().map(|p| PodRow { usage: None, ..p }).collect(), ..snap };
    let mut c = console(snap);
    command(&mut c, "top");
    let frame = frame_text(&c, 80, 24, false);
    assert!(frame.contains("waiting for the first metrics.k8s.io reading") && frame.contains("not read yet"), "{frame}");
}
