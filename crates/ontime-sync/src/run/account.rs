//! [`AccountRunner`]: one account's governor and sources, scheduled on the governor's advice.
//!
//! # A tick
//!
//! [`AccountRunner::tick`] runs, at the `now` it is given, every source that is due, in this
//! order: the inbound queue (orders OnTime notified us of: the lowest lag), the poll (when its
//! interval passed; the interval is the governor's [`Advice`](crate::collect::Advice) for one
//! poll's calls), the reconcile (see below), the drivers (a round at most every
//! [`DRIVERS_EVERY`]). Each step commits its own events with its cursor
//! (the sources do); the governor observes the server's quota after every step, also a failed
//! one. Provisional events (a change seen without budget for its history) are upgraded by later
//! polls as the budget allows: the poll's `pending` list does that.
//!
//! # The reconcile's pace
//!
//! A poll's diff cannot see a new label within a level or a hand-over between drivers (no
//! finder's ID set changes); only reading each active order's record does, so such a change
//! waits for its order's next check: up to one reconcile round. Rounds are paced by the
//! governor and by a share, not by a fixed rest: batches run back to back (one per tick) as
//! long as the governor grants the calls and the reconcile has spent less than
//! [`RECONCILE_SHARE`] of what the other sources spent (plus one batch), and a new round starts
//! one poll interval after the last one started, or at once when that round took longer. So a
//! round lasts one poll interval when the share covers every active order once per interval,
//! and longer (the share's pace) when it does not: reading every active order once per poll
//! interval would cost (active orders ÷ watched levels) × the poll's finder calls, several
//! times what the poll itself spends on any busy account. When the poll is on, a round takes
//! the active set from the poll's cursor (no listing calls). Without a poll or inbound source
//! the reconcile is the collector and only the governor limits it.
//!
//! # A short budget
//!
//! While the poll owes histories (its `pending` list is not empty) or waits for budget for its
//! finder calls, the budget is short and the poll comes first: the reconcile waits, the inbound
//! drain hands the notified orders to the poll as owed histories
//! ([`Inbound::defer_to_poll`](crate::collect::inbound::Inbound::defer_to_poll): no call; the
//! poll reads each order's history once it is final, see [`crate::collect::poll`]) and skips
//! its fetches while the poll waits, and polls are paced on their finder calls and the history
//! calls they spent, so they stay frequent; driver rounds are paced for a third of the rate
//! (their position windows grow instead).
//!
//! There is no hidden clock: `now` is passed in, [`AccountRunner::next_due`] says when the
//! next source is due, so tests and benchmarks drive a simulated day step by step.
//!
//! # Errors
//!
//! A failing step (OnTime 5xx, 429, a timeout, a store failure) backs its source off
//! exponentially — 5 s, 10 s, 20 s, … capped at 5 minutes — and is logged; the other sources go
//! on. Nothing is lost: a failed step committed nothing, and its cursor is where the next try
//! starts. Only a lost lease ([`StoreError::LeaseLost`]) ends the tick with an error: the
//! runner must stop at once (the worker drops it).
//!
//! # Status
//!
//! An [`AccountStatus`] is kept in memory (for `/metrics` and `/healthz`) and written to the
//! store as cursor [`STATUS_CURSOR`] at most every [`STATUS_EVERY`] of `now` (fenced like every
//! commit), for `ontime sync status` from another machine. It is a separate commit from the
//! sources' (they commit inside their steps); a crash between the two loses at most a few
//! seconds of counters, never events.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use ontime::{UserFilter, UserId};
use serde::{Deserialize, Serialize};

use super::metrics::{Metrics, TypeLabels, WindowLabels};
use crate::collect::inbound::{Inbound, InboundConfig, InboundToken};
use crate::collect::{
    Clock, CollectError, DriverConfig, Drivers, Governor, PollConfig, PollCursor, Poller,
    ReconcileConfig, Reconciler,
};
use crate::config::{AccountSettings, DriverIds, InboundSettings, SourceKind};
use crate::event::AccountConfig;
use crate::store::{Commit, EventQuery, EventStore, Fence, Store, StoreError};

/// The cursor the runner's [`AccountStatus`] is written to.
pub const STATUS_CURSOR: &str = "status";
/// The least time between two status writes.
pub const STATUS_EVERY: TimeDelta = TimeDelta::seconds(5);
/// The first backoff of a failing source; doubled per failure.
pub const BACKOFF_BASE: TimeDelta = TimeDelta::seconds(5);
/// The longest backoff.
pub const BACKOFF_CAP: TimeDelta = TimeDelta::minutes(5);
/// How often the inbound queue is looked at (a store read, no OnTime call when empty).
pub const INBOUND_EVERY: TimeDelta = TimeDelta::seconds(1);
/// The least time between two driver rounds.
pub const DRIVERS_EVERY: TimeDelta = TimeDelta::seconds(60);
/// How long the reconcile waits while the budget is short (the poll owes histories).
pub const RECONCILE_EVERY: TimeDelta = TimeDelta::seconds(30);
/// The most the reconcile spends, as a share of the calls the other sources spent (the poll,
/// the inbound drain, the drivers) since the runner started: its checks mostly find nothing,
/// so its rounds are as short as this share (and the governor) allow, but never shorter than
/// one poll interval. With 1/6 the collector spends at most 7/6 of what its other sources
/// need.
pub const RECONCILE_SHARE: f64 = 1.0 / 6.0;
/// Events read per page when counting what the sources stored.
const COUNT_PAGE: u32 = 500;

/// The last failure of a source.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastError {
    /// The source.
    pub source: String,
    /// What failed (the facade's message: no key, server texts redacted).
    pub message: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// One source's schedule.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceStatus {
    /// When it is due next.
    pub next_due: Option<DateTime<Utc>>,
    /// Failures in a row (0: healthy).
    pub failures: u32,
    /// OnTime calls it spent since the runner started.
    pub calls: u64,
}

/// A summary of the collector's cursors.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CursorSummary {
    /// Orders the poll's last ID sets hold.
    pub poll_orders: usize,
    /// Orders whose history is owed (provisional events waiting for an exact time).
    pub poll_pending: usize,
    /// Inbound notifications queued, not drained yet.
    pub inbound_queued: usize,
}

/// What the runner knows about its account: for `/metrics`, `/healthz` and `ontime sync
/// status` (stored as cursor [`STATUS_CURSOR`]).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountStatus {
    /// The account.
    pub account: String,
    /// The worker that wrote this (the lease holder).
    pub worker: Option<String>,
    /// Its lease's fencing token.
    pub lease_token: Option<i64>,
    /// When this was written.
    pub updated_at: Option<DateTime<Utc>>,
    /// The last tick.
    pub last_tick_at: Option<DateTime<Utc>>,
    /// The UTC day `calls_today` counts (OnTime resets at 00:00 GMT).
    pub day: Option<NaiveDate>,
    /// OnTime calls spent today by this account's runners.
    pub calls_today: u64,
    /// `calls_today` extrapolated to the whole day at today's pace.
    pub projected_today: u64,
    /// Calls still ours before the next reset (the governor's view).
    pub budget_left: u64,
    /// Per source: schedule and calls.
    pub sources: BTreeMap<String, SourceStatus>,
    /// Events stored for the account, by type (counted since the first runner).
    pub events_by_type: BTreeMap<String, u64>,
    /// The store position up to which events were counted.
    pub counted_until: u64,
    /// The newest stored event's observed time.
    pub newest_observed_at: Option<DateTime<Utc>>,
    /// `updated_at − newest_observed_at`, seconds.
    pub lag_seconds: Option<i64>,
    /// The last failure.
    pub last_error: Option<LastError>,
    /// The cursors, summarised.
    pub cursors: CursorSummary,
}

/// What one tick did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TickReport {
    /// The sources that ran, in order.
    pub ran: Vec<SourceKind>,
    /// Sources whose step failed, with the message (each is backed off).
    pub failed: Vec<(SourceKind, String)>,
    /// OnTime calls spent.
    pub calls: u64,
    /// Events newly stored for the account during the tick.
    pub stored: u64,
    /// Per source that ran, in the order they ran: what its step spent and stored.
    pub steps: Vec<StepReport>,
}

/// What one source's step did during a tick (a benchmark attributes stored events and measures
/// the intervals actually used from these).
#[derive(Clone, Debug, PartialEq)]
pub struct StepReport {
    /// The source.
    pub source: SourceKind,
    /// OnTime calls it spent (0: it found no budget, or had nothing to do).
    pub calls: u64,
    /// Events it newly stored (store positions follow the order of the steps).
    pub stored: u64,
    /// When it is due next (for the poll: now + the interval the governor advised).
    pub next_due: DateTime<Utc>,
    /// For the reconcile: whether this step completed a round over the active orders.
    pub round_complete: bool,
}

#[derive(Clone, Debug)]
struct Schedule {
    next_due: DateTime<Utc>,
    failures: u32,
}

enum DriverSource {
    /// `"all"`: the users are listed (one call) before the first round.
    Unresolved(DriverConfig),
    Ready(Drivers<Store>),
}

/// One account's governor and sources (see the [module documentation](self)).
pub struct AccountRunner<C> {
    name: String,
    client: ontime::Client,
    store: Store,
    account: AccountConfig,
    governor: Governor,
    fence: Option<Fence>,
    inbound: Option<Inbound<Store, C>>,
    poller: Option<Poller<Store>>,
    poll_levels: u64,
    /// Histories the poll owed after its last poll (its cursor's `pending`): while it owes
    /// any, the budget is short and the reconcile leaves the calls to the poll.
    poll_owed: u64,
    /// Whether the last poll found no budget for its finder calls: the inbound drain then
    /// leaves the calls to it.
    poll_waiting: bool,
    /// The poll interval the governor advised after the last poll.
    poll_interval: Option<TimeDelta>,
    /// When the current (or last) reconcile round started, and whether it is complete.
    round_started: Option<DateTime<Utc>>,
    round_done: bool,
    /// Whether the step that just ran completed a reconcile round (for its [`StepReport`]).
    round_completed: bool,
    /// Calls spent by the reconcile, and by the other sources, since the runner started.
    reconcile_spent: u64,
    others_spent: u64,
    reconciler: Option<Reconciler<Store>>,
    drivers: Option<DriverSource>,
    schedule: BTreeMap<SourceKind, Schedule>,
    metrics: Arc<Metrics>,
    status: AccountStatus,
    status_written_at: Option<DateTime<Utc>>,
    created: DateTime<Utc>,
}

impl<C> std::fmt::Debug for AccountRunner<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountRunner")
            .field("account", &self.name)
            .field("fence", &self.fence)
            .finish_non_exhaustive()
    }
}

impl<C: Clock + Clone + 'static> AccountRunner<C> {
    /// The runner of `settings`' account: its sources (those configured and supported) commit
    /// under `fence`, through `client`, into `store`; `clock` only stamps inbound receipts.
    /// Reads the stored status (to go on counting) and is due at once.
    pub async fn new(
        settings: &AccountSettings,
        client: ontime::Client,
        store: Store,
        clock: C,
        fence: Option<Fence>,
        metrics: Arc<Metrics>,
        now: DateTime<Utc>,
    ) -> Result<Self, CollectError> {
        let account = settings.account_config();
        let name = settings.name.clone();
        let enabled = |kind| settings.sources.contains(&kind);
        let inbound = match (&settings.inbound, enabled(SourceKind::Inbound)) {
            (Some(inbound), true) => inbound.token.clone().map(|token| {
                let mut config = InboundConfig::new(token);
                if let Some(fields) = &inbound.order_id_fields {
                    config.order_id_fields = fields.clone();
                }
                if let Some(fields) = &inbound.tracking_number_fields {
                    config.tracking_number_fields = fields.clone();
                }
                config.fence = fence.clone();
                Inbound::new(
                    client.clone(),
                    store.clone(),
                    account.clone(),
                    config,
                    clock,
                )
            }),
            _ => None,
        };
        let poller = enabled(SourceKind::Poll).then(|| {
            let config = PollConfig {
                levels: settings.poll_levels.clone(),
                fence: fence.clone(),
                ..PollConfig::default()
            };
            Poller::new(client.clone(), store.clone(), account.clone(), config)
        });
        let drivers = enabled(SourceKind::Drivers).then(|| {
            let ids = match &settings.drivers {
                DriverIds::All => Vec::new(),
                DriverIds::List(ids) => ids.clone(),
            };
            let mut config = DriverConfig::new(ids);
            config.position_interval =
                TimeDelta::from_std(settings.position_interval).unwrap_or(TimeDelta::minutes(5));
            config.fence = fence.clone();
            match settings.drivers {
                DriverIds::All => DriverSource::Unresolved(config),
                DriverIds::List(_) => DriverSource::Ready(Drivers::new(
                    client.clone(),
                    store.clone(),
                    account.clone(),
                    config,
                )),
            }
        });
        let reconciler = enabled(SourceKind::Reconcile).then(|| {
            let config = ReconcileConfig {
                batch: settings.reconcile_batch as usize,
                fence: fence.clone(),
                // The poll lists the active levels anyway: a round takes its set from the
                // poll's cursor instead of listing them again.
                active_from: enabled(SourceKind::Poll).then(|| PollConfig::default().cursor),
                ..ReconcileConfig::default()
            };
            Reconciler::new(client.clone(), store.clone(), account.clone(), config)
        });
        let mut schedule = BTreeMap::new();
        for (kind, on) in [
            (SourceKind::Inbound, inbound.is_some()),
            (SourceKind::Poll, poller.is_some()),
            (SourceKind::Reconcile, reconciler.is_some()),
            (SourceKind::Drivers, drivers.is_some()),
        ] {
            if on {
                // Series at zero from the start: a rate over a series that appears late is wrong.
                let labels = Metrics::source(&name, kind.as_str());
                metrics.calls.get_or_create(&labels).inc_by(0);
                metrics.errors.get_or_create(&labels).inc_by(0);
                schedule.insert(
                    kind,
                    Schedule {
                        next_due: now,
                        failures: 0,
                    },
                );
            }
        }
        let mut status: AccountStatus = match store.cursor(&name, STATUS_CURSOR).await? {
            // A status this build cannot read is started afresh: it is only counters.
            Some(value) => serde_json::from_value(value).unwrap_or_default(),
            None => AccountStatus::default(),
        };
        status.account = name.clone();
        status.worker = fence.as_ref().map(|f| f.worker.clone());
        status.lease_token = fence.as_ref().map(|f| f.token);
        status.last_error = None;
        Ok(Self {
            poll_levels: settings.poll_levels.len() as u64,
            poll_owed: 0,
            poll_waiting: false,
            poll_interval: None,
            round_started: None,
            round_done: false,
            round_completed: false,
            reconcile_spent: 0,
            others_spent: 0,
            name,
            governor: Governor::new(settings.plan, now),
            client,
            store,
            account,
            fence,
            inbound,
            poller,
            reconciler,
            drivers,
            schedule,
            metrics,
            status,
            status_written_at: None,
            created: now,
        })
    }

    /// The account's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Queues the events of every later commit of this account's sources for `destinations`
    /// (the delivery outbox; see [`SyncConfig::destinations_for`](crate::config::SyncConfig::destinations_for)).
    pub fn set_destinations(&mut self, destinations: Vec<String>) {
        if let Some(source) = &mut self.inbound {
            source.set_destinations(destinations.clone());
        }
        if let Some(source) = &mut self.poller {
            source.set_destinations(destinations.clone());
        }
        if let Some(source) = &mut self.reconciler {
            source.set_destinations(destinations.clone());
        }
        match &mut self.drivers {
            Some(DriverSource::Unresolved(config)) => config.destinations = destinations,
            Some(DriverSource::Ready(source)) => source.set_destinations(destinations),
            None => {}
        }
    }

    /// The status as of the last tick.
    pub fn status(&self) -> &AccountStatus {
        &self.status
    }

    /// The governor (read it; the runner spends through it).
    pub fn governor(&self) -> &Governor {
        &self.governor
    }

    /// When the next source is due (never earlier than the soonest one; `now + 1 min` when no
    /// source is configured).
    pub fn next_due(&self) -> DateTime<Utc> {
        self.schedule
            .values()
            .map(|s| s.next_due)
            .min()
            .unwrap_or_else(|| {
                self.status.last_tick_at.unwrap_or(self.created) + TimeDelta::minutes(1)
            })
    }

    /// Runs every source due at `now` (see the [module documentation](self)). `Err` only for a
    /// lost lease: stop the runner.
    pub async fn tick(&mut self, now: DateTime<Utc>) -> Result<TickReport, CollectError> {
        let mut report = TickReport::default();
        let due: Vec<SourceKind> = SourceKind::ALL
            .into_iter()
            .filter(|kind| self.schedule.get(kind).is_some_and(|s| s.next_due <= now))
            .collect();
        for kind in due {
            let before = self.client.quota().calls;
            let result = self.step(kind, now).await;
            let spent = self.client.quota().calls.saturating_sub(before);
            self.governor.observe(&self.client.quota(), now);
            self.count_calls(kind, spent, now);
            if kind == SourceKind::Reconcile {
                self.reconcile_spent += spent;
            } else {
                self.others_spent += spent;
            }
            report.calls += spent;
            report.ran.push(kind);
            let round_complete = std::mem::take(&mut self.round_completed);
            let schedule = self.schedule.get_mut(&kind).expect("scheduled source");
            match result {
                Ok(next) => {
                    schedule.failures = 0;
                    schedule.next_due = next.max(now + TimeDelta::milliseconds(1));
                }
                Err(CollectError::Store(StoreError::LeaseLost { account })) => {
                    self.metrics
                        .leased
                        .get_or_create(&Metrics::account(&self.name))
                        .set(0);
                    return Err(CollectError::Store(StoreError::LeaseLost { account }));
                }
                Err(error) => {
                    schedule.failures += 1;
                    let wait = backoff(schedule.failures);
                    schedule.next_due = now + wait;
                    // The errors' messages include their causes (the facade redacts server texts and keys).
                    let message = error.to_string();
                    tracing::warn!(
                        account = %self.name,
                        source = kind.as_str(),
                        failures = schedule.failures,
                        retry_in_s = wait.num_seconds(),
                        error = %message,
                        "source step failed; backing off"
                    );
                    self.metrics
                        .errors
                        .get_or_create(&Metrics::source(&self.name, kind.as_str()))
                        .inc();
                    self.status.last_error = Some(LastError {
                        source: kind.as_str().to_owned(),
                        message: message.clone(),
                        at: now,
                    });
                    report.failed.push((kind, message));
                }
            }
            let next_due = schedule.next_due;
            // Counted per step: the events of a step are the ones it stored.
            let stored = self.count_events(now).await?;
            report.stored += stored;
            report.steps.push(StepReport {
                source: kind,
                calls: spent,
                stored,
                next_due,
                round_complete,
            });
        }
        self.metrics
            .ticks
            .get_or_create(&Metrics::account(&self.name))
            .inc();
        self.status.last_tick_at = Some(now);
        report.stored += self.count_events(now).await?;
        self.update_gauges(now);
        if self
            .status_written_at
            .is_none_or(|at| now - at >= STATUS_EVERY)
        {
            self.write_status(now).await?;
        }
        Ok(report)
    }

    /// Writes the status now (also done by [`tick`](Self::tick) every [`STATUS_EVERY`]).
    pub async fn write_status(&mut self, now: DateTime<Utc>) -> Result<(), CollectError> {
        self.status.cursors = self.cursor_summary().await?;
        self.status.updated_at = Some(now);
        self.status.lag_seconds = self
            .status
            .newest_observed_at
            .map(|at| (now - at).num_seconds().max(0));
        self.status.sources = self
            .schedule
            .iter()
            .map(|(kind, s)| {
                let calls = self
                    .status
                    .sources
                    .get(kind.as_str())
                    .map_or(0, |old| old.calls);
                (
                    kind.as_str().to_owned(),
                    SourceStatus {
                        next_due: Some(s.next_due),
                        failures: s.failures,
                        calls,
                    },
                )
            })
            .collect();
        let value = serde_json::to_value(&self.status).map_err(|source| CollectError::Cursor {
            name: STATUS_CURSOR.to_owned(),
            source,
        })?;
        let mut commit = Commit::new(self.name.clone()).cursor(STATUS_CURSOR, value);
        commit.fence = self.fence.clone();
        self.store.commit(commit).await?;
        self.status_written_at = Some(now);
        Ok(())
    }

    async fn step(
        &mut self,
        kind: SourceKind,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, CollectError> {
        match kind {
            SourceKind::Inbound => {
                let inbound = self.inbound.as_ref().expect("scheduled");
                if (self.poll_owed > 0 || self.poll_waiting)
                    && let Some(poller) = &self.poller
                {
                    // A short budget: the notified orders become the poll's owed histories
                    // (read once each is final) instead of two calls per notification, which
                    // would leave nothing to the poll.
                    inbound.defer_to_poll(&poller.config().cursor).await?;
                    if self.poll_waiting {
                        // The poll waits for its finder calls: the drain (tracking numbers
                        // only now) does not take them first.
                        return Ok(now + INBOUND_EVERY);
                    }
                }
                let report = inbound.drain(&mut self.governor, now).await?;
                Ok(if report.left > 0 {
                    self.when_budget(1, now).max(now + INBOUND_EVERY)
                } else {
                    now + INBOUND_EVERY
                })
            }
            SourceKind::Poll => {
                let poller = self.poller.as_ref().expect("scheduled");
                match poller.poll(&mut self.governor, now).await? {
                    Some(report) => {
                        self.poll_waiting = false;
                        self.poll_owed = owed(&report);
                        let cost = poll_cost(self.poll_levels, &report, self.governor.plan().burst);
                        let advice = self.governor.advice(cost, now);
                        self.poll_interval = Some(to_delta(advice.poll_interval));
                        Ok(now + to_delta(advice.poll_interval))
                    }
                    None => {
                        self.poll_waiting = true;
                        Ok(self.when_budget(self.poll_levels, now))
                    }
                }
            }
            SourceKind::Reconcile => {
                if self.poll_owed > 0 {
                    // A short budget: the poll's owed histories (each order's one read once
                    // it is final) come first; a final history also shows what the reconcile
                    // looks for (labels within a level).
                    return Ok(now + RECONCILE_EVERY);
                }
                let interval = self.poll_interval();
                if let Some(started) = self.round_started
                    && self.round_done
                {
                    // The last round is complete: the next one starts one poll interval after
                    // it started, or at once when it took longer (back to back).
                    let next = started + interval;
                    if next > now {
                        return Ok(next);
                    }
                }
                let checks = self.reconcile_allowance();
                if checks == 0 {
                    // Its share of the others' calls is spent: the others spend on (the poll
                    // about every interval), and the share grows with them.
                    return Ok(now + interval.max(INBOUND_EVERY * 5));
                }
                let reconciler = self.reconciler.as_ref().expect("scheduled");
                let report = reconciler
                    .reconcile_up_to(&mut self.governor, now, checks)
                    .await?;
                if self.round_done || self.round_started.is_none() {
                    self.round_started = Some(now);
                    self.round_done = false;
                }
                match report {
                    Some(report) if report.round_complete => {
                        self.round_done = true;
                        self.round_completed = true;
                        let next = self.round_started.map_or(now, |s| s + interval);
                        Ok(next.max(now + INBOUND_EVERY))
                    }
                    // More of the round is due: at once, as far as the governor and the share
                    // allow.
                    Some(_) => Ok(now + INBOUND_EVERY),
                    // Two calls (a record and a history) are what one check may need.
                    None => Ok(self.when_budget(2, now)),
                }
            }
            SourceKind::Drivers => {
                if let Some(DriverSource::Unresolved(config)) = &self.drivers {
                    if !self.governor.try_acquire(1, now) {
                        return Ok(self.when_budget(1, now));
                    }
                    let users: Vec<UserId> = self.client.users().ids(UserFilter::new()).await?;
                    let mut config = config.clone();
                    config.drivers = users;
                    self.drivers = Some(DriverSource::Ready(Drivers::new(
                        self.client.clone(),
                        self.store.clone(),
                        self.account.clone(),
                        config,
                    )));
                }
                let Some(DriverSource::Ready(drivers)) = &self.drivers else {
                    unreachable!("resolved above")
                };
                let report = drivers.collect(&mut self.governor, now).await?;
                let round = (report.calls.max(1)).max(report.deferred.len() as u64);
                // A short budget: rounds are paced for a third of the rate (the poll's owed
                // histories come first); a round's position windows simply grow (one call
                // per driver for any number of positions).
                let round = if self.poll_owed > 0 || self.poll_waiting {
                    3 * round
                } else {
                    round
                };
                let advice = self.governor.advice(round, now);
                Ok(now + to_delta(advice.poll_interval).max(DRIVERS_EVERY))
            }
        }
    }

    /// The poll interval the governor last advised (the plan's shortest without a poll yet or
    /// without a poll source): a reconcile round is never shorter.
    fn poll_interval(&self) -> TimeDelta {
        self.poll_interval
            .unwrap_or_else(|| to_delta(self.governor.plan().min_poll_interval))
    }

    /// How many checks the reconcile may make now: its share ([`RECONCILE_SHARE`]) of the
    /// calls the other sources spent since the runner started, plus one batch, minus what it
    /// spent (a check costs one call, two when it finds a change: what one batch overdraws is
    /// made up by the next waits). Without a poll or inbound source the reconcile is the
    /// collector: only the governor limits it.
    fn reconcile_allowance(&self) -> usize {
        let batch = self
            .reconciler
            .as_ref()
            .map_or(0, |r| r.config().batch as u64);
        if self.poller.is_none() && self.inbound.is_none() {
            return batch as usize;
        }
        let allowed = (self.others_spent as f64 * RECONCILE_SHARE) as u64 + batch;
        allowed.saturating_sub(self.reconcile_spent).min(batch) as usize
    }

    /// When `calls` calls will be available (the next reset at the latest).
    fn when_budget(&mut self, calls: u64, now: DateTime<Utc>) -> DateTime<Utc> {
        self.governor
            .available_at(calls, now)
            .unwrap_or(now + TimeDelta::minutes(5))
            .max(now + TimeDelta::seconds(1))
    }

    fn count_calls(&mut self, kind: SourceKind, spent: u64, now: DateTime<Utc>) {
        self.metrics
            .calls
            .get_or_create(&Metrics::source(&self.name, kind.as_str()))
            .inc_by(spent);
        let today = now.date_naive();
        if self.status.day != Some(today) {
            self.status.day = Some(today);
            self.status.calls_today = 0;
        }
        self.status.calls_today += spent;
        self.status
            .sources
            .entry(kind.as_str().to_owned())
            .or_default()
            .calls += spent;
    }

    /// Counts the events stored since the last count (by type, newest observed time).
    async fn count_events(&mut self, now: DateTime<Utc>) -> Result<u64, CollectError> {
        let mut counted = 0;
        // A bounded catch-up per tick: a long history is counted over a few ticks.
        for _ in 0..20 {
            let page = self
                .store
                .query(&EventQuery {
                    after: self.status.counted_until,
                    account: Some(self.name.clone()),
                    limit: COUNT_PAGE,
                    ..EventQuery::default()
                })
                .await?;
            for stored in &page {
                let ty = stored.event.event_type.as_str().to_owned();
                self.metrics
                    .events
                    .get_or_create(&TypeLabels {
                        account: self.name.clone(),
                        r#type: ty.clone(),
                    })
                    .inc();
                *self.status.events_by_type.entry(ty).or_default() += 1;
                let observed = stored.event.observed_at;
                if self.status.newest_observed_at.is_none_or(|n| observed > n) {
                    self.status.newest_observed_at = Some(observed);
                }
                self.status.counted_until = stored.position;
                counted += 1;
            }
            if page.len() < COUNT_PAGE as usize {
                break;
            }
        }
        if let Some(at) = self.status.newest_observed_at {
            self.status.lag_seconds = Some((now - at).num_seconds().max(0));
        }
        Ok(counted)
    }

    fn update_gauges(&mut self, now: DateTime<Utc>) {
        let left = self.governor.left(now);
        self.status.budget_left = left;
        let elapsed = (now - day_start(now)).num_seconds();
        self.status.projected_today = if elapsed >= 60 {
            (self.status.calls_today as f64 * 86_400.0 / elapsed as f64).round() as u64
        } else {
            self.status.calls_today
        };
        let window = |window: &str| WindowLabels {
            account: self.name.clone(),
            window: window.to_owned(),
        };
        self.metrics
            .budget_left
            .get_or_create(&window("ours"))
            .set(i64::try_from(left).unwrap_or(i64::MAX));
        let quota = self.client.quota();
        for (name, remaining) in [
            ("daily", quota.daily_remaining),
            ("monthly", quota.monthly_remaining),
        ] {
            if let Some(remaining) = remaining {
                self.metrics
                    .budget_left
                    .get_or_create(&window(name))
                    .set(i64::try_from(remaining).unwrap_or(i64::MAX));
            }
        }
        if let Some(lag) = self.status.lag_seconds {
            self.metrics
                .lag
                .get_or_create(&Metrics::account(&self.name))
                .set(lag);
        }
    }

    async fn cursor_summary(&self) -> Result<CursorSummary, CollectError> {
        let mut summary = CursorSummary::default();
        if self.poller.is_some()
            && let Some(value) = self.store.cursor(&self.name, "poll").await?
            && let Ok(cursor) = serde_json::from_value::<PollCursor>(value)
        {
            summary.poll_orders = cursor.levels.values().map(|ids| ids.len()).sum();
            summary.poll_pending = cursor.pending.len();
        }
        summary.inbound_queued = self
            .store
            .cursors(&self.name, "inbound/", 1000)
            .await?
            .len();
        Ok(summary)
    }
}

/// The inbound source's configuration from the file's settings.
pub(crate) fn inbound_config(
    settings: &InboundSettings,
    token: InboundToken,
    fence: Option<Fence>,
) -> InboundConfig {
    let mut config = InboundConfig::new(token);
    if let Some(fields) = &settings.order_id_fields {
        config.order_id_fields = fields.clone();
    }
    if let Some(fields) = &settings.tracking_number_fields {
        config.tracking_number_fields = fields.clone();
    }
    config.fence = fence;
    config
}

/// The calls the next poll is paced for: its finder calls (`levels`) and two per order it
/// fetched or still owes a history (the last poll's work, as the cursor it committed says),
/// at least twice the finder calls and at most a `burst`.
///
/// Pacing polls on their finder calls alone would let the finder calls take the whole rate:
/// the bucket would be empty at every poll and no history would ever be fetched (every change
/// provisional, never upgraded, on a small plan). At least half the rate is kept for fetches;
/// more when the last poll had more to fetch, up to what the bucket can hold.
///
/// While the poll owes histories (a short budget: the poll defers the histories of orders
/// still active and reads each once it is final, one call), the owed ones cost nothing now
/// and nothing else is reserved for them: a history is paid by the poll that reads it. The
/// next poll is paced for one and a half times what this one spent (finder calls and
/// histories): the poll takes two thirds of the rate, the drivers the third they are paced
/// for. Each change a poll's diff sees is stored (provisional) by the poll that sees it, so
/// the shorter the interval, the lower the lag; reserving twice the finder calls (as with a
/// full budget) would leave a sixth of the rate unspent and make the interval a third longer.
fn poll_cost(levels: u64, report: &crate::collect::PollReport, burst: u64) -> u64 {
    let floor = 2 * levels;
    let ceiling = burst.max(floor);
    let owed = owed(report);
    if owed > 0 {
        let histories = report.batch.calls.saturating_sub(levels);
        return (3 * (levels + histories))
            .div_ceil(2)
            .clamp(levels, ceiling.max(levels));
    }
    let owed = report.batch.fetched.len() as u64;
    (levels + 2 * owed).clamp(floor, ceiling)
}

/// The histories a committed poll still owes (its cursor's `pending` list).
fn owed(report: &crate::collect::PollReport) -> u64 {
    report
        .batch
        .commit
        .cursors
        .iter()
        .find_map(|(_, value)| {
            value
                .get("pending")
                .and_then(|p| p.as_array())
                .map(Vec::len)
        })
        .unwrap_or(0) as u64
}

/// The wait after the `failures`-th failure in a row.
pub fn backoff(failures: u32) -> TimeDelta {
    let factor = 1i64 << failures.saturating_sub(1).min(16);
    (BACKOFF_BASE * factor as i32).min(BACKOFF_CAP)
}

fn to_delta(duration: Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::days(1))
}

fn day_start(now: DateTime<Utc>) -> DateTime<Utc> {
    now.date_naive()
        .and_hms_opt(0, 0, 0)
        .map_or(now, |t| t.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), TimeDelta::seconds(5));
        assert_eq!(backoff(2), TimeDelta::seconds(10));
        assert_eq!(backoff(4), TimeDelta::seconds(40));
        assert_eq!(backoff(7), TimeDelta::minutes(5));
        assert_eq!(backoff(1000), TimeDelta::minutes(5));
    }
}
