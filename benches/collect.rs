//! The collectors' own work at real sizes, without the network: a Pod turned into its row, one
//! pod event applied with 10,000 pods watched (and the rows handed on, as the collector does),
//! and 100,000 archived WAL keys classified and checked for gaps (layout "files", and a
//! pgBackRest archive read through its catalogue), plus a tail listing's page kept.
//! Figures go in the closing notes; nothing here is asserted.

use std::collections::BTreeMap;
use std::hint::black_box;

use chrono::{DateTime, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use k8s_openapi::api::core::v1::{Container, ContainerStatus, Pod, PodSpec, PodStatus};
use kube::api::ObjectMeta;
use kube::runtime::watcher::Event;
use sitrep::backends::{kube as kube_backend, s3};
use sitrep::catalog::keyset::{Entry, KeySet};
use sitrep::catalog::{Object, detect_layout};
use sitrep::model::BackupKind;
use sitrep::sources::kube::Rows;

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default()
}

fn pod(i: usize) -> Pod {
    let name = format!("service-{}-7d9c6b5f4-{i:05}", i % 300);
    Pod {
        metadata: ObjectMeta {
            namespace: Some(format!("ns-{}", i % 20)),
            name: Some(name.clone()),
            labels: Some(BTreeMap::from([("app".to_string(), format!("service-{}", i % 300))])),
            ..Default::default()
        },
        spec: Some(PodSpec {
            node_name: Some(format!("node-{}", i % 40)),
            containers: vec![Container { name: "app".into(), image: Some("registry/app:1.2.3".into()), ..Default::default() }],
            ..Default::default()
        }),
        status: Some(PodStatus {
            phase: Some("Running".into()),
            container_statuses: Some(vec![ContainerStatus {
                name: "app".into(),
                ready: !i.is_multiple_of(97),
                restart_count: (i % 13) as i32,
                image: "registry/app:1.2.3".into(),
                ..Default::default()
            }]),
            ..Default::default()
        }),
    }
}

fn kube(c: &mut Criterion) {
    let one = pod(4242);
    c.bench_function("pod_row: one Pod to its row", |b| b.iter(|| black_box(kube_backend::pod_row(black_box(&one)))));
    let all: Vec<String> = vec![];
    let mut rows = Rows::new(&all, kube_backend::pod_row);
    rows.apply(Event::Init);
    for i in 0..10_000 {
        rows.apply(Event::InitApply(pod(i)));
    }
    rows.apply(Event::InitDone);
    let mut n = 0usize;
    c.bench_function("pod event at 10,000 pods: apply and hand on the rows", |b| {
        b.iter(|| {
            n += 1;
            rows.apply(Event::Apply(pod(n % 10_000)));
            black_box(rows.rows().len())
        })
    });
}

/// `n` WAL segment names of timeline 1 (16 MiB segments), with one missing every 10,000.
fn segments(n: u64) -> impl Iterator<Item = String> {
    (0..n).filter(|i| i % 10_000 != 5_000).map(|i| format!("{:08X}{:08X}{:08X}", 1, i / 256, i % 256))
}

fn backups(c: &mut Criterion) {
    let files: Vec<String> = segments(100_000).map(|s| format!("wal_005/{s}.zst")).collect();
    c.bench_function("classify 100,000 WAL keys and find their gaps (files)", |b| {
        b.iter(|| {
            let items: Vec<_> = files.iter().filter_map(|k| s3::classify(BackupKind::Wal, k, t0(), 16 << 20)).collect();
            let keys: Vec<&str> = items.iter().map(|i| i.key.as_str()).collect();
            black_box(s3::wal_gaps(&keys).len())
        })
    });

    // A pgBackRest repository: its catalogue (from the test fixture) and a 100,000-segment archive.
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/backups/pgbackrest");
    let read = |rel: &str| std::fs::read(fixture.join(rel)).unwrap_or_default();
    let mut objects: Vec<Object> = vec![
        Object::new("pgbackrest/archive/shop/archive.info", 1, Some(t0())),
        Object::new("pgbackrest/backup/shop/backup.info", 1, Some(t0())),
    ];
    objects.extend(segments(100_000).map(|s| {
        Object::new(
            format!("pgbackrest/archive/shop/15-1/{}/{s}-0123456789abcdef0123456789abcdef01234567.gz", &s[..16]),
            1 << 20,
            Some(t0()),
        )
    }));
    let fetched = BTreeMap::from([
        ("pgbackrest/archive/shop/archive.info".to_string(), read("archive/shop/archive.info")),
        ("pgbackrest/backup/shop/backup.info".to_string(), read("backup/shop/backup.info")),
    ]);
    let keys: Vec<&str> = objects.iter().map(|o| o.key.as_str()).collect();
    let detection = detect_layout(&keys);
    c.bench_function("read a pgBackRest repository with 100,000 archived segments", |b| {
        b.iter(|| black_box(detection.inventory(&objects, &fetched, None).map(|i| i.archive.segments)))
    });

    let mut set = KeySet::listed("wal_005/", files.iter().map(|k| (k.clone(), Entry { size: 16 << 20, modified: t0() })), t0());
    let page: Vec<(String, Entry)> =
        files[files.len() - 500..].iter().map(|k| (k.clone(), Entry { size: 16 << 20, modified: t0() })).collect();
    c.bench_function("keep a tail page of 500 keys in a 100,000-key archive", |b| {
        b.iter(|| {
            let step = set.next_step(t0());
            set.page(&step, page.clone());
            black_box(set.len())
        })
    });
}

criterion_group!(benches, kube, backups);
criterion_main!(benches);
