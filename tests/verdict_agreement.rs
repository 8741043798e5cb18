//! Pane, summary strip, detector and triage agree about every reading around each threshold:
//! random lags, queue depths, backup ages, connections and Redis memory near their limits, judged by all four.

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use sitrep::config::Thresholds;
use sitrep::detect::Detector;
use sitrep::model::verdict::Level;
use sitrep::model::*;
use sitrep::runbook::effects::triage::{Snapshots, assess};
use sitrep::ui::ViewState;
use sitrep::ui::panes::PaneCtx;
use sitrep::ui::theme::Theme;

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-29T03:12:00Z").map(|t| t.with_timezone(&Utc)).unwrap_or_default()
}

/// A theme where each level has its own colour, so a drawn cell tells which level it was given.
fn theme() -> Theme {
    let c = |color| Style::default().fg(color);
    Theme {
        name: "levels".into(),
        text: c(Color::White),
        muted: c(Color::DarkGray),
        accent: c(Color::Cyan),
        ok: c(Color::Green),
        warn: c(Color::Yellow),
        crit: c(Color::Red),
        border: c(Color::Gray),
        focus: c(Color::Blue),
        selected: Style::default().add_modifier(Modifier::REVERSED),
    }
}

/// The level a colour stands for (rows draw "fine" as plain text, the summary as green).
fn level_of(style: Style) -> Level {
    match style.fg {
        Some(Color::Red) => Level::Crit,
        Some(Color::Yellow) => Level::Warn,
        Some(Color::White) | Some(Color::Green) => Level::Ok,
        other => panic!("not a level colour: {other:?}"),
    }
}

/// What the four judges said about one reading.
#[derive(Debug, PartialEq)]
struct Judged {
    pane: Level,
    summary: Level,
    detector_alarm: bool,
    triage: Level,
}

/// Feeds the same observation every 2 s for 30 s (past the detector's folding), and returns the
/// model, whether the detector reported an alarm matching `alarm_words` and not recovered.
fn observe(observation: impl Fn(DateTime<Utc>) -> Observation, alarm_words: &str) -> (Model, bool) {
    let mut model = Model::new(Duration::seconds(2));
    let mut detector = Detector::new(&Thresholds::default());
    let mut alarm = false;
    for i in 0..15 {
        let at = t0() + Duration::seconds(2 * i);
        model.apply(Event::Observed { at, observation: observation(at) });
        for d in detector.observe(&model) {
            if d.what.contains(alarm_words) {
                alarm = !d.recovered;
            }
        }
    }
    (model, alarm)
}

fn ctx<'a>(model: &'a Model, view: &'a ViewState, theme: &'a Theme, thresholds: &'a Thresholds) -> PaneCtx<'a> {
    PaneCtx { model, view, theme, thresholds, now: model.now.unwrap_or_else(t0), focused: false }
}

/// Draws a pane at 200x30 and returns the style of the first cell of `label`: on the first row
/// that starts with it (right after the border), else where it first appears.
fn row_style(draw: fn(&mut ratatui::Frame, Rect, &PaneCtx), ctx: &PaneCtx, label: &str) -> Style {
    let mut terminal = Terminal::new(TestBackend::new(200, 30)).expect("test terminal");
    terminal.draw(|f| draw(f, f.area(), ctx)).expect("draw");
    let buf = terminal.backend().buffer();
    let lines: Vec<String> =
        (0..buf.area.height).map(|y| (0..buf.area.width).map(|x| buf[(x, y)].symbol().to_string()).collect()).collect();
    let starts = lines.iter().position(|l| l.chars().skip(1).collect::<String>().starts_with(label));
    let at = starts
        .map(|y| (y, 1))
        .or_else(|| lines.iter().enumerate().find_map(|(y, l)| l.find(label).map(|col| (y, l[..col].chars().count()))));
    match at {
        Some((y, x)) => buf[(x as u16, y as u16)].style(),
        None => panic!("no row {label:?} in the pane"),
    }
}

fn severity_level(findings: &[sitrep::runbook::effects::triage::Finding], component: &str, words: &str) -> Level {
    match findings.iter().filter(|f| f.component == component && f.what.contains(words)).map(|f| f.severity).min() {
        None => Level::Ok,
        Some(s) if s <= 2 => Level::Crit,
        Some(_) => Level::Warn,
    }
}

fn judge_lag(secs: f64, bytes: u64) -> Judged {
    let snap = ReplicationSnapshot {
        members: vec![MemberRow { name: "pg-0".into(), reachable: true, ..MemberRow::default() }],
        standbys: vec![StandbyRow {
            name: "pg-1".into(),
            client_addr: "127.0.0.1".into(),
            state: "streaming".into(),
            sync_state: "async".into(),
            replay_lag_bytes: bytes,
            replay_lag_secs: Some(secs),
            ..StandbyRow::default()
        }],
        ..ReplicationSnapshot::default()
    };
    let (model, detector_alarm) = observe(|_| Observation::Replication(snap.clone()), "replication lag at");
    let (view, theme, t) = (ViewState::default(), theme(), Thresholds::default());
    let c = ctx(&model, &view, &theme, &t);
    let findings = assess(&Snapshots { replication: Some(Ok(snap)), ..Snapshots::default() }, &t, t0());
    Judged {
        pane: level_of(row_style(sitrep::ui::panes::replication::draw, &c, "pg-1")),
        summary: level_of(sitrep::ui::panes::summary::headline(&model, SourceId::Replication, &c).1),
        detector_alarm,
        triage: severity_level(&findings, "postgres", "replication lag"),
    }
}

/// The leader with `used` of 50 connections (and a caught-up standby, so nothing else alarms).
fn judge_connections(used: u32) -> Judged {
    let snap = ReplicationSnapshot {
        members: vec![MemberRow {
            name: "pg-0".into(),
            reachable: true,
            load: Some(MemberLoad { connections: used, max_connections: 50, longest: None }),
            ..MemberRow::default()
        }],
        standbys: vec![StandbyRow { name: "pg-1".into(), state: "streaming".into(), replay_lag_secs: Some(0.0), ..StandbyRow::default() }],
        ..ReplicationSnapshot::default()
    };
    let (model, detector_alarm) = observe(|_| Observation::Replication(snap.clone()), "connections at");
    let (view, theme, t) = (ViewState::default(), theme(), Thresholds::default());
    let c = ctx(&model, &view, &theme, &t);
    let findings = assess(&Snapshots { replication: Some(Ok(snap)), ..Snapshots::default() }, &t, t0());
    Judged {
        pane: level_of(row_style(sitrep::ui::panes::replication::draw, &c, "pg-0")),
        summary: level_of(sitrep::ui::panes::summary::headline(&model, SourceId::Replication, &c).1),
        detector_alarm,
        triage: severity_level(&findings, "postgres", "connections ("),
    }
}

/// The Redis master holding `used_mib` of a 100 MiB maxmemory; three Sentinels agreeing.
fn judge_redis_memory(used_mib: u64) -> Judged {
    let master = "10.0.0.1:6379";
    let sentinel = |addr: &str| SentinelRow { addr: addr.into(), master_addr: Some(master.into()), error: None };
    let snap = SentinelSnapshot {
        master_name: "mymaster".into(),
        sentinels: vec![sentinel("s1"), sentinel("s2"), sentinel("s3")],
        master: Some(MasterRow { addr: master.into(), flags: "master".into(), quorum: 2, other_sentinels: 2, num_replicas: 0 }),
        replicas: vec![],
        master_health: Some(Box::new(MasterHealth {
            addr: master.into(),
            used_memory: used_mib << 20,
            maxmemory: 100 << 20,
            maxmemory_policy: "noeviction".into(),
            ..MasterHealth::default()
        })),
    };
    let (model, detector_alarm) = observe(|_| Observation::Sentinel(snap.clone()), "Redis master memory at");
    let (view, theme, t) = (ViewState::default(), theme(), Thresholds::default());
    let c = ctx(&model, &view, &theme, &t);
    let findings = assess(&Snapshots { sentinel: Some(Ok(snap)), ..Snapshots::default() }, &t, t0());
    Judged {
        pane: level_of(row_style(sitrep::ui::panes::sentinel::draw, &c, "memory ")),
        summary: level_of(sitrep::ui::panes::summary::headline(&model, SourceId::Sentinel, &c).1),
        detector_alarm,
        triage: severity_level(&findings, "redis", "memory"),
    }
}

fn judge_queue(depth: u64) -> Judged {
    let snap = QueuesSnapshot {
        server: "127.0.0.1:6379".into(),
        queues: vec![QueueRow { name: "celery".into(), depth, ..QueueRow::default() }],
        unacked: None,
    };
    let (model, detector_alarm) = observe(|_| Observation::Queues(snap.clone()), "queue celery");
    let (view, theme, t) = (ViewState::default(), theme(), Thresholds::default());
    let c = ctx(&model, &view, &theme, &t);
    // Triage reads twice; the same depth both times is a steady queue, as the model's history is.
    let findings = assess(&Snapshots { queues: Some((Ok(snap.clone()), Some(snap))), ..Snapshots::default() }, &t, t0());
    Judged {
        pane: level_of(row_style(sitrep::ui::panes::queues::draw, &c, "celery")),
        summary: level_of(sitrep::ui::panes::summary::headline(&model, SourceId::Queues, &c).1),
        detector_alarm,
        triage: severity_level(&findings, "queues", "queue celery"),
    }
}

fn judge_backup_age(age_secs: i64) -> Judged {
    // Every observation sees its newest backups `age_secs` old, so the age holds (as it does
    // between two backups for the detector's folding window).
    let snap_at = |now: DateTime<Utc>| {
        let item = |kind, key: &str| BackupItem { kind, key: key.into(), at: now - Duration::seconds(age_secs), size: 1024 };
        BackupsSnapshot {
            bucket: "b".into(),
            items: vec![item(BackupKind::Dump, "dumps/app.dump"), item(BackupKind::Wal, "wal_005/000000010000000000000003.zst")],
            kinds: vec![BackupKind::Wal, BackupKind::Dump],
            ..BackupsSnapshot::default()
        }
    };
    judge_dump_row(snap_at, "newest pg_dump is", "newest pg_dump")
}

/// The four judges of the pg_dump row, for backups seen as `snap_at` says at each observation.
fn judge_dump_row(snap_at: impl Fn(DateTime<Utc>) -> BackupsSnapshot, detector_words: &str, triage_words: &str) -> Judged {
    let (model, detector_alarm) = observe(|at| Observation::Backups(snap_at(at).into()), detector_words);
    let now = model.now.unwrap_or_else(t0);
    let (view, theme, t) = (ViewState::default(), theme(), Thresholds::default());
    let c = ctx(&model, &view, &theme, &t);
    let findings = assess(&Snapshots { backups: Some(Ok(snap_at(now).into())), ..Snapshots::default() }, &t, now);
    Judged {
        pane: level_of(row_style(sitrep::ui::panes::backups::draw, &c, "pg_dump")),
        summary: level_of(sitrep::ui::panes::summary::headline(&model, SourceId::Backups, &c).1),
        detector_alarm,
        triage: severity_level(&findings, "backups", triage_words),
    }
}

/// A kept kind (`[s3] kinds`) with nothing in the inventory, or one found `dump_at` ago.
fn judge_kept_dump(dump_at: Option<i64>) -> Judged {
    let snap_at = |now: DateTime<Utc>| BackupsSnapshot {
        bucket: "b".into(),
        items: [BackupItem { kind: BackupKind::Wal, key: "wal_005/000000010000000000000003.zst".into(), at: now, size: 1 }]
            .into_iter()
            .chain(dump_at.map(|a| BackupItem {
                kind: BackupKind::Dump,
                key: "dumps/app.dump".into(),
                at: now - Duration::seconds(a),
                size: 1,
            }))
            .collect(),
        kinds: vec![BackupKind::Wal, BackupKind::Dump],
        ..BackupsSnapshot::default()
    };
    judge_dump_row(snap_at, "no pg_dump in the inventory", "no pg_dump in the inventory")
}

#[test]
fn a_kept_kind_that_is_missing_is_a_finding_for_all_four_judges() {
    let missing = judge_kept_dump(None);
    assert_eq!(missing.pane, Level::Crit, "{missing:?}");
    agree(&missing).unwrap_or_else(|e| panic!("{e}"));
    let found = judge_kept_dump(Some(60));
    assert_eq!(found.pane, Level::Ok, "{found:?}");
    agree(&found).unwrap_or_else(|e| panic!("{e}"));
}

fn agree(j: &Judged) -> Result<(), TestCaseError> {
    prop_assert_eq!(j.pane, j.summary, "pane and summary: {:?}", j);
    prop_assert_eq!(j.pane, j.triage, "pane and triage: {:?}", j);
    prop_assert_eq!(j.pane.is_alarm(), j.detector_alarm, "pane and detector: {:?}", j);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn lag_around_its_thresholds(secs in prop_oneof![28.0f64..32.0, 58.0f64..62.0, Just(30.0), Just(60.0)],
                                 bytes in prop_oneof![Just(0u64), (16u64 * 1024 * 1024 - 2)..(16 * 1024 * 1024 + 2)]) {
        agree(&judge_lag(secs, bytes))?;
    }

    #[test]
    fn queue_depth_around_its_thresholds(depth in prop_oneof![995u64..1005, 9995u64..10_005, Just(0u64)]) {
        agree(&judge_queue(depth))?;
    }

    #[test]
    fn connections_around_their_thresholds(used in prop_oneof![38u32..42, 43u32..47, Just(0u32), Just(50u32)]) {
        agree(&judge_connections(used))?;
    }

    #[test]
    fn redis_memory_around_its_thresholds(used in prop_oneof![78u64..82, 88u64..92, Just(0u64), Just(100u64)]) {
        agree(&judge_redis_memory(used))?;
    }

    #[test]
    fn backup_age_around_the_rpo(age in 295i64..306) {
        agree(&judge_backup_age(age))?;
    }
}

#[test]
fn the_judges_see_each_level_at_its_limit() {
    assert_eq!(judge_lag(29.0, 0).pane, Level::Ok);
    assert_eq!(judge_lag(30.0, 0).pane, Level::Warn);
    assert_eq!(judge_lag(60.0, 0).triage, Level::Crit);
    assert_eq!(judge_queue(1000).summary, Level::Warn);
    assert_eq!(judge_queue(10_000).triage, Level::Crit);
    assert!(judge_backup_age(301).detector_alarm);
    assert!(!judge_backup_age(300).detector_alarm);
    assert_eq!(judge_connections(39).pane, Level::Ok);
    assert_eq!(judge_connections(40).summary, Level::Warn);
    assert_eq!(judge_connections(45).triage, Level::Crit);
    assert_eq!(judge_redis_memory(79).pane, Level::Ok);
    assert_eq!(judge_redis_memory(80).triage, Level::Warn);
    assert!(judge_redis_memory(90).detector_alarm);
}
