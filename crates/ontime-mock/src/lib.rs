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

#![warn(missing_docs)]

#[cfg(feature = "args")]
mod args;
mod assets;
mod auth;
mod clock;
mod faults;
mod handlers;
mod http_util;
mod ids;
mod log;
mod ops;
mod orders;
mod pricing;
mod quota;
mod seed;
mod server;
mod signals;
mod state;
mod store;
mod words;

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use bytes::Bytes;
use chrono::{FixedOffset, NaiveDateTime};
use ontime_raw::types;
use tokio::sync::watch;
use uuid::Uuid;

#[cfg(feature = "args")]
pub use args::{AccountArgs, ServeArgs};
pub use auth::{Access, KeySpec, RecordKind};
pub use clock::MockClock;
pub use faults::{FaultKind, FaultRule, Route};
pub use log::LoggedRequest;
/// The spec's operations, as the request log and fault rules name them (from `ontime-raw`'s
/// generated spec index).
pub use ontime_raw::index::Operation;
pub use quota::{DEFAULT_DAILY_QUOTA, DEFAULT_MONTHLY_QUOTA, QuotaUsage};
pub use seed::SeedVersion;
pub use signals::StopSignals;
pub use store::CredentialKind;

use state::Shared;

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

/// The default of [`MockBuilder::max_body_bytes`]: 32 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// The default of [`MockBuilder::body_budget_bytes`]: 64 MiB.
pub const DEFAULT_BODY_BUDGET_BYTES: usize = 64 * 1024 * 1024;

/// The default of [`MockBuilder::header_read_timeout`]: 30 s.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The default of [`MockBuilder::body_read_timeout`]: 30 s.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

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
}

/// Configures and starts a simulator.
#[derive(Clone, Debug)]
pub struct MockBuilder {
    seed: u64,
    seed_version: SeedVersion,
    orders: usize,
    company: String,
    api_key: Option<String>,
    customer_key: Option<String>,
    daily_quota: u64,
    monthly_quota: u64,
    faults: Vec<FaultRule>,
    port: u16,
    clock_start: Option<NaiveDateTime>,
    frozen_clock: bool,
    utc_offset: FixedOffset,
    log_capacity: usize,
    response_cache: bool,
    limits: state::Limits,
}

impl Default for MockBuilder {
    fn default() -> Self {
        Self {
            seed: 42,
            seed_version: SeedVersion::default(),
            orders: 200,
            company: "demo".to_owned(),
            api_key: None,
            customer_key: None,
            daily_quota: DEFAULT_DAILY_QUOTA,
            monthly_quota: DEFAULT_MONTHLY_QUOTA,
            faults: Vec::new(),
            port: 0,
            clock_start: None,
            frozen_clock: false,
            utc_offset: match FixedOffset::west_opt(6 * 3600) {
                Some(offset) => offset,
                None => unreachable!("-06:00 is a valid offset"),
            },
            log_capacity: 100_000,
            response_cache: true,
            limits: state::Limits {
                header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
                body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
                max_body: DEFAULT_MAX_BODY_BYTES,
                body_budget: DEFAULT_BODY_BUDGET_BYTES,
            },
        }
    }
}

fn key_from(seed: u64, salt: u64) -> String {
    let hi = ids::hash3(seed, salt, 1);
    let lo = ids::hash3(seed, salt, 2);
    uuid::Builder::from_random_bytes(((u128::from(hi) << 64) | u128::from(lo)).to_be_bytes())
        .into_uuid()
        .to_string()
}

impl MockBuilder {
    /// The seed of the data, the generated keys and the fault decisions.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The version of the seeded data's word lists (default [`SeedVersion::V1`]). A version's
    /// data never changes; tests that snapshot seeded data pin one.
    pub fn seed_version(mut self, version: SeedVersion) -> Self {
        self.seed_version = version;
        self
    }

    /// How many orders to seed.
    pub fn orders(mut self, orders: usize) -> Self {
        self.orders = orders;
        self
    }

    /// The company id in `/sites/{company}`.
    pub fn company(mut self, company: impl Into<String>) -> Self {
        self.company = company.into();
        self
    }

    /// The full-access API key (default: a GUID derived from the seed).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// The customer-scoped API key (default: a GUID derived from the seed).
    pub fn customer_key(mut self, key: impl Into<String>) -> Self {
        self.customer_key = Some(key.into());
        self
    }

    /// Daily quota per key (default 86,400).
    pub fn daily_quota(mut self, quota: u64) -> Self {
        self.daily_quota = quota;
        self
    }

    /// Monthly quota per key (default 100,000).
    pub fn monthly_quota(mut self, quota: u64) -> Self {
        self.monthly_quota = quota;
        self
    }

    /// Adds a fault rule (rules apply in the order added).
    pub fn fault(mut self, rule: FaultRule) -> Self {
        self.faults.push(rule);
        self
    }

    /// The port on 127.0.0.1 (0, the default, picks a free one).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// The clock's start (account-local); default: the real current time. Seeded data is laid
    /// out relative to it, so a fixed start gives byte-identical data for a seed.
    pub fn clock_start(mut self, start: NaiveDateTime) -> Self {
        self.clock_start = Some(start);
        self
    }

    /// Starts the clock frozen: it then moves only when a test moves it
    /// ([`MockClock::advance`], [`MockClock::set`]).
    pub fn frozen_clock(mut self) -> Self {
        self.frozen_clock = true;
        self
    }

    /// The account's offset from UTC (default −06:00, US Central standard time).
    pub fn utc_offset(mut self, offset: FixedOffset) -> Self {
        self.utc_offset = offset;
        self
    }

    /// How many requests the request log keeps (the most recent; default 100,000; 0 keeps
    /// none).
    pub fn request_log_capacity(mut self, capacity: usize) -> Self {
        self.log_capacity = capacity;
        self
    }

    /// Whether `GET api/orders/{id}` answers are cached as serialised bytes (default: yes).
    /// Every write empties the cache, so answers are always current; turning it off only
    /// makes each read materialise and serialise the order again.
    pub fn response_cache(mut self, on: bool) -> Self {
        self.response_cache = on;
        self
    }

    /// How long a connection may take to send a request's head before the simulator closes it
    /// (default 30 s; more than zero, at most a day). It also closes keep-alive connections idle for that long. Half-open
    /// and silent connections cannot pile up.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.limits.header_read_timeout = timeout;
        self
    }

    /// How long reading one request body may take once the simulator starts reading it
    /// (default 30 s; more than zero, at most a day); a body that does not arrive in time is answered 408 and the connection
    /// closed, so a stalled upload gives its share of the body budget back.
    pub fn body_read_timeout(mut self, timeout: Duration) -> Self {
        self.limits.body_read_timeout = timeout;
        self
    }

    /// The largest request body accepted, in bytes (default 32 MiB: attachments travel
    /// base64-encoded in JSON). A request that declares a longer `Content-Length` is answered
    /// 413 with a `Fault` body before any of its body is read; a chunked one that grows past
    /// the limit is answered 413 when it does.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.limits.max_body = bytes;
        self
    }

    /// How many bytes of request bodies all connections together may hold (default 64 MiB,
    /// at least [`max_body_bytes`](Self::max_body_bytes), at most 4 GiB). A request reserves
    /// its declared `Content-Length` (the largest body when it declares none) before its body
    /// is read and keeps it until its operation has run; requests that do not fit wait, in
    /// arrival order, so many concurrent uploads cannot hold many times the limit in memory.
    /// [`RunningMock::body_gauge`] shows the reservations.
    pub fn body_budget_bytes(mut self, bytes: usize) -> Self {
        self.limits.body_budget = bytes;
        self
    }

    fn shared(self) -> Result<(Arc<Shared>, String, String, Uuid), MockError> {
        let limits = self.limits;
        const DAY: Duration = Duration::from_secs(24 * 3600);
        for (name, timeout) in [
            ("header read timeout", limits.header_read_timeout),
            ("body read timeout", limits.body_read_timeout),
        ] {
            if timeout.is_zero() || timeout > DAY {
                return Err(MockError::Invalid(format!(
                    "a {name} of {timeout:?} (it must be longer than zero and at most a day)"
                )));
            }
        }
        if limits.max_body > limits.body_budget || u32::try_from(limits.body_budget).is_err() {
            return Err(MockError::Invalid(format!(
                "a body budget of {} bytes with a largest body of {} bytes (the budget must hold \
                 the largest body and be at most 4 GiB)",
                limits.body_budget, limits.max_body
            )));
        }
        if self.company.is_empty() || self.company.contains('/') {
            return Err(MockError::Invalid(format!("company id {:?}", self.company)));
        }
        if self.orders > u32::MAX as usize / 2 {
            return Err(MockError::Invalid(format!("{} orders", self.orders)));
        }
        let clock = match (self.clock_start, self.frozen_clock) {
            (Some(start), true) => MockClock::frozen(start, self.utc_offset),
            (Some(start), false) => MockClock::new(start, self.utc_offset),
            (None, frozen) => {
                let clock = MockClock::real(self.utc_offset);
                if frozen {
                    clock.freeze();
                }
                clock
            }
        };
        let store = seed::build(self.seed, self.seed_version, self.orders, clock.now());
        let scoped_customer = store.customers.keys().next().copied().unwrap_or_default();
        let api_key = self.api_key.unwrap_or_else(|| key_from(self.seed, 1));
        let customer_key = self.customer_key.unwrap_or_else(|| key_from(self.seed, 2));
        let mut keys = HashMap::new();
        keys.insert(
            api_key.clone(),
            Arc::new(KeySpec::full().with_key(api_key.clone())),
        );
        keys.insert(
            customer_key.clone(),
            Arc::new(KeySpec::customer(scoped_customer).with_key(customer_key.clone())),
        );
        let active = !self.faults.is_empty();
        let shared = Arc::new(Shared {
            store: RwLock::new(store),
            keys: RwLock::new(keys),
            quotas: Mutex::new(quota::Quotas::default()),
            faults: Mutex::new(faults::FaultEngine::new(self.seed, self.faults)),
            faults_active: AtomicBool::new(active),
            log: Mutex::new(log::RequestLog::new(self.log_capacity)),
            clock,
            company: self.company,
            daily_quota: self.daily_quota,
            monthly_quota: self.monthly_quota,
            spec: OnceLock::new(),
            order_cache: self.response_cache.then(|| RwLock::new(HashMap::new())),
            limits,
            body_budget: tokio::sync::Semaphore::new(limits.body_budget),
            body_gauge: watch::Sender::new(BodyGauge::default()),
        });
        Ok((shared, api_key, customer_key, scoped_customer))
    }

    /// Seeds the data, binds 127.0.0.1 and starts serving on the current tokio runtime.
    pub async fn start(self) -> Result<RunningMock, MockError> {
        let port = self.port;
        let (shared, api_key, customer_key, scoped_customer) = self.shared()?;
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .await
            .map_err(|source| MockError::Bind { port, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| MockError::Bind { port, source })?;
        let base_url = format!("http://{addr}/sites/{}", shared.company);
        let _ = shared.spec.set(Bytes::from(spec_for(&base_url)));
        let (tx, rx) = watch::channel(false);
        let router = server::router(shared.clone());
        let task = tokio::spawn(server::serve(
            listener,
            router,
            rx,
            shared.limits.header_read_timeout,
        ));
        Ok(RunningMock {
            shared,
            addr,
            api_key,
            customer_key,
            scoped_customer,
            shutdown: tx,
            task: Some(task),
        })
    }
}

/// The spec with its `servers` pointing at `base_url`.
fn spec_for(base_url: &str) -> Vec<u8> {
    match serde_json::from_str::<serde_json::Value>(SPEC) {
        Ok(mut spec) => {
            spec["servers"] = serde_json::json!([{
                "url": base_url,
                "description": "ontime-mock, the OnTime 360 simulator"
            }]);
            serde_json::to_vec_pretty(&spec).unwrap_or_else(|_| SPEC.as_bytes().to_vec())
        }
        Err(_) => SPEC.as_bytes().to_vec(),
    }
}

/// A running simulator. Dropping it stops the server; [`shutdown`](Self::shutdown) also waits
/// for open connections to finish.
#[derive(Debug)]
pub struct RunningMock {
    shared: Arc<Shared>,
    addr: SocketAddr,
    api_key: String,
    customer_key: String,
    scoped_customer: Uuid,
    shutdown: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningMock {
    /// `http://127.0.0.1:PORT/sites/{company}`: what `ontime_raw::Client::new` takes.
    pub fn base_url(&self) -> String {
        format!("http://{}/sites/{}", self.addr, self.shared.company)
    }

    /// Where the spec is served, with its `servers` URL set to [`base_url`](Self::base_url).
    pub fn spec_url(&self) -> String {
        format!("http://{}/openapi.json", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The company id.
    pub fn company(&self) -> &str {
        &self.shared.company
    }

    /// The full-access key.
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// A key scoped to [`scoped_customer`](Self::scoped_customer).
    pub fn customer_key(&self) -> &str {
        &self.customer_key
    }

    /// The customer [`customer_key`](Self::customer_key) is scoped to.
    pub fn scoped_customer(&self) -> Uuid {
        self.scoped_customer
    }

    /// Adds a key and returns its value.
    pub fn add_key(&self, spec: KeySpec) -> String {
        let key = spec
            .key
            .clone()
            .unwrap_or_else(|| Uuid::new_v4().to_string());
        let spec = KeySpec {
            key: Some(key.clone()),
            ..spec
        };
        self.shared.keys_mut().insert(key.clone(), Arc::new(spec));
        key
    }

    /// Revokes a key (later requests with it get 401); `false` if it did not exist.
    pub fn remove_key(&self, key: &str) -> bool {
        self.shared.keys_mut().remove(key).is_some()
    }

    /// The request log, oldest first.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.shared.request_log().snapshot()
    }

    /// The logged requests of one operation.
    pub fn requests_for(&self, operation: Operation) -> Vec<LoggedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.operation == Some(operation))
            .collect()
    }

    /// Waits until `n` requests have been logged since the start (the count goes on when the
    /// log is cleared; a request is logged once its operation has run, before a `late` answer
    /// is sent, or once it was abandoned). It waits as long as it takes: put a timeout around
    /// it.
    pub async fn wait_for_requests(&self, n: u64) {
        let mut seen = self.shared.request_log().seen();
        let _ = seen.wait_for(|logged| *logged >= n).await.map(|_| ());
    }

    /// Empties the request log.
    pub fn clear_requests(&self) {
        self.shared.request_log().clear();
    }

    /// Replaces the fault rules (their `times` counters start again).
    pub fn set_faults(&self, rules: Vec<FaultRule>) {
        let active = !rules.is_empty();
        self.shared.faults().set(rules);
        self.shared.faults_active.store(active, Ordering::Relaxed);
    }

    /// Removes all fault rules.
    pub fn clear_faults(&self) {
        self.set_faults(Vec::new());
    }

    /// Whether any fault rule is set.
    pub fn has_faults(&self) -> bool {
        !self.shared.faults().is_empty()
    }

    /// The mock clock (clones share it).
    pub fn clock(&self) -> MockClock {
        self.shared.clock.clone()
    }

    /// Read access to the records.
    pub fn store(&self) -> MockStore {
        MockStore {
            shared: self.shared.clone(),
        }
    }

    /// The quota usage of `key` now (without counting a request).
    pub fn quota(&self, key: &str) -> QuotaUsage {
        let spec = self.shared.keys().get(key).cloned().unwrap_or_default();
        let (d, m) = self.shared.limits(&spec);
        self.shared
            .quotas()
            .peek(key, d, m, self.shared.clock.now_utc())
    }

    /// The body budget's reservations now ([`MockBuilder::body_budget_bytes`]).
    pub fn body_gauge(&self) -> BodyGauge {
        *self.shared.body_gauge.borrow()
    }

    /// Waits until the body budget's reservations satisfy `pred` (checked now and at every
    /// change) and returns them. It waits as long as it takes: put a timeout around it.
    pub async fn wait_for_body_gauge(&self, mut pred: impl FnMut(&BodyGauge) -> bool) -> BodyGauge {
        let mut gauge = self.shared.body_gauge.subscribe();
        // The sender lives as long as `self`, so waiting cannot fail; the copy is taken at
        // once so no borrow of the gauge outlives this call (it would block the server).
        let seen = gauge.wait_for(|g| pred(g)).await.map(|g| *g);
        seen.unwrap_or_else(|_| *gauge.borrow())
    }

    /// Forgets the counted requests of `key`.
    pub fn reset_quota(&self, key: &str) {
        self.shared.quotas().reset(key);
    }

    /// Stops accepting connections and waits for open ones to finish (at most five seconds).
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningMock {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// A seeded user, contact or customer login (for the authenticate endpoints).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    /// Whose login.
    pub kind: CredentialKind,
    /// The user name (for contacts their e-mail, for customers their account number).
    pub user_name: String,
    /// The password.
    pub password: String,
    /// The record it authenticates as.
    pub id: Uuid,
}

/// Reads records straight from the simulator's store (each call locks it briefly).
#[derive(Clone, Debug)]
pub struct MockStore {
    shared: Arc<Shared>,
}

impl MockStore {
    /// An order as `GET api/orders/{id}` returns it.
    pub fn order(&self, id: Uuid) -> Option<types::Order> {
        let store = self.shared.read();
        store.order_idx(id).map(|i| store.order(i))
    }

    /// The status history of an order, oldest first.
    pub fn status_history(&self, id: Uuid) -> Option<Vec<types::Status>> {
        let store = self.shared.read();
        store.order_idx(id).map(|i| store.history(i))
    }

    /// The order with a tracking number.
    pub fn order_by_tracking(&self, tracking: &str) -> Option<types::Order> {
        let store = self.shared.read();
        store.order_by_tracking(tracking).map(|i| store.order(i))
    }

    /// All order GUIDs, in store order.
    pub fn order_ids(&self) -> Vec<Uuid> {
        let store = self.shared.read();
        (0..store.order_count() as u32)
            .map(|i| store.order_id(i))
            .collect()
    }

    /// How many orders there are.
    pub fn order_count(&self) -> usize {
        self.shared.read().order_count()
    }

    /// GUIDs of the orders of one customer.
    pub fn customer_order_ids(&self, customer: Uuid) -> Vec<Uuid> {
        let store = self.shared.read();
        (0..store.order_count() as u32)
            .filter(|i| store.order_customer(*i) == Some(customer))
            .map(|i| store.order_id(i))
            .collect()
    }

    /// All customer GUIDs.
    pub fn customer_ids(&self) -> Vec<Uuid> {
        self.shared.read().customers.keys().copied().collect()
    }

    /// A customer record.
    pub fn customer(&self, id: Uuid) -> Option<types::Customer> {
        self.shared.read().customers.get(&id).map(|r| r.rec.clone())
    }

    /// All contact GUIDs.
    pub fn contact_ids(&self) -> Vec<Uuid> {
        self.shared.read().contacts.keys().copied().collect()
    }

    /// A contact record.
    pub fn contact(&self, id: Uuid) -> Option<types::Contact> {
        self.shared.read().contacts.get(&id).map(|r| r.rec.clone())
    }

    /// All user GUIDs (drivers first, then dispatchers).
    pub fn user_ids(&self) -> Vec<Uuid> {
        self.shared.read().users.keys().copied().collect()
    }

    /// GUIDs of the users who are drivers.
    pub fn driver_ids(&self) -> Vec<Uuid> {
        let store = self.shared.read();
        store
            .users
            .values()
            .filter(|u| u.rec.is_driver == Some(true))
            .filter_map(|u| u.rec.id.map(Uuid::from))
            .collect()
    }

    /// A user record.
    pub fn user(&self, id: Uuid) -> Option<types::User> {
        self.shared.read().users.get(&id).map(|r| r.rec.clone())
    }

    /// All location GUIDs.
    pub fn location_ids(&self) -> Vec<Uuid> {
        self.shared.read().locations.keys().copied().collect()
    }

    /// A location record.
    pub fn location(&self, id: Uuid) -> Option<types::Location> {
        self.shared.read().locations.get(&id).map(|r| r.rec.clone())
    }

    /// All price set GUIDs.
    pub fn price_set_ids(&self) -> Vec<Uuid> {
        self.shared.read().price_sets.keys().copied().collect()
    }

    /// All zone GUIDs.
    pub fn zone_ids(&self) -> Vec<Uuid> {
        self.shared.read().zones.keys().copied().collect()
    }

    /// All vehicle GUIDs.
    pub fn vehicle_ids(&self) -> Vec<Uuid> {
        self.shared.read().vehicles.keys().copied().collect()
    }

    /// All invoice GUIDs.
    pub fn invoice_ids(&self) -> Vec<Uuid> {
        self.shared.read().invoices.keys().copied().collect()
    }

    /// All miscellaneous-compensation GUIDs (the API has no finder for them).
    pub fn compensation_ids(&self) -> Vec<Uuid> {
        self.shared.read().compensations.keys().copied().collect()
    }

    /// The positions of a user, oldest first.
    pub fn positions(&self, user: Uuid) -> Vec<types::UserPosition> {
        self.shared
            .read()
            .positions
            .get(&user)
            .cloned()
            .unwrap_or_default()
    }

    /// The availability of a user.
    pub fn availability(&self, user: Uuid) -> Option<types::UserAvailability> {
        self.shared.read().availability.get(&user).cloned()
    }

    /// The attachment GUIDs of an order.
    pub fn attachment_ids(&self, order: Uuid) -> Vec<Uuid> {
        let store = self.shared.read();
        store
            .order_idx(order)
            .map(|i| store.attachment_ids(i))
            .unwrap_or_default()
    }

    /// GUIDs of orders that have a delivery signature.
    pub fn signed_order_ids(&self) -> Vec<Uuid> {
        let store = self.shared.read();
        (0..store.order_count() as u32)
            .filter(|i| store.flags(*i) & store::F_SIGNATURE != 0)
            .map(|i| store.order_id(i))
            .collect()
    }

    /// The seeded logins of one kind, sorted by user name.
    pub fn credentials(&self, kind: CredentialKind) -> Vec<Credential> {
        let store = self.shared.read();
        let mut out: Vec<Credential> = store
            .credentials
            .iter()
            .filter(|((k, _), _)| *k == kind)
            .map(|((k, user), (password, id))| Credential {
                kind: *k,
                user_name: user.clone(),
                password: password.clone(),
                id: *id,
            })
            .collect();
        out.sort_by(|a, b| a.user_name.cmp(&b.user_name));
        out
    }

    /// What `POST api/order/getTotalCost` answers for `order`.
    pub fn total_cost(&self, order: &types::Order) -> f64 {
        self.shared.read().quote(order).total
    }

    /// A fingerprint of everything the store holds (for determinism checks and "nothing changed"
    /// assertions): every record of every table, positions, availability, credentials and
    /// attachments.
    pub fn fingerprint(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let store = self.shared.read();
        let mut h = std::collections::hash_map::DefaultHasher::new();
        macro_rules! feed {
            ($v:expr) => {
                erased::Json::hash_json($v, &mut h)
            };
        }
        macro_rules! tables {
            ($($table:ident),*) => {$(
                for (id, r) in store.$table.iter() {
                    id.hash(&mut h);
                    feed!(&r.rec);
                }
            )*};
        }
        tables!(
            zones,
            locations,
            customers,
            contacts,
            departments,
            price_modifiers,
            price_sets,
            users,
            vehicles,
            sessions,
            compensations,
            invoices,
            payments
        );
        // Hash maps iterate in no fixed order: feed them sorted by key.
        let mut availability: Vec<_> = store.availability.iter().collect();
        availability.sort_by_key(|(id, _)| **id);
        for (id, a) in availability {
            id.hash(&mut h);
            feed!(a);
        }
        let mut positions: Vec<_> = store.positions.iter().collect();
        positions.sort_by_key(|(id, _)| **id);
        for (id, p) in positions {
            id.hash(&mut h);
            feed!(p);
        }
        let mut credentials: Vec<_> = store
            .credentials
            .iter()
            .map(|((kind, user), (password, id))| (format!("{kind:?}"), user, password, id))
            .collect();
        credentials.sort();
        credentials.hash(&mut h);
        for (id, a) in &store.attachments {
            (id, a.order, &a.file_name, &a.contents[..], a.timestamp).hash(&mut h);
        }
        let mut deleted: Vec<_> = store.deleted_attachments.iter().collect();
        deleted.sort();
        deleted.hash(&mut h);
        for i in 0..store.order_count() as u32 {
            feed!(&store.order(i));
            feed!(&store.history(i));
        }
        store.order_count().hash(&mut h);
        h.finish()
    }
}

mod erased {
    use std::hash::{Hash, Hasher};

    pub(crate) trait Json {
        fn hash_json(&self, h: &mut std::collections::hash_map::DefaultHasher);
    }

    impl<T: serde::Serialize> Json for T {
        fn hash_json(&self, h: &mut std::collections::hash_map::DefaultHasher) {
            serde_json::to_vec(self).unwrap_or_default().hash(h);
            h.write_u8(0xff);
        }
    }
}
