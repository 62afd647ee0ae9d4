//! The simulator's clock: account-local wall-clock time that tests can move.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{FixedOffset, NaiveDateTime, TimeDelta, Utc};

#[derive(Debug)]
struct State {
    /// Local time at `since` (or the frozen time when `since` is `None`).
    base: NaiveDateTime,
    since: Option<Instant>,
    /// Simulated seconds per real second while running (1 unless set).
    speed: f64,
}

/// The mock's clock, in the account's time zone (date-times without offset, as OnTime writes
/// them). It runs with real time from its start value; [`advance`](Self::advance),
/// [`set`](Self::set) and [`freeze`](Self::freeze) move or stop it. Cheap to clone: clones share
/// one clock.
///
/// Everything time-dependent in the simulator reads it: `DateSubmitted` of new orders, status
/// timestamps, positions, the daily and monthly quota windows and their `X-RateLimit-Reset-*`
/// headers.
#[derive(Clone, Debug)]
pub struct MockClock {
    state: Arc<Mutex<State>>,
    offset: FixedOffset,
}

impl MockClock {
    /// A running clock that reads `start` now, in a time zone `offset` from UTC.
    pub fn new(start: NaiveDateTime, offset: FixedOffset) -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                base: start,
                since: Some(Instant::now()),
                speed: 1.0,
            })),
            offset,
        }
    }

    /// A clock stopped at `start` (only [`advance`](Self::advance) and [`set`](Self::set) move
    /// it).
    pub fn frozen(start: NaiveDateTime, offset: FixedOffset) -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                base: start,
                since: None,
                speed: 1.0,
            })),
            offset,
        }
    }

    /// A running clock that starts at the current real time in the given time zone (whole
    /// seconds).
    pub fn real(offset: FixedOffset) -> Self {
        let now = Utc::now().with_timezone(&offset).naive_local();
        let now = now.with_nanosecond_zero();
        Self::new(now, offset)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The current account-local time.
    pub fn now(&self) -> NaiveDateTime {
        now_of(&self.lock())
    }

    /// The current time as UTC (the account's offset applied).
    pub fn now_utc(&self) -> NaiveDateTime {
        self.now() - TimeDelta::seconds(i64::from(self.offset.local_minus_utc()))
    }

    /// The account's offset from UTC.
    pub fn utc_offset(&self) -> FixedOffset {
        self.offset
    }

    /// Moves the clock forward (it keeps running, or stays frozen).
    pub fn advance(&self, by: Duration) {
        let mut state = self.lock();
        state.base += TimeDelta::from_std(by).unwrap_or(TimeDelta::MAX);
    }

    /// Sets the clock to `to` (it keeps running from there, or stays frozen).
    pub fn set(&self, to: NaiveDateTime) {
        let mut state = self.lock();
        state.base = to;
        if state.since.is_some() {
            state.since = Some(Instant::now());
        }
    }

    /// How many simulated seconds pass per real second while the clock runs (default 1).
    pub fn speed(&self) -> f64 {
        self.lock().speed
    }

    /// Makes the clock run `speed` times as fast as real time from now on (60: a simulated
    /// minute per real second), without a jump. A frozen clock stays frozen and runs at this
    /// speed once resumed. `speed` must be finite and more than zero.
    pub fn set_speed(&self, speed: f64) -> Result<(), crate::MockError> {
        check_speed(speed)?;
        let mut state = self.lock();
        let now = now_of(&state);
        state.base = now;
        if state.since.is_some() {
            state.since = Some(Instant::now());
        }
        state.speed = speed;
        Ok(())
    }

    /// Stops the clock at its current time; only [`advance`](Self::advance) and
    /// [`set`](Self::set) move it afterwards.
    pub fn freeze(&self) {
        let now = whole_seconds(self.now());
        let mut state = self.lock();
        state.base = now;
        state.since = None;
    }

    /// Lets a frozen clock run with real time again.
    pub fn resume(&self) {
        let mut state = self.lock();
        if state.since.is_none() {
            state.since = Some(Instant::now());
        }
    }

    /// Whether the clock is frozen.
    pub fn is_frozen(&self) -> bool {
        self.lock().since.is_none()
    }
}

/// The time `state` reads now.
fn now_of(state: &State) -> NaiveDateTime {
    match state.since {
        Some(since) => {
            let elapsed = since.elapsed().as_secs_f64() * state.speed;
            let elapsed = Duration::try_from_secs_f64(elapsed).unwrap_or(Duration::MAX);
            state.base + TimeDelta::from_std(elapsed).unwrap_or(TimeDelta::zero())
        }
        None => state.base,
    }
}

/// The largest clock speed accepted (a simulated year per real second).
pub(crate) const MAX_SPEED: f64 = 365.0 * 86_400.0;

/// Checks a clock speed: finite, more than zero, at most [`MAX_SPEED`].
pub(crate) fn check_speed(speed: f64) -> Result<(), crate::MockError> {
    if speed.is_finite() && speed > 0.0 && speed <= MAX_SPEED {
        Ok(())
    } else {
        Err(crate::MockError::Invalid(format!(
            "a clock speed of {speed} (it must be more than 0 and at most {MAX_SPEED})"
        )))
    }
}

trait NanoZero {
    fn with_nanosecond_zero(self) -> Self;
}

impl NanoZero for NaiveDateTime {
    fn with_nanosecond_zero(self) -> Self {
        use chrono::Timelike;
        self.with_nanosecond(0).unwrap_or(self)
    }
}

/// Truncates a date-time to whole seconds (OnTime writes no fractions for most values).
pub(crate) fn whole_seconds(t: NaiveDateTime) -> NaiveDateTime {
    t.with_nanosecond_zero()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(h: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2024, 3, 1)
            .and_then(|d| d.and_hms_opt(h, 0, 0))
            .expect("valid")
    }

    #[test]
    fn frozen_clock_moves_only_when_told() {
        let clock = MockClock::frozen(at(9), FixedOffset::west_opt(6 * 3600).expect("offset"));
        assert!(clock.is_frozen());
        assert_eq!(clock.now(), at(9));
        clock.advance(Duration::from_secs(3600));
        assert_eq!(clock.now(), at(10));
        assert_eq!(clock.now_utc(), at(16));
        clock.set(at(12));
        assert_eq!(clock.clone().now(), at(12));
        clock.resume();
        assert!(!clock.is_frozen());
        assert!(clock.now() >= at(12));
    }

    #[test]
    fn a_fast_clock_runs_faster_and_refuses_nonsense() {
        let clock = MockClock::new(at(9), FixedOffset::east_opt(0).expect("offset"));
        clock.set_speed(3600.0).expect("valid speed");
        assert_eq!(clock.speed(), 3600.0);
        // Real time has to pass here: no event stands for it.
        std::thread::sleep(Duration::from_millis(20));
        // 20 ms of real time at 3600x is at least 72 simulated seconds.
        assert!(
            clock.now() >= at(9) + TimeDelta::seconds(72),
            "{}",
            clock.now()
        );
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e12] {
            assert!(clock.set_speed(bad).is_err(), "{bad}");
        }
        assert_eq!(clock.speed(), 3600.0);
    }
}
