//! wal-g repositories: `basebackups_005/<name>_backup_stop_sentinel.json` per backup (written
//! last, so its presence means the backup finished), `<name>/metadata.json`, and `wal_005/`.
//!
//! Sentinel fields are wal-g's own (`BackupSentinelDto`/`…V2`): LSN, FinishLSN, Timeline,
//! DeltaFrom, PgVersion, SystemIdentifier, UncompressedSize, CompressedSize, StartTime, FinishTime.
//! wal-g records no segment size; the caller's is used, else 16 MiB.

use std::collections::BTreeMap;

use serde_json::Value;

use super::wal::{WalArchive, WalName, classify};
use super::{Backup, BackupKind, CatalogError, DEFAULT_SEGMENT_SIZE, Inventory, Layout, Object, parse_time, under};

const SENTINEL: &str = "_backup_stop_sentinel.json";

/// `(layout, root, None, what)` when `key` is part of a wal-g repository.
pub(super) fn recognise(key: &str) -> Option<(Layout, String, Option<String>, String)> {
    let parts: Vec<&str> = key.split('/').collect();
    let n = parts.len();
    let hit = |i: usize| Some((Layout::WalG, parts[..i].iter().map(|p| format!("{p}/")).collect(), None, "wal-g".to_string()));
    for i in 0..n.saturating_sub(1) {
        if parts[i] == "basebackups_005" && n == i + 2 && parts[i + 1].starts_with("base_") && parts[i + 1].ends_with(SENTINEL) {
            return hit(i);
        }
        if parts[i] == "wal_005" && n == i + 2 && classify(parts[i + 1]).is_some() {
            return hit(i);
        }
    }
    None
}

/// Every sentinel and metadata.json of the listing.
pub fn catalog_keys(objects: &[Object], root: &str) -> Vec<String> {
    let base = format!("{root}basebackups_005/");
    under(objects, &base)
        .filter(|o| {
            let rest = &o.key[base.len()..];
            (rest.ends_with(SENTINEL) && !rest.contains('/')) || rest.split('/').nth(1) == Some("metadata.json")
        })
        .map(|o| o.key.clone())
        .collect()
}

/// The inventory of one wal-g prefix.
pub fn inventory(
    root: &str,
    objects: &[Object],
    fetched: &BTreeMap<String, Vec<u8>>,
    segment_size: Option<u64>,
) -> Result<Inventory, CatalogError> {
    let segment_size = segment_size.unwrap_or(DEFAULT_SEGMENT_SIZE);
    let base = format!("{root}basebackups_005/");
    let wals = format!("{root}wal_005/");
    let sentinels: Vec<&Object> =
        under(objects, &base).filter(|o| o.key[base.len()..].ends_with(SENTINEL) && !o.key[base.len()..].contains('/')).collect();
    if sentinels.is_empty() && under(objects, &wals).next().is_none() {
        return Err(CatalogError::Missing {
            key: format!("{base}*{SENTINEL}"),
            fix: "run `wal-g backup-push`, or check the [s3] prefix (WALG_S3_PREFIX)".into(),
        });
    }
    let mut warnings = vec![];
    let (mut system_id, mut pg_version) = (None, None);
    let mut backups = vec![];
    for object in sentinels {
        let name = object.key[base.len()..].trim_end_matches(SENTINEL).to_string();
        let Some(bytes) = fetched.get(&object.key) else {
            warnings.push(format!("{} could not be read", object.key));
            continue;
        };
        let sentinel: Value = match serde_json::from_slice(bytes) {
            Ok(v) => v,
            Err(e) => {
                warnings.push(format!("{}: not JSON ({e})", object.key));
                continue;
            }
        };
        let meta: Value =
            fetched.get(&format!("{base}{name}/metadata.json")).and_then(|b| serde_json::from_slice(b).ok()).unwrap_or(Value::Null);
        system_id = sentinel["SystemIdentifier"].as_u64().or(system_id);
        pg_version = sentinel["PgVersion"].as_u64().map(|v| (v / 10000).to_string()).or(pg_version);
        // wal-g names a backup after its start WAL: base_<WAL> or base_<WAL>_D_<WAL of its base>.
        let named = name.strip_prefix("base_").and_then(|r| WalName::parse(r.get(..24)?));
        let timeline = sentinel["Timeline"].as_u64().map(|t| t as u32).or(named.map(|w| w.timeline)).unwrap_or(1);
        let lsn_start = sentinel["LSN"].as_u64();
        let lsn_stop = sentinel["FinishLSN"].as_u64();
        let time = |v2: &str, meta_key: &str| sentinel[v2].as_str().or(meta[meta_key].as_str()).and_then(parse_time);
        let delta = sentinel["DeltaFrom"].as_str().map(String::from);
        let kind = if delta.is_some() || name.contains("_D_") { BackupKind::Delta } else { BackupKind::Full };
        let stored: u64 = under(objects, &format!("{base}{name}/")).map(|o| o.size).sum();
        backups.push(Backup {
            kind,
            start: time("StartTime", "start_time"),
            // No recorded finish: the sentinel's upload time is when the backup finished.
            stop: time("FinishTime", "finish_time").or(object.modified),
            wal_start: lsn_start.map(|l| WalName::from_lsn(timeline, l, segment_size)).or(named),
            wal_stop: lsn_stop.map(|l| WalName::from_lsn(timeline, l, segment_size)),
            lsn_start,
            lsn_stop,
            database_size: sentinel["UncompressedSize"].as_u64(),
            repository_size: sentinel["CompressedSize"].as_u64().filter(|s| *s > 0).or((stored > 0).then_some(stored)),
            prior: delta,
            ok: true,
            status: None,
            label: name,
        });
    }
    backups.sort_by(|a, b| (a.start, &a.label).cmp(&(b.start, &b.label)));
    let archive = WalArchive::build(under(objects, &wals).filter_map(|o| classify(&o.key[wals.len()..]).map(|f| (f, o))), segment_size);
    Ok(Inventory { layout: Layout::WalG, root: root.to_string(), name: None, system_id, pg_version, backups, archive, warnings })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;

    fn inv(objects: &[Object]) -> Inventory {
        let fetched = fixtures::fetch("walg", "", &catalog_keys(objects, ""));
        inventory("", objects, &fetched, None).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn sentinels_give_a_full_and_a_delta_with_their_wal_range_and_sizes() {
        let inv = inv(&fixtures::listing("walg"));
        let labels: Vec<(&str, &str)> = inv.backups.iter().map(|b| (b.label.as_str(), b.kind.name())).collect();
        assert_eq!(
            labels,
            [("base_000000010000000000000005", "full"), ("base_00000001000000000000000B_D_000000010000000000000005", "delta")]
        );
        let delta = &inv.backups[1];
        assert_eq!(delta.prior.as_deref(), Some("base_000000010000000000000005"));
        assert_eq!(delta.wal_start.map(|w| w.to_string()).as_deref(), Some("00000001000000000000000B"));
        assert_eq!(delta.wal_stop.map(|w| w.to_string()).as_deref(), Some("00000001000000000000000B"));
        assert_eq!((delta.database_size, delta.repository_size), (Some(20398346), Some(3237175)));
        assert_eq!(delta.stop.map(|t| t.to_rfc3339()).as_deref(), Some("2026-12-01T23:30:16.240331+00:00"));
        assert_eq!(inv.newest_backup().map(|b| b.label.as_str()), Some(delta.label.as_str()));
        assert_eq!(inv.archive.newest.map(|w| w.to_string()).as_deref(), Some("000000010000000000000011"));
        assert_eq!((inv.archive.segments, inv.archive.backup_labels), (17, 2));
        assert_eq!(inv.archive.newest_modified.map(|t| t.to_rfc3339()).as_deref(), Some("2026-12-01T23:37:00+00:00"));
        assert_eq!(inv.pg_version.as_deref(), Some("15"));
    }

    #[test]
    fn the_labs_own_imitation_is_read_too() {
        // What `sitrep lab` writes today: a sentinel without Timeline/DeltaFrom, WAL as .zst.
        let key = "basebackups_005/base_000000010000000000000003_backup_stop_sentinel.json";
        let objects = vec![Object::new(key, 300, None), Object::new("wal_005/000000010000000000000003.zst", 9, None)];
        let sentinel = r#"{"LSN":50331688,"FinishLSN":50331999,"PgVersion":150020,"StartTime":"2026-12-01T10:00:00Z",
            "FinishTime":"2026-12-01T10:00:05Z","UncompressedSize":1000,"CompressedSize":100,"IsPermanent":false}"#;
        let fetched = BTreeMap::from([(key.to_string(), sentinel.as_bytes().to_vec())]);
        let inv = inventory("", &objects, &fetched, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(inv.backups.len(), 1);
        assert_eq!(inv.backups[0].wal_start.map(|w| w.to_string()).as_deref(), Some("000000010000000000000003"));
        assert_eq!(inv.archive.newest.map(|w| w.to_string()).as_deref(), Some("000000010000000000000003"));
    }

    #[test]
    fn a_deleted_wal_shows_as_a_gap() {
        let objects: Vec<Object> =
            fixtures::listing("walg").into_iter().filter(|o| !o.key.starts_with("wal_005/00000001000000000000000C")).collect();
        let inv = inv(&objects);
        assert_eq!(inv.archive.gaps.len(), 1);
        assert_eq!(inv.archive.gaps[0].before.to_string(), "00000001000000000000000D");
    }
}
