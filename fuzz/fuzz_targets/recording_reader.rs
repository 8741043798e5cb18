//! Fuzzes the recording reader on decompressed JSON lines: it must never panic, and every string
//! it hands on (header and the problem text) is free of terminal controls.
//! The body (and what it asserts) is `sitrep::fuzzing::recording_reader`, shared with the test suite's short run.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sitrep::fuzzing::recording_reader(data));
