//! Barman Cloud repositories: `<server>/base/<backup id>/backup.info` (key=value, Python literals)
//! per backup and the WAL under `<server>/wals/<timeline+log>/`.
//!
//! Barman records `xlog_segment_size` in each backup.info; it is used when the caller does not
//! know the cluster's own. The repository size of a backup is the sum of its base/ID objects.

use std::collections::BTreeMap;

use super::wal::{WalArchive, WalName, classify, parse_lsn};
use super::{Backup, BackupKind, CatalogError, DEFAULT_SEGMENT_SIZE, Inventory, Layout, Object, parse_time, under};

/// A backup id as Barman makes them: `20261201T233026`.
fn is_backup_id(text: &str) -> bool {
    text.len() == 15 && text.as_bytes().get(8) == Some(&b'T') && text.bytes().enumerate().all(|(i, b)| i == 8 || b.is_ascii_digit())
}

/// `(layout, root, server, what)` when `key` is part of a Barman Cloud repository.
pub(super) fn recognise(key: &str) -> Option<(Layout, String, Option<String>, String)> {
    let parts: Vec<&str> = key.split('/').collect();
    let n = parts.len();
    let hit = |i: usize| {
        let root: String = parts[..i - 1].iter().map(|p| format!("{p}/")).collect();
        Some((Layout::Barman, root, Some(parts[i - 1].to_string()), "Barman".to_string()))
    };
    for i in 1..n.saturating_sub(1) {
        if parts[i] == "base" && n == i + 3 && is_backup_id(parts[i + 1]) && parts[i + 2] == "backup.info" {
            return hit(i);
        }
        let hashed = n == i + 3 && parts[i + 1].len() == 16 && parts[i + 1].bytes().all(|b| b.is_ascii_hexdigit());
        if parts[i] == "wals" && (hashed || n == i + 2) && classify(parts[n - 1]).is_some() {
            return hit(i);
        }
    }
    None
}

/// The backup.info of every backup the listing shows.
pub fn catalog_keys(objects: &[Object], root: &str, server: &str) -> Vec<String> {
    let base = format!("{root}{server}/base/");
    under(objects, &base)
        .filter(|o| o.key.strip_prefix(&base).and_then(|r| r.split_once('/')).is_some_and(|(id, f)| is_backup_id(id) && f == "backup.info"))
        .map(|o| o.key.clone())
        .collect()
}

/// backup.info as Barman writes it: `key=value`, values Python literals (`None`, `'text'`, numbers).
pub fn parse_backup_info(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(_, v)| *v != "None")
        .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('\'').to_string()))
        .collect()
}

/// The inventory of one Barman server.
pub fn inventory(
    root: &str,
    server: &str,
    objects: &[Object],
    fetched: &BTreeMap<String, Vec<u8>>,
    segment_size: Option<u64>,
) -> Result<Inventory, CatalogError> {
    let mut warnings = vec![];
    let mut infos = vec![];
    for key in catalog_keys(objects, root, server) {
        match fetched.get(&key) {
            Some(bytes) => infos.push((key, parse_backup_info(&String::from_utf8_lossy(bytes)))),
            None => warnings.push(format!("{key} could not be read")),
        }
    }
    let wals = format!("{root}{server}/wals/");
    if infos.is_empty() && under(objects, &wals).next().is_none() {
        return Err(CatalogError::Missing {
            key: format!("{root}{server}/base/"),
            fix: format!("run barman-cloud-backup for server `{server}`, or check [s3] server_name and prefix"),
        });
    }
    let mut backups = vec![];
    let (mut system_id, mut pg_version, mut catalogue_segment) = (None, None, None);
    for (key, info) in &infos {
        let id = key.rsplit('/').nth(1).unwrap_or_default().to_string();
        let get = |k: &str| info.get(k).map(String::as_str);
        system_id = get("systemid").and_then(|s| s.parse().ok()).or(system_id);
        pg_version = get("version").and_then(|v| v.parse::<u32>().ok()).map(|v| (v / 10000).to_string()).or(pg_version);
        catalogue_segment = get("xlog_segment_size").and_then(|s| s.parse().ok()).or(catalogue_segment);
        let kind = match get("backup_type") {
            Some("incremental") => BackupKind::Incr,
            _ => BackupKind::Full,
        };
        let repo: u64 = under(objects, &format!("{root}{server}/base/{id}/")).map(|o| o.size).sum();
        let status = get("status").map(String::from);
        backups.push(Backup {
            label: id,
            kind,
            start: get("begin_time").and_then(parse_time),
            stop: get("end_time").and_then(parse_time),
            wal_start: get("begin_wal").and_then(WalName::parse),
            wal_stop: get("end_wal").and_then(WalName::parse),
            lsn_start: get("begin_xlog").and_then(parse_lsn),
            lsn_stop: get("end_xlog").and_then(parse_lsn),
            database_size: get("size").and_then(|s| s.parse().ok()),
            repository_size: Some(repo),
            prior: get("parent_backup_id").map(String::from),
            ok: status.as_deref() == Some("DONE"),
            status,
        });
    }
    backups.sort_by(|a, b| (a.start, &a.label).cmp(&(b.start, &b.label)));
    let segment_size = segment_size.or(catalogue_segment).unwrap_or(DEFAULT_SEGMENT_SIZE);
    let archive = WalArchive::build(
        under(objects, &wals).filter_map(|o| classify(o.key.rsplit('/').next().unwrap_or_default()).map(|f| (f, o))),
        segment_size,
    );
    Ok(Inventory {
        layout: Layout::Barman,
        root: root.to_string(),
        name: Some(server.to_string()),
        system_id,
        pg_version,
        backups,
        archive,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;

    fn real() -> Inventory {
        let objects = fixtures::listing("barman");
        let fetched = fixtures::fetch("barman", "barman/", &catalog_keys(&objects, "barman/", "shop"));
        inventory("barman/", "shop", &objects, &fetched, None).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_real_repository_matches_barman_cloud_backup_list() {
        let inv = real();
        let list: serde_json::Value = serde_json::from_slice(&fixtures::read("barman", "backup-list.json")).unwrap_or_default();
        let theirs = list["backups_list"].as_array().cloned().unwrap_or_default();
        assert_eq!(inv.backups.len(), theirs.len());
        assert_eq!(inv.backups.len(), 2);
        for (ours, theirs) in inv.backups.iter().zip(&theirs) {
            assert_eq!(ours.label, theirs["backup_id"]);
            assert_eq!(ours.status.as_deref(), theirs["status"].as_str());
            assert_eq!(ours.wal_start.map(|w| w.to_string()).as_deref(), theirs["begin_wal"].as_str());
            assert_eq!(ours.wal_stop.map(|w| w.to_string()).as_deref(), theirs["end_wal"].as_str());
            assert_eq!(ours.lsn_start, theirs["begin_xlog"].as_str().and_then(parse_lsn));
            assert_eq!(ours.kind, BackupKind::Full);
            assert!(ours.ok && ours.repository_size.unwrap_or(0) > 1_000_000);
        }
        assert_eq!(inv.newest_backup().map(|b| b.label.as_str()), Some("20261201T233109"));
        assert_eq!(inv.newest_backup().and_then(|b| b.stop).map(|t| t.to_rfc3339()).as_deref(), Some("2026-12-01T23:32:28.034292+00:00"));
        // pg_stat_archiver.last_archived_wal of the same cluster (tests/fixtures/backups/pg_stat_archiver.txt).
        assert_eq!(inv.archive.newest.map(|w| w.to_string()).as_deref(), Some("000000010000000000000011"));
        assert_eq!((inv.archive.segments, inv.archive.backup_labels), (17, 5));
        assert_eq!(inv.archive.segment_size, 16 * 1024 * 1024);
        assert!(inv.archive.gaps.is_empty());
        assert_eq!((inv.system_id, inv.pg_version.as_deref()), (Some(7714481033852619411), Some("15")));
    }

    #[test]
    fn a_failed_backup_is_listed_but_not_newest() {
        let objects = fixtures::listing("barman");
        let mut fetched = fixtures::fetch("barman", "barman/", &catalog_keys(&objects, "barman/", "shop"));
        let key = "barman/shop/base/20261201T233109/backup.info".to_string();
        let text = String::from_utf8_lossy(&fetched[&key]).replace("status=DONE", "status=FAILED");
        fetched.insert(key, text.into_bytes());
        let inv = inventory("barman/", "shop", &objects, &fetched, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(inv.backups.len(), 2);
        assert_eq!(inv.newest_backup().map(|b| b.label.as_str()), Some("20261201T233026"));
    }
}
