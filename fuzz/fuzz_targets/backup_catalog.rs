//! Fuzzes the backup catalogue readers (pgBackRest, Barman Cloud, wal-g): any listing and any
//! catalogue bytes give an inventory or a refusal, never a panic.
//! The body (and what it asserts) is `sitrep::fuzzing::backup_catalog`, shared with the test suite's short run.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sitrep::fuzzing::backup_catalog(data));
