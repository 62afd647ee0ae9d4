//! The daemon's delivery side: one [`Dispatcher`] per configured destination, each in its own
//! task, beside the collection loop.
//!
//! [`Deliveries::start`] builds a dispatcher for every `[[webhook]]` and `[[nats]]` entry of
//! `sync.toml` (its sink, its redaction policy, its event-type and account filter) and spawns
//! it; a slow or failing endpoint only occupies its own task, never the collector or another
//! destination. A health task reads the store's
//! [`destination_health`](DeliveryStore::destination_health) every [`HEALTH_EVERY`] into the
//! metrics' gauges and `/healthz`.
//!
//! **Roles.** `ontime sync run --role collect|deliver|all` ([`Role`]): a `deliver` process runs
//! only the dispatchers (no leases, no OnTime calls); several of them on one Postgres share the
//! outbox, each claim taken with `FOR UPDATE SKIP LOCKED`. A `collect` process queues events
//! for the destinations but sends nothing: another process delivers.
//!
//! **Shutdown.** [`Deliveries::stop`] cancels the dispatchers: none claims anything more; a
//! step in progress finishes its sends (each bounded by the sink's timeout) and records their
//! outcomes. A dispatcher that has not finished within the bound given to `stop` (the daemon
//! gives the longest request timeout plus 10 s) is abandoned: its task is aborted, its claims
//! stay in the store until they expire (the destination's claim TTL: twice its timeout plus
//! 30 s) and are then claimed again, by this daemon's next run or by another dispatcher, and
//! sent again (at least once: the receiver deduplicates by `webhook-id` / `Nats-Msg-Id`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::metrics::Metrics;
use super::worker::Health;
use crate::collect::Clock;
use crate::config::{DestinationError, SyncConfig};
use crate::deliver::Sink;
use crate::deliver::dispatch::Dispatcher;
use crate::store::Store;
use crate::store::outbox::{DeliveryStore, DestinationHealth};

/// How often the destinations' health is read from the store (one query for all).
pub const HEALTH_EVERY: Duration = Duration::from_secs(15);

/// What an `ontime sync run` process does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Role {
    /// Collect OnTime's changes (queueing them for the destinations); deliver nothing.
    Collect,
    /// Deliver the outbox to the destinations; collect nothing.
    Deliver,
    /// Both (the default).
    #[default]
    All,
}

impl Role {
    /// Whether this role runs the collector.
    pub fn collects(self) -> bool {
        matches!(self, Self::Collect | Self::All)
    }

    /// Whether this role runs the dispatchers.
    pub fn delivers(self) -> bool {
        matches!(self, Self::Deliver | Self::All)
    }

    /// `collect`, `deliver` or `all`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Collect => "collect",
            Self::Deliver => "deliver",
            Self::All => "all",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "collect" => Ok(Self::Collect),
            "deliver" => Ok(Self::Deliver),
            "all" => Ok(Self::All),
            other => Err(format!(
                "unknown role {other:?}: expected collect, deliver or all"
            )),
        }
    }
}

/// A destination's state as `/healthz` and `ontime sync status` show it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DestinationState {
    /// `ok`, `failing` (every attempt since `failing_since` failed) or `disabled`.
    pub health: &'static str,
    /// Since when it fails (when `failing`).
    pub failing_since: Option<DateTime<Utc>>,
    /// When it was disabled (when `disabled`).
    pub disabled_at: Option<DateTime<Utc>>,
    /// Why it was disabled (when `disabled`).
    pub disabled_reason: Option<String>,
    /// Deliveries waiting (claimed or not).
    pub backlog: u64,
    /// When the oldest waiting delivery was queued.
    pub oldest_queued_at: Option<DateTime<Utc>>,
    /// How long it has waited, in seconds, at the time of reading.
    pub oldest_waiting_s: Option<i64>,
    /// Dead letters held.
    pub dead_letters: u64,
    /// The last failure's reason (a status or a transport error; never a body).
    pub last_error: Option<String>,
    /// The last successful delivery.
    pub last_success_at: Option<DateTime<Utc>>,
}

impl DestinationState {
    /// The state of `health` at `now`.
    pub fn new(health: &DestinationHealth, now: DateTime<Utc>) -> Self {
        let state = if health.disabled.is_some() {
            "disabled"
        } else if health.failing_since.is_some() {
            "failing"
        } else {
            "ok"
        };
        Self {
            health: state,
            failing_since: health.failing_since,
            disabled_at: health.disabled.as_ref().map(|(at, _)| *at),
            disabled_reason: health.disabled.as_ref().map(|(_, why)| why.clone()),
            backlog: health.backlog,
            oldest_queued_at: health.oldest_queued_at,
            oldest_waiting_s: health
                .oldest_queued_at
                .map(|at| (now - at).num_seconds().max(0)),
            dead_letters: health.dead_letters,
            last_error: health.last_error.clone(),
            last_success_at: health.last_success_at,
        }
    }

    /// Every configured destination's state (a destination the store has never seen is `ok`
    /// and empty), in `names`' order.
    pub fn all(
        names: &[String],
        health: &[DestinationHealth],
        now: DateTime<Utc>,
    ) -> Vec<(String, Self)> {
        names
            .iter()
            .map(|name| {
                let state = health.iter().find(|h| &h.destination == name).map_or_else(
                    || Self::new(&DestinationHealth::default(), now),
                    |h| Self::new(h, now),
                );
                (name.clone(), state)
            })
            .collect()
    }
}

/// What [`Deliveries::stop`] saw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StopReport {
    /// Dispatchers that finished their step in time.
    pub finished: Vec<String>,
    /// Dispatchers abandoned after the bound (their claims expire and are sent again).
    pub abandoned: Vec<String>,
}

/// The dispatchers of one process (see the [module documentation](self)).
#[derive(Debug)]
pub struct Deliveries {
    tasks: Vec<(String, JoinHandle<()>)>,
    health_task: Option<JoinHandle<()>>,
    wakers: BTreeMap<String, Arc<Notify>>,
    cancel: CancellationToken,
    bound: Duration,
}

impl Deliveries {
    /// Builds and spawns one dispatcher per destination of `config` (secrets read), claiming
    /// as `worker` on `store`, with time from `clock`; their counters go to `metrics`, their
    /// health (every [`HEALTH_EVERY`]) to `metrics` and `health`. They stop on `cancel`
    /// (or [`stop`](Self::stop)).
    pub fn start<C: Clock + Clone + 'static>(
        config: &SyncConfig,
        store: Store,
        clock: C,
        worker: &str,
        metrics: Arc<Metrics>,
        health: Arc<Mutex<Health>>,
        cancel: CancellationToken,
    ) -> Result<Self, DestinationError> {
        let mut this = Self {
            tasks: Vec::new(),
            health_task: None,
            wakers: BTreeMap::new(),
            cancel: cancel.clone(),
            bound: Duration::from_secs(10),
        };
        // Build every dispatcher first: a bad destination stops the start before anything runs.
        let mut webhooks = Vec::new();
        for webhook in &config.webhooks {
            webhooks.push(webhook.dispatcher(store.clone(), clock.clone(), worker)?);
            this.bound = this.bound.max(webhook.timeout + Duration::from_secs(10));
        }
        let mut nats = Vec::new();
        for destination in &config.nats {
            nats.push(destination.dispatcher(store.clone(), worker)?);
            let wait = destination.nats.connect_timeout + destination.nats.ack_timeout;
            this.bound = this.bound.max(wait + Duration::from_secs(10));
        }
        for dispatcher in webhooks {
            this.spawn(dispatcher, clock.clone(), &metrics);
        }
        for dispatcher in nats {
            this.spawn(dispatcher, clock.clone(), &metrics);
        }
        let names = config.destination_names();
        this.health_task = Some(tokio::spawn(watch_health(
            store, names, clock, metrics, health, cancel,
        )));
        Ok(this)
    }

    fn spawn<K: Sink + 'static, C: Clock + 'static>(
        &mut self,
        dispatcher: Dispatcher<Store, K>,
        clock: C,
        metrics: &Metrics,
    ) {
        let name = dispatcher.settings().destination.clone();
        metrics.watch_dispatch(&name, dispatcher.metrics());
        self.wakers.insert(name.clone(), dispatcher.waker());
        let cancel = self.cancel.clone();
        tracing::info!(destination = %name, "dispatcher started");
        let task = tokio::spawn(async move {
            dispatcher
                .run(clock, async move { cancel.cancelled().await })
                .await;
        });
        self.tasks.push((name, task));
    }

    /// Each destination's waker (a collector notifies it after storing events for it).
    pub fn wakers(&self) -> BTreeMap<String, Arc<Notify>> {
        self.wakers.clone()
    }

    /// The destinations running, in start order.
    pub fn destinations(&self) -> Vec<String> {
        self.tasks.iter().map(|(name, _)| name.clone()).collect()
    }

    /// The bound [`stop`](Self::stop) is given by the daemon: the longest request (or connect
    /// plus PubAck) timeout plus 10 s.
    pub fn shutdown_bound(&self) -> Duration {
        self.bound
    }

    /// Stops claiming and waits up to `bound` for the steps in progress; what is left is
    /// abandoned (see the [module documentation](self)).
    pub async fn stop(self, bound: Duration) -> StopReport {
        self.cancel.cancel();
        if let Some(task) = self.health_task {
            task.abort();
        }
        let deadline = tokio::time::Instant::now() + bound;
        let mut report = StopReport::default();
        for (name, mut task) in self.tasks {
            match tokio::time::timeout_at(deadline, &mut task).await {
                Ok(_) => {
                    tracing::info!(destination = %name, "dispatcher stopped");
                    report.finished.push(name);
                }
                Err(_) => {
                    task.abort();
                    tracing::warn!(
                        destination = %name,
                        bound_s = bound.as_secs(),
                        "dispatcher abandoned mid-step; its claims expire and are sent again"
                    );
                    report.abandoned.push(name);
                }
            }
        }
        report
    }
}

/// Reads every destination's health now into the metrics' gauges and `health` (what the
/// health task does every [`HEALTH_EVERY`]).
pub async fn refresh_health(
    store: &Store,
    names: &[String],
    now: DateTime<Utc>,
    metrics: &Metrics,
    health: &Mutex<Health>,
) -> Result<(), crate::store::StoreError> {
    let read = store.destination_health().await?;
    let known: Vec<DestinationHealth> = names
        .iter()
        .map(|name| {
            read.iter()
                .find(|h| &h.destination == name)
                .cloned()
                .unwrap_or_else(|| DestinationHealth {
                    destination: name.clone(),
                    ..DestinationHealth::default()
                })
        })
        .collect();
    metrics.set_destinations(&known, now);
    let states = DestinationState::all(names, &read, now);
    let mut health = health.lock().unwrap_or_else(|p| p.into_inner());
    health.destinations = states.into_iter().collect();
    health.destinations_checked_at = Some(now);
    Ok(())
}

async fn watch_health<C: Clock>(
    store: Store,
    names: Vec<String>,
    clock: C,
    metrics: Arc<Metrics>,
    health: Arc<Mutex<Health>>,
    cancel: CancellationToken,
) {
    let every = chrono::TimeDelta::from_std(HEALTH_EVERY).unwrap_or(chrono::TimeDelta::seconds(15));
    loop {
        let now = clock.now();
        if let Err(error) = refresh_health(&store, &names, now, &metrics, &health).await {
            tracing::warn!(%error, "destination health could not be read");
        }
        tokio::select! {
            () = cancel.cancelled() => break,
            () = clock.sleep_until(now + every) => {}
        }
    }
}
