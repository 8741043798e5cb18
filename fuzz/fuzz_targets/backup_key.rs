//! Fuzzes the S3 backup key classifier: any key (control bytes, multi-byte text, odd lengths) is
//! classified or skipped without a panic, and a classified key is clean text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sitrep::model::backups::BackupKind;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else { return };
    let Ok(key) = std::str::from_utf8(rest) else { return };
    let kind = BackupKind::ALL[usize::from(which) % BackupKind::ALL.len()];
    let modified = chrono::DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default();
    if let Some(item) = sitrep::backends::s3::classify(kind, key, modified, 1) {
        assert!(!item.key.chars().any(char::is_control), "control char in a classified key: {:?}", item.key);
    }
    let _ = sitrep::backends::s3::time_in_key(key);
    let _ = sitrep::backends::s3::wal_gaps(&[key, "000000010000000000000001"]);
});
