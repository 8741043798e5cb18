//! Fuzzes the S3 backup key classifier: any key (control bytes, multi-byte text, odd lengths) is
//! classified or skipped without a panic, and a classified key is clean text.
//! The body (and what it asserts) is `sitrep::fuzzing::backup_key`, shared with the test suite's short run.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sitrep::fuzzing::backup_key(data));
