//! The alerts pane drawn off-screen at 80x24 and 200x60: firing alerts worst first with severity,
//! age, name and summary, a silenced one marked, a dead Alertmanager named with its error; the
//! failing and stale states; and no trace of alerts when none are configured.

#[path = "support/runs.rs"]
mod runs;

use chrono::{DateTime, Duration, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use sitrep::app::{Console, frame_text};
use sitrep::clock::Clock;
use sitrep::config::Config;
use sitrep::model::*;

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-29T03:12:00Z").map(|t| t.with_timezone(&Utc)).unwrap_or_default() + Duration::seconds(secs)
}

fn alert(name: &str, severity: &str, state: AlertState, silenced: bool, started: i64, summary: &str) -> AlertRow {
    AlertRow {
        fingerprint: format!("fp-{name}"),
        name: name.into(),
        severity: severity.into(),
        state,
        silenced,
        started: Some(at(started)),
        summary: summary.into(),
        runbook: (name == "RedisMasterDown").then(|| "failover-redis".into()),
        labels: vec![("alertname".into(), name.into()), ("master".into(), "mymaster".into())],
    }
}

fn snapshot() -> AlertsSnapshot {
    AlertsSnapshot {
        alertmanagers: vec![
            AlertmanagerRow { url: "http://127.0.0.1:9093".into(), error: None },
            AlertmanagerRow {
                url: "http://127.0.0.1:9094".into(),
                error: Some("cannot reach Alertmanager http://127.0.0.1:9094: tcp connect error: Connection refused (os error 111)".into()),
            },
        ],
        alerts: vec![
            alert("QueueBacklog", "warning", AlertState::Active, false, -300, "celery has 2400 messages waiting"),
            alert("RedisMasterDown", "critical", AlertState::Active, false, -95, "Redis master mymaster is down"),
            alert("DiskSpaceLow", "warning", AlertState::Suppressed, true, -3600, "node lab-node-1 disk 91% full"),
            alert("BackupOld", "", AlertState::Unprocessed, false, -5, "newest dump older than the RPO"),
        ],
        checks: vec![],
    }
}

fn check(name: &str, target: &str, status: Option<u16>, latency_ms: Option<u64>, error: Option<&str>) -> CheckRow {
    CheckRow { name: name.into(), target: target.into(), status, latency_ms, error: error.map(Into::into), slow_ms: 500 }
}

/// Four checks: one passing, one slow, one whose server said 503, one refused.
fn checks(api_fails: bool) -> Vec<CheckRow> {
    let api = if api_fails {
        check(
            "api",
            "https://shop.internal/healthz",
            Some(503),
            Some(41),
            Some("server at https://shop.internal/healthz said: 503 Service Unavailable: {\"db\":\"down\"} (expected any 2xx)"),
        )
    } else {
        check("api", "https://shop.internal/healthz", Some(200), Some(38), None)
    };
    vec![
        api,
        check("prometheus", "http://127.0.0.1:9090/-/ready", Some(200), Some(4), None),
        check("s3", "https://127.0.0.1:9000", Some(200), Some(900), None),
        check("redis-master", "tcp 127.0.0.1:6390", None, None, Some("cannot reach tcp 127.0.0.1:6390: Connection refused (os error 111)")),
    ]
}

/// Checks alone (no Alertmanager), read every 5 s for half a minute; the api check fails in the
/// last two readings.
fn checking() -> Vec<Event> {
    let mut events: Vec<Event> = (0..7)
        .map(|i| {
            let mut rows = checks(i >= 5);
            rows[1].latency_ms = Some(3 + (i as u64 % 3) * 4);
            Event::Observed {
                at: at(-30 + i * 5),
                observation: Observation::Alerts(AlertsSnapshot { checks: rows, ..AlertsSnapshot::default() }),
            }
        })
        .collect();
    events.push(Event::Tick { at: at(1) });
    events
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

fn firing() -> Vec<Event> {
    vec![
        // The first answer 21 s ago, when am-1 already did not answer; the last one a second ago.
        Event::Observed { at: at(-21), observation: Observation::Alerts(AlertsSnapshot { alerts: vec![], ..snapshot() }) },
        Event::Observed { at: at(-1), observation: Observation::Alerts(snapshot()) },
        Event::Tick { at: at(0) },
    ]
}

fn focus_alerts(c: &mut Console) {
    c.view.on_key(KeyEvent::new(KeyCode::Char('6'), KeyModifiers::NONE));
}

#[test]
fn firing_alerts_worst_first_at_80x24_with_the_dead_alertmanager_named() {
    let mut c = console(firing());
    focus_alerts(&mut c);
    let frame = frame_text(&c, 80, 24, false);
    let table = &frame[frame.find("SEVERITY").unwrap_or(0)..];
    let critical = table.find("RedisMasterDown").unwrap_or(usize::MAX);
    let warning = table.find("QueueBacklog").unwrap_or(0);
    assert!(critical < warning, "critical first:\n{frame}");
    for must in ["6 Alerts", "silenced", "http://127.0.0.1:9094", "Connection refused", "1/2 alertmanagers", "1-6 panes"] {
        assert!(frame.contains(must), "missing {must}:\n{frame}");
    }
    insta::assert_snapshot!("alerts_80x24", frame);
}

#[test]
fn firing_alerts_beside_the_timeline_at_200x60() {
    let mut c = console(firing());
    focus_alerts(&mut c);
    let frame = frame_text(&c, 200, 60, false);
    for must in ["6 Alerts", "Redis master mymaster is down ▸ failover-redis", "silenced", "pending", "failing"] {
        assert!(frame.contains(must), "missing {must}:\n{frame}");
    }
    insta::assert_snapshot!("alerts_200x60", frame);
}

#[test]
fn a_failing_alerts_source_keeps_its_last_alerts_under_its_error() {
    let mut events = firing();
    events.push(Event::SourceFailed {
        at: at(5),
        source: SourceId::Alerts,
        error: "no Alertmanager answers (…); check [alerts] alertmanager in sitrep.toml".into(),
    });
    events.push(Event::Tick { at: at(65) });
    let mut c = console(events);
    focus_alerts(&mut c);
    for (cols, rows) in [(80, 24), (200, 60)] {
        let frame = frame_text(&c, cols, rows, false);
        assert!(frame.contains("FAILING 60s · data 66s old"), "{frame}");
        assert!(frame.contains("no Alertmanager answers") && frame.contains("RedisMasterDown"), "{frame}");
        insta::assert_snapshot!(format!("alerts_failing_{cols}x{rows}"), frame);
    }
}

#[test]
fn a_silent_alerts_source_turns_stale() {
    let mut events = firing();
    events.push(Event::Tick { at: at(40) });
    let mut c = console(events);
    focus_alerts(&mut c);
    for (cols, rows) in [(80, 24), (200, 60)] {
        let frame = frame_text(&c, cols, rows, false);
        assert!(frame.contains("STALE 41s"), "{frame}");
        insta::assert_snapshot!(format!("alerts_stale_{cols}x{rows}"), frame);
    }
}

#[test]
fn without_alerts_configured_there_is_no_alerts_pane_or_summary_line() {
    let mut c = console(vec![Event::SourceDisabled { source: SourceId::Alerts }, Event::Tick { at: at(0) }]);
    let frame = frame_text(&c, 200, 60, false);
    assert!(!frame.contains("Alerts") && !frame.contains("alerts"), "{frame}");
    // Focused anyway (6), the pane says it is not configured.
    focus_alerts(&mut c);
    let frame = frame_text(&c, 80, 24, false);
    assert!(frame.contains("6 Alerts") && frame.contains("not configured"), "{frame}");
}

fn press(c: &mut Console, code: KeyCode) {
    c.on_key(KeyEvent::new(code, KeyModifiers::NONE));
}

#[test]
fn enter_on_an_alert_opens_the_runbook_it_names_with_master_from_its_labels() {
    let mut c = console(firing());
    let started = runs::keep_runs(&mut c);
    press(&mut c, KeyCode::Char('6'));
    // The critical RedisMasterDown is the first row; its sitrep_runbook is failover-redis.
    press(&mut c, KeyCode::Enter);
    assert_eq!(
        runs::requests(&started),
        [("failover-redis".to_string(), vec![("master".to_string(), "mymaster".to_string())], None)],
        "the dry run, as :run"
    );
    assert_eq!(c.view.message, None, "nothing refused");

    // An alert that names no runbook says how to make it name one; nothing starts.
    let mut c = console(firing());
    let started = runs::keep_runs(&mut c);
    press(&mut c, KeyCode::Char('6'));
    press(&mut c, KeyCode::Char('j'));
    press(&mut c, KeyCode::Enter);
    assert!(runs::requests(&started).is_empty());
    let frame = frame_text(&c, 80, 24, false);
    assert!(frame.contains("alert BackupOld names no runbook"), "{frame}");
}

#[test]
fn health_checks_alone_fill_the_pane_failing_first_with_status_latency_and_age() {
    let mut c = console(checking());
    focus_alerts(&mut c);
    for (cols, rows) in [(80, 24), (200, 60)] {
        let frame = frame_text(&c, cols, rows, false);
        for must in ["Alerts & checks", "2/4 checks FAILING", "503", "refused", "900ms"] {
            assert!(frame.contains(must), "missing {must} at {cols}x{rows}:\n{frame}");
        }
        assert!(!frame.contains("alertmanagers") && !frame.contains("SEVERITY"), "no Alertmanager configured:\n{frame}");
        let failing = frame.find("✘ api").unwrap_or(usize::MAX);
        let passing = frame.find("✔ prometheus").unwrap_or(0);
        assert!(failing < passing, "failing first:\n{frame}");
        insta::assert_snapshot!(format!("checks_{cols}x{rows}"), frame);
    }
}

#[test]
fn health_checks_above_the_alerts_and_stale_when_the_source_falls_silent() {
    let mut events = firing();
    events.extend(checking().into_iter().map(|e| match e {
        Event::Observed { at, observation: Observation::Alerts(a) } => {
            Event::Observed { at, observation: Observation::Alerts(AlertsSnapshot { checks: a.checks, ..snapshot() }) }
        }
        other => other,
    }));
    events.push(Event::Tick { at: at(45) });
    let mut c = console(events);
    focus_alerts(&mut c);
    for (cols, rows) in [(80, 24), (200, 60)] {
        let frame = frame_text(&c, cols, rows, false);
        for must in ["STALE", "checks FAILING", "RedisMasterDown", "2 firing"] {
            assert!(frame.contains(must), "missing {must} at {cols}x{rows}:\n{frame}");
        }
        assert!(!frame.contains("✔ prometheus") || !frame.contains("checks pass"), "{frame}");
        insta::assert_snapshot!(format!("checks_stale_{cols}x{rows}"), frame);
    }
}
