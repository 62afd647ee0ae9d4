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
use ontime_sync::event::{AccountConfig, Event, ItemRef, OrderSource, StatusStep};
use ontime_sync::policy::{RedactionPolicy, Redactor};
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
    let sink = WebhookSink::new(endpoint, SystemClock)?;
    let settings = DispatchSettings {
        concurrency: CONCURRENCY as u32,
        ..DispatchSettings::new(DESTINATION, "bench")
    };
    let mut dispatcher = Dispatcher::new(
        store.clone(),
        sink,
        Redactor::new(RedactionPolicy::default(), None)?,
        settings,
    );
    let mut workload = Workload::new();
    let baseline = Baseline::connect(receiver.addr).await?;

    // Warm-up (connections opened, the store's pages cached): one short round each, unmeasured.
    let warm = workload.events(per_round / 5);
    queue(&store, &warm).await?;
    drain(&mut dispatcher).await?;
    baseline.post(&requests(&warm, &redactor, &secret)).await?;

    let mut pairs = Vec::with_capacity(rounds);
    let (mut real_rates, mut bare_rates) = (Vec::new(), Vec::new());
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
                real = delivered as f64 / elapsed.as_secs_f64();
                delivered
            } else {
                let elapsed = baseline.post(&bodies).await?;
                bare = bodies.len() as f64 / elapsed.as_secs_f64();
                bodies.len() as u64
            };
            let got = receiver.received() - before;
            if got != sent || sent != count {
                return Err(
                    format!("round {round}: {sent} of {count} sent, the receiver got {got}").into(),
                );
            }
        }
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
    info(NAME, &format!("receiver_requests={}", receiver.received()));
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

/// Steps until a step claims nothing; returns the deliveries and the time it took.
async fn drain(
    dispatcher: &mut Dispatcher<Store, WebhookSink<SystemClock>>,
) -> Result<(u64, Duration), BoxError> {
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
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
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
