//! The handle of a running simulator: its URLs and keys, the request log, fault rules, keys,
//! quotas, the clock and the body budget, and stopping it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::watch;
use uuid::Uuid;

use crate::activity::Activity;
use crate::auth::KeySpec;
use crate::clock::MockClock;
use crate::faults::FaultRule;
use crate::log::LoggedRequest;
use crate::mock_store::MockStore;
use crate::quota::QuotaUsage;
use crate::state::Shared;
use crate::{BodyGauge, Operation};

/// A running simulator. Dropping it stops the server; [`shutdown`](Self::shutdown) also waits
/// for open connections to finish.
#[derive(Debug)]
pub struct RunningMock {
    pub(crate) shared: Arc<Shared>,
    pub(crate) addr: SocketAddr,
    pub(crate) api_key: String,
    pub(crate) customer_key: String,
    pub(crate) scoped_customer: Uuid,
    pub(crate) shutdown: watch::Sender<bool>,
    pub(crate) task: Option<tokio::task::JoinHandle<()>>,
    pub(crate) activity: Option<Activity>,
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

    /// The living account's handle, when the simulator was built with
    /// [`MockBuilder::activity`](crate::MockBuilder::activity).
    pub fn activity(&self) -> Option<Activity> {
        self.activity.clone()
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

    /// The body budget's reservations now ([`MockBuilder::body_budget_bytes`](crate::MockBuilder::body_budget_bytes)).
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
