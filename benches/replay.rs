//! Seeking in a one-hour recording (generated: five sources a second, a Tick a second).
//! Figures go in the closing notes; nothing here is asserted.

use chrono::{DateTime, Duration, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use sitrep::config::Config;
use sitrep::model::*;
use sitrep::record::{Header, Record, Recording};
use sitrep::replay::player::console_at;
use std::hint::black_box;

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default()
}

fn hour() -> Recording {
    let mut records = Vec::new();
    for s in 0..3600u64 {
        let at = t0() + Duration::seconds(s as i64);
        let t = s * 1000;
        let queues = QueuesSnapshot {
            server: "x".into(),
            queues: (0..3).map(|q| QueueRow { name: format!("q{q}"), depth: s * (q + 1), ..QueueRow::default() }).collect(),
            unacked: Some(2),
        };
        records.push(Record::Event { t, event: Event::Observed { at, observation: Observation::Queues(queues) } });
        let pods = PodsSnapshot {
            pods: (0..30)
                .map(|i| PodRow {
                    namespace: "shop".into(),
                    name: format!("api-{i}"),
                    phase: "Running".into(),
                    ready: 1,
                    containers: 1,
                    ..PodRow::default()
                })
                .collect(),
            ..PodsSnapshot::default()
        };
        records.push(Record::Event { t: t + 100, event: Event::Observed { at, observation: Observation::Pods(pods) } });
        let repl = ReplicationSnapshot {
            standbys: vec![StandbyRow { name: "pg-1".into(), replay_lag_secs: Some(0.1), ..StandbyRow::default() }],
            ..ReplicationSnapshot::default()
        };
        records.push(Record::Event { t: t + 200, event: Event::Observed { at, observation: Observation::Replication(repl) } });
        records.push(Record::Event { t: t + 300, event: Event::SourceAlive { at, source: SourceId::Sentinel } });
        records.push(Record::Event { t: t + 400, event: Event::Tick { at } });
    }
    Recording {
        path: "hour.sitrep".into(),
        header: Header {
            format: "sitrep-recording".into(),
            version: 1,
            sitrep: "bench".into(),
            started_at: t0(),
            cols: 120,
            rows: 40,
            sources: vec![],
            timezone: "UTC".into(),
            banner: "bench".into(),
            refresh_secs: Default::default(),
        },
        records,
        problem: None,
    }
}

fn bench(c: &mut Criterion) {
    let rec = hour();
    let mut config = Config::default();
    config.general.theme = "mono".into();
    c.bench_function("seek to 30 min in a 1 h recording (18k records)", |b| {
        b.iter(|| black_box(console_at(&rec, &config, 1_800_000, false)))
    });
    c.bench_function("seek to the end of a 1 h recording", |b| b.iter(|| black_box(console_at(&rec, &config, 3_600_000, false))));
}

criterion_group!(benches, bench);
criterion_main!(benches);
