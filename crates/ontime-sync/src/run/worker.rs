//! [`Worker`]: the accounts of a `sync.toml`, collected under leases.
//!
//! Every *lease round* — every `lease_ttl / 3` — the worker renews the leases it holds and tries
//! to acquire the free (or expired) ones. Each acquisition makes a fresh [`AccountRunner`] whose
//! sources commit under the new lease's fence. A lease that cannot be renewed, and a commit
//! refused with [`StoreError::LeaseLost`], stop that account's runner at once; the others go on.
//!
//! **Takeover bound.** A worker that dies (or stalls) without releasing stops renewing; its
//! leases expire at most `lease_ttl` after its last renewal, and the other workers try to
//! acquire every `lease_ttl / 3`: an account is collected again within `lease_ttl + lease_ttl / 3`
//! of the last renewal. A stalled worker that wakes up cannot commit: its fencing token is old.
//!
//! **Shutdown.** [`Worker::run`] stops when its [`CancellationToken`] is cancelled: the step in
//! progress finishes (cancellation is only looked at between steps), then every lease is
//! released, so another worker may take the accounts over at once.
//!
//! Runners are ticked one after the other in the worker's task, between lease rounds: a slow
//! OnTime call of one account delays the others' steps and the next renewal. [`Worker::new`]
//! therefore bounds each call (request timeout `max(lease_ttl / 6, 5 s)`, the facade's retries
//! within `lease_ttl / 6`, `Retry-After` beyond that not waited for: the runner's own backoff
//! takes over). A step of many slow calls can still outlast `2/3 × lease_ttl`; its lease may
//! then be taken over, and its commit is refused ([`StoreError::LeaseLost`]): nothing is
//! written twice, the account moves. A `lease_ttl` of a few minutes makes that rare.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::account::AccountRunner;
use super::http::{HttpState, InboundRoute};
use super::metrics::Metrics;
use crate::collect::inbound::Inbound;
use crate::collect::{Clock, CollectError};
use crate::config::{AccountSettings, SourceKind, SyncConfig};
use crate::store::{EventStore, Lease, Store, StoreError};

/// Why a worker could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkerError {
    /// An account's client could not be built (bad URL, missing key).
    #[error("account {account:?}: {source}")]
    Client {
        /// The account.
        account: String,
        /// The facade's error (never the key).
        #[source]
        source: ontime::Error,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One account as `/healthz` shows it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct AccountHealth {
    /// Whether this worker holds its lease.
    pub leased: bool,
    /// Its runner's last tick.
    pub last_tick_at: Option<DateTime<Utc>>,
    /// Its last error, if any.
    pub last_error: Option<String>,
}

/// What `/healthz` reports (updated by the worker, read by the HTTP endpoint).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Health {
    /// The worker's id.
    pub worker: String,
    /// Whether the store answered the last lease round.
    pub store_ok: bool,
    /// The worker loop's last pass.
    pub last_loop_at: Option<DateTime<Utc>>,
    /// Per account.
    pub accounts: BTreeMap<String, AccountHealth>,
    /// Whether this process collects (`--role collect|all`); a deliver-only process has no
    /// worker loop, `/healthz` then judges freshness by the destinations' last check.
    pub collecting: bool,
    /// Per destination, as of [`destinations_checked_at`](Self::destinations_checked_at)
    /// (empty when this process does not deliver).
    pub destinations: BTreeMap<String, super::deliver::DestinationState>,
    /// When the destinations' health was last read from the store.
    pub destinations_checked_at: Option<DateTime<Utc>>,
}

struct Held<C> {
    runner: AccountRunner<C>,
    lease: Lease,
}

/// Several accounts under leases (see the [module documentation](self)).
pub struct Worker<C> {
    id: String,
    ttl: TimeDelta,
    accounts: Vec<(AccountSettings, ontime::Client)>,
    store: Store,
    clock: C,
    metrics: Arc<Metrics>,
    health: Arc<Mutex<Health>>,
    held: BTreeMap<String, Held<C>>,
    next_lease_round: Option<DateTime<Utc>>,
    routes: DeliveryRoutes,
}

/// Where each account's new events go: the destinations its commits queue them for, and the
/// dispatchers to wake when it stored some.
#[derive(Clone, Debug, Default)]
pub struct DeliveryRoutes {
    /// Account → the destinations that apply to it ([`SyncConfig::destinations_for`]).
    pub destinations: BTreeMap<String, Vec<String>>,
    /// Destination → its dispatcher's waker (only those running in this process).
    pub wakers: BTreeMap<String, Arc<tokio::sync::Notify>>,
}

impl DeliveryRoutes {
    /// The routes of `config`'s accounts (no waker: the dispatchers run elsewhere, or are
    /// added with [`with_wakers`](Self::with_wakers)).
    pub fn from_config(config: &SyncConfig) -> Self {
        Self {
            destinations: config
                .accounts
                .iter()
                .map(|a| (a.name.clone(), config.destinations_for(&a.name)))
                .collect(),
            wakers: BTreeMap::new(),
        }
    }

    /// The same routes, waking these dispatchers.
    pub fn with_wakers(mut self, wakers: BTreeMap<String, Arc<tokio::sync::Notify>>) -> Self {
        self.wakers = wakers;
        self
    }

    fn wake(&self, account: &str) {
        for destination in self.destinations.get(account).into_iter().flatten() {
            if let Some(waker) = self.wakers.get(destination) {
                waker.notify_one();
            }
        }
    }
}

impl<C> std::fmt::Debug for Worker<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("id", &self.id)
            .field("held", &self.held.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl<C: Clock + Clone + 'static> Worker<C> {
    /// A worker for `config`'s accounts (its keys read: [`Secrets::Read`](crate::config::Secrets)),
    /// with one client each, on `store`. Holds nothing until the first lease round.
    pub fn new(
        config: &SyncConfig,
        store: Store,
        clock: C,
        metrics: Arc<Metrics>,
    ) -> Result<Self, WorkerError> {
        // One OnTime call must not outlast the lease: the step it is part of would renew late.
        let bound = (config.worker.lease_ttl / 6).max(std::time::Duration::from_secs(1));
        let retry = ontime::RetryPolicy::default()
            .max_attempts(3)
            .max_elapsed(bound)
            .max_retry_after(bound);
        let accounts = config
            .accounts
            .iter()
            .map(|settings| {
                let (calls, account) = (metrics.clone(), settings.name.clone());
                settings
                    .client_builder()
                    .on_call(move |call| calls.record_call(&account, call))
                    .mask_ids_in_logs(true)
                    .timeout(bound.max(std::time::Duration::from_secs(5)))
                    .retry_policy(retry.clone())
                    .build()
                    .map(|client| (settings.clone(), client))
                    .map_err(|source| WorkerError::Client {
                        account: settings.name.clone(),
                        source,
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut worker = Self::with_clients(
            config.worker.id.clone(),
            config.worker.lease_ttl,
            accounts,
            store,
            clock,
            metrics,
        );
        worker.set_delivery(DeliveryRoutes::from_config(config));
        Ok(worker)
    }

    /// Like [`new`](Self::new), with the clients given (tests: retries off, the simulator).
    pub fn with_clients(
        id: String,
        lease_ttl: std::time::Duration,
        accounts: Vec<(AccountSettings, ontime::Client)>,
        store: Store,
        clock: C,
        metrics: Arc<Metrics>,
    ) -> Self {
        let health = Health {
            worker: id.clone(),
            store_ok: true,
            last_loop_at: None,
            accounts: accounts
                .iter()
                .map(|(s, _)| (s.name.clone(), AccountHealth::default()))
                .collect(),
            collecting: true,
            destinations: BTreeMap::new(),
            destinations_checked_at: None,
        };
        Self {
            id,
            ttl: TimeDelta::from_std(lease_ttl).unwrap_or(TimeDelta::seconds(30)),
            accounts,
            store,
            clock,
            metrics,
            health: Arc::new(Mutex::new(health)),
            held: BTreeMap::new(),
            next_lease_round: None,
            routes: DeliveryRoutes::default(),
        }
    }

    /// Queues every account's new events for its destinations and wakes their dispatchers
    /// (those in `routes.wakers`) after a step that stored some. Applies to the runners held
    /// now and to those made later. [`new`](Self::new) starts with the config's destinations
    /// and no waker.
    pub fn set_delivery(&mut self, routes: DeliveryRoutes) {
        for (account, held) in &mut self.held {
            held.runner.set_destinations(
                routes
                    .destinations
                    .get(account)
                    .cloned()
                    .unwrap_or_default(),
            );
        }
        self.routes = routes;
    }

    /// The worker's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The health the HTTP endpoint shows.
    pub fn health(&self) -> Arc<Mutex<Health>> {
        self.health.clone()
    }

    /// The accounts whose leases this worker holds.
    pub fn held(&self) -> Vec<String> {
        self.held.keys().cloned().collect()
    }

    /// The runner of `account`, while held.
    pub fn runner(&self, account: &str) -> Option<&AccountRunner<C>> {
        self.held.get(account).map(|h| &h.runner)
    }

    /// The time between lease rounds: `lease_ttl / 3`.
    pub fn lease_period(&self) -> TimeDelta {
        self.ttl / 3
    }

    /// One lease round at `now`: renews what is held (dropping what was lost), acquires what is
    /// free. Store failures are logged and reported in the health; the round goes on.
    pub async fn lease_round(&mut self, now: DateTime<Utc>) {
        let mut store_ok = true;
        let held: Vec<String> = self.held.keys().cloned().collect();
        for account in held {
            let lease = self.held[&account].lease.clone();
            match self.store.renew_lease(&lease, self.ttl, now).await {
                Ok(renewed) => {
                    if let Some(h) = self.held.get_mut(&account) {
                        h.lease = renewed;
                    }
                }
                Err(StoreError::LeaseLost { .. }) => {
                    tracing::warn!(%account, worker = %self.id, "lease lost to another worker; runner stopped");
                    self.drop_runner(&account);
                }
                Err(error) => {
                    store_ok = false;
                    tracing::warn!(%account, %error, "lease renewal failed");
                }
            }
        }
        for index in 0..self.accounts.len() {
            let name = self.accounts[index].0.name.clone();
            if self.held.contains_key(&name) {
                continue;
            }
            match self
                .store
                .acquire_lease(&name, &self.id, self.ttl, now)
                .await
            {
                Ok(Some(lease)) => {
                    let (settings, client) = &self.accounts[index];
                    match AccountRunner::new(
                        settings,
                        client.clone(),
                        self.store.clone(),
                        self.clock.clone(),
                        Some(lease.fence()),
                        self.metrics.clone(),
                        now,
                    )
                    .await
                    {
                        Ok(mut runner) => {
                            runner.set_destinations(
                                self.routes
                                    .destinations
                                    .get(&name)
                                    .cloned()
                                    .unwrap_or_default(),
                            );
                            tracing::info!(account = %name, worker = %self.id, token = lease.token, "lease acquired");
                            self.metrics
                                .leased
                                .get_or_create(&Metrics::account(&name))
                                .set(1);
                            self.set_health(&name, |h| h.leased = true);
                            self.held.insert(name, Held { runner, lease });
                        }
                        Err(error) => {
                            store_ok = false;
                            tracing::warn!(account = %name, %error, "runner could not start; lease released");
                            let _ = self.store.release_lease(&lease).await;
                        }
                    }
                }
                Ok(None) => {}
                Err(error) => {
                    store_ok = false;
                    tracing::warn!(account = %name, %error, "lease acquisition failed");
                }
            }
        }
        if let Ok(mut health) = self.health.lock() {
            health.store_ok = store_ok;
        }
        self.next_lease_round = Some(now + self.lease_period());
    }

    /// Ticks every held runner that is due at `now`; a runner whose lease was lost is dropped.
    pub async fn tick(&mut self, now: DateTime<Utc>) {
        let due: Vec<String> = self
            .held
            .iter()
            .filter(|(_, h)| h.runner.next_due() <= now)
            .map(|(name, _)| name.clone())
            .collect();
        for account in due {
            let Some(held) = self.held.get_mut(&account) else {
                continue;
            };
            match held.runner.tick(now).await {
                Ok(report) => {
                    if report.stored > 0 {
                        // A signal for operators and crash tests: new events are durable.
                        tracing::debug!(%account, stored = report.stored, "events committed");
                        self.routes.wake(&account);
                    }
                    let error = held
                        .runner
                        .status()
                        .last_error
                        .as_ref()
                        .map(|e| format!("{}: {}", e.source, e.message));
                    self.set_health(&account, |h| {
                        h.last_tick_at = Some(now);
                        h.last_error = error;
                    });
                }
                Err(CollectError::Store(StoreError::LeaseLost { .. })) => {
                    tracing::warn!(%account, worker = %self.id, "lease lost during a step; runner stopped");
                    self.drop_runner(&account);
                }
                Err(error) => {
                    // The counters or the status could not be written: the store is failing.
                    tracing::warn!(%account, %error, "runner bookkeeping failed");
                    if let Ok(mut health) = self.health.lock() {
                        health.store_ok = false;
                    }
                }
            }
        }
        if let Ok(mut health) = self.health.lock() {
            health.last_loop_at = Some(now);
        }
    }

    /// When the worker has something to do next: the next lease round or a runner's next step.
    pub fn next_due(&self) -> DateTime<Utc> {
        let lease = self.next_lease_round.unwrap_or_else(|| self.clock.now());
        self.held
            .values()
            .map(|h| h.runner.next_due())
            .fold(lease, DateTime::min)
    }

    /// One pass at `now`: the lease round when due, then every runner that is due (what
    /// [`run`](Self::run) does in a loop; tests call it in step mode).
    pub async fn step(&mut self, now: DateTime<Utc>) {
        if self.next_lease_round.is_none_or(|at| at <= now) {
            self.lease_round(now).await;
        }
        self.tick(now).await;
    }

    /// The inbound endpoints of the accounts that have one (for [`super::http`]). Receiving
    /// needs no lease (an entry is only queued; the lease holder drains it), so every
    /// configured account answers, whoever holds it.
    pub fn inbound_routes(&self) -> Vec<InboundRoute> {
        self.accounts
            .iter()
            .filter(|(settings, _)| settings.sources.contains(&SourceKind::Inbound))
            .filter_map(|(settings, client)| {
                let inbound = settings.inbound.as_ref()?;
                let token = inbound.token.clone()?;
                let config = super::account::inbound_config(inbound, token.clone(), None);
                let source = Inbound::new(
                    client.clone(),
                    self.store.clone(),
                    settings.account_config(),
                    config,
                    self.clock.clone(),
                );
                Some(InboundRoute {
                    account: settings.name.clone(),
                    token,
                    router: source.router(),
                })
            })
            .collect()
    }

    /// What the HTTP endpoints need: the metrics, the health, the inbound routes; `/healthz`
    /// turns `503` when no worker pass happened for `lease_ttl` (at least 30 s).
    pub fn http_state(&self) -> HttpState {
        let clock = self.clock.clone();
        HttpState {
            metrics: self.metrics.clone(),
            health: self.health.clone(),
            inbound: Arc::new(self.inbound_routes()),
            stale_after: self.ttl.max(TimeDelta::seconds(30)),
            now: Arc::new(move || clock.now()),
        }
    }

    /// Runs until `cancel`: lease rounds every `lease_ttl / 3`, runners as they are due; then
    /// finishes the step in progress and releases every lease.
    pub async fn run(mut self, cancel: CancellationToken) {
        loop {
            let now = self.clock.now();
            self.step(now).await;
            if cancel.is_cancelled() {
                break;
            }
            let wake = self.next_due().max(now + TimeDelta::milliseconds(10));
            tokio::select! {
                () = cancel.cancelled() => break,
                () = self.clock.sleep_until(wake) => {}
            }
        }
        self.shutdown().await;
    }

    /// Releases every lease held (another worker may take the accounts at once).
    pub async fn shutdown(&mut self) {
        let held: Vec<String> = self.held.keys().cloned().collect();
        for account in held {
            if let Some(h) = self.held.get(&account)
                && let Err(error) = self.store.release_lease(&h.lease).await
            {
                tracing::warn!(%account, %error, "lease not released; it expires by itself");
            }
            tracing::info!(%account, worker = %self.id, "lease released");
            self.drop_runner(&account);
        }
    }

    fn drop_runner(&mut self, account: &str) {
        self.held.remove(account);
        self.metrics
            .leased
            .get_or_create(&Metrics::account(account))
            .set(0);
        self.set_health(account, |h| h.leased = false);
    }

    fn set_health(&self, account: &str, update: impl FnOnce(&mut AccountHealth)) {
        if let Ok(mut health) = self.health.lock() {
            update(health.accounts.entry(account.to_owned()).or_default());
        }
    }
}
