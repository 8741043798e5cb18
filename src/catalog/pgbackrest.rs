//! pgBackRest repositories: `backup/<stanza>/backup.info` and `archive/<stanza>/archive.info`
//! (INI with JSON values) plus the WAL under `archive/<stanza>/<version>-<db-id>/`.
//!
//! pgBackRest 2.45 records no WAL segment size in these files, so the caller's (the cluster's
//! `wal_segment_size`) is used, else 16 MiB. The current archive id comes from archive.info's
//! `[db]`, as `pgbackrest info` reports "wal archive min/max" for it.

use std::collections::BTreeMap;

use serde_json::Value;

use super::wal::{WalArchive, WalFile, WalName, classify, parse_lsn};
use super::{Backup, BackupKind, CatalogError, DEFAULT_SEGMENT_SIZE, Inventory, Layout, Object, under};

/// The sections of an INI file, each key's value parsed as JSON where it is JSON (pgBackRest
/// quotes strings and writes objects inline) and kept as a string otherwise.
pub fn parse_info(text: &str) -> BTreeMap<String, BTreeMap<String, Value>> {
    let mut sections: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = name.to_string();
            continue;
        }
        // Keys (backup labels, file paths) never hold '=', values (JSON) may.
        let Some((key, raw)) = line.split_once('=') else { continue };
        let value = serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()));
        sections.entry(current.clone()).or_default().insert(key.to_string(), value);
    }
    sections
}

/// `(layout, root, stanza, what)` when `key` is part of a pgBackRest repository.
pub(super) fn recognise(key: &str) -> Option<(Layout, String, Option<String>, String)> {
    let parts: Vec<&str> = key.split('/').collect();
    let n = parts.len();
    let hit = |i: usize| {
        let root: String = parts[..i].iter().map(|p| format!("{p}/")).collect();
        Some((Layout::PgBackRest, root, Some(parts[i + 1].to_string()), "pgBackRest".to_string()))
    };
    for i in 0..n.saturating_sub(2) {
        let (dir, file) = (parts[i], parts[n - 1]);
        if n == i + 3 && dir == "backup" && matches!(file, "backup.info" | "backup.info.copy") {
            return hit(i);
        }
        if n == i + 3 && dir == "archive" && matches!(file, "archive.info" | "archive.info.copy") {
            return hit(i);
        }
        if n == i + 4 && dir == "backup" && matches!(file, "backup.manifest" | "backup.manifest.copy") {
            return hit(i);
        }
        // archive/<stanza>/<version>-<id>/<16 hex>/<segment>-<sha1>[.ext]: the checksum is pgBackRest's mark.
        if n == i + 5
            && dir == "archive"
            && is_archive_id(parts[i + 2])
            && file.contains('-')
            && matches!(classify(file), Some(WalFile::Segment(_)))
        {
            return hit(i);
        }
    }
    None
}

fn is_archive_id(text: &str) -> bool {
    text.split_once('-').is_some_and(|(v, id)| !v.is_empty() && !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
}

/// The catalogue files to fetch: both info files and pgBackRest's own copies of them.
pub fn catalog_keys(root: &str, stanza: &str) -> Vec<String> {
    ["backup/{s}/backup.info", "backup/{s}/backup.info.copy", "archive/{s}/archive.info", "archive/{s}/archive.info.copy"]
        .iter()
        .map(|k| format!("{root}{}", k.replace("{s}", stanza)))
        .collect()
}

/// The inventory of one stanza.
pub fn inventory(
    root: &str,
    stanza: &str,
    objects: &[Object],
    fetched: &BTreeMap<String, Vec<u8>>,
    segment_size: Option<u64>,
) -> Result<Inventory, CatalogError> {
    let mut warnings = vec![];
    let backup_key = format!("{root}backup/{stanza}/backup.info");
    let backup_info = read_info(&backup_key, fetched, &mut warnings).ok_or_else(|| CatalogError::Missing {
        key: backup_key.clone(),
        fix: format!("create the stanza (`pgbackrest --stanza={stanza} stanza-create`) or check [s3] stanza and prefix"),
    })?;
    let archive_key = format!("{root}archive/{stanza}/archive.info");
    let archive_info = read_info(&archive_key, fetched, &mut warnings);
    if archive_info.is_none() {
        warnings.push(format!("{archive_key} is missing: WAL archive id taken from backup.info"));
    }

    let db = backup_info.get("db");
    let text = |v: Option<&Value>| v.map(|v| v.as_str().map(String::from).unwrap_or_else(|| v.to_string()));
    let system_id = db.and_then(|d| d.get("db-system-id")).and_then(Value::as_u64);
    let pg_version = text(db.and_then(|d| d.get("db-version")));
    let archive_db = archive_info.as_ref().and_then(|a| a.get("db")).or(db);
    let archive_id = match (text(archive_db.and_then(|d| d.get("db-version"))), archive_db.and_then(|d| d.get("db-id"))) {
        (Some(v), Some(id)) => Some(format!("{v}-{id}")),
        _ => None,
    };

    let mut backups: Vec<Backup> = backup_info
        .get("backup:current")
        .map(|current| current.iter().map(|(label, v)| backup(label, v, &mut warnings)).collect())
        .unwrap_or_default();
    backups.sort_by(|a, b| (a.start, &a.label).cmp(&(b.start, &b.label)));

    let segment_size = segment_size.unwrap_or(DEFAULT_SEGMENT_SIZE);
    let archive = match &archive_id {
        Some(id) => {
            let prefix = format!("{root}archive/{stanza}/{id}/");
            WalArchive::build(
                under(objects, &prefix).filter_map(|o| classify(o.key.rsplit('/').next().unwrap_or_default()).map(|f| (f, o))),
                segment_size,
            )
        }
        None => {
            warnings.push("no db-version/db-id in archive.info or backup.info: WAL archive not read".into());
            WalArchive { segment_size, ..WalArchive::default() }
        }
    };
    // A backup whose WAL start lies before the archive's oldest segment cannot be made consistent.
    if let (Some(oldest), Some(first)) = (archive.oldest, backups.iter().filter_map(|b| b.wal_start).min())
        && first.segno(segment_size) < oldest.segno(segment_size)
        && first.timeline == oldest.timeline
    {
        warnings.push(format!("the oldest backup needs WAL {first}, but the archive starts at {oldest}"));
    }
    Ok(Inventory {
        layout: Layout::PgBackRest,
        root: root.to_string(),
        name: Some(stanza.to_string()),
        system_id,
        pg_version,
        backups,
        archive,
        warnings,
    })
}

type Info = BTreeMap<String, BTreeMap<String, Value>>;

/// Reads KEY, or KEY.copy (pgBackRest writes both and falls back the same way).
fn read_info(key: &str, fetched: &BTreeMap<String, Vec<u8>>, warnings: &mut Vec<String>) -> Option<Info> {
    let parse = |k: &str| fetched.get(k).map(|b| parse_info(&String::from_utf8_lossy(b))).filter(|i| i.contains_key("backrest"));
    parse(key).or_else(|| {
        let copy = format!("{key}.copy");
        let info = parse(&copy);
        if info.is_some() {
            warnings.push(format!("{key} unreadable or missing; read {copy}"));
        }
        info
    })
}

fn backup(label: &str, v: &Value, warnings: &mut Vec<String>) -> Backup {
    let field = |name: &str| v.get(name);
    let kind = match field("backup-type").and_then(Value::as_str) {
        Some("full") => BackupKind::Full,
        Some("diff") => BackupKind::Diff,
        Some("incr") => BackupKind::Incr,
        other => {
            warnings.push(format!("backup {label}: unknown backup-type {other:?}; shown as full"));
            BackupKind::Full
        }
    };
    let time = |name: &str| field(name).and_then(Value::as_i64).and_then(|s| chrono::DateTime::from_timestamp(s, 0));
    let wal = |name: &str| field(name).and_then(Value::as_str).and_then(WalName::parse);
    let lsn = |name: &str| field(name).and_then(Value::as_str).and_then(parse_lsn);
    let size = |name: &str| field(name).and_then(Value::as_u64);
    Backup {
        label: label.to_string(),
        kind,
        start: time("backup-timestamp-start"),
        stop: time("backup-timestamp-stop"),
        wal_start: wal("backup-archive-start"),
        wal_stop: wal("backup-archive-stop"),
        lsn_start: lsn("backup-lsn-start"),
        lsn_stop: lsn("backup-lsn-stop"),
        database_size: size("backup-info-size"),
        repository_size: size("backup-info-repo-size"),
        prior: field("backup-prior").and_then(Value::as_str).map(String::from),
        // backup-error appeared in 2.36; older repositories only list finished backups.
        ok: !field("backup-error").and_then(Value::as_bool).unwrap_or(false),
        status: None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;

    fn real() -> Inventory {
        let objects = fixtures::listing("pgbackrest");
        let fetched = fixtures::fetch("pgbackrest", "pgbackrest/", &catalog_keys("pgbackrest/", "shop"));
        inventory("pgbackrest/", "shop", &objects, &fetched, None).unwrap_or_else(|e| panic!("{e}"))
    }

    /// What `pgbackrest info --output=json` printed for the same repository.
    fn tool() -> Value {
        serde_json::from_slice(&fixtures::read("pgbackrest", "info.json")).unwrap_or(Value::Null)
    }

    #[test]
    fn the_real_repository_matches_pgbackrest_info() {
        let inv = real();
        let stanza = &tool()[0];
        assert_eq!(stanza["status"]["message"], "ok");
        let theirs = stanza["backup"].as_array().cloned().unwrap_or_default();
        assert_eq!(inv.backups.len(), theirs.len());
        assert_eq!(inv.backups.len(), 3);
        for (ours, theirs) in inv.backups.iter().zip(&theirs) {
            assert_eq!(ours.label, theirs["label"]);
            assert_eq!(ours.kind.name(), theirs["type"]);
            assert_eq!(ours.start.map(|t| t.timestamp()), theirs["timestamp"]["start"].as_i64());
            assert_eq!(ours.stop.map(|t| t.timestamp()), theirs["timestamp"]["stop"].as_i64());
            assert_eq!(ours.wal_start.map(|w| w.to_string()).as_deref(), theirs["archive"]["start"].as_str());
            assert_eq!(ours.wal_stop.map(|w| w.to_string()).as_deref(), theirs["archive"]["stop"].as_str());
            assert_eq!(ours.database_size, theirs["info"]["size"].as_u64());
            assert_eq!(ours.repository_size, theirs["info"]["repository"]["size"].as_u64());
            assert_eq!(ours.prior.as_deref(), theirs["prior"].as_str());
            assert!(ours.ok);
        }
        let kinds: Vec<&str> = inv.backups.iter().map(|b| b.kind.name()).collect();
        assert_eq!(kinds, ["full", "diff", "incr"]);
        assert_eq!(inv.newest_backup().map(|b| b.label.as_str()), Some("20261201-232805F_20261201-233000I"));
        let archive = &stanza["archive"][0];
        assert_eq!(inv.archive.newest.map(|w| w.to_string()).as_deref(), archive["max"].as_str());
        assert_eq!(inv.archive.oldest.map(|w| w.to_string()).as_deref(), archive["min"].as_str());
        assert_eq!(inv.archive.segments, 17);
        assert!(inv.archive.gaps.is_empty(), "{:?}", inv.archive.gaps);
        assert_eq!(inv.archive.backup_labels, 5);
        assert_eq!(inv.system_id, Some(7714481033852619411));
        assert_eq!(inv.pg_version.as_deref(), Some("15"));
        assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
    }

    #[test]
    fn a_deleted_segment_is_a_gap_and_a_lost_backup_info_falls_back_to_its_copy() {
        let objects: Vec<Object> =
            fixtures::listing("pgbackrest").into_iter().filter(|o| !o.key.contains("/000000010000000000000009-")).collect();
        let mut fetched = fixtures::fetch("pgbackrest", "pgbackrest/", &catalog_keys("pgbackrest/", "shop"));
        let info = fetched.remove("pgbackrest/backup/shop/backup.info").unwrap_or_default();
        fetched.insert("pgbackrest/backup/shop/backup.info.copy".into(), info);
        let inv = inventory("pgbackrest/", "shop", &objects, &fetched, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(inv.backups.len(), 3);
        assert!(inv.warnings.iter().any(|w| w.contains("backup.info.copy")), "{:?}", inv.warnings);
        assert_eq!(inv.archive.gaps.len(), 1);
        assert_eq!(inv.archive.gaps[0].after.to_string(), "000000010000000000000008");
        assert_eq!(inv.archive.gaps[0].missing, 1);
    }

    #[test]
    fn without_backup_info_the_error_names_the_key_and_the_fix() {
        let err = inventory("pgbackrest/", "shop", &[], &BTreeMap::new(), None).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("pgbackrest/backup/shop/backup.info"), "{err}");
        assert!(err.contains("stanza-create"), "{err}");
    }

    #[test]
    fn the_info_parser_keeps_json_values_and_tolerates_junk() {
        let text = "[backrest]\nbackrest-format=5\n\n[db]\ndb-version=\"15\"\nbroken=not json\n[backup:current]\nL={\"a\":\"x=y\"}\n";
        let info = parse_info(text);
        assert_eq!(info["backrest"]["backrest-format"], 5);
        assert_eq!(info["db"]["db-version"], "15");
        assert_eq!(info["db"]["broken"], "not json");
        assert_eq!(info["backup:current"]["L"]["a"], "x=y");
    }
}
