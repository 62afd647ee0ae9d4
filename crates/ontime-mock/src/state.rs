//! The simulator's shared state: the store, the keys, the quotas, the fault rules, the request
//! log, the clock and the HTTP limits, behind the locks every connection and the
//! [`RunningMock`](crate::RunningMock) handle share.
//!
//! Everything else depends on this module and it depends on none of them: handlers read and
//! change the state, the server's request pipeline drives them, the public handles inspect it.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{
    Arc, Mutex, MutexGuard, OnceLock, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard,
};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::watch;

use crate::BodyGauge;
use crate::auth::KeySpec;
use crate::clock::MockClock;
use crate::faults::FaultEngine;
use crate::http_util::ApiError;
use crate::log::RequestLog;
use crate::quota::Quotas;
use crate::store::Store;

/// Limits of the HTTP side, set on the builder (see [`MockBuilder`](crate::MockBuilder)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    /// How long a connection may take to send a request's head (also how long an idle
    /// keep-alive connection stays open).
    pub header_read_timeout: Duration,
    /// How long reading one request body may take, from when its bytes are reserved.
    pub body_read_timeout: Duration,
    /// The largest request body accepted.
    pub max_body: usize,
    /// How many body bytes all requests together may hold while their bodies are read and
    /// their operations run.
    pub body_budget: usize,
}

/// State shared by all connections and the [`RunningMock`](crate::RunningMock) handle.
pub(crate) struct Shared {
    pub store: RwLock<Store>,
    pub keys: RwLock<HashMap<String, Arc<KeySpec>>>,
    pub quotas: Mutex<Quotas>,
    pub faults: Mutex<FaultEngine>,
    pub faults_active: AtomicBool,
    pub log: Mutex<RequestLog>,
    pub clock: MockClock,
    pub company: String,
    pub daily_quota: u64,
    pub monthly_quota: u64,
    pub spec: OnceLock<Bytes>,
    /// Serialised `GET api/orders/{id}` answers by order slot (see [`Shared::cached_order`]).
    pub order_cache: Option<RwLock<HashMap<u32, Bytes>>>,
    pub limits: Limits,
    /// Permits for request body bytes: [`Limits::body_budget`](crate::state::Limits::body_budget) of them.
    pub body_budget: tokio::sync::Semaphore,
    /// What the body budget holds and who waits for it (for tests and diagnostics).
    pub body_gauge: watch::Sender<BodyGauge>,
}

/// How many serialised orders the response cache keeps before it starts over.
const ORDER_CACHE_CAPACITY: usize = 50_000;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Store> {
        self.store.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The store for a change. Taking it empties the order response cache: readers fill the
    /// cache only while they hold the store's read lock, so no stale answer survives a write.
    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, Store> {
        let guard = self.store.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(cache) = &self.order_cache {
            let mut cache = cache.write().unwrap_or_else(PoisonError::into_inner);
            if !cache.is_empty() {
                cache.clear();
            }
        }
        guard
    }

    /// The serialised answer of `GET api/orders/{id}` for slot `idx`, from the cache or made by
    /// `make` (the caller holds the store's read lock).
    pub(crate) fn cached_order(
        &self,
        idx: u32,
        make: impl FnOnce() -> Result<Bytes, ApiError>,
    ) -> Result<Bytes, ApiError> {
        let Some(cache) = &self.order_cache else {
            return make();
        };
        if let Some(b) = cache
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&idx)
        {
            return Ok(b.clone());
        }
        let bytes = make()?;
        let mut cache = cache.write().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= ORDER_CACHE_CAPACITY {
            cache.clear();
        }
        cache.insert(idx, bytes.clone());
        Ok(bytes)
    }

    pub(crate) fn keys(&self) -> RwLockReadGuard<'_, HashMap<String, Arc<KeySpec>>> {
        self.keys.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn keys_mut(
        &self,
    ) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<KeySpec>>> {
        self.keys.write().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn quotas(&self) -> MutexGuard<'_, Quotas> {
        lock(&self.quotas)
    }

    pub(crate) fn faults(&self) -> MutexGuard<'_, FaultEngine> {
        lock(&self.faults)
    }

    pub(crate) fn request_log(&self) -> MutexGuard<'_, RequestLog> {
        lock(&self.log)
    }

    /// Reserves `bytes` of the body budget, waiting (in arrival order) until that much is free.
    pub(crate) async fn reserve_body(&self, bytes: usize) -> BodyReservation<'_> {
        struct Waiting<'a>(&'a watch::Sender<BodyGauge>);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.send_modify(|g| g.waiting -= 1);
            }
        }
        self.body_gauge.send_modify(|g| g.waiting += 1);
        let waiting = Waiting(&self.body_gauge);
        // `bytes` is at most the budget, which the builder keeps within u32.
        let n = u32::try_from(bytes).unwrap_or(u32::MAX);
        // The semaphore is never closed, so acquiring fails only in theory; then the request
        // goes ahead without a reservation rather than failing.
        let permit = self.body_budget.acquire_many(n).await.ok();
        drop(waiting);
        let bytes = if permit.is_some() { bytes } else { 0 };
        self.body_gauge.send_modify(|g| {
            g.reserved_bytes += bytes;
            g.peak_reserved_bytes = g.peak_reserved_bytes.max(g.reserved_bytes);
        });
        BodyReservation {
            gauge: &self.body_gauge,
            bytes,
            _permit: permit,
        }
    }

    /// The daily and monthly quota of a key (its own, or the server's).
    pub(crate) fn limits(&self, spec: &KeySpec) -> (u64, u64) {
        (
            spec.daily_quota.unwrap_or(self.daily_quota),
            spec.monthly_quota.unwrap_or(self.monthly_quota),
        )
    }
}

/// A request's share of the body budget; gives it back when dropped.
pub(crate) struct BodyReservation<'a> {
    gauge: &'a watch::Sender<BodyGauge>,
    bytes: usize,
    _permit: Option<tokio::sync::SemaphorePermit<'a>>,
}

impl Drop for BodyReservation<'_> {
    fn drop(&mut self) {
        let bytes = self.bytes;
        self.gauge.send_modify(|g| g.reserved_bytes -= bytes);
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("company", &self.company)
            .finish_non_exhaustive()
    }
}
