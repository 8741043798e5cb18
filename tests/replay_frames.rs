//! The bundled recordings replay to the frames under tests/fixtures/replay-frames, rendered when
//! the recordings were made (`scripts/record-samples` runs `scripts/replay-frames`). A change to
//! how panes draw fails here until the frames are regenerated on purpose and their diff is read.

use std::path::{Path, PathBuf};
use std::process::Command;

const SIZES: [&str; 2] = ["80x24", "200x60"];
const MOMENTS: [&str; 5] = ["0s", "30s", "60s", "90s", "end"];

fn frame(recording: &Path, size: &str, at: &str, home: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_sitrep"))
        .args(["replay"])
        .arg(recording)
        .args(["--snapshot", "--ansi", "--size", size, "--at", at])
        .env("HOME", home)
        .env_remove("SITREP_CONFIG")
        .env_remove("NO_COLOR")
        .output()
        .expect("run sitrep replay");
    assert!(out.status.success(), "replay {} --at {at} failed: {}", recording.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The first differing line, with the escape codes shown, so a failure says where.
fn first_difference(want: &str, got: &str) -> String {
    for (i, (w, g)) in want.lines().zip(got.lines()).enumerate() {
        if w != g {
            return format!("line {}:\n  want {w:?}\n  got  {g:?}", i + 1);
        }
    }
    format!("line counts differ: want {}, got {}", want.lines().count(), got.lines().count())
}

#[test]
fn every_bundled_recording_replays_to_the_frames_it_gave_before() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let home = tempfile::tempdir().expect("temp home");
    let mut recordings: Vec<PathBuf> = std::fs::read_dir(root.join("recordings"))
        .expect("recordings/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sitrep"))
        .collect();
    recordings.sort();
    assert!(recordings.len() >= 5, "the bundled recordings are missing: {recordings:?}");
    let mut compared = 0;
    let mut differ = Vec::new();
    for rec in &recordings {
        let name = rec.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        for size in SIZES {
            for at in MOMENTS {
                let fixture = root.join(format!("tests/fixtures/replay-frames/{name}-{size}-{at}.txt"));
                let want = std::fs::read_to_string(&fixture).unwrap_or_else(|e| panic!("{}: {e}", fixture.display()));
                let got = frame(rec, size, at, home.path());
                compared += 1;
                if got != want {
                    differ.push(format!("{name} {size} at {at}: {}", first_difference(&want, &got)));
                }
            }
        }
    }
    assert_eq!(compared, recordings.len() * SIZES.len() * MOMENTS.len());
    assert!(differ.is_empty(), "{} of {compared} frames differ:\n{}", differ.len(), differ.join("\n"));
}
