//! The one retry policy for a lost race on a complaint: a bounded number of
//! attempts, each after a short randomised pause that grows, so racing
//! writers do not collide again in lockstep.

use std::time::Duration;

/// How often, and after what pauses, a command is re-decided after losing a race.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1).
    pub max_attempts: u32,
    /// The longest pause after the first lost race; it doubles after each
    /// further loss, up to `max_pause`.
    pub first_pause: Duration,
    /// The longest pause ever.
    pub max_pause: Duration,
}

impl Default for RetryPolicy {
    /// 10 attempts, pauses of up to 4 ms doubling to at most 128 ms.
    fn default() -> Self {
        Self {
            max_attempts: 10,
            first_pause: Duration::from_millis(4),
            max_pause: Duration::from_millis(128),
        }
    }
}

impl RetryPolicy {
    /// The longest pause after losing `attempt` (1-based).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let doubled = self
            .first_pause
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        doubled.min(self.max_pause)
    }

    /// Sleeps a random time up to the ceiling after losing `attempt`.
    pub(crate) async fn pause(&self, attempt: u32) {
        let max = self.ceiling(attempt).as_micros() as u64;
        if max == 0 {
            return;
        }
        let us = rand::random_range(0..max);
        tokio::time::sleep(Duration::from_micros(us)).await;
    }
}
