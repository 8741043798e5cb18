//! The kube pane's services and events views drawn off-screen at 80x24 and 200x60: services worst
//! first with ready against not-ready endpoints, events warnings first and each block newest first;
//! their failing and stale states, a services list that cannot be read, the keys and commands.

use chrono::{DateTime, Duration, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use sitrep::app::{Console, frame_text};
use sitrep::clock::Clock;
use sitrep::config::Config;
use sitrep::model::*;
use sitrep::ui::kube_views::KubeView;

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-29T03:12:00Z").map(|t| t.with_timezone(&Utc)).unwrap_or_default() + Duration::seconds(secs)
}

fn service(ns: &str, name: &str, kind: &str, selector: bool, ready: u32, not_ready: u32, ports: &str) -> ServiceRow {
    ServiceRow { namespace: ns.into(), name: name.into(), kind: kind.into(), selector, ports: ports.into(), ready, not_ready }
}

fn event(secs: i64, kind: &str, reason: &str, object: &str, count: u32, message: &str) -> KubeEventRow {
    KubeEventRow {
        at: Some(at(secs)),
        namespace: "shop".into(),
        object: object.into(),
        kind: kind.into(),
        reason: reason.into(),
        message: message.into(),
        count,
    }
}

fn snapshot() -> PodsSnapshot {
    PodsSnapshot {
        services: vec![
            service("default", "kubernetes", "ClusterIP", false, 1, 0, "443→8443/TCP"),
            service("shop", "api", "ClusterIP", true, 3, 1, "80→8080/TCP"),
            service("shop", "payments", "LoadBalancer", true, 0, 2, "443:30443→8443/TCP"),
            service("shop", "web", "NodePort", true, 2, 0, "80:30080→8080/TCP"),
        ],
        // Newest first, as the collector keeps them; the view puts the warnings on top.
        events: vec![
            event(
                -5,
                "Normal",
                "Pulled",
                "pod/api-5b8f7c9d6-hq2lp",
                6,
                "Container image \"registry.local/shop/api:1.5.0-bad\" already present",
            ),
            event(
                -8,
                "Warning",
                "BackOff",
                "pod/api-5b8f7c9d6-hq2lp",
                7,
                "Back-off restarting failed container api in pod api-5b8f7c9d6-hq2lp",
            ),
            event(-40, "Normal", "ScalingReplicaSet", "deployment/api", 1, "Scaled up replica set api-5b8f7c9d6 from 0 to 1"),
            event(
                -90,
                "Warning",
                "Unhealthy",
                "pod/payments-7c9d-x2",
                12,
                "Readiness probe failed: HTTP probe failed with statuscode: 503",
            ),
            event(-3600, "Normal", "Scheduled", "pod/web-55f6-zz9yx", 1, "Successfully assigned shop/web-55f6-zz9yx to lab-node-1"),
        ],
        ..PodsSnapshot::default()
    }
}

fn console(events: Vec<Event>) -> Console {
    let mut config = Config::default();
    config.general.theme = "mono".into();
    let mut c = Console::new(config, "sitrep-lab · shop".into(), Clock::virtual_at(at(0))).expect("console");
    for e in events {
        c.model.apply(e);
    }
    c
}

fn observed(snap: PodsSnapshot) -> Vec<Event> {
    vec![Event::Observed { at: at(-1), observation: Observation::Pods(snap) }, Event::Tick { at: at(0) }]
}

fn command(c: &mut Console, text: &str) {
    for ch in format!(":{text}").chars() {
        c.view.on_key(KeyEvent::new(KeyCode::Char(ch), KeyModifiers::NONE));
    }
    c.view.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
}

/// The row lines of a frame's table, from its header on, in screen order.
fn rows_after<'a>(frame: &'a str, header: &str) -> Vec<&'a str> {
    frame.lines().skip_while(|l| !l.contains(header)).skip(1).collect()
}

#[test]
fn services_show_ready_against_not_ready_endpoints_worst_first_at_80x24() {
    let mut c = console(observed(snapshot()));
    command(&mut c, "services");
    assert_eq!((c.view.focus, c.view.kube_view), (SourceId::Pods, KubeView::Services));
    let frame = frame_text(&c, 80, 24, false);
    let rows = rows_after(&frame, "NOT READY");
    let order: Vec<&str> =
        ["shop/payments", "shop/api", "default/kubernetes"].into_iter().filter(|name| rows.iter().any(|r| r.contains(name))).collect();
    assert_eq!(order.len(), 3, "{frame}");
    let pos = |name: &str| rows.iter().position(|r| r.contains(name)).unwrap_or(usize::MAX);
    assert!(pos("shop/payments") < pos("shop/api") && pos("shop/api") < pos("default/kubernetes"), "none ready, then short:\n{frame}");
    assert!(rows.iter().any(|r| r.contains("shop/api") && r.contains("3/4") && r.contains("80→8080/TCP")), "{frame}");
    for must in ["1 Services", "4 services · 1 with no ready endpoint · 1 short", "2 svc short"] {
        assert!(frame.contains(must), "missing {must}:\n{frame}");
    }
    insta::assert_snapshot!("services_80x24", frame);
}

#[test]
fn services_in_pane_one_of_the_wall_view_at_200x60() {
    let mut c = console(observed(snapshot()));
    command(&mut c, "svc");
    let frame = frame_text(&c, 200, 60, false);
    assert!(frame.contains("1 Services") && frame.contains("443:30443→8443/TCP") && frame.contains("2 Replication"), "{frame}");
    insta::assert_snapshot!("services_200x60", frame);
}

#[test]
fn events_put_the_warning_block_first_each_newest_first() {
    let mut c = console(observed(snapshot()));
    command(&mut c, "events");
    for (cols, rows) in [(80, 24), (200, 60)] {
        let frame = frame_text(&c, cols, rows, false);
        let table = rows_after(&frame, "MESSAGE");
        let reasons: Vec<&str> = table
            .iter()
            .filter_map(|l| ["BackOff", "Unhealthy", "Pulled", "ScalingRepli", "Scheduled"].into_iter().find(|r| l.contains(r)))
            .collect();
        assert_eq!(reasons, ["BackOff", "Unhealthy", "Pulled", "ScalingRepli", "Scheduled"], "{frame}");
        assert!(frame.contains("5 events · 2 warnings") && frame.contains("x12"), "{frame}");
        insta::assert_snapshot!(format!("events_{cols}x{rows}"), frame);
    }
}

#[test]
fn the_slash_filter_and_the_namespace_narrow_both_views() {
    let mut c = console(observed(snapshot()));
    command(&mut c, "events");
    for ch in "/readiness".chars() {
        c.view.on_key(KeyEvent::new(KeyCode::Char(ch), KeyModifiers::NONE));
    }
    c.view.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    let frame = frame_text(&c, 80, 24, false);
    assert!(frame.contains("Unhealthy") && !frame.contains("BackOff"), "{frame}");
    c.view.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    command(&mut c, "ns shop");
    command(&mut c, "services");
    let frame = frame_text(&c, 80, 24, false);
    assert!(frame.contains("shop/api") && !frame.contains("default/kubernetes"), "{frame}");
}

#[test]
fn v_cycles_pods_services_events_top_and_pods_keys_do_nothing_outside_pods() {
    let mut c = console(observed(snapshot()));
    let v = KeyEvent::new(KeyCode::Char('v'), KeyModifiers::NONE);
    c.view.on_key(KeyEvent::new(KeyCode::Char('3'), KeyModifiers::NONE));
    c.view.on_key(v);
    assert_eq!((c.view.focus, c.view.kube_view), (SourceId::Pods, KubeView::Services));
    c.view.on_key(v);
    assert_eq!(c.view.kube_view, KubeView::Events);
    c.view.on_key(KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE));
    assert_eq!((c.view.kube_selected(KubeView::Events), c.view.selected(SourceId::Pods)), (1, 0), "each view its own selection");
    let frame = frame_text(&c, 80, 24, false);
    assert!(frame.lines().any(|l| l.contains("▶") && l.contains("Unhealthy")), "the second event selected:\n{frame}");
    c.view.on_key(v);
    assert_eq!(c.view.kube_view, KubeView::Top);
    c.view.on_key(v);
    assert_eq!(c.view.kube_view, KubeView::Scaling);
    c.view.on_key(v);
    assert_eq!(c.view.kube_view, KubeView::Pods);
    command(&mut c, "events");
    command(&mut c, "pods");
    assert_eq!(c.view.kube_view, KubeView::Pods, ":pods goes back to the pods");
    let help = sitrep::ui::keymap::help(&[], sitrep::ui::command::Scope::Live);
    assert!(help.iter().any(|r| r.keys == "v") && help.iter().any(|r| r.keys.starts_with(":svc|:events|:top")), "{help:?}");
}

#[test]
fn a_failing_kube_source_keeps_its_last_services_and_events_under_its_error() {
    let mut events = observed(snapshot());
    events.push(Event::SourceFailed { at: at(5), source: SourceId::Pods, error: "watch: API server did not answer within 5s".into() });
    events.push(Event::Tick { at: at(65) });
    let mut c = console(events);
    for view in ["services", "events"] {
        command(&mut c, view);
        for (cols, rows) in [(80, 24), (200, 60)] {
            let frame = frame_text(&c, cols, rows, false);
            assert!(frame.contains("FAILING 60s · data 66s old") && frame.contains("did not answer within 5s"), "{frame}");
            insta::assert_snapshot!(format!("{view}_failing_{cols}x{rows}"), frame);
        }
    }
}

#[test]
fn a_silent_kube_source_turns_stale() {
    let mut events = observed(snapshot());
    events.push(Event::Tick { at: at(40) });
    let mut c = console(events);
    for view in ["services", "events"] {
        command(&mut c, view);
        for (cols, rows) in [(80, 24), (200, 60)] {
            let frame = frame_text(&c, cols, rows, false);
            assert!(frame.contains("STALE 41s"), "{frame}");
            insta::assert_snapshot!(format!("{view}_stale_{cols}x{rows}"), frame);
        }
    }
}

#[test]
fn a_services_list_that_cannot_be_read_says_why_since_when_while_pods_go_on() {
    let mut snap = snapshot();
    snap.services_problem = Some(ListProblem {
        error: "watch: ApiError: services is forbidden: User \"sre\" cannot watch resource \"services\" (Forbidden)".into(),
        since: Some(at(-30)),
        last_ok: Some(at(-120)),
    });
    let mut c = console(observed(snap));
    command(&mut c, "services");
    for (cols, rows) in [(80, 24), (200, 60)] {
        let frame = frame_text(&c, cols, rows, false);
        assert!(frame.contains("⚠ services:") && frame.contains("failing 30s · data 2m old"), "{frame}");
        assert!(frame.contains("fresh"), "the source itself answers:\n{frame}");
        insta::assert_snapshot!(format!("services_list_failing_{cols}x{rows}"), frame);
    }
}

#[test]
fn services_and_their_problem_are_recorded_and_replay_to_the_same_view_with_hostile_text_made_safe() {
    let mut snap = snapshot();
    snap.services[1].name = "api\u{1b}]0;pwned\u{7}".into();
    snap.services_problem = Some(ListProblem { error: "forbidden \u{202e}x".into(), since: Some(at(-30)), last_ok: None });
    let event = Event::Observed { at: at(-1), observation: Observation::Pods(snap) };
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kube.sitrep");
    let header = sitrep::record::Header {
        format: String::new(),
        version: 0,
        sitrep: "test".into(),
        started_at: at(-2),
        cols: 80,
        rows: 24,
        sources: vec!["kube".into()],
        timezone: "UTC".into(),
        banner: "test".into(),
        refresh_secs: Default::default(),
    };
    let rec = sitrep::record::Recorder::create(&path, &header).expect("create");
    rec.record(sitrep::record::Record::Event { t: 1000, event });
    drop(rec);
    let read = sitrep::record::read(&path).expect("read");
    let replayed: Vec<Event> = read
        .records
        .into_iter()
        .filter_map(|r| if let sitrep::record::Record::Event { event, .. } = r { Some(event) } else { None })
        .chain([Event::Tick { at: at(0) }])
        .collect();
    let mut c = console(replayed);
    command(&mut c, "services");
    let frame = frame_text(&c, 80, 24, false);
    assert!(frame.contains("shop/payments") && frame.contains("3/4") && frame.contains("⚠ services: forbidden"), "{frame}");
    assert!(!frame.contains('\u{1b}') && !frame.contains('\u{7}') && !frame.contains('\u{202e}'), "{frame:?}");
}
