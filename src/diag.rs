//! Diagnostics for people: a problem in a user's file (where, what, the fix), the nearest known
//! name to a typo, and finding the line a key is on. Depends on nothing above it.

use std::path::PathBuf;

/// One thing wrong in a user's file: where, what, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    pub line: usize,
    pub what: String,
    pub fix: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {} — {}", self.file.display(), self.line, self.what, self.fix)
    }
}

/// The closest candidate by edit distance, if it is close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    candidates
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.to_string())
}

/// Levenshtein distance in characters (one implementation for every "did you mean").
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// 1-based line of a byte offset.
pub fn line_of_offset(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Finds the line where `key` is set inside `[section]` (or the section header itself).
pub fn find_line(text: &str, section: Option<&str>, key: &str) -> usize {
    let mut in_section = section.is_none();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if let Some(header) = line.strip_prefix('[') {
            let name = header.trim_start_matches('[').split(']').next().unwrap_or("").trim();
            if section.is_none() && name == key {
                return i + 1;
            }
            in_section = section == Some(name);
            continue;
        }
        if in_section {
            let k = line.split('=').next().unwrap_or("").trim().trim_matches('"');
            if k == key {
                return i + 1;
            }
        }
    }
    1
}

/// The 1-based line of `key` in the `index`th (0-based) `[[array]]` table, or of that table's
/// header when `key` is "" or absent from it (1 when there is no such table).
pub fn find_line_in_array(text: &str, array: &str, index: usize, key: &str) -> usize {
    let mut seen = 0usize;
    let mut header = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if let Some(rest) = line.strip_prefix("[[") {
            let name = rest.split("]]").next().unwrap_or("").trim();
            if header.is_some() {
                break;
            }
            if name == array {
                if seen == index {
                    header = Some(i + 1);
                }
                seen += 1;
            }
            continue;
        }
        if line.starts_with('[') && header.is_some() {
            break;
        }
        if header.is_some() && !key.is_empty() && line.split('=').next().unwrap_or("").trim().trim_matches('"') == key {
            return i + 1;
        }
    }
    header.unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typo_finds_its_nearest_name_and_nonsense_finds_none() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(closest("replicaton", ["replication", "queues"].into_iter()), Some("replication".into()));
        assert_eq!(closest("zzzzzz", ["replication", "queues"].into_iter()), None);
    }
}
