//! A living account: orders created and moved through courier lifecycles, drivers going on and
//! off shift and reporting positions, workflow notifications, and a ground truth of every
//! change ([`TruthChange`]) so tests and benchmarks can count what a sync layer missed or
//! doubled.
//!
//! Turn it on with [`MockBuilder::activity`](crate::MockBuilder::activity). It starts at the
//! clock's start ([`MockBuilder::clock_start`](crate::MockBuilder::clock_start), else the
//! time the simulator starts), and runs one of two ways:
//!
//! - **Step mode** (the clock is frozen): nothing happens until [`Activity::advance`] moves
//!   the clock; every change due meanwhile is applied with the clock set to its own time, its
//!   notification sent (and awaited), and returned. Deterministic: the same seeds, settings
//!   and clock start give the same truth, IDs included (as long as no client writes to the
//!   account meanwhile: the store's IDs come from one seeded stream).
//! - **Running mode** (the clock runs, possibly fast: [`MockBuilder::clock_speed`](crate::MockBuilder::clock_speed)):
//!   a background task applies each change when the clock reaches its time, until the
//!   simulator stops. With a fixed clock start the truth is the same as step mode's (the
//!   times are the changes' own, not when the task got to them), unless clients write to the
//!   account meanwhile.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use chrono::TimeDelta;
//! use ontime_mock::{ActivityConfig, Change, NotifyConfig, OnTimeMock, Step};
//!
//! let start = chrono::NaiveDate::from_ymd_opt(2024, 5, 15)
//!     .and_then(|d| d.and_hms_opt(8, 0, 0))
//!     .ok_or("date")?;
//! let mock = OnTimeMock::builder()
//!     .clock_start(start)
//!     .frozen_clock()
//!     .activity(
//!         ActivityConfig::new(50.0) // orders per simulated hour
//!             .seed(7)
//!             .orders(200)
//!             .notify(NotifyConfig::new("http://127.0.0.1:9000/inbound/some-token")?),
//!     )
//!     .start()
//!     .await?;
//! let activity = mock.activity().ok_or("activity is on")?;
//! let changes = activity.advance(TimeDelta::hours(1)).await?; // applied, notified, returned
//! let delivered = changes
//!     .iter()
//!     .filter(|c| matches!(c.change, Change::OrderStatus { step: Step::Delivered, .. }))
//!     .count();
//! activity.advance(TimeDelta::days(2)).await?;
//! assert!(activity.is_finished()); // 200 orders, every lifecycle ended
//! let all = activity.truth();
//! # let _ = (delivered, all);
//! # Ok(())
//! # }
//! ```
//!
//! # What happens
//!
//! Orders arrive as a Poisson process of [`ActivityConfig::new`]'s rate per simulated hour,
//! each created as `POST api/order/post` would (level 1 "Submitted", items with tracking
//! numbers `{order}-001`, ...) and moved through its lifecycle by status changes with their own
//! IDs, labels and timestamps (see [`Step`] for levels and labels): assigned (level 6) to an
//! available driver, picked up and in transit (level 2, two labels), sometimes transferred to
//! another driver mid-route, delivered (level 3, with a delivery signature and a photo
//! attachment); some orders are cancelled before pickup, unassigned and reassigned, or fail an
//! attempt ("Attempted - Not Home", ...) and are delivered later or returned. Gaps between
//! steps are minutes to hours; an order makes about 5 status changes on average.
//!
//! The seeded drivers go on and off shift (6–10 h on, 3–10 h off; the last driver on shift
//! stays on until another comes), as `GET api/user/availability/{id}` shows, and while on shift
//! (or finishing their orders after it) report a position every
//! [`ActivityConfig::position_interval`], moving in straight lines towards their current
//! order's collection or delivery location.
//!
//! With [`ActivityConfig::orders`] the activity stops creating orders after that many, lets
//! their lifecycles finish, and then stops altogether (drivers too), so the truth is final:
//! [`Activity::finished`] resolves.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::TimeDelta;
use tokio::sync::watch;

use crate::MockError;
use crate::state::Shared;

mod drivers;
mod engine;
mod lifecycle;
mod notify;
mod personal;
mod truth;

pub use notify::{
    DEFAULT_TEMPLATE, Escape, Notification, NotifyConfig, NotifyStats, NotifyTemplate,
    NotifyUrlError, PLACEHOLDERS, TemplateError,
};
pub use personal::{KnownPerson, PersonalData};
pub use truth::{Change, Step, TruthChange};

use engine::{Batch, Engine, Recorder, Settings};
use lifecycle::Shares;
use notify::Notifier;

/// How the activity behaves ([`MockBuilder::activity`](crate::MockBuilder::activity)).
#[derive(Clone, Debug)]
pub struct ActivityConfig {
    rate: f64,
    seed: Option<u64>,
    orders: Option<usize>,
    position_interval: TimeDelta,
    shares: Shares,
    notify: Option<NotifyConfig>,
    truth_file: Option<PathBuf>,
    personal: Option<PersonalData>,
}

impl ActivityConfig {
    /// `rate` new orders per simulated hour (more than 0, at most 100,000), with the defaults:
    /// the simulator's seed, no order limit, a position every 5 minutes, 8 % of orders with a
    /// failed attempt, 5 % cancelled, 12 % transferred, 5 % unassigned once, no notifications,
    /// no truth file.
    pub fn new(rate: f64) -> Self {
        Self {
            rate,
            seed: None,
            orders: None,
            position_interval: TimeDelta::minutes(5),
            shares: Shares {
                exception: 0.08,
                cancel: 0.05,
                transfer: 0.12,
                unassign: 0.05,
            },
            notify: None,
            truth_file: None,
            personal: None,
        }
    }

    /// The activity's own seed (default: the simulator's).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Stop creating orders after `n`; once their lifecycles end the activity stops.
    pub fn orders(mut self, n: usize) -> Self {
        self.orders = Some(n);
        self
    }

    /// How often a working driver reports a position (at least a second; default 5 min).
    pub fn position_interval(mut self, interval: TimeDelta) -> Self {
        self.position_interval = interval;
        self
    }

    /// The share of orders with a failed delivery attempt (0..=1; together with the cancelled
    /// share at most 1).
    pub fn exception_share(mut self, share: f64) -> Self {
        self.shares.exception = share;
        self
    }

    /// The share of orders cancelled before pickup (0..=1).
    pub fn cancel_share(mut self, share: f64) -> Self {
        self.shares.cancel = share;
        self
    }

    /// The share of orders transferred to another driver mid-route (0..=1).
    pub fn transfer_share(mut self, share: f64) -> Self {
        self.shares.transfer = share;
        self
    }

    /// The share of orders unassigned once after assignment and reassigned (0..=1).
    pub fn unassign_share(mut self, share: f64) -> Self {
        self.shares.unassign = share;
        self
    }

    /// Send a workflow notification for every order status change.
    pub fn notify(mut self, notify: NotifyConfig) -> Self {
        self.notify = Some(notify);
        self
    }

    /// Append every change to this NDJSON file (created if missing), flushed per change.
    pub fn truth_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.truth_file = Some(path.into());
        self
    }

    /// Seed known personal values (driver names, phones, e-mails, signers) into the drivers'
    /// records, status descriptions and availability texts, for tests that look for personal
    /// data where it must not be (see [`PersonalData`]). The changes made stay the same.
    pub fn personal(mut self, data: PersonalData) -> Self {
        self.personal = Some(data);
        self
    }

    /// Checks the settings.
    pub(crate) fn validate(&self) -> Result<(), MockError> {
        let invalid = |what: String| Err(MockError::Invalid(what));
        if !(self.rate.is_finite() && self.rate > 0.0 && self.rate <= 100_000.0) {
            return invalid(format!(
                "an activity rate of {} orders an hour (more than 0, at most 100000)",
                self.rate
            ));
        }
        if self.position_interval < TimeDelta::seconds(1) {
            return invalid("a position interval under a second".to_owned());
        }
        let s = &self.shares;
        for (name, share) in [
            ("exception", s.exception),
            ("cancel", s.cancel),
            ("transfer", s.transfer),
            ("unassign", s.unassign),
        ] {
            if !(0.0..=1.0).contains(&share) {
                return invalid(format!("a {name} share of {share} (0 to 1)"));
            }
        }
        if s.exception + s.cancel > 1.0 {
            return invalid("exception and cancel shares adding up to more than 1".to_owned());
        }
        Ok(())
    }
}

/// Errors of [`Activity::advance`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ActivityError {
    /// Stepping needs a frozen clock (a running clock has the background task).
    #[error("the clock is running: the activity steps only with a frozen clock")]
    ClockRunning,
    /// A step backwards.
    #[error("cannot step the activity back in time ({0})")]
    Backwards(TimeDelta),
}

/// The handle of a simulator's activity (from [`RunningMock::activity`](crate::RunningMock::activity)).
/// Cheap to clone: clones share it.
#[derive(Clone)]
pub struct Activity {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    engine: tokio::sync::Mutex<Engine>,
    truth: Arc<Mutex<Vec<TruthChange>>>,
    count: watch::Receiver<u64>,
    finished: watch::Receiver<bool>,
    notifier: Option<Notifier>,
}

impl std::fmt::Debug for Activity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Activity")
            .field("changes", &*self.inner.count.borrow())
            .field("finished", &*self.inner.finished.borrow())
            .finish_non_exhaustive()
    }
}

impl Activity {
    /// Starts the activity at `start` (default: the clock's current time); with a running
    /// clock, also its background task, which ends when `stop` turns true. A start in the
    /// past (a fast clock moves on while the account is seeded) only means the first changes
    /// are due at once: the truth depends on the start, not on how long seeding took.
    pub(crate) fn start(
        shared: Arc<Shared>,
        config: ActivityConfig,
        default_seed: u64,
        start: Option<chrono::NaiveDateTime>,
        stop: watch::Receiver<bool>,
    ) -> Result<Self, MockError> {
        config.validate()?;
        let file = match &config.truth_file {
            Some(path) => {
                Some(
                    truth::TruthFile::open(path).map_err(|source| MockError::TruthFile {
                        path: path.clone(),
                        source,
                    })?,
                )
            }
            None => None,
        };
        let notifier = config.notify.clone().map(Notifier::new).transpose()?;
        let (count_tx, count) = watch::channel(0);
        let (finished_tx, finished) = watch::channel(false);
        let settings = Settings {
            seed: config.seed.unwrap_or(default_seed),
            rate: config.rate,
            orders: config.orders,
            position_interval: config.position_interval,
            shares: config.shares,
            personal: config.personal.clone(),
        };
        let start = crate::clock::whole_seconds(start.unwrap_or_else(|| shared.clock.now()));
        let engine = Engine::new(
            shared.clone(),
            settings,
            Recorder::new(file, count_tx, finished_tx),
            start,
        );
        let activity = Self {
            inner: Arc::new(Inner {
                shared,
                truth: engine.truth(),
                engine: tokio::sync::Mutex::new(engine),
                count,
                finished,
                notifier,
            }),
        };
        if !activity.inner.shared.clock.is_frozen() {
            tokio::spawn(activity.clone().run(stop));
        }
        Ok(activity)
    }

    /// Step mode: moves the frozen clock forward by `by`, applying every change due up to the
    /// new time in order, each with the clock set to its own time (so timestamps are exact) and
    /// its notification sent (awaited, retries included) before the next. Returns the changes
    /// made. The clock ends at its old time plus `by`. Changes that fell due while the clock
    /// was moved by other means ([`MockClock::advance`](crate::MockClock::advance)) come first,
    /// with their own (earlier) times; the clock is never set back.
    pub async fn advance(&self, by: TimeDelta) -> Result<Vec<TruthChange>, ActivityError> {
        let clock = &self.inner.shared.clock;
        if by < TimeDelta::zero() {
            return Err(ActivityError::Backwards(by));
        }
        if !clock.is_frozen() {
            return Err(ActivityError::ClockRunning);
        }
        let mut engine = self.inner.engine.lock().await;
        let target = clock.now() + by;
        let mut out = Vec::new();
        while let Some(at) = engine.next_at().filter(|at| *at <= target) {
            if at > clock.now() {
                clock.set(at);
            }
            if let Some((_, batch)) = engine.run_next(at) {
                self.deliver(&batch).await;
                out.extend(batch.changes);
            }
        }
        if target > clock.now() {
            clock.set(target);
        }
        Ok(out)
    }

    /// Every change so far, in order.
    pub fn truth(&self) -> Vec<TruthChange> {
        self.inner
            .truth
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many changes were made so far.
    pub fn truth_len(&self) -> u64 {
        *self.inner.count.borrow()
    }

    /// Waits until at least `n` changes were made (it waits as long as it takes: put a timeout
    /// around it).
    pub async fn wait_for_truth(&self, n: u64) {
        let mut count = self.inner.count.clone();
        let _ = count.wait_for(|c| *c >= n).await;
    }

    /// Whether the activity has finished (only with [`ActivityConfig::orders`]: every order
    /// created and its lifecycle ended).
    pub fn is_finished(&self) -> bool {
        *self.inner.finished.borrow()
    }

    /// Waits until the activity has finished (never, without an order limit: put a timeout
    /// around it). In running mode the last change's notification has been sent by then.
    pub async fn finished(&self) {
        let mut finished = self.inner.finished.clone();
        if finished.wait_for(|f| *f).await.is_ok() {
            // The engine marks the end while it applies the last change; its notification is
            // sent under the same lock, so taking the lock waits for it.
            drop(self.inner.engine.lock().await);
        }
    }

    /// The notifications sent and failed so far (zero without a notification target).
    pub fn notify_stats(&self) -> NotifyStats {
        self.inner
            .notifier
            .as_ref()
            .map(Notifier::stats)
            .unwrap_or_default()
    }

    async fn deliver(&self, batch: &Batch) {
        if let Some(notifier) = &self.inner.notifier {
            for n in &batch.notifications {
                notifier.send(n).await;
            }
        }
    }

    /// Running mode: applies changes as the clock reaches them until `stop` or the end.
    async fn run(self, mut stop: watch::Receiver<bool>) {
        let clock = self.inner.shared.clock.clone();
        loop {
            if *stop.borrow() {
                return;
            }
            let mut engine = self.inner.engine.lock().await;
            let Some(next) = engine.next_at() else {
                return;
            };
            let now = clock.now();
            if next <= now {
                if let Some((_, batch)) = engine.run_next(now) {
                    self.deliver(&batch).await;
                }
                continue;
            }
            drop(engine);
            // Wait for the clock to reach the next change (rechecking at least every second,
            // in case the clock was moved, frozen or sped up meanwhile).
            let second = std::time::Duration::from_secs(1);
            let simulated = (next - now).to_std().unwrap_or_default();
            let real =
                std::time::Duration::try_from_secs_f64(simulated.as_secs_f64() / clock.speed())
                    .unwrap_or(second)
                    .min(second);
            tokio::select! {
                () = tokio::time::sleep(real) => {}
                _ = stop.changed() => return,
            }
        }
    }
}
