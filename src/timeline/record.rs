//! The on-disk line format (`<crc32 hex> <json>\n`) and the scan that sorts a file's bytes into
//! good records, corrupt records in the middle, and a torn tail. Pure: no IO here.

use super::entry::TimelineEntry;

/// One record's problem, located so a person can find it with `sed -n LINEp` or `dd skip=OFFSET`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRecord {
    /// 1-based line number.
    pub line: usize,
    /// Byte offset of the start of the line.
    pub offset: u64,
    pub len: u64,
    pub reason: String,
}

/// A file's bytes, sorted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scan {
    pub entries: Vec<TimelineEntry>,
    /// Corrupt records with good records after them: errors, never repaired silently.
    pub corrupt: Vec<BadRecord>,
    /// Bytes after the last good record that do not form good records: a write that never finished.
    pub torn: Option<BadRecord>,
    /// Where the last good record ends: the length the file is cut back to when the tail is torn.
    pub good_len: u64,
}

/// Encodes one entry as one line, checksum first.
pub fn encode(entry: &TimelineEntry) -> Result<Vec<u8>, serde_json::Error> {
    let json = serde_json::to_vec(entry)?;
    let mut line = format!("{:08x} ", crc32fast::hash(&json)).into_bytes();
    line.extend_from_slice(&json);
    line.push(b'\n');
    Ok(line)
}

/// Decodes one line (without its `\n`).
pub fn decode(line: &[u8]) -> Result<TimelineEntry, String> {
    if line.is_empty() {
        return Err("empty line".into());
    }
    let (crc_hex, json) = match line.iter().position(|b| *b == b' ') {
        Some(8) => (&line[..8], &line[9..]),
        _ => return Err("no checksum: expected 8 hex digits and a space".into()),
    };
    let want =
        std::str::from_utf8(crc_hex).ok().and_then(|h| u32::from_str_radix(h, 16).ok()).ok_or_else(|| "checksum is not hex".to_string())?;
    let got = crc32fast::hash(json);
    if want != got {
        return Err(format!("checksum mismatch (stored {want:08x}, computed {got:08x})"));
    }
    serde_json::from_slice(json).map_err(|e| format!("checksum ok but the record is not a timeline entry: {e}"))
}

/// Sorts a whole file's bytes into good records, corrupt records and a torn tail.
pub fn scan(bytes: &[u8]) -> Scan {
    let mut out = Scan::default();
    let mut bad = Vec::new();
    let mut offset = 0usize;
    let mut line_no = 0usize;
    while offset < bytes.len() {
        line_no += 1;
        let (line, next) = match bytes[offset..].iter().position(|b| *b == b'\n') {
            Some(i) => (&bytes[offset..offset + i], offset + i + 1),
            None => (&bytes[offset..], bytes.len()),
        };
        let complete = next <= bytes.len() && bytes.get(next - 1) == Some(&b'\n');
        match decode(line) {
            Ok(entry) if complete => {
                out.entries.push(entry);
                out.good_len = next as u64;
            }
            Ok(_) => bad.push(bad_record(line_no, offset, next, "unfinished record (no newline)".into())),
            Err(reason) => bad.push(bad_record(line_no, offset, next, reason)),
        }
        offset = next;
    }
    let (corrupt, tail): (Vec<_>, Vec<_>) = bad.into_iter().partition(|b| b.offset < out.good_len);
    out.corrupt = corrupt;
    out.torn = tail.first().map(|first| BadRecord {
        line: first.line,
        offset: out.good_len,
        len: bytes.len() as u64 - out.good_len,
        reason: first.reason.clone(),
    });
    out
}

fn bad_record(line: usize, start: usize, end: usize, reason: String) -> BadRecord {
    BadRecord { line, offset: start as u64, len: (end - start) as u64, reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::entry::{EntryKind, IncidentId};
    use chrono::DateTime;

    fn entry(n: u128) -> TimelineEntry {
        TimelineEntry {
            id: uuid::Uuid::from_u128(n),
            incident: IncidentId::for_day(DateTime::UNIX_EPOCH, 1),
            at: DateTime::UNIX_EPOCH,
            author: "oncall@host".into(),
            corrects: None,
            kind: EntryKind::note(&format!("note {n}")),
        }
    }

    fn file(n: u128) -> Vec<u8> {
        (1..=n).flat_map(|i| encode(&entry(i)).unwrap_or_default()).collect()
    }

    #[test]
    fn a_clean_file_scans_to_every_record_and_nothing_else() {
        let bytes = file(3);
        let scan = scan(&bytes);
        assert_eq!(scan.entries.len(), 3);
        assert!(scan.corrupt.is_empty() && scan.torn.is_none());
        assert_eq!(scan.good_len, bytes.len() as u64);
    }

    #[test]
    fn a_half_written_last_record_is_a_torn_tail_at_its_byte_offset() {
        let mut bytes = file(2);
        let good = bytes.len() as u64;
        let third = encode(&entry(3)).unwrap_or_default();
        bytes.extend_from_slice(&third[..third.len() / 2]);
        let scan = scan(&bytes);
        assert_eq!(scan.entries.len(), 2);
        let torn = scan.torn.expect("torn tail reported");
        assert_eq!((torn.offset, torn.line), (good, 3));
        assert_eq!(scan.good_len, good);
    }

    #[test]
    fn a_flipped_byte_in_the_middle_is_corrupt_and_the_records_around_it_survive() {
        let mut bytes = file(3);
        let second_start = encode(&entry(1)).unwrap_or_default().len();
        bytes[second_start + 30] ^= 0x01;
        let scan = scan(&bytes);
        assert_eq!(scan.entries.len(), 2, "first and third survive");
        assert_eq!(scan.corrupt.len(), 1);
        assert_eq!((scan.corrupt[0].line, scan.corrupt[0].offset), (2, second_start as u64));
        assert!(scan.corrupt[0].reason.contains("checksum mismatch"), "{}", scan.corrupt[0].reason);
        assert!(scan.torn.is_none());
    }
}
