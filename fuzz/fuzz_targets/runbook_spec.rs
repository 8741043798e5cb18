//! Fuzzes the runbook parser (`actions/*.toml`): any text is a runbook or a list of problems.
//! The body (and what it asserts) is `sitrep::fuzzing::runbook_spec`, shared with the test suite's short run.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sitrep::fuzzing::runbook_spec(data));
