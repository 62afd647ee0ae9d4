//! The daemon's Prometheus series (`prometheus-client`), served as text on `GET /metrics`.
//!
//! | series | labels | what |
//! |---|---|---|
//! | `ontime_sync_calls_total` | account, source | OnTime HTTP calls (every attempt) spent by a source |
//! | `ontime_sync_requests_total` | account, operation, status | OnTime HTTP calls by the spec's operation id (`ordersGet`, …) and status class (`2xx`, `4xx`, `429`, `5xx`, `none` when no response came) |
//! | `ontime_sync_budget_left` | account, window (`daily`, `monthly`) | calls still ours before the reset (the governor's view; `monthly` only on plans with a monthly cap) |
//! | `ontime_sync_events_stored_total` | account, type | events newly stored for the account, by type |
//! | `ontime_sync_lag_seconds` | account | now − the newest stored event's observed time |
//! | `ontime_sync_ticks_total` | account | runner ticks |
//! | `ontime_sync_errors_total` | account, source | failed steps (each backs the source off) |
//! | `ontime_sync_leased` | account | 1 while this worker holds the account's lease |
//! | `ontime_sync_deliveries_total` | destination, outcome | deliveries by what became of them in this process: `delivered`, `retried`, `dead` (dead-lettered), `skipped` (the destination's filter excludes the event) |
//! | `ontime_sync_destination_backlog` | destination | deliveries waiting (claimed or not), every process together |
//! | `ontime_sync_destination_oldest_waiting_seconds` | destination | now − when the oldest waiting delivery was queued (0 when none waits) |
//! | `ontime_sync_destination_dead_letters` | destination | dead letters held |
//! | `ontime_sync_destination_disabled` | destination | 1 while the destination is disabled |
//! | `ontime_sync_destination_failing` | destination | 1 while every attempt since the last success failed |
//!
//! The delivery counters are read from the dispatchers' own counters
//! ([`DispatchMetrics`]) each time the series are encoded; the destination gauges come from the
//! store's [`destination_health`](crate::store::outbox::DeliveryStore::destination_health),
//! refreshed by the daemon at a modest cadence (every 15 s by default: one query for all
//! destinations).
//!
//! Calls are counted per source from the account client's call counter ([`ontime::Quota::calls`])
//! around each step (a runner's steps run one at a time per client, so the difference is exactly
//! the step's calls, retries included), and per operation by the client's
//! [`on_call`](ontime::ClientBuilder::on_call) hook ([`Metrics::record_call`]).

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::deliver::dispatch::{DispatchCounts, DispatchMetrics};
use crate::store::outbox::DestinationHealth;

/// Labels: the account.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AccountLabel {
    /// The account's name.
    pub account: String,
}

/// Labels: the account and a source.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabels {
    /// The account's name.
    pub account: String,
    /// `inbound`, `poll`, `reconcile`, `drivers`.
    pub source: String,
}

/// Labels: the account, an OnTime operation and the answer's status class.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    /// The account's name.
    pub account: String,
    /// The spec's operation id (`ordersGet`, `orderStatusChangesGet`, …).
    pub operation: String,
    /// `2xx`, `3xx`, `4xx`, `429`, `5xx`, or `none` when no response came.
    pub status: String,
}

/// Labels: the account and an event type.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TypeLabels {
    /// The account's name.
    pub account: String,
    /// The event type (`order.delivered`, …).
    pub r#type: String,
}

/// Labels: the account and a budget window.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WindowLabels {
    /// The account's name.
    pub account: String,
    /// `daily` or `monthly`.
    pub window: String,
}

/// The outcomes of `ontime_sync_deliveries_total`.
const OUTCOMES: [&str; 4] = ["delivered", "retried", "dead", "skipped"];

/// Labels: a destination.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DestinationLabel {
    /// The destination's name.
    pub destination: String,
}

/// Labels: a destination and a delivery outcome.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// The destination's name.
    pub destination: String,
    /// `delivered`, `retried`, `dead` or `skipped`.
    pub outcome: String,
}

/// A dispatcher's counters and how much of them the series already hold.
#[derive(Debug)]
struct Watched {
    destination: String,
    counters: Arc<DispatchMetrics>,
    seen: DispatchCounts,
}

/// Every series of the daemon (see the [module documentation](self)). Shared (`Arc`) between
/// the runners, which update it, and the HTTP endpoint, which encodes it.
#[derive(Debug)]
pub struct Metrics {
    /// `ontime_sync_calls_total`.
    pub calls: Family<SourceLabels, Counter>,
    /// `ontime_sync_requests_total`.
    pub requests: Family<OperationLabels, Counter>,
    /// `ontime_sync_budget_left`.
    pub budget_left: Family<WindowLabels, Gauge>,
    /// `ontime_sync_events_stored_total`.
    pub events: Family<TypeLabels, Counter>,
    /// `ontime_sync_lag_seconds`.
    pub lag: Family<AccountLabel, Gauge>,
    /// `ontime_sync_ticks_total`.
    pub ticks: Family<AccountLabel, Counter>,
    /// `ontime_sync_errors_total`.
    pub errors: Family<SourceLabels, Counter>,
    /// `ontime_sync_leased`.
    pub leased: Family<AccountLabel, Gauge>,
    /// `ontime_sync_deliveries_total`.
    pub deliveries: Family<OutcomeLabels, Counter>,
    /// `ontime_sync_destination_backlog`.
    pub backlog: Family<DestinationLabel, Gauge>,
    /// `ontime_sync_destination_oldest_waiting_seconds`.
    pub oldest_waiting: Family<DestinationLabel, Gauge>,
    /// `ontime_sync_destination_dead_letters`.
    pub dead_letters: Family<DestinationLabel, Gauge>,
    /// `ontime_sync_destination_disabled`.
    pub disabled: Family<DestinationLabel, Gauge>,
    /// `ontime_sync_destination_failing`.
    pub failing: Family<DestinationLabel, Gauge>,
    watched: Mutex<Vec<Watched>>,
    registry: Mutex<Registry>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Every series, registered, at zero.
    pub fn new() -> Self {
        let calls = Family::<SourceLabels, Counter>::default();
        let requests = Family::<OperationLabels, Counter>::default();
        let budget_left = Family::<WindowLabels, Gauge>::default();
        let events = Family::<TypeLabels, Counter>::default();
        let lag = Family::<AccountLabel, Gauge>::default();
        let ticks = Family::<AccountLabel, Counter>::default();
        let errors = Family::<SourceLabels, Counter>::default();
        let leased = Family::<AccountLabel, Gauge>::default();
        let deliveries = Family::<OutcomeLabels, Counter>::default();
        let backlog = Family::<DestinationLabel, Gauge>::default();
        let oldest_waiting = Family::<DestinationLabel, Gauge>::default();
        let dead_letters = Family::<DestinationLabel, Gauge>::default();
        let disabled = Family::<DestinationLabel, Gauge>::default();
        let failing = Family::<DestinationLabel, Gauge>::default();
        let mut registry = Registry::with_prefix("ontime_sync");
        registry.register("calls", "OnTime calls spent, by source", calls.clone());
        registry.register(
            "requests",
            "OnTime calls, by operation and status class",
            requests.clone(),
        );
        registry.register(
            "budget_left",
            "OnTime calls still ours before the reset",
            budget_left.clone(),
        );
        registry.register(
            "events_stored",
            "Events newly stored, by type",
            events.clone(),
        );
        registry.register(
            "lag_seconds",
            "Now minus the newest stored event's observed time",
            lag.clone(),
        );
        registry.register("ticks", "Runner ticks", ticks.clone());
        registry.register("errors", "Failed source steps", errors.clone());
        registry.register(
            "leased",
            "1 while this worker holds the account's lease",
            leased.clone(),
        );
        registry.register(
            "deliveries",
            "Deliveries by destination and outcome (this process)",
            deliveries.clone(),
        );
        registry.register(
            "destination_backlog",
            "Deliveries waiting for the destination",
            backlog.clone(),
        );
        registry.register(
            "destination_oldest_waiting_seconds",
            "Age of the destination's oldest waiting delivery",
            oldest_waiting.clone(),
        );
        registry.register(
            "destination_dead_letters",
            "Dead letters held for the destination",
            dead_letters.clone(),
        );
        registry.register(
            "destination_disabled",
            "1 while the destination is disabled",
            disabled.clone(),
        );
        registry.register(
            "destination_failing",
            "1 while every attempt since the destination's last success failed",
            failing.clone(),
        );
        Self {
            calls,
            requests,
            budget_left,
            events,
            lag,
            ticks,
            errors,
            leased,
            deliveries,
            backlog,
            oldest_waiting,
            dead_letters,
            disabled,
            failing,
            watched: Mutex::new(Vec::new()),
            registry: Mutex::new(registry),
        }
    }

    /// Counts one OnTime call of `account` (the client's [`on_call`](ontime::ClientBuilder::on_call)
    /// hook).
    pub fn record_call(&self, account: &str, call: &ontime::CallEvent) {
        let status = match call.status {
            None => "none",
            Some(429) => "429",
            Some(200..=299) => "2xx",
            Some(300..=399) => "3xx",
            Some(400..=499) => "4xx",
            Some(_) => "5xx",
        };
        self.requests
            .get_or_create(&OperationLabels {
                account: account.to_owned(),
                operation: call.operation.id().to_owned(),
                status: status.to_owned(),
            })
            .inc();
    }

    /// Exports `counters` (a dispatcher's) as `destination`'s `ontime_sync_deliveries_total`.
    pub fn watch_dispatch(&self, destination: &str, counters: Arc<DispatchMetrics>) {
        for outcome in OUTCOMES {
            self.deliveries
                .get_or_create(&Self::outcome(destination, outcome))
                .inc_by(0);
        }
        let mut watched = self.watched.lock().unwrap_or_else(|p| p.into_inner());
        watched.push(Watched {
            destination: destination.to_owned(),
            counters,
            seen: DispatchCounts::default(),
        });
    }

    /// Brings `ontime_sync_deliveries_total` up to the dispatchers' counters (done by
    /// [`encode`](Self::encode)).
    pub fn sync_deliveries(&self) {
        let mut watched = self.watched.lock().unwrap_or_else(|p| p.into_inner());
        for w in watched.iter_mut() {
            let now = w.counters.counts();
            for (outcome, new, old) in [
                ("delivered", now.delivered, w.seen.delivered),
                ("retried", now.retried, w.seen.retried),
                ("dead", now.dead, w.seen.dead),
                ("skipped", now.skipped, w.seen.skipped),
            ] {
                if new > old {
                    self.deliveries
                        .get_or_create(&Self::outcome(&w.destination, outcome))
                        .inc_by(new - old);
                }
            }
            w.seen = now;
        }
    }

    /// Sets the destination gauges from the store's view at `now`.
    pub fn set_destinations(&self, health: &[DestinationHealth], now: DateTime<Utc>) {
        for h in health {
            let label = DestinationLabel {
                destination: h.destination.clone(),
            };
            let gauge = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
            self.backlog.get_or_create(&label).set(gauge(h.backlog));
            self.dead_letters
                .get_or_create(&label)
                .set(gauge(h.dead_letters));
            let age = h
                .oldest_queued_at
                .map_or(0, |at| (now - at).num_seconds().max(0));
            self.oldest_waiting.get_or_create(&label).set(age);
            self.disabled
                .get_or_create(&label)
                .set(i64::from(h.disabled.is_some()));
            self.failing
                .get_or_create(&label)
                .set(i64::from(h.failing_since.is_some()));
        }
    }

    /// The Prometheus text exposition of every series.
    pub fn encode(&self) -> String {
        self.sync_deliveries();
        let mut text = String::new();
        let registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
        text
    }

    pub(crate) fn source(account: &str, source: &str) -> SourceLabels {
        SourceLabels {
            account: account.to_owned(),
            source: source.to_owned(),
        }
    }

    fn outcome(destination: &str, outcome: &str) -> OutcomeLabels {
        OutcomeLabels {
            destination: destination.to_owned(),
            outcome: outcome.to_owned(),
        }
    }

    pub(crate) fn account(account: &str) -> AccountLabel {
        AccountLabel {
            account: account.to_owned(),
        }
    }
}
