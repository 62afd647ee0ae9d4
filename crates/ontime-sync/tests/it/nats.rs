//! The NATS JetStream sink against a real server: `ONTIME_TEST_NATS_URL`, default
//! `nats://127.0.0.1:4222`. Each test uses a stream and a subject prefix of its own (deleted at
//! the end, also when the test fails). When no server answers, the tests that need one print a
//! notice and pass, unless `ONTIME_REQUIRE_SERVICES=1`. The down-server tests need none.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::{AckPolicy, pull};
use async_nats::jetstream::stream::{Config as StreamConfig, StorageType};
use async_nats::jetstream::{self, Context};
use bytes::Bytes;
use futures::StreamExt as _;
use ontime::lenient::OnTimeDateTime;
use ontime_sync::deliver::nats::{
    MSG_ID_HEADER, NatsConfig, NatsError, NatsSink, SubjectError, subject_for, subject_token,
};
use ontime_sync::deliver::{Delivery, Outcome, Sink};
use ontime_sync::event::{Event, derive_order_events, position_event};
use ontime_sync::store::Position;

use crate::fixtures::{ACCOUNT, account, driver, lifecycle, order_id, seen};

const DEFAULT_NATS: &str = "nats://127.0.0.1:4222";

fn nats_url() -> String {
    std::env::var("ONTIME_TEST_NATS_URL").unwrap_or_else(|_| DEFAULT_NATS.to_owned())
}

/// One test's stream on the shared server; deleted on drop.
struct TestStream {
    url: String,
    js: Context,
    /// The stream's name (`ONTIME_TEST_{TEST}_{pid}`).
    name: String,
    /// The subject prefix of the test (`ontimetest.{test}.{pid}`).
    prefix: String,
}

impl TestStream {
    /// Connects, or skips (`None`) when no server answers and services are not required.
    async fn new(test: &str) -> Option<Self> {
        let url = nats_url();
        let connect = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(3))
            .connect(url.as_str());
        let client = match tokio::time::timeout(Duration::from_secs(5), connect).await {
            Ok(Ok(client)) => client,
            failure => {
                let why = match failure {
                    Ok(Err(e)) => e.to_string(),
                    _ => "timed out".to_owned(),
                };
                if std::env::var("ONTIME_REQUIRE_SERVICES").as_deref() == Ok("1") {
                    panic!("NATS required (ONTIME_REQUIRE_SERVICES=1) but unreachable: {why}");
                }
                eprintln!("notice: skipping NATS test {test}: no server at {url} ({why})");
                return None;
            }
        };
        let pid = std::process::id();
        let this = Self {
            url,
            js: jetstream::new(client),
            name: format!("ONTIME_TEST_{}_{pid}", test.to_uppercase()),
            prefix: format!("ontimetest.{test}.{pid}"),
        };
        // A leftover of an earlier run with the same pid.
        this.js.delete_stream(&this.name).await.ok();
        Some(this)
    }

    fn config(&self) -> NatsConfig {
        let mut config = NatsConfig::new(self.url.clone(), self.name.clone());
        config.subject_prefix = self.prefix.clone();
        config.duplicate_window = Duration::from_secs(90 * 60);
        config
    }

    async fn messages_stored(&self) -> u64 {
        let mut stream = self.js.get_stream(&self.name).await.expect("stream");
        stream.info().await.expect("stream info").state.messages
    }

    /// Reads the whole stream back with an ephemeral pull consumer: (subject, msg id, body) in
    /// stream order.
    async fn read_back(&self) -> Vec<(String, String, Bytes)> {
        let stream = self.js.get_stream(&self.name).await.expect("stream");
        let consumer = stream
            .create_consumer(pull::Config {
                ack_policy: AckPolicy::None,
                ..Default::default()
            })
            .await
            .expect("consumer");
        let mut out = Vec::new();
        loop {
            let mut batch = consumer
                .fetch()
                .max_messages(500)
                .messages()
                .await
                .expect("fetch");
            let before = out.len();
            while let Some(message) = batch.next().await {
                let message = message.expect("message");
                let id = message
                    .headers
                    .as_ref()
                    .and_then(|h| h.get(MSG_ID_HEADER))
                    .map(|v| v.as_str().to_owned())
                    .expect("every message has a Nats-Msg-Id");
                out.push((message.subject.to_string(), id, message.payload.clone()));
            }
            if out.len() == before {
                return out;
            }
        }
    }
}

impl Drop for TestStream {
    /// Deletes the test's stream, also when the test panicked (on a thread of its own: the
    /// test's runtime may be gone or busy).
    fn drop(&mut self) {
        let (url, name) = (self.url.clone(), self.name.clone());
        let deleted = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let client = async_nats::connect(url.as_str()).await.unwrap();
                match jetstream::new(client).delete_stream(&name).await {
                    Ok(_) => {}
                    Err(e) if e.to_string().contains("not found") => {}
                    Err(e) => panic!("deleting the test stream {name}: {e}"),
                }
            });
        })
        .join();
        if deleted.is_err() && !std::thread::panicking() {
            panic!("could not delete the test stream");
        }
    }
}

/// Deliveries of `events` as the dispatcher hands them over: sequence set, body the serialised
/// event (the keep-everything policy).
fn deliveries(events: &[Event]) -> Vec<Delivery> {
    let mut sequences: BTreeMap<&str, u64> = BTreeMap::new();
    events
        .iter()
        .enumerate()
        .map(|(i, event)| {
            let mut event = event.clone();
            let seq = sequences.entry(&events[i].subject).or_default();
            *seq += 1;
            event.sequence = Some(*seq);
            Delivery {
                destination: "nats".to_owned(),
                position: i as Position + 1,
                body: Bytes::from(serde_json::to_vec(&event).unwrap()),
                event,
                attempt: 0,
            }
        })
        .collect()
}

/// Five orders' lives (interleaved, as a poll commits them) and two drivers' positions.
fn workload() -> Vec<Event> {
    let account = account();
    let lives: Vec<Vec<Event>> = (1..=5)
        .map(|n| derive_order_events(&account, &lifecycle(n)))
        .collect();
    let mut events = Vec::new();
    let longest = lives.iter().map(Vec::len).max().unwrap();
    for i in 0..longest {
        for life in &lives {
            if let Some(event) = life.get(i) {
                events.push(event.clone());
            }
        }
    }
    for (n, minute) in [(1, 1), (2, 2), (1, 3)] {
        let at: OnTimeDateTime = format!("2026-03-02T09:0{minute}:00").parse().unwrap();
        events.push(position_event(&account, driver(n), 41.88, -87.63, at, seen(minute)).unwrap());
    }
    events
}

#[tokio::test]
async fn the_stream_is_created_when_absent_with_the_duplicate_window() {
    let Some(test) = TestStream::new("create").await else {
        return;
    };
    let sink = NatsSink::new(test.config()).unwrap();
    sink.ensure_ready().await.expect("connect and create");
    let mut stream = test.js.get_stream(&test.name).await.expect("created");
    let config = stream.info().await.unwrap().config.clone();
    assert_eq!(config.subjects, vec![format!("{}.>", test.prefix)]);
    assert_eq!(config.duplicate_window, Duration::from_secs(90 * 60));
    assert_eq!(config.storage, StorageType::File);

    // A second sink finds it and uses it as it is.
    let again = NatsSink::new(test.config()).unwrap();
    again.ensure_ready().await.expect("existing stream");
    assert_eq!(test.messages_stored().await, 0);
}

#[tokio::test]
async fn an_existing_stream_that_misses_the_subjects_is_refused() {
    let Some(test) = TestStream::new("foreign").await else {
        return;
    };
    test.js
        .create_stream(StreamConfig {
            name: test.name.clone(),
            subjects: vec![format!("{}.acme.>", test.prefix)],
            storage: StorageType::Memory,
            ..Default::default()
        })
        .await
        .unwrap();
    let sink = NatsSink::new(test.config()).unwrap();
    match sink.ensure_ready().await {
        Err(NatsError::StreamSubjects { wanted, have, .. }) => {
            assert_eq!(wanted, format!("{}.>", test.prefix));
            assert_eq!(have, vec![format!("{}.acme.>", test.prefix)]);
        }
        other => panic!("expected StreamSubjects, got {other:?}"),
    }
    // Sending reports it per delivery, as a retry with the reason.
    let outcomes = sink.send(deliveries(&workload()[..2])).await;
    assert_all_retry(&outcomes, 2, "does not cover");
}

#[tokio::test]
async fn each_event_is_stored_once_in_order_and_a_replay_is_deduplicated() {
    let Some(test) = TestStream::new("once").await else {
        return;
    };
    let events = workload();
    let batch = deliveries(&events);
    let n = batch.len();
    assert!(n > 30, "a realistic batch: {n}");
    let sink = NatsSink::new(test.config()).unwrap();
    let outcomes = sink.send(batch.clone()).await;
    assert_eq!(outcomes, vec![Outcome::Delivered; n]);

    let stored = test.read_back().await;
    assert_eq!(stored.len(), n);
    let ids: HashSet<&str> = stored.iter().map(|(_, id, _)| id.as_str()).collect();
    assert_eq!(ids.len(), n, "each event exactly once");
    for ((subject, id, body), delivery) in stored.iter().zip(&batch) {
        // Stream order is publish order: per order, the sequence grows by one each time.
        assert_eq!(id, delivery.event.event_id.as_str());
        assert_eq!(body, &delivery.body);
        assert_eq!(subject, &sink.subject_for(delivery).unwrap());
    }
    let mut last: BTreeMap<String, u64> = BTreeMap::new();
    for (_, _, body) in &stored {
        let event: Event = serde_json::from_slice(body).unwrap();
        let previous = last.insert(event.subject.clone(), event.sequence.unwrap());
        assert_eq!(previous.unwrap_or(0) + 1, event.sequence.unwrap());
    }
    // The subjects select what the docs say they select.
    let order = order_id(3);
    let delivered = format!("{}.{ACCOUNT}.order.delivered.{order}", test.prefix);
    assert_eq!(stored.iter().filter(|(s, ..)| *s == delivered).count(), 1);
    let of_order: Vec<&String> = stored
        .iter()
        .map(|(s, ..)| s)
        .filter(|s| s.ends_with(&format!(".{order}")))
        .collect();
    assert!(
        of_order
            .iter()
            .any(|s| s.contains(".item.custody_changed."))
    );
    let positions = format!("{}.{ACCOUNT}.driver.position.{}", test.prefix, driver(1));
    assert_eq!(stored.iter().filter(|(s, ..)| *s == positions).count(), 2);

    // A crash replay: the same batch again (a new sink, as after a restart). Every delivery is
    // acknowledged (as a duplicate) and the stream still holds each event once.
    let restarted = NatsSink::new(test.config()).unwrap();
    let outcomes = restarted.send(batch.clone()).await;
    assert_eq!(outcomes, vec![Outcome::Delivered; n]);
    // And a partial replay mixed with new events.
    let mut mixed = batch[n - 5..].to_vec();
    let extra = position_event(
        &account(),
        driver(3),
        41.9,
        -87.6,
        "2026-03-02T10:00:00".parse().unwrap(),
        seen(60),
    )
    .unwrap();
    mixed.extend(deliveries(&[extra]));
    assert_eq!(restarted.send(mixed).await, vec![Outcome::Delivered; 6]);
    assert_eq!(test.messages_stored().await, n as u64 + 1);
}

#[tokio::test]
async fn a_bad_body_is_retried_alone_and_a_deleted_stream_comes_back() {
    let Some(test) = TestStream::new("partial").await else {
        return;
    };
    let mut batch = deliveries(&workload()[..4]);
    batch[1].body = Bytes::from_static(b"not json");
    let sink = NatsSink::new(test.config()).unwrap();
    let outcomes = sink.send(batch.clone()).await;
    assert_eq!(outcomes[0], Outcome::Delivered);
    assert!(
        matches!(&outcomes[1], Outcome::Retry { reason, .. } if reason.contains("not an event object")),
        "{:?}",
        outcomes[1]
    );
    assert_eq!(&outcomes[2..], &[Outcome::Delivered, Outcome::Delivered]);
    assert_eq!(test.messages_stored().await, 3);

    // Someone deletes the stream: the next publish fails (retried), the one after recreates it.
    test.js.delete_stream(&test.name).await.unwrap();
    let first = sink.send(batch[..1].to_vec()).await;
    assert!(matches!(first[0], Outcome::Retry { .. }), "{first:?}");
    let second = sink.send(batch[..1].to_vec()).await;
    assert_eq!(second, vec![Outcome::Delivered]);
    assert_eq!(test.messages_stored().await, 1);
}

/// A sink whose server is `addr`, with short timeouts.
fn sink_at(addr: std::net::SocketAddr) -> NatsSink {
    let mut config = NatsConfig::new(format!("nats://{addr}"), "ONTIME_TEST_DOWN");
    config.connect_timeout = Duration::from_millis(500);
    config.ack_timeout = Duration::from_millis(500);
    NatsSink::new(config).unwrap()
}

/// `n` outcomes, each a retry whose reason holds `why`.
fn assert_all_retry(outcomes: &[Outcome], n: usize, why: &str) {
    assert_eq!(outcomes.len(), n);
    for outcome in outcomes {
        let Outcome::Retry { reason, .. } = outcome else {
            panic!("expected Retry, got {outcome:?}");
        };
        assert!(reason.contains(why), "{reason}");
    }
}

#[tokio::test]
async fn a_down_server_gives_retry_outcomes_within_the_timeouts() {
    // A port nobody listens on (bound, then closed): connection refused.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let sink = sink_at(addr);
    let batch = deliveries(&workload()[..8]);
    for _ in 0..2 {
        let started = Instant::now();
        let outcomes = sink.send(batch.clone()).await;
        assert_all_retry(&outcomes, 8, "connecting to NATS");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
    }
    assert!(sink.ensure_ready().await.is_err());
}

#[tokio::test]
async fn a_server_that_never_answers_gives_retry_outcomes_within_the_timeouts() {
    // Accepts TCP connections and never says a word (no INFO): the connect must time out.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let sink = sink_at(addr);
    let started = Instant::now();
    let outcomes = sink.send(deliveries(&workload()[..3])).await;
    assert_all_retry(&outcomes, 3, "connecting to NATS");
    // connect_timeout × 2 at most, plus scheduling slack.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    // Sixteen sends at once (a dispatcher sending deliveries one by one): they do not queue up
    // one connect timeout each.
    let fresh = sink_at(addr);
    let batch = deliveries(&workload()[..16]);
    let started = Instant::now();
    let all = futures::future::join_all(batch.into_iter().map(|d| fresh.send(vec![d]))).await;
    for outcomes in &all {
        assert_all_retry(outcomes, 1, "connecting to NATS");
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    held.abort();
}

#[test]
fn subjects_come_from_the_rendered_body_and_escape_the_account() {
    let events = workload();
    let mut position = deliveries(&events[events.len() - 1..]).remove(0);
    let raw_driver = driver(1).to_string();
    assert_eq!(
        subject_for("ontime", &position).unwrap(),
        format!("ontime.{ACCOUNT}.driver.position.{raw_driver}")
    );
    // A redacted body: the pseudonym, never the GUID the raw event holds.
    let mut body: serde_json::Value = serde_json::from_slice(&position.body).unwrap();
    body["subject"] = "driver:psn_q7w2k".into();
    body.as_object_mut().unwrap().remove("driver");
    position.body = Bytes::from(serde_json::to_vec(&body).unwrap());
    let subject = subject_for("ontime", &position).unwrap();
    assert_eq!(
        subject,
        format!("ontime.{ACCOUNT}.driver.position.psn_q7w2k")
    );
    assert!(!subject.contains(&raw_driver));
    // A policy that drops the subject.
    body.as_object_mut().unwrap().remove("subject");
    position.body = Bytes::from(serde_json::to_vec(&body).unwrap());
    assert_eq!(
        subject_for("corp.ontime", &position).unwrap(),
        format!("corp.ontime.{ACCOUNT}.driver.position._")
    );
    // Account names that are not tokens.
    position.event.account = "North Sea *Couriers* Ltd.".to_owned();
    assert_eq!(
        subject_for("ontime", &position).unwrap(),
        "ontime.North%20Sea%20%2ACouriers%2A%20Ltd%2E.driver.position._"
    );
    assert_eq!(subject_token("acme>"), "acme%3E");
    position.event.account = String::new();
    assert_eq!(
        subject_for("ontime", &position),
        Err(SubjectError::EmptyToken("account name"))
    );
    position.body = Bytes::from_static(b"[1,2]");
    position.event.account = "acme".to_owned();
    assert!(matches!(
        subject_for("ontime", &position),
        Err(SubjectError::Body(_))
    ));
}
