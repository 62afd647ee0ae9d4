//! From a change in a living account to a verified webhook at a receiver, in real time.
//!
//! The simulator runs its activity in running mode with its clock at real speed (the clock is
//! the wall clock: UTC offset 0, speed 1), creating orders at 7,200 an hour and moving them
//! along; every status change sends a workflow notification to an inbound endpoint served on
//! 127.0.0.1. An [`AccountRunner`] with the inbound source only ticks at its own schedule
//! (the inbound queue is looked at every second) and commits the events it fetched. Each new
//! event is then queued for one webhook destination ([`Redeliver::Event`]: the runner does not
//! queue for destinations yet) and the [`Dispatcher`] (SQLite outbox, [`WebhookSink`], default
//! redaction policy, running on the wall clock, woken after each queueing) sends it to a
//! receiver on 127.0.0.1 that recomputes the HMAC-SHA256 of every request itself.
//!
//! Figures, over the order status changes the simulator made during the run (30 s with
//! `--quick`, else 3 minutes):
//! - `latency_p95_s` (goal ≤ 5 s): from the change's own time to the first verified receipt
//!   of its event; `INFO` gives p50, max and the stage times (change → stored, stored →
//!   received). The change's time is its status entry's timestamp (whole seconds: the
//!   simulator applies a change when its clock reaches that time) turned into wall-clock time
//!   with the simulator clock's measured offset (it starts at the current whole second);
//!   a change applied late by the simulator's task counts that delay as latency.
//! - `exactly_once` (goal 1): the share of changes whose event the receiver accepted exactly
//!   once by `webhook-id` with a valid signature (a missing, doubled or unverified one counts
//!   against it); `INFO` gives the counts.
//!
//! After the run, the pipeline gets up to 20 s to deliver what was changed during it.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use chrono::{DateTime, FixedOffset, TimeDelta, Utc};
use hmac::{Hmac, Mac};
use ontime_bench::sync_sim::{events_after, percentile};
use ontime_bench::{info, quick, report};
use ontime_mock::{ActivityConfig, Change, NotifyConfig, OnTimeMock};
use ontime_sync::collect::SystemClock;
use ontime_sync::collect::inbound::{Inbound, InboundConfig, InboundToken};
use ontime_sync::config::{AccountSettings, Secrets, SyncConfig};
use ontime_sync::deliver::dispatch::{DispatchSettings, Dispatcher};
use ontime_sync::deliver::signature::WebhookSecret;
use ontime_sync::deliver::webhook::{SigningKeys, WebhookEndpoint, WebhookSink};
use ontime_sync::event::EventId;
use ontime_sync::policy::{RedactionPolicy, Redactor};
use ontime_sync::run::{AccountRunner, Metrics};
use ontime_sync::store::outbox::{DeliveryStore, Redeliver};
use ontime_sync::store::{Store, StoredEvent};
use sha2::Sha256;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

const NAME: &str = "sync_end_to_end";
const ACCOUNT: &str = "e2e";
const HOOK: &str = "webhook:e2e";
const INBOUND_TOKEN: &str = "e2e-inbound-token-0123456789";
const KEY_ENV: &str = "E2E_KEY";
const TOKEN_ENV: &str = "E2E_TOKEN";
/// Orders created per hour (the simulator's clock runs at real speed).
const RATE: f64 = 7_200.0;
const P95_GOAL_S: f64 = 5.0;
/// How long the pipeline may take to deliver the run's changes after it.
const GRACE: Duration = Duration::from_secs(20);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), BoxError> {
    let run_for = if quick() {
        Duration::from_secs(30)
    } else {
        Duration::from_secs(180)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run(run_for))
}

// ---------------------------------------------------------------------------------------------
// The receiver: verifies every request, notes the first receipt of each id.

#[derive(Default)]
struct Receipts {
    /// Per `webhook-id`: verified receipts answered 2xx, and the first one's time.
    accepted: HashMap<String, (u32, DateTime<Utc>)>,
    /// Requests whose signature did not verify (answered 401).
    unverified: u64,
}

struct Receiver {
    key: Vec<u8>,
    receipts: Mutex<Receipts>,
    arrived: Notify,
}

impl Receiver {
    fn handle(&self, headers: &HeaderMap, body: &Bytes) -> StatusCode {
        let at = Utc::now();
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
        };
        let id = header("webhook-id");
        let timestamp = header("webhook-timestamp");
        let verified = header("webhook-signature")
            .split(' ')
            .filter_map(|s| s.strip_prefix("v1,"))
            .filter_map(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
            .any(|signature| {
                let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.key) else {
                    return false;
                };
                mac.update(id.as_bytes());
                mac.update(b".");
                mac.update(timestamp.as_bytes());
                mac.update(b".");
                mac.update(body);
                mac.verify_slice(&signature).is_ok()
            });
        let mut receipts = self.receipts.lock().unwrap_or_else(|p| p.into_inner());
        let status = if verified && !id.is_empty() {
            let entry = receipts.accepted.entry(id.to_owned()).or_insert((0, at));
            entry.0 += 1;
            StatusCode::NO_CONTENT
        } else {
            receipts.unverified += 1;
            StatusCode::UNAUTHORIZED
        };
        drop(receipts);
        self.arrived.notify_waiters();
        status
    }

    fn accepted(&self, ids: &BTreeSet<String>) -> usize {
        let receipts = self.receipts.lock().unwrap_or_else(|p| p.into_inner());
        ids.iter()
            .filter(|id| receipts.accepted.contains_key(*id))
            .count()
    }
}

// ---------------------------------------------------------------------------------------------
// The run.

fn settings(base_url: &str, api_key: &str) -> Result<AccountSettings, BoxError> {
    let text = format!(
        r#"
[store]
url = "sqlite://unused.db"

[[account]]
name = "{ACCOUNT}"
url = "{base_url}"
api_key_env = "{KEY_ENV}"
time_zone = "UTC"
plan = {{ daily = 10000000, share = 1.0, burst = 1000 }}
sources = ["inbound"]
inbound.token_env = "{TOKEN_ENV}"
"#
    );
    let key = api_key.to_owned();
    let env = move |name: &str| match name {
        KEY_ENV => Some(key.clone()),
        TOKEN_ENV => Some(INBOUND_TOKEN.to_owned()),
        _ => None,
    };
    let config = SyncConfig::parse(Path::new("sync.toml"), &text, Secrets::Read, &env)?;
    config
        .accounts
        .into_iter()
        .next()
        .ok_or_else(|| "no account in the generated sync.toml".into())
}

async fn run(run_for: Duration) -> Result<(), BoxError> {
    // The receiver.
    let secret = WebhookSecret::generate();
    let receiver = Arc::new(Receiver {
        key: secret.key().to_vec(),
        receipts: Mutex::default(),
        arrived: Notify::new(),
    });
    let hook_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hook_url = format!("http://{}/hook", hook_listener.local_addr()?);
    let shared = receiver.clone();
    let hook_router = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
        let receiver = shared.clone();
        async move { receiver.handle(&headers, &body) }
    });
    let hook_server = tokio::spawn(axum::serve(hook_listener, hook_router).into_future());

    // The store.
    let dir = tempfile::tempdir()?;
    let store = Store::open(&format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("events.db").display()
    ))
    .await?;

    // The simulator, notifying the inbound endpoint.
    let inbound_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let notify_url = format!(
        "http://{}/inbound/{INBOUND_TOKEN}",
        inbound_listener.local_addr()?
    );
    let mock = OnTimeMock::builder()
        .seed(5)
        .orders(0)
        .utc_offset(FixedOffset::east_opt(0).ok_or("offset")?)
        .clock_speed(1.0)
        .activity(
            ActivityConfig::new(RATE)
                .seed(5)
                .notify(NotifyConfig::new(&notify_url)?),
        )
        .start()
        .await?;
    let started = Utc::now();
    // The simulator's clock starts at the current second (sub-second part dropped) and then
    // runs at real speed: it is behind the wall clock by a constant `skew`. A change stamped
    // `at` by the simulator happened at `at - skew` on the wall clock.
    let skew = mock.clock().now_utc().and_utc() - Utc::now();
    info(
        NAME,
        &format!(
            "simulator_clock_minus_wall_ms={} rate_per_h={RATE} run_s={}",
            skew.num_milliseconds(),
            run_for.as_secs()
        ),
    );
    let activity = mock.activity().ok_or("the activity is on")?;
    let settings = settings(&mock.base_url(), mock.api_key())?;
    let client = ontime::Client::builder()
        .base_url(mock.base_url())
        .api_key(mock.api_key())
        .build()?;
    let inbound = Inbound::new(
        client.clone(),
        store.clone(),
        settings.account_config(),
        InboundConfig::new(InboundToken::new(INBOUND_TOKEN)?),
        SystemClock,
    );
    let inbound_server =
        tokio::spawn(axum::serve(inbound_listener, inbound.router()).into_future());

    // The dispatcher.
    let endpoint = WebhookEndpoint {
        allow_private: true,
        ..WebhookEndpoint::new(hook_url.parse()?, SigningKeys::single(secret))
    };
    let dispatcher = Dispatcher::new(
        store.clone(),
        WebhookSink::new(endpoint, SystemClock)?,
        Redactor::new(RedactionPolicy::default(), None)?,
        DispatchSettings::new(HOOK, "e2e"),
    );
    let wake = dispatcher.waker();
    let stop = CancellationToken::new();
    let stopped = stop.clone();
    let dispatch = tokio::spawn(dispatcher.run(SystemClock, async move {
        stopped.cancelled().await;
    }));

    // The runner, ticking on the wall clock; each new event queued for the hook.
    let mut runner = AccountRunner::new(
        &settings,
        client,
        store.clone(),
        SystemClock,
        None,
        Arc::new(Metrics::new()),
        Utc::now(),
    )
    .await?;
    let stopped = stop.clone();
    let queue_store = store.clone();
    let collect = tokio::spawn(async move {
        let mut seen = 0;
        let mut stored_at: HashMap<EventId, DateTime<Utc>> = HashMap::new();
        loop {
            let wait = (runner.next_due() - Utc::now())
                .to_std()
                .unwrap_or_default();
            tokio::select! {
                () = stopped.cancelled() => return Ok::<_, BoxError>(stored_at),
                () = tokio::time::sleep(wait) => {}
            }
            runner.tick(Utc::now()).await?;
            let new = events_after(&queue_store, ACCOUNT, seen).await?;
            let now = Utc::now();
            for stored in &new {
                stored_at.insert(stored.event.event_id.clone(), now);
                let what = Redeliver::Event {
                    event_id: stored.event.event_id.clone(),
                    destinations: vec![HOOK.to_owned()],
                };
                queue_store.redeliver(&what, now).await?;
                seen = stored.position;
            }
            if !new.is_empty() {
                wake.notify_one();
            }
        }
    });

    // Run, then give the pipeline its grace to deliver the run's changes.
    tokio::time::sleep(run_for).await;
    let cutoff = Utc::now();
    let mut steps: std::collections::BTreeMap<String, usize> = Default::default();
    let truth: Vec<_> = activity
        .truth()
        .into_iter()
        .filter(|c| c.at.and_utc() - skew <= cutoff)
        .filter_map(|c| match c.change {
            Change::OrderStatus {
                status_id, step, ..
            } => {
                *steps.entry(format!("{step:?}")).or_default() += 1;
                Some((status_id, c.at.and_utc() - skew))
            }
            _ => None,
        })
        .collect();
    let steps: Vec<String> = steps.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    info(NAME, &format!("order_changes_by_step {}", steps.join(",")));
    let deadline = tokio::time::Instant::now() + GRACE;
    let expected: BTreeSet<String>;
    loop {
        let arrived = receiver.arrived.notified();
        let events = events_after(&store, ACCOUNT, 0).await?;
        let by_status = order_events(&events);
        let ids: BTreeSet<String> = truth
            .iter()
            .filter_map(|(s, _)| by_status.get(s))
            .flatten()
            .map(|e| e.as_str().to_owned())
            .collect();
        let all_found = truth.iter().all(|(s, _)| by_status.contains_key(s));
        if (all_found && receiver.accepted(&ids) == ids.len())
            || tokio::time::Instant::now() >= deadline
        {
            expected = ids;
            break;
        }
        let _ = tokio::time::timeout_at(deadline, arrived).await;
    }
    stop.cancel();
    let stored_at = collect.await??;
    dispatch.await?;
    inbound_server.abort();
    hook_server.abort();
    let notified = activity.notify_stats().sent;
    mock.shutdown().await;

    // Evaluate.
    let events = events_after(&store, ACCOUNT, 0).await?;
    let by_status = order_events(&events);
    let receipts = receiver.receipts.lock().unwrap_or_else(|p| p.into_inner());
    let (mut once, mut missing, mut doubled, mut split) = (0usize, 0usize, 0usize, 0usize);
    let (mut latencies, mut to_store, mut to_receipt) = (Vec::new(), Vec::new(), Vec::new());
    for (status_id, at) in &truth {
        let ids = by_status
            .get(status_id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let [id] = ids else {
            if ids.is_empty() {
                missing += 1;
            } else {
                split += 1;
            }
            continue;
        };
        match receipts.accepted.get(id.as_str()) {
            None => missing += 1,
            Some((count, received)) => {
                if *count == 1 {
                    once += 1;
                } else {
                    doubled += 1;
                }
                latencies.push(seconds(*received - *at));
                if let Some(stored) = stored_at.get(id) {
                    to_store.push(seconds(*stored - *at));
                    to_receipt.push(seconds(*received - *stored));
                }
            }
        }
    }
    let changes = truth.len();
    let share = if changes == 0 {
        0.0
    } else {
        once as f64 / changes as f64
    };
    let pct = |values: &[f64], p: f64| percentile(values, p).unwrap_or(f64::NAN);
    info(
        NAME,
        &format!(
            "changes={changes} received_once={once} missing={missing} doubled={doubled} \
             several_events_per_change={split} unverified_requests={} notifications={notified} \
             events_stored={} wall_s={:.1}",
            receipts.unverified,
            events.len(),
            seconds(Utc::now() - started),
        ),
    );
    info(
        NAME,
        &format!(
            "latency_s p50={:.3} p95={:.3} max={:.3} change_to_stored p50={:.3} p95={:.3} \
             stored_to_received p50={:.3} p95={:.3}",
            pct(&latencies, 50.0),
            pct(&latencies, 95.0),
            latencies.iter().copied().fold(0.0, f64::max),
            pct(&to_store, 50.0),
            pct(&to_store, 95.0),
            pct(&to_receipt, 50.0),
            pct(&to_receipt, 95.0),
        ),
    );
    let p95 = pct(&latencies, 95.0);
    report(
        NAME,
        "latency_p95_s",
        p95,
        &format!("<={P95_GOAL_S}"),
        p95 <= P95_GOAL_S && !latencies.is_empty(),
    );
    report(
        NAME,
        "exactly_once",
        share,
        "=1",
        changes > 0 && once == changes && expected.len() == changes,
    );
    Ok(())
}

fn seconds(delta: TimeDelta) -> f64 {
    delta.num_milliseconds() as f64 / 1_000.0
}

/// The order events' ids per OnTime status entry.
fn order_events(events: &[StoredEvent]) -> HashMap<uuid::Uuid, Vec<EventId>> {
    let mut by_status: HashMap<uuid::Uuid, Vec<EventId>> = HashMap::new();
    for stored in events {
        let event = &stored.event;
        if !event.event_type.as_str().starts_with("order.") {
            continue;
        }
        if let Some(id) = event.ontime.as_ref().and_then(|o| o.status_id) {
            by_status
                .entry(id.as_uuid())
                .or_default()
                .push(event.event_id.clone());
        }
    }
    by_status
}
