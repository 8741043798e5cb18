//! Fuzzes the recording reader on decompressed JSON lines: it must never panic, and every string
//! it hands on (header and the problem text) is free of terminal controls.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::path::Path::new("fuzz.sitrep");
    match sitrep::record::reader::read_decoded(path, std::io::Cursor::new(data)) {
        Ok(rec) => {
            let h = &rec.header;
            for text in [&h.banner, &h.sitrep, &h.timezone, &h.format].into_iter().chain(h.sources.iter()).chain(rec.problem.iter()) {
                assert!(!text.chars().any(char::is_control), "control char survived the reader: {text:?}");
            }
            // The replay's own formatting of what was read must not panic either.
            let _ = sitrep::replay::player::info(&rec);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
