//! UI tests: the console drawn off-screen (ratatui TestBackend) from a Model driven by events,
//! snapshotted with insta at 80x24 and 200x60, plus checks that hostile text never reaches the screen.

use chrono::{DateTime, Duration, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use sitrep::app::{Console, frame_text};
use sitrep::clock::Clock;
use sitrep::config::Config;
use sitrep::model::*;
use sitrep::ui::overlay::{Overlay, PendingRun, WizardStage};

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-29T03:12:00Z").map(|t| t.with_timezone(&Utc)).unwrap_or_default()
}

fn at(secs: i64) -> DateTime<Utc> {
    t0() + Duration::seconds(secs)
}

fn pod(name: &str, ready: u32, restarts: u32, reason: Option<&str>) -> PodRow {
    PodRow {
        namespace: "shop".into(),
        name: name.into(),
        phase: "Running".into(),
        ready,
        containers: 1,
        restarts,
        last_restart: (restarts > 0).then(|| at(-40)),
        created: Some(at(-3600)),
        node: "lab-node-1".into(),
        reason: reason.map(Into::into),
    }
}

/// An incident in progress: a bad deploy crash-looping, a lagging standby, a Sentinel that
/// disagrees, a growing queue, a stale dump and a WAL gap.
fn incident_events() -> Vec<Event> {
    let pods = PodsSnapshot {
        pods: vec![
            pod("api-7d9c6b5f4-2xkqp", 1, 0, None),
            pod("api-7d9c6b5f4-9wz7m", 1, 0, None),
            pod("api-5b8f7c9d6-hq2lp", 0, 7, Some("CrashLoopBackOff")),
            pod("worker-6c7d8e9f0-abcde", 1, 0, None),
            pod("web-55f6g7h8i-zz9yx", 1, 0, None),
        ],
        deployments: vec![
            DeploymentRow {
                namespace: "shop".into(),
                name: "api".into(),
                desired: 3,
                updated: 1,
                ready: 2,
                available: 2,
                revision: "3".into(),
                images: vec![],
                rollout: "progressing".into(),
            },
            DeploymentRow {
                namespace: "shop".into(),
                name: "worker".into(),
                desired: 1,
                updated: 1,
                ready: 1,
                available: 1,
                revision: "1".into(),
                images: vec![],
                rollout: "complete".into(),
            },
        ],
        events: vec![KubeEventRow {
            at: Some(at(-20)),
            namespace: "shop".into(),
            object: "pod/api-5b8f7c9d6-hq2lp".into(),
            kind: "Warning".into(),
            reason: "BackOff".into(),
            message: "Back-off restarting failed container api".into(),
            count: 7,
        }],
    };
    let replication = ReplicationSnapshot {
        members: vec![
            MemberRow { name: "pg-0".into(), reachable: true, in_recovery: false, error: None, replay_delay_secs: None },
            MemberRow { name: "pg-1".into(), reachable: true, in_recovery: true, error: None, replay_delay_secs: Some(45.0) },
        ],
        standbys: vec![StandbyRow {
            name: "pg-1".into(),
            client_addr: "127.0.0.1".into(),
            state: "streaming".into(),
            sync_state: "async".into(),
            write_lag_bytes: 1024,
            flush_lag_bytes: 4096,
            replay_lag_bytes: 48 * 1024 * 1024,
            write_lag_secs: Some(0.1),
            flush_lag_secs: Some(0.2),
            replay_lag_secs: Some(45.0),
        }],
        archiver: Some(ArchiverRow {
            archived_count: 40,
            last_archived_wal: Some("000000010000000000000027".into()),
            last_archived_time: Some(at(-30)),
            failed_count: 0,
            last_failed_wal: None,
            last_failed_time: None,
        }),
        patroni: vec![
            PatroniMember {
                name: "pg-0".into(),
                role: "leader".into(),
                state: "running".into(),
                timeline: Some(1),
                lag_bytes: None,
                pending_restart: false,
                host: "127.0.0.1".into(),
            },
            PatroniMember {
                name: "pg-1".into(),
                role: "replica".into(),
                state: "streaming".into(),
                timeline: Some(1),
                lag_bytes: Some(48 * 1024 * 1024),
                pending_restart: false,
                host: "127.0.0.1".into(),
            },
        ],
    };
    let sentinel = SentinelSnapshot {
        master_name: "mymaster".into(),
        sentinels: vec![
            SentinelRow { addr: "127.0.0.1:26379".into(), master_addr: Some("127.0.0.1:6380".into()), error: None },
            SentinelRow { addr: "127.0.0.1:26380".into(), master_addr: Some("127.0.0.1:6380".into()), error: None },
            SentinelRow { addr: "127.0.0.1:26381".into(), master_addr: Some("127.0.0.1:6381".into()), error: None },
        ],
        master: Some(MasterRow { addr: "127.0.0.1:6380".into(), flags: "master".into(), quorum: 2, other_sentinels: 2, num_replicas: 1 }),
        replicas: vec![ReplicaRow {
            addr: "127.0.0.1:6381".into(),
            flags: "slave".into(),
            link_status: "ok".into(),
            offset: 1000,
            lag_bytes: Some(0),
        }],
    };
    let backups = BackupsSnapshot {
        bucket: "sitrep-lab-backups".into(),
        items: vec![
            BackupItem {
                kind: BackupKind::BaseBackup,
                key: "basebackups_005/base_000000010000000000000002_backup_stop_sentinel.json".into(),
                at: at(-7200),
                size: 5 << 20,
            },
            BackupItem { kind: BackupKind::Wal, key: "wal_005/000000010000000000000027.zst".into(), at: at(-30), size: 1 << 20 },
            BackupItem { kind: BackupKind::Dump, key: "dumps/shop/shop_20261129T024200Z.dump".into(), at: at(-1800), size: 3 << 20 },
        ],
        wal_gaps: vec![("000000010000000000000010".into(), "000000010000000000000011".into())],
        ..BackupsSnapshot::default()
    };
    let mut events = vec![
        Event::Observed { at: at(-1), observation: Observation::Pods(pods) },
        Event::Observed { at: at(-1), observation: Observation::Replication(replication) },
        Event::Observed { at: at(-1), observation: Observation::Sentinel(sentinel) },
        Event::Observed { at: at(-1), observation: Observation::Backups(backups) },
    ];
    for (i, depth) in [120u64, 400, 900, 1500].iter().enumerate() {
        events.push(Event::Observed {
            at: at(-60 + 20 * i as i64),
            observation: Observation::Queues(QueuesSnapshot {
                server: "127.0.0.1:6380".into(),
                queues: vec![
                    QueueRow { name: "celery".into(), depth: *depth, ..QueueRow::default() },
                    QueueRow { name: "emails".into(), depth: 3, ..QueueRow::default() },
                ],
                unacked: Some(4),
            }),
        });
    }
    events.push(Event::TimelineLoaded {
        incident: Some("2026-11-29-001 P2 api crash-looping after deploy".into()),
        lines: vec![
            TimelineLine::saved(at(-300), "opened P2: api crash-looping after deploy".into(), EntryClass::Incident, "a1".into()),
            TimelineLine::saved(
                at(-240),
                "detected [pods] crashloop began: shop/api-5b8f7c9d6-hq2lp".into(),
                EntryClass::Detected,
                "a2".into(),
            ),
            TimelineLine::saved(at(-120), "note: rolling back api to revision 2".into(), EntryClass::Note, "a3".into()),
        ],
    });
    events.push(Event::Tick { at: at(0) });
    events
}

fn console(events: Vec<Event>) -> Console {
    let mut config = Config::default();
    config.general.theme = "mono".into();
    let mut c =
        Console::new(config, "sitrep-lab · shop".into(), Clock::virtual_at(at(0))).expect("console builds from built-in views/themes");
    for e in events {
        c.model.apply(e);
    }
    c
}

#[test]
fn incident_at_80x24_shows_summary_and_the_focused_pane() {
    let c = console(incident_events());
    let frame = frame_text(&c, 80, 24, false);
    assert!(frame.contains("CrashLoopBackOff"), "{frame}");
    assert!(frame.contains("RPO BREACH"), "{frame}");
    insta::assert_snapshot!("incident_80x24", frame);
}

#[test]
fn incident_at_200x60_shows_every_pane() {
    let c = console(incident_events());
    let frame = frame_text(&c, 200, 60, false);
    for must in ["1 Pods", "2 Replication", "3 Sentinel", "4 Queues", "5 Backups", "SENTINELS DISAGREE", "WAL GAP", "BREACH", "BackOff"] {
        assert!(frame.contains(must), "missing {must}:\n{frame}");
    }
    insta::assert_snapshot!("incident_200x60", frame);
}

#[test]
fn each_pane_focused_at_80x24() {
    let mut c = console(incident_events());
    for key in ['2', '3', '4', '5'] {
        c.view.on_key(KeyEvent::new(KeyCode::Char(key), KeyModifiers::NONE));
        insta::assert_snapshot!(format!("focused_{key}_80x24"), frame_text(&c, 80, 24, false));
    }
}

#[test]
fn a_dead_source_shows_failing_with_the_age_of_its_last_good_data() {
    let mut events = incident_events();
    events.push(Event::SourceFailed {
        at: at(5),
        source: SourceId::Sentinel,
        error: "cannot reach 127.0.0.1:26379: connection refused".into(),
    });
    events.push(Event::Tick { at: at(65) });
    let c = console(events);
    let frame = frame_text(&c, 200, 60, false);
    assert!(frame.contains("FAILING 60s · data 66s old"), "{frame}");
    // The last good data stays on screen.
    assert!(frame.contains("127.0.0.1:6380"), "{frame}");
}

#[test]
fn the_help_lists_every_key() {
    let mut c = console(incident_events());
    c.on_key(KeyEvent::new(KeyCode::Char('?'), KeyModifiers::NONE));
    let frame = frame_text(&c, 100, 30, false);
    for key in sitrep::ui::keymap::LIVE.iter().map(|b| b.label) {
        assert!(frame.contains(key), "help lacks {key}:\n{frame}");
    }
}

#[test]
fn filter_narrows_the_pods() {
    let mut c = console(incident_events());
    for ch in "/worker".chars() {
        c.view.on_key(KeyEvent::new(KeyCode::Char(ch), KeyModifiers::NONE));
    }
    c.view.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    let frame = frame_text(&c, 200, 60, false);
    assert!(frame.contains("worker-6c7d8e9f0-abcde"), "{frame}");
    assert!(!frame.contains("api-7d9c6b5f4-2xkqp"), "{frame}");
}

#[test]
fn colours_survive_in_ansi_frames_and_no_color_frames_have_none() {
    let mut config = Config::default();
    config.general.theme = "default".into();
    let mut c = Console::new(config, "x".into(), Clock::virtual_at(at(0))).expect("console");
    for e in incident_events() {
        c.model.apply(e);
    }
    let ansi = frame_text(&c, 120, 40, true);
    assert!(ansi.contains("\u{1b}[0;1;91m") || ansi.contains(";91m"), "expected light red for the crash loop");
    let plain = frame_text(&c, 120, 40, false);
    assert!(!plain.contains('\u{1b}'));
}

fn press(c: &mut Console, keys: &str) {
    for ch in keys.chars() {
        let code = match ch {
            '\n' => KeyCode::Enter,
            '\u{1b}' => KeyCode::Esc,
            c => KeyCode::Char(c),
        };
        c.on_key(KeyEvent::new(code, KeyModifiers::NONE));
    }
}

#[test]
fn enter_describes_the_crash_looping_pod_with_its_events() {
    let mut c = console(incident_events());
    // Unhealthy pods sort first, so the selection starts on the crash-looping one.
    press(&mut c, "\n");
    let frame = frame_text(&c, 120, 40, false);
    assert!(frame.contains("describe pod"), "{frame}");
    assert!(frame.contains("api-5b8f7c9d6-hq2lp"), "{frame}");
    assert!(frame.contains("Back-off restarting failed container api (x7)"), "{frame}");
    insta::assert_snapshot!("describe_pod_120x40", frame);
    press(&mut c, "\u{1b}");
    assert!(!frame_text(&c, 120, 40, false).contains("describe pod"));
}

#[test]
fn namespace_command_and_sort_key_change_what_the_pods_pane_lists() {
    let mut events = incident_events();
    if let Some(Event::Observed { observation: Observation::Pods(p), .. }) = events.first_mut() {
        let mut other = p.pods[0].clone();
        other.namespace = "billing".into();
        other.name = "ledger-0".into();
        other.restarts = 42;
        p.pods.push(other);
    }
    let mut c = console(events);
    press(&mut c, "s");
    press(&mut c, "s");
    let frame = frame_text(&c, 200, 60, false);
    let first_pod = frame.lines().find(|l| l.contains("ledger-0") || l.contains("api-5b8f7c9d6-hq2lp")).unwrap_or_default();
    assert!(first_pod.contains("ledger-0"), "sorted by restarts, ledger-0 (42) comes first:\n{frame}");
    assert!(frame.contains("pods by restarts"), "{frame}");
    press(&mut c, ":ns shop\n");
    let frame = frame_text(&c, 200, 60, false);
    assert!(!frame.contains("ledger-0"), "{frame}");
    assert!(frame.contains("namespace: shop"), "{frame}");
    press(&mut c, ":ns all\n");
    assert!(frame_text(&c, 200, 60, false).contains("ledger-0"));
}

#[test]
fn stale_and_failing_panes_at_both_sizes() {
    let mut events = incident_events();
    events.push(Event::SourceFailed { at: at(5), source: SourceId::Replication, error: "pg-0: cannot connect: connection refused".into() });
    events.push(Event::SourceFailed {
        at: at(5),
        source: SourceId::Backups,
        error: "S3 bucket sitrep-lab-backups: cannot reach the S3 endpoint".into(),
    });
    events.push(Event::Tick { at: at(40) });
    let mut c = console(events);
    insta::assert_snapshot!("stale_failing_200x60", frame_text(&c, 200, 60, false));
    press(&mut c, "2");
    let frame = frame_text(&c, 80, 24, false);
    assert!(frame.contains("FAILING 35s · data 41s old"), "{frame}");
    assert!(frame.contains("⚠ pg-0: cannot connect: connection refused"), "the error must be on screen:\n{frame}");
    assert!(frame.contains("STALE 41s"), "pods went quiet 41 s ago:\n{frame}");
    insta::assert_snapshot!("stale_failing_80x24", frame);
}

#[test]
fn hostile_names_never_put_escape_sequences_on_screen() {
    // Collectors sanitize at the edge; this checks the edge function on a pod name from a hostile cluster.
    let evil = "api-\u{1b}]52;c;ZWNobyBoaQ==\u{7}x\u{1b}[2J\u{202e}";
    let mut events = incident_events();
    if let Some(Event::Observed { observation: Observation::Pods(p), .. }) = events.first_mut() {
        p.pods[0].name = sitrep::sanitize::sanitize(evil);
    }
    let c = console(events);
    let frame = frame_text(&c, 200, 60, false);
    assert!(frame.contains("api-x"), "{frame}");
    assert!(!frame.chars().any(|ch| ch.is_control() && ch != '\n'), "a control character reached the screen");
}

#[test]
fn t_opens_the_timeline_newest_first_and_unsaved_findings_are_marked() {
    let mut events = incident_events();
    events.push(Event::TimelineAppended {
        line: TimelineLine::unsaved(at(-5), "detected [queues] celery growing".into(), EntryClass::Detected),
    });
    let mut c = console(events);
    press(&mut c, "t");
    let frame = frame_text(&c, 120, 40, false);
    assert!(frame.contains("timeline · 2026-11-29-001 P2"), "{frame}");
    let newest = frame.find("celery growing").unwrap_or(usize::MAX);
    let oldest = frame.find("opened P2").unwrap_or(0);
    assert!(newest < oldest, "newest first:\n{frame}");
    assert!(frame.contains("(unsaved: no incident open)"), "{frame}");
    insta::assert_snapshot!("timeline_overlay_120x40", frame);
}

#[test]
fn the_timeline_filters_by_kind_and_turns_to_oldest_first() {
    let mut c = console(incident_events());
    press(&mut c, "tff");
    let frame = frame_text(&c, 120, 40, false);
    assert!(frame.contains("action only"), "f, f: detected, then action:\n{frame}");
    press(&mut c, "f");
    let notes = frame_text(&c, 120, 40, false);
    assert!(notes.contains("note only") && notes.contains("rolling back api"), "{notes}");
    assert!(!notes.contains("crashloop began") && !notes.contains("opened P2"), "only notes:\n{notes}");
    press(&mut c, "ffo");
    let all = frame_text(&c, 120, 40, false);
    assert!(all.contains("all kinds") && all.contains("oldest first"), "{all}");
    let (opened, note) = (all.find("opened P2").unwrap_or(usize::MAX), all.find("rolling back api").unwrap_or(0));
    assert!(opened < note, "oldest first:\n{all}");
    insta::assert_snapshot!("timeline_overlay_oldest_first_80x24", frame_text(&c, 80, 24, false));
}

#[test]
fn the_runbook_wizard_previews_steps_and_asks_for_the_typed_name_at_80x24() {
    let mut events = incident_events();
    events.push(Event::RunbookStarted {
        name: "rollback".into(),
        title: "Roll a deployment back to its previous (or a chosen) revision".into(),
        steps: vec!["check-rollout".into(), "undo".into(), "verify-ready".into()],
        dry_run: true,
        timeouts_secs: vec![],
    });
    events.push(Event::RunbookStep {
        index: 0,
        state: StepPhase::Previewed,
        text: "deployment shop/api at revision 3 (1/3 updated)".into(),
    });
    events.push(Event::RunbookStep {
        index: 1,
        state: StepPhase::Previewed,
        text: "image registry.local/shop/api:1.5.0-bad -> registry.local/shop/api:1.4.2".into(),
    });
    events.push(Event::RunbookFinished { outcome: "dry run: nothing was changed".into(), end: None });
    let mut c = console(events);
    c.open(Overlay::Wizard(WizardStage::Preview { run: PendingRun::new("rollback"), typed: "ap".into() }));
    let frame = frame_text(&c, 80, 24, false);
    assert!(frame.contains("PREVIEW (dry run)"), "{frame}");
    assert!(frame.contains("1.5.0-bad -> registry.local/shop/api:1.4.2"), "{frame}");
    assert!(frame.contains("> ap"), "{frame}");
    insta::assert_snapshot!("wizard_preview_80x24", frame);
    press(&mut c, "\u{1b}");
    assert!(!frame_text(&c, 80, 24, false).contains("PREVIEW"), "esc hides the wizard");
}

#[test]
fn quitting_while_a_runbook_runs_asks_first() {
    let mut events = incident_events();
    events.push(Event::RunbookStarted {
        name: "failover-redis".into(),
        title: "Move the Redis master".into(),
        steps: vec!["failover".into()],
        dry_run: false,
        timeouts_secs: vec![],
    });
    let mut c = console(events);
    c.show_real_run();
    press(&mut c, "\u{1b}");
    assert_eq!(c.on_key(KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE)), sitrep::ui::KeyOutcome::Redraw);
    assert!(c.view.message.as_deref().is_some_and(|m| m.contains("a runbook is running")), "{:?}", c.view.message);
    assert_eq!(c.on_key(KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE)), sitrep::ui::KeyOutcome::Quit);
}

#[test]
fn run_without_a_deployment_offers_the_live_deployments_to_pick_from_at_80x24() {
    let mut events = incident_events();
    // An earlier run, closed: cancelling the picker must not bring it back.
    events.push(Event::RunbookStarted {
        name: "triage".into(),
        title: "Triage".into(),
        steps: vec![],
        dry_run: false,
        timeouts_secs: vec![],
    });
    events.push(Event::RunbookFinished { outcome: "completed in 2.2s".into(), end: None });
    let mut c = console(events);
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    c.set_events(tx);
    press(&mut c, ":run rollback\n");
    let frame = frame_text(&c, 80, 24, false);
    assert!(frame.contains("choose deployment (1 of 1)"), "{frame}");
    assert!(frame.contains("▶ api"), "{frame}");
    assert!(frame.contains("worker"), "{frame}");
    insta::assert_snapshot!("wizard_picker_80x24", frame);
    press(&mut c, "j");
    assert!(frame_text(&c, 80, 24, false).contains("▶ worker"));
    press(&mut c, "\u{1b}");
    assert!(c.wizard().is_none(), "esc cancels the run before anything started");
    let frame = frame_text(&c, 80, 24, false);
    assert!(!frame.contains("choose deployment") && !frame.contains("runbook triage"), "{frame}");
}

#[test]
fn a_pane_without_data_yet_lets_the_value_be_typed() {
    let mut c = console(vec![Event::Tick { at: at(0) }]);
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    c.set_events(tx);
    press(&mut c, ":run scale\n");
    let frame = frame_text(&c, 80, 24, false);
    assert!(frame.contains("pods pane is still waiting"), "{frame}");
    assert!(frame.contains("Type the deployment"), "{frame}");
    press(&mut c, "api\n");
    let frame = frame_text(&c, 80, 24, false);
    assert!(frame.contains("choose replicas (2 of 2)") && frame.contains("Type the replicas"), "{frame}");
    assert_eq!(c.model.runbook, None, "nothing runs before every parameter has a value");
}

/// A real rollback whose `undo` step has been running for 12 s.
fn rollback_running() -> Console {
    let mut events = incident_events();
    events.push(Event::RunbookStarted {
        name: "rollback".into(),
        title: "Roll a deployment back to its previous (or a chosen) revision".into(),
        steps: vec!["check-access".into(), "undo".into()],
        dry_run: false,
        timeouts_secs: vec![10, 120],
    });
    events.push(Event::RunbookStep { index: 0, state: StepPhase::Verified, text: "verified in 0.1s: may patch deployments".into() });
    events.push(Event::Tick { at: at(2) });
    events.push(Event::RunbookStep { index: 1, state: StepPhase::Confirmed, text: String::new() });
    events.push(Event::RunbookStep { index: 1, state: StepPhase::Running, text: String::new() });
    events.push(Event::Tick { at: at(14) });
    let mut c = console(events);
    c.show_real_run();
    c
}

#[test]
fn a_running_step_shows_its_elapsed_time_and_timeout_at_80x24() {
    let mut c = rollback_running();
    let frame = frame_text(&c, 80, 24, false);
    assert!(frame.contains("2. undo [running 12s · timeout 120s]"), "{frame}");
    insta::assert_snapshot!("wizard_running_80x24", frame);
    c.model.apply(Event::Tick { at: at(15) });
    assert!(frame_text(&c, 80, 24, false).contains("[running 13s"), "it ticks with the model's clock");
}

#[test]
fn esc_during_a_run_asks_to_abort_and_y_cancels_it_at_80x24() {
    let mut c = rollback_running();
    press(&mut c, "\u{1b}");
    let frame = frame_text(&c, 80, 24, false);
    assert!(frame.contains("y = abort"), "{frame}");
    insta::assert_snapshot!("wizard_abort_prompt_80x24", frame);
    press(&mut c, "n");
    assert!(!frame_text(&c, 80, 24, false).contains("y = abort"), "n keeps it running");
    assert!(c.run_cancel().is_some_and(|cancel| !cancel.is_cancelled()));
    press(&mut c, "\u{1b}h");
    assert!(!frame_text(&c, 80, 24, false).contains("RUNNING"), "h hides the wizard");
    press(&mut c, "w");
    assert!(frame_text(&c, 80, 24, false).contains("RUNNING"), "w shows it again");
    press(&mut c, "\u{1b}y");
    assert!(c.run_cancel().is_some_and(|cancel| cancel.is_cancelled()), "y aborts");
    c.model.apply(Event::RunbookStep {
        index: 1,
        state: StepPhase::Aborted,
        text: "aborted by the operator after 12.3s while it ran: it may have changed part of what it changes; check before going on".into(),
    });
    c.model.apply(Event::RunbookFinished { outcome: "stopped at undo: by the operator after 12.3s".into(), end: None });
    let frame = frame_text(&c, 80, 24, false);
    assert!(frame.contains("2. undo [aborted]") && frame.contains("stopped at undo"), "{frame}");
}

#[test]
fn a_shared_timeline_that_lost_its_database_says_so_at_every_size_and_marks_what_is_unsynced() {
    let mut events = incident_events();
    events.push(Event::TimelineSync {
        status: sitrep::model::SyncStatus {
            online: false,
            since: Some(at(-90)),
            error: Some("the shared timeline database is unreachable: connection refused".into()),
            unsynced: vec!["a3".into()],
        },
    });
    let c = console(events);
    let small = frame_text(&c, 80, 24, false);
    assert!(small.lines().next().is_some_and(|top| top.contains("⚠ timeline offline·1 unsynced")), "{small}");
    let wide = frame_text(&c, 200, 60, false);
    assert!(wide.contains("shared OFFLINE 90s ago · 1 unsynced, kept here"), "{wide}");
    let note = wide.lines().find(|l| l.contains("rolling back api")).unwrap_or_default();
    assert!(note.contains("⇡ unsynced"), "the note not yet shared is marked: {note}");
    let opened = wide.lines().find(|l| l.contains("opened P2")).unwrap_or_default();
    assert!(!opened.contains("unsynced"), "{opened}");
}
