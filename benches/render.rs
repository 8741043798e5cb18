//! Rendering and applying at incident scale: 10,000 pods, 50 queues, 5,000 backup objects.
//! Figures go in the closing notes; nothing here is asserted.

use chrono::{DateTime, Duration, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use sitrep::app::{Console, frame_text};
use sitrep::clock::Clock;
use sitrep::config::Config;
use sitrep::model::*;
use std::hint::black_box;

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default()
}

fn pods(n: usize) -> PodsSnapshot {
    PodsSnapshot {
        pods: (0..n)
            .map(|i| PodRow {
                namespace: format!("ns-{}", i % 20),
                name: format!("service-{}-7d9c6b5f4-{i:05}", i % 300),
                phase: "Running".into(),
                ready: u32::from(i % 97 != 0),
                containers: 1,
                restarts: (i % 13) as u32,
                last_restart: Some(t0() - Duration::seconds((i % 600) as i64)),
                created: Some(t0() - Duration::hours(3)),
                node: format!("node-{}", i % 40),
                reason: (i % 97 == 0).then(|| "CrashLoopBackOff".to_string()),
                ..PodRow::default()
            })
            .collect(),
        deployments: (0..300)
            .map(|i| DeploymentRow {
                namespace: format!("ns-{}", i % 20),
                name: format!("service-{i}"),
                desired: 3,
                updated: 3,
                ready: 3,
                available: 3,
                revision: "4".into(),
                images: vec![],
                rollout: "complete".into(),
            })
            .collect(),
        events: vec![],
        ..PodsSnapshot::default()
    }
}

fn loaded_console(n_pods: usize) -> Console {
    let mut config = Config::default();
    config.general.theme = "default".into();
    let mut c = Console::new(config, "bench".into(), Clock::virtual_at(t0())).expect("console");
    c.model.apply(Event::Observed { at: t0(), observation: Observation::Pods(pods(n_pods)) });
    for step in 0..30 {
        c.model.apply(Event::Observed {
            at: t0() + Duration::seconds(step * 2),
            observation: Observation::Queues(QueuesSnapshot {
                server: "x".into(),
                queues: (0..50)
                    .map(|q| QueueRow { name: format!("queue-{q}"), depth: (q * 10 + step) as u64, ..QueueRow::default() })
                    .collect(),
                unacked: Some(3),
            }),
        });
    }
    let items = (0..5000)
        .map(|i| BackupItem {
            kind: if i % 50 == 0 { BackupKind::Dump } else { BackupKind::Wal },
            key: format!("wal_005/0000000100000000{:08X}.zst", i),
            at: t0() - Duration::seconds(i),
            size: 16 << 20,
        })
        .collect();
    c.model.apply(Event::Observed {
        at: t0(),
        observation: Observation::Backups(BackupsSnapshot { bucket: "b".into(), items, ..BackupsSnapshot::default() }.into()),
    });
    c.model.apply(Event::Tick { at: t0() + Duration::seconds(61) });
    c
}

fn bench(c: &mut Criterion) {
    let console = loaded_console(10_000);
    c.bench_function("render 200x60, 10k pods, 50 queues, 5k backups", |b| b.iter(|| black_box(frame_text(&console, 200, 60, false))));
    c.bench_function("render 80x24, 10k pods, 50 queues, 5k backups", |b| b.iter(|| black_box(frame_text(&console, 80, 24, false))));
    let snapshot = pods(10_000);
    let mut model = loaded_console(10_000).model;
    c.bench_function("Model::apply pods snapshot with 10k pods", |b| {
        b.iter(|| black_box(model.apply(Event::Observed { at: t0(), observation: Observation::Pods(snapshot.clone()) })))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
