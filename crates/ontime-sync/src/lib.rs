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
//!   parcel's chain of custody ([`event::derive`](mod@event::derive)), and provisional events
//!   (a change seen by a poll, time observed) with their in-place upgrade to exact events under
//!   the same id ([`event::provisional`]).
//! - [`store`]: where events live. One schema and one set of queries on SQLite (the default: one
//!   file, WAL, nothing to install) and Postgres (many workers): events with a unique `event_id`
//!   and a gapless per-subject sequence, collector cursors, and a delivery outbox, all committed
//!   in one transaction. Migrations are embedded and run on open. Accounts are leased to
//!   workers with fencing tokens ([`store::lease`]): a worker whose lease was taken over cannot
//!   commit. Feature `store` (default).
//!
//! - [`collect`]: the collector's sources and their budget. [`collect::governor`] paces an
//!   account's OnTime calls (a share of the daily and monthly caps, spread to the reset, the
//!   server's remaining count respected); [`collect::exact`] is the exact fetch of one order
//!   (history and record: drivers, tracking numbers, items) every order source shares;
//!   [`collect::poll`] diffs the finder's per-level ID sets against a stored cursor and fetches
//!   each moved order exactly; [`collect::reconcile`] re-reads active orders in rounds (at its
//!   share of the calls) for what a poll cannot see (a new label within a level, a hand-over
//!   between drivers);
//!   [`collect::drivers`] turns driver availability and position windows into events;
//!   `collect::inbound` (feature `inbound`, default) is the endpoint OnTime's workflow
//!   notifications call, queueing the orders they name durably for a fetch. Feature `store`.
//!
//! - [`config`] and [`run`] (feature `run`, default): the daemon behind `ontime sync run`.
//!   [`config`] reads `sync.toml` (every error names file:line:column and the field; secrets
//!   only from files or the environment); [`run::AccountRunner`] schedules one account's
//!   sources on its governor's advice with time passed in (step mode for tests and
//!   benchmarks), backing failing sources off; [`run::Worker`] holds accounts under leases
//!   (taken over within `lease_ttl + lease_ttl / 3` when a worker dies) and shuts down
//!   cleanly; [`run::http`] serves `/healthz`, `/metrics` (Prometheus) and the inbound
//!   endpoints of every account behind one listener.
//!
//! With the `schema` feature, `schema` generates the JSON Schema of events (`schemas/` in
//! the repository is written from it by `cargo xtask codegen`).
//!
//! # Example
//!
//! ```
//! use ontime_sync::event::{AccountConfig, OrderSource, StatusStep, derive_order_events};
//! use ontime_sync::store::{Commit, EventStore, Store};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let path = dir.path().join("events.db");
//! let account = AccountConfig::new("acme", chrono_tz::Europe::Berlin);
//! let order = ontime::OrderId::new_random();
//! let delivered: ontime::types::Status = serde_json::from_value(serde_json::json!({
//!     "ID": "3f2c1a7e-0000-4000-8000-000000000001",
//!     "Level": 3,
//!     "Name": "Delivered",
//!     "Timestamp": "2026-03-29T02:30:00" // in Berlin's spring-forward gap: read as 03:30+02:00
//! }))?;
//! let source = OrderSource {
//!     order_id: order,
//!     tracking_number: Some("1000042".into()),
//!     items: vec![],
//!     steps: vec![StatusStep { status: delivered, driver: None, observed_at: chrono::Utc::now() }],
//! };
//! let events = derive_order_events(&account, &source);
//! assert_eq!(events[0].event_type.as_str(), "order.delivered");
//! assert_eq!(events[0].occurred_at.to_rfc3339(), "2026-03-29T03:30:00+02:00");
//!
//! let store = Store::open_sqlite(&path).await?;
//! let commit = Commit::new("acme").events(events.clone()).cursor("poll", serde_json::json!(1));
//! assert_eq!(store.commit(commit.clone()).await?.stored.len(), 1);
//! // The same events again (a replay after a crash): nothing new.
//! assert_eq!(store.commit(commit).await?.duplicates.len(), 1);
//! let timeline = store.timeline("acme", &events[0].subject).await?;
//! assert_eq!(timeline[0].event.sequence, Some(1));
//! # Ok(())
//! # }
//! ```
//!
//! # Not built yet
//!
//! The delivery side (outbox relay, Standard Webhooks, NATS JetStream, redaction policies)
//! comes next, on top of these modules.
//! This crate depends on the `ontime` facade only: every OnTime call will go through it.

#![warn(missing_docs)]

#[cfg(feature = "store")]
pub mod collect;
#[cfg(feature = "run")]
pub mod config;
#[cfg(feature = "deliver")]
pub mod deliver;
pub mod event;
#[cfg(feature = "deliver")]
pub mod policy;
#[cfg(feature = "run")]
pub mod run;
#[cfg(feature = "schema")]
pub mod schema;
#[cfg(feature = "store")]
pub mod store;
