//! The budget governor: how many OnTime calls an account's sources may spend, and when.
//!
//! OnTime counts every request against a daily cap (and, on larger plans, a monthly one; KB
//! a293). The account may also be used by others (the office, other integrations), so the
//! collector keeps to a *share* of the cap (default 80 %) and leaves the rest alone.
//!
//! # Decisions
//!
//! - **Hard limit.** What is left for us is the smaller of `share × cap − what we spent` and
//!   `what the server says is left − what others are owed ((1 − share) × cap)`, for the day and
//!   for the month. A request for more calls than that is refused, whatever the pacing says: the
//!   governor never spends beyond its share, also when someone else drains the account (the
//!   server's remaining count, read from [`ontime::Quota`] by [`Governor::observe`], wins when it
//!   is lower than ours).
//! - **Pacing.** Calls accrue like a token bucket whose rate is what is left divided by the time
//!   to the reset (the smaller of the daily and the monthly rate), with a bucket of
//!   [`Plan::burst`] calls: a source cannot spend the morning's allowance on one burst and
//!   starve the rest of the day. Tokens never exceed what is left, so pacing never makes the hard
//!   limit unsafe.
//! - **Reset.** At the daily reset (the server's `X-RateLimit-Reset-Daily` when reported, else the
//!   next midnight UTC) our daily count starts again from zero; the same for the month (the
//!   server's reset, else the first of the next month, UTC).
//! - **Degrade.** [`Governor::advice`] turns the rate into the poll interval a source should use
//!   (never below [`Plan::min_poll_interval`]) and says whether exact-time fetches (status
//!   histories) may be spent now or should be deferred, keeping the calls of the next poll in
//!   reserve.
//!
//! Pure decision logic: the time is always passed in (`now`), so tests run a simulated day in
//! microseconds. [`Governor::acquire`] waits through an injected [`Clock`].

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};

/// What the account's plan allows and how much of it we take.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Plan {
    /// Requests per day.
    pub daily_cap: u64,
    /// Requests per calendar month, on plans that have a monthly cap.
    pub monthly_cap: Option<u64>,
    /// The share of the caps we may use, in (0, 1] (default 0.8).
    pub share: f64,
    /// The most calls that may accrue unspent (the largest burst), at least 1.
    pub burst: u64,
    /// The shortest poll interval [`Governor::advice`] recommends.
    pub min_poll_interval: Duration,
}

impl Plan {
    /// A plan with `daily_cap` requests a day, no monthly cap, 80 % share, bursts of up to 60
    /// calls, polls at most every 15 seconds.
    pub fn daily(daily_cap: u64) -> Self {
        Self {
            daily_cap,
            monthly_cap: None,
            share: 0.8,
            burst: 60,
            min_poll_interval: Duration::from_secs(15),
        }
    }

    /// With a monthly cap.
    pub fn monthly_cap(mut self, cap: u64) -> Self {
        self.monthly_cap = Some(cap);
        self
    }

    /// With another share (clamped into [0, 1]).
    pub fn share(mut self, share: f64) -> Self {
        self.share = if share.is_finite() {
            share.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self
    }

    /// With another burst size (at least 1).
    pub fn burst(mut self, burst: u64) -> Self {
        self.burst = burst.max(1);
        self
    }

    fn ours(&self, cap: u64) -> u64 {
        // Rounded down: a share never rounds up into the others' part.
        (cap as f64 * self.share).floor() as u64
    }
}

/// One counting window (the day or the month).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Window {
    cap: u64,
    reset: DateTime<Utc>,
    /// Calls we spent in this window.
    spent: u64,
    /// The server's remaining count at its last report, and our spending since.
    server: Option<(u64, u64)>,
}

impl Window {
    fn roll(&mut self, now: DateTime<Utc>, next: impl Fn(DateTime<Utc>) -> DateTime<Utc>) {
        if now >= self.reset {
            self.spent = 0;
            self.server = None;
            while self.reset <= now {
                self.reset = next(self.reset);
            }
        }
    }

    /// Calls still ours in this window.
    fn left(&self, plan: &Plan) -> u64 {
        let ours = plan.ours(self.cap).saturating_sub(self.spent);
        match self.server {
            Some((remaining, since)) => {
                let others = self.cap - plan.ours(self.cap);
                ours.min(remaining.saturating_sub(since).saturating_sub(others))
            }
            None => ours,
        }
    }

    /// Calls per second that spend what is left evenly until the reset.
    fn rate(&self, plan: &Plan, now: DateTime<Utc>) -> f64 {
        let seconds = (self.reset - now).num_milliseconds().max(1_000) as f64 / 1_000.0;
        self.left(plan) as f64 / seconds
    }

    fn spend(&mut self, n: u64) {
        self.spent += n;
        if let Some((_, since)) = &mut self.server {
            *since += n;
        }
    }
}

/// The governor's answer to "how should a source behave now".
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Advice {
    /// How long to wait between polls that cost `calls_per_poll` calls each.
    pub poll_interval: Duration,
    /// Whether exact-time fetches may be spent now (else: record the change as observed and
    /// fetch its history later).
    pub exact_fetches: bool,
}

/// A source of the current time and of waiting (injected: tests use a simulated clock).
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
    /// Resolves at or after `at`.
    fn sleep_until(&self, at: DateTime<Utc>) -> impl Future<Output = ()> + Send;
}

/// The wall clock and tokio's timer.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    async fn sleep_until(&self, at: DateTime<Utc>) {
        let wait = (at - Utc::now()).to_std().unwrap_or_default();
        tokio::time::sleep(wait).await;
    }
}

/// The budget of one account (see the [module documentation](self)).
#[derive(Clone, Debug, PartialEq)]
pub struct Governor {
    plan: Plan,
    day: Window,
    month: Option<Window>,
    tokens: f64,
    refilled: DateTime<Utc>,
}

/// A request that can never be granted: more calls than the bucket holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{requested} calls at once exceed the governor's burst of {burst}")]
pub struct TooManyAtOnce {
    /// Calls asked for.
    pub requested: u64,
    /// The largest burst.
    pub burst: u64,
}

impl Governor {
    /// A governor for `plan`, starting at `now` with nothing spent and an empty bucket.
    pub fn new(plan: Plan, now: DateTime<Utc>) -> Self {
        Self {
            day: Window {
                cap: plan.daily_cap,
                reset: next_midnight(now),
                spent: 0,
                server: None,
            },
            month: plan.monthly_cap.map(|cap| Window {
                cap,
                reset: next_month(now),
                spent: 0,
                server: None,
            }),
            plan,
            tokens: 0.0,
            refilled: now,
        }
    }

    /// The plan.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Takes in what the server last reported (the facade's `client.quota()`): its caps, its
    /// remaining counts (which include others' use of the account) and its reset times.
    pub fn observe(&mut self, quota: &ontime::Quota, now: DateTime<Utc>) {
        self.roll(now);
        apply(
            &mut self.day,
            quota.daily_limit,
            quota.daily_remaining,
            quota.daily_reset,
        );
        if let Some(month) = &mut self.month {
            apply(
                month,
                quota.monthly_limit,
                quota.monthly_remaining,
                quota.monthly_reset,
            );
        }
    }

    /// Calls still ours before the next reset (day and month).
    pub fn left(&mut self, now: DateTime<Utc>) -> u64 {
        self.roll(now);
        self.left_now()
    }

    /// Takes `n` calls if the budget and the pacing allow them now; `false` changes nothing.
    pub fn try_acquire(&mut self, n: u64, now: DateTime<Utc>) -> bool {
        self.refill(now);
        if n > self.left_now() || self.tokens < n as f64 {
            return false;
        }
        self.tokens -= n as f64;
        self.day.spend(n);
        if let Some(month) = &mut self.month {
            month.spend(n);
        }
        true
    }

    /// Whether `n` calls would be granted now ([`try_acquire`](Self::try_acquire) at the same
    /// `now` succeeds), without taking them: a source that may need up to `n` calls for one
    /// piece of work checks first, then takes each call as it makes it.
    pub fn can_acquire(&mut self, n: u64, now: DateTime<Utc>) -> bool {
        self.refill(now);
        n <= self.left_now() && self.tokens >= n as f64
    }

    /// When `n` calls will be available at the current rate (`now` if they are), or `None` when
    /// they will not be before the next reset (the budget is spent).
    pub fn available_at(&mut self, n: u64, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.refill(now);
        if n > self.left_now() {
            return Some(self.next_reset());
        }
        let missing = n as f64 - self.tokens;
        if missing <= 0.0 {
            return Some(now);
        }
        let rate = self.rate(now);
        if rate <= 0.0 {
            return None;
        }
        let wait = TimeDelta::milliseconds((missing / rate * 1_000.0).ceil() as i64);
        Some((now + wait).min(self.next_reset()))
    }

    /// Waits until `n` calls are allowed, then takes them.
    pub async fn acquire(&mut self, n: u64, clock: &impl Clock) -> Result<(), TooManyAtOnce> {
        if n > self.plan.burst {
            return Err(TooManyAtOnce {
                requested: n,
                burst: self.plan.burst,
            });
        }
        loop {
            let now = clock.now();
            if self.try_acquire(n, now) {
                return Ok(());
            }
            let at = self
                .available_at(n, now)
                .unwrap_or_else(|| self.next_reset())
                .max(now + TimeDelta::milliseconds(1));
            clock.sleep_until(at).await;
        }
    }

    /// How a source should behave now, given that one poll costs `calls_per_poll` calls.
    pub fn advice(&mut self, calls_per_poll: u64, now: DateTime<Utc>) -> Advice {
        self.refill(now);
        let rate = self.rate(now);
        let seconds = if rate > 0.0 {
            calls_per_poll.max(1) as f64 / rate
        } else {
            (self.next_reset() - now).num_seconds().max(0) as f64
        };
        let poll_interval = Duration::from_secs_f64(seconds).max(self.plan.min_poll_interval);
        // Exact fetches may use what accrued beyond the next poll's calls.
        let exact_fetches =
            self.tokens >= (calls_per_poll + 1) as f64 && self.left_now() > calls_per_poll;
        Advice {
            poll_interval,
            exact_fetches,
        }
    }

    fn roll(&mut self, now: DateTime<Utc>) {
        self.day.roll(now, |t| t + TimeDelta::days(1));
        if let Some(month) = &mut self.month {
            month.roll(now, next_month);
        }
    }

    fn left_now(&self) -> u64 {
        let day = self.day.left(&self.plan);
        self.month.map_or(day, |m| day.min(m.left(&self.plan)))
    }

    fn rate(&self, now: DateTime<Utc>) -> f64 {
        let day = self.day.rate(&self.plan, now);
        self.month.map_or(day, |m| day.min(m.rate(&self.plan, now)))
    }

    fn next_reset(&self) -> DateTime<Utc> {
        self.month
            .map_or(self.day.reset, |m| m.reset.min(self.day.reset))
    }

    fn refill(&mut self, now: DateTime<Utc>) {
        self.roll(now);
        if now > self.refilled {
            let seconds = (now - self.refilled).num_milliseconds() as f64 / 1_000.0;
            self.tokens += seconds * self.rate(now);
            self.refilled = now;
        }
        let cap = (self.plan.burst.max(1)).min(self.left_now()) as f64;
        self.tokens = self.tokens.min(cap);
    }
}

fn apply(
    window: &mut Window,
    limit: Option<u64>,
    remaining: Option<u64>,
    reset: Option<DateTime<Utc>>,
) {
    if let Some(limit) = limit {
        // The server's cap is the truth when it differs from the configured plan.
        window.cap = limit;
    }
    if let Some(remaining) = remaining {
        window.server = Some((remaining, 0));
    }
    if let Some(reset) = reset {
        window.reset = reset;
    }
}

fn next_midnight(now: DateTime<Utc>) -> DateTime<Utc> {
    let tomorrow = now.date_naive().succ_opt().unwrap_or(NaiveDate::MAX);
    tomorrow.and_hms_opt(0, 0, 0).map_or(now, |t| t.and_utc())
}

fn next_month(now: DateTime<Utc>) -> DateTime<Utc> {
    let (year, month) = if now.month() == 12 {
        (now.year() + 1, 1)
    } else {
        (now.year(), now.month() + 1)
    };
    NaiveDate::from_ymd_opt(year, month, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(now + TimeDelta::days(31), |t| t.and_utc())
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use chrono::TimeZone;

    use super::*;

    fn at(day: u32, h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 4, day, h, m, s).unwrap()
    }

    /// Asks for one call every `step` seconds from `from` to `to`; returns the grant times.
    fn hammer(
        g: &mut Governor,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        step: i64,
    ) -> Vec<DateTime<Utc>> {
        let mut granted = Vec::new();
        let mut now = from;
        while now < to {
            if g.try_acquire(1, now) {
                granted.push(now);
            }
            now += TimeDelta::seconds(step);
        }
        granted
    }

    #[test]
    fn never_over_the_share_across_a_simulated_day_and_spread_over_it() {
        let mut g = Governor::new(Plan::daily(10_000), at(1, 0, 0, 0));
        let granted = hammer(&mut g, at(1, 0, 0, 0), at(2, 0, 0, 0), 1);
        assert!(granted.len() <= 8_000, "{}", granted.len());
        assert!(
            granted.len() >= 7_900,
            "the share is used: {}",
            granted.len()
        );
        // Spread: every hour gets roughly its 1/24th, none gets a burst of the day.
        for hour in 0..24 {
            let in_hour = granted
                .iter()
                .filter(|t| t.date_naive() == at(1, 0, 0, 0).date_naive())
                .filter(|t| chrono::Timelike::hour(*t) == hour)
                .count();
            assert!((300..=400).contains(&in_hour), "hour {hour}: {in_hour}");
        }
    }

    #[test]
    fn a_greedy_source_cannot_take_the_morning_in_one_burst() {
        let mut g = Governor::new(Plan::daily(86_400).burst(100), at(1, 0, 0, 0));
        // Nothing spent for six hours, then a burst: only the bucket is there.
        let mut n = 0;
        while g.try_acquire(1, at(1, 6, 0, 0)) {
            n += 1;
        }
        assert_eq!(n, 100);
    }

    #[test]
    fn the_monthly_cap_spreads_over_the_month() {
        // 10,000 a day, but only 90,000 a month (30 days): 80 % → 2,400 a day.
        let plan = Plan::daily(10_000).monthly_cap(90_000);
        let mut g = Governor::new(plan, at(1, 0, 0, 0));
        let mut total = 0;
        for day in 1..=30 {
            let granted = hammer(&mut g, at(day, 0, 0, 0), at(day, 23, 59, 59), 2).len();
            assert!(granted <= 8_000);
            assert!((2_300..=2_500).contains(&granted), "day {day}: {granted}");
            total += granted;
        }
        assert!(total <= 72_000, "{total}");
    }

    #[test]
    fn after_the_daily_reset_the_budget_is_back() {
        let mut g = Governor::new(Plan::daily(1_000).burst(1_000), at(1, 0, 0, 0));
        let day_one = hammer(&mut g, at(1, 0, 0, 0), at(2, 0, 0, 0), 10).len();
        assert!(day_one <= 800);
        let day_two = hammer(&mut g, at(2, 0, 0, 0), at(3, 0, 0, 0), 10).len();
        assert!((700..=800).contains(&day_two), "{day_two}");
    }

    #[test]
    fn the_server_reset_time_wins() {
        let mut g = Governor::new(Plan::daily(1_000), at(1, 0, 0, 0));
        let mut quota = ontime::Quota::default();
        quota.daily_remaining = Some(0);
        quota.daily_reset = Some(at(1, 6, 0, 0));
        g.observe(&quota, at(1, 0, 0, 0));
        assert_eq!(g.left(at(1, 5, 59, 59)), 0);
        assert_eq!(g.left(at(1, 6, 0, 0)), 800);
    }

    #[test]
    fn others_using_the_account_shrink_our_part_and_never_their_reserve() {
        let mut g = Governor::new(Plan::daily(10_000), at(1, 0, 0, 0));
        // Someone else already spent 6,000: the server says 4,000 left; 2,000 stay theirs.
        let mut quota = ontime::Quota::default();
        quota.daily_limit = Some(10_000);
        quota.daily_remaining = Some(4_000);
        g.observe(&quota, at(1, 0, 0, 0));
        assert_eq!(g.left(at(1, 0, 0, 0)), 2_000);
        let granted = hammer(&mut g, at(1, 0, 0, 0), at(2, 0, 0, 0), 1).len();
        assert!(granted <= 2_000, "{granted}");
        assert!(granted >= 1_900, "{granted}");
        // The server reports even less mid-day: we stop.
        let mut g = Governor::new(Plan::daily(10_000), at(1, 0, 0, 0));
        hammer(&mut g, at(1, 0, 0, 0), at(1, 12, 0, 0), 1);
        let mut quota = ontime::Quota::default();
        quota.daily_remaining = Some(1_500);
        g.observe(&quota, at(1, 12, 0, 0));
        assert!(!g.try_acquire(1, at(1, 13, 0, 0)));
        assert_eq!(hammer(&mut g, at(1, 12, 0, 0), at(2, 0, 0, 0), 1).len(), 0);
    }

    #[test]
    fn advice_slows_polls_and_defers_exact_fetches_when_the_budget_is_thin() {
        let mut g = Governor::new(Plan::daily(86_400 * 10), at(1, 0, 0, 0));
        let rich = g.advice(10, at(1, 0, 1, 0));
        assert_eq!(rich.poll_interval, Duration::from_secs(15));
        assert!(rich.exact_fetches);

        // 2,000 a day at 80 %: 1,600 over 86,400 s; a 10-call poll fits every 540 s.
        let mut g = Governor::new(Plan::daily(2_000).burst(11), at(1, 0, 0, 0));
        let thin = g.advice(10, at(1, 0, 0, 1));
        assert!(
            (539..=541).contains(&thin.poll_interval.as_secs()),
            "{:?}",
            thin.poll_interval
        );
        assert!(!thin.exact_fetches);
        let later = g.advice(10, at(1, 1, 0, 0));
        assert!(later.exact_fetches);
    }

    struct FakeClock(Mutex<DateTime<Utc>>);

    impl Clock for FakeClock {
        fn now(&self) -> DateTime<Utc> {
            *self.0.lock().unwrap()
        }
        async fn sleep_until(&self, at: DateTime<Utc>) {
            let mut now = self.0.lock().unwrap();
            *now = (*now).max(at);
        }
    }

    #[tokio::test]
    async fn acquire_waits_for_the_pace_and_refuses_the_impossible() {
        // 86,400 × 0.8 a day: 0.8 calls a second.
        let clock = FakeClock(Mutex::new(at(1, 0, 0, 0)));
        let mut g = Governor::new(Plan::daily(86_400).burst(10), clock.now());
        for _ in 0..8 {
            g.acquire(1, &clock).await.unwrap();
        }
        let waited = clock.now() - at(1, 0, 0, 0);
        assert!((9..=11).contains(&waited.num_seconds()), "{waited}");
        assert_eq!(
            g.acquire(11, &clock).await,
            Err(TooManyAtOnce {
                requested: 11,
                burst: 10
            })
        );
        // Spent budget: acquire sleeps to the reset.
        let mut g = Governor::new(Plan::daily(1).share(1.0).burst(1), at(1, 0, 0, 0));
        *clock.0.lock().unwrap() = at(1, 12, 0, 0);
        g.acquire(1, &clock).await.unwrap();
        g.acquire(1, &clock).await.unwrap();
        assert!(clock.now() >= at(2, 0, 0, 0));
    }
}
