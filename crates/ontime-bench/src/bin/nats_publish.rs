//! Events published into NATS JetStream through `ontime-sync`'s [`NatsSink`], against a bare
//! async-nats publisher of the same messages.
//!
//! Figure:
//! - `ratio`: events/s through [`NatsSink::send`] (subject from the rendered body, `Nats-Msg-Id`
//!   header, pipelined publish, one outcome per delivery after its PubAck) divided by events/s
//!   of a bare publisher that sends the same bodies with the same `Nats-Msg-Id` header to the
//!   same subjects (formatted from the event's fields) and awaits the same PubAcks, pipelined
//!   the same way (a batch sent, then its acks awaited). Batches of [`BATCH`] deliveries, the
//!   dispatcher's unit. Each side has a stream of its own with the same configuration (file
//!   storage, the sink's default duplicate window of 2 h), on the same server, over one
//!   connection each. Goal ≥ 0.8 (the sink costs little beside the round trips). Rounds of the
//!   two sides alternate (and so does which side goes first); every round publishes events
//!   never published before; the figure is the median of the per-round ratios
//!   ([`paired_ratio`]). Absolute events/s are printed as `INFO` lines, and so is the ratio
//!   at batches of 32 (a small dispatcher batch, where round trips dominate).
//!
//! Server: `ONTIME_TEST_NATS_URL` (default `nats://127.0.0.1:4222`); the two streams are this
//! run's own and deleted afterwards. When no server answers the figure is skipped (an `INFO`
//! line, no `RESULT`), unless `ONTIME_REQUIRE_SERVICES=1`: then it is reported as FAIL.

use std::time::{Duration, Instant};

use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::{Config as StreamConfig, StorageType};
use async_nats::jetstream::{self, Context};
use bytes::Bytes;
use chrono::{TimeZone, Utc};
use ontime::types::Status;
use ontime::{OrderId, StatusId, StatusLevel, UserId};
use ontime_bench::{info, median, paired_ratio, quick, report};
use ontime_sync::deliver::nats::{DEFAULT_DUPLICATE_WINDOW, DEFAULT_TIMEOUT, NatsConfig, NatsSink};
use ontime_sync::deliver::{Delivery, Outcome, Sink};
use ontime_sync::event::{AccountConfig, OrderSource, StatusStep, derive_order_events};
use uuid::Uuid;

const NAME: &str = "nats_publish";
const DEFAULT_NATS: &str = "nats://127.0.0.1:4222";
const GOAL: f64 = 0.8;
/// Deliveries per `send` (the dispatcher's claim batch) for the figure...
const BATCH: usize = 256;
/// ...and for the `INFO` comparison at a small batch.
const SMALL_BATCH: usize = 32;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), BoxError> {
    let quick = quick();
    let plan = Plan {
        rounds: if quick { 5 } else { 9 },
        events_per_round: if quick { 2_000 } else { 10_000 },
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(&plan))
}

/// How long the comparison runs.
struct Plan {
    rounds: usize,
    events_per_round: usize,
}

async fn run(plan: &Plan) -> Result<(), BoxError> {
    let url = std::env::var("ONTIME_TEST_NATS_URL").unwrap_or_else(|_| DEFAULT_NATS.to_owned());
    let pid = std::process::id();
    let sink_config = NatsConfig {
        subject_prefix: format!("ontimebench.{pid}.sink"),
        ..NatsConfig::new(url.clone(), format!("BENCH_NATS_SINK_{pid}"))
    };
    let bare_stream = format!("BENCH_NATS_BARE_{pid}");
    let bare_prefix = format!("ontimebench.{pid}.bare");

    let sink = NatsSink::new(sink_config.clone())?;
    if let Err(why) = sink.ensure_ready().await {
        info(NAME, &format!("NATS unreachable: {why}"));
        if std::env::var("ONTIME_REQUIRE_SERVICES").as_deref() == Ok("1") {
            report(NAME, "ratio", 0.0, &format!(">={GOAL}"), false);
        } else {
            info(
                NAME,
                "figure skipped (not measured; ONTIME_REQUIRE_SERVICES=1 makes this a failure)",
            );
        }
        return Ok(());
    }
    let client = async_nats::connect(url.as_str()).await?;
    // The sink's context settings: the same timeout, acks outstanding without a limit in reach.
    let js = jetstream::ContextBuilder::new()
        .timeout(DEFAULT_TIMEOUT)
        .max_ack_inflight(1 << 16)
        .build(client);
    let measured = async {
        js.create_stream(StreamConfig {
            name: bare_stream.clone(),
            subjects: vec![format!("{bare_prefix}.>")],
            storage: StorageType::File,
            duplicate_window: DEFAULT_DUPLICATE_WINDOW,
            ..Default::default()
        })
        .await?;
        let bare = Bare {
            js: &js,
            prefix: &bare_prefix,
        };
        let mut workload = Workload::new();
        for batch in [BATCH, SMALL_BATCH] {
            let rounds = compare(&sink, &bare, &mut workload, plan, batch).await?;
            summarise(&rounds, batch);
        }
        Ok::<_, BoxError>(())
    }
    .await;
    for stream in [&sink_config.stream, &bare_stream] {
        if let Err(e) = js.delete_stream(stream).await {
            eprintln!("{NAME}: could not delete the benchmark stream {stream}: {e}");
        }
    }
    measured
}

/// One round's events/s: (sink, bare).
type Round = (f64, f64);

async fn compare(
    sink: &NatsSink,
    bare: &Bare<'_>,
    workload: &mut Workload,
    plan: &Plan,
    batch: usize,
) -> Result<Vec<Round>, BoxError> {
    let mut rounds = Vec::with_capacity(plan.rounds);
    // Round 0, a quarter of the size, warms both sides up and is not counted.
    let sizes = std::iter::once(plan.events_per_round / 4)
        .chain(std::iter::repeat_n(plan.events_per_round, plan.rounds));
    for (round, events) in sizes.enumerate() {
        // Each side gets events of its own, never published before (no duplicate acks).
        let ours = workload.deliveries(events);
        let theirs = workload.deliveries(events);
        let measured = if round.is_multiple_of(2) {
            let s = sink_side(sink, ours, batch).await?;
            (s, bare.side(theirs, batch).await?)
        } else {
            let b = bare.side(theirs, batch).await?;
            (sink_side(sink, ours, batch).await?, b)
        };
        if round > 0 {
            rounds.push(measured);
        }
    }
    Ok(rounds)
}

/// Sends `deliveries` through the sink in batches; events/s.
async fn sink_side(
    sink: &NatsSink,
    deliveries: Vec<Delivery>,
    batch: usize,
) -> Result<f64, BoxError> {
    let count = deliveries.len();
    let mut batches = Vec::with_capacity(count / batch + 1);
    let mut rest = deliveries.into_iter().peekable();
    while rest.peek().is_some() {
        batches.push(rest.by_ref().take(batch).collect::<Vec<_>>());
    }
    let started = Instant::now();
    for batch in batches {
        let outcomes = sink.send(batch).await;
        if let Some(failed) = outcomes.iter().find(|o| **o != Outcome::Delivered) {
            return Err(format!("the sink did not deliver: {failed:?}").into());
        }
    }
    Ok(count as f64 / started.elapsed().as_secs_f64())
}

/// The baseline: async-nats publishing the same messages by hand.
struct Bare<'a> {
    js: &'a Context,
    prefix: &'a str,
}

impl Bare<'_> {
    /// Publishes the deliveries' bodies in batches, each pipelined (sent, then acks awaited);
    /// events/s.
    async fn side(&self, deliveries: Vec<Delivery>, batch: usize) -> Result<f64, BoxError> {
        let count = deliveries.len();
        let started = Instant::now();
        for chunk in deliveries.chunks(batch) {
            let mut acks = Vec::with_capacity(chunk.len());
            for d in chunk {
                let subject = format!(
                    "{}.{}.{}.{}",
                    self.prefix,
                    d.event.account,
                    d.event.event_type,
                    d.event.subject.split_once(':').map_or("_", |(_, id)| id)
                );
                let message = PublishMessage::build()
                    .payload(d.body.clone())
                    .message_id(d.event.event_id.as_str());
                acks.push(self.js.send_publish(subject, message).await?.into_future());
            }
            for ack in futures::future::try_join_all(acks).await? {
                if ack.duplicate {
                    return Err("the bare publisher's message was a duplicate".into());
                }
            }
        }
        Ok(count as f64 / started.elapsed().as_secs_f64())
    }
}

fn summarise(rounds: &[Round], batch: usize) {
    let sink: Vec<f64> = rounds.iter().map(|r| r.0).collect();
    let bare: Vec<f64> = rounds.iter().map(|r| r.1).collect();
    let Some(ratio) = paired_ratio(rounds) else {
        if batch == BATCH {
            report(NAME, "ratio", 0.0, &format!(">={GOAL}"), false);
        }
        return;
    };
    info(
        NAME,
        &format!(
            "batches of {batch}: NatsSink {:.0} events/s, bare async-nats {:.0} events/s (medians); ratio {:.3}; {}",
            median(&sink).unwrap_or(0.0),
            median(&bare).unwrap_or(0.0),
            ratio.median,
            ratio.spread_text()
        ),
    );
    if batch == BATCH {
        report(
            NAME,
            "ratio",
            ratio.median,
            &format!(">={GOAL}"),
            ratio.median >= GOAL,
        );
    }
}

/// Realistic deliveries, each event new: orders' whole lives (created or not, submitted,
/// assigned, picked up, delivered; one or two parcels), the body the serialised event.
struct Workload {
    account: AccountConfig,
    next_order: u128,
    position: u64,
}

impl Workload {
    fn new() -> Self {
        Self {
            account: AccountConfig::new("bench-couriers", chrono_tz::Europe::London),
            next_order: 1,
            position: 0,
        }
    }

    fn deliveries(&mut self, at_least: usize) -> Vec<Delivery> {
        let mut out = Vec::with_capacity(at_least + 16);
        while out.len() < at_least {
            let n = self.next_order;
            self.next_order += 1;
            for (k, mut event) in derive_order_events(&self.account, &life(n))
                .into_iter()
                .enumerate()
            {
                self.position += 1;
                event.sequence = Some(k as u64 + 1);
                out.push(Delivery {
                    destination: "nats".to_owned(),
                    position: self.position,
                    body: Bytes::from(serde_json::to_vec(&event).expect("events serialise")),
                    event,
                    attempt: 0,
                });
            }
        }
        out
    }
}

/// Order `n`'s status history.
fn life(n: u128) -> OrderSource {
    let guid = |base: u128, k: u128| Uuid::from_u128(base + (n << 4) + k);
    let courier = UserId::from_uuid(Uuid::from_u128((0x0d00 << 112) + n % 20));
    let day = Utc
        .with_ymd_and_hms(2026, 5, 4, 7, 0, 0)
        .single()
        .expect("fixed");
    let offset = Duration::from_secs((n % 5_000) as u64 * 7);
    let levels: &[(StatusLevel, Option<&str>)] = &[
        (StatusLevel::None, None),
        (StatusLevel::Dispatched, None),
        (StatusLevel::Assigned, None),
        (StatusLevel::AssignedInRoute, Some("Collected")),
        (StatusLevel::Delivered, Some("Signed for")),
    ];
    let skip = usize::from(n % 2 == 1);
    let steps = levels[skip..]
        .iter()
        .enumerate()
        .map(|(k, (level, label))| {
            let at = day + offset + Duration::from_secs(k as u64 * 1_500);
            StatusStep {
                status: Status {
                    description: None,
                    id: Some(StatusId::from_uuid(guid(0x0500 << 112, k as u128))),
                    level: Some(level.clone()),
                    name: label.map(str::to_owned),
                    timestamp: Some(
                        at.format("%Y-%m-%dT%H:%M:%S")
                            .to_string()
                            .parse()
                            .expect("OnTime date-time"),
                    ),
                    extra: Default::default(),
                },
                driver: (k >= 2).then_some(courier),
                observed_at: at + Duration::from_secs(45),
            }
        })
        .collect();
    let tracking = format!("T{n:09}");
    OrderSource {
        order_id: OrderId::from_uuid(guid(0x0a00 << 112, 0)),
        items: (1..=1 + (n % 2) as usize)
            .map(|i| ontime_sync::event::ItemRef {
                id: None,
                tracking_number: format!("{tracking}-{i:03}"),
            })
            .collect(),
        tracking_number: Some(tracking),
        steps,
    }
}
