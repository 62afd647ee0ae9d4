//! The delivery outbox: what each destination still has to receive, claimed by dispatchers.
//!
//! A commit queues each new (or upgraded) event for every destination it names. A dispatcher
//! [claims](DeliveryStore::claim_deliveries) due deliveries for a while (its claim runs out at
//! `claim_until`: a dispatcher killed mid-delivery leaves claims that others take over once they
//! expire), sends them, and records the result: [completed](DeliveryStore::complete_delivery)
//! (the row leaves the outbox), [retried](DeliveryStore::retry_delivery) later, or
//! [dead-lettered](DeliveryStore::dead_letter) after the last attempt. On Postgres claims use
//! `FOR UPDATE SKIP LOCKED`, so several dispatchers share one outbox without waiting on each
//! other.
//!
//! **Per-subject order.** An ordered claim takes only the oldest undelivered event of each
//! (destination, subject): an order's later event is never sent before an earlier one was
//! delivered or dead-lettered.

use std::future::Future;

use chrono::{DateTime, TimeDelta, Utc};

use super::{Position, StoreError, StoredEvent};
use crate::event::EventId;

/// A delivery claimed by a dispatcher.
#[derive(Clone, Debug, PartialEq)]
pub struct Claim {
    /// The destination.
    pub destination: String,
    /// The event, as stored.
    pub stored: StoredEvent,
    /// Attempts made before this claim (0: never tried).
    pub attempts: u32,
    /// When it was queued (the first attempt was due).
    pub queued_at: DateTime<Utc>,
    /// The claiming dispatcher.
    pub worker: String,
    /// When the claim runs out.
    pub claim_until: DateTime<Utc>,
}

impl Claim {
    /// The event's global position.
    pub fn position(&self) -> Position {
        self.stored.position
    }
}

/// A destination's state.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DestinationHealth {
    /// The destination.
    pub destination: String,
    /// Deliveries waiting (claimed or not), dead letters excluded.
    pub backlog: u64,
    /// When the oldest waiting delivery was queued.
    pub oldest_queued_at: Option<DateTime<Utc>>,
    /// Dead letters held.
    pub dead_letters: u64,
    /// Since when every attempt failed (none since the last success); `None` when healthy.
    pub failing_since: Option<DateTime<Utc>>,
    /// The last failure's reason.
    pub last_error: Option<String>,
    /// The last successful delivery.
    pub last_success_at: Option<DateTime<Utc>>,
    /// When and why it was disabled; a disabled destination gets no claims, its deliveries wait.
    pub disabled: Option<(DateTime<Utc>, String)>,
}

/// Which deliveries to queue again.
#[derive(Clone, Debug, PartialEq)]
pub enum Redeliver {
    /// One event, to every destination in `destinations` (or, when empty, to every destination
    /// it was ever queued for or dead-lettered at).
    Event {
        /// The event.
        event_id: EventId,
        /// Restrict to these destinations.
        destinations: Vec<String>,
    },
    /// A destination's dead letters from `since` on (dead-lettered at or after it).
    FailedSince {
        /// The destination.
        destination: String,
        /// From when.
        since: DateTime<Utc>,
    },
}

/// The outbox's operations (implemented by [`Store`](super::Store) on both engines).
pub trait DeliveryStore: Send + Sync {
    /// Claims for `worker` until `now + ttl` up to `limit` deliveries of `destination` that are
    /// due (`next_attempt_at <= now`), not claimed by a live claim and, when `ordered`, the
    /// oldest waiting of their subject. None while the destination is disabled. In position order.
    fn claim_deliveries(
        &self,
        destination: &str,
        worker: &str,
        limit: u32,
        ordered: bool,
        ttl: TimeDelta,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<Claim>, StoreError>> + Send;

    /// The delivery succeeded: removes it from the outbox, records the success (clears
    /// `failing_since`). Done also when the claim expired meanwhile (it was delivered).
    fn complete_delivery(
        &self,
        claim: &Claim,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The attempt failed: one more attempt counted, due again at `next_attempt_at`, claim
    /// released, `reason` recorded, `failing_since` set if unset.
    fn retry_delivery(
        &self,
        claim: &Claim,
        next_attempt_at: DateTime<Utc>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The last attempt failed: the delivery moves to the dead letters.
    fn dead_letter(
        &self,
        claim: &Claim,
        reason: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Disables a destination (HTTP 410, or failing for too long); its deliveries stay queued.
    fn disable_destination(
        &self,
        destination: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Enables a destination again (its queued deliveries become due at once).
    fn enable_destination(
        &self,
        destination: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Queues deliveries again, due at `now` with their attempts reset; returns how many were
    /// queued (an event still waiting for a destination counts once and is made due now).
    fn redeliver(
        &self,
        what: &Redeliver,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// The state of every destination the store knows (queued to, dead-lettered at, disabled),
    /// in name order.
    fn destination_health(
        &self,
    ) -> impl Future<Output = Result<Vec<DestinationHealth>, StoreError>> + Send;
}
