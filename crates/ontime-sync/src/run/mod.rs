//! The sync daemon's parts (feature `run`): what `ontime sync run` is made of.
//!
//! - [`account`]: [`AccountRunner`], one account's governor and sources, scheduled on the
//!   governor's advice, with time passed in (step mode for tests and benchmarks).
//! - [`worker`]: [`Worker`], several accounts under leases: acquires free accounts, renews
//!   held ones, stops an account's runner at once when its lease is lost, shuts down cleanly.
//! - [`deliver`]: [`Deliveries`], one dispatcher task per destination beside the collector;
//!   [`Role`] (`collect`, `deliver`, `all`).
//! - [`http`]: one listener for `GET /healthz`, `GET /metrics` and `POST /inbound/{token}`.
//! - [`metrics`]: the Prometheus series.

pub mod account;
pub mod deliver;
pub mod http;
pub mod metrics;
pub mod worker;

pub use account::{AccountRunner, AccountStatus, TickReport};
pub use deliver::{Deliveries, DestinationState, Role};
pub use metrics::Metrics;
/// The shutdown signal [`Worker::run`] and [`http::serve`] stop on (re-exported from `tokio-util`).
pub use tokio_util::sync::CancellationToken;
pub use worker::{DeliveryRoutes, Worker, WorkerError};
