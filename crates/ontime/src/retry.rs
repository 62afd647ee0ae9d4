//! When to try a call again: a pure policy value, testable without HTTP.

use ontime_raw::index::Operation;
use std::time::Duration;

use rand::Rng;

use crate::Error;

/// Whether repeating a call could change anything beyond what the first attempt did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Idempotency {
    /// Reads, and writes that set a value (posting a record with its ID, setting a requirement):
    /// repeating them leaves the same state. Retried on transient errors.
    Idempotent,
    /// Writes that append or create something new each time (status changes, position reports,
    /// attachment uploads). Never retried: a retry after a lost response would duplicate the write.
    NonIdempotent,
}

/// What the policy says after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryDecision {
    /// Wait this long, then try again.
    RetryAfter(Duration),
    /// Give up and return the error.
    Stop,
}

/// Exponential backoff with full jitter, bounded in attempts and in total time, honouring the
/// server's `Retry-After`.
///
/// Retried: 429, 502, 503, 504, timeouts, connection errors and bodies cut short
/// ([`Error::is_retryable`]) — for idempotent calls only. The `n`-th retry waits a random time
/// in `[0, min(max_backoff, initial_backoff × 2ⁿ⁻¹)]`, or exactly `Retry-After` when the server
/// sent one (a `Retry-After` beyond `max_retry_after` stops instead: a daily quota that resets in
/// hours is not worth waiting for).
///
/// ```
/// use std::time::Duration;
/// let policy = ontime::RetryPolicy::default()
///     .max_attempts(6)
///     .initial_backoff(Duration::from_millis(100))
///     .max_elapsed(Duration::from_secs(30));
/// assert_eq!(policy.attempts(), 6);
/// let never = ontime::RetryPolicy::none();
/// assert_eq!(never.attempts(), 1);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    max_elapsed: Duration,
    max_retry_after: Duration,
    jitter: bool,
}

impl Default for RetryPolicy {
    /// 4 attempts, 250 ms initial backoff doubling up to 8 s, at most 60 s in all, `Retry-After`
    /// honoured up to 60 s, full jitter.
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
            max_elapsed: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(60),
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Total attempts including the first (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Upper bound of the first retry's wait.
    pub fn initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// Cap of any single backoff wait.
    pub fn max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// No retry starts after this much time since the first attempt (waits included).
    pub fn max_elapsed(mut self, elapsed: Duration) -> Self {
        self.max_elapsed = elapsed;
        self
    }

    /// The longest `Retry-After` worth waiting for.
    pub fn max_retry_after(mut self, wait: Duration) -> Self {
        self.max_retry_after = wait;
        self
    }

    /// Randomise waits (on by default, so that many clients do not retry in lockstep).
    pub fn jitter(mut self, jitter: bool) -> Self {
        self.jitter = jitter;
        self
    }

    /// Total attempts including the first.
    pub fn attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The time after which no retry starts (see [`max_elapsed`](Self::max_elapsed)). A call
    /// can last at most this plus one attempt's timeout.
    pub fn elapsed_limit(&self) -> Duration {
        self.max_elapsed
    }

    /// The wait before retry number `retry` (1-based), without jitter: the upper bound.
    pub fn backoff_ceiling(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.saturating_sub(1));
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }

    /// Decides what to do after attempt number `attempt` (1-based) failed with `error`,
    /// `elapsed` after the first attempt started.
    pub fn decide(
        &self,
        attempt: u32,
        elapsed: Duration,
        error: &Error,
        idempotency: Idempotency,
        rng: &mut impl Rng,
    ) -> RetryDecision {
        if idempotency == Idempotency::NonIdempotent
            || !error.is_retryable()
            || attempt >= self.max_attempts
        {
            return RetryDecision::Stop;
        }
        let wait = match error.retry_after() {
            Some(wait) if wait > self.max_retry_after => return RetryDecision::Stop,
            Some(wait) => wait,
            None => {
                let ceiling = self.backoff_ceiling(attempt);
                if self.jitter && !ceiling.is_zero() {
                    rng.random_range(Duration::ZERO..=ceiling)
                } else {
                    ceiling
                }
            }
        };
        if elapsed.saturating_add(wait) > self.max_elapsed {
            return RetryDecision::Stop;
        }
        RetryDecision::RetryAfter(wait)
    }
}

/// One retry about to happen, as [`ClientBuilder::on_retry`](crate::ClientBuilder::on_retry)
/// callbacks and the `retrying` tracing event (WARN, target `ontime::retry`) report it.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct RetryEvent<'a> {
    /// The operation being retried.
    pub operation: Operation,
    /// The attempt that just failed (1-based); the next one is `attempt + 1`.
    pub attempt: u32,
    /// The most attempts the policy allows.
    pub max_attempts: u32,
    /// How long the client waits before the next attempt.
    pub wait: Duration,
    /// True when the wait is what the server asked for (`Retry-After`), false for backoff.
    pub server_asked: bool,
    /// Time since the first attempt started.
    pub elapsed: Duration,
    /// Why the attempt failed.
    pub error: &'a Error,
}

/// A callback run before every retry wait.
#[derive(Clone)]
pub(crate) struct RetryHook(pub(crate) std::sync::Arc<dyn Fn(&RetryEvent<'_>) + Send + Sync>);

impl std::fmt::Debug for RetryHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RetryHook")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn server(status: u16, retry_after: Option<u64>) -> Error {
        Error::Server {
            operation: Operation::OrdersGet,
            status,
            message: None,
            retry_after: retry_after.map(Duration::from_secs),
            retried: None,
        }
    }

    const ZERO: Duration = Duration::ZERO;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy::default()
            .initial_backoff(Duration::from_millis(100))
            .max_backoff(Duration::from_millis(500));
        let waits: Vec<u128> = (1..=5).map(|n| p.backoff_ceiling(n).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 500, 500]);
        assert_eq!(
            p.backoff_ceiling(80),
            Duration::from_millis(500),
            "no overflow on huge attempt numbers"
        );
    }

    #[test]
    fn without_jitter_the_wait_is_the_ceiling() {
        let p = RetryPolicy::default()
            .jitter(false)
            .initial_backoff(Duration::from_millis(100));
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(
            p.decide(
                1,
                ZERO,
                &server(503, None),
                Idempotency::Idempotent,
                &mut rng
            ),
            RetryDecision::RetryAfter(Duration::from_millis(100))
        );
        assert_eq!(
            p.decide(
                2,
                ZERO,
                &server(503, None),
                Idempotency::Idempotent,
                &mut rng
            ),
            RetryDecision::RetryAfter(Duration::from_millis(200))
        );
    }

    #[test]
    fn jitter_stays_within_the_ceiling_and_varies() {
        let p = RetryPolicy::default()
            .initial_backoff(Duration::from_millis(800))
            .max_attempts(10);
        let mut rng = StdRng::seed_from_u64(7);
        let waits: Vec<Duration> = (0..50)
            .map(|_| {
                match p.decide(
                    1,
                    ZERO,
                    &server(502, None),
                    Idempotency::Idempotent,
                    &mut rng,
                ) {
                    RetryDecision::RetryAfter(w) => w,
                    RetryDecision::Stop => panic!("should retry"),
                }
            })
            .collect();
        assert!(waits.iter().all(|w| *w <= Duration::from_millis(800)));
        assert!(
            waits.iter().any(|w| *w != waits[0]),
            "jitter varies the wait"
        );
    }

    #[test]
    fn attempts_are_bounded() {
        let p = RetryPolicy::default().max_attempts(3);
        let mut rng = StdRng::seed_from_u64(1);
        assert!(matches!(
            p.decide(
                2,
                ZERO,
                &server(503, None),
                Idempotency::Idempotent,
                &mut rng
            ),
            RetryDecision::RetryAfter(_)
        ));
        assert_eq!(
            p.decide(
                3,
                ZERO,
                &server(503, None),
                Idempotency::Idempotent,
                &mut rng
            ),
            RetryDecision::Stop
        );
        assert_eq!(
            RetryPolicy::none().decide(
                1,
                ZERO,
                &server(503, None),
                Idempotency::Idempotent,
                &mut rng
            ),
            RetryDecision::Stop
        );
    }

    #[test]
    fn total_time_is_bounded() {
        let p = RetryPolicy::default()
            .jitter(false)
            .initial_backoff(Duration::from_secs(2))
            .max_elapsed(Duration::from_secs(10));
        let mut rng = StdRng::seed_from_u64(1);
        assert!(matches!(
            p.decide(
                1,
                Duration::from_secs(7),
                &server(503, None),
                Idempotency::Idempotent,
                &mut rng
            ),
            RetryDecision::RetryAfter(_)
        ));
        assert_eq!(
            p.decide(
                1,
                Duration::from_secs(9),
                &server(503, None),
                Idempotency::Idempotent,
                &mut rng
            ),
            RetryDecision::Stop
        );
    }

    #[test]
    fn retry_after_is_honoured_exactly_and_capped() {
        let p = RetryPolicy::default();
        let mut rng = StdRng::seed_from_u64(1);
        let limited = Error::RateLimited {
            operation: Operation::OrdersFind,
            retry_after: Some(Duration::from_secs(3)),
            message: None,
            retried: None,
        };
        assert_eq!(
            p.decide(1, ZERO, &limited, Idempotency::Idempotent, &mut rng),
            RetryDecision::RetryAfter(Duration::from_secs(3))
        );
        assert_eq!(
            p.decide(
                1,
                ZERO,
                &server(503, Some(5)),
                Idempotency::Idempotent,
                &mut rng
            ),
            RetryDecision::RetryAfter(Duration::from_secs(5))
        );
        // A quota that resets in hours is not worth waiting for.
        let day = Error::RateLimited {
            operation: Operation::OrdersFind,
            retry_after: Some(Duration::from_secs(7200)),
            message: None,
            retried: None,
        };
        assert_eq!(
            p.decide(1, ZERO, &day, Idempotency::Idempotent, &mut rng),
            RetryDecision::Stop
        );
    }

    #[test]
    fn only_transient_errors_of_idempotent_calls_are_retried() {
        let p = RetryPolicy::default();
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(
            p.decide(
                1,
                ZERO,
                &server(503, None),
                Idempotency::NonIdempotent,
                &mut rng
            ),
            RetryDecision::Stop
        );
        assert_eq!(
            p.decide(
                1,
                ZERO,
                &server(500, None),
                Idempotency::Idempotent,
                &mut rng
            ),
            RetryDecision::Stop
        );
        let bad = Error::BadRequest {
            operation: Operation::OrderPost,
            message: None,
        };
        assert_eq!(
            p.decide(1, ZERO, &bad, Idempotency::Idempotent, &mut rng),
            RetryDecision::Stop
        );
        let timeout = Error::Timeout {
            operation: Operation::OrdersGet,
            after: Duration::from_secs(1),
            retried: None,
        };
        assert!(matches!(
            p.decide(1, ZERO, &timeout, Idempotency::Idempotent, &mut rng),
            RetryDecision::RetryAfter(_)
        ));
    }
}
