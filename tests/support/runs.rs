//! The runs a console's wizard asks to start, kept by the test that answers for the runner:
//! nothing touches an estate. Shared by the UI tests that drive the wizard by keys.

use sitrep::app::{Console, RunRequest};

/// The runs the wizard asked to start, in order: the test answers for the runner.
pub type Started = std::sync::Arc<std::sync::Mutex<Vec<RunRequest>>>;

/// The console starts runs through the test: each request is kept, nothing touches an estate.
pub fn keep_runs(c: &mut Console) -> Started {
    let started = Started::default();
    let kept = started.clone();
    c.set_run_starter(Box::new(move |run| {
        kept.lock().map_err(|e| e.to_string())?.push(run);
        Ok(())
    }));
    started
}

/// A run request as the test compares it: runbook, params, typed text (None: the dry run).
pub type Asked = (String, Vec<(String, String)>, Option<String>);

pub fn requests(started: &Started) -> Vec<Asked> {
    let runs = started.lock().map(|r| r.clone()).unwrap_or_default();
    runs.into_iter().map(|r| (r.name, r.params.into_iter().collect(), r.typed)).collect()
}
