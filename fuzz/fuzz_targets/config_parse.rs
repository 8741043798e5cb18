//! Fuzzes the sitrep.toml parser: any text gives a Config and a list of problems, never a panic.
//! The body (and what it asserts) is `sitrep::fuzzing::config_parse`, shared with the test suite's short run.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sitrep::fuzzing::config_parse(data));
