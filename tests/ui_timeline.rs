//! The timeline at 80x24: every word of a long entry can be read (the `t` overlay wraps it), the
//! pane marks what it cuts with `…`, and entries are shown in time order even when an adopted
//! finding was written after the opening it predates.

use chrono::{DateTime, Duration, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use sitrep::app::{Console, frame_text};
use sitrep::clock::Clock;
use sitrep::config::Config;
use sitrep::model::*;

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-29T03:00:00Z").map(|t| t.with_timezone(&Utc)).unwrap_or_default() + Duration::seconds(secs)
}

const LONG: &str = "detected [queues] queue reports growing: over its warning depth (2466 messages, +5565/min) while \
                    the workers drain 40/min; the backlog reaches the crit depth in about 4 minutes";

fn console() -> Console {
    let mut config = Config::default();
    config.general.theme = "mono".into();
    let mut c = Console::new(config, "sitrep-lab · shop".into(), Clock::virtual_at(at(0))).expect("console");
    // As a real :open writes them: the opening first, then the findings it adopted (older).
    c.model.apply(Event::TimelineLoaded {
        incident: Some("2026-11-29-001 P2 queue flood".into()),
        lines: vec![
            TimelineLine::saved(at(-10), "opened P2: queue flood".into(), EntryClass::Incident, "a1".into()),
            TimelineLine::saved(at(-300), LONG.into(), EntryClass::Detected, "a2".into()),
        ],
    });
    c.model.apply(Event::TimelineAppended {
        line: TimelineLine::saved(at(-5), "note: scaling the workers".into(), EntryClass::Note, "a3".into()),
    });
    c.model.apply(Event::Tick { at: at(0) });
    c
}

/// The screen's text inside the overlay's borders, lines joined by spaces.
fn joined(frame: &str) -> String {
    frame
        .lines()
        .map(|l| l.trim_matches(|c: char| c == '│' || c == '┃' || c == ' '))
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn the_timeline_overlay_wraps_a_long_entry_so_every_word_is_read_at_80x24() {
    let mut c = console();
    c.on_key(KeyEvent::new(KeyCode::Char('t'), KeyModifiers::NONE));
    let frame = frame_text(&c, 80, 24, false);
    assert!(frame.lines().all(|l| unicode_width::UnicodeWidthStr::width(l) <= 80), "{frame}");
    let text = joined(&frame);
    for word in LONG.split_whitespace() {
        assert!(text.contains(word), "`{word}` is not on screen:\n{frame}");
    }
    assert!(text.contains("about 4 minutes"), "the end of the entry is cut:\n{frame}");
    // Newest first by time: the note, the opening, then the finding adopted from before it.
    let pos = |s: &str| frame.find(s).unwrap_or_else(|| panic!("{s} missing:\n{frame}"));
    assert!(pos("scaling the workers") < pos("opened P2") && pos("opened P2") < pos("queue reports growing"), "{frame}");
    insta::assert_snapshot!("timeline_overlay_wrapped_80x24", frame);
}

#[test]
fn the_timeline_pane_marks_a_cut_entry_with_an_ellipsis_at_200x60() {
    let mut c = console();
    let longer = format!("note: {LONG}; {LONG}");
    c.model.apply(Event::TimelineAppended { line: TimelineLine::saved(at(-1), longer, EntryClass::Note, "a4".into()) });
    let frame = frame_text(&c, 200, 60, false);
    let line = frame.lines().find(|l| l.contains("note: detected")).unwrap_or_else(|| panic!("no entry:\n{frame}"));
    assert!(line.contains('…') && !line.contains("about 4 minutes; detected"), "cut without a mark: {line}");
    // One that fits is shown whole, with no mark.
    let whole = frame.lines().find(|l| l.contains("queue reports growing") && !l.contains("note:")).unwrap_or_default();
    assert!(whole.contains("about 4 minutes") && !whole.contains('…'), "{whole}");
    insta::assert_snapshot!("timeline_pane_200x60", frame);
}
