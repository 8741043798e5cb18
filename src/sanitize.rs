//! Untrusted text (pod names, events, Redis keys, S3 keys, error texts) made safe for the terminal.
//! Applied once, where outside text enters the Model; secrets are scrubbed here too.

/// Removes escape sequences, control characters and bidi overrides; keeps printable Unicode.
/// Tabs and newlines become a single space so one value stays on one line.
pub fn sanitize(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            '\u{9b}' => skip_csi_body(&mut chars),
            '\t' | '\n' | '\r' => {
                if !out.ends_with(' ') {
                    out.push(' ');
                }
            }
            c if is_unsafe(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// Like [`sanitize`], but keeps line breaks (`\r\n` and `\n` become `\n`), for texts shown as
/// several lines (a runbook step's output, a drill scorecard, a note).
pub fn sanitize_lines(input: &str) -> String {
    input.split('\n').map(|line| sanitize(line.strip_suffix('\r').unwrap_or(line))).collect::<Vec<_>>().join("\n")
}

/// Applies `clean` to every string in a JSON document, object keys included: a file from outside
/// (a recording) is made safe once, where it is read, whatever field it ends up displayed from.
pub fn sanitize_json(value: &mut serde_json::Value, clean: fn(&str) -> String) {
    match value {
        serde_json::Value::String(s) if s.chars().any(is_unsafe) => *s = clean(s),
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| sanitize_json(v, clean)),
        serde_json::Value::Object(map) => {
            let entries = std::mem::take(map);
            for (key, mut v) in entries {
                sanitize_json(&mut v, clean);
                map.insert(clean(&key), v);
            }
        }
        _ => {}
    }
}

/// Sanitizes and bounds the length (in chars), marking a cut with an ellipsis.
pub fn sanitize_bounded(input: &str, max_chars: usize) -> String {
    let clean = sanitize(input);
    if clean.chars().count() <= max_chars {
        return clean;
    }
    let mut cut: String = clean.chars().take(max_chars.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// A character that must never reach the terminal raw (controls, C1, bidi overrides, BOM).
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200e}' | '\u{200f}'            // LRM, RLM
            | '\u{202a}'..='\u{202e}'          // LRE RLE PDF LRO RLO
            | '\u{2066}'..='\u{2069}'          // LRI RLI FSI PDI
            | '\u{061c}'                       // Arabic letter mark
            | '\u{feff}'                       // BOM / zero-width no-break space
        )
}

fn skip_escape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    match chars.next() {
        Some('[') => skip_csi_body(chars),
        // OSC, DCS, SOS, PM, APC: run until BEL or ST (ESC \).
        Some(']' | 'P' | 'X' | '^' | '_') => {
            while let Some(c) = chars.next() {
                if c == '\u{7}' {
                    break;
                }
                if c == '\u{1b}' {
                    chars.next_if_eq(&'\\');
                    break;
                }
            }
        }
        // Two-byte sequences with an intermediate (e.g. ESC ( B) take one more char.
        Some('(' | ')' | '*' | '+' | '#' | '%') => {
            chars.next();
        }
        _ => {}
    }
}

fn skip_csi_body(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    // Parameters and intermediates are 0x20..=0x3f; the final byte is 0x40..=0x7e.
    for c in chars.by_ref() {
        if ('\u{40}'..='\u{7e}').contains(&c) {
            break;
        }
        if !('\u{20}'..='\u{3f}').contains(&c) {
            break;
        }
    }
}

/// Outside text, sanitized and redacted, bounded to one screen line: the one way a server's,
/// an API object's or a file's words reach the screen.
pub fn clean(text: &str) -> String {
    sanitize_bounded(&redact_secrets(text), 240)
}

/// Hides passwords in DSNs and URLs, and values of secret-looking keys, so they never reach
/// the screen, the logs or a recording.
pub fn redact_secrets(input: &str) -> String {
    let mut out = redact_aws_key_ids(&redact_url_passwords(input));
    for key in ["password", "passwd", "secret", "token", "aws_secret_access_key"] {
        out = redact_key_values(&out, key);
    }
    out
}

/// AWS access key ids (AKIA/ASIA + 16 upper-case letters or digits) are credentials too.
fn redact_aws_key_ids(input: &str) -> String {
    let chars: Vec<char> = input.chars().collect();
    let mut out = String::with_capacity(input.len());
    let mut i = 0;
    while i < chars.len() {
        let prefix: String = chars[i..(i + 4).min(chars.len())].iter().collect();
        let body = chars.get(i + 4..i + 20);
        if (prefix == "AKIA" || prefix == "ASIA") && body.is_some_and(|b| b.iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())) {
            out.push_str(&prefix);
            out.push_str("****************");
            i += 20;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

fn redact_url_passwords(input: &str) -> String {
    // scheme://user:password@host -> scheme://user:***@host
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(pos) = rest.find("://") {
        let (head, tail) = rest.split_at(pos + 3);
        out.push_str(head);
        let end = tail.find(|c: char| c == '/' || c.is_whitespace() || c == '"' || c == '\'').unwrap_or(tail.len());
        let authority = &tail[..end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at), Some(colon)) if colon < at => {
                out.push_str(&authority[..=colon]);
                out.push_str("***");
                out.push_str(&authority[at..]);
            }
            _ => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

fn redact_key_values(input: &str, key: &str) -> String {
    let lower = input.to_ascii_lowercase();
    let mut out = String::with_capacity(input.len());
    let mut last = 0;
    let mut search = 0;
    while let Some(found) = lower[search..].find(key) {
        let start = search + found;
        let mut i = start + key.len();
        let bytes = input.as_bytes();
        // Allow `key=value`, `key: value`, `"key": "value"`.
        while i < bytes.len() && matches!(bytes[i], b'"' | b' ' | b'\'') {
            i += 1;
        }
        if i < bytes.len() && matches!(bytes[i], b'=' | b':') {
            i += 1;
            while i < bytes.len() && matches!(bytes[i], b' ' | b'"' | b'\'') {
                i += 1;
            }
            let value_end = input[i..]
                .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | '}' | '&' | ';'))
                .map_or(input.len(), |e| i + e);
            if value_end > i {
                out.push_str(&input[last..i]);
                out.push_str("***");
                last = value_end;
            }
            search = value_end.max(start + key.len());
        } else {
            search = start + key.len();
        }
    }
    out.push_str(&input[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_and_controls_never_survive() {
        let evil = "pod-\u{1b}[31mred\u{1b}[0m\u{1b}]0;title\u{7}\u{8}x\u{202e}cba\u{9b}2J";
        let clean = sanitize(evil);
        assert_eq!(clean, "pod-redxcba");
        assert!(!clean.chars().any(|c| c.is_control()));
    }

    #[test]
    fn lines_keep_their_breaks_and_lose_everything_else() {
        assert_eq!(sanitize_lines("a\u{1b}[2J\r\nb\u{202e}\n\u{85}c\td"), "a\nb\nc d");
    }

    #[test]
    fn json_strings_and_keys_are_cleaned_in_place() {
        let mut v = serde_json::json!({"banner": "x\u{1b}]0;t\u{7}y", "k\u{1b}[1m": ["\u{9b}2Jz", 1], "ok": "line\nbreak"});
        sanitize_json(&mut v, sanitize_lines);
        assert_eq!(v, serde_json::json!({"banner": "xy", "k": ["z", 1], "ok": "line\nbreak"}));
    }

    #[test]
    fn newlines_fold_to_one_space() {
        assert_eq!(sanitize("a\r\n\tb"), "a b");
    }

    #[test]
    fn bounded_text_is_cut_with_an_ellipsis() {
        assert_eq!(sanitize_bounded("abcdef", 4), "abc…");
        assert_eq!(sanitize_bounded("abc", 4), "abc");
    }

    #[test]
    fn passwords_in_urls_and_dsns_are_hidden() {
        assert_eq!(redact_secrets("redis://:hunter2@10.0.0.1:6379/0"), "redis://:***@10.0.0.1:6379/0");
        assert_eq!(redact_secrets("host=db user=app password=hunter2 dbname=x"), "host=db user=app password=*** dbname=x");
        assert_eq!(redact_secrets(r#"{"token": "abc"}"#), r#"{"token": "***"}"#);
        assert_eq!(redact_secrets("no secrets here"), "no secrets here");
        assert_eq!(redact_secrets("key AKIASITREPLAB0000001 denied"), "key AKIA**************** denied");
    }
}
