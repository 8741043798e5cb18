//! WAL file names, segment arithmetic and the archive summary every layout shares: newest
//! segment, timelines, and gaps counted with the cluster's real segment size.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};

use super::Object;

/// PostgreSQL's default `wal_segment_size`; used only when neither the cluster nor the catalogue says.
pub const DEFAULT_SEGMENT_SIZE: u64 = 16 * 1024 * 1024;

/// A WAL segment name, `TTTTTTTTLLLLLLLLSSSSSSSS`: timeline, log (high 32 bits of the LSN) and
/// segment within the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WalName {
    pub timeline: u32,
    pub log: u32,
    pub seg: u32,
}

impl WalName {
    /// Exactly 24 hex digits.
    pub fn parse(name: &str) -> Option<WalName> {
        if name.len() != 24 || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let part = |r: std::ops::Range<usize>| u32::from_str_radix(&name[r], 16).ok();
        Some(WalName { timeline: part(0..8)?, log: part(8..16)?, seg: part(16..24)? })
    }

    /// Segments per log file: 4 GiB / segment size (256 for 16 MiB).
    fn per_log(segment_size: u64) -> u64 {
        (0x1_0000_0000 / segment_size.max(1)).max(1)
    }

    /// The segment's number counted from LSN 0.
    pub fn segno(self, segment_size: u64) -> u64 {
        u64::from(self.log) * Self::per_log(segment_size) + u64::from(self.seg)
    }

    pub fn from_segno(timeline: u32, segno: u64, segment_size: u64) -> WalName {
        let per = Self::per_log(segment_size);
        WalName { timeline, log: (segno / per) as u32, seg: (segno % per) as u32 }
    }

    /// The segment that holds `lsn` on `timeline`.
    pub fn from_lsn(timeline: u32, lsn: u64, segment_size: u64) -> WalName {
        Self::from_segno(timeline, lsn / segment_size.max(1), segment_size)
    }
}

impl fmt::Display for WalName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08X}{:08X}{:08X}", self.timeline, self.log, self.seg)
    }
}

/// Parses an LSN as PostgreSQL prints it: "0/3000028".
pub fn parse_lsn(text: &str) -> Option<u64> {
    let (hi, lo) = text.trim().split_once('/')?;
    Some((u64::from_str_radix(hi, 16).ok()? << 32) | u64::from_str_radix(lo, 16).ok()?)
}

/// What one file of a WAL archive is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalFile {
    Segment(WalName),
    /// `TTTTTTTT.history`: the history of a timeline (written at promotion).
    History(u32),
    /// `<segment>.<offset>.backup`: the backup-history file of a base backup.
    BackupLabel(WalName),
    /// `<segment>.partial`: the last, incomplete segment of a timeline that was left.
    Partial(WalName),
}

/// Compression suffixes the tools add (pgBackRest gz/lz4/zst/bz2/xz, Barman gz/bz2/xz/snappy/zst/lz4,
/// wal-g lz4/lzma/zst/br).
const COMPRESSIONS: [&str; 9] = [".gz", ".lz4", ".zst", ".bz2", ".xz", ".lzma", ".br", ".snappy", ".lzo"];

/// Classifies a file name (the last part of a key): compression suffixes and pgBackRest's
/// `-<sha1>` checksum are stripped first. None for anything that is not WAL.
pub fn classify(file_name: &str) -> Option<WalFile> {
    let mut name = file_name;
    while let Some(stripped) = COMPRESSIONS.iter().find_map(|c| name.strip_suffix(c)) {
        name = stripped;
    }
    if let Some((head, sum)) = name.rsplit_once('-')
        && sum.len() == 40
        && sum.bytes().all(|b| b.is_ascii_hexdigit())
    {
        name = head;
    }
    if let Some(w) = WalName::parse(name) {
        return Some(WalFile::Segment(w));
    }
    if let Some(seg) = name.strip_suffix(".partial") {
        return WalName::parse(seg).map(WalFile::Partial);
    }
    if let Some(rest) = name.strip_suffix(".backup") {
        let (seg, offset) = rest.split_once('.')?;
        return (offset.len() == 8 && offset.bytes().all(|b| b.is_ascii_hexdigit()))
            .then_some(())
            .and_then(|_| WalName::parse(seg))
            .map(WalFile::BackupLabel);
    }
    let tli = name.strip_suffix(".history")?;
    (tli.len() == 8).then(|| u32::from_str_radix(tli, 16).ok()).flatten().map(WalFile::History)
}

/// Missing segments between two archived ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    /// The last segment present before the hole.
    pub after: WalName,
    /// The first segment present after it (on the same timeline, or the next one).
    pub before: WalName,
    /// How many segments are missing.
    pub missing: u64,
}

/// A WAL archive as its listing shows it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WalArchive {
    /// The segment size the arithmetic used.
    pub segment_size: u64,
    /// Whole segments archived.
    pub segments: usize,
    pub oldest: Option<WalName>,
    /// The highest segment (timeline first, as pgBackRest's max and PostgreSQL's own order do).
    pub newest: Option<WalName>,
    /// When the store says the newest segment was written: the archive's age for RPO.
    pub newest_modified: Option<DateTime<Utc>>,
    /// Timelines with segments, ascending.
    pub timelines: Vec<u32>,
    /// Timelines with a `.history` file.
    pub history: Vec<u32>,
    /// Base-backup history files (`.backup`) and partial segments seen.
    pub backup_labels: usize,
    pub partials: usize,
    /// Holes between `oldest` and `newest`, across timeline switches too.
    pub gaps: Vec<Gap>,
    /// Bytes the archive occupies in the store.
    pub bytes: u64,
}

impl WalArchive {
    /// Builds the summary from classified files and their objects.
    pub fn build<'a>(files: impl IntoIterator<Item = (WalFile, &'a Object)>, segment_size: u64) -> WalArchive {
        let mut archive = WalArchive { segment_size, ..WalArchive::default() };
        // timeline -> segno -> modified
        let mut by_tl: BTreeMap<u32, BTreeMap<u64, Option<DateTime<Utc>>>> = BTreeMap::new();
        for (file, object) in files {
            archive.bytes += object.size;
            match file {
                WalFile::Segment(w) => {
                    by_tl.entry(w.timeline).or_default().insert(w.segno(segment_size), object.modified);
                }
                WalFile::History(t) => archive.history.push(t),
                WalFile::BackupLabel(_) => archive.backup_labels += 1,
                WalFile::Partial(_) => archive.partials += 1,
            }
        }
        archive.history.sort_unstable();
        archive.history.dedup();
        archive.timelines = by_tl.keys().copied().collect();
        archive.segments = by_tl.values().map(BTreeMap::len).sum();
        let name = |tl: u32, segno: u64| WalName::from_segno(tl, segno, segment_size);
        let mut previous: Option<(u32, u64)> = None;
        for (&tl, segs) in &by_tl {
            for (&segno, _) in segs.iter() {
                if let Some((ptl, pseg)) = previous
                    && segno > pseg + 1
                {
                    archive.gaps.push(Gap { after: name(ptl, pseg), before: name(tl, segno), missing: segno - pseg - 1 });
                }
                // A new timeline may start below where the old one ended (it forked earlier): no gap.
                previous = Some((tl, segno));
            }
        }
        archive.oldest = by_tl.iter().next().and_then(|(tl, s)| s.keys().next().map(|n| name(*tl, *n)));
        if let Some((tl, segs)) = by_tl.iter().next_back()
            && let Some((segno, modified)) = segs.iter().next_back()
        {
            archive.newest = Some(name(*tl, *segno));
            archive.newest_modified = *modified;
        }
        archive
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(key: &str) -> Object {
        Object::new(key, 1, None)
    }

    fn archive(names: &[&str], segment_size: u64) -> WalArchive {
        let objects: Vec<Object> = names.iter().map(|n| obj(n)).collect();
        WalArchive::build(objects.iter().filter_map(|o| classify(&o.key).map(|f| (f, o))), segment_size)
    }

    #[test]
    fn names_of_each_tool_are_classified() {
        let seg = WalName::parse("000000010000000000000011");
        assert_eq!(classify("000000010000000000000011-c1806b1dadfae98fd99f5573285c58ce83f5ad5d.gz"), seg.map(WalFile::Segment));
        assert_eq!(classify("000000010000000000000011.lz4"), seg.map(WalFile::Segment));
        assert_eq!(classify("000000010000000000000011"), seg.map(WalFile::Segment));
        assert!(matches!(classify("000000010000000000000005.00000028.backup"), Some(WalFile::BackupLabel(_))));
        assert_eq!(classify("00000002.history.br"), Some(WalFile::History(2)));
        assert!(matches!(classify("000000010000000000000005.partial.zst"), Some(WalFile::Partial(_))));
        assert_eq!(classify("backup.info"), None);
        assert_eq!(classify("00000001000000000000001"), None);
    }

    #[test]
    fn a_missing_segment_is_a_gap_and_the_log_boundary_is_not() {
        let a = archive(&["0000000100000000000000FE", "0000000100000000000000FF", "000000010000000100000000"], DEFAULT_SEGMENT_SIZE);
        assert!(a.gaps.is_empty(), "{:?}", a.gaps);
        let a = archive(&["000000010000000000000001", "000000010000000000000004"], DEFAULT_SEGMENT_SIZE);
        assert_eq!(a.gaps.len(), 1);
        assert_eq!(a.gaps[0].missing, 2);
        assert_eq!(a.gaps[0].after.to_string(), "000000010000000000000001");
    }

    #[test]
    fn with_64_mib_segments_a_log_holds_64_and_00_to_3f_is_complete() {
        // 4 GiB / 64 MiB = 64 segments per log: ...3F is followed by the next log's 00.
        let a = archive(&["00000001000000000000003F", "000000010000000100000000"], 64 * 1024 * 1024);
        assert!(a.gaps.is_empty(), "{:?}", a.gaps);
        // The same names with 16 MiB segments would be 192 segments apart.
        let a = archive(&["00000001000000000000003F", "000000010000000100000000"], DEFAULT_SEGMENT_SIZE);
        assert_eq!(a.gaps.first().map(|g| g.missing), Some(192));
    }

    #[test]
    fn a_timeline_switch_continues_the_sequence() {
        let a = archive(
            &[
                "000000010000000000000003",
                "000000010000000000000004",
                "00000002.history",
                "000000020000000000000004",
                "000000020000000000000005",
            ],
            DEFAULT_SEGMENT_SIZE,
        );
        assert!(a.gaps.is_empty(), "{:?}", a.gaps);
        assert_eq!(a.timelines, vec![1, 2]);
        assert_eq!(a.history, vec![2]);
        assert_eq!(a.newest.map(|w| w.to_string()).as_deref(), Some("000000020000000000000005"));
        let a = archive(&["000000010000000000000003", "000000020000000000000006"], DEFAULT_SEGMENT_SIZE);
        assert_eq!(a.gaps.first().map(|g| g.missing), Some(2));
    }

    #[test]
    fn lsns_map_to_their_segment() {
        let lsn = parse_lsn("0/B000138").unwrap_or_default();
        assert_eq!(WalName::from_lsn(1, lsn, DEFAULT_SEGMENT_SIZE).to_string(), "00000001000000000000000B");
        assert_eq!(parse_lsn("1/A2000000"), Some(0x1_A200_0000));
        assert_eq!(parse_lsn("nonsense"), None);
    }
}
