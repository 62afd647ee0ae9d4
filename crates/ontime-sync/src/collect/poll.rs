//! The polling source: which orders moved since the last poll, and what happened to them.
//!
//! OnTime has no change feed. Its order finder does filter by status level and answers with IDs
//! only (one call, `client.orders().ids(OrderFilter::new().status(level))`), so a poll costs one
//! call per watched level whatever the account's size. The previous poll's ID sets are stored as
//! a cursor; an order that is in a level's set now and was not before *moved* (into that level).
//!
//! Each moved order gets one exact fetch ([`super::exact`]): its status history and its order
//! record (two calls: the record names the driver, the tracking numbers and the items; it is
//! skipped when it cannot change anything, see there), from which its events are derived with
//! OnTime's exact times, actors and custody events ([`derive_order_events`]) and sorted against
//! the store ([`reconcile`]: events already stored are dropped, provisional ones are upgraded
//! in place). When the [`Governor`] does not allow both calls for it, the order gets a
//! provisional event instead (time observed, see [`crate::event::provisional`]) and is kept in
//! the cursor's `pending` list; later polls fetch it first, when the budget allows, and that
//! upgrades the provisional event.
//!
//! # A short budget
//!
//! When the governor cannot cover two calls for every order due in this poll (or
//! [`Advice::exact_fetches`](super::Advice::exact_fetches) says defer), the poll spends one call
//! per order, once: an order still at an active level (Dispatched … UnassignedStored) gets its
//! provisional event and stays owed, without a call (it will move again); an order that is
//! final (at a watched finished level such as Delivered, or listed by no watched level) gets its
//! history alone (no record, [`super::exact`]), finals first. Every entry of that history is
//! stored (same-level labels too), provisional events upgraded in place. What is lost at such a
//! budget: the drivers of those steps (actor unknown), their custody events, and timeliness
//! (a change is exact only once its order is final). Polls must stay frequent (the runner paces
//! them on their finder calls and the history calls spent, not on what is owed): an order that
//! goes through several levels between two polls shows only its last one until its history is
//! read.
//!
//! [`derive_order_events`]: crate::event::derive_order_events
//! [`reconcile`]: crate::event::reconcile
//!
//! Events and the new cursor are committed in one store transaction: a crash between the
//! fetches and the commit leaves the previous cursor, so the next poll sees the same moves,
//! derives the same events (the same ids, and with the same `now` the same content) and the
//! store keeps each once.
//!
//! # Limits
//!
//! - The first poll (no cursor yet) treats every order it finds as moved: that is the backfill,
//!   one exact fetch per order, paced by the governor (the rest is pending).
//! - The actor of a new step is the driver the record shows when the poll fetches it
//!   ([`super::exact`]): a hand-over between two polls that also changed the level is seen,
//!   one within a level is not (the slow reconcile, [`super::reconcile`], finds those).
//! - A poll sees where an order is, not its path: moves that end where they started between
//!   two polls (A→B→A) are invisible to the diff; they appear once a history of the order is
//!   fetched for another reason.
//! - The default watches the terminal levels too (Delivered, Cancelled, CancelledBillable): an
//!   order created and finished between two polls is seen where it ends. The ID sets then grow
//!   with the account's whole history ([`PollConfig::levels`] can leave them out, at that cost).
//! - An order that no watched level lists any more has *departed*: it went to a level not
//!   watched or was deleted. It gets one exact fetch like a moved
//!   order (a cancellation then appears with its exact time; a deleted order's fetch answers
//!   "not found": no events, nothing owed, [`PollBatch::gone`]). Without budget it gets no
//!   provisional event (its level is unknown), only a pending entry.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use ontime::{OrderFilter, OrderId, StatusLevel};
use serde::{Deserialize, Serialize};

use super::CollectError;
use super::exact::{Exact, Fetcher};
use super::governor::Governor;
use crate::event::{AccountConfig, OrderRef, provisional_status_event};
use crate::store::{Commit, CommitOutcome, EventStore, Fence};

/// What the poller watches and where its events go.
#[derive(Clone, Debug, PartialEq)]
pub struct PollConfig {
    /// The status levels whose orders are listed each poll (one finder call each).
    pub levels: Vec<StatusLevel>,
    /// The name of the cursor the ID sets are kept under.
    pub cursor: String,
    /// Destinations whose outbox gets the new events.
    pub destinations: Vec<String>,
    /// The lease the commits are made under (many workers: see [`crate::store::lease`]); a
    /// commit whose lease was taken over fails with
    /// [`StoreError::LeaseLost`](crate::store::StoreError::LeaseLost) and writes nothing.
    pub fence: Option<Fence>,
}

impl Default for PollConfig {
    /// The levels an order passes through before it is finished: Dispatched, Assigned,
    /// AssignedInRoute, Stored, UnassignedStored, plus the levels it ends at: Delivered,
    /// Cancelled, CancelledBillable; cursor `poll`; no destination.
    ///
    /// Every order ends at a watched level, so an order whose whole life fell between two polls
    /// (created and cancelled while the collector was down, its notifications lost) is still
    /// seen when it lands; the crash tests of `ontime sync run` found that hole.
    fn default() -> Self {
        let mut levels = super::active_levels();
        levels.extend([
            StatusLevel::Delivered,
            StatusLevel::Cancelled,
            StatusLevel::CancelledBillable,
        ]);
        Self {
            levels,
            cursor: "poll".to_owned(),
            destinations: Vec::new(),
            fence: None,
        }
    }
}

/// The poll cursor: the ID set of every watched level, and the orders whose history is owed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollCursor {
    /// Level code → the orders at that level at the last poll.
    pub levels: BTreeMap<i64, BTreeSet<OrderId>>,
    /// Orders that moved (or departed) but whose history was not fetched yet (moved ones have a
    /// provisional event).
    pub pending: BTreeSet<OrderId>,
}

/// What a poll found and what it will commit.
#[derive(Clone, Debug, PartialEq)]
pub struct PollBatch {
    /// The events, upgrades and new cursor, to commit in one transaction.
    pub commit: Commit,
    /// Orders that moved since the previous poll, with the watched level they are at now.
    pub moved: BTreeMap<OrderId, StatusLevel>,
    /// Orders no watched level lists any more (moved to a level not watched, or deleted).
    pub departed: BTreeSet<OrderId>,
    /// Orders whose history was fetched.
    pub fetched: Vec<OrderId>,
    /// Orders that got a provisional event (no budget for their history).
    pub provisional: Vec<OrderId>,
    /// Orders whose history fetch answered "not found" (deleted in OnTime): no events.
    pub gone: Vec<OrderId>,
    /// OnTime calls spent: one per level, one or two per fetched order (history, record).
    pub calls: u64,
}

/// A committed poll.
#[derive(Clone, Debug, PartialEq)]
pub struct PollReport {
    /// What the poll found.
    pub batch: PollBatch,
    /// What the store did with it.
    pub outcome: CommitOutcome,
}

/// The polling source of one account (see the [module documentation](self)).
#[derive(Clone, Debug)]
pub struct Poller<S> {
    client: ontime::Client,
    store: S,
    account: AccountConfig,
    config: PollConfig,
}

impl<S: EventStore> Poller<S> {
    /// A poller for `account`, calling OnTime through `client` and keeping events in `store`.
    pub fn new(
        client: ontime::Client,
        store: S,
        account: AccountConfig,
        config: PollConfig,
    ) -> Self {
        Self {
            client,
            store,
            account,
            config,
        }
    }

    routing!(PollConfig);

    fn fetcher(&self, history_only: bool) -> Fetcher<'_, S> {
        Fetcher {
            client: &self.client,
            store: &self.store,
            account: &self.account,
            history_only,
        }
    }

    /// Polls and commits (see [`collect`](Self::collect)); `None` when the governor allowed no
    /// finder calls now (nothing was called or committed). On an error nothing was committed:
    /// the next poll starts from the previous cursor.
    pub async fn poll(
        &self,
        governor: &mut Governor,
        now: DateTime<Utc>,
    ) -> Result<Option<PollReport>, CollectError> {
        let Some(batch) = self.collect(governor, now).await? else {
            return Ok(None);
        };
        let outcome = self.store.commit(batch.commit.clone()).await?;
        Ok(Some(PollReport { batch, outcome }))
    }

    /// Lists the watched levels, diffs against the stored cursor, fetches the orders the
    /// governor allows and derives the events, without writing anything. `None` when the
    /// governor allows no finder calls now.
    pub async fn collect(
        &self,
        governor: &mut Governor,
        now: DateTime<Utc>,
    ) -> Result<Option<PollBatch>, CollectError> {
        let account = &self.account.account;
        let previous: PollCursor =
            super::load_cursor(&self.store, account, &self.config.cursor).await?;
        let finder_calls = self.config.levels.len() as u64;
        if !governor.try_acquire(finder_calls, now) {
            return Ok(None);
        }

        let mut cursor = PollCursor {
            levels: BTreeMap::new(),
            pending: previous.pending.clone(),
        };
        let mut moved = BTreeMap::new();
        for level in &self.config.levels {
            let ids: BTreeSet<OrderId> = self
                .client
                .orders()
                .ids(OrderFilter::new().status(level.clone()))
                .await?
                .into_iter()
                .collect();
            let code = level.code().unwrap_or_default();
            let before = previous.levels.get(&code);
            for id in &ids {
                if before.is_none_or(|b| !b.contains(id)) {
                    moved.insert(*id, level.clone());
                }
            }
            cursor.levels.insert(code, ids);
        }
        governor.observe(&self.client.quota(), now);
        // Orders no watched level lists any more went to a level not watched (or were deleted).
        let listed: BTreeSet<&OrderId> = cursor.levels.values().flatten().collect();
        let departed: BTreeSet<OrderId> = previous
            .levels
            .values()
            .flatten()
            .filter(|id| !listed.contains(id))
            .copied()
            .collect();

        // Owed histories first (oldest debts), then this poll's moves and departures.
        let mut due: Vec<OrderId> = previous.pending.iter().copied().collect();
        due.extend(moved.keys().filter(|id| !previous.pending.contains(id)));
        due.extend(departed.iter().filter(|id| !previous.pending.contains(id)));

        // A short budget: not every due order can get its two calls now (or the governor says
        // defer). Then an order still at an active level only gets its provisional event and
        // stays owed (it will move again: its history is read once it is final), and a final
        // one (at a finished level, or listed nowhere) gets its history alone, finals first.
        let active: BTreeSet<i64> = super::active_levels()
            .iter()
            .filter_map(StatusLevel::code)
            .collect();
        let is_active = |id: &OrderId| {
            cursor
                .levels
                .iter()
                .any(|(code, ids)| active.contains(code) && ids.contains(id))
        };
        let short = !governor.can_acquire(2 * due.len() as u64, now)
            || !governor.advice(finder_calls, now).exact_fetches;
        if short {
            due.sort_by_key(is_active);
        }

        let mut commit = Commit::new(account.clone());
        commit.destinations = self.config.destinations.clone();
        commit.fence = self.config.fence.clone();
        let mut fetched = Vec::new();
        let mut provisional = Vec::new();
        let mut gone = Vec::new();
        let mut calls = finder_calls;
        let fetcher = self.fetcher(short);
        for order in due {
            let stored = fetcher.stored(order).await?;
            let exact = if short && is_active(&order) {
                Exact::NoBudget
            } else {
                fetcher.exact(order, None, &stored, governor, now).await?
            };
            match exact {
                Exact::Derived { sorted, calls: n } => {
                    calls += n;
                    commit.events.extend(sorted.events);
                    commit.upgrades.extend(sorted.upgrades);
                    cursor.pending.remove(&order);
                    fetched.push(order);
                }
                Exact::Gone { calls: n } => {
                    // Deleted in OnTime: nothing to derive, nothing owed.
                    calls += n;
                    cursor.pending.remove(&order);
                    gone.push(order);
                }
                Exact::NoBudget => {
                    if let Some(level) = moved.get(&order)
                        && already_at(&stored, level)
                    {
                        // Another source (a notification, the reconcile) stored the change
                        // that put the order at this level before the poll saw it: a
                        // provisional event would be a second one that no history entry
                        // matches. Only the history is owed (for what the poll cannot see
                        // between its two looks).
                        cursor.pending.insert(order);
                    } else if let Some(level) = moved.get(&order) {
                        let tracking_number = stored
                            .iter()
                            .find_map(|e| e.order.as_ref().and_then(|o| o.tracking_number.clone()));
                        let event = provisional_status_event(
                            &self.account,
                            OrderRef {
                                id: order,
                                tracking_number,
                            },
                            level,
                            &stored,
                            now,
                        );
                        commit.events.push(event);
                        cursor.pending.insert(order);
                        provisional.push(order);
                    } else if departed.contains(&order) {
                        // Its new level is unknown: no provisional event, only the debt.
                        cursor.pending.insert(order);
                    }
                    // An owed history still without budget stays owed; its provisional event
                    // exists.
                }
            }
        }
        governor.observe(&self.client.quota(), now);

        let value = serde_json::to_value(&cursor)
            .map_err(|source| CollectError::cursor(&self.config.cursor, source))?;
        commit.cursors = vec![(self.config.cursor.clone(), value)];
        Ok(Some(PollBatch {
            commit,
            moved,
            departed,
            fetched,
            provisional,
            gone,
            calls,
        }))
    }
}

/// Whether the order's latest stored status event (by sequence) is at `level`: the store
/// already holds the change a poll sees as a move to `level`.
fn already_at(stored: &[crate::event::Event], level: &StatusLevel) -> bool {
    stored
        .iter()
        .filter(|e| e.order.is_some() && e.event_type.as_str().starts_with("order."))
        .max_by_key(|e| e.sequence)
        .and_then(|e| e.ontime.as_ref())
        .is_some_and(|o| o.level_code.is_some() && o.level_code == level.code())
}
