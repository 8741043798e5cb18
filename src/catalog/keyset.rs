//! One S3 prefix's keys kept between refreshes, for an append-ordered stream (a WAL archive:
//! names only grow, so new keys sort after old ones). The first listing is a full pass that goes
//! on where it stopped if a refresh runs out of time; after it, a refresh lists only the tail
//! (from `OVERLAP` keys before the newest, so a segment uploaded out of order by a parallel
//! archiver is still seen), and a full pass every `full_every` catches deletions. Pure: the
//! S3 requests are made by `backends::s3::refresh_keys`.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

/// How many of the newest keys each tail listing reads again (one LIST page holds 1,000).
pub const OVERLAP: usize = 500;

/// How often the whole prefix is listed again, to catch deleted keys (retention, a manual purge).
pub const FULL_EVERY_SECS: i64 = 15 * 60;

/// A key's listed size and time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub size: u64,
    pub modified: DateTime<Utc>,
}

/// What the next LIST requests of a refresh are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The whole prefix, from `after` (None: the start; Some: where an unfinished pass stopped).
    Full { after: Option<String> },
    /// New keys only: everything after `after` (None when the prefix was empty).
    Tail { after: Option<String> },
}

#[derive(Debug, Clone, Default)]
struct Pass {
    keys: BTreeMap<String, Entry>,
    after: Option<String>,
}

#[derive(Debug, Clone)]
pub struct KeySet {
    pub prefix: String,
    keys: BTreeMap<String, Entry>,
    /// When the last full pass finished; None until the first one has.
    full_at: Option<DateTime<Utc>>,
    pass: Option<Pass>,
    full_every: Duration,
    /// LIST requests made, in all.
    pub requests: u64,
}

impl KeySet {
    pub fn new(prefix: impl Into<String>) -> KeySet {
        KeySet {
            prefix: prefix.into(),
            keys: BTreeMap::new(),
            full_at: None,
            pass: None,
            full_every: Duration::seconds(FULL_EVERY_SECS),
            requests: 0,
        }
    }

    /// A set whose full pass has just been made by another listing (the one that found the layout).
    pub fn listed(prefix: impl Into<String>, keys: impl IntoIterator<Item = (String, Entry)>, at: DateTime<Utc>) -> KeySet {
        let mut set = KeySet::new(prefix);
        set.keys = keys.into_iter().collect();
        set.full_at = Some(at);
        set
    }

    /// The step a refresh at `now` starts with: the full pass under way, a new one when the last
    /// is `full_every` old (or there was none), else the tail.
    pub fn next_step(&self, now: DateTime<Utc>) -> Step {
        if let Some(pass) = &self.pass {
            return Step::Full { after: pass.after.clone() };
        }
        match self.full_at {
            Some(at) if now - at < self.full_every => Step::Tail { after: self.keys.keys().rev().nth(OVERLAP).cloned() },
            _ => Step::Full { after: None },
        }
    }

    /// One page of `step`'s listing, as S3 returned it (in key order).
    pub fn page(&mut self, step: &Step, page: impl IntoIterator<Item = (String, Entry)>) {
        self.requests += 1;
        match step {
            Step::Full { .. } => {
                let pass = self.pass.get_or_insert_with(Pass::default);
                for (key, entry) in page {
                    pass.after = Some(key.clone());
                    pass.keys.insert(key, entry);
                }
            }
            Step::Tail { .. } => self.keys.extend(page),
        }
    }

    /// `step`'s listing reached the end of the prefix at `now`: a full pass replaces the set.
    pub fn finished(&mut self, step: &Step, now: DateTime<Utc>) {
        if let Step::Full { .. } = step {
            self.keys = self.pass.take().map(|p| p.keys).unwrap_or_default();
            self.full_at = Some(now);
        }
    }

    /// Whether a full pass has finished: before that the set is not the prefix's listing.
    pub fn ready(&self) -> bool {
        self.full_at.is_some()
    }

    /// Keys of a full pass under way (for "N keys so far").
    pub fn in_progress(&self) -> Option<usize> {
        self.pass.as_ref().map(|p| p.keys.len())
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Entry)> {
        self.keys.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap_or_default()
    }

    fn entries(range: std::ops::Range<u32>) -> Vec<(String, Entry)> {
        range.map(|n| (format!("wal_005/{n:024X}.zst"), Entry { size: 16, modified: t(0) })).collect()
    }

    #[test]
    fn an_unfinished_first_pass_goes_on_where_it_stopped_and_only_then_counts() {
        let mut set = KeySet::new("wal_005/");
        let step = set.next_step(t(0));
        assert_eq!(step, Step::Full { after: None });
        set.page(&step, entries(0..1000));
        // The refresh ran out of time here.
        assert!(!set.ready());
        assert_eq!(set.in_progress(), Some(1000));
        let step = set.next_step(t(60));
        assert_eq!(step, Step::Full { after: Some(format!("wal_005/{:024X}.zst", 999)) });
        set.page(&step, entries(1000..1500));
        set.finished(&step, t(61));
        assert!(set.ready());
        assert_eq!((set.len(), set.requests), (1500, 2));
    }

    #[test]
    fn a_tail_reads_the_newest_again_and_adds_what_is_new() {
        let mut set = KeySet::listed("wal_005/", entries(0..2000), t(0));
        let step = set.next_step(t(60));
        // From OVERLAP keys before the newest: a segment that landed late among them is seen.
        assert_eq!(step, Step::Tail { after: Some(format!("wal_005/{:024X}.zst", 1999 - OVERLAP)) });
        set.page(&step, entries(1500..2003));
        set.finished(&step, t(60));
        assert_eq!(set.len(), 2003);
        // An empty prefix: the tail is everything.
        assert_eq!(KeySet::listed("p/", vec![], t(0)).next_step(t(1)), Step::Tail { after: None });
    }

    #[test]
    fn a_full_pass_every_so_often_drops_deleted_keys() {
        let mut set = KeySet::listed("wal_005/", entries(0..100), t(0));
        let step = set.next_step(t(FULL_EVERY_SECS));
        assert_eq!(step, Step::Full { after: None });
        // Retention removed the oldest 40; until the pass ends the old set stands.
        set.page(&step, entries(40..100));
        assert_eq!(set.len(), 100);
        set.finished(&step, t(FULL_EVERY_SECS + 1));
        assert_eq!(set.len(), 60);
        assert!(matches!(set.next_step(t(FULL_EVERY_SECS + 2)), Step::Tail { .. }));
    }
}
