//! Webhook deliveries per second through the outbox and the dispatcher, against a bare hyper
//! client posting the same signed bodies.
//!
//! Figure `sqlite_ratio` (goal ≥ 0.8): deliveries/s of the real path divided by requests/s of
//! the baseline, both at concurrency 32 against one receiver on 127.0.0.1 (axum, answering
//! `200` with an empty body after reading the request; it runs on a thread of its own, the same
//! for both sides).
//!
//! - **Real path**: events committed into a SQLite store (a temporary file) queued for one
//!   destination (not timed); then, timed, a [`Dispatcher`] with a [`WebhookSink`] steps until
//!   the outbox is empty: ordered claims of up to 32, bodies rendered through the default
//!   redaction policy ([`RedactionPolicy::default`]), signed (Standard Webhooks), sent
//!   concurrently by reqwest, completions recorded in one transaction per step.
//! - **Baseline**: 32 hyper HTTP/1.1 keep-alive connections, each posting back to back from a
//!   shared list of the same bodies (rendered by the same redactor) with the same headers
//!   (`content-type`, `webhook-id`, `webhook-timestamp`, `webhook-signature`, `user-agent`),
//!   signed beforehand: the floor of sending these requests from this process.
//!
//! Diagnostics (`INFO`): the same [`WebhookSink`] alone (32 workers calling `send_one` back to
//! back, no store) each round, its rate against both sides (how much is the HTTP client and
//! signing, how much the dispatcher's step structure and store); the share of the real path's
//! time spent in claims, rendering, sends (signing included) and completions, measured by
//! stopwatch wrappers around the dispatcher's store, sink and renderer; signing's cost per
//! delivery.
//!
//! Rounds alternate (which side goes first alternates too) and the figure is the median of the
//! per-round ratios ([`paired_ratio`]). Absolute rates and the receiver's count are `INFO`
//! lines; a round in which the receiver did not get every delivery exactly once fails the run.
//!
//! `--quick`: 5 rounds of 1,500 deliveries (else 9 of 4,000).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, TimeDelta};
use chrono::{NaiveDate, Utc};
use http::header::{CONTENT_TYPE, HOST, USER_AGENT};
use http::{HeaderValue, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use ontime::lenient::OnTimeDateTime;
use ontime::types::Status;
use ontime::{OrderId, StatusId, StatusLevel, UserId};
use ontime_bench::{info, paired_ratio, quick, report};
use ontime_sync::collect::SystemClock;
use ontime_sync::deliver::dispatch::{DispatchSettings, Dispatcher, Render};
use ontime_sync::deliver::signature::{
    ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookSecret,
};
use ontime_sync::deliver::webhook::{SigningKeys, WebhookEndpoint, WebhookSink};
use ontime_sync::deliver::{Delivery, Outcome, Sink};
use ontime_sync::event::{AccountConfig, Event, ItemRef, OrderSource, StatusStep};
use ontime_sync::policy::{RedactionPolicy, Redactor};
use ontime_sync::store::StoreError;
use ontime_sync::store::outbox::{Claim, DeliveryStore, DestinationHealth, Redeliver};
use ontime_sync::store::{Commit, EventStore, Store};
use tokio::net::TcpStream;
use uuid::Uuid;

const NAME: &str = "webhook_dispatch";
const ACCOUNT: &str = "bench-couriers";
const DESTINATION: &str = "webhook:bench";
const CONCURRENCY: usize = 32;
const RATIO_GOAL: f64 = 0.8;
const DRIVERS: u128 = 20;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), BoxError> {
    let quick = quick();
    let (rounds, per_round) = if quick { (5, 1_500) } else { (9, 4_000) };
    let receiver = Receiver::start()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(compare(&receiver, rounds, per_round))
}

// ---------------------------------------------------------------------------------------------
// The receiver: its own thread and runtime, the same for both sides.

struct Receiver {
    addr: SocketAddr,
    received: Arc<AtomicU64>,
}

impl Receiver {
    fn start() -> Result<Self, BoxError> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let received = Arc::new(AtomicU64::new(0));
        let counter = received.clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::spawn(move || {
            runtime.block_on(async move {
                let router = axum::Router::new().fallback(move |body: axum::body::Bytes| {
                    let counter = counter.clone();
                    async move {
                        if !body.is_empty() {
                            counter.fetch_add(1, Ordering::Relaxed);
                        }
                        StatusCode::OK
                    }
                });
                match tokio::net::TcpListener::from_std(listener) {
                    Ok(listener) => {
                        if let Err(error) = axum::serve(listener, router).await {
                            eprintln!("receiver stopped: {error}");
                        }
                    }
                    Err(error) => eprintln!("receiver could not listen: {error}"),
                }
            });
        });
        Ok(Self { addr, received })
    }

    fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }
}

// ---------------------------------------------------------------------------------------------
// The comparison.

async fn compare(receiver: &Receiver, rounds: usize, per_round: usize) -> Result<(), BoxError> {
    let dir = tempfile::tempdir()?;
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("events.db").display()
    );
    let store = Store::open(&url).await?;
    let secret = WebhookSecret::generate();
    let redactor = Redactor::new(RedactionPolicy::default(), None)?;
    let endpoint = WebhookEndpoint {
        allow_private: true,
        timeout: Duration::from_secs(15),
        ..WebhookEndpoint::new(
            format!("http://{}/hook", receiver.addr).parse()?,
            SigningKeys::single(secret.clone()),
        )
    };
    let sink = WebhookSink::new(endpoint.clone(), SystemClock)?;
    let settings = DispatchSettings {
        concurrency: CONCURRENCY as u32,
        ..DispatchSettings::new(DESTINATION, "bench")
    };
    // The diagnostic side: the same sink type (reqwest, signing) without the outbox.
    let bare_sink = WebhookSink::new(endpoint.clone(), SystemClock)?;
    let spent = Arc::new(Spent::default());
    let mut dispatcher = Dispatcher::new(
        Timed(store.clone(), spent.clone()),
        Timed(sink, spent.clone()),
        Timed(
            Redactor::new(RedactionPolicy::default(), None)?,
            spent.clone(),
        ),
        settings,
    );
    let mut workload = Workload::new();
    let baseline = Baseline::connect(receiver.addr).await?;

    // Warm-up (connections opened, the store's pages cached): one short round each, unmeasured.
    let warm = workload.events(per_round / 5);
    queue(&store, &warm).await?;
    drain(&mut dispatcher).await?;
    baseline.post(&requests(&warm, &redactor, &secret)).await?;

    spent.reset();
    let mut real_total = Duration::ZERO;
    let mut pairs = Vec::with_capacity(rounds);
    let (mut real_rates, mut bare_rates, mut sink_rates) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let events = workload.events(per_round);
        queue(&store, &events).await?;
        let bodies = requests(&events, &redactor, &secret);
        let count = events.iter().map(Vec::len).sum::<usize>() as u64;
        let mut real = 0.0;
        let mut bare = 0.0;
        for side in 0..2 {
            let before = receiver.received();
            let sent = if (side + round) % 2 == 0 {
                let (delivered, elapsed) = drain(&mut dispatcher).await?;
                real_total += elapsed;
                real = delivered as f64 / elapsed.as_secs_f64();
                delivered
            } else {
                let elapsed = baseline.post(&bodies).await?;
                bare = bodies.len() as f64 / elapsed.as_secs_f64();
                bodies.len() as u64
            };
            let got = receiver.received() - before;
            if got != sent || sent != count {
                return Err(format!(
                    "round {round}: {sent} of {count} sent, the receiver got {got}"
                )
                .into());
            }
        }
        // Diagnostic, not part of the figure: the sink alone at concurrency 32.
        let deliveries = deliveries(&events, &redactor);
        let before = receiver.received();
        let elapsed = sink_alone(&bare_sink, &deliveries).await?;
        if receiver.received() - before != deliveries.len() as u64 {
            return Err(format!("round {round}: the sink alone lost deliveries").into());
        }
        sink_rates.push(deliveries.len() as f64 / elapsed.as_secs_f64());
        real_rates.push(real);
        bare_rates.push(bare);
        pairs.push((real, bare));
    }
    let ratio = paired_ratio(&pairs).ok_or("no ratio could be formed")?;
    info(
        NAME,
        &format!(
            "sqlite_ratio {} deliveries/round={per_round} concurrency={CONCURRENCY}",
            ratio.spread_text()
        ),
    );
    info(
        NAME,
        &format!(
            "real_deliveries_per_s median={:.0} baseline_requests_per_s median={:.0}",
            ontime_bench::median(&real_rates).unwrap_or(0.0),
            ontime_bench::median(&bare_rates).unwrap_or(0.0)
        ),
    );
    let sink_ratio = paired_ratio(
        &sink_rates
            .iter()
            .copied()
            .zip(bare_rates.iter().copied())
            .collect::<Vec<_>>(),
    );
    let real_to_sink = paired_ratio(
        &real_rates
            .iter()
            .copied()
            .zip(sink_rates.iter().copied())
            .collect::<Vec<_>>(),
    );
    info(
        NAME,
        &format!(
            "sink_alone_deliveries_per_s median={:.0} sink_alone_vs_bare={:.3} real_vs_sink_alone={:.3}",
            ontime_bench::median(&sink_rates).unwrap_or(0.0),
            sink_ratio.map_or(f64::NAN, |r| r.median),
            real_to_sink.map_or(f64::NAN, |r| r.median),
        ),
    );
    info(NAME, &format!("receiver_requests={}", receiver.received()));
    info(NAME, &spent.breakdown(real_total));
    let sample = requests(&workload.events(1_000), &redactor, &secret);
    let started = Instant::now();
    let timestamp = Utc::now().timestamp();
    for signed in &sample {
        let _ = secret.sign(
            signed.id.to_str().unwrap_or_default(),
            timestamp,
            &signed.body,
        );
    }
    info(
        NAME,
        &format!(
            "signing_us_per_delivery={:.2} body_bytes_mean={:.0}",
            started.elapsed().as_secs_f64() * 1e6 / sample.len().max(1) as f64,
            sample.iter().map(|s| s.body.len()).sum::<usize>() as f64 / sample.len().max(1) as f64
        ),
    );
    report(
        NAME,
        "sqlite_ratio",
        ratio.median,
        &format!(">={RATIO_GOAL}"),
        ratio.median >= RATIO_GOAL,
    );
    Ok(())
}

/// Commits `events` (one commit per order) queued for the destination.
async fn queue(store: &Store, events: &[Vec<Event>]) -> Result<(), BoxError> {
    for order in events {
        let commit = Commit::new(ACCOUNT)
            .events(order.iter().cloned())
            .destination(DESTINATION);
        store.commit(commit).await?;
    }
    Ok(())
}

type RealDispatcher = Dispatcher<Timed<Store>, Timed<WebhookSink<SystemClock>>>;

/// Steps until a step claims nothing; returns the deliveries and the time it took.
async fn drain(dispatcher: &mut RealDispatcher) -> Result<(u64, Duration), BoxError> {
    let started = Instant::now();
    let mut delivered = 0;
    loop {
        let report = dispatcher.step(Utc::now()).await?;
        if report.counts.retried + report.counts.dead > 0 {
            return Err(format!("a delivery failed: {:?}", report.counts).into());
        }
        delivered += report.counts.delivered;
        if report.claimed == 0 {
            return Ok((delivered, started.elapsed()));
        }
    }
}

/// The deliveries the dispatcher would hand its sink for `events` (rendered the same way).
fn deliveries(events: &[Vec<Event>], redactor: &Redactor) -> Vec<Delivery> {
    events
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, event)| Delivery {
            destination: DESTINATION.to_owned(),
            position: i as u64 + 1,
            event: event.clone(),
            body: Bytes::from(redactor.to_body(event)),
            attempt: 0,
        })
        .collect()
}

/// The sink alone: 32 workers, each sending the next unsent delivery with
/// [`WebhookSink::send_one`] (signing included), no store; returns the time it took.
async fn sink_alone(
    sink: &WebhookSink<SystemClock>,
    deliveries: &[Delivery],
) -> Result<Duration, BoxError> {
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    let outcomes = futures::future::join_all((0..CONCURRENCY).map(|_| async {
        let mut failed = 0;
        while let Some(delivery) = deliveries.get(next.fetch_add(1, Ordering::Relaxed)) {
            if sink.send_one(delivery).await != Outcome::Delivered {
                failed += 1;
            }
        }
        failed
    }))
    .await;
    let elapsed = started.elapsed();
    if outcomes.iter().sum::<u32>() > 0 {
        return Err("the sink alone failed deliveries".into());
    }
    Ok(elapsed)
}

/// One request of the baseline: id, signature header, body.
struct Signed {
    id: HeaderValue,
    signature: HeaderValue,
    body: Bytes,
}

/// The bodies the dispatcher sends for `events`, signed now.
fn requests(events: &[Vec<Event>], redactor: &Redactor, secret: &WebhookSecret) -> Vec<Signed> {
    let timestamp = Utc::now().timestamp();
    events
        .iter()
        .flatten()
        .filter_map(|event| {
            let body = Bytes::from(Render::render(redactor, event));
            let id = event.event_id.as_str();
            let signature = secret.sign(id, timestamp, &body);
            Some(Signed {
                id: HeaderValue::from_str(id).ok()?,
                signature: HeaderValue::from_str(&signature).ok()?,
                body,
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Where the real path's time goes: the dispatcher's store, sink and renderer, each wrapped in a
// stopwatch (the dispatcher itself is unchanged).

/// Nanoseconds spent per part.
#[derive(Default)]
struct Spent {
    claim: AtomicU64,
    render: AtomicU64,
    send: AtomicU64,
    complete: AtomicU64,
}

impl Spent {
    fn reset(&self) {
        for part in [&self.claim, &self.render, &self.send, &self.complete] {
            part.store(0, Ordering::Relaxed);
        }
    }

    fn add(part: &AtomicU64, since: Instant) {
        part.fetch_add(
            u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// `real_path_time_share claim=.. render=.. send=.. complete=.. other=..`
    fn breakdown(&self, total: Duration) -> String {
        let total = total.as_nanos().max(1) as f64;
        let parts = [
            ("claim", self.claim.load(Ordering::Relaxed)),
            ("render", self.render.load(Ordering::Relaxed)),
            ("send_sign", self.send.load(Ordering::Relaxed)),
            ("complete", self.complete.load(Ordering::Relaxed)),
        ];
        let known: u64 = parts.iter().map(|(_, n)| n).sum();
        let mut text = String::from("real_path_time_share");
        for (name, nanos) in parts {
            text.push_str(&format!(" {name}={:.3}", nanos as f64 / total));
        }
        text.push_str(&format!(" other={:.3}", 1.0 - known as f64 / total));
        text
    }
}

/// A part of the dispatcher with a stopwatch.
struct Timed<T>(T, Arc<Spent>);

impl Render for Timed<Redactor> {
    fn render(&self, event: &Event) -> Vec<u8> {
        let started = Instant::now();
        let body = self.0.to_body(event);
        Spent::add(&self.1.render, started);
        body
    }
}

impl<K: Sink> Sink for Timed<K> {
    async fn send(&self, batch: Vec<Delivery>) -> Vec<Outcome> {
        let started = Instant::now();
        let outcomes = self.0.send(batch).await;
        Spent::add(&self.1.send, started);
        outcomes
    }
}

impl<S: DeliveryStore> DeliveryStore for Timed<S> {
    async fn claim_deliveries(
        &self,
        destination: &str,
        worker: &str,
        limit: u32,
        ordered: bool,
        ttl: TimeDelta,
        now: DateTime<Utc>,
    ) -> Result<Vec<Claim>, StoreError> {
        let started = Instant::now();
        let claims = self
            .0
            .claim_deliveries(destination, worker, limit, ordered, ttl, now)
            .await;
        Spent::add(&self.1.claim, started);
        claims
    }

    async fn complete_delivery(&self, claim: &Claim, now: DateTime<Utc>) -> Result<(), StoreError> {
        let started = Instant::now();
        let done = self.0.complete_delivery(claim, now).await;
        Spent::add(&self.1.complete, started);
        done
    }

    async fn complete_deliveries(
        &self,
        claims: &[Claim],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let started = Instant::now();
        let done = self.0.complete_deliveries(claims, now).await;
        Spent::add(&self.1.complete, started);
        done
    }

    async fn retry_delivery(
        &self,
        claim: &Claim,
        next_attempt_at: DateTime<Utc>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.0
            .retry_delivery(claim, next_attempt_at, reason, now)
            .await
    }

    async fn dead_letter(
        &self,
        claim: &Claim,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.0.dead_letter(claim, reason, now).await
    }

    async fn disable_destination(
        &self,
        destination: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.0.disable_destination(destination, reason, now).await
    }

    async fn enable_destination(
        &self,
        destination: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.0.enable_destination(destination, now).await
    }

    async fn redeliver(&self, what: &Redeliver, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.0.redeliver(what, now).await
    }

    async fn destination_health(&self) -> Result<Vec<DestinationHealth>, StoreError> {
        self.0.destination_health().await
    }
}

// ---------------------------------------------------------------------------------------------
// The baseline: bare hyper connections.

struct Baseline {
    addr: SocketAddr,
    senders: Vec<tokio::sync::Mutex<hyper::client::conn::http1::SendRequest<Full<Bytes>>>>,
}

impl Baseline {
    async fn connect(addr: SocketAddr) -> Result<Self, BoxError> {
        let mut senders = Vec::with_capacity(CONCURRENCY);
        for _ in 0..CONCURRENCY {
            let stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let (sender, conn) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            senders.push(tokio::sync::Mutex::new(sender));
        }
        Ok(Self { addr, senders })
    }

    /// Posts every request over the connections (each takes the next unsent one); returns the
    /// time it took.
    async fn post(&self, requests: &[Signed]) -> Result<Duration, BoxError> {
        let next = AtomicUsize::new(0);
        let host = HeaderValue::from_str(&self.addr.to_string())?;
        let timestamp = HeaderValue::from(Utc::now().timestamp());
        let agent = HeaderValue::from_static(concat!("ontime-sync/", env!("CARGO_PKG_VERSION")));
        let json = HeaderValue::from_static("application/json");
        let started = Instant::now();
        let results = futures::future::join_all(self.senders.iter().map(|sender| async {
            let mut sender = sender.lock().await;
            loop {
                let Some(signed) = requests.get(next.fetch_add(1, Ordering::Relaxed)) else {
                    return Ok::<(), BoxError>(());
                };
                let request = Request::post("/hook")
                    .header(HOST, host.clone())
                    .header(CONTENT_TYPE, json.clone())
                    .header(USER_AGENT, agent.clone())
                    .header(ID_HEADER, signed.id.clone())
                    .header(TIMESTAMP_HEADER, timestamp.clone())
                    .header(SIGNATURE_HEADER, signed.signature.clone())
                    .body(Full::new(signed.body.clone()))?;
                sender.ready().await?;
                let response = sender.send_request(request).await?;
                let ok = response.status().is_success();
                response.into_body().collect().await?;
                if !ok {
                    return Err("the receiver refused a baseline request".into());
                }
            }
        }))
        .await;
        let elapsed = started.elapsed();
        results.into_iter().collect::<Result<Vec<()>, _>>()?;
        Ok(elapsed)
    }
}

// ---------------------------------------------------------------------------------------------
// The events: synthetic order histories.

struct Workload {
    account: AccountConfig,
    next_order: u128,
}

impl Workload {
    fn new() -> Self {
        Self {
            account: AccountConfig::new(ACCOUNT, chrono_tz::America::Chicago),
            next_order: 1,
        }
    }

    /// Whole orders' events, at least `events` in all, grouped by order.
    fn events(&mut self, events: usize) -> Vec<Vec<Event>> {
        let mut out = Vec::new();
        let mut total = 0;
        while total < events {
            let n = self.next_order;
            self.next_order += 1;
            let order = ontime_sync::event::derive_order_events(&self.account, &order_source(n));
            total += order.len();
            out.push(order);
        }
        out
    }
}

fn local_time(seconds: i64) -> OnTimeDateTime {
    let base = NaiveDate::from_ymd_opt(2026, 3, 2)
        .and_then(|d| d.and_hms_opt(6, 0, 0))
        .expect("fixed date");
    let at = base + chrono::Duration::seconds(seconds % (12 * 3600));
    at.format("%Y-%m-%dT%H:%M:%S")
        .to_string()
        .parse()
        .expect("OnTime date-time")
}

/// Order `n`: submitted, assigned, picked up, delivered; one or two items.
fn order_source(n: u128) -> OrderSource {
    let courier = Some(UserId::from_uuid(Uuid::from_u128(
        0x0d00_0000_0000_0000_0000_0000_0000_0000 + n % DRIVERS,
    )));
    let start = (n % 40_000) as i64 * 3;
    let observed = Utc::now();
    let entry = |k: u128, level: StatusLevel, label: Option<&str>, minutes: i64| StatusStep {
        status: Status {
            description: None,
            id: Some(StatusId::from_uuid(Uuid::from_u128(
                0x0500_0000_0000_0000_0000_0000_0000_0000 + n * 8 + k,
            ))),
            level: Some(level),
            name: label.map(str::to_owned),
            timestamp: Some(local_time(start + minutes * 60)),
            extra: Default::default(),
        },
        driver: (k >= 2).then_some(courier).flatten(),
        observed_at: observed,
    };
    let tracking = format!("{:08}", n % 100_000_000);
    OrderSource {
        order_id: OrderId::from_uuid(Uuid::from_u128(
            0x0a00_0000_0000_0000_0000_0000_0000_0000 + n,
        )),
        items: (1..=1 + (n % 2))
            .map(|i| ItemRef {
                id: None,
                tracking_number: format!("{tracking}-{i:03}"),
            })
            .collect(),
        tracking_number: Some(tracking),
        steps: vec![
            entry(1, StatusLevel::Dispatched, None, 0),
            entry(2, StatusLevel::Assigned, None, 5),
            entry(3, StatusLevel::AssignedInRoute, Some("Picked up"), 30),
            entry(4, StatusLevel::Delivered, None, 90),
        ],
    }
}
