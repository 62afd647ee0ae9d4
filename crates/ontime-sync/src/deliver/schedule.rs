//! When a failed delivery is tried again, and when it is given up.
//!
//! A [`RetrySchedule`] is a list of waits: the first attempt happens as soon as the event is
//! queued, the *n*-th retry `waits[n - 1]` after the previous attempt failed. After the last
//! wait is used up, the next failure is final ([`Next::Dead`]: the dispatcher dead-letters the
//! delivery). The default follows Svix: retries after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and
//! 10 h — 8 attempts spread over about 27.6 hours.
//!
//! **Jitter.** Every wait is jittered so that the deliveries failed by one outage do not all
//! come back at the same instant: by default each wait is scaled by a factor drawn uniformly
//! from [0.8, 1.2] ([`Jitter::Proportional`]); [`Jitter::Full`] draws from [0, wait] instead
//! (the "full jitter" of the AWS backoff article), [`Jitter::None`] keeps the exact waits
//! (tests). The random source is passed in, so a test can seed it.
//!
//! **`Retry-After`.** A receiver's `Retry-After` (429, 503, …) is honoured as a *lower bound*:
//! the retry happens at the later of the scheduled (jittered) time and `now + Retry-After`.
//! It is never earlier than the schedule — a `Retry-After: 0` from a struggling receiver does
//! not make us hammer it — and it is capped at [`RetrySchedule::max_retry_after`] (default
//! 10 h, the schedule's longest step), so a receiver cannot park a delivery for weeks by
//! asking. A wait asked for still counts as a failed attempt: a receiver that answers 429
//! forever sees the delivery dead-lettered after the last attempt, as with any other failure.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use rand::Rng;

/// How a scheduled wait is randomised.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Jitter {
    /// The exact waits.
    None,
    /// Uniform in `[0, wait]`.
    Full,
    /// Uniform in `[wait × (1 − f), wait × (1 + f)]`; `f` is clamped to `[0, 1]`.
    Proportional(f64),
}

impl Default for Jitter {
    /// ±20 %.
    fn default() -> Self {
        Self::Proportional(0.2)
    }
}

/// What happens after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Try again at this instant.
    At(DateTime<Utc>),
    /// That was the last attempt: dead-letter the delivery.
    Dead,
}

/// Why a schedule was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScheduleError {
    /// A wait of zero would retry a failing receiver in a tight loop.
    #[error("retry wait #{index} is zero: every retry must wait a little")]
    ZeroWait {
        /// Its index in the list (0-based).
        index: usize,
    },
    /// A wait too long to be represented as a date offset.
    #[error("retry wait #{index} is too long")]
    TooLong {
        /// Its index in the list (0-based).
        index: usize,
    },
}

/// The retry plan of one destination (see the [module documentation](self)).
#[derive(Clone, Debug, PartialEq)]
pub struct RetrySchedule {
    waits: Vec<Duration>,
    jitter: Jitter,
    max_retry_after: Duration,
}

/// Svix's waits between attempts.
const SVIX: [u64; 7] = [5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600];

/// The longest wait any single step may take (a year: beyond that a date offset is silly).
const LONGEST: Duration = Duration::from_secs(366 * 24 * 3600);

impl Default for RetrySchedule {
    /// Svix's schedule (8 attempts, ≈ 27.6 h), ±20 % jitter, `Retry-After` capped at 10 h.
    fn default() -> Self {
        Self {
            waits: SVIX.iter().map(|s| Duration::from_secs(*s)).collect(),
            jitter: Jitter::default(),
            max_retry_after: Duration::from_secs(10 * 3600),
        }
    }
}

impl RetrySchedule {
    /// A schedule with these waits between attempts (`waits.len() + 1` attempts in all; an
    /// empty list means one attempt and no retry). Default jitter and `Retry-After` cap.
    pub fn new(waits: Vec<Duration>) -> Result<Self, ScheduleError> {
        for (index, wait) in waits.iter().enumerate() {
            if wait.is_zero() {
                return Err(ScheduleError::ZeroWait { index });
            }
            if *wait > LONGEST {
                return Err(ScheduleError::TooLong { index });
            }
        }
        Ok(Self {
            waits,
            ..Self::default()
        })
    }

    /// The same schedule with another jitter.
    pub fn with_jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// The same schedule with another cap on `Retry-After` (at most a year).
    pub fn with_max_retry_after(mut self, cap: Duration) -> Self {
        self.max_retry_after = cap.min(LONGEST);
        self
    }

    /// The waits between attempts.
    pub fn waits(&self) -> &[Duration] {
        &self.waits
    }

    /// The jitter.
    pub fn jitter(&self) -> Jitter {
        self.jitter
    }

    /// The longest `Retry-After` honoured.
    pub fn max_retry_after(&self) -> Duration {
        self.max_retry_after
    }

    /// Attempts in all, the first one included.
    pub fn attempts(&self) -> u32 {
        u32::try_from(self.waits.len()).map_or(u32::MAX, |n| n.saturating_add(1))
    }

    /// The sum of the (unjittered) waits: how long after the first attempt the last one happens.
    pub fn span(&self) -> Duration {
        self.waits.iter().sum()
    }

    /// After the `attempts_made`-th attempt (1 for the first) failed at `now`: when to try again,
    /// or [`Next::Dead`] when that was the last. `retry_after` is what the receiver asked for.
    pub fn next(
        &self,
        attempts_made: u32,
        retry_after: Option<Duration>,
        now: DateTime<Utc>,
        rng: &mut impl Rng,
    ) -> Next {
        let index = attempts_made.max(1) as usize - 1;
        let Some(wait) = self.waits.get(index) else {
            return Next::Dead;
        };
        let scheduled = self.jittered(*wait, rng);
        let asked = retry_after.map_or(Duration::ZERO, |a| a.min(self.max_retry_after));
        let wait = scheduled.max(asked);
        // Both are at most a year: the conversion and the addition cannot fail.
        let delta = TimeDelta::from_std(wait).unwrap_or(TimeDelta::MAX);
        Next::At(
            now.checked_add_signed(delta)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        )
    }

    fn jittered(&self, wait: Duration, rng: &mut impl Rng) -> Duration {
        match self.jitter {
            Jitter::None => wait,
            Jitter::Full => wait.mul_f64(rng.random_range(0.0..=1.0)),
            Jitter::Proportional(f) => {
                let f = if f.is_finite() {
                    f.clamp(0.0, 1.0)
                } else {
                    0.0
                };
                if f == 0.0 {
                    return wait;
                }
                wait.mul_f64(rng.random_range(1.0 - f..=1.0 + f))
            }
        }
    }
}

/// Reads a `Retry-After` value: delay-seconds (`"120"`) or an HTTP date
/// (`"Wed, 21 Oct 2015 07:28:00 GMT"`, taken relative to `now`; a date in the past is no wait).
/// `None` for anything else (the obsolete RFC 850 and asctime date forms included).
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // A huge number is "very long": the schedule's cap applies.
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (at.with_timezone(&Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 2, 8, 0, 0).unwrap()
    }

    #[test]
    fn the_default_is_svix() {
        let schedule = RetrySchedule::default();
        assert_eq!(schedule.attempts(), 8);
        let hours = schedule.span().as_secs_f64() / 3600.0;
        assert!((27.5..27.7).contains(&hours), "{hours}");
        let mut rng = StdRng::seed_from_u64(1);
        let exact = schedule.clone().with_jitter(Jitter::None);
        let mut at = t0();
        for (attempt, wait) in (1..).zip(SVIX) {
            let Next::At(next) = exact.next(attempt, None, at, &mut rng) else {
                panic!("attempt {attempt} is not the last");
            };
            assert_eq!((next - at).num_seconds() as u64, wait);
            at = next;
        }
        assert_eq!(exact.next(8, None, at, &mut rng), Next::Dead);
        assert_eq!(exact.next(9, None, at, &mut rng), Next::Dead);
    }

    #[test]
    fn jitter_stays_in_its_band_and_is_seeded() {
        let schedule = RetrySchedule::default();
        let draw = |seed| {
            let mut rng = StdRng::seed_from_u64(seed);
            (0..200)
                .map(|_| match schedule.next(4, None, t0(), &mut rng) {
                    Next::At(at) => (at - t0()).num_milliseconds(),
                    Next::Dead => unreachable!("attempt 4 of 8"),
                })
                .collect::<Vec<_>>()
        };
        let a = draw(7);
        assert_eq!(a, draw(7), "the same seed, the same waits");
        let two_hours = 2 * 3600 * 1000;
        assert!(
            a.iter()
                .all(|ms| (two_hours * 8 / 10..=two_hours * 12 / 10).contains(ms))
        );
        assert!(a.iter().any(|ms| *ms < two_hours) && a.iter().any(|ms| *ms > two_hours));

        let full = schedule.with_jitter(Jitter::Full);
        let mut rng = StdRng::seed_from_u64(3);
        for _ in 0..200 {
            let Next::At(at) = full.next(2, None, t0(), &mut rng) else {
                unreachable!()
            };
            assert!((0..=300_000).contains(&(at - t0()).num_milliseconds()));
        }
    }

    #[test]
    fn retry_after_is_a_capped_lower_bound() {
        let schedule = RetrySchedule::new(vec![Duration::from_secs(60); 3])
            .unwrap()
            .with_jitter(Jitter::None)
            .with_max_retry_after(Duration::from_secs(3600));
        let mut rng = StdRng::seed_from_u64(0);
        let mut wait = |after| match schedule.next(1, after, t0(), &mut rng) {
            Next::At(at) => (at - t0()).num_seconds(),
            Next::Dead => unreachable!(),
        };
        assert_eq!(
            wait(Some(Duration::from_secs(600))),
            600,
            "longer: honoured"
        );
        assert_eq!(wait(Some(Duration::ZERO)), 60, "shorter: the schedule's");
        assert_eq!(wait(Some(Duration::from_secs(86_400 * 30))), 3600, "capped");
        assert_eq!(wait(None), 60);
    }

    #[test]
    fn retry_after_headers() {
        let now = Utc.with_ymd_and_hms(2015, 10, 21, 7, 27, 0).unwrap();
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after(" Wed, 21 Oct 2015 07:28:00 GMT ", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:20:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
        for bad in ["", "-5", "1.5", "soon", "Wednesday, 21-Oct-15 07:28:00 GMT"] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn bad_schedules_are_refused() {
        assert_eq!(
            RetrySchedule::new(vec![Duration::from_secs(5), Duration::ZERO]),
            Err(ScheduleError::ZeroWait { index: 1 })
        );
        assert_eq!(
            RetrySchedule::new(vec![Duration::from_secs(u64::MAX)]),
            Err(ScheduleError::TooLong { index: 0 })
        );
        let single = RetrySchedule::new(vec![]).unwrap();
        assert_eq!(single.attempts(), 1);
        assert_eq!(
            single.next(1, None, t0(), &mut StdRng::seed_from_u64(0)),
            Next::Dead
        );
    }
}
