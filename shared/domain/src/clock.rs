//! The one source of "now" for every role. Production reads the system clock; tests and the
//! sandbox mode use a [`ManualClock`] they can set and advance, so a year of billing can be
//! walked in seconds.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};

/// Something that tells the time, in UTC, truncated to whole microseconds (the precision both
/// stores keep, so a time read back equals the time written).
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;
}

/// Shared handle to a clock.
pub type SharedClock = Arc<dyn Clock>;

/// Truncates to the microsecond, the precision of PostgreSQL's `timestamptz`.
pub fn to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(t)
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        to_micros(Utc::now())
    }
}

/// A clock that stands still until it is set or advanced (tests, sandbox mode).
#[derive(Debug)]
pub struct ManualClock {
    // std Mutex: held for a copy only, never across an .await.
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    /// A clock showing `now`.
    pub fn new(now: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(to_micros(now)),
        }
    }

    /// Sets the time.
    pub fn set(&self, now: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = to_micros(now);
    }

    /// Moves the time forward (or back, with a negative delta) and returns the new time.
    pub fn advance(&self, by: TimeDelta) -> DateTime<Utc> {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now = to_micros(*now + by);
        *now
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_advances_and_truncates_to_microseconds() {
        let start = DateTime::parse_from_rfc3339("2026-01-31T10:00:00.123456789Z")
            .expect("valid literal")
            .with_timezone(&Utc);
        let clock = ManualClock::new(start);
        assert_eq!(
            clock.now().timestamp_subsec_nanos(),
            123_456_000,
            "kept to microseconds"
        );
        let later = clock.advance(TimeDelta::days(1));
        assert_eq!(later - clock.now(), TimeDelta::zero());
        assert_eq!(later.date_naive().to_string(), "2026-02-01");
    }
}
