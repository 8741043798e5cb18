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
