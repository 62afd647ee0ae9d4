//! `ontime-mock`: a stateful OnTime 360 simulator that serves `openapi/ontime.json`.
//!
//! It answers all 62 operations under `/sites/{company}/api/...` with the record types of
//! `ontime-raw`, behaves as OnTime does (upserts that clear omitted fields, generated tracking
//! numbers, status histories, prices from price sets, scoped and permissioned API keys, daily
//! and monthly quotas with `X-RateLimit-*` headers), and injects faults on demand. Data is
//! seeded deterministically: the same seed, [`SeedVersion`] and clock start give the same account.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use ontime_mock::{FaultKind, FaultRule, OnTimeMock, Operation};
//!
//! let mock = OnTimeMock::builder().seed(7).orders(500).start().await?;
//! let hooks = ontime_raw::Hooks::new().api_key(mock.api_key())?;
//! let client = ontime_raw::Client::new(&mock.base_url(), hooks);
//! let ids = client.orders_find().send().await?.into_inner();
//! assert_eq!(ids.len(), 500);
//!
//! // The next order post fails with 503 (and changes nothing).
//! mock.set_faults(vec![FaultRule::status(503, Some(1)).on_operation(Operation::OrderPost).first(1)]);
//! assert_eq!(mock.requests().len(), 1);
//! mock.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! The binary runs the same server: `cargo run -p ontime-mock -- --port 8080 --seed 42
//! --orders 10000` prints the base URL and the API keys.
//!
//! # Layout
//!
//! Dependencies point one way, from the handles down to the state:
//!
//! - The public side: `builder` ([`MockBuilder`]: settings, seeding, start), `running`
//!   ([`RunningMock`]: URLs, keys, log, faults, quotas, clock, stop), `mock_store`
//!   ([`MockStore`]: reading records from tests), `args` ([`ServeArgs`], feature `args`: the
//!   command line the binary and `ontime mock serve` share), `src/main.rs` (the binary).
//! - `server`: the HTTP side. `server::pipeline` is what happens to one request, step by
//!   step (route, body, faults before, 401/429/403, the operation, faults after, log);
//!   `server::respond` makes answers, `server::body` reads bodies within the limits.
//! - `ops`: the table of the spec's operations (from the generated [`Operation`]) with each
//!   one's record kind, access and handler.
//! - `handlers`: the handlers, per resource (`handlers::orders`, `handlers::customers`, ...),
//!   most of them the generic get/find/post of `handlers::generic`.
//! - `activity` ([`ActivityConfig`], [`Activity`], [`TruthChange`], [`NotifyConfig`]): a
//!   living account (orders through courier lifecycles, drivers' shifts and positions,
//!   workflow notifications, ground truth), driven step by step or by a running clock.
//! - `faults` ([`FaultRule`], [`FaultKind`]: which faults, when, and the `--fault` syntax),
//!   `auth` ([`KeySpec`], [`RecordKind`]: scopes and permissions), `quota`, `log`
//!   ([`LoggedRequest`]), `clock` ([`MockClock`]).
//! - `state`: what all connections share (store, keys, quotas, fault rules, log, clock,
//!   limits) behind its locks.
//! - `store` (the records; seeded orders are compact rows materialised when read), `orders`
//!   (changes to orders and the upsert), `pricing`, `seed` (the seeded account), `words`,
//!   `ids`, `assets`, `http_util` (queries, faults and bodies as ASP.NET does them).

#![warn(missing_docs)]

mod activity;
#[cfg(feature = "args")]
mod args;
mod assets;
mod auth;
mod builder;
mod clock;
mod faults;
mod handlers;
mod http_util;
mod ids;
mod log;
mod mock_store;
mod ops;
mod pricing;
mod quota;
mod running;
mod seed;
mod server;
mod signals;
mod state;
mod store;
mod words;

pub use activity::{
    Activity, ActivityConfig, ActivityError, Change, DEFAULT_TEMPLATE, Escape, KnownPerson,
    Notification, NotifyConfig, NotifyStats, NotifyTemplate, NotifyUrlError, PLACEHOLDERS,
    PersonalData, Step, TemplateError, TruthChange,
};
#[cfg(feature = "args")]
pub use args::{AccountArgs, ServeArgs};
pub use auth::{Access, KeySpec, RecordKind};
pub use builder::{
    DEFAULT_BODY_BUDGET_BYTES, DEFAULT_BODY_READ_TIMEOUT, DEFAULT_HEADER_READ_TIMEOUT,
    DEFAULT_MAX_BODY_BYTES, MockBuilder,
};
pub use clock::MockClock;
pub use faults::{FaultKind, FaultRule, Route};
pub use log::LoggedRequest;
pub use mock_store::{Credential, MockStore};
/// The spec's operations, as the request log and fault rules name them (from `ontime-raw`'s
/// generated spec index).
pub use ontime_raw::index::Operation;
pub use quota::{DEFAULT_DAILY_QUOTA, DEFAULT_MONTHLY_QUOTA, QuotaUsage};
pub use running::RunningMock;
pub use seed::SeedVersion;
pub use signals::StopSignals;
pub use store::CredentialKind;

/// The spec the simulator serves (with its `servers` rewritten to the simulator's base URL).
///
/// A copy of the workspace's `openapi/ontime.json` kept inside this package so that it can be
/// published; `cargo xtask codegen` writes the copy and `cargo xtask codegen --check` fails when
/// it differs.
pub const SPEC: &str = include_str!("../ontime.json");

/// The entry point: `OnTimeMock::builder()...start().await`.
#[derive(Debug)]
pub struct OnTimeMock;

impl OnTimeMock {
    /// A builder with the defaults: seed 42, 200 orders, company `demo`, a generated key,
    /// OnTime's quotas, no faults, an ephemeral port on 127.0.0.1.
    pub fn builder() -> MockBuilder {
        MockBuilder::default()
    }
}

/// What the body budget ([`MockBuilder::body_budget_bytes`]) holds at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BodyGauge {
    /// Bytes reserved by requests whose bodies are being read or whose operations run.
    pub reserved_bytes: usize,
    /// The most bytes ever reserved at once.
    pub peak_reserved_bytes: usize,
    /// Requests waiting for their share of the budget before their bodies are read.
    pub waiting: usize,
    /// Request bodies read whole so far, in all (empty bodies are not counted).
    pub bodies_read: u64,
}

/// Errors starting the simulator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MockError {
    /// The port could not be bound.
    #[error("cannot bind 127.0.0.1:{port}: {source}")]
    Bind {
        /// The port asked for.
        port: u16,
        /// Why.
        source: std::io::Error,
    },
    /// A setting is invalid.
    #[error("invalid setting: {0}")]
    Invalid(String),
    /// The activity's truth file cannot be opened.
    #[error("cannot open the truth file {}: {source}", path.display())]
    TruthFile {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
}
