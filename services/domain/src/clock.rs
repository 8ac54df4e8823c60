//! Time as a dependency: services ask a [`Clock`] instead of the system, so
//! deadline and time-travel tests run in milliseconds with a [`ManualClock`].

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use time::OffsetDateTime;

use crate::calendar::{from_unix_ms, unix_ms};

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now.
    fn now(&self) -> OffsetDateTime;
    /// Now, in Unix milliseconds.
    fn now_ms(&self) -> i64 {
        unix_ms(self.now())
    }
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// The system clock shifted by a fixed offset: lets an operator (or an
/// end-to-end test) see what the deadline scanner does some days from now.
#[derive(Debug, Clone, Copy, Default)]
pub struct OffsetClock {
    /// Added to the system time.
    pub offset: time::Duration,
}

impl Clock for OffsetClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + self.offset
    }
}

/// A clock that moves only when told to; clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    ms: Arc<AtomicI64>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: OffsetDateTime) -> Self {
        Self {
            ms: Arc::new(AtomicI64::new(unix_ms(start))),
        }
    }
    /// Moves the clock to `t`.
    pub fn set(&self, t: OffsetDateTime) {
        self.ms.store(unix_ms(t), Ordering::SeqCst);
    }
    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: time::Duration) {
        self.ms
            .fetch_add(d.whole_milliseconds() as i64, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        from_unix_ms(self.ms.load(Ordering::SeqCst)).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

/// A shared clock handle.
pub type SharedClock = Arc<dyn Clock>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offset_clock_runs_ahead_by_its_offset() {
        let ahead = OffsetClock {
            offset: time::Duration::days(3),
        };
        let lead = ahead.now_ms() - SystemClock.now_ms();
        assert!((lead - 3 * 86_400_000).abs() < 60_000, "{lead} ms ahead");
    }

    #[test]
    fn a_manual_clock_is_set_where_told() {
        let c = ManualClock::new(time::macros::datetime!(2026-11-23 09:00 UTC));
        let t = time::macros::datetime!(2027-01-02 03:04 UTC);
        c.set(t);
        assert_eq!((c.now(), c.now_ms()), (t, unix_ms(t)));
    }

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let start = time::macros::datetime!(2026-11-23 09:00 UTC);
        let c = ManualClock::new(start);
        let shared = c.clone();
        assert_eq!(c.now(), start);
        shared.advance(time::Duration::hours(2));
        assert_eq!(c.now(), start + time::Duration::hours(2));
    }
}
