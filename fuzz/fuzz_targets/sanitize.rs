//! Fuzzes the sanitizer's promise: no raw control byte, no ESC, no C1, no bidi control survives,
//! and sanitizing twice changes nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;

fn is_bidi(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{61c}')
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let one = sitrep::sanitize::sanitize(&text);
    assert!(!one.chars().any(|c| c.is_control() || is_bidi(c)), "sanitize left a control: {one:?}");
    assert_eq!(sitrep::sanitize::sanitize(&one), one, "sanitize is not idempotent");
    let lines = sitrep::sanitize::sanitize_lines(&text);
    assert!(!lines.chars().any(|c| (c.is_control() && c != '\n') || is_bidi(c)), "sanitize_lines left a control: {lines:?}");
    let bounded = sitrep::sanitize::sanitize_bounded(&text, 40);
    assert!(bounded.chars().count() <= 40);
});
