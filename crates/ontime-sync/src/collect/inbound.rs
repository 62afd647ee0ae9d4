//! The inbound source: an HTTP endpoint OnTime's workflow notifications call.
//!
//! OnTime can call a URL when an order changes (a workflow notification). Its body is whatever
//! the account's workflow was set up to send, so the endpoint is tolerant: the body is read as
//! JSON if it parses, else as a form (`a=1&b=2`), whatever the `Content-Type` says, and the
//! order is found by field name ([`InboundConfig::order_id_fields`], then
//! [`InboundConfig::tracking_number_fields`]; names compared case-insensitively, nested JSON
//! objects and arrays searched, nearest to the top first).
//!
//! # Answers
//!
//! | request | answer |
//! |---|---|
//! | `POST /inbound/{token}` with the right token and a body naming an order | `202`, after the entry is committed |
//! | the right token, a body naming no order (or not a GUID where an order ID belongs) | `400` with a short reason, logged |
//! | the right token, a body over [`InboundConfig::body_limit`] | `413`, logged |
//! | a wrong token, any other path or method | `404`, empty: nothing says the endpoint exists |
//!
//! The token is compared in constant time (SHA-256 digests of both sides, every byte looked at),
//! is never logged, and [`InboundToken`]'s `Debug` hides it. (A proxy in front of the endpoint
//! may log paths: keep the token out of its access log.)
//!
//! # Durability
//!
//! A notification naming an order becomes a queue entry: one store cursor per order,
//! `{queue}order/{guid}` (or `{queue}tracking/{number}`), committed **before** the `202`. A
//! crash after the answer loses nothing: [`Inbound::drain`] finds the entry on the next run.
//! Notifications for an order already queued rewrite its entry (one fetch serves them all). The
//! drain fetches the order exactly through the [`Governor`] like a poll-moved order
//! ([`super::exact`]: its history and its record, two calls, the record skipped when it cannot
//! change anything; a tracking number costs one more, to resolve it), and commits the events together
//! with the entry's removal in one transaction. The removal holds only while the entry is
//! unchanged (each receipt has its own id): a notification that arrives while its order is
//! being fetched keeps the entry, and the next drain fetches again.
//!
//! # Limits
//!
//! - The poll source does not know what the inbound source fetched: an order both notified and
//!   seen moving by a poll is fetched by both (the same events with the same ids: the store
//!   keeps each once; the second fetch finds nothing new and skips the record, one call).
//! - Entries are drained in name order, not arrival order.
//! - A tracking number no order has (or several have) is logged and dropped.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{DateTime, Utc};
use ontime::OrderId;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::CollectError;
use super::exact::{Exact, Fetcher};
use super::governor::{Clock, Governor};
use crate::event::AccountConfig;
use crate::store::{Commit, EventStore, Fence};

/// The secret in the endpoint's path. `Debug` shows `InboundToken(<redacted>)`.
#[derive(Clone, PartialEq, Eq)]
pub struct InboundToken(String);

impl InboundToken {
    /// The shortest token accepted.
    pub const MIN_LEN: usize = 16;

    /// A token: at least [`MIN_LEN`](Self::MIN_LEN) characters, each unreserved in a URL path
    /// (`A–Z a–z 0–9 - . _ ~`).
    pub fn new(token: impl Into<String>) -> Result<Self, BadToken> {
        let token = token.into();
        if token.len() < Self::MIN_LEN {
            return Err(BadToken::TooShort);
        }
        if !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
        {
            return Err(BadToken::Characters);
        }
        Ok(Self(token))
    }

    /// Whether `candidate` is this token, in time independent of where they differ (and of the
    /// candidate's length: both sides are hashed first).
    pub fn matches(&self, candidate: &str) -> bool {
        let a = Sha256::digest(self.0.as_bytes());
        let b = Sha256::digest(candidate.as_bytes());
        a.iter()
            .zip(b.iter())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
    }
}

impl fmt::Debug for InboundToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InboundToken(<redacted>)")
    }
}

/// Why a token was refused (the token itself is never part of the message).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BadToken {
    /// Fewer than [`InboundToken::MIN_LEN`] characters.
    #[error(
        "the inbound token is shorter than {} characters",
        InboundToken::MIN_LEN
    )]
    TooShort,
    /// A character outside `A–Z a–z 0–9 - . _ ~`.
    #[error("the inbound token may hold only A-Z a-z 0-9 - . _ ~")]
    Characters,
}

/// How the endpoint reads notifications and where their entries go.
#[derive(Clone, Debug, PartialEq)]
pub struct InboundConfig {
    /// The secret path segment.
    pub token: InboundToken,
    /// Field names holding the order's ID (a GUID), in order of preference; case-insensitive.
    pub order_id_fields: Vec<String>,
    /// Field names holding the order's tracking number, used when no order ID is found.
    pub tracking_number_fields: Vec<String>,
    /// The largest body read, in bytes; larger ones are answered `413`.
    pub body_limit: usize,
    /// The prefix of the queue's cursor names.
    pub queue: String,
    /// Destinations whose outbox gets the events the drain stores.
    pub destinations: Vec<String>,
    /// The lease the drain's commits are made under (the endpoint's queue entries are not fenced: any worker may take them; many workers: see [`crate::store::lease`]); a
    /// commit whose lease was taken over fails with
    /// [`StoreError::LeaseLost`](crate::store::StoreError::LeaseLost) and writes nothing.
    pub fence: Option<Fence>,
}

impl InboundConfig {
    /// Defaults: order ID in `OrderID`, `Order_ID` or `OrderGuid`; tracking number in
    /// `TrackingNumber`, `Tracking_Number` or `Tracking`; bodies up to 64 KiB; queue `inbound/`.
    pub fn new(token: InboundToken) -> Self {
        let names = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect();
        Self {
            token,
            order_id_fields: names(&["OrderID", "Order_ID", "OrderGuid"]),
            tracking_number_fields: names(&["TrackingNumber", "Tracking_Number", "Tracking"]),
            body_limit: 64 * 1024,
            queue: "inbound/".to_owned(),
            destinations: Vec::new(),
            fence: None,
        }
    }
}

/// The order a notification names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Notified {
    /// By its ID.
    Order(OrderId),
    /// By its tracking number (resolved when drained: one more call).
    TrackingNumber(String),
}

/// A queue entry, as stored in its cursor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedOrder {
    /// The order.
    pub order: Notified,
    /// When the notification arrived.
    pub received_at: DateTime<Utc>,
    /// This receipt's own id (a later notification of the same order rewrites it).
    pub receipt: String,
}

/// Finds the order a notification body names (see the [module documentation](self)); the
/// error is the short reason answered with `400`.
pub fn find_order(body: &[u8], config: &InboundConfig) -> Result<Notified, String> {
    let fields: Vec<(String, Value)> = match serde_json::from_slice::<Value>(body) {
        Ok(value) => flatten(&value),
        Err(_) => form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect(),
    };
    let scalar = |value: &Value| match value {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    for name in &config.order_id_fields {
        for (_, value) in fields.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name)) {
            let Some(text) = scalar(value).filter(|t| !t.is_empty()) else {
                continue;
            };
            return text
                .parse::<OrderId>()
                .map(Notified::Order)
                .map_err(|_| format!("field {name} is not a GUID"));
        }
    }
    for name in &config.tracking_number_fields {
        for (_, value) in fields.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name)) {
            match scalar(value) {
                Some(text) if !text.is_empty() && text.len() <= 100 => {
                    return Ok(Notified::TrackingNumber(text));
                }
                Some(text) if text.len() > 100 => {
                    return Err(format!("field {name} is longer than 100 characters"));
                }
                _ => {}
            }
        }
    }
    Err("no order ID or tracking number in the body".to_owned())
}

/// Every (key, value) of a JSON document, nearest to the top first (breadth-first).
fn flatten(value: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut level = vec![value];
    while !level.is_empty() {
        let mut next = Vec::new();
        for value in level {
            match value {
                Value::Object(map) => {
                    for (key, value) in map {
                        out.push((key.clone(), value.clone()));
                        next.push(value);
                    }
                }
                Value::Array(values) => next.extend(values),
                _ => {}
            }
        }
        level = next;
    }
    out
}

/// Counts of what the endpoint answered (every rejection is also logged).
#[derive(Debug, Default)]
pub struct InboundStats {
    accepted: AtomicU64,
    rejected: AtomicU64,
}

impl InboundStats {
    /// Notifications queued.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// Notifications answered `400` or `413` (wrong tokens are not counted: not ours).
    pub fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }
}

/// What a drain did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DrainReport {
    /// Orders whose history was fetched and committed.
    pub fetched: Vec<OrderId>,
    /// Orders OnTime no longer has (entry removed, no events).
    pub gone: Vec<OrderId>,
    /// Tracking numbers no single order has (logged, entry removed).
    pub unresolved: Vec<String>,
    /// Events stored (new or upgraded).
    pub stored: usize,
    /// OnTime calls spent.
    pub calls: u64,
    /// Entries left queued for want of budget.
    pub left: usize,
}

/// The inbound source of one account: the endpoint ([`router`](Self::router)) and the drain.
#[derive(Clone, Debug)]
pub struct Inbound<S, C> {
    client: ontime::Client,
    store: S,
    account: AccountConfig,
    config: Arc<InboundConfig>,
    clock: C,
    stats: Arc<InboundStats>,
}

impl<S, C> Inbound<S, C>
where
    S: EventStore + Clone + 'static,
    C: Clock + Clone + 'static,
{
    /// The inbound source of `account`; `clock` stamps receipts.
    pub fn new(
        client: ontime::Client,
        store: S,
        account: AccountConfig,
        config: InboundConfig,
        clock: C,
    ) -> Self {
        Self {
            client,
            store,
            account,
            config: Arc::new(config),
            clock,
            stats: Arc::new(InboundStats::default()),
        }
    }

    /// What the endpoint answered so far.
    pub fn stats(&self) -> &InboundStats {
        &self.stats
    }

    /// The endpoint: `POST /inbound/{token}`; serve it with `axum::serve`.
    pub fn router(&self) -> Router {
        Router::new()
            // Other methods answer 404 too, not 405: nothing says the endpoint exists.
            .route(
                "/inbound/{token}",
                post(receive::<S, C>).fallback(|| async { StatusCode::NOT_FOUND }),
            )
            .with_state(self.clone())
    }

    /// The configuration.
    pub fn config(&self) -> &InboundConfig {
        &self.config
    }

    /// Makes the drain's later commits under `fence` (the endpoint's queue entries stay
    /// unfenced). Only this handle changes: clones made before (the router's) keep theirs,
    /// which they do not use.
    pub fn set_fence(&mut self, fence: Option<Fence>) {
        Arc::make_mut(&mut self.config).fence = fence;
    }

    /// Queues the events of later drains for `destinations`.
    pub fn set_destinations(&mut self, destinations: Vec<String>) {
        Arc::make_mut(&mut self.config).destinations = destinations;
    }

    /// A short budget (see [`super::poll`]): hands the queued orders named by ID to the poll
    /// as owed histories (added to the `pending` list of the poll cursor `poll_cursor`),
    /// removing their entries in the same commit, without a call. The poll then treats them
    /// like orders it saw move: a history read once each is final (the queue and the poll's
    /// list both keep each order once). Entries naming a tracking number stay queued (they
    /// need a call to resolve). Returns how many orders were handed over.
    pub async fn defer_to_poll(&self, poll_cursor: &str) -> Result<usize, CollectError> {
        let account = &self.account.account;
        let entries = self
            .store
            .cursors(account, &self.config.queue, 1000)
            .await?;
        let mut cursor: super::PollCursor =
            super::load_cursor(&self.store, account, poll_cursor).await?;
        let mut commit = Commit::new(account.clone());
        commit.fence = self.config.fence.clone();
        let mut handed = 0;
        for (name, value) in &entries {
            let entry: QueuedOrder = serde_json::from_value(value.clone())
                .map_err(|source| CollectError::cursor(name, source))?;
            if let Notified::Order(id) = entry.order {
                cursor.pending.insert(id);
                commit.cleared.push((name.clone(), value.clone()));
                handed += 1;
            }
        }
        if handed == 0 {
            return Ok(0);
        }
        let value = serde_json::to_value(&cursor)
            .map_err(|source| CollectError::cursor(poll_cursor, source))?;
        commit.cursors.push((poll_cursor.to_owned(), value));
        self.store.commit(commit).await?;
        Ok(handed)
    }

    /// Fetches queued orders exactly while the governor allows (oldest names first),
    /// committing each order's events with its entry's removal.
    pub async fn drain(
        &self,
        governor: &mut Governor,
        now: DateTime<Utc>,
    ) -> Result<DrainReport, CollectError> {
        let account = &self.account.account;
        let entries = self
            .store
            .cursors(account, &self.config.queue, 1000)
            .await?;
        let mut report = DrainReport::default();
        for (index, (name, value)) in entries.iter().enumerate() {
            let entry: QueuedOrder = serde_json::from_value(value.clone())
                .map_err(|source| CollectError::cursor(name, source))?;
            // The most this entry may cost: resolving a tracking number, the history, the
            // record. Each call is taken from the governor as it is made.
            let most = match entry.order {
                Notified::Order(_) => 2,
                Notified::TrackingNumber(_) => 3,
            };
            if !governor.can_acquire(most, now) {
                report.left = entries.len() - index;
                break;
            }
            let mut commit = Commit::new(account.clone()).clear(name.clone(), value.clone());
            commit.destinations = self.config.destinations.clone();
            commit.fence = self.config.fence.clone();
            let order = match &entry.order {
                Notified::Order(id) => *id,
                Notified::TrackingNumber(number) => {
                    if !governor.try_acquire(1, now) {
                        // Not reached (the calls were allowed above); the entry stays queued.
                        report.left = entries.len() - index;
                        break;
                    }
                    report.calls += 1;
                    match self.client.orders().resolve(number.as_str()).await {
                        Ok(id) => id,
                        Err(
                            error @ (ontime::Error::NotFound { .. }
                            | ontime::Error::Ambiguous { .. }),
                        ) => {
                            tracing::warn!(account = %account, %error, "inbound notification names no single order; dropped");
                            self.store.commit(commit).await?;
                            report.unresolved.push(number.clone());
                            continue;
                        }
                        Err(error) => return Err(error.into()),
                    }
                }
            };
            let fetcher = Fetcher {
                client: &self.client,
                store: &self.store,
                account: &self.account,
                history_only: false,
            };
            let stored = fetcher.stored(order).await?;
            match fetcher.exact(order, None, &stored, governor, now).await? {
                Exact::Derived { sorted, calls } => {
                    report.calls += calls;
                    commit.events = sorted.events;
                    commit.upgrades = sorted.upgrades;
                    let outcome = self.store.commit(commit).await?;
                    report.stored += outcome.stored.len() + outcome.upgraded.len();
                    report.fetched.push(order);
                }
                Exact::Gone { calls } => {
                    report.calls += calls;
                    self.store.commit(commit).await?;
                    report.gone.push(order);
                }
                Exact::NoBudget => {
                    // Not reached (the calls were allowed above); the entry stays queued.
                    report.left = entries.len() - index;
                    break;
                }
            }
        }
        // What the server says is left (others may use the account too) paces the next round.
        governor.observe(&self.client.quota(), now);
        Ok(report)
    }

    fn reject(&self, status: StatusCode, reason: String) -> Response {
        self.stats.rejected.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(account = %self.account.account, status = status.as_u16(), %reason, "inbound notification rejected");
        (status, reason).into_response()
    }
}

async fn receive<S, C>(
    State(inbound): State<Inbound<S, C>>,
    Path(token): Path<String>,
    body: Body,
) -> Response
where
    S: EventStore + Clone + 'static,
    C: Clock + Clone + 'static,
{
    if !inbound.config.token.matches(&token) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let body: Bytes = match axum::body::to_bytes(body, inbound.config.body_limit).await {
        Ok(body) => body,
        Err(error) => {
            let too_large = std::error::Error::source(&error)
                .is_some_and(|e| e.is::<http_body_util::LengthLimitError>());
            return if too_large {
                inbound.reject(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("body over {} bytes", inbound.config.body_limit),
                )
            } else {
                inbound.reject(StatusCode::BAD_REQUEST, "body unreadable".to_owned())
            };
        }
    };
    let order = match find_order(&body, &inbound.config) {
        Ok(order) => order,
        Err(reason) => return inbound.reject(StatusCode::BAD_REQUEST, reason),
    };
    let name = match &order {
        Notified::Order(id) => format!("{}order/{id}", inbound.config.queue),
        Notified::TrackingNumber(number) => format!("{}tracking/{number}", inbound.config.queue),
    };
    let entry = QueuedOrder {
        order,
        received_at: inbound.clock.now(),
        receipt: uuid::Uuid::new_v4().to_string(),
    };
    let value = match serde_json::to_value(&entry) {
        Ok(value) => value,
        Err(error) => {
            tracing::error!(%error, "inbound entry not serialisable");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let commit = Commit::new(inbound.account.account.clone()).cursor(name, value);
    match inbound.store.commit(commit).await {
        Ok(_) => {
            inbound.stats.accepted.fetch_add(1, Ordering::Relaxed);
            (StatusCode::ACCEPTED, "queued").into_response()
        }
        Err(error) => {
            // Not acknowledged: OnTime's retry (or the next poll) brings it again.
            tracing::error!(account = %inbound.account.account, %error, "inbound entry not stored");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}
