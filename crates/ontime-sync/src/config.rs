//! `sync.toml`: what the sync daemon collects, from which accounts, into which store.
//!
//! ```toml
//! [store]
//! url = "sqlite://events.db"        # or postgres://…; a relative SQLite path is relative to this file
//!
//! [worker]
//! id = "host-1"                     # default: hostname-pid
//! lease_ttl = "30s"                 # default 30s; leases are renewed every lease_ttl/3
//!
//! [http]
//! listen = "127.0.0.1:9464"         # /healthz, /metrics, /inbound/{token}; default 127.0.0.1:9464
//!
//! [[account]]
//! name = "acme"                     # the account's name in events and in the store
//! company = "acme"                  # OnTime company id (default: name); or url = "https://…/sites/acme"
//! api_key_env = "ONTIME_ACME_KEY"   # or api_key_file = "acme.key"; never the key itself
//! time_zone = "Europe/Berlin"
//! plan = { daily = 86400, monthly = 100000, share = 0.8 }
//! sources = ["inbound", "poll", "reconcile", "drivers"]   # default: every one configured
//! poll.levels = ["Dispatched", "Assigned", "AssignedInRoute", "Delivered"]
//! reconcile.batch = 20              # orders checked per batch (default 20)
//! drivers.ids = "all"               # or ["<guid>", …]
//! drivers.position_interval = "5m"
//! inbound.token_env = "ONTIME_ACME_INBOUND"               # or token_file
//! inbound.order_id_fields = ["OrderID"]
//! labels = { "Not home - back door" = "order.exception" }
//!
//! [[webhook]]                       # a Standard Webhooks endpoint (any number of them)
//! name = "erp"                      # the destination's name in the outbox, logs and status
//! url = "https://erp.example.com/hooks/ontime"
//! event_types = ["order.*", "item.custody_changed"]   # default: every type
//! accounts = ["acme"]               # default: every account's events
//! secrets = [                       # whsec_… secrets, from files or the environment only
//!   { env = "ERP_WEBHOOK_SECRET" },                     # the current one (no retire_at)
//!   { file = "erp-old.secret", rotated_at = "2026-12-02T08:00:00Z" },  # signs for rotation_grace more
//! ]                                 # (or retire_at = "…": signs until then)
//! rotation_grace = "24h"            # default 24h
//! timeout = "15s"                   # per request, default 15s
//! retry_schedule = ["5s", "5m", "30m", "2h", "5h", "10h", "10h"]   # waits between attempts (Svix's)
//! jitter = 0.2                      # ±20 % (default); "full" or "none"
//! max_retry_after = "10h"           # the longest Retry-After honoured (default 10h)
//! disable_after = "5d"              # failing this long without a success disables it; or "never"
//! concurrency = 32                  # deliveries in flight (default 32)
//! allow_private = false             # loopback/private/link-local targets (default refused)
//! pseudonym_key_env = "ERP_PSEUDONYM_KEY"   # or pseudonym_key_file: the redaction's HMAC key
//! policy = { position = { round = 3 } }    # the redaction policy (default: no personal data);
//!                                   # see crate::policy for the fields and rules
//! ```
//!
//! Every error names the file, the line and column, and the field as a dotted path:
//! `sync.toml:12:9: account[0].plan.share: must be in (0, 1], got 1.5`. Unknown keys are errors.
//!
//! Secrets (API keys, inbound tokens, webhook secrets) are never written in the file: `api_key`
//! (and a webhook secret's `value`) is refused with a hint. They are read from their file or environment variable when the file is loaded with
//! [`Secrets::Read`] (at the daemon's start), never logged, and shown as `<redacted>` by `Debug`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono_tz::Tz;
use ontime::{StatusLevel, UserId};
use serde::Deserialize;
use toml::Spanned;

use chrono::{DateTime, Utc};
use reqwest::Url;

use crate::collect::inbound::InboundToken;
use crate::collect::{Clock, Plan, ReconcileConfig};
use crate::deliver::dispatch::Dispatcher;
use crate::deliver::dispatch::{
    DEFAULT_CONCURRENCY, DEFAULT_DISABLE_AFTER, DispatchSettings, EventFilter, claim_ttl_for,
};
use crate::deliver::nats::{NatsConfig, NatsError, NatsSink};
use crate::deliver::schedule::{Jitter, RetrySchedule};
use crate::deliver::signature::WebhookSecret;
use crate::deliver::webhook::{
    DEFAULT_ROTATION_GRACE, DEFAULT_TIMEOUT, SigningKey, SigningKeys, WebhookEndpoint,
    WebhookError, WebhookSink, check_target, display_url,
};
use crate::event::LabelOverrides;
use crate::policy::{PolicyError, PseudonymKey, RedactionPolicy, Redactor};
use crate::store::outbox::DeliveryStore;

/// An error in `sync.toml`: where (file, line, column, field) and what.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}:{column}: {field}{}{message}", file.display(), if field.is_empty() { "" } else { ": " })]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// The field as a dotted path (`account[0].plan.share`); empty for a syntax error.
    pub field: String,
    /// What is wrong (never a secret's value).
    pub message: String,
}

/// Whether [`SyncConfig::load`] reads the secrets the file points to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Secrets {
    /// Read API keys and inbound tokens now (the daemon).
    Read,
    /// Leave them unread (`ontime sync status` needs no key).
    Skip,
}

/// A secret read from a file or the environment. `Debug` shows `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The value (to hand to the client; never log it).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Where a secret comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretSource {
    /// A file (absolute, or relative to the config file's folder); its content, trimmed.
    File(PathBuf),
    /// An environment variable.
    Env(String),
}

/// The parsed `sync.toml`.
#[derive(Clone, Debug, PartialEq)]
pub struct SyncConfig {
    /// The file it was read from.
    pub file: PathBuf,
    /// Where events are stored.
    pub store: StoreLocation,
    /// This worker.
    pub worker: WorkerSettings,
    /// The HTTP listener.
    pub http: HttpSettings,
    /// The accounts, in file order.
    pub accounts: Vec<AccountSettings>,
    /// The webhook endpoints, in file order.
    pub webhooks: Vec<WebhookSettings>,
    /// The NATS JetStream destinations (`[[nats]]`), in file order.
    pub nats: Vec<NatsSettings>,
}

impl SyncConfig {
    /// The destinations `account`'s commits queue their events for: every webhook, then
    /// every NATS destination, that applies to it, in file order.
    pub fn destinations_for(&self, account: &str) -> Vec<String> {
        let webhooks = self.webhooks.iter().filter(|w| w.applies_to(account));
        let nats = self.nats.iter().filter(|n| n.applies_to(account));
        webhooks
            .map(|w| w.name.clone())
            .chain(nats.map(|n| n.name.clone()))
            .collect()
    }

    /// Every destination's name, webhooks first, in file order.
    pub fn destination_names(&self) -> Vec<String> {
        let webhooks = self.webhooks.iter().map(|w| w.name.clone());
        webhooks
            .chain(self.nats.iter().map(|n| n.name.clone()))
            .collect()
    }
}

/// `[[nats]]`: one NATS JetStream destination (see [`crate::deliver::nats`] for subjects,
/// stream and duplicate window). Its connection settings are [`NatsConfig`]; the rest is
/// what every destination has.
#[derive(Clone, Debug, PartialEq)]
pub struct NatsSettings {
    /// The destination's name (outbox, logs, status).
    pub name: String,
    /// Server, stream, subjects, timeouts.
    pub nats: NatsConfig,
    /// The event types it receives.
    pub event_types: EventFilter,
    /// The accounts whose events it receives (`None`: all).
    pub accounts: Option<BTreeSet<String>>,
    /// The retry schedule.
    pub schedule: RetrySchedule,
    /// Disabled after failing this long without a success (`None`: never).
    pub disable_after: Option<Duration>,
    /// Deliveries claimed per step (published pipelined).
    pub concurrency: u32,
    /// What of each event it may receive.
    pub policy: RedactionPolicy,
    /// Where its pseudonymisation key comes from, if it has one.
    pub pseudonym_key_source: Option<SecretSource>,
    /// The key, when loaded with [`Secrets::Read`] (its `Debug` is redacted).
    pub pseudonym_key: Option<PseudonymKey>,
}

impl NatsSettings {
    /// Whether `account`'s events go to this destination.
    pub fn applies_to(&self, account: &str) -> bool {
        self.accounts.as_ref().is_none_or(|a| a.contains(account))
    }

    /// The redactor of its messages: its policy with its key.
    pub fn redactor(&self) -> Result<Redactor, DestinationError> {
        Redactor::new(self.policy.clone(), self.pseudonym_key.clone()).map_err(|source| {
            DestinationError::Policy {
                name: self.name.clone(),
                source,
            }
        })
    }

    /// The dispatcher's settings, claimed as `worker` (ordered claims; a claim TTL that
    /// outlasts connecting and waiting for the PubAcks).
    pub fn dispatch_settings(&self, worker: impl Into<String>) -> DispatchSettings {
        DispatchSettings {
            concurrency: self.concurrency,
            ordered: true,
            claim_ttl: claim_ttl_for(self.nats.connect_timeout + self.nats.ack_timeout),
            schedule: self.schedule.clone(),
            disable_after: self.disable_after,
            event_types: self.event_types.clone(),
            accounts: self.accounts.clone(),
            ..DispatchSettings::new(self.name.clone(), worker)
        }
    }

    /// Everything wired: this destination's dispatcher on `store`, claiming as `worker`, its
    /// [`NatsSink`] (connecting on first use), its messages rendered by its redactor.
    pub fn dispatcher<S: DeliveryStore>(
        &self,
        store: S,
        worker: impl Into<String>,
    ) -> Result<Dispatcher<S, NatsSink>, DestinationError> {
        let sink = NatsSink::new(self.nats.clone()).map_err(|source| DestinationError::Nats {
            name: self.name.clone(),
            source,
        })?;
        Ok(Dispatcher::new(
            store,
            sink,
            self.redactor()?,
            self.dispatch_settings(worker),
        ))
    }
}

/// `[[webhook]]`: one Standard Webhooks endpoint.
#[derive(Clone, PartialEq)]
pub struct WebhookSettings {
    /// The destination's name (outbox, logs, status).
    pub name: String,
    /// Where deliveries are posted. `Debug` shows it without query or user info.
    pub url: Url,
    /// The event types it receives.
    pub event_types: EventFilter,
    /// The accounts whose events it receives (`None`: all).
    pub accounts: Option<BTreeSet<String>>,
    /// The secrets, current first as written.
    pub secrets: Vec<WebhookSecretSettings>,
    /// Whether loopback, private and link-local targets are allowed.
    pub allow_private: bool,
    /// The request timeout.
    pub timeout: Duration,
    /// The retry schedule (waits, jitter, `Retry-After` cap).
    pub schedule: RetrySchedule,
    /// Disabled after failing this long without a success (`None`: never).
    pub disable_after: Option<Duration>,
    /// Deliveries in flight.
    pub concurrency: u32,
    /// What of each event it may receive.
    pub policy: RedactionPolicy,
    /// Where its pseudonymisation key comes from, if it has one.
    pub pseudonym_key_source: Option<SecretSource>,
    /// The key, when loaded with [`Secrets::Read`] (its `Debug` is redacted).
    pub pseudonym_key: Option<PseudonymKey>,
}

/// Why a destination's dispatcher could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DestinationError {
    /// The file was loaded with [`Secrets::Skip`]: no secret, no key.
    #[error("destination {0:?}: its secrets were not read (load the config with Secrets::Read)")]
    SecretsNotRead(String),
    /// The webhook sink refused the endpoint.
    #[error("destination {name:?}: {source}")]
    Webhook {
        /// The destination.
        name: String,
        /// Why.
        #[source]
        source: WebhookError,
    },
    /// The NATS sink refused its settings.
    #[error("destination {name:?}: {source}")]
    Nats {
        /// The destination.
        name: String,
        /// Why.
        #[source]
        source: NatsError,
    },
    /// The redaction policy cannot be applied.
    #[error("destination {name:?}: {source}")]
    Policy {
        /// The destination.
        name: String,
        /// Why.
        #[source]
        source: PolicyError,
    },
}

impl fmt::Debug for WebhookSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSettings")
            .field("name", &self.name)
            .field("url", &display_url(&self.url))
            .field("event_types", &self.event_types)
            .field("accounts", &self.accounts)
            .field("secrets", &self.secrets)
            .field("allow_private", &self.allow_private)
            .field("timeout", &self.timeout)
            .field("schedule", &self.schedule)
            .field("disable_after", &self.disable_after)
            .field("concurrency", &self.concurrency)
            .field("policy", &self.policy)
            .field("pseudonym_key_source", &self.pseudonym_key_source)
            .field("pseudonym_key", &self.pseudonym_key)
            .finish()
    }
}

/// One entry of `webhook.secrets`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookSecretSettings {
    /// Where it comes from.
    pub source: SecretSource,
    /// When it stops signing (`retire_at`, or `rotated_at + rotation_grace`); `None`: current.
    pub retire_at: Option<DateTime<Utc>>,
    /// The secret, when loaded with [`Secrets::Read`] (its `Debug` is redacted).
    pub secret: Option<WebhookSecret>,
}

impl WebhookSettings {
    /// Whether `account`'s events go to this endpoint.
    pub fn applies_to(&self, account: &str) -> bool {
        self.accounts.as_ref().is_none_or(|a| a.contains(account))
    }

    /// The sink's view (`None` unless the secrets were read: [`Secrets::Read`]).
    pub fn endpoint(&self) -> Option<WebhookEndpoint> {
        let keys = self
            .secrets
            .iter()
            .map(|s| {
                Some(SigningKey {
                    secret: s.secret.clone()?,
                    retire_at: s.retire_at,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(WebhookEndpoint {
            url: self.url.clone(),
            keys: SigningKeys::new(keys).ok()?,
            timeout: self.timeout,
            allow_private: self.allow_private,
        })
    }

    /// The sink, on `clock` ([`WebhookError::NoCurrentSecret`] when the secrets were not read).
    pub fn sink<C: Clock>(&self, clock: C) -> Result<WebhookSink<C>, WebhookError> {
        let endpoint = self.endpoint().ok_or(WebhookError::NoCurrentSecret)?;
        WebhookSink::new(endpoint, clock)
    }

    /// The redactor of its bodies: its policy with its key (loaded with [`Secrets::Read`]
    /// when the policy needs the key).
    pub fn redactor(&self) -> Result<Redactor, DestinationError> {
        Redactor::new(self.policy.clone(), self.pseudonym_key.clone()).map_err(|source| {
            DestinationError::Policy {
                name: self.name.clone(),
                source,
            }
        })
    }

    /// Everything wired: this endpoint's dispatcher on `store`, claiming as `worker`, its sink
    /// on `clock`, its bodies rendered by its [`redactor`](Self::redactor).
    pub fn dispatcher<S: DeliveryStore, C: Clock>(
        &self,
        store: S,
        clock: C,
        worker: impl Into<String>,
    ) -> Result<Dispatcher<S, WebhookSink<C>>, DestinationError> {
        let endpoint = self
            .endpoint()
            .ok_or_else(|| DestinationError::SecretsNotRead(self.name.clone()))?;
        let sink =
            WebhookSink::new(endpoint, clock).map_err(|source| DestinationError::Webhook {
                name: self.name.clone(),
                source,
            })?;
        Ok(Dispatcher::new(
            store,
            sink,
            self.redactor()?,
            self.dispatch_settings(worker),
        ))
    }

    /// The dispatcher's settings for this endpoint, claimed as `worker` (ordered claims; a
    /// claim TTL that outlasts the timeout).
    pub fn dispatch_settings(&self, worker: impl Into<String>) -> DispatchSettings {
        DispatchSettings {
            concurrency: self.concurrency,
            ordered: true,
            claim_ttl: claim_ttl_for(self.timeout),
            schedule: self.schedule.clone(),
            disable_after: self.disable_after,
            event_types: self.event_types.clone(),
            accounts: self.accounts.clone(),
            ..DispatchSettings::new(self.name.clone(), worker)
        }
    }
}

/// The store's location: a SQLite path or a Postgres URL. `Debug` hides a URL's password.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreLocation(String);

impl StoreLocation {
    /// What [`Store::open`](crate::store::Store::open) takes.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.contains("://") {
            let scheme = self.0.split("://").next().unwrap_or_default();
            write!(f, "StoreLocation({scheme}://<redacted>)")
        } else {
            write!(f, "StoreLocation({:?})", self.0)
        }
    }
}

/// `[worker]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerSettings {
    /// The worker's name in leases (default: `hostname-pid`).
    pub id: String,
    /// How long a lease lasts without renewal (default 30 s).
    pub lease_ttl: Duration,
}

/// `[http]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpSettings {
    /// The address to listen on (default `127.0.0.1:9464`; port 0 picks one).
    pub listen: SocketAddr,
}

/// A source of events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// Workflow notifications, drained from the store-backed queue.
    Inbound,
    /// Finder ID sets per status level, diffed.
    Poll,
    /// The slow reconcile: re-reads known orders a batch at a time.
    Reconcile,
    /// Driver availability and positions.
    Drivers,
}

impl SourceKind {
    /// Every source, in the order a tick runs them.
    pub const ALL: [SourceKind; 4] = [Self::Inbound, Self::Poll, Self::Reconcile, Self::Drivers];

    /// The name used in the file, metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inbound => "inbound",
            Self::Poll => "poll",
            Self::Reconcile => "reconcile",
            Self::Drivers => "drivers",
        }
    }
}

/// Which drivers are watched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DriverIds {
    /// Every user the account lists (`"all"`; looked up once, one call, when the source starts).
    /// OnTime's user finder cannot filter drivers: each user costs its round's calls (a user
    /// without availability records answers "not found" and yields nothing). List the drivers
    /// on larger accounts.
    All,
    /// These.
    List(Vec<UserId>),
}

/// `[[account]]`.
#[derive(Clone, Debug, PartialEq)]
pub struct AccountSettings {
    /// The account's name (events, store, metrics).
    pub name: String,
    /// OnTime company id (used when `url` is not given).
    pub company: String,
    /// The base URL, when not the company's default (e.g. the simulator).
    pub url: Option<String>,
    /// Where the API key comes from.
    pub api_key_source: SecretSource,
    /// The key, when loaded with [`Secrets::Read`].
    pub api_key: Option<Secret>,
    /// The account's time zone.
    pub time_zone: Tz,
    /// The budget.
    pub plan: Plan,
    /// The sources to run.
    pub sources: BTreeSet<SourceKind>,
    /// Levels the poll watches.
    pub poll_levels: Vec<StatusLevel>,
    /// Orders the reconcile re-reads per round.
    pub reconcile_batch: u32,
    /// Drivers watched.
    pub drivers: DriverIds,
    /// Least time between two position windows of a driver.
    pub position_interval: Duration,
    /// The inbound endpoint, when configured.
    pub inbound: Option<InboundSettings>,
    /// Label → event type overrides.
    pub labels: LabelOverrides,
}

/// `account.inbound`.
#[derive(Clone, Debug, PartialEq)]
pub struct InboundSettings {
    /// Where the token comes from.
    pub token_source: SecretSource,
    /// The token, when loaded with [`Secrets::Read`].
    pub token: Option<InboundToken>,
    /// Field names holding the order ID (default: the inbound source's).
    pub order_id_fields: Option<Vec<String>>,
    /// Field names holding the tracking number.
    pub tracking_number_fields: Option<Vec<String>>,
}

// ---- the file as written --------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    store: RawStore,
    #[serde(default)]
    worker: RawWorker,
    #[serde(default)]
    http: RawHttp,
    #[serde(default)]
    account: Vec<Spanned<RawAccount>>,
    #[serde(default)]
    webhook: Vec<Spanned<RawWebhook>>,
    #[serde(default)]
    nats: Vec<Spanned<RawNats>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNats {
    name: Spanned<String>,
    url: Spanned<String>,
    stream: Spanned<String>,
    subject_prefix: Option<Spanned<String>>,
    duplicate_window: Option<Spanned<String>>,
    max_age: Option<Spanned<String>>,
    credentials_file: Option<Spanned<String>>,
    connect_timeout: Option<Spanned<String>>,
    ack_timeout: Option<Spanned<String>>,
    event_types: Option<Vec<Spanned<String>>>,
    accounts: Option<Vec<Spanned<String>>>,
    retry_schedule: Option<Spanned<Vec<Spanned<String>>>>,
    jitter: Option<Spanned<toml::Value>>,
    max_retry_after: Option<Spanned<String>>,
    disable_after: Option<Spanned<String>>,
    concurrency: Option<Spanned<u32>>,
    policy: Option<Spanned<RedactionPolicy>>,
    pseudonym_key_file: Option<Spanned<String>>,
    pseudonym_key_env: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebhook {
    name: Spanned<String>,
    url: Spanned<String>,
    event_types: Option<Vec<Spanned<String>>>,
    accounts: Option<Vec<Spanned<String>>>,
    secrets: Option<Spanned<Vec<Spanned<RawWebhookSecret>>>>,
    secret: Option<Spanned<toml::Value>>,
    rotation_grace: Option<Spanned<String>>,
    allow_private: Option<bool>,
    timeout: Option<Spanned<String>>,
    retry_schedule: Option<Spanned<Vec<Spanned<String>>>>,
    jitter: Option<Spanned<toml::Value>>,
    max_retry_after: Option<Spanned<String>>,
    disable_after: Option<Spanned<String>>,
    concurrency: Option<Spanned<u32>>,
    policy: Option<Spanned<RedactionPolicy>>,
    pseudonym_key_file: Option<Spanned<String>>,
    pseudonym_key_env: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebhookSecret {
    file: Option<Spanned<String>>,
    env: Option<Spanned<String>>,
    value: Option<Spanned<toml::Value>>,
    retire_at: Option<Spanned<String>>,
    rotated_at: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    url: Spanned<String>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorker {
    id: Option<Spanned<String>>,
    lease_ttl: Option<Spanned<String>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    listen: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccount {
    name: Spanned<String>,
    company: Option<String>,
    url: Option<Spanned<String>>,
    api_key: Option<Spanned<toml::Value>>,
    api_key_file: Option<Spanned<String>>,
    api_key_env: Option<Spanned<String>>,
    time_zone: Spanned<String>,
    plan: RawPlan,
    sources: Option<Vec<SourceKind>>,
    #[serde(default)]
    poll: RawPoll,
    #[serde(default)]
    reconcile: RawReconcile,
    #[serde(default)]
    drivers: RawDrivers,
    inbound: Option<Spanned<RawInbound>>,
    #[serde(default)]
    labels: LabelOverrides,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlan {
    daily: Spanned<u64>,
    monthly: Option<Spanned<u64>>,
    share: Option<Spanned<f64>>,
    burst: Option<Spanned<u64>>,
    min_poll_interval: Option<Spanned<String>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPoll {
    levels: Option<Vec<Spanned<String>>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReconcile {
    batch: Option<Spanned<u32>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDrivers {
    ids: Option<Spanned<toml::Value>>,
    position_interval: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInbound {
    token_file: Option<Spanned<String>>,
    token_env: Option<Spanned<String>>,
    order_id_fields: Option<Vec<String>>,
    tracking_number_fields: Option<Vec<String>>,
}

// ---- loading ----------------------------------------------------------------------------------

/// The default lease TTL.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(30);
/// The default HTTP listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9464";

impl SyncConfig {
    /// Reads and checks `path` (see the [module documentation](self)).
    pub fn load(path: &Path, secrets: Secrets) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_owned(),
            line: 0,
            column: 0,
            field: String::new(),
            message: format!("cannot read the file: {e}"),
        })?;
        Self::parse(path, &text, secrets, &|name| std::env::var(name).ok())
    }

    /// Checks `text` as the content of `path`; `env` looks environment variables up.
    pub fn parse(
        path: &Path,
        text: &str,
        secrets: Secrets,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let cx = Cx {
            file: path,
            text,
            dir: path.parent().unwrap_or(Path::new("")),
            secrets,
            env,
        };
        let deserializer =
            toml::Deserializer::parse(text).map_err(|e| cx.toml(e, String::new()))?;
        let raw: RawFile = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            // `Spanned` fields show up as a private segment of the path: drop it.
            let field = e
                .path()
                .to_string()
                .replace(".$__serde_spanned_private_value", "")
                .replace("$__serde_spanned_private_value.", "")
                .replace("$__serde_spanned_private_value", "");
            let field = if field == "." { String::new() } else { field };
            cx.toml(e.into_inner(), field)
        })?;
        cx.build(raw)
    }
}

/// A secret read, with where its source is named in the file (for errors about its value).
struct ReadSecret {
    value: Secret,
    span: Range<usize>,
    field: String,
}

struct Cx<'a> {
    file: &'a Path,
    text: &'a str,
    dir: &'a Path,
    secrets: Secrets,
    env: &'a dyn Fn(&str) -> Option<String>,
}

impl Cx<'_> {
    fn at(
        &self,
        span: Range<usize>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> ConfigError {
        let start = span.start.min(self.text.len());
        let before = &self.text[..start];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        ConfigError {
            file: self.file.to_owned(),
            line,
            column,
            field: field.into(),
            message: message.into(),
        }
    }

    fn toml(&self, error: toml::de::Error, field: String) -> ConfigError {
        let span = error.span().unwrap_or(0..0);
        self.at(span, field, error.message().trim().to_owned())
    }

    fn build(&self, raw: RawFile) -> Result<SyncConfig, ConfigError> {
        let store = self.store(&raw.store)?;
        let worker = WorkerSettings {
            id: match &raw.worker.id {
                Some(id) if id.get_ref().trim().is_empty() => {
                    return Err(self.at(id.span(), "worker.id", "must not be empty"));
                }
                Some(id) => id.get_ref().trim().to_owned(),
                None => format!(
                    "{}-{}",
                    gethostname::gethostname().to_string_lossy(),
                    std::process::id()
                ),
            },
            lease_ttl: match &raw.worker.lease_ttl {
                Some(ttl) => {
                    let ttl_value = self.duration(ttl, "worker.lease_ttl")?;
                    if ttl_value < Duration::from_secs(3) {
                        return Err(self.at(ttl.span(), "worker.lease_ttl", "must be at least 3s"));
                    }
                    ttl_value
                }
                None => DEFAULT_LEASE_TTL,
            },
        };
        let listen = match &raw.http.listen {
            Some(listen) => listen.get_ref().parse().map_err(|_| {
                self.at(
                    listen.span(),
                    "http.listen",
                    format!("not a socket address (ip:port): {:?}", listen.get_ref()),
                )
            })?,
            None => DEFAULT_LISTEN.parse().expect("valid default address"),
        };
        let mut accounts = Vec::new();
        let mut names: BTreeMap<String, usize> = BTreeMap::new();
        for (index, account) in raw.account.iter().enumerate() {
            let field = format!("account[{index}]");
            let name = &account.get_ref().name;
            if let Some(first) = names.insert(name.get_ref().clone(), index) {
                return Err(self.at(
                    name.span(),
                    format!("{field}.name"),
                    format!(
                        "duplicate account name {:?} (also account[{first}])",
                        name.get_ref()
                    ),
                ));
            }
            let settings = self.account(account, &field)?;
            // One token, one account: the endpoint finds the account by its token.
            let token = settings.inbound.as_ref().and_then(|i| i.token.as_ref());
            if let Some(token) = token {
                let earlier = accounts.iter().position(|a: &AccountSettings| {
                    a.inbound.as_ref().and_then(|i| i.token.as_ref()) == Some(token)
                });
                if let Some(first) = earlier {
                    let span = account
                        .get_ref()
                        .inbound
                        .as_ref()
                        .map_or(0..0, |i| i.span());
                    return Err(self.at(
                        span,
                        format!("{field}.inbound"),
                        format!(
                            "the same inbound token as account[{first}]: give each account its own"
                        ),
                    ));
                }
            }
            accounts.push(settings);
        }
        if accounts.is_empty() {
            return Err(self.at(0..0, "account", "no [[account]] configured"));
        }
        let mut webhooks: Vec<WebhookSettings> = Vec::new();
        for (index, webhook) in raw.webhook.iter().enumerate() {
            let field = format!("webhook[{index}]");
            let settings = self.webhook(webhook, &field, &accounts)?;
            if let Some(first) = webhooks.iter().position(|w| w.name == settings.name) {
                return Err(self.at(
                    webhook.get_ref().name.span(),
                    format!("{field}.name"),
                    format!(
                        "duplicate webhook name {:?} (also webhook[{first}])",
                        settings.name
                    ),
                ));
            }
            webhooks.push(settings);
        }
        let mut nats: Vec<NatsSettings> = Vec::new();
        for (index, entry) in raw.nats.iter().enumerate() {
            let field = format!("nats[{index}]");
            let settings = self.nats(entry, &field, &accounts)?;
            let earlier = webhooks
                .iter()
                .position(|w| w.name == settings.name)
                .map(|i| format!("webhook[{i}]"))
                .or_else(|| {
                    nats.iter()
                        .position(|n| n.name == settings.name)
                        .map(|i| format!("nats[{i}]"))
                });
            if let Some(first) = earlier {
                return Err(self.at(
                    entry.get_ref().name.span(),
                    format!("{field}.name"),
                    format!(
                        "duplicate destination name {:?} (also {first})",
                        settings.name
                    ),
                ));
            }
            nats.push(settings);
        }
        Ok(SyncConfig {
            file: self.file.to_owned(),
            store,
            worker,
            http: HttpSettings { listen },
            accounts,
            webhooks,
            nats,
        })
    }

    /// `event_types` of a destination (every type when absent).
    fn event_filter(
        &self,
        raw: &Option<Vec<Spanned<String>>>,
        field: &str,
        span: Range<usize>,
    ) -> Result<EventFilter, ConfigError> {
        let Some(patterns) = raw else {
            return Ok(EventFilter::all());
        };
        for (i, pattern) in patterns.iter().enumerate() {
            EventFilter::parse(&[pattern.get_ref()]).map_err(|e| {
                self.at(
                    pattern.span(),
                    format!("{field}.event_types[{i}]"),
                    e.to_string(),
                )
            })?;
        }
        let patterns: Vec<&String> = patterns.iter().map(|p| p.get_ref()).collect();
        EventFilter::parse(&patterns)
            .map_err(|e| self.at(span, format!("{field}.event_types"), e.to_string()))
    }

    /// `accounts` of a destination: names of configured accounts (all when absent).
    fn account_set(
        &self,
        raw: &Option<Vec<Spanned<String>>>,
        field: &str,
        accounts: &[AccountSettings],
    ) -> Result<Option<BTreeSet<String>>, ConfigError> {
        let Some(list) = raw else {
            return Ok(None);
        };
        let mut set = BTreeSet::new();
        for (i, account) in list.iter().enumerate() {
            let name = account.get_ref().trim();
            if !accounts.iter().any(|a| a.name == name) {
                return Err(self.at(
                    account.span(),
                    format!("{field}.accounts[{i}]"),
                    format!("no [[account]] is named {name:?}"),
                ));
            }
            set.insert(name.to_owned());
        }
        Ok(Some(set))
    }

    /// `concurrency` of a destination (1 to 1024).
    fn concurrency(&self, raw: &Option<Spanned<u32>>, field: &str) -> Result<u32, ConfigError> {
        match raw {
            Some(c) if !(1..=1024).contains(c.get_ref()) => Err(self.at(
                c.span(),
                format!("{field}.concurrency"),
                "must be between 1 and 1024",
            )),
            Some(c) => Ok(*c.get_ref()),
            None => Ok(DEFAULT_CONCURRENCY),
        }
    }

    /// `disable_after` of a destination (a duration or `"never"`).
    fn disable_after(
        &self,
        raw: &Option<Spanned<String>>,
        field: &str,
    ) -> Result<Option<Duration>, ConfigError> {
        let at = format!("{field}.disable_after");
        match raw {
            Some(d) if d.get_ref().trim() == "never" => Ok(None),
            Some(d) => {
                let value = self.duration(d, &at)?;
                if value.is_zero() {
                    return Err(self.at(d.span(), at, "must be more than 0s (or \"never\")"));
                }
                Ok(Some(value))
            }
            None => Ok(Some(DEFAULT_DISABLE_AFTER)),
        }
    }

    /// `retry_schedule`, `jitter` and `max_retry_after` of a destination.
    fn schedule(
        &self,
        retry_schedule: &Option<Spanned<Vec<Spanned<String>>>>,
        jitter: &Option<Spanned<toml::Value>>,
        max_retry_after: &Option<Spanned<String>>,
        field: &str,
    ) -> Result<RetrySchedule, ConfigError> {
        let f = |name: &str| format!("{field}.{name}");
        let mut schedule = match retry_schedule {
            None => RetrySchedule::default(),
            Some(list) => {
                let waits = list
                    .get_ref()
                    .iter()
                    .enumerate()
                    .map(|(i, wait)| {
                        let at = format!("{field}.retry_schedule[{i}]");
                        let value = self.duration(wait, &at)?;
                        RetrySchedule::new(vec![value])
                            .map_err(|_| {
                                self.at(wait.span(), &at, "must be more than 0s and at most a year")
                            })
                            .map(|_| value)
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                RetrySchedule::new(waits)
                    .map_err(|e| self.at(list.span(), f("retry_schedule"), e.to_string()))?
            }
        };
        if let Some(jitter) = jitter {
            let bad = || {
                self.at(
                    jitter.span(),
                    f("jitter"),
                    "expected \"full\", \"none\" or a fraction in [0, 1] like 0.2",
                )
            };
            schedule = schedule.with_jitter(match jitter.get_ref() {
                toml::Value::String(s) if s == "full" => Jitter::Full,
                toml::Value::String(s) if s == "none" => Jitter::None,
                toml::Value::Float(x) if (0.0..=1.0).contains(x) => Jitter::Proportional(*x),
                toml::Value::Integer(x) if (0..=1).contains(x) => Jitter::Proportional(*x as f64),
                _ => return Err(bad()),
            });
        }
        if let Some(cap) = max_retry_after {
            schedule = schedule.with_max_retry_after(self.duration(cap, &f("max_retry_after"))?);
        }
        Ok(schedule)
    }

    /// `policy` and its pseudonymisation key (`pseudonym_key_file` / `_env`) of a destination;
    /// a policy that pseudonymises needs the key.
    #[allow(clippy::type_complexity)]
    fn policy_and_key(
        &self,
        policy: &Option<Spanned<RedactionPolicy>>,
        (file, env): (&Option<Spanned<String>>, &Option<Spanned<String>>),
        field: &str,
        span: Range<usize>,
    ) -> Result<(RedactionPolicy, Option<SecretSource>, Option<PseudonymKey>), ConfigError> {
        let raw_policy = policy;
        let policy = raw_policy
            .as_ref()
            .map_or_else(RedactionPolicy::default, |p| p.get_ref().clone());
        let (source, key) = match (file, env) {
            (None, None) => (None, None),
            (file, env) => {
                let (source, read) = self.secret(
                    file,
                    env,
                    field,
                    "pseudonymisation key",
                    span.clone(),
                    ("pseudonym_key_file", "pseudonym_key_env"),
                )?;
                let key = match read {
                    Some(read) => Some(
                        PseudonymKey::from_text(read.value.expose())
                            .map_err(|e| self.at(read.span, read.field, e.to_string()))?,
                    ),
                    None => None,
                };
                (Some(source), key)
            }
        };
        // Pseudonymising needs a key: checked whether or not the key was read now.
        if source.is_none()
            && let Err(e) = Redactor::new(policy.clone(), None)
        {
            let span = raw_policy.as_ref().map_or(span, |p| p.span());
            return Err(self.at(span, format!("{field}.policy"), e.to_string()));
        }
        Ok((policy, source, key))
    }

    fn nats(
        &self,
        spanned: &Spanned<RawNats>,
        field: &str,
        accounts: &[AccountSettings],
    ) -> Result<NatsSettings, ConfigError> {
        let raw = spanned.get_ref();
        let f = |name: &str| format!("{field}.{name}");
        let name = raw.name.get_ref().trim().to_owned();
        if name.is_empty() {
            return Err(self.at(raw.name.span(), f("name"), "must not be empty"));
        }
        let mut nats = NatsConfig::new(raw.url.get_ref().trim(), raw.stream.get_ref().trim());
        if let Some(prefix) = &raw.subject_prefix {
            nats.subject_prefix = prefix.get_ref().trim().to_owned();
        }
        for (value, slot, key) in [
            (
                &raw.duplicate_window,
                &mut nats.duplicate_window,
                "duplicate_window",
            ),
            (
                &raw.connect_timeout,
                &mut nats.connect_timeout,
                "connect_timeout",
            ),
            (&raw.ack_timeout, &mut nats.ack_timeout, "ack_timeout"),
        ] {
            if let Some(value) = value {
                *slot = self.duration(value, &f(key))?;
            }
        }
        if let Some(age) = &raw.max_age {
            nats.max_age = Some(self.duration(age, &f("max_age"))?);
        }
        nats.credentials_file = raw
            .credentials_file
            .as_ref()
            .map(|p| self.dir.join(p.get_ref().trim()));
        if let Err(NatsError::Config {
            field: key,
            message,
        }) = nats.validate()
        {
            let span = match key {
                "url" => raw.url.span(),
                "stream" => raw.stream.span(),
                _ => spanned.span(),
            };
            return Err(self.at(span, f(key), message));
        }
        let (policy, pseudonym_key_source, pseudonym_key) = self.policy_and_key(
            &raw.policy,
            (&raw.pseudonym_key_file, &raw.pseudonym_key_env),
            field,
            spanned.span(),
        )?;
        Ok(NatsSettings {
            name,
            nats,
            event_types: self.event_filter(&raw.event_types, field, spanned.span())?,
            accounts: self.account_set(&raw.accounts, field, accounts)?,
            schedule: self.schedule(
                &raw.retry_schedule,
                &raw.jitter,
                &raw.max_retry_after,
                field,
            )?,
            disable_after: self.disable_after(&raw.disable_after, field)?,
            concurrency: self.concurrency(&raw.concurrency, field)?,
            policy,
            pseudonym_key_source,
            pseudonym_key,
        })
    }

    fn webhook(
        &self,
        spanned: &Spanned<RawWebhook>,
        field: &str,
        accounts: &[AccountSettings],
    ) -> Result<WebhookSettings, ConfigError> {
        let raw = spanned.get_ref();
        let f = |name: &str| format!("{field}.{name}");
        let name = raw.name.get_ref().trim().to_owned();
        if name.is_empty() {
            return Err(self.at(raw.name.span(), f("name"), "must not be empty"));
        }
        let allow_private = raw.allow_private.unwrap_or(false);
        let url: Url = raw
            .url
            .get_ref()
            .trim()
            .parse()
            .map_err(|e| self.at(raw.url.span(), f("url"), format!("not a URL: {e}")))?;
        check_target(&url, allow_private)
            .map_err(|e| self.at(raw.url.span(), f("url"), e.to_string()))?;
        let event_types = self.event_filter(&raw.event_types, field, spanned.span())?;
        let wanted_accounts = self.account_set(&raw.accounts, field, accounts)?;
        if let Some(secret) = &raw.secret {
            return Err(self.at(
                secret.span(),
                f("secret"),
                "a webhook secret is never written in the file: list it in secrets = [{ env = \"…\" }] or [{ file = \"…\" }]",
            ));
        }
        let rotation_grace = match &raw.rotation_grace {
            Some(grace) => self.duration(grace, &f("rotation_grace"))?,
            None => DEFAULT_ROTATION_GRACE,
        };
        let Some(secrets) = raw.secrets.as_ref().filter(|s| !s.get_ref().is_empty()) else {
            let span = raw.secrets.as_ref().map_or(spanned.span(), |s| s.span());
            return Err(self.at(
                span,
                f("secrets"),
                "no secret: list at least one, e.g. secrets = [{ env = \"ERP_WEBHOOK_SECRET\" }]",
            ));
        };
        let secrets = secrets
            .get_ref()
            .iter()
            .enumerate()
            .map(|(i, entry)| {
                self.webhook_secret(entry, &format!("{field}.secrets[{i}]"), rotation_grace)
            })
            .collect::<Result<Vec<_>, _>>()?;
        if secrets.iter().all(|s| s.retire_at.is_some()) {
            return Err(self.at(
                raw.secrets.as_ref().map_or(0..0, |s| s.span()),
                f("secrets"),
                "every secret retires: the current one has neither retire_at nor rotated_at",
            ));
        }
        let timeout = match &raw.timeout {
            Some(t) => {
                let value = self.duration(t, &f("timeout"))?;
                if !(Duration::from_secs(1)..=Duration::from_secs(300)).contains(&value) {
                    return Err(self.at(t.span(), f("timeout"), "must be between 1s and 5m"));
                }
                value
            }
            None => DEFAULT_TIMEOUT,
        };
        let schedule = self.schedule(
            &raw.retry_schedule,
            &raw.jitter,
            &raw.max_retry_after,
            field,
        )?;
        let disable_after = self.disable_after(&raw.disable_after, field)?;
        let concurrency = self.concurrency(&raw.concurrency, field)?;
        let (policy, pseudonym_key_source, pseudonym_key) = self.policy_and_key(
            &raw.policy,
            (&raw.pseudonym_key_file, &raw.pseudonym_key_env),
            field,
            spanned.span(),
        )?;
        Ok(WebhookSettings {
            name,
            url,
            event_types,
            accounts: wanted_accounts,
            secrets,
            allow_private,
            timeout,
            schedule,
            disable_after,
            concurrency,
            policy,
            pseudonym_key_source,
            pseudonym_key,
        })
    }

    fn webhook_secret(
        &self,
        entry: &Spanned<RawWebhookSecret>,
        field: &str,
        grace: Duration,
    ) -> Result<WebhookSecretSettings, ConfigError> {
        let raw = entry.get_ref();
        if let Some(value) = &raw.value {
            return Err(self.at(
                value.span(),
                format!("{field}.value"),
                "a webhook secret is never written in the file: put it in a file (file) or an environment variable (env)",
            ));
        }
        let instant = |at: &Spanned<String>, key: &str| {
            DateTime::parse_from_rfc3339(at.get_ref().trim())
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| {
                    self.at(
                        at.span(),
                        format!("{field}.{key}"),
                        format!("not an RFC 3339 instant like \"2026-12-02T08:00:00Z\": {e}"),
                    )
                })
        };
        let retire_at = match (&raw.retire_at, &raw.rotated_at) {
            (Some(_), Some(rotated)) => {
                return Err(self.at(
                    rotated.span(),
                    format!("{field}.rotated_at"),
                    "give either retire_at or rotated_at, not both",
                ));
            }
            (Some(at), None) => Some(instant(at, "retire_at")?),
            (None, Some(at)) => Some(
                instant(at, "rotated_at")?
                    + chrono::TimeDelta::from_std(grace).unwrap_or(chrono::TimeDelta::MAX),
            ),
            (None, None) => None,
        };
        let (source, read) = self.secret(
            &raw.file,
            &raw.env,
            field,
            "webhook secret",
            entry.span(),
            ("file", "env"),
        )?;
        let secret = match read {
            Some(read) => Some(
                WebhookSecret::parse(read.value.expose())
                    .map_err(|e| self.at(read.span, read.field, e.to_string()))?,
            ),
            None => None,
        };
        Ok(WebhookSecretSettings {
            source,
            retire_at,
            secret,
        })
    }

    fn store(&self, raw: &RawStore) -> Result<StoreLocation, ConfigError> {
        let url = raw.url.get_ref().trim();
        let bad = |message: &str| self.at(raw.url.span(), "store.url", message);
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(StoreLocation(url.to_owned()));
        }
        let path = if let Some(rest) = url.strip_prefix("sqlite://") {
            rest
        } else if let Some(rest) = url.strip_prefix("sqlite:") {
            rest
        } else if url.contains("://") {
            return Err(bad("expected sqlite://PATH or postgres://…"));
        } else {
            url
        };
        let (path, query) = match path.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (path, None),
        };
        if path.is_empty() {
            return Err(bad("the SQLite path is empty"));
        }
        let path = self.dir.join(path);
        let path = path.to_string_lossy().into_owned();
        Ok(StoreLocation(match query {
            Some(query) => format!("sqlite://{path}?{query}"),
            None => path,
        }))
    }

    fn duration(&self, raw: &Spanned<String>, field: &str) -> Result<Duration, ConfigError> {
        humantime::parse_duration(raw.get_ref().trim()).map_err(|e| {
            self.at(
                raw.span(),
                field,
                format!("not a duration like \"90s\", \"5m\" or \"1h\": {e}"),
            )
        })
    }

    fn secret(
        &self,
        file: &Option<Spanned<String>>,
        env: &Option<Spanned<String>>,
        field: &str,
        what: &str,
        span: Range<usize>,
        (file_key, env_key): (&str, &str),
    ) -> Result<(SecretSource, Option<ReadSecret>), ConfigError> {
        let (source, at, key) = match (file, env) {
            (Some(_), Some(env)) => {
                return Err(self.at(
                    env.span(),
                    format!("{field}.{env_key}"),
                    format!("give either {file_key} or {env_key}, not both"),
                ));
            }
            (Some(file), None) => (
                SecretSource::File(self.dir.join(file.get_ref())),
                file.span(),
                file_key,
            ),
            (None, Some(env)) => (
                SecretSource::Env(env.get_ref().clone()),
                env.span(),
                env_key,
            ),
            (None, None) => {
                return Err(self.at(
                    span,
                    field,
                    format!("no {what}: set {file_key} (a file holding it) or {env_key} (an environment variable)"),
                ));
            }
        };
        if self.secrets == Secrets::Skip {
            return Ok((source, None));
        }
        let field = format!("{field}.{key}");
        let value = match &source {
            SecretSource::File(path) => std::fs::read_to_string(path).map_err(|e| {
                self.at(
                    at.clone(),
                    &field,
                    format!("cannot read {}: {e}", path.display()),
                )
            })?,
            SecretSource::Env(name) => (self.env)(name).ok_or_else(|| {
                self.at(
                    at.clone(),
                    &field,
                    format!("environment variable {name} is not set"),
                )
            })?,
        };
        let value = value.trim().to_owned();
        if value.is_empty() {
            return Err(self.at(at, &field, format!("the {what} is empty")));
        }
        Ok((
            source,
            Some(ReadSecret {
                value: Secret(value),
                span: at,
                field,
            }),
        ))
    }

    fn account(
        &self,
        spanned: &Spanned<RawAccount>,
        field: &str,
    ) -> Result<AccountSettings, ConfigError> {
        let raw = spanned.get_ref();
        let f = |name: &str| format!("{field}.{name}");
        if let Some(key) = &raw.api_key {
            return Err(self.at(
                key.span(),
                f("api_key"),
                "an API key is never written in the file: put it in a file (api_key_file) or an environment variable (api_key_env)",
            ));
        }
        let name = raw.name.get_ref().trim().to_owned();
        if name.is_empty() {
            return Err(self.at(raw.name.span(), f("name"), "must not be empty"));
        }
        let (api_key_source, key) = self.secret(
            &raw.api_key_file,
            &raw.api_key_env,
            field,
            "API key",
            spanned.span(),
            ("api_key_file", "api_key_env"),
        )?;
        if let Some(url) = &raw.url {
            let text = url.get_ref();
            if !(text.starts_with("http://") || text.starts_with("https://")) {
                return Err(self.at(
                    url.span(),
                    f("url"),
                    format!("not an http(s) URL: {text:?}"),
                ));
            }
        }
        let time_zone: Tz = raw.time_zone.get_ref().trim().parse().map_err(|_| {
            self.at(
                raw.time_zone.span(),
                f("time_zone"),
                format!(
                    "unknown time zone {:?} (an IANA name like \"Europe/Berlin\")",
                    raw.time_zone.get_ref()
                ),
            )
        })?;
        let plan = self.plan(&raw.plan, &f("plan"))?;
        let sources: BTreeSet<SourceKind> = match &raw.sources {
            Some(list) if list.is_empty() => {
                return Err(self.at(
                    spanned.span(),
                    f("sources"),
                    "no source: name at least one of inbound, poll, reconcile, drivers",
                ));
            }
            Some(list) => list.iter().copied().collect(),
            None => SourceKind::ALL
                .into_iter()
                .filter(|s| *s != SourceKind::Inbound || raw.inbound.is_some())
                .collect(),
        };
        if sources.contains(&SourceKind::Inbound) && raw.inbound.is_none() {
            return Err(self.at(
                spanned.span(),
                f("sources"),
                "the inbound source needs an inbound table (inbound.token_env or inbound.token_file)",
            ));
        }
        let poll_levels = match &raw.poll.levels {
            Some(levels) => levels
                .iter()
                .enumerate()
                .map(|(i, level)| {
                    status_level(level.get_ref()).ok_or_else(|| {
                        self.at(
                            level.span(),
                            format!("{field}.poll.levels[{i}]"),
                            format!("unknown status level {:?}", level.get_ref()),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
            None => crate::collect::PollConfig::default().levels,
        };
        let reconcile_batch = match &raw.reconcile.batch {
            Some(b) if *b.get_ref() == 0 => {
                return Err(self.at(b.span(), f("reconcile.batch"), "must be at least 1"));
            }
            Some(b) => *b.get_ref(),
            None => ReconcileConfig::default().batch as u32,
        };
        let drivers = match &raw.drivers.ids {
            None => DriverIds::All,
            Some(ids) => self.driver_ids(ids, &f("drivers.ids"))?,
        };
        let position_interval = match &raw.drivers.position_interval {
            Some(d) => self.duration(d, &f("drivers.position_interval"))?,
            None => Duration::from_secs(300),
        };
        let inbound = match &raw.inbound {
            None => None,
            Some(inbound) => {
                let field = f("inbound");
                let r = inbound.get_ref();
                let (token_source, token) = self.secret(
                    &r.token_file,
                    &r.token_env,
                    &field,
                    "inbound token",
                    inbound.span(),
                    ("token_file", "token_env"),
                )?;
                let token = match token {
                    Some(read) => Some(
                        InboundToken::new(read.value.0)
                            .map_err(|e| self.at(read.span, read.field, e.to_string()))?,
                    ),
                    None => None,
                };
                Some(InboundSettings {
                    token_source,
                    token,
                    order_id_fields: r.order_id_fields.clone(),
                    tracking_number_fields: r.tracking_number_fields.clone(),
                })
            }
        };
        Ok(AccountSettings {
            company: raw.company.clone().unwrap_or_else(|| name.clone()),
            name,
            url: raw.url.as_ref().map(|u| u.get_ref().clone()),
            api_key_source,
            api_key: key.map(|read| read.value),
            time_zone,
            plan,
            sources,
            poll_levels,
            reconcile_batch,
            drivers,
            position_interval,
            inbound,
            labels: raw.labels.clone(),
        })
    }

    fn plan(&self, raw: &RawPlan, field: &str) -> Result<Plan, ConfigError> {
        let f = |name: &str| format!("{field}.{name}");
        if *raw.daily.get_ref() == 0 {
            return Err(self.at(raw.daily.span(), f("daily"), "must be at least 1"));
        }
        let mut plan = Plan::daily(*raw.daily.get_ref());
        if let Some(monthly) = &raw.monthly {
            if *monthly.get_ref() == 0 {
                return Err(self.at(monthly.span(), f("monthly"), "must be at least 1"));
            }
            plan = plan.monthly_cap(*monthly.get_ref());
        }
        if let Some(share) = &raw.share {
            let value = *share.get_ref();
            if !(value > 0.0 && value <= 1.0) {
                return Err(self.at(
                    share.span(),
                    f("share"),
                    format!("must be in (0, 1], got {value}"),
                ));
            }
            plan = plan.share(value);
        }
        if let Some(burst) = &raw.burst {
            if *burst.get_ref() == 0 {
                return Err(self.at(burst.span(), f("burst"), "must be at least 1"));
            }
            plan = plan.burst(*burst.get_ref());
        }
        if let Some(interval) = &raw.min_poll_interval {
            plan.min_poll_interval = self.duration(interval, &f("min_poll_interval"))?;
        }
        Ok(plan)
    }

    fn driver_ids(
        &self,
        ids: &Spanned<toml::Value>,
        field: &str,
    ) -> Result<DriverIds, ConfigError> {
        let bad = || {
            self.at(
                ids.span(),
                field,
                "expected \"all\" or a list of driver GUIDs",
            )
        };
        match ids.get_ref() {
            toml::Value::String(s) if s == "all" => Ok(DriverIds::All),
            toml::Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    item.as_str()
                        .and_then(|s| s.parse::<UserId>().ok())
                        .ok_or_else(|| {
                            self.at(
                                ids.span(),
                                format!("{field}[{i}]"),
                                format!("not a GUID: {item:?}"),
                            )
                        })
                })
                .collect::<Result<Vec<_>, _>>()
                .map(DriverIds::List),
            _ => Err(bad()),
        }
    }
}

/// A status level by name (any case, `-`/`_` ignored) or code.
fn status_level(text: &str) -> Option<StatusLevel> {
    let wanted: String = text
        .trim()
        .chars()
        .filter(|c| *c != '-' && *c != '_' && *c != ' ')
        .collect::<String>()
        .to_ascii_lowercase();
    ontime::index::STATUS_LEVEL
        .values
        .iter()
        .find(|(code, name)| name.to_ascii_lowercase() == wanted || code.to_string() == wanted)
        .map(|(code, _)| StatusLevel::from(*code))
}

impl AccountSettings {
    /// The facade client of this account (needs the key: loaded with [`Secrets::Read`]).
    pub fn client(&self) -> Result<ontime::Client, ontime::Error> {
        self.client_builder().build()
    }

    /// The builder of [`client`](Self::client), to adjust (timeouts, retries) before building.
    pub fn client_builder(&self) -> ontime::ClientBuilder {
        let mut builder = ontime::Client::builder();
        builder = match &self.url {
            Some(url) => builder.base_url(url.clone()),
            None => builder.company_id(self.company.clone()),
        };
        if let Some(key) = &self.api_key {
            builder = builder.api_key(key.expose().to_owned());
        }
        builder
    }

    /// The event model's view of the account.
    pub fn account_config(&self) -> crate::event::AccountConfig {
        crate::event::AccountConfig::new(self.name.clone(), self.time_zone)
            .labels(self.labels.clone())
    }
}
