//! The bundled recordings are what today's detector would say: each one is replayed through a
//! fresh Model and Detector, and the findings they give must be the findings the recording holds,
//! in the same order. A sample recorded before a detector change fails here until it is
//! regenerated with `scripts/record-samples`, so `scripts/demo --replay` never shows behaviour the
//! console no longer has.

use sitrep::detect::Detector;
use sitrep::model::verdict::Thresholds;
use sitrep::model::{EntryClass, Event, Model};
use sitrep::record::format::Record;
use sitrep::timeline::EntryKind;
use std::path::PathBuf;

fn bundled() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("recordings");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sitrep"))
        .collect();
    found.sort();
    found
}

/// (offset ms, text) of every finding: what the recording holds, and what the detector says now.
type Findings = Vec<(u64, String)>;

fn held_and_redetected(path: &std::path::Path) -> (Findings, Findings) {
    let rec = sitrep::record::reader::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(rec.problem.is_none(), "{}: {:?}", path.display(), rec.problem);
    // The samples are recorded against the lab, whose sitrep.toml keeps the default thresholds
    // (rpo_secs = 300 is the default) and refresh_secs = 1.
    let mut model = Model::new(chrono::Duration::seconds(1));
    let mut detector = Detector::new(&Thresholds::default());
    let (mut held, mut now) = (Vec::new(), Vec::new());
    for record in &rec.records {
        let Record::Event { t, event } = record else { continue };
        match event {
            Event::TimelineAppended { line } if line.kind == EntryClass::Detected => held.push((*t, line.text.clone())),
            Event::TimelineAppended { .. } | Event::TimelineLoaded { .. } => {}
            ev => {
                let observed = matches!(ev, Event::Observed { .. } | Event::SourceFailed { .. } | Event::SourceAlive { .. });
                model.apply(ev.clone());
                if observed {
                    now.extend(detector.observe(&model).iter().map(|d| (*t, EntryKind::from(d).describe())));
                }
            }
        }
    }
    (held, now)
}

#[test]
fn every_bundled_recording_holds_what_todays_detector_finds() {
    let paths = bundled();
    assert!(paths.len() >= 5, "expected the five sample incidents in recordings/, found {paths:?}");
    let mut stale = Vec::new();
    for path in &paths {
        let (held, now) = held_and_redetected(path);
        assert!(!held.is_empty(), "{} holds no finding at all: a sample incident must show one", path.display());
        let texts = |f: &Findings| f.iter().map(|(_, s)| s.clone()).collect::<Vec<_>>();
        if texts(&held) != texts(&now) {
            stale.push(format!(
                "{}:\n  recorded:\n    {}\n  detector now:\n    {}",
                path.display(),
                held.iter().map(|(t, s)| format!("{:>6.1}s {s}", *t as f64 / 1000.0)).collect::<Vec<_>>().join("\n    "),
                now.iter().map(|(t, s)| format!("{:>6.1}s {s}", *t as f64 / 1000.0)).collect::<Vec<_>>().join("\n    "),
            ));
        }
    }
    assert!(stale.is_empty(), "stale sample recordings; regenerate them with scripts/record-samples:\n{}", stale.join("\n"));
}
