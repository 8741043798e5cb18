//! Fuzzes the runbook parser (`actions/*.toml`): any text is a runbook or a list of problems.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let file = sitrep::data_files::DataFile { name: "fuzz".into(), path: "actions/fuzz.toml".into(), text: text.to_string() };
    match sitrep::runbook::spec::validate(&file) {
        Ok(runbook) => {
            let _ = runbook.mutates();
        }
        Err(problems) => {
            for p in problems {
                let _ = p.to_string();
            }
        }
    }
});
