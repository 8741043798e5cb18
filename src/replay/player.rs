//! Replay: the same console driven by a recording and a virtual clock. Nothing is executed; the
//! viewer may look anywhere, at any size; notes go to an annotations file beside the recording.

use super::interactive::annotations_path;
use crate::app::{Console, frame_text};
use crate::clock::Clock;
use crate::config::Config;
use crate::model::Event;
use crate::record::format::Record;
use crate::record::reader::Recording;
use crate::sanitize::{sanitize, sanitize_lines};
use chrono::Duration;

/// A position in a recording: the next record to apply and the last recorded second seen, which
/// anchors the replayed clock (so a replayed frame shows exactly the clock and ages the live one did).
/// Moving forward costs only the records passed, however long the recording.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cursor {
    next: usize,
    anchor: Option<(u64, chrono::DateTime<chrono::Utc>)>,
}

impl Cursor {
    /// Applies every record up to `at_ms`, then sets the console's clock and Model to that moment.
    pub fn advance_to(&mut self, rec: &Recording, console: &mut Console, at_ms: u64, follow_keys: bool) {
        while let Some(r) = rec.records.get(self.next).filter(|r| r.t() <= at_ms) {
            if let Record::Event { t, event: Event::Tick { at } } = r {
                self.anchor = Some((*t, *at));
            }
            apply(console, r, follow_keys);
            self.next += 1;
        }
        let now = match self.anchor {
            Some((t, at)) => at + Duration::milliseconds(at_ms.saturating_sub(t) as i64),
            None => rec.header.started_at + Duration::milliseconds(at_ms as i64),
        };
        console.model.apply(Event::Tick { at: now });
        console.clock.set(now);
    }
}

/// A fresh console for replaying `rec` (nothing applied yet).
pub fn new_console(rec: &Recording, config: &Config) -> anyhow::Result<Console> {
    let mut console = Console::new(config.clone(), format!("REPLAY · {}", rec.header.banner), Clock::virtual_at(rec.header.started_at))?;
    // Freshness as the recorded console judged it (a day at most: a hostile header is only a number).
    for (source, secs) in &rec.header.refresh_secs {
        console.model.source_refresh.insert(*source, Duration::seconds((*secs).clamp(1, 86_400) as i64));
    }
    Ok(console)
}

/// Builds the console as it was `at_ms` into the recording: every event applied, and the
/// recorded keys too when `follow_keys` (so frames match what was shown live).
pub fn console_at(rec: &Recording, config: &Config, at_ms: u64, follow_keys: bool) -> anyhow::Result<Console> {
    Ok(console_and_cursor_at(rec, config, at_ms, follow_keys)?.0)
}

/// Like [`console_at`], also returning where in the recording it stands.
pub fn console_and_cursor_at(rec: &Recording, config: &Config, at_ms: u64, follow_keys: bool) -> anyhow::Result<(Console, Cursor)> {
    let mut console = new_console(rec, config)?;
    let mut cursor = Cursor::default();
    cursor.advance_to(rec, &mut console, at_ms, follow_keys);
    Ok((console, cursor))
}

/// Applies one record; keys only when following the recorded session's view.
pub fn apply(console: &mut Console, record: &Record, follow_keys: bool) {
    match record {
        Record::Event { event, .. } => {
            console.apply(event.clone());
        }
        Record::Key { key, .. } if follow_keys => {
            if let Some(k) = key.to_key() {
                console.on_key(k);
            }
        }
        Record::Key { .. } | Record::Resize { .. } => {}
    }
}

/// `sitrep replay FILE --info`: the header, counts, notes beside the recording and the drill
/// scorecard, all sanitized (a crafted recording must not write escape sequences to the terminal).
pub fn info(rec: &Recording) -> String {
    let h = &rec.header;
    let (mut events, mut keys, mut resizes, mut entries) = (0, 0, 0, 0);
    for r in &rec.records {
        match r {
            Record::Event { event, .. } => {
                events += 1;
                if matches!(event, Event::TimelineAppended { .. }) {
                    entries += 1;
                }
            }
            Record::Key { .. } => keys += 1,
            Record::Resize { .. } => resizes += 1,
        }
    }
    let mut out = format!(
        "recording   {}\nformat      {} v{} (sitrep {})\nstarted     {} ({})\nduration    {}\nterminal    {}x{}\nbanner      {}\nsources     {}\nrecords     {} events, {} keys, {} resizes, {} timeline entries\n",
        sanitize(&rec.path.display().to_string()),
        h.format,
        h.version,
        h.sitrep,
        h.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
        h.timezone,
        crate::human::duration((rec.duration_ms() / 1000) as i64),
        h.cols,
        h.rows,
        h.banner,
        h.sources.join(", "),
        events,
        keys,
        resizes,
        entries
    );
    if let Some(p) = &rec.problem {
        out.push_str(&format!("problem     {}\n", sanitize(p)));
    }
    let notes = annotations(&rec.path);
    if !notes.is_empty() {
        out.push_str(&format!("notes       {} in {}\n", notes.len(), sanitize(&annotations_path(&rec.path).display().to_string())));
        for (at, text) in notes {
            out.push_str(&format!("  {at}  {text}\n"));
        }
    }
    if let Ok(card) = std::fs::read_to_string(crate::record::scorecard_path(&rec.path)) {
        out.push('\n');
        out.push_str(&sanitize_lines(&card));
        if !card.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// The notes typed during earlier replays (`FILE.annotations.jsonl`), sanitized: the file travels
/// with the recording, so it is outside text too. Unreadable lines are skipped.
pub fn annotations(recording: &std::path::Path) -> Vec<(String, String)> {
    let Ok(text) = std::fs::read_to_string(annotations_path(recording)) else { return Vec::new() };
    text.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .map(|note| {
            let field = |k: &str| sanitize(note.get(k).and_then(serde_json::Value::as_str).unwrap_or(""));
            (field("at"), field("text"))
        })
        .collect()
}

/// Parses `90s`, `1m30s`, `12:30` (mm:ss), `1:02:03` or plain seconds into milliseconds.
pub fn parse_offset(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let bad = || format!("`{s}` is not a time into the recording; use 90s, 1m30s or 12:30");
    if s.contains(':') {
        let mut secs = 0u64;
        for part in s.split(':') {
            secs = secs * 60 + part.parse::<u64>().map_err(|_| bad())?;
        }
        return Ok(secs * 1000);
    }
    let mut total = 0u64;
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: u64 = num.parse().map_err(|_| bad())?;
        num.clear();
        total += match c {
            'h' => n * 3_600_000,
            'm' => n * 60_000,
            's' => n * 1000,
            _ => return Err(bad()),
        };
    }
    if !num.is_empty() {
        total += num.parse::<u64>().map_err(|_| bad())? * 1000;
    }
    Ok(total)
}

/// Writes an asciicast v2 file: one full frame per second of the recording, at `cols`x`rows`.
pub fn export_cast(rec: &Recording, config: &Config, cols: u16, rows: u16, out: &mut impl std::io::Write) -> anyhow::Result<()> {
    let header = serde_json::json!({
        "version": 2, "width": cols, "height": rows,
        "timestamp": rec.header.started_at.timestamp(),
        "title": format!("sitrep replay · {}", rec.header.banner),
        "env": { "TERM": "xterm-256color" }
    });
    writeln!(out, "{header}")?;
    let mut console = new_console(rec, config)?;
    let mut cursor = Cursor::default();
    let end = rec.duration_ms();
    let mut t = 0u64;
    loop {
        cursor.advance_to(rec, &mut console, t, true);
        let frame = frame_text(&console, cols, rows, true).replace('\n', "\r\n");
        let data = format!("\u{1b}[H\u{1b}[2J{frame}");
        writeln!(out, "{}", serde_json::json!([t as f64 / 1000.0, "o", data]))?;
        if t >= end {
            break;
        }
        t = (t + 1000).min(end);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_read_the_way_people_write_them() {
        assert_eq!(parse_offset("90s"), Ok(90_000));
        assert_eq!(parse_offset("1m30s"), Ok(90_000));
        assert_eq!(parse_offset("12:30"), Ok(750_000));
        assert_eq!(parse_offset("1:00:00"), Ok(3_600_000));
        assert_eq!(parse_offset("45"), Ok(45_000));
        assert!(parse_offset("soon").is_err());
    }
}
