//! Shared by the test binaries that only read a lab: one lab per test binary, started on first
//! use; it stops by itself when the test process exits (the lab watches the owner pid).

use sitrep::lab::{Lab, LabOptions};
use std::sync::OnceLock;
use std::time::Instant;

static LAB: OnceLock<Result<Lab, String>> = OnceLock::new();

/// This test binary's lab.
pub fn shared_lab() -> &'static Lab {
    let lab = LAB.get_or_init(|| {
        let started = Instant::now();
        let lab = Lab::up(LabOptions { dir: None, scenario: None, owner_pid: Some(std::process::id()) });
        eprintln!("lab up took {:.1}s", started.elapsed().as_secs_f64());
        lab.map_err(|e| e.to_string())
    });
    match lab {
        Ok(lab) => lab,
        Err(e) => panic!("the shared lab did not start: {e}"),
    }
}

/// A session on a lab member as every lab client opens one: sitrep's one connect (TLS checked
/// against the lab CA, the password from the lab's pgpass file).
#[allow(dead_code)] // not every binary sharing this module runs SQL
pub async fn sql(dsn: &str) -> tokio_postgres::Client {
    let connected = sitrep::backends::postgres::connect(dsn, std::time::Duration::from_secs(5)).await;
    connected.unwrap_or_else(|e| panic!("connect {dsn}: {e}")).client
}

/// Every `action` entry of the open incident in `config`'s data dir: (runbook, step, outcome).
#[allow(dead_code)] // tests/lab.rs shares this module and reads no timeline
pub fn actions(config: &sitrep::config::Config) -> Vec<(String, String, String)> {
    use sitrep::timeline::entry::EntryKind;
    let store = sitrep::timeline::store::LocalStore::from_config(config).expect("store");
    let id = store.current().expect("current").expect("an open incident");
    store
        .read(&id)
        .expect("read timeline")
        .entries
        .into_iter()
        .filter_map(|e| match e.kind {
            EntryKind::Action { runbook, step, outcome } => Some((runbook, step, outcome)),
            _ => None,
        })
        .collect()
}

/// For PITR tests: runs `before` on `dsn`, takes the server's time, runs `after`, switches WAL and
/// waits until the segment holding both is archived; answers the time between them.
#[allow(dead_code)] // only the PITR test binaries use it
pub async fn archived_around_a_target(dsn: &str, before: &str, after: &str) -> chrono::DateTime<chrono::Utc> {
    use std::time::Duration;
    let client = sql(dsn).await;
    client.batch_execute(before).await.expect("the row before the target");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let target: chrono::DateTime<chrono::Utc> = client.query_one("SELECT now()", &[]).await.expect("now").get(0);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    client.batch_execute(after).await.expect("the row after the target");
    let segment: String = client.query_one("SELECT pg_walfile_name(pg_switch_wal())", &[]).await.expect("switch WAL").get(0);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let archived: Option<String> =
            client.query_one("SELECT last_archived_wal FROM pg_stat_archiver", &[]).await.expect("archiver").get(0);
        if archived.is_some_and(|a| a[8..] >= segment[8..]) {
            break;
        }
        assert!(Instant::now() < deadline, "segment {segment} was never archived");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    target
}
