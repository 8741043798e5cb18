//! The fuzz targets' bodies, in one place: `fuzz/` (cargo-fuzz, libFuzzer, nightly flags) calls
//! them with libFuzzer's inputs, and the test suite's short run (`tests/fuzz_short.rs`, stable
//! toolchain) calls them with seeded mutations of real files. Each body panics when a promise
//! breaks (a control character out of the sanitizer or the reader, sanitizing not idempotent),
//! so either driver reports the input that broke it.
//!
//! Not part of sitrep's interface; public only so that both drivers reach it.

/// A fuzz body: panics when the input breaks a promise.
pub type Body = fn(&[u8]);

/// The fuzz targets by name, as `fuzz/Cargo.toml` names its binaries.
pub const TARGETS: [(&str, Body); 6] = [
    ("recording_reader", recording_reader),
    ("config_parse", config_parse),
    ("runbook_spec", runbook_spec),
    ("backup_key", backup_key),
    ("backup_catalog", backup_catalog),
    ("sanitize", sanitize),
];

fn is_bidi(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{61c}')
}

/// A recording's decompressed JSON lines: read without a panic, and every string handed on
/// (header, problem text) free of terminal controls; the replay's `--info` of it must not panic.
pub fn recording_reader(data: &[u8]) {
    let path = std::path::Path::new("fuzz.sitrep");
    match crate::record::reader::read_decoded(path, std::io::Cursor::new(data)) {
        Ok(rec) => {
            let h = &rec.header;
            for text in [&h.banner, &h.sitrep, &h.timezone, &h.format].into_iter().chain(h.sources.iter()).chain(rec.problem.iter()) {
                assert!(!text.chars().any(char::is_control), "control char survived the reader: {text:?}");
            }
            let info = crate::replay::player::info(&rec);
            assert!(!info.chars().any(|c| (c.is_control() && c != '\n') || is_bidi(c)), "control char in --info: {info:?}");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

/// `sitrep.toml` text: always a Config and a list of problems, each of which renders.
pub fn config_parse(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (_config, problems) = crate::config::parse(std::path::Path::new("sitrep.toml"), text);
    for p in problems {
        let _ = p.to_string();
    }
}

/// An `actions/*.toml` runbook: a runbook or a list of problems, each of which renders.
pub fn runbook_spec(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let file = crate::data_files::DataFile { name: "fuzz".into(), path: "actions/fuzz.toml".into(), text: text.to_string() };
    match crate::runbook::spec::validate(&file) {
        Ok(runbook) => {
            let _ = runbook.mutates();
        }
        Err(problems) => {
            for p in problems {
                let _ = p.to_string();
            }
        }
    }
}

/// An S3 key (the first byte picks the backup kind): classified or skipped, and a classified key
/// is clean text; the key's time and the WAL gap finder take it without a panic.
pub fn backup_key(data: &[u8]) {
    use crate::model::backups::BackupKind;
    let Some((&which, rest)) = data.split_first() else { return };
    let Ok(key) = std::str::from_utf8(rest) else { return };
    let kind = BackupKind::ALL[usize::from(which) % BackupKind::ALL.len()];
    let modified = chrono::DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default();
    if let Some(item) = crate::backends::s3::classify(kind, key, modified, 1) {
        assert!(!item.key.chars().any(char::is_control), "control char in a classified key: {:?}", item.key);
    }
    let _ = crate::backends::s3::time_in_key(key);
    let _ = crate::backends::s3::wal_gaps(&[key, "000000010000000000000001"]);
}

/// A bucket as a backup tool left it: the input is a listing (`key<TAB>size<TAB>time` lines, as
/// `keys.tsv`), a NUL byte, then the bytes every catalogue object reads as (pgBackRest's
/// backup.info/archive.info, Barman's backup.info, wal-g's sentinels). Detection, the catalogue
/// keys and the inventory take any of it without a panic; a refusal renders.
pub fn backup_catalog(data: &[u8]) {
    use std::collections::BTreeMap;
    let (listing, catalogue) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let objects = crate::catalog::parse_listing(&String::from_utf8_lossy(listing));
    let keys: Vec<&str> = objects.iter().map(|o| o.key.as_str()).collect();
    let _ = crate::catalog::detect_layout(&keys);
    for found in crate::catalog::detect_all(&keys) {
        let fetched: BTreeMap<String, Vec<u8>> = found.catalog_keys(&objects).into_iter().map(|k| (k, catalogue.to_vec())).collect();
        match found.inventory(&objects, &fetched, None) {
            Ok(inventory) => {
                let _ = format!("{inventory:?}");
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
}

/// The sanitizer's promise: no control, ESC, C1 or bidi control survives; twice changes nothing;
/// the bound holds.
pub fn sanitize(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let one = crate::sanitize::sanitize(&text);
    assert!(!one.chars().any(|c| c.is_control() || is_bidi(c)), "sanitize left a control: {one:?}");
    assert_eq!(crate::sanitize::sanitize(&one), one, "sanitize is not idempotent");
    let lines = crate::sanitize::sanitize_lines(&text);
    assert!(!lines.chars().any(|c| (c.is_control() && c != '\n') || is_bidi(c)), "sanitize_lines left a control: {lines:?}");
    let bounded = crate::sanitize::sanitize_bounded(&text, 40);
    assert!(bounded.chars().count() <= 40, "sanitize_bounded(40) gave {} chars", bounded.chars().count());
}
