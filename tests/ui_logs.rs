//! The logs view drawn off-screen at 80x24 and 200x60: following a crash-looping pod's log, a
//! search with its matches marked, a dead stream reconnecting (error and age), the previous run;
//! hostile log text made safe; and a recorded view opening in a replay as it did live.

use chrono::{DateTime, Duration, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use sitrep::app::{Console, frame_text};
use sitrep::clock::Clock;
use sitrep::config::Config;
use sitrep::model::*;

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-29T03:12:00Z").map(|t| t.with_timezone(&Utc)).unwrap_or_default() + Duration::seconds(secs)
}

fn key(c: &mut Console, code: KeyCode) {
    c.on_key(KeyEvent::new(code, KeyModifiers::NONE));
}

fn typed(c: &mut Console, text: &str) {
    for ch in text.chars() {
        key(c, KeyCode::Char(ch));
    }
}

fn pod(name: &str, restarts: u32, reason: Option<&str>) -> PodRow {
    PodRow {
        namespace: "shop".into(),
        name: name.into(),
        phase: "Running".into(),
        ready: u32::from(reason.is_none()),
        containers: 1,
        restarts,
        last_restart: (restarts > 0).then(|| at(-5)),
        created: Some(at(-600)),
        node: "lab-node-1".into(),
        reason: reason.map(Into::into),
        ..PodRow::default()
    }
}

fn console() -> Console {
    let mut config = Config::default();
    config.general.theme = "mono".into();
    let mut c = Console::new(config, "sitrep-lab · shop".into(), Clock::virtual_at(at(0))).expect("console");
    let pods = PodsSnapshot {
        pods: vec![pod("api-7d9f-bad12", 4, Some("CrashLoopBackOff")), pod("api-5c6b-ok001", 0, None), pod("web-6f7a-ok002", 0, None)],
        ..PodsSnapshot::default()
    };
    c.model.apply(Event::Observed { at: at(-1), observation: Observation::Pods(pods) });
    c.model.apply(Event::Tick { at: at(0) });
    c
}

fn target(previous: bool) -> LogTarget {
    LogTarget { previous, ..LogTarget::pod("shop", "api-7d9f-bad12") }
}

/// The crash-looping run's last words, after the requests a healthy sibling would log.
fn run_lines(started: i64) -> Vec<LogLine> {
    let line = |ms: i64, text: &str| LogLine { at: Some(at(started) + Duration::milliseconds(ms)), text: text.into() };
    vec![
        line(0, "INFO api: starting registry.local/shop/api:1.5.0-bad"),
        line(200, "INFO api: loading config from /etc/api/config.yaml"),
        line(
            400,
            "ERROR api: config key DATABASE_URL is missing (set it in the api-config ConfigMap, or roll back with `kubectl rollout undo deployment/api`)",
        ),
        line(800, "FATAL api: exiting with status 1"),
    ]
}

/// `l` on the crash-looping pod (first: unhealthy first), then the stream's events.
fn following() -> Console {
    let mut c = console();
    key(&mut c, KeyCode::Char('l'));
    c.apply(Event::Logs(LogsEvent::Connected { at: at(-3), target: target(false) }));
    let mut lines = Vec::new();
    for run in 0..10 {
        lines.extend(run_lines(-100 + run * 10));
    }
    c.apply(Event::Logs(LogsEvent::Lines { target: target(false), lines }));
    c
}

#[test]
fn l_opens_the_selected_pods_log_following_its_last_words_at_both_sizes() {
    let c = following();
    assert_eq!(c.model.logs.as_ref().map(|v| v.target.clone()), Some(target(false)), "l reads the selected pod");
    let small = frame_text(&c, 80, 24, false);
    assert!(small.contains("logs shop/api-7d9f-bad12"), "{small}");
    assert!(small.contains("current run · following"), "{small}");
    assert!(small.contains("FATAL api: exiting with status 1"), "{small}");
    assert!(small.contains("● live"), "{small}");
    insta::assert_snapshot!("logs_following_80x24", small);
    let large = frame_text(&c, 200, 60, false);
    assert!(large.contains("roll back with `kubectl rollout undo deployment/api`)"), "200 columns show the whole line:\n{large}");
    insta::assert_snapshot!("logs_following_200x60", large);
}

#[test]
fn a_search_marks_its_matches_and_n_moves_to_the_older_one() {
    let mut c = following();
    typed(&mut c, "/database_url");
    let typing = frame_text(&c, 80, 24, false);
    assert!(typing.contains("/database_url▏"), "the search being typed shows:\n{typing}");
    key(&mut c, KeyCode::Enter);
    for _ in 0..3 {
        key(&mut c, KeyCode::Char('n'));
    }
    key(&mut c, KeyCode::Char('t'));
    for (cols, rows) in [(80, 24), (200, 60)] {
        let frame = frame_text(&c, cols, rows, false);
        assert!(frame.contains("/database_url: 10 matching"), "{frame}");
        assert!(frame.contains("paused at 32/40 (G follows)"), "n moved back into the log:\n{frame}");
        assert!(frame.contains("03:11:00.400 ERROR api"), "t shows the kubelet's times:\n{frame}");
        insta::assert_snapshot!(format!("logs_search_{cols}x{rows}"), frame);
    }
    let coloured = frame_text(&c, 80, 24, true);
    let marked = coloured.matches("DATABASE_URL").count();
    assert!(marked >= 2, "matches drawn in their own style:\n{coloured}");
}

#[test]
fn a_dead_stream_says_so_with_the_error_and_its_age_and_when_it_reconnects() {
    let mut c = following();
    let error = "reading the log of pod shop/api-7d9f-bad12: error trying to connect: tcp connect error: Connection refused (os error 111)";
    c.apply(Event::Logs(LogsEvent::Failed { at: at(-12), target: target(false), error: error.into(), retry_secs: 2 }));
    c.apply(Event::Logs(LogsEvent::Failed { at: at(-1), target: target(false), error: error.into(), retry_secs: 4 }));
    c.apply(Event::Tick { at: at(0) });
    for (cols, rows) in [(80, 24), (200, 60)] {
        let frame = frame_text(&c, cols, rows, false);
        assert!(frame.contains("✖ stream DEAD for 12s"), "{frame}");
        assert!(frame.contains("FATAL api: exiting with status 1"), "the lines read before stay:\n{frame}");
        insta::assert_snapshot!(format!("logs_dead_{cols}x{rows}"), frame);
    }
    let large = frame_text(&c, 200, 60, false);
    assert!(large.contains("Connection refused (os error 111) · reconnecting in 3s"), "{large}");
}

#[test]
fn p_reads_the_previous_run_and_says_so_in_the_header() {
    let mut c = following();
    key(&mut c, KeyCode::Char('p'));
    assert_eq!(c.model.logs.as_ref().map(|v| v.target.clone()), Some(target(true)));
    assert!(c.model.logs.as_ref().is_some_and(|v| v.lines.is_empty()), "the current run's lines are not the previous run's");
    c.apply(Event::Logs(LogsEvent::Connected { at: at(-1), target: target(true) }));
    c.apply(Event::Logs(LogsEvent::Lines { target: target(true), lines: run_lines(-20) }));
    // A line of the stream just stopped is not shown.
    c.apply(Event::Logs(LogsEvent::Lines { target: target(false), lines: run_lines(0) }));
    let reason = "the previous run's log, read to its end".to_string();
    c.apply(Event::Logs(LogsEvent::Ended { at: at(-1), target: target(true), reason, retry_secs: None }));
    for (cols, rows) in [(80, 24), (200, 60)] {
        let frame = frame_text(&c, cols, rows, false);
        assert!(frame.contains("PREVIOUS run"), "{frame}");
        assert_eq!(frame.matches("FATAL api: exiting with status 1").count(), 1, "one run:\n{frame}");
        insta::assert_snapshot!(format!("logs_previous_{cols}x{rows}"), frame);
    }
    key(&mut c, KeyCode::Char('p'));
    assert_eq!(c.model.logs.as_ref().map(|v| v.target.previous), Some(false), "p again: the current run");
    key(&mut c, KeyCode::Esc);
    assert!(c.model.logs.is_none() && !c.has_overlay(), "esc closes the view");
}

#[test]
fn a_hostile_log_line_reaches_the_screen_without_escapes_bells_or_bidi_overrides() {
    let mut c = following();
    let raw =
        "2026-11-29T03:11:59.000000000Z WARN \u{1b}]0;owned\u{7}\u{1b}[2J\u{1b}[31mred\u{1b}[0m bell\u{7} \u{202e}txt.exe password=hunter2";
    let line = sitrep::backends::kube::log_line(raw);
    c.apply(Event::Logs(LogsEvent::Lines { target: target(false), lines: vec![line] }));
    let frame = frame_text(&c, 200, 60, true);
    assert!(frame.contains("WARN red bell txt.exe password=***"), "{frame}");
    for bad in ['\u{7}', '\u{202e}'] {
        assert!(!frame.contains(bad), "{bad:?} reached the terminal");
    }
    assert!(!frame.contains("owned") && !frame.contains("[2J"), "an escape sequence reached the terminal:\n{frame}");
}

#[test]
fn a_recorded_logs_view_opens_in_a_replay_as_it_did_live_and_help_lists_its_keys() {
    let mut c = console();
    c.apply(Event::Logs(LogsEvent::Opened { at: at(-3), target: target(false) }));
    c.apply(Event::Logs(LogsEvent::Lines { target: target(false), lines: run_lines(-2) }));
    let frame = frame_text(&c, 80, 24, false);
    assert!(frame.contains("logs shop/api-7d9f-bad12") && frame.contains("ERROR api: config key DATABASE_URL"), "{frame}");
    c.apply(Event::Logs(LogsEvent::Closed));
    assert!(!c.has_overlay(), "closed as it was live");
    key(&mut c, KeyCode::Char('?'));
    let help = frame_text(&c, 200, 60, false);
    for keys in ["logs: p", "logs: /", "logs: n / N", "logs: w", "logs: t"] {
        assert!(help.contains(keys), "{keys} missing from the help:\n{help}");
    }
}

#[test]
fn a_recorded_session_replays_the_logs_that_were_viewed_and_the_run_switched_to() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("logs.sitrep");
    let header = sitrep::record::Header {
        format: String::new(),
        version: 0,
        sitrep: "test".into(),
        started_at: at(-2),
        cols: 80,
        rows: 24,
        sources: vec![],
        timezone: "UTC".into(),
        banner: "sitrep-lab · shop".into(),
        refresh_secs: Default::default(),
    };
    let mut config = Config::default();
    config.general.theme = "mono".into();
    let mut c = Console::new(config.clone(), "sitrep-lab · shop".into(), Clock::virtual_at(at(0))).expect("console");
    c.set_recorder(sitrep::record::Recorder::create(&path, &header).expect("recorder"));
    let pods = PodsSnapshot { pods: vec![pod("api-7d9f-bad12", 4, Some("CrashLoopBackOff"))], ..PodsSnapshot::default() };
    c.feed(vec![Event::Observed { at: at(-1), observation: Observation::Pods(pods) }, Event::Tick { at: at(0) }]);
    key(&mut c, KeyCode::Char('l'));
    // What the stream task sends, through the one way live events reach the Model.
    c.feed(vec![
        Event::Logs(LogsEvent::Connected { at: at(0), target: target(false) }),
        Event::Logs(LogsEvent::Lines { target: target(false), lines: run_lines(-1) }),
    ]);
    key(&mut c, KeyCode::Char('p'));
    let previous = LogLine { at: Some(at(-11)), text: "ERROR api: the run before this one".into() };
    c.feed(vec![Event::Logs(LogsEvent::Lines { target: target(true), lines: vec![previous] })]);
    let live = frame_text(&c, 80, 24, false);
    c.finish_recording();
    let rec = sitrep::record::read(&path).expect("read");
    for follow_keys in [true, false] {
        let replayed = sitrep::replay::player::console_at(&rec, &config, rec.duration_ms(), follow_keys).expect("replay");
        let frame = frame_text(&replayed, 80, 24, false);
        let body = |f: &str| f.lines().skip(1).collect::<Vec<_>>().join("\n");
        assert_eq!(body(&frame), body(&live), "the replay (recorded keys followed: {follow_keys}) shows what was viewed:\n{frame}");
        assert!(frame.contains("PREVIOUS run") && frame.contains("the run before this one"), "{frame}");
    }
}
