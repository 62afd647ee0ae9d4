//! The delivery side: events leave the store for their destinations.
//!
//! Every collector commit queues its new events in the store's outbox for each configured
//! destination ([`Commit::destinations`](crate::store::Commit::destinations)). A dispatcher
//! claims due deliveries ([`DeliveryStore`](crate::store::outbox::DeliveryStore)), renders each
//! event for its destination (redaction policy applied first), hands them to the destination's
//! [`Sink`] and records the [`Outcome`]: done, retried later, or the destination gone.
//!
//! - [`signature`]: Standard Webhooks v1 secrets and signatures.
//! - [`schedule`]: when a failed delivery is retried, when it is dead-lettered.
//! - [`webhook`]: the Standard Webhooks sink (HTTP POST, signed, target safety).
//! - [`dispatch`]: the dispatcher that drives any sink from the outbox.
//! - [`verify`]: the receiving side: verify a signed request, recognise replays.
//! - `nats` (feature `nats`): the NATS JetStream sink, one message per event, deduplicated by
//!   event id, on subjects per account, type and order.

pub mod dispatch;
#[cfg(feature = "nats")]
pub mod nats;
pub mod schedule;
pub mod signature;
pub mod verify;
pub mod webhook;

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;

use crate::event::Event;
use crate::store::Position;

/// One event on its way to one destination, rendered.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    /// The destination's name (as in the config).
    pub destination: String,
    /// The event's global position in the store.
    pub position: Position,
    /// The stored event (sequence set), before redaction: for routing (type, account, subject),
    /// never to be sent as it is.
    pub event: Event,
    /// The body to send: the event as the destination's redaction policy allows, serialised.
    pub body: Bytes,
    /// Attempts made before this one (0 on the first).
    pub attempt: u32,
}

/// What a sink made of one delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted by the destination (2xx; a JetStream PubAck).
    Delivered,
    /// Failed in a way worth retrying (5xx, 429, timeout, connection error); `after` is what the
    /// destination asked for (`Retry-After`), if anything; `reason` is for logs and status
    /// (never holds a secret or the body).
    Retry {
        /// The wait the destination asked for.
        after: Option<Duration>,
        /// Why, for the operator.
        reason: String,
    },
    /// The destination said it is gone for good (HTTP 410): disable it.
    Gone {
        /// Why, for the operator.
        reason: String,
    },
}

/// A destination: sends rendered deliveries and reports one [`Outcome`] per delivery, in the
/// same order.
pub trait Sink: Send + Sync {
    /// Sends `batch`; the result has one outcome per delivery, in order.
    fn send(&self, batch: Vec<Delivery>) -> impl Future<Output = Vec<Outcome>> + Send;
}
