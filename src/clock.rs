//! Time as an input. The engine never reads the wall clock itself: it asks a `Clock`, which is either the
//! system's or a manual one that only moves when an operator (or a test, or the simulation) moves it.

use std::sync::Mutex;

use chrono::{DateTime, Utc};

/// A source of `now`.
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;

    /// Whether this clock is moved by hand (`POST /v1/admin/clock`).
    fn is_manual(&self) -> bool {
        false
    }

    /// Moves a manual clock forward; the system clock refuses.
    fn set(&self, _to: DateTime<Utc>) -> Result<(), ClockError> {
        Err(ClockError::NotManual)
    }
}

/// Why a clock could not be moved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    /// Only the manual clock can be set.
    #[error("the clock is not manual")]
    NotManual,
    /// Time only moves forward.
    #[error("the clock only moves forward")]
    Backwards,
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until it is set, and only ever forward.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    /// A manual clock standing at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().expect("clock lock")
    }

    fn is_manual(&self) -> bool {
        true
    }

    fn set(&self, to: DateTime<Utc>) -> Result<(), ClockError> {
        let mut now = self.now.lock().expect("clock lock");
        if to < *now {
            return Err(ClockError::Backwards);
        }
        *now = to;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manual_clock_only_moves_forward() {
        let t0 = DateTime::parse_from_rfc3339("2026-11-28T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let c = ManualClock::new(t0);
        assert_eq!(c.now(), t0);
        let t1 = t0 + chrono::Duration::minutes(5);
        c.set(t1).unwrap();
        assert_eq!(c.now(), t1);
        assert_eq!(c.set(t0), Err(ClockError::Backwards));
        assert_eq!(SystemClock.set(t1), Err(ClockError::NotManual));
    }
}
