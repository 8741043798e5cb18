//! Liveness in tests without timing asserts: run the work on its own thread and wait for it to end
//! up to a generous deadline, so a hang fails with a name instead of hanging the suite.
//! Included with `#[path = "support/deadline.rs"] mod deadline;` by the test binaries that need it.
#![allow(dead_code)] // each test binary uses a part of it

use std::sync::mpsc::{RecvTimeoutError, channel};
use std::time::Duration;

/// `work`'s result if it ends within `limit`, or None if it is still running then (it keeps running
/// on its thread; the caller stops what it started and fails). A panic in `work` is re-raised here.
pub fn finishes_within<T: Send + 'static>(limit: Duration, work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (tx, rx) = channel();
    let worker = std::thread::spawn(move || {
        let _ = tx.send(work());
    });
    match rx.recv_timeout(limit) {
        Ok(v) => Some(v),
        Err(RecvTimeoutError::Timeout) => None,
        Err(RecvTimeoutError::Disconnected) => match worker.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the worker sends before it ends without panicking"),
        },
    }
}
