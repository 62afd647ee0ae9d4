//! The dispatcher and the webhook sink against real receivers on 127.0.0.1 (an axum server
//! per test that recomputes every signature) and the real store (SQLite; Postgres for two
//! dispatchers sharing one outbox). Time is passed in: each step runs at a simulated instant,
//! and the sink stamps `webhook-timestamp` from the same simulated clock, which is what the
//! receivers' behaviours ("500 for 20 minutes") are keyed on.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use hmac::{Hmac, Mac};
use ontime_sync::collect::Clock;
use ontime_sync::deliver::dispatch::{DispatchSettings, Dispatcher, EventFilter, StepReport};
use ontime_sync::deliver::schedule::{Jitter, RetrySchedule};
use ontime_sync::deliver::signature::WebhookSecret;
use ontime_sync::deliver::webhook::{SigningKeys, WebhookEndpoint, WebhookError, WebhookSink};
use ontime_sync::event::{Event, EventType, derive_order_events};
use ontime_sync::store::outbox::{DeliveryStore, DestinationHealth};
use ontime_sync::store::{Commit, EventStore, Store};
use rand::{Rng, SeedableRng};
use sha2::Sha256;

use crate::fixtures::{ACCOUNT, account, lifecycle};
use crate::store::TestDb;

const HOOK: &str = "hook";

// ---- a simulated clock ----------------------------------------------------------------------

#[derive(Clone)]
struct SimClock(Arc<Mutex<DateTime<Utc>>>);

impl SimClock {
    fn new(at: DateTime<Utc>) -> Self {
        Self(Arc::new(Mutex::new(at)))
    }
    fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap() = at;
    }
}

impl Clock for SimClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
    async fn sleep_until(&self, _at: DateTime<Utc>) {
        // Step mode: the tests call `step` themselves and never `run` on this clock.
        std::future::pending::<()>().await
    }
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 2, 8, 0, 0).unwrap()
}

// ---- a receiver -----------------------------------------------------------------------------

/// One request as the receiver saw it.
#[derive(Clone, Debug)]
struct Received {
    path: String,
    id: String,
    timestamp: i64,
    /// Per known secret (in the receiver's order): whether one of the signatures verifies.
    verified: Vec<bool>,
    signatures: usize,
    content_type: String,
    subject: String,
    sequence: u64,
    status: u16,
    body: Bytes,
}

/// What the receiver is told about a request, to choose its answer.
struct Incoming<'a> {
    path: &'a str,
    id: &'a str,
    timestamp: i64,
    /// How many requests with this id came before this one.
    earlier: usize,
}

type Behaviour = dyn Fn(&Incoming<'_>) -> (u16, Vec<(&'static str, String)>) + Send + Sync;

struct ReceiverState {
    secrets: Vec<Vec<u8>>,
    behaviour: Box<Behaviour>,
    log: Mutex<Vec<Received>>,
    latency_ms: Option<Mutex<rand::rngs::StdRng>>,
    max_latency_ms: u64,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

struct Receiver {
    addr: SocketAddr,
    state: Arc<ReceiverState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    async fn start(
        secrets: &[&WebhookSecret],
        behaviour: impl Fn(&Incoming<'_>) -> (u16, Vec<(&'static str, String)>) + Send + Sync + 'static,
    ) -> Self {
        Self::start_with_latency(secrets, 0, behaviour).await
    }

    async fn start_with_latency(
        secrets: &[&WebhookSecret],
        max_latency_ms: u64,
        behaviour: impl Fn(&Incoming<'_>) -> (u16, Vec<(&'static str, String)>) + Send + Sync + 'static,
    ) -> Self {
        let state = Arc::new(ReceiverState {
            secrets: secrets.iter().map(|s| s.key().to_vec()).collect(),
            behaviour: Box::new(behaviour),
            log: Mutex::new(Vec::new()),
            latency_ms: (max_latency_ms > 0)
                .then(|| Mutex::new(rand::rngs::StdRng::seed_from_u64(42))),
            max_latency_ms,
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = state.clone();
        let router =
            axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
                let state = shared.clone();
                async move { state.handle(uri, headers, body).await }
            });
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Self { addr, state, task }
    }

    fn url(&self, path: &str) -> reqwest::Url {
        format!("http://{}{path}", self.addr).parse().unwrap()
    }

    fn log(&self) -> Vec<Received> {
        self.state.log.lock().unwrap().clone()
    }

    /// Accepted deliveries (2xx) by event id.
    fn accepted(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for r in self.log().iter().filter(|r| (200..300).contains(&r.status)) {
            *counts.entry(r.id.clone()).or_default() += 1;
        }
        counts
    }
}

impl ReceiverState {
    async fn handle(&self, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        if let Some(rng) = &self.latency_ms {
            let ms = rng.lock().unwrap().random_range(0..=self.max_latency_ms);
            // Simulated network and processing time of a receiver (not a synchronisation).
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let id = header("webhook-id");
        let timestamp: i64 = header("webhook-timestamp").parse().unwrap_or(-1);
        let signature = header("webhook-signature");
        let signatures: Vec<Vec<u8>> = signature
            .split(' ')
            .filter_map(|s| s.strip_prefix("v1,"))
            .filter_map(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
            .collect();
        // Recomputed here, independently of the crate's signing code.
        let verified = self
            .secrets
            .iter()
            .map(|key| {
                signatures.iter().any(|sig| {
                    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
                    mac.update(format!("{id}.{timestamp}.").as_bytes());
                    mac.update(&body);
                    mac.verify_slice(sig).is_ok()
                })
            })
            .collect();
        let event: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let path = uri.path().to_owned();
        let mut log = self.log.lock().unwrap();
        let earlier = log.iter().filter(|r| r.id == id).count();
        let (status, extra) = (self.behaviour)(&Incoming {
            path: &path,
            id: &id,
            timestamp,
            earlier,
        });
        log.push(Received {
            path,
            id,
            timestamp,
            verified,
            signatures: signatures.len(),
            content_type: header("content-type"),
            subject: event["subject"].as_str().unwrap_or_default().to_owned(),
            sequence: event["sequence"].as_u64().unwrap_or_default(),
            status,
            body: body.clone(),
        });
        drop(log);
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        let mut response = StatusCode::from_u16(status).unwrap().into_response();
        for (name, value) in extra {
            response.headers_mut().insert(name, value.parse().unwrap());
        }
        response
    }
}

fn ok() -> (u16, Vec<(&'static str, String)>) {
    (200, vec![])
}

// ---- store, events, dispatchers -------------------------------------------------------------

/// A fresh SQLite store (the store suite's helper) and a handle on it.
async fn sqlite() -> (Store, TestDb) {
    let db = TestDb::sqlite().await;
    (db.store.clone(), db)
}

/// Commits the lifecycle events of `orders` for HOOK; returns them.
async fn commit_orders(store: &Store, orders: std::ops::Range<u128>) -> Vec<Event> {
    let mut all = Vec::new();
    for order in orders {
        let events = derive_order_events(&account(), &lifecycle(order));
        let commit = Commit::new(ACCOUNT).events(events).destination(HOOK);
        let outcome = store.commit(commit).await.unwrap();
        all.extend(outcome.stored.into_iter().map(|s| s.event));
    }
    all
}

fn render(event: &Event) -> Vec<u8> {
    serde_json::to_vec(event).unwrap()
}

fn sink(url: reqwest::Url, keys: SigningKeys, clock: &SimClock) -> WebhookSink<SimClock> {
    let endpoint = WebhookEndpoint {
        allow_private: true,
        timeout: Duration::from_secs(5),
        ..WebhookEndpoint::new(url, keys)
    };
    WebhookSink::new(endpoint, clock.clone()).unwrap()
}

fn settings(worker: &str) -> DispatchSettings {
    DispatchSettings::new(HOOK, worker)
}

type HookDispatcher = Dispatcher<Store, WebhookSink<SimClock>>;

/// Steps at `from`, `from + tick`, … up to `to` (inclusive), each instant until a step claims
/// nothing; returns what the steps did, summed.
async fn drive(
    dispatcher: &mut HookDispatcher,
    clock: &SimClock,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    tick: TimeDelta,
) -> StepReport {
    let mut total = StepReport::default();
    let mut at = from;
    while at <= to {
        clock.set(at);
        for round in 0.. {
            assert!(round < 1000, "a step at {at} never ran out of work");
            let report = dispatcher.step(at).await.unwrap();
            total.claimed += report.claimed;
            total.counts.delivered += report.counts.delivered;
            total.counts.retried += report.counts.retried;
            total.counts.dead += report.counts.dead;
            total.counts.skipped += report.counts.skipped;
            total.counts.disabled += report.counts.disabled;
            if report.disabled.is_some() {
                total.disabled = report.disabled;
            }
            if report.claimed == 0 {
                break;
            }
        }
        at += tick;
    }
    total
}

async fn health(store: &Store) -> DestinationHealth {
    store
        .destination_health()
        .await
        .unwrap()
        .into_iter()
        .find(|h| h.destination == HOOK)
        .unwrap_or_default()
}

/// Per subject, the sequences of accepted deliveries in arrival order must ascend.
fn assert_per_subject_order(log: &[Received]) {
    let mut last: BTreeMap<&str, u64> = BTreeMap::new();
    for r in log.iter().filter(|r| (200..300).contains(&r.status)) {
        let previous = last.insert(&r.subject, r.sequence).unwrap_or(0);
        assert!(
            r.sequence > previous,
            "{}: sequence {} accepted after {previous}",
            r.subject,
            r.sequence
        );
    }
}

/// One test's parts: a SQLite store with the lifecycles of some orders queued for HOOK, a
/// receiver knowing one secret, a dispatcher of HOOK into it at `t0()`.
struct Setup {
    store: Store,
    _db: TestDb,
    events: Vec<Event>,
    receiver: Receiver,
    clock: SimClock,
    dispatcher: HookDispatcher,
}

async fn setup(
    orders: std::ops::Range<u128>,
    latency_ms: u64,
    settings: DispatchSettings,
    behaviour: impl Fn(&Incoming<'_>) -> (u16, Vec<(&'static str, String)>) + Send + Sync + 'static,
) -> Setup {
    let (store, _db) = sqlite().await;
    let events = commit_orders(&store, orders).await;
    let secret = WebhookSecret::generate();
    let receiver = Receiver::start_with_latency(&[&secret], latency_ms, behaviour).await;
    let clock = SimClock::new(t0());
    let dispatcher = Dispatcher::new(
        store.clone(),
        sink(receiver.url("/"), SigningKeys::single(secret), &clock),
        render,
        settings,
    )
    .with_seed(1);
    Setup {
        store,
        _db,
        events,
        receiver,
        clock,
        dispatcher,
    }
}

impl Setup {
    async fn drive(
        &mut self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        tick: TimeDelta,
    ) -> StepReport {
        drive(&mut self.dispatcher, &self.clock, from, to, tick).await
    }
}

/// Answers `status` to attempts stamped before `until`, 200 from then on.
fn failing_until(
    status: u16,
    until: DateTime<Utc>,
) -> impl Fn(&Incoming<'_>) -> (u16, Vec<(&'static str, String)>) + Send + Sync + 'static {
    move |r| {
        if r.timestamp < until.timestamp() {
            (status, vec![])
        } else {
            ok()
        }
    }
}

fn ids(events: &[Event]) -> BTreeSet<String> {
    events.iter().map(|e| e.event_id.to_string()).collect()
}

// ---- the tests ------------------------------------------------------------------------------

#[tokio::test]
async fn an_outage_of_twenty_minutes_then_everything_arrives_once_with_one_id() {
    let recovered = t0() + TimeDelta::minutes(20);
    let mut t = setup(1..6, 0, settings("w1"), failing_until(500, recovered)).await;
    let total = t
        .drive(t0(), t0() + TimeDelta::hours(2), TimeDelta::seconds(10))
        .await;

    let accepted = t.receiver.accepted();
    let expected = ids(&t.events);
    assert_eq!(accepted.keys().cloned().collect::<BTreeSet<_>>(), expected);
    assert!(accepted.values().all(|n| *n == 1), "{accepted:?}");
    let log = t.receiver.log();
    assert!(log.iter().any(|r| r.status == 500), "the outage was seen");
    for r in &log {
        assert_eq!(r.verified, [true], "{r:?}");
        assert_eq!(r.content_type, "application/json");
        assert!(
            expected.contains(&r.id),
            "a webhook-id that is no event id: {}",
            r.id
        );
        assert!(r.timestamp >= t0().timestamp() && r.timestamp <= t.clock.now().timestamp());
    }
    assert_per_subject_order(&log);
    assert_eq!(total.counts.delivered, t.events.len() as u64);
    assert_eq!(total.counts.dead, 0);
    let counts = t.dispatcher.metrics().counts();
    assert_eq!(counts.delivered, t.events.len() as u64);
    assert_eq!(counts.retried, total.counts.retried);
    let health = health(&t.store).await;
    assert_eq!(health.backlog, 0);
    assert_eq!(health.failing_since, None);
    assert!(health.disabled.is_none());
}

#[tokio::test]
async fn gone_disables_the_endpoint_and_later_events_stay_queued() {
    let back = t0() + TimeDelta::hours(1);
    let mut t = setup(1..2, 0, settings("w1"), failing_until(410, back)).await;
    let total = t
        .drive(t0(), t0() + TimeDelta::minutes(30), TimeDelta::minutes(1))
        .await;
    assert!(
        total.disabled.as_deref().unwrap().contains("410"),
        "{total:?}"
    );
    assert_eq!(t.dispatcher.metrics().counts().disabled, 1);
    // One batch went out (the first event of the order: ordered claims), then nothing.
    assert_eq!(t.receiver.log().len(), 1);
    let later = commit_orders(&t.store, 2..3).await;
    t.drive(
        t0() + TimeDelta::minutes(31),
        t0() + TimeDelta::minutes(59),
        TimeDelta::minutes(1),
    )
    .await;
    assert_eq!(
        t.receiver.log().len(),
        1,
        "a disabled endpoint gets nothing"
    );
    let h = health(&t.store).await;
    assert!(h.disabled.as_ref().unwrap().1.contains("410"));
    let all = t.events.len() + later.len();
    assert_eq!(h.backlog as usize, all, "all still queued");

    // Enabled again (the receiver is back): everything arrives.
    t.store.enable_destination(HOOK, back).await.unwrap();
    t.drive(back, back, TimeDelta::minutes(1)).await;
    assert_eq!(t.receiver.accepted().len(), all);
    assert_eq!(health(&t.store).await.backlog, 0);
}

#[tokio::test]
async fn a_rotation_signs_with_both_secrets_then_only_the_new_one() {
    let (store, _db) = sqlite().await;
    commit_orders(&store, 1..2).await;
    let (old, new) = (WebhookSecret::generate(), WebhookSecret::generate());
    let receiver = Receiver::start(&[&old, &new], |_| ok()).await;
    let clock = SimClock::new(t0());
    let mut keys = SigningKeys::single(old.clone());
    keys.rotate(new.clone(), t0(), Duration::from_secs(24 * 3600));
    let mut dispatcher = Dispatcher::new(
        store.clone(),
        sink(receiver.url("/"), keys, &clock),
        render,
        settings("w1"),
    );
    // One delivery inside the grace period...
    drive(&mut dispatcher, &clock, t0(), t0(), TimeDelta::minutes(1)).await;
    // ... the others a day later (the receiver has been on both since the rotation).
    commit_orders(&store, 2..3).await;
    let after = t0() + TimeDelta::hours(24);
    drive(&mut dispatcher, &clock, after, after, TimeDelta::minutes(1)).await;
    let log = receiver.log();
    let (during, later): (Vec<_>, Vec<_>) =
        log.iter().partition(|r| r.timestamp < after.timestamp());
    assert!(!during.is_empty() && !later.is_empty());
    for r in during {
        assert_eq!(
            (r.signatures, &r.verified[..]),
            (2, &[true, true][..]),
            "{r:?}"
        );
    }
    for r in later {
        assert_eq!(
            (r.signatures, &r.verified[..]),
            (1, &[false, true][..]),
            "{r:?}"
        );
    }
}

#[tokio::test]
async fn per_order_order_holds_at_concurrency_32_with_random_latencies() {
    let schedule = RetrySchedule::new(vec![Duration::from_secs(1); 10])
        .unwrap()
        .with_jitter(Jitter::Full);
    let settings = DispatchSettings {
        schedule,
        ..settings("w1")
    };
    // Slow, and failing about a fifth of the attempts (decided by the id and attempt: stable).
    let mut t = setup(1..41, 25, settings, |r| {
        let hash = r.id.bytes().fold(r.earlier as u32, |h, b| {
            h.wrapping_mul(31).wrapping_add(b as u32)
        });
        if hash % 5 == 0 { (503, vec![]) } else { ok() }
    })
    .await;
    t.drive(t0(), t0() + TimeDelta::minutes(5), TimeDelta::seconds(1))
        .await;
    let accepted = t.receiver.accepted();
    assert_eq!(accepted.len(), t.events.len());
    assert!(accepted.values().all(|n| *n == 1));
    let log = t.receiver.log();
    assert!(log.iter().any(|r| r.status == 503));
    assert_per_subject_order(&log);
    let most = t.receiver.state.max_in_flight.load(Ordering::SeqCst);
    assert!(most >= 16, "at most {most} requests were in flight at once");
    assert!(
        most <= 32,
        "{most} requests in flight: more than the concurrency"
    );
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let mut t = setup(1..2, 0, settings("w1"), |r| {
        if r.path == "/" {
            (307, vec![("location", "/moved".to_owned())])
        } else {
            ok()
        }
    })
    .await;
    let total = t.drive(t0(), t0(), TimeDelta::minutes(1)).await;
    assert_eq!(total.counts.retried, 1);
    let log = t.receiver.log();
    assert_eq!(log.len(), 1);
    assert!(log.iter().all(|r| r.path == "/"), "{log:?}");
    let h = health(&t.store).await;
    assert_eq!(
        h.last_error.as_deref(),
        Some("HTTP 307: redirect not followed")
    );
    assert!(h.failing_since.is_some());
}

#[tokio::test]
async fn loopback_is_refused_without_allow_private() {
    let (store, _db) = sqlite().await;
    commit_orders(&store, 1..2).await;
    let secret = WebhookSecret::generate();
    let receiver = Receiver::start(&[&secret], |_| ok()).await;
    let clock = SimClock::new(t0());
    let keys = SigningKeys::single(secret);

    // An address literal: refused when the sink is built.
    let literal = WebhookEndpoint::new(receiver.url("/"), keys.clone());
    let error = WebhookSink::new(literal, clock.clone()).unwrap_err();
    assert!(matches!(error, WebhookError::TargetRefused(_)), "{error}");
    assert!(error.to_string().contains("loopback"), "{error}");

    // A name resolving to loopback: refused at connection time, the endpoint disabled.
    let url: reqwest::Url = format!("http://localhost:{}/", receiver.addr.port())
        .parse()
        .unwrap();
    let by_name = WebhookSink::new(WebhookEndpoint::new(url, keys), clock.clone()).unwrap();
    let mut dispatcher = Dispatcher::new(store.clone(), by_name, render, settings("w1"));
    let total = drive(&mut dispatcher, &clock, t0(), t0(), TimeDelta::minutes(1)).await;
    let reason = total.disabled.expect("disabled");
    assert!(
        reason.starts_with("target refused: localhost resolves only to refused addresses"),
        "{reason}"
    );
    assert!(reason.contains("allow_private = true"), "{reason}");
    assert!(receiver.log().is_empty(), "nothing reached the receiver");
    assert!(health(&store).await.disabled.is_some());
}

#[tokio::test]
async fn retry_after_is_honoured_in_seconds_and_as_a_date() {
    let (store, _db) = sqlite().await;
    // Two orders: one receiver answer each kind of Retry-After.
    let events = commit_orders(&store, 1..3).await;
    let first_of = |n: usize| {
        events
            .iter()
            .filter(|e| e.sequence == Some(1))
            .nth(n)
            .unwrap()
            .event_id
            .to_string()
    };
    let (seconds_id, date_id) = (first_of(0), first_of(1));
    let date = (t0() + TimeDelta::minutes(7))
        .to_rfc2822()
        .replace("+0000", "GMT");
    let secret = WebhookSecret::generate();
    let receiver = Receiver::start(&[&secret], move |r| match r.earlier {
        0 if r.id == seconds_id => (429, vec![("retry-after", "120".to_owned())]),
        0 if r.id == date_id => (503, vec![("retry-after", date.clone())]),
        _ => ok(),
    })
    .await;
    let clock = SimClock::new(t0());
    let schedule = RetrySchedule::default().with_jitter(Jitter::None);
    let mut dispatcher = Dispatcher::new(
        store.clone(),
        sink(receiver.url("/"), SigningKeys::single(secret), &clock),
        render,
        DispatchSettings {
            schedule,
            ..settings("w1")
        },
    );
    drive(
        &mut dispatcher,
        &clock,
        t0(),
        t0() + TimeDelta::minutes(10),
        TimeDelta::seconds(5),
    )
    .await;
    let log = receiver.log();
    let retried_at = |id: &str| {
        log.iter()
            .filter(|r| r.id == id)
            .map(|r| r.timestamp - t0().timestamp())
            .collect::<Vec<_>>()
    };
    // Not at the schedule's 5 s: at the 120 s asked for, and at the date's 7 minutes.
    assert_eq!(retried_at(&first_of(0)), [0, 120]);
    assert_eq!(retried_at(&first_of(1)), [0, 420]);
    assert_eq!(receiver.accepted().len(), events.len());
}

#[tokio::test]
async fn the_last_failed_attempt_dead_letters() {
    let schedule = RetrySchedule::new(vec![Duration::from_secs(1), Duration::from_secs(2)])
        .unwrap()
        .with_jitter(Jitter::None);
    let settings = DispatchSettings {
        schedule,
        // Only the order's first event is sent.
        event_types: EventFilter::parse(&["order.created"]).unwrap(),
        ..settings("w1")
    };
    let mut t = setup(1..2, 0, settings, |_| (500, vec![])).await;
    assert_eq!(t.events[0].event_type, EventType::OrderCreated);
    let total = t
        .drive(t0(), t0() + TimeDelta::seconds(10), TimeDelta::seconds(1))
        .await;
    let first = t.events[0].event_id.to_string();
    let log = t.receiver.log();
    assert!(log.iter().all(|r| r.id == first));
    let tries: Vec<i64> = log.iter().map(|r| r.timestamp - t0().timestamp()).collect();
    assert_eq!(tries, [0, 1, 3], "three attempts, then no more");
    assert_eq!(total.counts.dead, 1);
    assert_eq!(t.dispatcher.metrics().counts().dead, 1);
    let h = health(&t.store).await;
    assert_eq!(h.dead_letters, 1);
    assert_eq!(h.last_error.as_deref(), Some("HTTP 500"));
    // The order's later events were filtered out (completed unsent) once the first left.
    assert_eq!(h.backlog, 0);
    assert_eq!(total.counts.skipped, t.events.len() as u64 - 1);
}

#[tokio::test]
async fn event_type_filter_completes_unwanted_events_without_sending() {
    let settings = DispatchSettings {
        event_types: EventFilter::parse(&["order.delivered", "order.picked_*"]).unwrap(),
        ..settings("w1")
    };
    let mut t = setup(1..4, 0, settings, |_| ok()).await;
    let total = t.drive(t0(), t0(), TimeDelta::minutes(1)).await;
    let wanted: Vec<Event> = t
        .events
        .iter()
        .filter(|e| {
            matches!(
                e.event_type,
                EventType::OrderDelivered | EventType::OrderPickedUp
            )
        })
        .cloned()
        .collect();
    assert_eq!(wanted.len(), 6);
    let accepted = t.receiver.accepted();
    assert_eq!(
        accepted.keys().cloned().collect::<BTreeSet<_>>(),
        ids(&wanted)
    );
    assert_eq!(total.counts.skipped as usize, t.events.len() - wanted.len());
    assert_eq!(health(&t.store).await.backlog, 0);
}

#[tokio::test]
async fn an_endpoint_failing_for_longer_than_disable_after_is_disabled() {
    // Hourly retries for long enough not to dead-letter within the test.
    let schedule = RetrySchedule::new(vec![Duration::from_secs(3600); 200])
        .unwrap()
        .with_jitter(Jitter::None);
    let settings = DispatchSettings {
        schedule,
        disable_after: Some(Duration::from_secs(2 * 24 * 3600)),
        ..settings("w1")
    };
    let mut t = setup(1..2, 0, settings, |_| (502, vec![])).await;
    let total = t
        .drive(t0(), t0() + TimeDelta::hours(60), TimeDelta::hours(1))
        .await;
    let reason = total.disabled.expect("disabled after two days");
    assert!(
        reason.starts_with("no successful delivery since 2026-12-02T08:00:00"),
        "{reason}"
    );
    assert!(
        reason.contains("longer than 2d") && reason.ends_with("HTTP 502"),
        "{reason}"
    );
    // 0 h … 48 h fail without disabling; the attempt after 48 h disables: 50 attempts.
    assert_eq!(t.receiver.log().len(), 50);
    assert_eq!(t.dispatcher.metrics().counts().disabled, 1);
    assert!(health(&t.store).await.disabled.is_some());
}

#[tokio::test]
async fn run_delivers_when_woken_and_stops_on_shutdown() {
    use ontime_sync::collect::SystemClock;

    let (store, _db) = sqlite().await;
    let secret = WebhookSecret::generate();
    let arrived = Arc::new(tokio::sync::Notify::new());
    let signal = arrived.clone();
    let receiver = Receiver::start(&[&secret], move |_| {
        signal.notify_one();
        ok()
    })
    .await;
    let endpoint = WebhookEndpoint {
        allow_private: true,
        ..WebhookEndpoint::new(receiver.url("/"), SigningKeys::single(secret))
    };
    let dispatcher = Dispatcher::new(
        store.clone(),
        WebhookSink::new(endpoint, SystemClock).unwrap(),
        render,
        DispatchSettings {
            // Long: the delivery below can only be this quick because of the wake-up.
            idle_wait: Duration::from_secs(3600),
            ..settings("w1")
        },
    );
    let waker = dispatcher.waker();
    let metrics = dispatcher.metrics();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(dispatcher.run(SystemClock, async {
        stopped.await.ok();
    }));
    let events = commit_orders(&store, 1..2).await;
    waker.notify_one();
    tokio::time::timeout(Duration::from_secs(30), async {
        while receiver.accepted().len() < events.len() {
            arrived.notified().await;
            waker.notify_one();
        }
    })
    .await
    .expect("every event delivered after the wake-ups");
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(30), running)
        .await
        .expect("run stops on shutdown")
        .unwrap();
    assert_eq!(metrics.counts().delivered, events.len() as u64);
}

#[tokio::test]
async fn two_dispatchers_on_postgres_share_one_outbox_without_duplicates() {
    let Some(db) = TestDb::postgres("dispatch_two").await else {
        return;
    };
    let events = commit_orders(&db.store, 1..31).await;
    let secret = WebhookSecret::generate();
    let receiver = Receiver::start_with_latency(&[&secret], 10, |_| ok()).await;
    let clock = SimClock::new(t0());
    let other = Store::open(&db.url).await.unwrap();
    let make = |store: Store, worker: &str| {
        Dispatcher::new(
            store,
            sink(
                receiver.url("/"),
                SigningKeys::single(secret.clone()),
                &clock,
            ),
            render,
            DispatchSettings {
                concurrency: 8,
                ..settings(worker)
            },
        )
    };
    let (a, b) = (make(db.store.clone(), "a"), make(other.clone(), "b"));
    let run = |mut d: HookDispatcher| async move {
        let mut report = StepReport::default();
        for _ in 0..200 {
            let r = d.step(t0()).await.unwrap();
            report.claimed += r.claimed;
            report.counts.delivered += r.counts.delivered;
            if r.claimed == 0 {
                break;
            }
        }
        report
    };
    let (ra, rb) = tokio::join!(run(a), run(b));
    let (ra, rb) = (ra.counts.delivered, rb.counts.delivered);
    let accepted = receiver.accepted();
    assert_eq!(accepted.len(), events.len());
    assert!(
        accepted.values().all(|n| *n == 1),
        "an event delivered twice"
    );
    assert_eq!((ra + rb) as usize, events.len());
    assert!(ra > 0 && rb > 0, "both dispatchers worked: {ra} and {rb}");
    assert_per_subject_order(&receiver.log());
    assert_eq!(health(&db.store).await.backlog, 0);
    other.close().await;
    db.finish().await;
}

#[tokio::test]
async fn a_configured_webhook_is_wired_with_its_redaction_policy() {
    use ontime_sync::config::{Secrets, SyncConfig};

    let (store, _db) = sqlite().await;
    let events = commit_orders(&store, 1..3).await;
    let secret = WebhookSecret::generate();
    let receiver = Receiver::start(&[&secret], |_| ok()).await;
    let toml = format!(
        r#"
[store]
url = "sqlite://events.db"

[[account]]
name = "{ACCOUNT}"
api_key_env = "KEY"
time_zone = "America/Chicago"
plan = {{ daily = 1000 }}

[[webhook]]
name = "{HOOK}"
url = "http://{}/in"
allow_private = true
secrets = [{{ env = "HOOK_SECRET" }}]
event_types = ["order.*"]
policy = {{ tracking_number = "drop" }}
"#,
        receiver.addr
    );
    let exposed = secret.expose();
    let env = move |name: &str| match name {
        "KEY" => Some("api-key".to_owned()),
        "HOOK_SECRET" => Some(exposed.clone()),
        _ => None,
    };
    let config = SyncConfig::parse(
        std::path::Path::new("/tmp/sync.toml"),
        &toml,
        Secrets::Read,
        &env,
    )
    .unwrap();
    assert_eq!(config.destinations_for(ACCOUNT), [HOOK]);
    let clock = SimClock::new(t0());
    let mut dispatcher = config.webhooks[0]
        .dispatcher(store.clone(), clock.clone(), "w1")
        .unwrap();
    drive(&mut dispatcher, &clock, t0(), t0(), TimeDelta::minutes(1)).await;
    let orders: Vec<&Event> = events
        .iter()
        .filter(|e| e.event_type.as_str().starts_with("order."))
        .collect();
    assert_eq!(receiver.accepted().len(), orders.len());
    let tracking: Vec<String> = events
        .iter()
        .filter_map(|e| e.order.as_ref()?.tracking_number.clone())
        .collect();
    assert!(!tracking.is_empty());
    for r in receiver.log() {
        assert_eq!(r.verified, [true]);
        let body = String::from_utf8(r.body.to_vec()).unwrap();
        assert!(!body.contains("tracking_number"), "{body}");
        assert!(
            tracking.iter().all(|t| !body.contains(t.as_str())),
            "{body}"
        );
        assert!(body.contains(&r.id), "the body is the event: {body}");
    }
}
