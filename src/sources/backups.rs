//! Backup inventory collector: reads every backup source side by side; lists each one's S3 prefixes (standard AWS chain, profiles,
//! AWS_ENDPOINT_URL, `[s3] ca_file`/AWS_CA_BUNDLE), reads a tool's own catalogue (pgBackRest, Barman Cloud, wal-g) when set.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::Collect;
use crate::backends::BackendError;
use crate::backends::s3::{self as backend};
use crate::catalog::keyset::KeySet;
use crate::catalog::{self, Detection, Inventory, Layout, WalName};
use crate::config::{Config, S3Source};
use crate::model::backups::{CatalogSummary, Total};
use crate::model::{BackupItem, BackupKind, BackupSources, BackupsSnapshot, Observation};
use crate::sanitize::clean;

/// How many of the newest base backups the snapshot carries (the summary counts them all).
pub const NEWEST_ITEMS: usize = 5;

/// One backup source: its settings, its client once made, and its last good reading.
struct Part {
    name: String,
    cfg: S3Source,
    client: Option<aws_sdk_s3::Client>,
    last: Option<BackupsSnapshot>,
    listings: Listings,
}

impl Part {
    /// `deadline`: this source's own, when it shares the reading with others (a sole source has
    /// the reading's, as every collector does).
    async fn read(&mut self, deadline: Option<Duration>) -> Result<BackupsSnapshot, BackendError> {
        let target = || format!("backup source `{}` (s3://{})", clean(&self.name), clean(&self.cfg.bucket));
        let read = async {
            if self.client.is_none() {
                self.client = Some(backend::client(self.cfg.access()).await?);
            }
            let Some(client) = self.client.as_ref() else { return Err(BackendError::unexpected("S3", "no client")) };
            collect_with(client, &self.cfg, &mut self.listings, chrono::Utc::now()).await
        };
        let Some(timeout) = deadline else {
            let mut snap = read.await?;
            snap.source.clone_from(&self.name);
            return Ok(snap);
        };
        let mut snap = match tokio::time::timeout(timeout, read).await {
            Ok(r) => r?,
            // A first listing of a big archive may take several readings: it goes on where it
            // stopped, and says how far it got.
            Err(_) => match self.listings.progress() {
                Some((prefix, keys)) => {
                    return Err(BackendError::Unexpected {
                        target: format!("listing s3://{}/{} for the first time", clean(&self.cfg.bucket), clean(&prefix)),
                        detail: format!("{keys} keys so far after {:.1}s; it goes on at the next reading", timeout.as_secs_f64()),
                    });
                }
                None => return Err(BackendError::timeout(target(), timeout)),
            },
        };
        snap.source.clone_from(&self.name);
        Ok(snap)
    }
}

/// Every configured backup source (`[s3]` and each `[[backups]]` table), read side by side,
/// each within the timeout, so a slow or failing one never hides the others.
pub struct Collector {
    parts: Vec<Part>,
    timeout: Duration,
}

impl Collector {
    pub fn new(config: &Config, timeout: Duration) -> Self {
        let parts = config
            .backup_sources()
            .into_iter()
            .map(|b| Part { name: b.name.to_string(), cfg: b.cfg.clone(), client: None, last: None, listings: Listings::default() })
            .collect();
        Collector { parts, timeout }
    }

    /// One reading of every source. A source that fails while others answer keeps its last good
    /// items with its error beside them (they age on screen, judged as they are); when every one
    /// fails, the reading fails with each one's reason.
    pub async fn read(&mut self) -> Result<BackupSources, BackendError> {
        // Of several, each source gets most of the reading's time, so the slow one is named
        // before the whole reading runs out.
        let deadline = (self.parts.len() > 1).then(|| self.timeout.mul_f64(0.9));
        let results = futures::future::join_all(self.parts.iter_mut().map(|p| p.read(deadline))).await;
        if results.iter().all(Result::is_err) {
            let mut errors: Vec<(String, BackendError)> =
                self.parts.iter().zip(results).filter_map(|(p, r)| r.err().map(|e| (p.name.clone(), e))).collect();
            return Err(match errors.len() {
                0 => BackendError::BadSetting {
                    input: "the backup sources".into(),
                    detail: "none is configured".into(),
                    fix: "set [s3] bucket, or add a [[backups]] table".into(),
                },
                1 => errors.remove(0).1,
                _ => BackendError::NoneAnswered {
                    what: "no backup source answered".into(),
                    reasons: errors.into_iter().map(|(name, e)| format!("{}: {e}", clean(&name))).collect(),
                    fix: "see each source's reason".into(),
                },
            });
        }
        let mut sources = Vec::with_capacity(self.parts.len());
        for (part, result) in self.parts.iter_mut().zip(results) {
            sources.push(match result {
                Ok(snap) => {
                    part.last = Some(snap.clone());
                    snap
                }
                Err(e) => {
                    let mut last = part.last.clone().unwrap_or_else(|| BackupsSnapshot {
                        source: part.name.clone(),
                        bucket: clean(&part.cfg.bucket),
                        kinds: part.cfg.kept_kinds(),
                        ..BackupsSnapshot::default()
                    });
                    last.error = Some(clean(&e.to_string()));
                    last
                }
            });
        }
        Ok(BackupSources { sources })
    }
}

impl Collect for Collector {
    async fn collect(&mut self) -> Result<Observation, BackendError> {
        self.read().await.map(Observation::Backups)
    }
}

/// What one source keeps between readings: the keys of its WAL archive (an append-ordered stream,
/// most of a repository's keys), so a reading lists only its tail; and, until a repository's
/// first full listing is done, that listing's progress.
#[derive(Debug, Default)]
pub struct Listings {
    /// Layout "files": the WAL prefix.
    wal: Option<KeySet>,
    /// A catalogued layout: the repository's prefixes, listed whole, until the layout is found.
    first: Vec<KeySet>,
    /// A catalogued layout, once found: its WAL archive.
    archive: Option<KeySet>,
}

impl Listings {
    /// A first listing still under way: its prefix and keys so far.
    pub fn progress(&self) -> Option<(String, usize)> {
        self.wal.iter().chain(&self.first).chain(&self.archive).find_map(|k| Some((k.prefix.clone(), k.in_progress()?)))
    }
}

/// How many of each kind's newest items an observation carries (totals count them all).
pub const KEEP_PER_KIND: usize = 20;

/// The whole inventory as `[s3]` describes it, listed from scratch (a one-shot reading).
pub async fn collect(s3: &aws_sdk_s3::Client, cfg: &S3Source) -> Result<BackupsSnapshot, BackendError> {
    collect_with(s3, cfg, &mut Listings::default(), chrono::Utc::now()).await
}

/// The whole inventory as `[s3]` describes it: base backups and WAL from the tool's catalogue
/// (or the per-kind prefixes for layout "files"), dumps and snapshots from their prefixes. The
/// WAL archive's keys are kept in `state` between readings; the snapshot carries each kind's
/// newest few items and totals, not the whole listing.
pub async fn collect_with(
    s3: &aws_sdk_s3::Client,
    cfg: &S3Source,
    state: &mut Listings,
    now: DateTime<Utc>,
) -> Result<BackupsSnapshot, BackendError> {
    let catalogued = cfg.uses_catalog() && (cfg.keeps(BackupKind::BaseBackup) || cfg.keeps(BackupKind::Wal));
    let plain: Vec<(BackupKind, &str)> =
        cfg.prefixes().into_iter().filter(|(k, _)| !(catalogued && matches!(k, BackupKind::BaseBackup | BackupKind::Wal))).collect();
    let wal = plain.iter().find(|(k, _)| *k == BackupKind::Wal).map(|(_, p)| *p);
    if let Some(prefix) = wal
        && state.wal.as_ref().is_none_or(|k| k.prefix != prefix)
    {
        state.wal = Some(KeySet::new(prefix));
    }
    let mut snap = backend::inventory_with(s3, &cfg.bucket, &plain, state.wal.as_mut(), now).await?;
    let mut requests = snap.requests.unwrap_or(0);
    snap.kinds = cfg.kept_kinds();
    if catalogued {
        let (detection, inv, made) = repository_with(s3, cfg, state, now).await?;
        requests += made;
        let FromCatalog { items, gaps, summary, totals } = summarise(&inv, &found_words(cfg, &detection));
        snap.items.extend(items);
        snap.totals.extend(totals);
        snap.wal_gaps = gaps;
        snap.catalog = Some(Box::new(summary));
    }
    snap.keep_newest(KEEP_PER_KIND);
    snap.requests = Some(requests);
    Ok(snap)
}

/// The configured repository (layout, stanza or server name) and its inventory, read from the
/// tool's own catalogue: the collector's reading, also used by the PITR runbook to pick a backup.
pub async fn repository(s3: &aws_sdk_s3::Client, cfg: &S3Source) -> Result<(Detection, Inventory), BackendError> {
    repository_with(s3, cfg, &mut Listings::default(), chrono::Utc::now()).await.map(|(d, inv, _)| (d, inv))
}

async fn repository_with(
    s3: &aws_sdk_s3::Client,
    cfg: &S3Source,
    state: &mut Listings,
    now: DateTime<Utc>,
) -> Result<(Detection, Inventory, u64), BackendError> {
    let (objects, detection, mut requests) = detect(s3, cfg, state, now).await?;
    let mut fetched = BTreeMap::new();
    for key in detection.catalog_keys(&objects) {
        requests += 1;
        // A catalogue file that cannot be read is left out; the inventory names what is missing.
        if let Ok(bytes) = backend::get(s3, &cfg.bucket, &key).await {
            fetched.insert(key, bytes);
        }
    }
    let inv = detection.inventory(&objects, &fetched, None).map_err(|e| {
        BackendError::unexpected(
            format!("reading the catalogue under s3://{}/{}", cfg.bucket, clean(&detection.root)),
            clean(&e.to_string()),
        )
    })?;
    Ok((detection, inv, requests))
}

fn objects_of(set: &KeySet) -> impl Iterator<Item = catalog::Object> + '_ {
    set.iter().map(|(key, e)| catalog::Object::new(key.clone(), e.size, Some(e.modified)))
}

/// Lists the repository and finds the layout in it (the configured one, or any for "auto"). The
/// first time every prefix is listed whole (going on over several readings if it must); once the
/// layout is found its WAL archive is kept in `state` and read by its tail, the rest listed whole.
async fn detect(
    s3: &aws_sdk_s3::Client,
    cfg: &S3Source,
    state: &mut Listings,
    now: DateTime<Utc>,
) -> Result<(Vec<catalog::Object>, Detection, u64), BackendError> {
    let prefixes: Vec<&str> = if cfg.repo_prefix.is_empty() {
        vec![cfg.basebackups_prefix.as_str(), cfg.wal_prefix.as_str()]
    } else {
        vec![cfg.repo_prefix.as_str()]
    };
    let mut objects = Vec::new();
    let mut requests = 0;
    match state.archive.as_mut() {
        Some(archive) => {
            for prefix in &prefixes {
                if archive.prefix == *prefix {
                    continue;
                }
                let (listed, made) = if archive.prefix.starts_with(prefix) {
                    backend::list_except(s3, &cfg.bucket, prefix, &archive.prefix).await?
                } else {
                    backend::list_counted(s3, &cfg.bucket, prefix, None).await?
                };
                requests += made;
                objects.extend(listed.into_iter().map(|o| catalog::Object::new(o.key, o.size, Some(o.modified))));
            }
            requests += backend::refresh_keys(s3, &cfg.bucket, archive, now).await?;
            objects.extend(objects_of(archive));
        }
        None => {
            if state.first.iter().map(|k| k.prefix.as_str()).ne(prefixes.iter().copied()) {
                state.first = prefixes.iter().map(|p| KeySet::new(*p)).collect();
            }
            for set in &mut state.first {
                if !set.ready() {
                    requests += backend::refresh_keys(s3, &cfg.bucket, set, now).await?;
                }
            }
            objects.extend(state.first.iter().flat_map(objects_of));
        }
    }
    objects.sort_by(|a, b| a.key.cmp(&b.key));
    let wanted = Layout::parse(&cfg.layout);
    let name = match wanted {
        Some(Layout::PgBackRest) => cfg.stanza.as_str(),
        Some(Layout::Barman) => cfg.server_name.as_str(),
        _ => "",
    };
    let found = pick(&objects, wanted, name);
    // The first listing is done: from now on the archive is read by its tail.
    let first = std::mem::take(&mut state.first);
    if state.archive.is_none()
        && let Some(d) = &found
        && let Some(prefix) = d.archive_prefix()
        && prefixes.iter().any(|p| prefix.starts_with(p))
    {
        let keys: Vec<_> =
            first.iter().flat_map(|k| k.iter()).filter(|(k, _)| k.starts_with(&prefix)).map(|(k, e)| (k.clone(), *e)).collect();
        state.archive = Some(KeySet::listed(prefix, keys, now));
    }
    match found {
        Some(d) => Ok((objects, d, requests)),
        None => Err({
            let keys: Vec<&str> = objects.iter().map(|o| o.key.as_str()).collect();
            BackendError::BadSetting {
                input: format!(
                    "[s3] layout = \"{}\" under s3://{}/{}",
                    clean(&cfg.layout),
                    clean(&cfg.bucket),
                    clean(prefixes.join(", ").as_str())
                ),
                detail: clean(&format!("no such repository there: {}", catalog::detect_layout(&keys).evidence)),
                fix: "set [s3] repo_prefix to where the tool writes, and layout/stanza/server_name to what it is".into(),
            }
        }),
    }
}

/// The repository of `wanted` layout (any for None) and `name` ("" = any), the one with most keys.
pub fn pick(objects: &[catalog::Object], wanted: Option<Layout>, name: &str) -> Option<Detection> {
    let keys: Vec<&str> = objects.iter().map(|o| o.key.as_str()).collect();
    if wanted.is_none() {
        return Some(catalog::detect_layout(&keys)).filter(|d| d.layout != Layout::Files);
    }
    let count = |d: &Detection| d.evidence.split(' ').next().and_then(|n| n.parse::<usize>().ok()).unwrap_or(0);
    catalog::detect_all(&keys)
        .into_iter()
        .filter(|d| Some(d.layout) == wanted && (name.is_empty() || d.name.as_deref() == Some(name)))
        .max_by_key(count)
}

fn found_words(cfg: &S3Source, d: &Detection) -> String {
    let how = if cfg.layout.trim() == "auto" { "auto found" } else { "configured" };
    format!("{how} {} under \"{}\": {}", d.layout.name(), d.root, d.evidence)
}

/// What a catalogue adds to the snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct FromCatalog {
    pub items: Vec<BackupItem>,
    pub gaps: Vec<(String, String)>,
    pub summary: CatalogSummary,
    /// Count and bytes of the good base backups (all of them, not only the items carried) and
    /// the archived segments.
    pub totals: Vec<(BackupKind, Total)>,
}

/// The pure half: a detected repository, its listing and fetched catalogue files as the
/// snapshot's items (the newest few base backups, the newest WAL), WAL gaps and summary.
pub fn from_catalog(
    detection: &Detection,
    found: &str,
    objects: &[catalog::Object],
    fetched: &BTreeMap<String, Vec<u8>>,
) -> Result<FromCatalog, catalog::CatalogError> {
    let inv = detection.inventory(objects, fetched, None)?;
    Ok(summarise(&inv, found))
}

fn summarise(inv: &Inventory, found: &str) -> FromCatalog {
    let good: Vec<&catalog::Backup> = inv.backups.iter().filter(|b| b.ok).collect();
    let size = |b: &catalog::Backup| b.repository_size.or(b.database_size).unwrap_or(0);
    let base = Total { count: good.len(), bytes: good.iter().map(|b| size(b)).sum() };
    let mut items: Vec<BackupItem> = good
        .iter()
        .filter_map(|b| {
            Some(BackupItem {
                kind: BackupKind::BaseBackup,
                key: clean(&format!("{}{} ({})", inv.root, b.label, b.kind.name())),
                at: b.stop.or(b.start)?,
                size: size(b),
            })
        })
        .collect();
    items.sort_by_key(|i| std::cmp::Reverse(i.at));
    items.truncate(NEWEST_ITEMS);
    let a = &inv.archive;
    if let (Some(newest), Some(at)) = (a.newest, a.newest_modified) {
        items.push(BackupItem { kind: BackupKind::Wal, key: format!("{}{newest}", clean(&inv.root)), at, size: 0 });
    }
    let ss = a.segment_size.max(1);
    let gaps = a
        .gaps
        .iter()
        .map(|g| {
            let first = WalName::from_segno(g.after.timeline, g.after.segno(ss) + 1, ss);
            let last = WalName::from_segno(g.after.timeline, g.after.segno(ss) + g.missing.max(1), ss);
            (first.to_string(), last.to_string())
        })
        .collect();
    let newest = inv.newest_backup();
    let summary = CatalogSummary {
        layout: inv.layout.name().to_string(),
        found: clean(found),
        name: inv.name.as_deref().map(clean),
        backup_count: good.len(),
        newest_label: newest.map(|b| clean(&b.label)),
        newest_type: newest.map(|b| b.kind.name().to_string()),
        newest_stop: newest.and_then(|b| b.stop),
        newest_wal: a.newest.map(|w| w.to_string()),
        newest_wal_at: a.newest_modified,
        wal_count: a.segments,
        warnings: inv.warnings.iter().map(|w| clean(w)).collect(),
    };
    let totals = vec![(BackupKind::BaseBackup, base), (BackupKind::Wal, Total { count: summary.wal_count, bytes: 0 })];
    FromCatalog { items, gaps, summary, totals }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(tool: &str) -> (Vec<catalog::Object>, BTreeMap<String, Vec<u8>>, Detection) {
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/backups").join(tool);
        let listing = std::fs::read_to_string(dir.join("keys.tsv")).unwrap_or_default();
        let objects = catalog::parse_listing(&listing);
        let detection = pick(&objects, None, "").unwrap_or_else(|| panic!("{tool}: no repository found"));
        let strip = format!("{tool}/");
        let fetched = detection
            .catalog_keys(&objects)
            .into_iter()
            .filter_map(|k| std::fs::read(dir.join(k.strip_prefix(&strip)?)).ok().map(|b| (k, b)))
            .collect();
        (objects, fetched, detection)
    }

    #[test]
    fn a_configured_layout_and_name_must_be_there() {
        let (objects, _, _) = fixture("pgbackrest");
        assert!(pick(&objects, Some(Layout::PgBackRest), "shop").is_some());
        assert!(pick(&objects, Some(Layout::PgBackRest), "other").is_none());
        assert!(pick(&objects, Some(Layout::Barman), "").is_none());
    }

    #[test]
    fn the_snapshot_carries_the_newest_few_not_the_whole_listing() {
        let (objects, fetched, d) = fixture("pgbackrest");
        let got = from_catalog(&d, "auto", &objects, &fetched).unwrap_or_else(|e| panic!("{e}"));
        assert!(got.items.len() <= NEWEST_ITEMS + 1, "{}", got.items.len());
        assert!(objects.len() > got.items.len() * 10, "the listing has {} keys", objects.len());
        assert_eq!(got.items.iter().filter(|i| i.kind == BackupKind::Wal).count(), 1);
        // The totals count every good backup and its bytes, not only the items carried.
        let base = got.totals.iter().find(|(k, _)| *k == BackupKind::BaseBackup).map(|(_, t)| *t).unwrap_or_default();
        let carried: u64 = got.items.iter().filter(|i| i.kind == BackupKind::BaseBackup).map(|i| i.size).sum();
        assert_eq!(base.count, got.summary.backup_count);
        assert!(base.bytes >= carried && base.bytes > 0, "{base:?}, items carry {carried}");
    }
}
