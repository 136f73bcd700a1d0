//! Retrying transient failures: exponential backoff with full jitter, at most
//! a few times; permanent failures return at once.

use std::future::Future;
use std::time::Duration;

use devicevault_core::RetryClass;

/// How many times and how long to wait between retries.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries after the first attempt (the design's maximum is 3).
    pub max_retries: u32,
    /// Delay before the first retry, doubled for each next one.
    pub base_delay: Duration,
    /// Upper bound of one delay.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The delay before retry number `retry` (0-based): a random duration
    /// between half and all of `base * 2^retry`, capped. Jitter keeps a fleet
    /// of collectors from hammering a recovering device in lockstep.
    pub fn delay(&self, retry: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32.checked_shl(retry.min(20)).unwrap_or(u32::MAX))
            .min(self.max_delay);
        let half = exp / 2;
        half + half.mul_f64(jitter_fraction())
    }
}

impl RetryPolicy {
    /// The longest a collection under this policy can take, each attempt
    /// bounded by `attempt_limit`: every attempt, and the longest delay
    /// before each retry.
    pub fn worst_case(&self, attempt_limit: Duration) -> Duration {
        let delays: Duration = (0..self.max_retries)
            .map(|r| {
                self.base_delay
                    .saturating_mul(1u32.checked_shl(r.min(20)).unwrap_or(u32::MAX))
                    .min(self.max_delay)
            })
            .sum();
        attempt_limit.saturating_mul(self.max_retries.saturating_add(1)) + delays
    }
}

/// A number in [0, 1) that differs between calls and processes. Not
/// cryptographic; it only spreads retries out.
fn jitter_fraction() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Runs `op` until it succeeds, fails permanently, or has been retried
/// `policy.max_retries` times. `op` gets the attempt number (0 for the first).
pub async fn retry<T, E, F, Fut>(policy: &RetryPolicy, mut op: F) -> Result<T, E>
where
    E: RetryClass + std::fmt::Display,
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut attempt = 0;
    loop {
        match op(attempt).await {
            Ok(v) => return Ok(v),
            Err(e) if e.is_transient() && attempt < policy.max_retries => {
                let d = policy.delay(attempt);
                tracing::warn!(attempt, delay_ms = d.as_millis() as u64, error = %e, "transient failure, retrying");
                tokio::time::sleep(d).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CollectError;

    #[test]
    fn the_worst_case_is_every_attempt_and_the_longest_delays() {
        let p = RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(3),
        };
        // 4 attempts of 10 s, delays 1 + 2 + 3 (capped).
        assert_eq!(
            p.worst_case(Duration::from_secs(10)),
            Duration::from_secs(46)
        );
        let none = RetryPolicy {
            max_retries: 0,
            ..p
        };
        assert_eq!(
            none.worst_case(Duration::from_secs(10)),
            Duration::from_secs(10)
        );
    }

    fn fast() -> RetryPolicy {
        RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
        }
    }

    fn transient() -> CollectError {
        CollectError::Connect {
            target: "admin@10.0.0.1:22".into(),
            reason: "connection refused".into(),
        }
    }

    #[tokio::test]
    async fn transient_errors_are_retried_three_times_then_returned() {
        let mut calls = 0;
        let r: Result<(), _> = retry(&fast(), |_| {
            calls += 1;
            async { Err(transient()) }
        })
        .await;
        assert!(r.is_err());
        assert_eq!(calls, 4);
    }

    #[tokio::test]
    async fn permanent_errors_are_not_retried() {
        let mut calls = 0;
        let r: Result<(), _> = retry(&fast(), |_| {
            calls += 1;
            async {
                Err(CollectError::AuthFailed {
                    target: "admin@10.0.0.1:22".into(),
                })
            }
        })
        .await;
        assert!(matches!(r, Err(CollectError::AuthFailed { .. })));
        assert_eq!(calls, 1);
    }

    #[tokio::test]
    async fn a_success_after_a_transient_failure_is_returned() {
        let r = retry(&fast(), |attempt| async move {
            if attempt == 0 {
                Err(transient())
            } else {
                Ok(attempt)
            }
        })
        .await;
        assert_eq!(r.unwrap(), 1);
    }

    #[test]
    fn delays_grow_exponentially_within_jitter_and_cap() {
        let p = RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
        };
        for _ in 0..50 {
            let d0 = p.delay(0);
            assert!(
                d0 >= Duration::from_millis(50) && d0 <= Duration::from_millis(100),
                "{d0:?}"
            );
            let d1 = p.delay(1);
            assert!(
                d1 >= Duration::from_millis(100) && d1 <= Duration::from_millis(200),
                "{d1:?}"
            );
            let d5 = p.delay(5);
            assert!(d5 <= Duration::from_millis(300), "{d5:?}");
        }
    }
}
