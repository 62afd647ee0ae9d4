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
//!
//! Calls are counted per source from the account client's call counter ([`ontime::Quota::calls`])
//! around each step (a runner's steps run one at a time per client, so the difference is exactly
//! the step's calls, retries included), and per operation by the client's
//! [`on_call`](ontime::ClientBuilder::on_call) hook ([`Metrics::record_call`]).

use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

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
        Self {
            calls,
            requests,
            budget_left,
            events,
            lag,
            ticks,
            errors,
            leased,
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

    /// The Prometheus text exposition of every series.
    pub fn encode(&self) -> String {
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

    pub(crate) fn account(account: &str) -> AccountLabel {
        AccountLabel {
            account: account.to_owned(),
        }
    }
}
