//! Fuzzes the sitrep.toml parser: any text gives a Config and a list of problems, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (_config, problems) = sitrep::config::parse(std::path::Path::new("sitrep.toml"), text);
    for p in problems {
        let _ = p.to_string();
    }
});
