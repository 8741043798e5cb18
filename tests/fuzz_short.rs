//! The fuzz targets' short run, on the stable toolchain: each body of `sitrep::fuzzing` (the same
//! code `fuzz/` hands to libFuzzer) gets its real seed files (recordings, runbooks, the example
//! config, the backup tools' own catalogues, hostile keys and text) and a fixed number of seeded
//! mutations of them: bytes flipped, terminal controls and quotes spliced in, ranges cut,
//! repeated or truncated, seeds crossed. Whatever `fuzz/corpus/TARGET/` holds from a long run is
//! replayed too. An input that panics a body is written to `target/fuzz-short/` and named.
//!
//! `SITREP_FUZZ_SEED` and `SITREP_FUZZ_ITERS` (per target; 5000 by default) change the run.
//! `SITREP_FUZZ_EXPORT=DIR` also writes each target's seeds to `DIR/TARGET/`: `scripts/fuzz` seeds
//! libFuzzer's corpus that way before the long run (10 minutes a target; docs/fuzzing.md).

use std::path::{Path, PathBuf};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: impl AsRef<Path>) -> Vec<u8> {
    let path = root().join(path);
    std::fs::read(&path).unwrap_or_else(|e| panic!("seed {} cannot be read: {e}", path.display()))
}

fn files(dir: &str, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == ext)).collect())
        .unwrap_or_default();
    out.sort();
    out
}

/// The first lines of every shipped recording, decompressed: a header and the records after it.
fn recording_seeds() -> Vec<Vec<u8>> {
    let found = files("recordings", "sitrep");
    assert!(!found.is_empty(), "no recordings/*.sitrep to seed the reader with");
    found
        .iter()
        .map(|p| {
            let bytes = zstd::decode_all(std::fs::File::open(p).expect("recording opens")).expect("shipped recording decompresses");
            let text = String::from_utf8_lossy(&bytes);
            text.lines().take(40).collect::<Vec<_>>().join("\n").into_bytes()
        })
        .collect()
}

fn catalogue_seed(dir: &str, catalogue: &str) -> Vec<u8> {
    let mut seed = read(format!("tests/fixtures/backups/{dir}/keys.tsv"));
    seed.push(0);
    seed.extend(read(format!("tests/fixtures/backups/{dir}/{catalogue}")));
    seed
}

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let hostile: Vec<Vec<u8>> =
        ["\x1b]0;owned\x07\x1b[2J\u{202e}gnp.exe", "plain text", "\u{9b}31m C1 CSI \u{85} NEL", "tab\there\r\nline\u{2066}isolate\u{2069}"]
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
    let mut out = match target {
        "recording_reader" => recording_seeds(),
        "config_parse" => vec![read("docs/sitrep.example.toml")],
        "runbook_spec" => files("actions", "toml").iter().map(read).collect(),
        "backup_key" => [
            (2u8, "dumps/shop-2026-11-29T03:00:00Z.dump"),
            (2, "dumps/shop-20261129T030000Z.sql.gz"),
            (1, "wal/000000010000000A000000FF"),
            (1, "wal_005/000000020000000000000003.lz4"),
            (0, "basebackups_005/base_000000010000000000000005_backup_stop_sentinel.json"),
            (3, "snapshots/shop-2026-11-29-03-00-00+01:00.snap"),
            (2, "dumps/\x1b[2Jevil-2026-11-29T03:00:00Z.dump"),
        ]
        .iter()
        .map(|(kind, key)| [vec![*kind], key.as_bytes().to_vec()].concat())
        .collect(),
        "backup_catalog" => vec![
            catalogue_seed("pgbackrest", "backup/shop/backup.info"),
            catalogue_seed("pgbackrest", "archive/shop/archive.info"),
            catalogue_seed("barman", "shop/base/20261201T233109/backup.info"),
            catalogue_seed("walg", "basebackups_005/base_000000010000000000000005_backup_stop_sentinel.json"),
        ],
        "sanitize" => hostile.clone(),
        other => panic!("no seeds for fuzz target {other}"),
    };
    if target != "sanitize" {
        out.extend(hostile);
    }
    // What a long libFuzzer run kept (fuzz/corpus/TARGET/), replayed as is and mutated.
    let mut corpus: Vec<PathBuf> = std::fs::read_dir(root().join("fuzz/corpus").join(target))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    corpus.sort();
    out.extend(corpus.iter().take(500).filter_map(|p| std::fs::read(p).ok()));
    out
}

/// Bytes that break parsers and terminals: controls, C1 and bidi controls as UTF-8, quotes,
/// brackets, separators, an invalid UTF-8 byte.
const SPLICES: &[&[u8]] = &[
    b"\x1b",
    b"\x1b[2J",
    b"\x07",
    b"\x00",
    b"\n",
    b"\r",
    b"\t",
    b"\"",
    b"'",
    b"\\",
    b"{",
    b"}",
    b"[",
    b"]",
    b"=",
    b":",
    b"/",
    b"\xc2\x9b",
    b"\xe2\x80\xae",
    b"\xef\xbb\xbf",
    b"\xff",
    b"99999999999999999999",
    b"-1",
];

fn mutate(rng: &mut StdRng, seed: &[u8], other: &[u8]) -> Vec<u8> {
    let mut data = seed.to_vec();
    for _ in 0..rng.random_range(1..=4) {
        let len = data.len();
        let at = if len == 0 { 0 } else { rng.random_range(0..=len) };
        match rng.random_range(0..7) {
            0 if len > 0 => {
                let i = rng.random_range(0..len);
                data[i] = rng.random();
            }
            1 => {
                let splice = SPLICES[rng.random_range(0..SPLICES.len())];
                data.splice(at..at, splice.iter().copied());
            }
            2 if len > 0 => {
                let end = (at + rng.random_range(1..=64)).min(len);
                data.drain(at.min(end)..end);
            }
            3 if len > 0 => {
                let end = (at + rng.random_range(1..=256)).min(len);
                let chunk = data[at.min(end)..end].to_vec();
                data.splice(at..at, chunk);
            }
            4 => data.truncate(at),
            5 if !other.is_empty() => {
                let from = rng.random_range(0..other.len());
                let end = (from + rng.random_range(1..=512)).min(other.len());
                data.splice(at..at, other[from..end].iter().copied());
            }
            _ => data.insert(at, rng.random()),
        }
    }
    data.truncate(64 * 1024);
    data
}

/// Runs `body` on every seed and on `iters` mutations; the first input that panics it, if any.
fn drive(body: fn(&[u8]), seeds: &[Vec<u8>], iters: usize, seed: u64) -> Result<usize, Vec<u8>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut runs = 0;
    let mut one = |input: &[u8]| {
        runs += 1;
        std::panic::catch_unwind(|| body(input)).map_err(|_| input.to_vec())
    };
    for s in seeds {
        one(s)?;
    }
    for _ in 0..iters {
        let seed = &seeds[rng.random_range(0..seeds.len())];
        let other = &seeds[rng.random_range(0..seeds.len())];
        let input = mutate(&mut rng, seed, other);
        one(&input)?;
    }
    Ok(runs)
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn short_run(target: &str) {
    let body =
        sitrep::fuzzing::TARGETS.iter().find(|(name, _)| *name == target).map(|(_, body)| *body).expect("a fuzz target by that name");
    let seed = env_num("SITREP_FUZZ_SEED", 0x5174_7265_7031);
    let iters = env_num("SITREP_FUZZ_ITERS", 5000) as usize;
    let seeds = seeds(target);
    if let Ok(dir) = std::env::var("SITREP_FUZZ_EXPORT") {
        let dir = PathBuf::from(dir).join(target);
        std::fs::create_dir_all(&dir).expect("the export directory can be made");
        for (i, s) in seeds.iter().enumerate() {
            std::fs::write(dir.join(format!("seed-{i:03}")), s).expect("a seed can be written");
        }
    }
    match drive(body, &seeds, iters, seed) {
        Ok(runs) => eprintln!("fuzz_short {target}: {runs} inputs, {} seeds, seed {seed:#x}", seeds.len()),
        Err(input) => {
            let dir = root().join("target/fuzz-short");
            let _ = std::fs::create_dir_all(&dir);
            let file = dir.join(format!("{target}-crash-{seed:x}"));
            let _ = std::fs::write(&file, &input);
            panic!(
                "fuzz target {target} broke on the input written to {} (SITREP_FUZZ_SEED={seed:#x}); reproduce with \
                 `cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run {target} {}`, then keep it as a unit test",
                file.display(),
                file.display()
            );
        }
    }
}

#[test]
fn every_fuzz_target_has_a_short_run_here_and_a_binary_in_fuzz() {
    let manifest = String::from_utf8_lossy(&read("fuzz/Cargo.toml")).into_owned();
    for (name, _) in sitrep::fuzzing::TARGETS {
        assert!(manifest.contains(&format!("name = \"{name}\"")), "fuzz/Cargo.toml has no binary {name}");
        let target = read(format!("fuzz/fuzz_targets/{name}.rs"));
        assert!(
            String::from_utf8_lossy(&target).contains(&format!("sitrep::fuzzing::{name}(data)")),
            "fuzz/fuzz_targets/{name}.rs does not call the shared body"
        );
        assert!(!seeds(name).is_empty());
    }
}

#[test]
fn the_driver_names_an_input_that_breaks_a_promise() {
    fn no_escape(data: &[u8]) {
        assert!(!data.contains(&0x1b), "an ESC got through");
    }
    let found = drive(no_escape, &[b"hello".to_vec()], 2000, 7).expect_err("ESC is among the splices; the driver must find it");
    assert!(found.contains(&0x1b), "the input it names is the one that broke the body: {found:?}");
}

#[test]
fn recording_reader() {
    short_run("recording_reader");
}

#[test]
fn config_parse() {
    short_run("config_parse");
}

#[test]
fn runbook_spec() {
    short_run("runbook_spec");
}

#[test]
fn backup_key() {
    short_run("backup_key");
}

#[test]
fn backup_catalog() {
    short_run("backup_catalog");
}

#[test]
fn sanitize() {
    short_run("sanitize");
}
