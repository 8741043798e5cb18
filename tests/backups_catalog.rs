//! The pane judged by the tools: the captured pgBackRest and Barman Cloud repositories go through
//! the collector's pure path, and the pane must say what `pgbackrest info` / the backup list say.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Duration, Utc};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use sitrep::catalog;
use sitrep::config::Thresholds;
use sitrep::model::*;
use sitrep::sources::backups::{FromCatalog, from_catalog, pick};
use sitrep::ui::ViewState;
use sitrep::ui::panes::PaneCtx;
use sitrep::ui::theme::Theme;

fn dir(tool: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/backups").join(tool)
}

fn json(tool: &str, file: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(dir(tool).join(file)).expect("fixture");
    serde_json::from_str(&text).expect("the tool's JSON")
}

/// The repository as the collector reads it: listing, detection, catalogue files, summary.
fn read(tool: &str) -> FromCatalog {
    let objects = catalog::parse_listing(&std::fs::read_to_string(dir(tool).join("keys.tsv")).expect("keys.tsv"));
    let d = pick(&objects, None, "").expect("a repository");
    let strip = format!("{tool}/");
    let fetched: BTreeMap<String, Vec<u8>> = d
        .catalog_keys(&objects)
        .into_iter()
        .filter_map(|k| std::fs::read(dir(tool).join(k.strip_prefix(&strip)?)).ok().map(|b| (k, b)))
        .collect();
    from_catalog(&d, &format!("auto found {} under \"{}\": {}", d.layout.name(), d.root, d.evidence), &objects, &fetched)
        .expect("an inventory")
}

/// Draws the Backups pane for a PITR estate (base backups and WAL kept, no dumps) at `now`.
fn frame(got: &FromCatalog, now: DateTime<Utc>) -> String {
    let snap = BackupsSnapshot {
        bucket: "sitrep-lab-backups".into(),
        items: got.items.clone(),
        wal_gaps: got.gaps.clone(),
        kinds: vec![BackupKind::BaseBackup, BackupKind::Wal],
        catalog: Some(Box::new(got.summary.clone())),
        ..BackupsSnapshot::default()
    };
    let mut model = Model::new(Duration::seconds(2));
    model.apply(Event::Observed { at: now, observation: Observation::Backups(snap.into()) });
    let (view, theme, t) = (ViewState::default(), Theme::mono(), Thresholds::default());
    let ctx = PaneCtx { model: &model, view: &view, theme: &theme, thresholds: &t, now, focused: false };
    let mut terminal = Terminal::new(TestBackend::new(110, 13)).expect("terminal");
    terminal.draw(|f| sitrep::ui::panes::backups::draw(f, f.area(), &ctx)).expect("draw");
    let buf = terminal.backend().buffer();
    (0..buf.area.height)
        .map(|y| (0..buf.area.width).map(|x| buf[(x, y)].symbol().to_string()).collect::<String>().trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn pgbackrest_the_pane_says_what_pgbackrest_info_says() {
    let info = json("pgbackrest", "info.json");
    let backups = info[0]["backup"].as_array().expect("backup list");
    let got = read("pgbackrest");
    assert_eq!(got.summary.layout, "pgbackrest");
    assert_eq!(got.summary.backup_count, backups.len());
    let last = &backups[backups.len() - 1];
    assert_eq!(got.summary.newest_label.as_deref(), last["label"].as_str());
    assert_eq!(got.summary.newest_type.as_deref(), last["type"].as_str());
    assert_eq!(got.summary.newest_stop.map(|t| t.timestamp()), last["timestamp"]["stop"].as_i64());
    assert_eq!(got.summary.newest_wal.as_deref(), info[0]["archive"][0]["max"].as_str());
    let now = got.summary.newest_wal_at.expect("WAL time") + Duration::seconds(60);
    let text = frame(&got, now);
    println!("{text}");
    assert!(text.contains("pgbackrest shop: 3 backup(s)"), "{text}");
    assert!(text.contains(last["label"].as_str().unwrap_or("?")), "{text}");
    assert!(!text.contains("MISSING"), "no dump is kept, so none is missing:\n{text}");
}

#[test]
fn barman_the_pane_says_what_barman_cloud_backup_list_says() {
    let list = json("barman", "backup-list.json");
    let backups = list["backups_list"].as_array().expect("backups_list");
    let got = read("barman");
    assert_eq!(got.summary.layout, "barman");
    assert_eq!(got.summary.backup_count, backups.len());
    let last = &backups[backups.len() - 1];
    assert_eq!(got.summary.newest_label.as_deref(), last["backup_id"].as_str());
    let now = got.summary.newest_wal_at.expect("WAL time") + Duration::seconds(60);
    let text = frame(&got, now);
    println!("{text}");
    assert!(text.contains("barman shop: 2 backup(s)"), "{text}");
    assert!(!text.contains("MISSING"), "{text}");
}
