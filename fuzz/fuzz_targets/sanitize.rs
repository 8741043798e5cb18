//! Fuzzes the sanitizer's promise: no raw control byte, no ESC, no C1, no bidi control survives,
//! and sanitizing twice changes nothing.
//! The body (and what it asserts) is `sitrep::fuzzing::sanitize`, shared with the test suite's short run.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sitrep::fuzzing::sanitize(data));
