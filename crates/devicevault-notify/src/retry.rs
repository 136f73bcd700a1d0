//! When the outbox tries again: exponential backoff with a cap and jitter,
//! and a final "dead" after a number of attempts. Pure functions of their
//! inputs, so the outbox can compute the next attempt time in the same
//! transaction that records the failure, and tests need no clock.

use std::time::Duration;

use devicevault_core::{RetryClass, Timestamp};

use crate::error::DeliveryError;

/// How often and how long to wait between delivery attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait after the first failed attempt; doubled after each next one.
    pub first_delay: Duration,
    /// Upper bound of one wait (before a receiver's `Retry-After`, which
    /// may ask for up to this much too).
    pub max_delay: Duration,
    /// Attempts in all; the delivery is dead after this many failures.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    /// 30 s, 1 min, 2 min, … capped at 1 h, dead after 10 attempts: about
    /// six hours of trying, enough to ride out a mail server's maintenance
    /// window without piling up a day of stale notifications.
    fn default() -> Self {
        RetryPolicy {
            first_delay: Duration::from_secs(30),
            max_delay: Duration::from_secs(3600),
            max_attempts: 10,
        }
    }
}

/// What the outbox does after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextAttempt {
    /// Try again at this time.
    At(Timestamp),
    /// Give up: the delivery is dead, with the last error recorded.
    Dead,
}

impl RetryPolicy {
    /// The wait after failed attempt `attempt` (1 for the first attempt):
    /// `first_delay * 2^(attempt-1)`, capped, then a point between half and
    /// all of it chosen by `jitter_key` (the event id), so deliveries that
    /// failed together spread out instead of retrying in lockstep, while the
    /// same event and attempt always give the same wait.
    pub fn delay(&self, attempt: u32, jitter_key: i64) -> Duration {
        let doublings = attempt.saturating_sub(1).min(30);
        let full = self
            .first_delay
            .saturating_mul(1u32 << doublings)
            .min(self.max_delay);
        let half = full / 2;
        half + half.mul_f64(unit_fraction(jitter_key, attempt))
    }

    /// After attempt number `attempt` (1-based) failed at `failed_at` with
    /// `error`: dead when the error is permanent or this was the last
    /// attempt, otherwise the time of the next one (no earlier than the
    /// receiver's `Retry-After`, up to `max_delay`).
    pub fn after_failure(
        &self,
        attempt: u32,
        failed_at: Timestamp,
        error: &DeliveryError,
        event_id: i64,
    ) -> NextAttempt {
        if !error.is_transient() || attempt >= self.max_attempts {
            return NextAttempt::Dead;
        }
        let mut wait = self.delay(attempt, event_id);
        if let Some(asked) = error.retry_after() {
            wait = wait.max(asked.min(self.max_delay));
        }
        NextAttempt::At(Timestamp::from_datetime(failed_at.as_datetime() + wait))
    }
}

/// A number in [0, 1) from a key and an attempt (SplitMix64): spread, not
/// secret.
fn unit_fraction(key: i64, attempt: u32) -> f64 {
    let mut z = (key as u64) ^ (u64::from(attempt) << 40) ^ 0x9e37_79b9_7f4a_7c15;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transient() -> DeliveryError {
        DeliveryError::Connect {
            target: "mx:25".into(),
            reason: "connection refused".into(),
        }
    }

    fn at(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    #[test]
    fn waits_double_within_jitter_and_stop_at_the_cap() {
        let p = RetryPolicy::default();
        for key in 0..200 {
            for attempt in 1..=9u32 {
                let full = Duration::from_secs(30 * (1u64 << (attempt - 1))).min(p.max_delay);
                let d = p.delay(attempt, key);
                assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?}");
                assert_eq!(d, p.delay(attempt, key), "deterministic");
            }
        }
        assert!(p.delay(u32::MAX, 1) <= p.max_delay);
        // Jitter spreads events that failed together.
        let spread: std::collections::BTreeSet<_> = (0..50).map(|k| p.delay(3, k)).collect();
        assert!(spread.len() > 40);
    }

    #[test]
    fn transient_failures_are_retried_until_the_last_attempt_then_dead() {
        let p = RetryPolicy::default();
        let t = at("2026-03-01T10:00:00Z");
        match p.after_failure(1, t, &transient(), 42) {
            NextAttempt::At(next) => {
                let wait = next.unix_millis() - t.unix_millis();
                assert!((15_000..=30_000).contains(&wait), "{wait}");
            }
            NextAttempt::Dead => panic!("dead after one transient failure"),
        }
        assert!(matches!(
            p.after_failure(9, t, &transient(), 42),
            NextAttempt::At(_)
        ));
        assert_eq!(p.after_failure(10, t, &transient(), 42), NextAttempt::Dead);
    }

    #[test]
    fn permanent_failures_are_dead_at_once() {
        let e = DeliveryError::SmtpReply {
            target: "mx:25".into(),
            code: 550,
            message: "5.1.1 no such user".into(),
        };
        let p = RetryPolicy::default();
        assert_eq!(
            p.after_failure(1, at("2026-03-01T10:00:00Z"), &e, 1),
            NextAttempt::Dead
        );
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let p = RetryPolicy::default();
        let t = at("2026-03-01T10:00:00Z");
        let limited = |secs| DeliveryError::HttpStatus {
            target: "https://hooks.slack.com/…".into(),
            status: 429,
            retry_after: Some(Duration::from_secs(secs)),
            excerpt: String::new(),
        };
        let wait = |e| match p.after_failure(1, t, &e, 7) {
            NextAttempt::At(n) => (n.unix_millis() - t.unix_millis()) / 1000,
            NextAttempt::Dead => panic!("dead"),
        };
        assert_eq!(wait(limited(600)), 600);
        assert_eq!(wait(limited(86_400)), 3600);
        assert!(wait(limited(1)) >= 15);
    }
}
