//! UI tests: the console drawn off-screen (ratatui TestBackend) from a Model driven by events,
//! snapshotted with insta at 80x24 and 200x60, plus checks that hostile text never reaches the screen.

#[path = "support/runs.rs"]
mod runs;

use chrono::{DateTime, Duration, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use sitrep::app::{Console, frame_text};
use sitrep::clock::Clock;
use sitrep::config::Config;
use sitrep::model::*;

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
        ..PodRow::default()
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
        ..PodsSnapshot::default()
    };
    let replication = ReplicationSnapshot {
        members: vec![
            MemberRow {
                name: "pg-0".into(),
                reachable: true,
                in_recovery: false,
                error: None,
                replay_delay_secs: None,
                load: Some(MemberLoad { connections: 12, max_connections: 50, longest: None }),
            },
            MemberRow {
                name: "pg-1".into(),
                reachable: true,
                in_recovery: true,
                error: None,
                replay_delay_secs: Some(45.0),
                load: Some(MemberLoad { connections: 4, max_connections: 50, longest: None }),
            },
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
        master_health: Some(Box::new(MasterHealth {
            addr: "127.0.0.1:6380".into(),
            answered_ms: 1,
            used_memory: 3 << 20,
            maxmemory: 256 << 20,
            maxmemory_policy: "noeviction".into(),
            keyspace_hits: 900,
            keyspace_misses: 100,
            hit_rate: Some(0.9),
        })),
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
        Event::Observed { at: at(-1), observation: Observation::Backups(backups.into()) },
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
    // The fixture's sources, backups too, were read every 2 s: so is their staleness judged.
    config.s3.refresh_secs = 2;
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
fn queue_names_keep_their_room_beside_the_by_priority_column() {
    // As real Celery stores them: every queue on kombu's four priority lists (the lab's depths).
    let prio = |d: [u64; 4]| [0u8, 3, 6, 9].iter().zip(d).map(|(&priority, depth)| PriorityDepth { priority, depth }).collect::<Vec<_>>();
    let row = |name: &str, d: [u64; 4]| QueueRow { name: name.into(), depth: d.iter().sum(), priorities: prio(d), error: None };
    let mut events = incident_events();
    events.push(Event::Observed {
        at: at(0),
        observation: Observation::Queues(QueuesSnapshot {
            server: "127.0.0.1:6380".into(),
            queues: vec![row("celery", [40, 10, 30, 20]), row("emails", [7, 0, 3, 0]), row("reports", [1, 0, 0, 2])],
            unacked: Some(2),
        }),
    });
    let c = console(events);
    // At 200x60 the pane has no room for the by-priority column beside whole names, so it goes;
    // at 300 columns it fits, and the names stay whole either way.
    for width in [200, 300] {
        let frame = frame_text(&c, width, 60, false);
        assert_eq!(frame.contains("BY PRIORITY"), width == 300, "{frame}");
        for name in ["celery ", "emails ", "reports "] {
            assert!(frame.lines().any(|l| l.contains(&format!("│{name}")) || l.contains(&format!("┃{name}"))), "{name:?} cut:\n{frame}");
        }
    }
}

#[test]
fn an_object_refused_as_a_backup_is_named_on_the_backups_pane() {
    let mut events = incident_events();
    let refused =
        BackupsSnapshot { refused: Some((1, "dumps/shop/]0;owned[2Jevil_20261129T130502Z.dump".into())), ..BackupsSnapshot::default() };
    events.push(Event::Observed { at: at(0), observation: Observation::Backups(refused.into()) });
    let mut c = console(events);
    c.view.on_key(KeyEvent::new(KeyCode::Char('5'), KeyModifiers::NONE));
    let frame = frame_text(&c, 200, 60, false);
    assert!(frame.contains("1 object(s) NOT COUNTED: control characters in the key"), "{frame}");
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
fn a_connection_flood_and_a_long_query_are_named_on_the_member_in_the_pane_and_the_summary_at_80x24_and_200x60() {
    // The Production runbook's "Database Connection Pool Exhausted": the leader at 88% of its
    // max_connections, one statement running for 7 minutes.
    let mut events = incident_events();
    for e in &mut events {
        if let Event::Observed { observation: Observation::Replication(r), .. } = e {
            r.members[0].load = Some(MemberLoad {
                connections: 44,
                max_connections: 50,
                longest: Some(LongQuery {
                    pid: 4242,
                    secs: 421.0,
                    state: "active".into(),
                    user: "shop".into(),
                    query: "update orders set status = 'paid' where id in (select id from carts)".into(),
                }),
            });
        }
    }
    let mut c = console(events);
    c.view.on_key(KeyEvent::new(KeyCode::Char('2'), KeyModifiers::NONE));
    let small = frame_text(&c, 80, 24, false);
    let row = small.lines().find(|l| l.contains("pg-0") && l.contains("primary")).unwrap_or_default();
    assert!(row.contains("88%"), "the member's own connection share is on its row:\n{small}");
    assert!(small.contains("pg-0: pid 4242 active for 7m 01s (shop): update orders"), "the long statement, in words:\n{small}");
    assert!(small.contains("pg-0: 44 of 50 connections (88%)"), "{small}");
    insta::assert_snapshot!("load_alarms_80x24", small);
    let big = frame_text(&c, 200, 60, false);
    assert!(
        big.contains("▶2 replication fresh ≤4s  pg-0: pid 4242 active for 7m 01s"),
        "a critical load alarm leads the summary line (80 columns cut its end):\n{big}"
    );
    assert!(small.contains("replication fresh ≤4s  pg-0: pid 4242"), "{small}");
    insta::assert_snapshot!("load_alarms_200x60", big);
}

#[test]
fn a_redis_master_near_its_maxmemory_is_named_in_the_pane_and_the_summary_at_80x24_and_200x60() {
    // The Production runbook's "Memory Usage" at 93%: with noeviction, writes (Celery's) are refused at 100%.
    let mut events = incident_events();
    for e in &mut events {
        if let Event::Observed { observation: Observation::Sentinel(s), .. } = e
            && let Some(h) = s.master_health.as_mut()
        {
            h.used_memory = 238 << 20;
        }
    }
    let mut c = console(events);
    c.view.on_key(KeyEvent::new(KeyCode::Char('3'), KeyModifiers::NONE));
    let small = frame_text(&c, 80, 24, false);
    assert!(small.contains("master memory 238.0MiB of 256.0MiB (92%, noeviction)"), "{small}");
    insta::assert_snapshot!("redis_memory_80x24", small);
    let big = frame_text(&c, 200, 60, false);
    assert!(
        big.contains("fresh ≤4s  Redis master 127.0.0.1:6380 memory 238.0MiB of maxmemory 256.0MiB (92%, policy noeviction) · SENTINELS"),
        "{big}"
    );
    insta::assert_snapshot!("redis_memory_200x60", big);
}

#[test]
fn a_kept_kind_that_is_missing_is_a_finding_in_the_pane_and_the_summary_at_80x24_and_200x60() {
    // A PITR estate that also keeps dumps ([s3] kinds): WAL is fresh, no dump is found.
    let mut events = incident_events();
    events.push(Event::Observed {
        at: at(0),
        observation: Observation::Backups(
            BackupsSnapshot {
                bucket: "sitrep-lab-backups".into(),
                items: vec![
                    BackupItem {
                        kind: BackupKind::BaseBackup,
                        key: "backup/shop/20261129-020000F/backup.manifest".into(),
                        at: at(-7200),
                        size: 5 << 20,
                    },
                    BackupItem {
                        kind: BackupKind::Wal,
                        key: "archive/shop/15-1/0000000100000000/000000010000000000000027-ab.gz".into(),
                        at: at(-20),
                        size: 1 << 20,
                    },
                ],
                kinds: vec![BackupKind::BaseBackup, BackupKind::Wal, BackupKind::Dump],
                ..BackupsSnapshot::default()
            }
            .into(),
        ),
    });
    let mut c = console(events);
    c.view.on_key(KeyEvent::new(KeyCode::Char('5'), KeyModifiers::NONE));
    let small = frame_text(&c, 80, 24, false);
    // Dumps are kept beside WAL, so the RPO is judged on both (verdict::rpo_breached): a breach too.
    assert!(small.contains("RPO BREACH · MISSING pg_dump · no dump · WAL 20s ag"), "the summary names it:\n{small}");
    assert!(small.contains("MISSING") && small.contains("none found"), "the pane's row says it:\n{small}");
    insta::assert_snapshot!("kind_missing_80x24", small);
    let large = frame_text(&c, 200, 60, false);
    assert!(large.contains("MISSING 0     -         kept, none found"), "{large}");
    assert!(large.contains("not used here"), "snapshots are not kept, so not missing:\n{large}");
    insta::assert_snapshot!("kind_missing_200x60", large);
}

#[test]
fn each_backup_source_is_judged_on_its_own_and_one_that_cannot_be_read_says_so_with_its_age() {
    // WAL in pgBackRest (fresh), dumps in a plain prefix read earlier, then unreachable.
    let wal = BackupsSnapshot {
        source: "s3".into(),
        bucket: "sitrep-lab-backups".into(),
        items: vec![
            BackupItem {
                kind: BackupKind::BaseBackup,
                key: "pgbackrest/backup/shop/20261129-020000F".into(),
                at: at(-7200),
                size: 5 << 20,
            },
            BackupItem { kind: BackupKind::Wal, key: "pgbackrest/archive/shop/15-1/000000010000000000000027".into(), at: at(-20), size: 0 },
        ],
        kinds: vec![BackupKind::BaseBackup, BackupKind::Wal],
        ..BackupsSnapshot::default()
    };
    let dumps = BackupsSnapshot {
        source: "offsite".into(),
        bucket: "offsite-dumps".into(),
        items: vec![BackupItem {
            kind: BackupKind::Dump,
            key: "dumps/shop/shop_20261129T120000Z.dump".into(),
            at: at(-100),
            size: 9 << 20,
        }],
        kinds: vec![BackupKind::Dump],
        ..BackupsSnapshot::default()
    };
    let mut events = incident_events();
    events.push(Event::Observed {
        at: at(-60),
        observation: Observation::Backups(BackupSources { sources: vec![wal.clone(), dumps.clone()] }),
    });
    let unreachable = BackupsSnapshot {
        error: Some("cannot reach S3 at https://offsite.example: connection refused; check [s3] endpoint and region".into()),
        ..dumps
    };
    events.push(Event::Observed { at: at(0), observation: Observation::Backups(BackupSources { sources: vec![wal, unreachable] }) });
    let mut c = console(events);
    c.view.on_key(KeyEvent::new(KeyCode::Char('5'), KeyModifiers::NONE));
    let small = frame_text(&c, 80, 24, false);
    assert!(small.contains("s3: WAL 20s ago · 0 WAL gap(s) | offsite: UNREADABL"), "the summary names each source:\n{small}");
    assert!(small.contains("UNREADABLE failing 0s · last read 60s ago"), "{small}");
    assert!(small.contains("connection refused; check [s3]") && small.contains("endpoint and region"), "whole, wrapped:\n{small}");
    assert!(small.contains("pg_dump     100s ?"), "a dump from an unreadable source is not called ok:\n{small}");
    insta::assert_snapshot!("backup_sources_80x24", small);
    let large = frame_text(&c, 200, 60, false);
    assert!(large.contains("offsite  s3://offsite-dumps  UNREADABLE failing 0s · last read"), "{large}");
    // Its last dump is still listed with its own age, under its error.
    assert!(large.contains("shop_20261129T120000Z.dump"), "{large}");
    assert!(large.contains("sitrep-lab-backups  WAL sequence complete"), "{large}");
    insta::assert_snapshot!("backup_sources_200x60", large);
}

#[test]
fn a_backup_source_never_read_is_not_called_missing() {
    let wal = BackupsSnapshot {
        source: "s3".into(),
        items: vec![BackupItem { kind: BackupKind::Wal, key: "wal_005/000000010000000000000027.zst".into(), at: at(-20), size: 1 }],
        kinds: vec![BackupKind::Wal],
        ..BackupsSnapshot::default()
    };
    let never = BackupsSnapshot {
        source: "offsite".into(),
        kinds: vec![BackupKind::Dump],
        error: Some("no credentials for listing s3://offsite/dumps/".into()),
        ..BackupsSnapshot::default()
    };
    let mut events = incident_events();
    events.push(Event::Observed { at: at(0), observation: Observation::Backups(BackupSources { sources: vec![wal, never] }) });
    let mut c = console(events);
    c.view.on_key(KeyEvent::new(KeyCode::Char('5'), KeyModifiers::NONE));
    let small = frame_text(&c, 80, 24, false);
    assert!(small.contains("UNREADABLE failing 0s · never read"), "{small}");
    let row = small.lines().find(|l| l.contains("pg_dump")).unwrap_or_default();
    assert!(row.contains("not read") && !row.contains("MISSING"), "unknown, not missing: {row}\n{small}");
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
fn the_help_scrolls_to_its_last_row_at_80x24_and_a_stray_key_does_not_close_it() {
    let mut c = console(incident_events());
    press(&mut c, "?");
    let top = frame_text(&c, 80, 24, false);
    assert!(top.contains("keys (esc closes)") && top.contains(" of "), "the help is longer than 80x24 and says so:\n{top}");
    press(&mut c, "G");
    let bottom = frame_text(&c, 80, 24, false);
    insta::assert_snapshot!("help_scrolled_80x24", bottom);
    assert_ne!(top, bottom);
    let last = sitrep::ui::keymap::help(&[], sitrep::ui::command::Scope::Live).last().map(|r| r.help).unwrap_or_default();
    assert!(bottom.contains(last), "the last row is reachable:\n{bottom}");
    press(&mut c, "x");
    assert!(frame_text(&c, 80, 24, false).contains("keys (esc closes)"), "a stray key keeps it open");
    press(&mut c, "?");
    assert!(!frame_text(&c, 80, 24, false).contains("keys (esc closes)"), "? closes it");
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

use runs::{Started, keep_runs, requests};

fn step(index: usize, state: StepPhase, text: &str) -> Event {
    Event::RunbookStep { index, state, text: text.into(), explain: String::new(), typed: None }
}

fn pending(index: usize, explain: &str) -> Event {
    Event::RunbookStep { index, state: StepPhase::Pending, text: String::new(), explain: explain.into(), typed: None }
}

const ROLLBACK_TITLE: &str = "Roll a deployment back to its previous (or a chosen) revision";
const CHECK_ACCESS: &str =
    "Ask the API server (SelfSubjectAccessReview) whether this identity may patch deployments, before anything changes.";
const UNDO: &str = "Point deployment/api back at the pod template of the earlier revision; its controller then rolls the pods over.";

fn rollback_started(dry_run: bool) -> Event {
    let steps = vec!["check-access".into(), "undo".into()];
    Event::RunbookStarted { name: "rollback".into(), title: ROLLBACK_TITLE.into(), steps, dry_run, timeouts_secs: vec![10, 120] }
}

/// What the runner sends for `rollback deployment=api` (actions/rollback.toml), as the wizard's
/// observer words it: every step explained, checked, previewed, then stopped at the dry-run gate.
fn rollback_dry_run() -> Vec<Event> {
    vec![
        rollback_started(true),
        pending(0, CHECK_ACCESS),
        step(0, StepPhase::Previewed, "kubectl auth can-i patch deployments.apps -n shop"),
        step(0, StepPhase::Previewed, ""),
        pending(1, UNDO),
        step(1, StepPhase::PreconditionChecked, "check: revision 2 of deployment/api exists"),
        Event::RunbookStep {
            index: 1,
            state: StepPhase::Previewed,
            text: "check: revision 2 of deployment/api exists\nkubectl rollout undo deployment/api -n shop --to-revision=2\n\
                   image registry.local/shop/api:1.5.0-bad -> registry.local/shop/api:1.4.2"
                .into(),
            explain: String::new(),
            typed: Some("api".into()),
        },
        step(1, StepPhase::Previewed, ""),
        Event::RunbookFinished { outcome: "dry run: nothing was changed".into(), end: Some(RunEnd::DryRun) },
    ]
}

/// `:run rollback deployment=api` typed, its dry run answered: the wizard waits for the name.
fn rollback_previewed() -> (Console, Started) {
    let mut c = console(incident_events());
    let started = keep_runs(&mut c);
    press(&mut c, ":run rollback deployment=api\n");
    c.feed(rollback_dry_run());
    (c, started)
}

#[test]
fn the_dry_run_explains_each_step_and_says_exactly_what_to_type_at_80x24_and_200x60() {
    let mut c = console(incident_events());
    let started = keep_runs(&mut c);
    press(&mut c, ":run rollback deployment=api\n");
    assert_eq!(requests(&started), [("rollback".into(), vec![("deployment".into(), "api".into())], None)], "a dry run first");
    c.feed(rollback_dry_run()[..3].to_vec());
    let working = frame_text(&c, 80, 24, false);
    assert!(working.contains(" DRY RUN · runbook rollback") && working.contains("nothing changes"), "{working}");
    assert!(!working.contains("to confirm"), "nothing is asked before the dry run ends:\n{working}");
    c.feed(rollback_dry_run()[3..].to_vec());
    let frame = frame_text(&c, 80, 24, false);
    assert!(frame.contains(" WAITING FOR CONFIRMATION · runbook rollback"), "{frame}");
    assert!(frame.contains("Ask the API server (SelfSubjectAccessReview)") && frame.contains("Point deployment/api back"), "{frame}");
    assert!(frame.contains("› check: revision 2 of deployment/api exists"), "{frame}");
    assert!(frame.contains("type api to confirm"), "{frame}");
    press(&mut c, "ap");
    let frame = frame_text(&c, 80, 24, false);
    assert!(frame.contains("> ap▏"), "{frame}");
    insta::assert_snapshot!("wizard_preview_80x24", frame);
    let wide = frame_text(&c, 200, 60, false);
    assert!(wide.contains("1.5.0-bad -> registry.local/shop/api:1.4.2") && wide.contains("type api to confirm"), "{wide}");
    insta::assert_snapshot!("wizard_preview_200x60", wide);
    press(&mut c, "\u{1b}");
    assert!(!frame_text(&c, 80, 24, false).contains("WAITING FOR CONFIRMATION"), "esc cancels");
    assert_eq!(requests(&started).len(), 1, "esc starts nothing");
}

#[test]
fn a_typo_in_the_confirmation_asks_again_and_the_exact_name_runs_it_at_80x24() {
    let (mut c, started) = rollback_previewed();
    press(&mut c, "API\n");
    let frame = frame_text(&c, 80, 24, false);
    assert_eq!(requests(&started).len(), 1, "a wrong name starts nothing");
    assert!(frame.contains("`API` is not `api`") && frame.contains("nothing ran"), "{frame}");
    assert!(frame.contains(" WAITING FOR CONFIRMATION") && frame.contains("type api to confirm"), "asks again:\n{frame}");
    insta::assert_snapshot!("wizard_typo_80x24", frame);
    press(&mut c, "api\n");
    assert_eq!(
        requests(&started).last().cloned(),
        Some(("rollback".into(), vec![("deployment".into(), "api".into())], Some("api".into()))),
        "the real run starts with the typed name"
    );
    assert!(c.run_cancel().is_some_and(|cancel| !cancel.is_cancelled()));
}

/// A real rollback started by keys (`api` typed after its dry run), whose `undo` step has been
/// running for 12 s.
fn rollback_running() -> (Console, Started) {
    let (mut c, started) = rollback_previewed();
    press(&mut c, "api\n");
    c.feed(vec![
        rollback_started(false),
        pending(0, CHECK_ACCESS),
        step(0, StepPhase::Verified, "verified in 0.1s: may patch deployments"),
        pending(1, UNDO),
        Event::Tick { at: at(2) },
        step(1, StepPhase::Confirmed, ""),
        step(1, StepPhase::Running, ""),
        Event::Tick { at: at(14) },
    ]);
    (c, started)
}

#[test]
fn a_running_step_shows_its_elapsed_time_and_timeout_at_80x24() {
    let (mut c, _) = rollback_running();
    let frame = frame_text(&c, 80, 24, false);
    assert!(frame.contains(" RUNNING · runbook rollback"), "{frame}");
    assert!(frame.contains("2. undo [running 12s · timeout 120s]"), "{frame}");
    insta::assert_snapshot!("wizard_running_80x24", frame);
    c.feed(vec![Event::Tick { at: at(15) }]);
    assert!(frame_text(&c, 80, 24, false).contains("[running 13s"), "it ticks with the model's clock");
}

#[test]
fn the_header_shows_how_the_run_ended_never_running_at_80x24_and_200x60() {
    let (mut c, _) = rollback_running();
    c.feed(vec![
        step(1, StepPhase::Verified, "verified in 14.2s: rolled back to revision 2; verified: 3/3 ready"),
        Event::RunbookFinished { outcome: "completed in 14.3s".into(), end: Some(RunEnd::Completed) },
    ]);
    let frame = frame_text(&c, 80, 24, false);
    assert!(frame.contains(" COMPLETED · runbook rollback") && !frame.contains("RUNNING"), "{frame}");
    assert!(frame.contains("completed in 14.3s") && frame.contains("Esc closes"), "{frame}");
    insta::assert_snapshot!("wizard_completed_80x24", frame);
    insta::assert_snapshot!("wizard_completed_200x60", frame_text(&c, 200, 60, false));
    // `q` quits without asking: nothing is changing any more.
    assert_eq!(c.on_key(KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE)), sitrep::ui::KeyOutcome::Quit);

    let (mut c, _) = rollback_running();
    c.feed(vec![
        step(1, StepPhase::Refused, "refused, nothing changed: another run holds deployment/shop/api"),
        Event::RunbookFinished { outcome: "REFUSED at undo: another run holds it; nothing was changed".into(), end: Some(RunEnd::Refused) },
    ]);
    let frame = frame_text(&c, 80, 24, false);
    assert!(frame.contains(" REFUSED · runbook rollback") && !frame.contains("RUNNING"), "{frame}");
    let (mut c, _) = rollback_running();
    c.feed(vec![
        step(1, StepPhase::Failed, "failed after 120.0s: not verified within 120s: 1/3 ready; next: watch the rollout"),
        Event::RunbookFinished { outcome: "FAILED at undo: not verified within 120s".into(), end: Some(RunEnd::Failed) },
    ]);
    let frame = frame_text(&c, 80, 24, false);
    assert!(frame.contains(" FAILED · runbook rollback") && frame.contains("2. undo [failed]"), "{frame}");
}

#[test]
fn a_failed_precondition_in_the_dry_run_shows_its_words_and_asks_for_nothing_at_80x24_and_200x60() {
    let mut c = console(incident_events());
    let started = keep_runs(&mut c);
    press(&mut c, ":run failover-redis\n");
    let words = "no replica of mymaster is in sync";
    c.feed(vec![
        Event::RunbookStarted {
            name: "failover-redis".into(),
            title: "Move the Redis master to its in-sync replica (SENTINEL FAILOVER)".into(),
            steps: vec!["failover".into()],
            dry_run: true,
            timeouts_secs: vec![60],
        },
        pending(
            0,
            "Ask the Sentinels to promote the replica of mymaster; clients that ask Sentinel follow the new master. Writes \
             acknowledged only by the old master can be lost, so the replica must be in sync first.",
        ),
        step(0, StepPhase::PreconditionFailed, &format!("stopped, nothing changed: precondition not met: {words}")),
        Event::RunbookFinished { outcome: format!("stopped at failover: precondition not met: {words}"), end: Some(RunEnd::Aborted) },
    ]);
    let frame = frame_text(&c, 80, 24, false);
    assert!(frame.contains(" STOPPED · dry run · runbook failover-redis"), "{frame}");
    assert!(frame.contains("1. failover [precondition failed]") && frame.contains(words), "{frame}");
    assert!(!frame.contains("to confirm") && !frame.contains("> "), "no typed prompt:\n{frame}");
    assert!(frame.contains("Esc closes"), "{frame}");
    insta::assert_snapshot!("wizard_precondition_failed_80x24", frame);
    insta::assert_snapshot!("wizard_precondition_failed_200x60", frame_text(&c, 200, 60, false));
    press(&mut c, "mymaster\n");
    assert_eq!(requests(&started).len(), 1, "typing and Enter start nothing after a failed precondition");
    assert!(!frame_text(&c, 80, 24, false).contains("> mymaster"), "nothing is typed into a prompt that is not there");
    press(&mut c, "\u{1b}");
    assert!(c.wizard().is_none(), "esc closes");
}

#[test]
fn quitting_while_a_runbook_runs_asks_first() {
    let (mut c, _) = rollback_running();
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
    let started = keep_runs(&mut c);
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
    assert!(requests(&started).is_empty());
}

#[test]
fn restart_pods_offers_one_pod_before_all_at_80x24() {
    let mut c = console(incident_events());
    let started = keep_runs(&mut c);
    press(&mut c, ":run restart-pods deployment=api\n");
    let frame = frame_text(&c, 80, 24, false);
    assert!(frame.contains("choose pod (1 of 1)"), "{frame}");
    assert!(frame.contains("▶ api-5b8f7c9d6-hq2lp"), "the crash-looping pod comes first:\n{frame}");
    assert!(frame.contains("all") && frame.contains("the default (see above)") && frame.contains("`all` (a rolling restart"), "{frame}");
    assert!(!frame.contains("worker-6c7d8e9f0-abcde"), "only api's pods:\n{frame}");
    insta::assert_snapshot!("wizard_pod_picker_80x24", frame);
    press(&mut c, "\n");
    let asked = requests(&started);
    let params = vec![("deployment".to_string(), "api".to_string()), ("pod".to_string(), "api-5b8f7c9d6-hq2lp".to_string())];
    assert_eq!(asked, [("restart-pods".to_string(), params, None)], "the dry run restarts the one pod picked");
}

#[test]
fn a_pane_without_data_yet_lets_the_value_be_typed() {
    let mut c = console(vec![Event::Tick { at: at(0) }]);
    let started = keep_runs(&mut c);
    press(&mut c, ":run scale\n");
    let frame = frame_text(&c, 80, 24, false);
    assert!(frame.contains("pods pane is still waiting"), "{frame}");
    assert!(frame.contains("Type the deployment"), "{frame}");
    press(&mut c, "api\n");
    let frame = frame_text(&c, 80, 24, false);
    assert!(frame.contains("choose replicas (2 of 2)") && frame.contains("Type the replicas"), "{frame}");
    assert!(requests(&started).is_empty(), "nothing runs before every parameter has a value");
}

#[test]
fn esc_during_a_run_asks_to_abort_and_y_cancels_it_at_80x24() {
    let (mut c, _) = rollback_running();
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
    c.feed(vec![
        step(
            1,
            StepPhase::Aborted,
            "aborted by the operator after 12.3s while it ran: it may have changed part of what it changes; check before going on",
        ),
        Event::RunbookFinished { outcome: "stopped at undo: by the operator after 12.3s".into(), end: Some(RunEnd::Aborted) },
    ]);
    let frame = frame_text(&c, 80, 24, false);
    assert!(frame.contains("2. undo [aborted]") && frame.contains("stopped at undo"), "{frame}");
    assert!(frame.contains(" STOPPED · runbook rollback") && !frame.contains("RUNNING"), "{frame}");
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

#[test]
fn describe_scrolls_with_j_and_g_at_80x24_and_says_which_lines_are_shown() {
    // A pod with a long history: twenty events, oldest first, more than 80x24 can show at once.
    let mut events = incident_events();
    for e in &mut events {
        if let Event::Observed { observation: Observation::Pods(p), .. } = e {
            let older = (1..=20).rev().map(|i| KubeEventRow {
                at: Some(at(-20 - 30 * i)),
                namespace: "shop".into(),
                object: "pod/api-5b8f7c9d6-hq2lp".into(),
                kind: "Normal".into(),
                reason: if i % 2 == 0 { "Pulled".into() } else { "Started".into() },
                message: format!("container api attempt {}", 21 - i),
                count: 1,
            });
            p.events.splice(0..0, older);
        }
    }
    let mut c = console(events);
    press(&mut c, "\n");
    let top = frame_text(&c, 80, 24, false);
    assert!(top.contains("describe pod") && top.contains("Name        api-"), "{top}");
    press(&mut c, "G");
    let bottom = frame_text(&c, 80, 24, false);
    insta::assert_snapshot!("describe_pod_scrolled_80x24", bottom);
    assert!(bottom.contains("Back-off restarting failed container api"), "the events are at the end:\n{bottom}");
    assert!(!bottom.contains("Name        api-"), "the top scrolled away:\n{bottom}");
    assert!(bottom.contains(" of "), "the border says which lines are shown:\n{bottom}");
    press(&mut c, "g");
    assert_eq!(frame_text(&c, 80, 24, false), top, "g goes back to the top");
    press(&mut c, "j");
    assert!(frame_text(&c, 80, 24, false).contains("describe pod"), "j scrolls; it does not close describe");
}

#[test]
fn triage_findings_are_a_list_read_to_the_last_one_at_80x24() {
    let mut c = console(incident_events());
    let _started = keep_runs(&mut c);
    press(&mut c, ":run triage\n");
    let findings = [
        "8 finding(s) in kubernetes, postgres, redis, queues, backups; proposed severity P1, next runbook: rollback",
        "  P1 kubernetes: deployment api has no available pod (revision 2, registry.local/shop/api:1.5.0-bad)",
        "  P2 redis: Redis replica(s) down: 127.0.0.1:16380 (redundancy lost)",
        "  P2 queues: queue celery holds 12000 (critical 10000)",
        "  P3 postgres: no standby streams from leader pg-0: redundancy lost, a leader failure now has no replica to promote",
        "  P3 kubernetes: deployment web has 2 of 3 pods available: redundancy lost",
        "  P4 redis: Sentinel 127.0.0.1:26381 unreachable: connection refused",
        "  P4 kubernetes: warning event pod/api-5b8f7c9d6-hq2lp BackOff: Back-off restarting failed container api (x7)",
        "  P4 kubernetes: warning event pod/api-5b8f7c9d6-x2x9k BackOff: Back-off restarting failed container api (x5)",
    ];
    c.feed(vec![
        Event::RunbookStarted {
            name: "triage".into(),
            title: "What is unhealthy right now: findings, a proposed severity and the next runbook".into(),
            steps: vec!["snapshot".into()],
            dry_run: false,
            timeouts_secs: vec![30],
        },
        step(0, StepPhase::Verified, &findings.join("\n")),
        Event::RunbookFinished { outcome: "completed in 3s".into(), end: Some(RunEnd::Completed) },
    ]);
    let first = frame_text(&c, 80, 24, false);
    assert!(first.contains("deployment api has no available pod"), "{first}");
    // Down to the last finding with the keys the border names; every finding is read on the way.
    let mut seen = first.clone();
    for _ in 0..12 {
        c.on_key(KeyEvent::new(KeyCode::PageDown, KeyModifiers::NONE));
        seen.push_str(&frame_text(&c, 80, 24, false));
    }
    let last = frame_text(&c, 80, 24, false);
    insta::assert_snapshot!("wizard_triage_findings_80x24", last);
    assert!(last.contains("x5)"), "the last finding is reachable:\n{last}");
    for f in ["Redis replica(s)", "queue celery holds", "no standby streams", "2 of 3 pods", "26381 unreachable"] {
        assert!(seen.contains(f), "`{f}` was never on screen");
    }
}
