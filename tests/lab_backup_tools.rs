//! Real pgBackRest and Barman Cloud in a lab, over TLS to its S3: the catalog module's inventory of
//! each repository says what the tools themselves say (`pgbackrest info`, `barman-cloud-backup-list`),
//! and `pg-archive-broken` stops the real tools' archiving too.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;
use sitrep::catalog::{Detection, Layout, Object, detect_all};
use sitrep::lab::backup_tools::{self, BARMAN_PREFIX, PGBACKREST_PREFIX};
use sitrep::lab::{Lab, LabOptions};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime")
}

/// Every object of the lab's bucket with its size and time.
async fn listing(s3: &aws_sdk_s3::Client, bucket: &str) -> Vec<Object> {
    let mut out = vec![];
    let mut pages = s3.list_objects_v2().bucket(bucket).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.expect("list the lab bucket");
        for o in page.contents() {
            let modified = o.last_modified().and_then(|t| chrono::DateTime::from_timestamp(t.secs(), 0));
            out.push(Object::new(o.key().unwrap_or_default(), o.size().unwrap_or(0) as u64, modified));
        }
    }
    out
}

async fn fetch(s3: &aws_sdk_s3::Client, bucket: &str, keys: &[String]) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for key in keys {
        if let Ok(obj) = s3.get_object().bucket(bucket).key(key).send().await
            && let Ok(body) = obj.body.collect().await
        {
            out.insert(key.clone(), body.into_bytes().to_vec());
        }
    }
    out
}

fn tool_json(lab: &Lab, action: &str) -> Value {
    let text = backup_tools::request(&lab.info, action).unwrap_or_else(|e| panic!("backup-tools {action}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("backup-tools {action} printed no JSON ({e}): {text}"))
}

fn find(found: &[Detection], layout: Layout, root: &str) -> Detection {
    found.iter().find(|d| d.layout == layout && d.root == root).cloned().unwrap_or_else(|| panic!("no {layout:?} at {root} in {found:?}"))
}

#[test]
fn real_pgbackrest_and_barman_repositories_read_as_the_tools_report_them() {
    let lab = Lab::up(LabOptions { dir: None, scenario: None, owner_pid: Some(std::process::id()) }).expect("lab up");
    let started = Instant::now();
    let setup = backup_tools::request(&lab.info, "setup").unwrap_or_else(|e| panic!("backup-tools setup: {e}"));
    eprintln!("setup in {:.0}s: {setup}", started.elapsed().as_secs_f64());
    for action in ["diff", "incr", "barman"] {
        let detail = backup_tools::request(&lab.info, action).unwrap_or_else(|e| panic!("backup-tools {action}: {e}"));
        eprintln!("{action}: {detail}");
    }
    let info = tool_json(&lab, "pgbackrest-info");
    let barman = tool_json(&lab, "barman-list");
    let rt = runtime();
    let s3 = sitrep::lab::s3::lab_client(&lab.info).expect("the lab S3 client");
    let bucket = lab.info.s3.bucket.clone();
    let objects = rt.block_on(listing(&s3, &bucket));
    let keys: Vec<&str> = objects.iter().map(|o| o.key.as_str()).collect();
    let found = detect_all(keys.as_slice());

    // pgBackRest: status ok, full+diff+incr, same labels, same newest WAL.
    let stanza = &info[0];
    assert_eq!(stanza["status"]["code"], 0, "{stanza}");
    let pgb = find(&found, Layout::PgBackRest, PGBACKREST_PREFIX);
    let inv = pgb.inventory(&objects, &rt.block_on(fetch(&s3, &bucket, &pgb.catalog_keys(&objects))), None).expect("pgBackRest inventory");
    let theirs: Vec<(String, String)> = stanza["backup"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| (b["label"].as_str().unwrap_or_default().to_string(), b["type"].as_str().unwrap_or_default().to_string()))
        .collect();
    let ours: Vec<(String, String)> = inv.backups.iter().map(|b| (b.label.clone(), b.kind.name().to_string())).collect();
    assert_eq!(ours, theirs);
    assert_eq!(ours.iter().map(|(_, k)| k.as_str()).collect::<Vec<_>>(), ["full", "diff", "incr"]);
    let archive = stanza["archive"].as_array().and_then(|a| a.last()).cloned().unwrap_or_default();
    let newest = inv.archive.newest.map(|w| w.to_string());
    // Archiving goes on while we read; our listing came after `info`, so it may be one ahead.
    assert!(newest.as_deref() >= archive["max"].as_str(), "ours {newest:?}, pgbackrest {}", archive["max"]);
    assert!(inv.archive.gaps.is_empty(), "{:?}", inv.archive.gaps);

    // Barman Cloud: two backups (setup + barman), same ids and begin WAL.
    let bar = find(&found, Layout::Barman, BARMAN_PREFIX);
    let binv = bar.inventory(&objects, &rt.block_on(fetch(&s3, &bucket, &bar.catalog_keys(&objects))), None).expect("Barman inventory");
    let theirs: Vec<(String, String)> = barman["backups_list"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| (b["backup_id"].as_str().unwrap_or_default().to_string(), b["begin_wal"].as_str().unwrap_or_default().to_string()))
        .collect();
    let ours: Vec<(String, String)> =
        binv.backups.iter().map(|b| (b.label.clone(), b.wal_start.map(|w| w.to_string()).unwrap_or_default())).collect();
    assert_eq!(ours, theirs);
    assert_eq!(ours.len(), 2);
    assert!(binv.archive.newest.is_some());

    // The wal-g imitation still archives beside them.
    assert!(found.iter().any(|d| d.layout == Layout::WalG), "{found:?}");

    // sitrep's own collector with pgBackRest as [s3] and Barman as a [[backups]] table beside it:
    // each source read and judged on its own, as each tool reports itself.
    let s3i = &lab.info.s3;
    let access = format!(
        "bucket = \"{}\"\nregion = \"{}\"\nendpoint = \"{}\"\nprofile = \"{}\"\ncredentials_file = \"{}\"\n\
         force_path_style = true\nca_file = \"{}\"\nkinds = [\"base\", \"wal\"]\n",
        s3i.bucket,
        s3i.region,
        s3i.endpoint,
        s3i.profile,
        s3i.credentials_file.display(),
        lab.info.redis.logins.ca_file.display()
    );
    let text = format!(
        "[general]\ntimeout_secs = 20\n\n[s3]\n{access}layout = \"pgbackrest\"\nrepo_prefix = \"{PGBACKREST_PREFIX}\"\n\n\
         [[backups]]\nname = \"barman\"\n{access}layout = \"barman\"\nrepo_prefix = \"{BARMAN_PREFIX}\"\n"
    );
    let file = lab.info.dir.join("two-tools.toml");
    std::fs::write(&file, &text).expect("write two-tools.toml");
    assert!(sitrep::check::run(Some(&file), &sitrep::config::Env::default()).is_empty(), "two tools' sources pass check:\n{text}");
    let config = sitrep::config::resolve(Some(&file), &sitrep::config::Env::default(), &sitrep::config::Overrides::default())
        .expect("resolve two-tools.toml");
    let mut collector = sitrep::sources::backups::Collector::new(&config, std::time::Duration::from_secs(20));
    let all = rt.block_on(collector.read()).expect("both sources read");
    // The next reading lists each archive by its tail only, and finds the same catalogues.
    let again = rt.block_on(collector.read()).expect("both sources read again");
    for (a, b) in all.sources.iter().zip(&again.sources) {
        let (a_cat, b_cat) = (a.catalog.as_deref(), b.catalog.as_deref());
        assert_eq!(a_cat.map(|c| c.backup_count), b_cat.map(|c| c.backup_count), "{}", a.source);
        assert!(b_cat.map(|c| c.wal_count) >= a_cat.map(|c| c.wal_count), "{}: the archive only grows", a.source);
        assert!(b.wal_gaps.is_empty() && b.requests.is_some(), "{b:?}");
        eprintln!("{}: {:?} then {:?} S3 requests", a.source, a.requests, b.requests);
    }
    let summaries: Vec<(String, String, usize)> = all
        .sources
        .iter()
        .map(|s| {
            assert_eq!(s.error, None, "{}", s.source);
            let c = s.catalog.as_deref().unwrap_or_else(|| panic!("{}: no catalogue", s.source));
            (s.source.clone(), c.layout.clone(), c.backup_count)
        })
        .collect();
    let theirs_pgb = stanza["backup"].as_array().map_or(0, Vec::len);
    let theirs_barman = barman["backups_list"].as_array().map_or(0, Vec::len);
    assert_eq!(
        summaries,
        [("s3".to_string(), "pgbackrest".to_string(), theirs_pgb), ("barman".to_string(), "barman".to_string(), theirs_barman)]
    );
    let newest_pgb = stanza["backup"].as_array().and_then(|b| b.last()).map(|b| b["label"].as_str().unwrap_or_default().to_string());
    assert_eq!(all.sources[0].catalog.as_deref().and_then(|c| c.newest_label.clone()), newest_pgb);
    let t = sitrep::model::verdict::Thresholds { rpo_secs: 3600, ..Default::default() };
    for s in &all.sources {
        assert_eq!(sitrep::model::verdict::backup_source(&t, s, chrono::Utc::now()), sitrep::model::verdict::Level::Ok, "{s:?}");
    }

    // Breaking archiving breaks the real tools' archiving: nothing new reaches pgBackRest.
    let count = |objects: &[Object]| objects.iter().filter(|o| o.key.starts_with("pgbackrest/archive/shop/15-1/0000")).count();
    lab.fault("pg-archive-broken").expect("pg-archive-broken");
    let before = count(&rt.block_on(listing(&s3, &bucket)));
    std::thread::sleep(Duration::from_secs(8));
    assert_eq!(count(&rt.block_on(listing(&s3, &bucket))), before, "pgBackRest kept receiving WAL while archiving was broken");
    lab.fault("heal").expect("heal");
    let deadline = Instant::now() + Duration::from_secs(120);
    while count(&rt.block_on(listing(&s3, &bucket))) <= before {
        assert!(Instant::now() < deadline, "pgBackRest received no WAL within 120s of heal");
        std::thread::sleep(Duration::from_secs(2));
    }
    lab.down().expect("lab down");
}
