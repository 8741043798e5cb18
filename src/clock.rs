//! Where time comes from: the real clock live, a virtual one in replay and tests.
//! Nothing below the app loop calls `Utc::now()` directly.

use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex};

/// A source of "now".
#[derive(Clone, Debug)]
pub enum Clock {
    Real,
    Virtual(Arc<Mutex<DateTime<Utc>>>),
}

impl Clock {
    /// A virtual clock stopped at `start`; move it with [`Clock::set`] or [`Clock::advance`].
    pub fn virtual_at(start: DateTime<Utc>) -> Self {
        Clock::Virtual(Arc::new(Mutex::new(start)))
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::Real => Utc::now(),
            Clock::Virtual(t) => *t.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// Sets a virtual clock; a no-op on the real one.
    pub fn set(&self, at: DateTime<Utc>) {
        if let Clock::Virtual(t) = self {
            *t.lock().unwrap_or_else(|e| e.into_inner()) = at;
        }
    }

    pub fn advance(&self, by: chrono::Duration) {
        if let Clock::Virtual(t) = self {
            let mut guard = t.lock().unwrap_or_else(|e| e.into_inner());
            *guard += by;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_clock_moves_only_when_told() {
        let start = DateTime::parse_from_rfc3339("2026-11-29T03:00:00Z").map(|t| t.with_timezone(&Utc)).expect("valid time");
        let clock = Clock::virtual_at(start);
        assert_eq!(clock.now(), start);
        clock.advance(chrono::Duration::seconds(90));
        assert_eq!(clock.now(), start + chrono::Duration::seconds(90));
    }
}
