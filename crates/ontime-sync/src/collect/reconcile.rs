//! The slow reconcile source: what the poll diff cannot see.
//!
//! A poll sees an order move from one level to another. It does not see a new label within the
//! same level ("Picked Up" → "In Transit", both AssignedInRoute) nor a hand-over from one driver
//! to another at the same level: the order stays in the same ID set. This source looks at the
//! *active* orders one by one, slowly, within the budget:
//!
//! 1. **Listing** (once per round): the finder per active level
//!    ([`ReconcileConfig::levels`], one call each), or without a call the poll's stored ID sets
//!    of those levels ([`ReconcileConfig::active_from`]), gives the active set, kept in the cursor with
//!    what was last seen of each order ([`Known`]: its latest status entry's ID and its driver).
//!    Orders the new listing no longer finds *departed* (delivered, cancelled, deleted): each
//!    owes one final check.
//! 2. **Checks** (each call to [`Reconciler::reconcile`], up to [`ReconcileConfig::batch`]
//!    orders, departed ones first, then the active set in ID order from the rotation position):
//!    one call per order, its record (`client.orders().get`). Unless the record's latest
//!    `Status.ID` is a stored status entry with the record's driver as actor (another source
//!    fetched it), or the record is as this source saw it last, the order's history is fetched (one more call, [`super::exact`] with the record in hand) and
//!    its new events committed: a new label within a level, a transfer (the new step gets the
//!    new driver, the step before keeps the stored one, so the mapping sees another driver),
//!    the custody of each item from the old driver to the new one.
//!    An active order whose history another source read after the round's listing (an exact
//!    status event of it observed later) is not checked: that read is as good as a check
//!    ([`ReconcileReport::skipped`]; what it stored becomes the order's [`Known`]).
//! 3. When the rotation has passed every active order and no departed order is owed, the round
//!    is complete ([`ReconcileReport::round_complete`]); the next call lists again.
//!
//! An order is checked only when both of its possible calls are allowed
//! ([`Governor::can_acquire`]); each call is taken as it is made. An order is checked at most
//! once per batch. A check whose record shows a level no longer active is the order's final
//! check: it leaves the active set (so a departed order is not checked twice). Every order the
//! source saw at an active level thus gets its final events from this source alone, whatever
//! the other sources did.
//!
//! Events and the new cursor are committed in one transaction per batch, with the config's
//! destinations and under its fence: a crash before the commit redoes the batch (the same
//! events, the same ids).
//!
//! # Limits
//!
//! - A driver change that left no status entry is seen (the history is fetched) but yields no
//!   event: OnTime's history has no entry to key it on. The next entry carries the new driver.
//! - Between two checks of an order, only the last driver is known: see [`super::exact`].
//! - An order that enters an active level after the round's listing waits for the next round
//!   (the poll sees it move meanwhile).
//! - A change within a level waits for its order's next check: up to one round. A round costs
//!   one call per active order, so the round time is what the caller's budget makes it (the
//!   runner, `run::account`: "The reconcile's pace").

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use ontime::{OrderFilter, OrderId, StatusId, StatusLevel, UserId};
use serde::{Deserialize, Serialize};

use super::CollectError;
use super::exact::{Exact, Fetcher, StoredSteps};
use super::governor::Governor;
use super::poll::PollCursor;
use crate::event::{AccountConfig, Actor, TimePrecision, is_provisional};
use crate::store::{Commit, EventStore, Fence};

/// What the reconcile source watches, how much it checks at once, where its events go.
#[derive(Clone, Debug, PartialEq)]
pub struct ReconcileConfig {
    /// The active levels: their orders are listed once per round (one finder call each).
    pub levels: Vec<StatusLevel>,
    /// The name of the cursor (active set, rotation position).
    pub cursor: String,
    /// The most orders checked per call of [`Reconciler::reconcile`].
    pub batch: usize,
    /// Destinations whose outbox gets the new events.
    pub destinations: Vec<String>,
    /// The lease the commits are made under (many workers: see [`crate::store::lease`]); a
    /// commit whose lease was taken over fails with
    /// [`StoreError::LeaseLost`](crate::store::StoreError::LeaseLost) and writes nothing.
    pub fence: Option<Fence>,
    /// The poll's cursor ([`PollCursor`]) to take each round's active set from, without a call,
    /// when it is stored and holds the ID set of every level in [`levels`](Self::levels) (the
    /// poll lists those levels anyway, at most one poll interval ago). `None`, or a poll cursor
    /// that lacks one of the levels: the round lists them with the finder.
    pub active_from: Option<String>,
}

impl Default for ReconcileConfig {
    /// The levels an order is at before it is finished (Dispatched, Assigned, AssignedInRoute,
    /// Stored, UnassignedStored); cursor `reconcile`; 20 orders a batch; no destination; the
    /// active set listed with the finder.
    fn default() -> Self {
        Self {
            levels: super::active_levels(),
            cursor: "reconcile".to_owned(),
            batch: 20,
            destinations: Vec::new(),
            fence: None,
            active_from: None,
        }
    }
}

/// What was last seen of an active order on its record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Known {
    /// The ID of its latest status entry (`Status.ID`).
    pub status: Option<StatusId>,
    /// The driver assigned (`DriverCurrentlyAssigned`).
    pub driver: Option<UserId>,
}

/// The reconcile cursor.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileCursor {
    /// Whether this round's active set was listed (`false`: the next call lists it).
    pub listed: bool,
    /// The active orders, with what was last seen of each (`None`: not checked yet).
    pub active: BTreeMap<OrderId, Option<Known>>,
    /// Orders that left the active levels and still owe their final check.
    pub departed: BTreeSet<OrderId>,
    /// The last active order checked this round: the next batch starts after it.
    pub position: Option<OrderId>,
    /// When this round's active set was listed: an order whose history another source read
    /// since then needs no check this round.
    #[serde(default)]
    pub round_started: Option<DateTime<Utc>>,
}

/// What one batch did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReconcileReport {
    /// Orders whose record was fetched.
    pub checked: usize,
    /// Orders whose history was fetched because the record showed a change.
    pub changed: Vec<OrderId>,
    /// Events stored (new or upgraded).
    pub stored: usize,
    /// OnTime calls spent (listing, records, histories).
    pub calls: u64,
    /// Whether this batch finished the round (the next call lists the active set again).
    pub round_complete: bool,
    /// Orders OnTime answered "not found" for (deleted): dropped, no events.
    pub gone: Vec<OrderId>,
    /// Active orders not checked, without a call: another source (the poll, a notification)
    /// read their history during this round, which is as good as a check.
    pub skipped: usize,
}

/// The reconcile source of one account (see the [module documentation](self)).
#[derive(Clone, Debug)]
pub struct Reconciler<S> {
    client: ontime::Client,
    store: S,
    account: AccountConfig,
    config: ReconcileConfig,
}

impl<S: EventStore> Reconciler<S> {
    /// The reconcile source of `account`, calling OnTime through `client`.
    pub fn new(
        client: ontime::Client,
        store: S,
        account: AccountConfig,
        config: ReconcileConfig,
    ) -> Self {
        Self {
            client,
            store,
            account,
            config,
        }
    }

    routing!(ReconcileConfig);

    /// One batch of up to [`ReconcileConfig::batch`] checks; see
    /// [`reconcile_up_to`](Self::reconcile_up_to).
    pub async fn reconcile(
        &self,
        governor: &mut Governor,
        now: DateTime<Utc>,
    ) -> Result<Option<ReconcileReport>, CollectError> {
        self.reconcile_up_to(governor, now, self.config.batch).await
    }

    /// One batch of up to `checks` checks (at most [`ReconcileConfig::batch`]: the caller may
    /// allow fewer, e.g. the runner's share for the reconcile); `None` when the governor (or
    /// `checks` = 0) allowed nothing now (nothing was called or committed). On an error nothing
    /// was committed: the next call redoes the batch.
    pub async fn reconcile_up_to(
        &self,
        governor: &mut Governor,
        now: DateTime<Utc>,
        checks: usize,
    ) -> Result<Option<ReconcileReport>, CollectError> {
        let account = &self.account.account;
        let name = &self.config.cursor;
        let batch = checks.min(self.config.batch);
        if batch == 0 {
            return Ok(None);
        }
        let mut cursor: ReconcileCursor = super::load_cursor(&self.store, account, name).await?;
        let mut report = ReconcileReport::default();

        if cursor.listed {
            if !governor.can_acquire(2, now) {
                return Ok(None);
            }
        } else if let Some(listed) = self.active_from_poll().await? {
            apply_listing(&mut cursor, listed, now);
        } else {
            let levels = self.config.levels.len() as u64;
            if !governor.try_acquire(levels, now) {
                return Ok(None);
            }
            report.calls += levels;
            let listed = self.list().await?;
            apply_listing(&mut cursor, listed, now);
            governor.observe(&self.client.quota(), now);
        }

        let mut commit = Commit::new(account.clone());
        commit.destinations = self.config.destinations.clone();
        commit.fence = self.config.fence.clone();
        while report.checked < batch {
            let (order, departed) = match cursor.departed.first() {
                Some(order) => (*order, true),
                None => match next_active(&cursor) {
                    Some(order) => (order, false),
                    None => break,
                },
            };
            if !departed && let Some(read) = self.read_this_round(order, &cursor).await? {
                cursor.position = Some(order);
                cursor.active.insert(order, Some(read));
                report.skipped += 1;
                continue;
            }
            if !governor.can_acquire(2, now) {
                break;
            }
            let known = if departed {
                None
            } else {
                cursor.active.get(&order).cloned().flatten()
            };
            let checked = self
                .check(order, known, governor, now, &mut commit, &mut report)
                .await?;
            if matches!(checked, Checked::Deferred) {
                break;
            }
            if !departed {
                cursor.position = Some(order);
            }
            cursor.departed.remove(&order);
            match checked {
                Checked::Seen(known, level) if !departed && self.is_active(level) => {
                    cursor.active.insert(order, Some(known));
                }
                // Gone, or no longer active: this was its final check.
                _ => {
                    cursor.active.remove(&order);
                }
            }
        }
        if cursor.departed.is_empty() && next_active(&cursor).is_none() {
            report.round_complete = true;
            cursor.listed = false;
            cursor.position = None;
        }
        governor.observe(&self.client.quota(), now);

        let value =
            serde_json::to_value(&cursor).map_err(|source| CollectError::cursor(name, source))?;
        let outcome = self
            .store
            .commit(commit.cursor(name.clone(), value))
            .await?;
        report.stored = outcome.stored.len() + outcome.upgraded.len();
        Ok(Some(report))
    }

    /// What was seen of `order` when another source read its history during this round (an
    /// exact status event of it observed after the round's listing): its latest stored status
    /// entry and that entry's driver. `None`: it needs its check.
    async fn read_this_round(
        &self,
        order: OrderId,
        cursor: &ReconcileCursor,
    ) -> Result<Option<Known>, CollectError> {
        let Some(since) = cursor.round_started else {
            return Ok(None);
        };
        let fetcher = Fetcher {
            client: &self.client,
            store: &self.store,
            account: &self.account,
            history_only: false,
        };
        let stored = fetcher.stored(order).await?;
        let steps: Vec<&crate::event::Event> = stored
            .iter()
            .filter(|e| e.custody.is_none() && e.order.is_some() && e.ontime.is_some())
            .collect();
        let read_since = steps.iter().any(|e| {
            e.time_precision == TimePrecision::Exact && !is_provisional(e) && e.observed_at > since
        });
        let Some(latest) = steps.iter().max_by_key(|e| e.sequence) else {
            return Ok(None);
        };
        if !read_since || is_provisional(latest) {
            return Ok(None);
        }
        let status = latest.ontime.as_ref().and_then(|o| o.status_id);
        if status.is_none() {
            // An entry without an ID (the all-zero GUID): the record's check compares IDs.
            return Ok(None);
        }
        Ok(Some(Known {
            status,
            driver: latest.actor.as_ref().map(|Actor::Driver { id }| *id),
        }))
    }

    /// The active set from the poll's stored cursor ([`ReconcileConfig::active_from`]), when
    /// it holds every level watched here.
    async fn active_from_poll(&self) -> Result<Option<BTreeSet<OrderId>>, CollectError> {
        let Some(name) = &self.config.active_from else {
            return Ok(None);
        };
        let poll: PollCursor = super::load_cursor(&self.store, &self.account.account, name).await?;
        let mut listed = BTreeSet::new();
        for level in &self.config.levels {
            match level.code().and_then(|code| poll.levels.get(&code)) {
                Some(ids) => listed.extend(ids.iter().copied()),
                None => return Ok(None),
            }
        }
        Ok(Some(listed))
    }

    /// Lists the active levels with the finder (one call each).
    async fn list(&self) -> Result<BTreeSet<OrderId>, CollectError> {
        let mut listed = BTreeSet::new();
        for level in &self.config.levels {
            let ids = self
                .client
                .orders()
                .ids(OrderFilter::new().status(level.clone()))
                .await?;
            listed.extend(ids);
        }
        Ok(listed)
    }

    /// Checks one order: its record, and its history when the record shows a change.
    async fn check(
        &self,
        order: OrderId,
        known: Option<Known>,
        governor: &mut Governor,
        now: DateTime<Utc>,
        commit: &mut Commit,
        report: &mut ReconcileReport,
    ) -> Result<Checked, CollectError> {
        if !governor.try_acquire(1, now) {
            // Not reached: the caller checked that both calls are allowed.
            return Ok(Checked::Deferred);
        }
        report.calls += 1;
        report.checked += 1;
        let record = match self.client.orders().get(order).await {
            Ok(record) => record,
            Err(ontime::Error::NotFound { .. }) => {
                report.gone.push(order);
                return Ok(Checked::Gone);
            }
            Err(error) => return Err(error.into()),
        };
        let status = record
            .status
            .as_ref()
            .and_then(|s| s.id)
            .filter(|id| !id.as_uuid().is_nil());
        let driver = record.driver_currently_assigned;
        let level = record
            .status
            .as_ref()
            .and_then(|s| s.level.as_ref())
            .or(record.status_level.as_ref())
            .and_then(StatusLevel::code);
        let seen = Known { status, driver };

        let fetcher = Fetcher {
            client: &self.client,
            store: &self.store,
            account: &self.account,
            history_only: false,
        };
        let stored = fetcher.stored(order).await?;
        let steps = StoredSteps::new(&stored);
        let stored_driver = status.and_then(|id| steps.driver_of_status(id));
        // Nothing to fetch when the latest entry is stored with this very driver (another
        // source fetched it), or when the record is as this source saw it last (a driver
        // change without an entry is fetched once, then known).
        let unchanged = stored_driver == Some(driver) || known.as_ref() == Some(&seen);
        if unchanged {
            return Ok(Checked::Seen(seen, level));
        }
        match fetcher
            .exact(order, Some(&record), &stored, governor, now)
            .await?
        {
            Exact::Derived { sorted, calls } => {
                report.calls += calls;
                report.changed.push(order);
                commit.events.extend(sorted.events);
                commit.upgrades.extend(sorted.upgrades);
                Ok(Checked::Seen(seen, level))
            }
            Exact::Gone { calls } => {
                report.calls += calls;
                report.gone.push(order);
                Ok(Checked::Gone)
            }
            // Not reached (both calls were allowed): checked again by the next batch.
            Exact::NoBudget => Ok(Checked::Deferred),
        }
    }

    fn is_active(&self, level: Option<i64>) -> bool {
        level.is_some_and(|code| self.config.levels.iter().any(|l| l.code() == Some(code)))
    }
}

/// What a check came to.
enum Checked {
    /// The record was seen (and the history fetched if it changed): what was seen, its level.
    Seen(Known, Option<i64>),
    /// OnTime no longer has the order.
    Gone,
    /// Not checked for want of budget.
    Deferred,
}

/// The next active order after the rotation position.
fn next_active(cursor: &ReconcileCursor) -> Option<OrderId> {
    match cursor.position {
        Some(position) => cursor
            .active
            .range((
                std::ops::Bound::Excluded(position),
                std::ops::Bound::Unbounded,
            ))
            .next()
            .map(|(id, _)| *id),
        None => cursor.active.keys().next().copied(),
    }
}

/// A new listing of the active set into `cursor`: orders no longer listed depart (each owes
/// its final check), new ones join (not checked yet), the rotation starts again.
fn apply_listing(cursor: &mut ReconcileCursor, listed: BTreeSet<OrderId>, now: DateTime<Utc>) {
    let previous = std::mem::take(&mut cursor.active);
    for (order, known) in previous {
        if listed.contains(&order) {
            cursor.active.insert(order, known);
        } else {
            cursor.departed.insert(order);
        }
    }
    for order in listed {
        cursor.departed.remove(&order);
        cursor.active.entry(order).or_insert(None);
    }
    cursor.listed = true;
    cursor.position = None;
    cursor.round_started = Some(now);
}
