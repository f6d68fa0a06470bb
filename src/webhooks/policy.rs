//! When to retry a delivery, when to give it up, and when to disable an endpoint that keeps failing: pure
//! functions of the attempts made and the engine's clock.

use chrono::Duration;

/// The retry schedule and the disabling threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// The wait after the first failed attempt; it doubles after each further failure.
    pub first_retry: Duration,
    /// The longest wait between two attempts.
    pub max_backoff: Duration,
    /// A delivery still failing this long after its first attempt is given up.
    pub give_up_after: Duration,
    /// Failed attempts in a row (any of the webhook's deliveries) before the webhook is disabled…
    pub disable_after_failures: i64,
    /// …provided they span at least this long.
    pub disable_after: Duration,
}

impl Default for Policy {
    /// 10 s doubling up to an hour, given up after 25 hours; disabled after 20 failures in a row over at least
    /// 24 hours — so an endpoint that is down is disabled before its oldest delivery would be given up, and
    /// re-enabling it delivers everything it missed.
    fn default() -> Self {
        Policy {
            first_retry: Duration::seconds(10),
            max_backoff: Duration::hours(1),
            give_up_after: Duration::hours(25),
            disable_after_failures: 20,
            disable_after: Duration::hours(24),
        }
    }
}

impl Policy {
    /// The wait before the next attempt after `failed` failed attempts (at least 1).
    pub fn backoff(&self, failed: i64) -> Duration {
        let doublings = (failed.max(1) - 1).min(30) as u32;
        let wait = self
            .first_retry
            .num_milliseconds()
            .saturating_mul(1_i64 << doublings);
        Duration::milliseconds(wait.min(self.max_backoff.num_milliseconds()))
    }

    /// Whether a delivery whose first attempt was at `first_ms` is given up after failing at `now_ms`.
    pub fn gives_up(&self, first_ms: i64, now_ms: i64) -> bool {
        now_ms - first_ms >= self.give_up_after.num_milliseconds()
    }

    /// Whether a webhook with `failures` failed attempts in a row since `since_ms` is disabled at `now_ms`.
    pub fn disables(&self, failures: i64, since_ms: i64, now_ms: i64) -> bool {
        failures >= self.disable_after_failures
            && now_ms - since_ms >= self.disable_after.num_milliseconds()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_double_from_ten_seconds_up_to_an_hour() {
        let p = Policy::default();
        let waits: Vec<i64> = (1..=12).map(|n| p.backoff(n).num_seconds()).collect();
        assert_eq!(
            waits,
            [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600, 3600]
        );
        assert_eq!(p.backoff(1_000).num_seconds(), 3600);
    }

    #[test]
    fn a_delivery_is_retried_for_a_day_before_it_is_given_up() {
        let p = Policy::default();
        // Attempts on the schedule, each failing, until the policy gives up.
        let (mut at, mut attempts) = (0_i64, 1_i64);
        while !p.gives_up(0, at) {
            at += p.backoff(attempts).num_milliseconds();
            attempts += 1;
        }
        assert!(at >= Duration::hours(25).num_milliseconds());
        assert!(attempts > 30, "{attempts} attempts");
    }

    #[test]
    fn an_endpoint_is_disabled_only_after_enough_failures_over_enough_time() {
        let p = Policy::default();
        let day = Duration::hours(24).num_milliseconds();
        assert!(!p.disables(19, 0, day));
        assert!(!p.disables(100, 0, day - 1));
        assert!(p.disables(20, 0, day));
    }
}
