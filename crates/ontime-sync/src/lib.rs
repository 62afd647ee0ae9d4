//! The integration layer of ontime-rs: every change in an OnTime 360 account as a normalised,
//! deterministic event, kept in a store that commits events and the collector's cursors together.
//!
//! OnTime has no event feed; this crate turns what its API does offer (status histories, driver
//! records) into one stream of courier-shaped events that other systems can consume exactly once.
//!
//! # Modules, one job each
//!
//! - [`event`]: the event model. The [`Event`](event::Event) envelope, the canonical
//!   [`EventType`](event::EventType)s (`order.created` … `driver.position`,
//!   `item.custody_changed`), deterministic [`EventId`](event::EventId)s, the documented table
//!   from OnTime's levels and labels to types ([`event::mapping`], overridable per account), and
//!   the pure functions that derive events from an order's status history, including each
//!   parcel's chain of custody ([`event::derive`](mod@event::derive)).
//! - [`store`]: where events live. One schema and one set of queries on SQLite (the default: one
//!   file, WAL, nothing to install) and Postgres (many workers): events with a unique `event_id`
//!   and a gapless per-subject sequence, collector cursors, and a delivery outbox, all committed
//!   in one transaction. Migrations are embedded and run on open. Feature `store` (default).
//!
//! With the `schema` feature, `schema` generates the JSON Schema of events (`schemas/` in
//! the repository is written from it by `cargo xtask codegen`).
//!
//! # Not built yet
//!
//! The collector (inbound workflow notifications, diffed finder polls, slow reconcile), the
//! budget governor, leases for many workers, the `ontime sync` / `ontime events` commands and the
//! delivery side (outbox relay, Standard Webhooks, NATS) come next, on top of these two modules.
//! This crate depends on the `ontime` facade only: every OnTime call will go through it.

#![warn(missing_docs)]

pub mod event;
#[cfg(feature = "schema")]
pub mod schema;
#[cfg(feature = "store")]
pub mod store;
