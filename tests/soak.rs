//! The chaos soak in the suite: a fresh lab, the real console headless on it, a fixed seed's
//! faults and hostile input for about three minutes, and the oracle asking the real systems.
//! It must find no lie, and it must have injected faults and made checks (so it cannot pass by
//! doing nothing). This binary has its own lab: it breaks things.

use sitrep::lab::soak::{SoakOptions, run};

#[test]
fn a_three_minute_soak_finds_every_fault_and_no_pane_that_lies() {
    let out = tempfile::tempdir().expect("tempdir");
    let opts = SoakOptions { minutes: 3, seed: Some(15), report: Some(out.path().join("soak.json")), dir: None };
    let report = run(&opts).expect("the soak runs");
    let text = report.text();
    let applied = report.faults.iter().filter(|f| !f.applied.starts_with("NOT APPLIED")).count();
    assert!(applied >= 2, "at least two faults applied:\n{text}");
    assert!(report.faults.iter().any(|f| f.detected_after_secs.is_some()), "a fault reached the timeline:\n{text}");
    let fresh_checks: u64 = report.checks.iter().filter(|(k, _)| k.starts_with("fresh-is-true")).map(|(_, v)| v).sum();
    assert!(fresh_checks >= 100, "the oracle judged {fresh_checks} fresh claims:\n{text}");
    for invariant in ["frame has no raw control characters", "keys are answered", "every fault is detected", "no entry flaps"] {
        assert!(report.checks.get(invariant).copied().unwrap_or(0) > 0, "`{invariant}` was never checked:\n{text}");
    }
    let hostile = report.faults.iter().filter(|f| f.name.starts_with("hostile-") && !f.applied.starts_with("NOT APPLIED")).count();
    assert_eq!(hostile, 2, "the hostile S3 key and kube event were put in place:\n{text}");
    assert!(report.checks.get("hostile input never blinds a pane").copied().unwrap_or(0) > 0, "{text}");
    assert!(report.violations.is_empty(), "the soak found violations:\n{text}");
    assert!(out.path().join("soak.txt").is_file(), "the text report is written beside the JSON");
}
