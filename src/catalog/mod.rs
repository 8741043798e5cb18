//! Backup catalogues as the real tools write them (pgBackRest, Barman Cloud, wal-g): bytes and key
//! listings in, a typed inventory out. Pure: no IO, no clock; the caller lists and fetches.
//!
//! How a caller uses it: list the objects under a prefix, [`detect_all`] (or [`detect_layout`]) to
//! learn which tool wrote them, fetch [`Detection::catalog_keys`], then [`Detection::inventory`].
//! Every string in an [`Inventory`] comes from the bucket: pass it through `crate::sanitize`
//! before it reaches the screen.

pub mod barman;
pub mod keyset;
pub mod pgbackrest;
mod wal;
pub mod walg;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

pub use wal::{DEFAULT_SEGMENT_SIZE, Gap, WalArchive, WalName, parse_lsn};

/// One object of a listing: the key, its size and when the store says it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub key: String,
    pub size: u64,
    pub modified: Option<DateTime<Utc>>,
}

impl Object {
    pub fn new(key: impl Into<String>, size: u64, modified: Option<DateTime<Utc>>) -> Object {
        Object { key: key.into(), size, modified }
    }
}

/// Reads a listing saved as `key<TAB>size<TAB>RFC 3339 time` lines (the fixtures' and the lab's
/// `keys.tsv`); a line without size or time keeps the key.
pub fn parse_listing(text: &str) -> Vec<Object> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let mut cols = line.split('\t');
            let key = cols.next().unwrap_or_default().to_string();
            let size = cols.next().and_then(|s| s.trim().parse().ok()).unwrap_or(0);
            let modified = cols.next().and_then(|t| DateTime::parse_from_rfc3339(t.trim()).ok()).map(|t| t.with_timezone(&Utc));
            Object { key, size, modified }
        })
        .collect()
}

/// Which tool's layout a prefix holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layout {
    WalG,
    PgBackRest,
    Barman,
    /// Plain files (e.g. pg_dump dumps): no catalogue this module knows.
    Files,
}

impl Layout {
    pub fn name(self) -> &'static str {
        match self {
            Layout::WalG => "wal-g",
            Layout::PgBackRest => "pgbackrest",
            Layout::Barman => "barman",
            Layout::Files => "files",
        }
    }

    /// The names of `[s3] layout = …` (and "auto").
    pub fn parse(text: &str) -> Option<Layout> {
        match text.trim().to_ascii_lowercase().as_str() {
            "wal-g" | "walg" => Some(Layout::WalG),
            "pgbackrest" => Some(Layout::PgBackRest),
            "barman" => Some(Layout::Barman),
            "files" => Some(Layout::Files),
            _ => None,
        }
    }
}

/// What detection found: the layout, where its repository starts in the listing, the stanza or
/// server name where the tool has one, and the evidence, for "auto found pgBackRest …" lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    pub layout: Layout,
    /// Key prefix of the repository ("" or ending in '/'), e.g. "pgbackrest/".
    pub root: String,
    /// pgBackRest's stanza or Barman's server name; None for wal-g and files.
    pub name: Option<String>,
    /// The keys (or kind of keys) that gave it away, in words.
    pub evidence: String,
}

/// Every repository the listing holds, pgBackRest stanzas and Barman servers each once, in key
/// order of their roots. Empty when nothing is recognised (see [`detect_layout`] for "files").
pub fn detect_all<S: AsRef<str>>(keys: &[S]) -> Vec<Detection> {
    let mut found: BTreeMap<(String, Option<String>, Layout), (usize, String)> = BTreeMap::new();
    for key in keys {
        let key = key.as_ref();
        let hit = pgbackrest::recognise(key).or_else(|| barman::recognise(key)).or_else(|| walg::recognise(key));
        if let Some((layout, root, name, what)) = hit {
            let entry = found.entry((root, name, layout)).or_insert((0, what));
            entry.0 += 1;
        }
    }
    found
        .into_iter()
        .map(|((root, name, layout), (count, what))| Detection {
            evidence: format!("{count} {what} key(s) under \"{root}\""),
            layout,
            root,
            name,
        })
        .collect()
}

/// The one layout of a listing: the repository with the most recognised keys, or `Files` with
/// the reason when no tool's catalogue is there.
pub fn detect_layout<S: AsRef<str>>(keys: &[S]) -> Detection {
    let all = detect_all(keys);
    let count = |d: &Detection| d.evidence.split(' ').next().and_then(|n| n.parse::<usize>().ok()).unwrap_or(0);
    match all.iter().max_by_key(|d| (count(d), std::cmp::Reverse(d.root.len()))) {
        Some(best) => {
            let mut best = best.clone();
            if all.len() > 1 {
                best.evidence = format!("{}; {} other repositories also present", best.evidence, all.len() - 1);
            }
            best
        }
        None => Detection {
            layout: Layout::Files,
            root: String::new(),
            name: None,
            evidence: format!(
                "{} key(s), none of them a pgBackRest backup.info/archive.info, a Barman base/ or wals/ tree or a wal-g basebackups_005/wal_005 key",
                keys.len()
            ),
        },
    }
}

impl Detection {
    /// Where the repository's WAL archive lies: an append-ordered stream (names only grow) that
    /// is most of its keys, so it is listed by its tail between full passes (`keyset::KeySet`).
    pub fn archive_prefix(&self) -> Option<String> {
        let (root, name) = (&self.root, self.name.as_deref().unwrap_or_default());
        match self.layout {
            Layout::PgBackRest => Some(format!("{root}archive/{name}/")),
            Layout::Barman => Some(format!("{root}{name}/wals/")),
            Layout::WalG => Some(format!("{root}wal_005/")),
            Layout::Files => None,
        }
    }

    /// The catalogue objects to fetch before [`Detection::inventory`] (from the same listing).
    pub fn catalog_keys(&self, objects: &[Object]) -> Vec<String> {
        match self.layout {
            Layout::PgBackRest => pgbackrest::catalog_keys(&self.root, self.name.as_deref().unwrap_or_default()),
            Layout::Barman => barman::catalog_keys(objects, &self.root, self.name.as_deref().unwrap_or_default()),
            Layout::WalG => walg::catalog_keys(objects, &self.root),
            Layout::Files => vec![],
        }
    }

    /// The inventory from the listing and the fetched catalogue objects (key -> bytes; a key that
    /// could not be fetched is simply absent). `segment_size` is the cluster's `wal_segment_size`
    /// when the caller knows it; otherwise the catalogue's, else 16 MiB.
    pub fn inventory(
        &self,
        objects: &[Object],
        fetched: &BTreeMap<String, Vec<u8>>,
        segment_size: Option<u64>,
    ) -> Result<Inventory, CatalogError> {
        let name = self.name.as_deref().unwrap_or_default();
        match self.layout {
            Layout::PgBackRest => pgbackrest::inventory(&self.root, name, objects, fetched, segment_size),
            Layout::Barman => barman::inventory(&self.root, name, objects, fetched, segment_size),
            Layout::WalG => walg::inventory(&self.root, objects, fetched, segment_size),
            Layout::Files => Err(CatalogError::NoCatalogue { root: self.root.clone() }),
        }
    }
}

/// Backup type as the tools name them: pgBackRest full/diff/incr, wal-g full/delta, Barman full
/// (incremental from Barman 3.11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BackupKind {
    Full,
    Diff,
    Incr,
    Delta,
}

impl BackupKind {
    pub fn name(self) -> &'static str {
        match self {
            BackupKind::Full => "full",
            BackupKind::Diff => "diff",
            BackupKind::Incr => "incr",
            BackupKind::Delta => "delta",
        }
    }
}

/// One base backup from a catalogue.
#[derive(Debug, Clone, PartialEq)]
pub struct Backup {
    /// The tool's own id: pgBackRest label, Barman backup id, wal-g backup name.
    pub label: String,
    pub kind: BackupKind,
    pub start: Option<DateTime<Utc>>,
    pub stop: Option<DateTime<Utc>>,
    pub wal_start: Option<WalName>,
    pub wal_stop: Option<WalName>,
    pub lsn_start: Option<u64>,
    pub lsn_stop: Option<u64>,
    /// Size of the cluster the backup copied (pgBackRest `backup-info-size`, wal-g UncompressedSize).
    pub database_size: Option<u64>,
    /// What the backup set occupies in the repository (pgBackRest `backup-info-repo-size`, the sum
    /// of Barman's base/ID objects, wal-g CompressedSize).
    pub repository_size: Option<u64>,
    /// The backup this one depends on (pgBackRest prior, wal-g DeltaFrom).
    pub prior: Option<String>,
    /// Whether the tool marks it good: pgBackRest `backup-error` false, Barman status DONE, wal-g a
    /// sentinel (it is written last).
    pub ok: bool,
    /// The tool's own status word where it has one (Barman DONE/FAILED/…).
    pub status: Option<String>,
}

/// Everything one repository says: its backups (oldest first), its WAL archive, the cluster it
/// belongs to and what could not be read.
#[derive(Debug, Clone, PartialEq)]
pub struct Inventory {
    pub layout: Layout,
    pub root: String,
    pub name: Option<String>,
    /// PostgreSQL's system identifier, when the catalogue records it.
    pub system_id: Option<u64>,
    /// PostgreSQL major version ("15"), when the catalogue records it.
    pub pg_version: Option<String>,
    pub backups: Vec<Backup>,
    pub archive: WalArchive,
    /// Things read but not understood, or catalogue files missing (for the pane's detail line).
    pub warnings: Vec<String>,
}

impl Inventory {
    /// The newest backup that the tool marks good.
    pub fn newest_backup(&self) -> Option<&Backup> {
        self.backups.iter().filter(|b| b.ok).max_by_key(|b| (b.stop.or(b.start), b.label.clone()))
    }
}

/// A catalogue that cannot be turned into an inventory.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CatalogError {
    #[error("{key} is missing from the listing; {fix}")]
    Missing { key: String, fix: String },
    #[error("cannot read {key}: {why}")]
    Unreadable { key: String, why: String },
    #[error("no tool catalogue under \"{root}\" (plain files); set [s3] layout to the tool that writes there")]
    NoCatalogue { root: String },
}

/// Parses a time as the tools write it: RFC 3339, "YYYY-MM-DD HH:MM:SS[.f]+ZZ:ZZ", or Unix seconds.
/// A time without a zone is refused: it cannot be placed on the timeline.
pub(crate) fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%#z"] {
        if let Ok(t) = DateTime::parse_from_str(text, fmt) {
            return Some(t.with_timezone(&Utc));
        }
    }
    text.parse::<i64>().ok().and_then(|s| DateTime::from_timestamp(s, 0))
}

/// The objects under `prefix`.
pub(crate) fn under<'a>(objects: &'a [Object], prefix: &'a str) -> impl Iterator<Item = &'a Object> + 'a {
    objects.iter().filter(move |o| o.key.starts_with(prefix))
}

#[cfg(test)]
pub(crate) mod fixtures {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use super::Object;

    pub fn dir(tool: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/backups").join(tool)
    }

    pub fn read(tool: &str, rel: &str) -> Vec<u8> {
        let path = dir(tool).join(rel);
        std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
    }

    pub fn listing(tool: &str) -> Vec<Object> {
        super::parse_listing(&String::from_utf8_lossy(&read(tool, "keys.tsv")))
    }

    /// Fetches `keys` from the fixture tree, which mirrors the bucket under `strip`.
    pub fn fetch(tool: &str, strip: &str, keys: &[String]) -> BTreeMap<String, Vec<u8>> {
        keys.iter()
            .filter_map(|k| {
                let rel = k.strip_prefix(strip)?;
                std::fs::read(dir(tool).join(rel)).ok().map(|b| (k.clone(), b))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(tool: &str) -> Vec<String> {
        fixtures::listing(tool).into_iter().map(|o| o.key).collect()
    }

    #[test]
    fn each_real_repository_is_recognised_with_its_stanza_or_server() {
        let d = detect_layout(&keys("pgbackrest"));
        assert_eq!((d.layout, d.root.as_str(), d.name.as_deref()), (Layout::PgBackRest, "pgbackrest/", Some("shop")));
        let d = detect_layout(&keys("barman"));
        assert_eq!((d.layout, d.root.as_str(), d.name.as_deref()), (Layout::Barman, "barman/", Some("shop")));
        let d = detect_layout(&keys("walg"));
        assert_eq!((d.layout, d.root.as_str(), d.name), (Layout::WalG, "", None));
    }

    #[test]
    fn a_bucket_with_several_tools_lists_each_and_plain_dumps_are_files() {
        let mut all = keys("pgbackrest");
        all.extend(keys("barman"));
        all.extend(keys("walg"));
        let found: Vec<(Layout, String)> = detect_all(&all).into_iter().map(|d| (d.layout, d.root)).collect();
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found.contains(&(Layout::Barman, "barman/".into())));
        let dumps = ["dumps/shop/shop_20240501T123000Z.dump", "dumps/shop/shop_20240501T133000Z.dump"];
        let d = detect_layout(&dumps[..]);
        assert_eq!(d.layout, Layout::Files);
        assert!(d.evidence.contains("2 key(s)"), "{}", d.evidence);
    }

    #[test]
    fn times_without_a_zone_are_refused() {
        assert!(parse_time("2026-12-01 23:30:26.640775+00:00").is_some());
        assert!(parse_time("2026-12-01T23:30:26Z").is_some());
        assert_eq!(parse_time("1796167685").map(|t| t.timestamp()), Some(1796167685));
        assert_eq!(parse_time("2026-12-01 23:30:26"), None);
    }
}
