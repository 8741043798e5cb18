//! Numbers for people: compact ages and durations for panes, exact durations for reports, sizes.
//! Depends on nothing above it, so the detector, the drill, replay and the UI share one wording.

use chrono::{DateTime, Utc};

/// A compact age: 45s, 12m, 3h, 2d (a time in the future reads as 0s).
pub fn age(now: DateTime<Utc>, then: DateTime<Utc>) -> String {
    duration((now - then).num_seconds().max(0))
}

/// A compact duration: 45s, 12m, 3h, 2d.
pub fn duration(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// An exact duration for reports: 45s, 12m 30s, 1h 02m 05s (negative with a sign).
pub fn duration_exact(secs: i64) -> String {
    let sign = if secs < 0 { "-" } else { "" };
    let s = secs.unsigned_abs();
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, sec) => format!("{sign}{sec}s"),
        (0, m, sec) => format!("{sign}{m}m {sec:02}s"),
        (h, m, sec) => format!("{sign}{h}h {m:02}m {sec:02}s"),
    }
}

/// Bytes in IEC units, short.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{n}B") } else { format!("{v:.1}{}", UNITS[unit]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes_read_like_a_person_wrote_them() {
        let cases = [
            (duration_exact(45), "45s"),
            (duration_exact(750), "12m 30s"),
            (duration_exact(3725), "1h 02m 05s"),
            (duration_exact(-90), "-1m 30s"),
            (duration(45), "45s"),
            (duration(600), "10m"),
            (duration(3 * 3600), "3h"),
            (duration(3 * 86_400), "3d"),
            (bytes(512), "512B"),
            (bytes(1536), "1.5KiB"),
            (bytes(16 * 1024 * 1024), "16.0MiB"),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
    }
}
