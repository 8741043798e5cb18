//! The post-mortem export at the size of a long incident: 100,000 timeline entries, read from the
//! record format, folded, and rendered as Markdown and JSON. Figures go in the closing notes.

use chrono::{DateTime, Duration, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use sitrep::config::Thresholds;
use sitrep::timeline::entry::{EntryKind, IncidentId, IncidentStatus, Severity, TimelineEntry};
use sitrep::timeline::export::PostMortem;
use sitrep::timeline::record;
use std::hint::black_box;

const ENTRIES: usize = 100_000;

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default()
}

fn kind(i: usize) -> EntryKind {
    match i % 10 {
        0 => EntryKind::Detected {
            what: format!("crashloop began: pod shop/api-{i}"),
            source: "pods".into(),
            recovered: false,
            backup_age_secs: None,
        },
        1 => EntryKind::Action { runbook: "restart-api".into(), step: format!("step {i}"), outcome: "ok".into() },
        2 => EntryKind::Status { status: IncidentStatus::Identified },
        3 => EntryKind::Severity { severity: Severity::P2 },
        _ => EntryKind::note(&format!("note {i}: replica lag 42s, queue celery 1532, restarted api-7f9c")),
    }
}

fn timeline_bytes() -> (IncidentId, Vec<u8>) {
    let id = IncidentId::for_day(t0(), 1);
    let mut bytes = Vec::new();
    for i in 0..ENTRIES {
        let kind = if i == 0 { EntryKind::Opened { title: "bench".into(), severity: Severity::P1, estate: None } } else { kind(i) };
        let entry = TimelineEntry {
            id: uuid::Uuid::from_u128(i as u128 + 1),
            incident: id.clone(),
            at: t0() + Duration::seconds(i as i64),
            author: format!("oncall{}@host", i % 5),
            corrects: (i % 1000 == 999).then(|| uuid::Uuid::from_u128(i as u128)),
            kind,
        };
        bytes.extend(record::encode(&entry).unwrap_or_default());
    }
    (id, bytes)
}

fn export(c: &mut Criterion) {
    let (id, bytes) = timeline_bytes();
    let thresholds = Thresholds::default();
    let mut group = c.benchmark_group("export_100k");
    group.sample_size(10);
    group.bench_function("scan", |b| b.iter(|| black_box(record::scan(black_box(&bytes)))));
    let entries = record::scan(&bytes).entries;
    group.bench_function("markdown", |b| b.iter(|| black_box(PostMortem::new(&id, &entries, &thresholds, vec![]).to_markdown())));
    group.bench_function("json", |b| b.iter(|| black_box(PostMortem::new(&id, &entries, &thresholds, vec![]).to_json())));
    group.finish();
}

/// The shared timeline's local half: another responder's 1,000 entries merged into a 100k-entry
/// incident file: the writer opens and scans the whole file (collecting its ids), skips known ids,
/// writes the rest in one write and fsyncs. Setup (writing the 100k file) is not timed.
fn merge(c: &mut Criterion) {
    let (id, bytes) = timeline_bytes();
    let theirs: Vec<TimelineEntry> = (0..1000)
        .map(|i| TimelineEntry {
            id: uuid::Uuid::from_u128(10_000_000 + i as u128),
            incident: id.clone(),
            at: t0() + Duration::seconds(i as i64),
            author: "bob@other-box".into(),
            corrects: None,
            kind: kind(i + 4),
        })
        .collect();
    let mut group = c.benchmark_group("shared_merge_100k");
    group.sample_size(10);
    group.bench_function("merge_1000_new", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
                let store = sitrep::timeline::LocalStore::at(dir.path());
                store.adopt(&id).unwrap_or_else(|e| panic!("{e}"));
                std::fs::write(store.path_of(&id), &bytes).unwrap_or_else(|e| panic!("{e}"));
                (dir, store)
            },
            |(dir, store)| {
                let mut w = sitrep::timeline::TimelineWriter::open(&store, &id, sitrep::clock::Clock::Real, "ana@laptop")
                    .unwrap_or_else(|e| panic!("{e}"));
                black_box(w.merge(&theirs).map(|v| v.len()).unwrap_or(0));
                drop(dir);
            },
            criterion::BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, export, merge);
criterion_main!(benches);
