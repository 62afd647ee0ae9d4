//! Where events live: one schema and one set of queries on two engines.
//!
//! - [`EventStore`]: the small async trait the collector and the delivery side use.
//! - [`Store`]: its implementation, on SQLite (`sqlite`: the default, one file in WAL mode,
//!   bundled, nothing to install) or Postgres (`postgres`: many workers on one database). Both
//!   run the same SQL text (the queries live in `sql`) through sqlx's `Any` driver.
//! - `migrations`: the versioned schema, embedded, run on open.
//!
//! # Tables
//!
//! - `events`: one row per event; `event_id` is unique (re-inserting a stored event does
//!   nothing), `position` is the global position in commit order, `sequence` counts per
//!   (account, subject) from 1 without gaps, unique with them (the index that serves
//!   [`EventStore::timeline`], [`EventStore::locate_order`] by ID and the last sequence of a
//!   subject); the event itself as JSON.
//! - `cursors`: collector state, (account, name) → JSON.
//! - `outbox`: per destination, the positions still to deliver, with what claims need (the
//!   event's subject, attempts, queue and due times, the claim, the last error): see [`outbox`].
//! - `dead_letters`: per destination, the deliveries given up on (attempts, reason, when).
//! - `destinations`: per destination, whether it is disabled and its failure streak and last
//!   success ([`outbox::DestinationHealth`]); a row appears at its first result.
//! - `store_head`: the last global position; on Postgres the row every commit locks first.
//! - `leases`: which worker holds which account ([`lease`]).
//!
//! How the tables are stored differs per engine where it pays (an integer key as SQLite's rowid,
//! `WITHOUT ROWID`); which indexes exist, and why no others: see `migrations`.
//!
//! # Commit order, positions and sequences
//!
//! [`EventStore::commit`] runs in one transaction: take the store's write lock (Postgres: the
//! `store_head` row; SQLite: `BEGIN IMMEDIATE`), look up which of the
//! commit's `event_id`s are stored already (those, and repeats within the commit, are reported as
//! duplicates and change nothing) and the last sequence of each of its subjects, give each new
//! event the next global position and the next sequence of its subject, insert them and queue
//! them in the outbox of every destination, update the head and the cursors, commit. The
//! statements are multi-row and sent together: on SQLite two calls into the driver in all
//! (`BEGIN IMMEDIATE` goes with the lookups, `COMMIT` with the writes); on Postgres four round trips in all (`BEGIN` with the lock on the head,
//! one `SELECT` of the lookups, one statement of all writes, `COMMIT`), whatever the commit's
//! size (see `script`). A fenced commit adds one statement (the lease check), an upgrade of a
//! provisional event a few. The unique
//! `event_id` stays as the last line of defence: a row that slipped past the check fails the
//! whole commit. Taking the write lock first serialises writers, so
//! positions follow commit order (a reader paging with [`EventStore::events_after`] never sees a
//! later position before an earlier one commits) and sequences have no gaps, also with several
//! writers on one Postgres. A transaction that fails leaves nothing behind: neither the events
//! nor the cursors. Replaying a batch after a crash stores only what was missing, so positions
//! and sequences of stored events never change.
//!
//! Sequences follow commit order: with one writer per account (the plan: accounts are leased to
//! workers) that is the order of each order's history.

pub mod lease;
mod migrations;
pub mod outbox;
mod postgres;
mod script;
mod sql;
mod sqlite;

use std::future::Future;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

use crate::event::{Event, EventId, EventType};

pub use lease::{Fence, Lease};
pub use migrations::MIGRATIONS;
pub use sql::{Engine, Store};

/// A global position in the store: events are numbered 1, 2, 3, ... in commit order.
pub type Position = u64;

/// Everything one collector step produces, committed together.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Commit {
    /// The account all events and cursors belong to.
    pub account: String,
    /// Events, in the order their sequences should follow.
    pub events: Vec<Event>,
    /// Cursor updates: name → new value (JSON).
    pub cursors: Vec<(String, Value)>,
    /// Cursors to remove: name → the value read. A cursor is removed only while it still holds
    /// that value (one rewritten since, e.g. a queue entry received again, stays).
    pub cleared: Vec<(String, Value)>,
    /// Destinations whose outbox gets every newly stored (or upgraded) event.
    pub destinations: Vec<String>,
    /// Exact events that replace stored provisional ones under the same `event_id`
    /// ([`crate::event::provisional`]): the row keeps its position and sequence, its content is
    /// replaced, and it is queued again for the destinations. An upgrade whose id is not stored
    /// is stored as a new event; one whose stored row is already exact changes nothing (a
    /// duplicate).
    pub upgrades: Vec<Event>,
    /// The lease the commit is made under ([`lease`]): when set, the commit is refused with
    /// [`StoreError::LeaseLost`] (and writes nothing) unless the fence still holds the account.
    pub fence: Option<Fence>,
    /// When the commit is made: the queue time of the deliveries it queues
    /// ([`outbox::Claim::queued_at`], [`outbox::DestinationHealth::oldest_queued_at`]). `None`:
    /// the system clock at commit time. Either way its deliveries are due at once, whatever
    /// clock the dispatcher claims with.
    pub queued_at: Option<DateTime<Utc>>,
}

impl Commit {
    /// An empty commit for `account`.
    pub fn new(account: impl Into<String>) -> Self {
        Self {
            account: account.into(),
            ..Self::default()
        }
    }

    /// Adds events.
    pub fn events(mut self, events: impl IntoIterator<Item = Event>) -> Self {
        self.events.extend(events);
        self
    }

    /// Sets cursor `name` to `value`.
    pub fn cursor(mut self, name: impl Into<String>, value: Value) -> Self {
        self.cursors.push((name.into(), value));
        self
    }

    /// Removes cursor `name` if it still holds `value` (see [`Commit::cleared`]).
    pub fn clear(mut self, name: impl Into<String>, value: Value) -> Self {
        self.cleared.push((name.into(), value));
        self
    }

    /// Adds upgrades of provisional events.
    pub fn upgrades(mut self, events: impl IntoIterator<Item = Event>) -> Self {
        self.upgrades.extend(events);
        self
    }

    /// Makes the commit under `lease` (see [`Commit::fence`]).
    pub fn fenced(mut self, lease: &Lease) -> Self {
        self.fence = Some(lease.fence());
        self
    }

    /// Sets the commit's time (see [`Commit::queued_at`]).
    pub fn at(mut self, now: DateTime<Utc>) -> Self {
        self.queued_at = Some(now);
        self
    }

    /// Queues new events for `destination`.
    pub fn destination(mut self, destination: impl Into<String>) -> Self {
        self.destinations.push(destination.into());
        self
    }
}

/// An event as stored: its global position, and the event with its sequence set.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEvent {
    /// Global position (commit order).
    pub position: Position,
    /// The event; `sequence` is set.
    pub event: Event,
}

/// What a commit did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CommitOutcome {
    /// The events stored by this commit, with positions and sequences.
    pub stored: Vec<StoredEvent>,
    /// Events of the commit that were stored before (dropped by the unique `event_id`).
    pub duplicates: Vec<EventId>,
    /// Provisional events upgraded in place by this commit (position and sequence unchanged).
    pub upgraded: Vec<StoredEvent>,
}

/// A filtered read of the event log, in position order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EventQuery {
    /// Only events after this position (0: from the start).
    pub after: Position,
    /// Only this account's events.
    pub account: Option<String>,
    /// Only events of this type.
    pub event_type: Option<EventType>,
    /// Only events that occurred at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Only events that occurred before this instant.
    pub to: Option<DateTime<Utc>>,
    /// At most this many events.
    pub limit: u32,
}

/// Where a stored order's events are: the account and the subject (`order:{guid}`) to pass to
/// [`EventStore::timeline`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OrderSubject {
    /// The account the events belong to.
    pub account: String,
    /// The order's subject, `order:{guid}`.
    pub subject: String,
}

/// The store's operations. Implemented by [`Store`] for SQLite and Postgres.
pub trait EventStore: Send + Sync {
    /// Stores the new events of `commit` and its cursor updates in one transaction (see the module
    /// documentation); events already stored are reported as duplicates and change nothing.
    fn commit(
        &self,
        commit: Commit,
    ) -> impl Future<Output = Result<CommitOutcome, StoreError>> + Send;

    /// A subject's events (`order:{guid}`, `driver:{guid}`) in sequence order.
    fn timeline(
        &self,
        account: &str,
        subject: &str,
    ) -> impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send;

    /// Up to `limit` events after position `after`, in position order (for paging: pass the last
    /// position seen).
    fn events_after(
        &self,
        after: Position,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send;

    /// Events by account, type and time range, in position order.
    fn query(
        &self,
        query: &EventQuery,
    ) -> impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send;

    /// The value of cursor `name` of `account`, if one was committed.
    fn cursor(
        &self,
        account: &str,
        name: &str,
    ) -> impl Future<Output = Result<Option<Value>, StoreError>> + Send;

    /// Up to `limit` cursors of `account` whose name starts with `prefix`, in name order (a
    /// store-backed queue: one cursor per entry).
    fn cursors(
        &self,
        account: &str,
        prefix: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<(String, Value)>, StoreError>> + Send;

    /// Takes `account`'s lease for `worker` until `now + ttl` when it is free, expired, or this
    /// worker's already (a new fencing token then); `None` while another worker holds it.
    fn acquire_lease(
        &self,
        account: &str,
        worker: &str,
        ttl: TimeDelta,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<Lease>, StoreError>> + Send;

    /// Extends a lease still held to `now + ttl`; [`StoreError::LeaseLost`] when it was taken
    /// over.
    fn renew_lease(
        &self,
        lease: &Lease,
        ttl: TimeDelta,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Lease, StoreError>> + Send;

    /// Lets a lease go now (another worker may take it at once).
    fn release_lease(&self, lease: &Lease) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Up to `limit` events queued for `destination`, in position order.
    fn pending_deliveries(
        &self,
        destination: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send;

    /// The last position committed (0 for an empty store): where a reader that wants only new
    /// events starts.
    fn last_position(&self) -> impl Future<Output = Result<Position, StoreError>> + Send;

    /// The stored orders `order` names, in (account, subject) order: by ID, the accounts holding
    /// events of that order; by tracking number, the orders whose events carry it
    /// (`order.tracking_number`, compared exactly). Empty when the store has none. Restricted to
    /// `account` when given. A tracking-number lookup reads every event's payload (there is no
    /// index on it): meant for one-off lookups, not for a hot path.
    fn locate_order(
        &self,
        account: Option<&str>,
        order: &ontime::OrderRef,
    ) -> impl Future<Output = Result<Vec<OrderSubject>, StoreError>> + Send;
}

/// What can go wrong in the store. Database URLs are never part of a message (they may hold a
/// password).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The location is neither `sqlite:…` nor `postgres://…` / `postgresql://…`.
    #[error("unsupported store location (expected a sqlite: path or a postgres:// URL)")]
    UnsupportedLocation,
    /// The database refused or failed an operation.
    #[error("store {operation} failed: {source}")]
    Database {
        /// What the store was doing.
        operation: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// A commit mixed accounts.
    #[error("event {event_id} belongs to account {found:?}, the commit to {expected:?}")]
    AccountMismatch {
        /// The event.
        event_id: EventId,
        /// The commit's account.
        expected: String,
        /// The event's account.
        found: String,
    },
    /// A stored row could not be read back.
    #[error("stored event at position {position} is unreadable: {reason}")]
    Corrupt {
        /// Its position.
        position: Position,
        /// Why.
        reason: String,
    },
    /// The commit's (or renewal's) lease on the account was taken over by another worker: nothing
    /// was written.
    #[error("the lease on account {account:?} was taken over by another worker")]
    LeaseLost {
        /// The account.
        account: String,
    },
    /// No stored event has this id.
    #[error("no stored event has the id {event_id}")]
    EventNotFound {
        /// The id asked for.
        event_id: EventId,
    },
    /// The database has a schema version newer than this build knows.
    #[error("the store's schema is at version {found}, newer than this build's {known}")]
    SchemaTooNew {
        /// The database's version.
        found: i64,
        /// The newest version this build knows.
        known: i64,
    },
}

impl StoreError {
    pub(crate) fn db(operation: &'static str) -> impl FnOnce(sqlx::Error) -> Self {
        move |source| Self::Database { operation, source }
    }
}
