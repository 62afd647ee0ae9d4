//! Every fault mode, what it does to the store, the request log, and the clock.

use crate::common;

use std::time::{Duration, Instant};

use ontime_mock::{FaultKind, FaultRule, Operation};
use ontime_raw::types;
use serde_json::{Value, json};

fn order(description: &str) -> types::Order {
    serde_json::from_value(json!({"Description": description, "TrackingNumber": description}))
        .expect("order")
}

async fn post_order(
    mock: &ontime_mock::RunningMock,
    tracking: &str,
) -> Result<reqwest::Response, reqwest::Error> {
    common::http()
        .post(common::url(mock, "order/post"))
        .header("Authorization", mock.api_key())
        .json(&json!({"Description": "fault test", "TrackingNumber": tracking}))
        .send()
        .await
}

#[tokio::test]
async fn failing_faults_answer_without_writing_and_are_logged() {
    let mock = common::start().await;
    let cases: Vec<(FaultKind, u16, &str)> = vec![
        (
            FaultKind::Status {
                status: 500,
                retry_after: None,
            },
            500,
            "application/json",
        ),
        (
            FaultKind::Status {
                status: 502,
                retry_after: None,
            },
            502,
            "application/json",
        ),
        (
            FaultKind::Status {
                status: 503,
                retry_after: Some(7),
            },
            503,
            "application/json",
        ),
        (
            FaultKind::Status {
                status: 429,
                retry_after: Some(30),
            },
            429,
            "application/json",
        ),
        (FaultKind::PlainTextError { status: 503 }, 503, "text/plain"),
        (FaultKind::HtmlError { status: 502 }, 502, "text/html"),
        (FaultKind::EmptyBody { status: 500 }, 500, ""),
    ];
    for (i, (kind, status, ctype)) in cases.into_iter().enumerate() {
        mock.clear_requests();
        mock.set_faults(vec![
            FaultRule::always(kind.clone())
                .on_operation(Operation::OrderPost)
                .first(1),
        ]);
        let count = mock.store().order_count();
        let tracking = format!("F{i}");
        let resp = post_order(&mock, &tracking).await.expect("response");
        assert_eq!(resp.status().as_u16(), status, "{kind:?}");
        let h = resp.headers().clone();
        let got_ctype = h
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(got_ctype.starts_with(ctype), "{kind:?}: {got_ctype}");
        if let FaultKind::Status {
            retry_after: Some(s),
            ..
        } = kind
        {
            assert_eq!(h["Retry-After"], s.to_string().as_str());
        }
        assert!(h.contains_key("X-RateLimit-Remaining-Daily"));
        let body = resp.bytes().await.expect("body");
        match ctype {
            "application/json" => assert!(
                serde_json::from_slice::<Value>(&body).expect("json")["Message"].is_string()
            ),
            "text/html" => assert!(String::from_utf8_lossy(&body).contains("<html>")),
            "" => assert!(body.is_empty()),
            _ => assert!(!body.is_empty()),
        }
        assert_eq!(mock.store().order_count(), count, "{kind:?} must not write");
        assert!(mock.store().order_by_tracking(&tracking).is_none());
        let log = mock.requests();
        assert_eq!(log.len(), 1);
        assert_eq!(
            (log[0].status, log[0].operation),
            (status, Some(Operation::OrderPost))
        );
        assert_eq!(log[0].fault, Some(kind.name()));
        // `first(1)`: the retry goes through and writes once.
        let resp = post_order(&mock, &tracking).await.expect("response");
        assert_eq!(resp.status(), 201);
        assert_eq!(mock.store().order_count(), count + 1);
        let statuses: Vec<u16> = mock.requests().iter().map(|r| r.status).collect();
        assert_eq!(statuses, vec![status, 201]);
    }
    mock.shutdown().await;
}

#[tokio::test]
async fn dropped_connections_write_nothing_and_log_status_0() {
    let mock = common::start().await;
    mock.set_faults(vec![
        FaultRule::always(FaultKind::DropConnection).on_operation(Operation::OrderPost),
    ]);
    let client = common::client(&mock);
    let count = mock.store().order_count();
    let err = client
        .order_post()
        .body(order("DROP1"))
        .send()
        .await
        .expect_err("dropped");
    assert!(
        matches!(err, ontime_raw::Error::CommunicationError(_)),
        "{err:?}"
    );
    assert_eq!(mock.store().order_count(), count);
    let log = mock.requests_for(Operation::OrderPost);
    assert_eq!(log.len(), 1);
    assert_eq!((log[0].status, log[0].fault), (0, Some("drop_connection")));
    assert_eq!(log[0].body_json().expect("body")["TrackingNumber"], "DROP1");
    // Other operations are untouched.
    assert!(client.zones_find().send().await.is_ok());
    mock.shutdown().await;
}

#[tokio::test]
async fn damaged_responses_still_apply_the_write() {
    let mock = common::start().await;
    let client = common::client(&mock);
    for (kind, tracking) in [
        (FaultKind::TruncatedBody, "TRUNC1"),
        (FaultKind::MalformedJson, "MAL1"),
    ] {
        mock.set_faults(vec![
            FaultRule::always(kind.clone())
                .on_operation(Operation::OrderPost)
                .first(1),
        ]);
        let err = client
            .order_post()
            .body(order(tracking))
            .send()
            .await
            .expect_err("damaged");
        let text = format!("{err:?}");
        assert!(
            matches!(
                err,
                ontime_raw::Error::InvalidResponsePayload(..)
                    | ontime_raw::Error::ResponseBodyError(_)
                    | ontime_raw::Error::CommunicationError(_)
            ),
            "{kind:?}: {text}"
        );
        let stored = mock
            .store()
            .order_by_tracking(tracking)
            .expect("the post was applied");
        assert_eq!(stored.description.as_deref(), Some(tracking));
        let log = mock.requests_for(Operation::OrderPost);
        assert_eq!(
            log.last().map(|r| (r.status, r.fault)),
            Some((201, Some(kind.name())))
        );
    }
    // The raw bytes: a truncated body stops half way, a malformed one is not JSON.
    let id = mock.store().order_ids()[0];
    mock.set_faults(vec![
        FaultRule::always(FaultKind::MalformedJson).on_operation(Operation::OrdersGet),
    ]);
    let resp = common::http()
        .get(common::url(&mock, &format!("orders/{id}")))
        .header("Authorization", mock.api_key())
        .send()
        .await
        .expect("response");
    assert_eq!(resp.status(), 200);
    let body = resp.bytes().await.expect("body");
    assert!(serde_json::from_slice::<Value>(&body).is_err());
    mock.set_faults(vec![
        FaultRule::always(FaultKind::TruncatedBody).on_operation(Operation::OrdersGet),
    ]);
    let resp = common::http()
        .get(common::url(&mock, &format!("orders/{id}")))
        .header("Authorization", mock.api_key())
        .send()
        .await
        .expect("headers arrive");
    let full: usize = resp.headers()["content-length"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("length");
    assert!(full > 1000);
    assert!(resp.bytes().await.is_err(), "the body ends early");
    mock.shutdown().await;
}

/// The orders with `tracking` (a duplicate write would show as two).
fn orders_tracked(mock: &ontime_mock::RunningMock, tracking: &str) -> usize {
    let store = mock.store();
    store
        .order_ids()
        .into_iter()
        .filter(|id| {
            store
                .order(*id)
                .is_some_and(|o| o.tracking_number.as_deref() == Some(tracking))
        })
        .count()
}

/// Waits until the simulator has logged `n` requests in all.
async fn wait_for_requests(mock: &ontime_mock::RunningMock, n: u64) {
    let arrived = tokio::time::timeout(Duration::from_secs(20), mock.wait_for_requests(n))
        .await
        .is_ok();
    assert!(arrived, "{n} requests never arrived: {:?}", mock.requests());
}

#[tokio::test]
async fn a_late_answer_keeps_the_write_when_the_client_gives_up() {
    let mock = common::start().await;
    let late = |ms| {
        FaultRule::always(FaultKind::LateAnswer {
            delay: Duration::from_millis(ms),
        })
        .on_operation(Operation::OrderPost)
    };
    let count = mock.store().order_count();

    // A client whose timeout is shorter than the delay sees a timeout...
    mock.set_faults(vec![late(60_000)]);
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .expect("client");
    let err = impatient
        .post(common::url(&mock, "order/post"))
        .header("Authorization", mock.api_key())
        .json(&json!({"Description": "late", "TrackingNumber": "LATE1"}))
        .send()
        .await
        .expect_err("the answer comes too late");
    assert!(err.is_timeout(), "{err:?}");
    // ...yet its write landed, once, and the log says so.
    assert_eq!(orders_tracked(&mock, "LATE1"), 1);
    assert_eq!(mock.store().order_count(), count + 1);
    let log = mock.requests_for(Operation::OrderPost);
    assert_eq!(
        log.iter().map(|r| (r.status, r.fault)).collect::<Vec<_>>(),
        vec![(201, Some("late_answer"))]
    );

    // A client that hangs up at any moment after sending: the write completes regardless.
    let url = common::url(&mock, "order/post");
    let key = mock.api_key().to_owned();
    let client = tokio::spawn(async move {
        common::http()
            .post(url)
            .header("Authorization", key)
            .json(&json!({"Description": "late", "TrackingNumber": "LATE2"}))
            .send()
            .await
    });
    wait_for_requests(&mock, 2).await;
    client.abort();
    assert!(client.await.expect_err("aborted").is_cancelled());
    assert_eq!(orders_tracked(&mock, "LATE2"), 1);

    // A patient client gets the answer after the delay, with the record as written.
    mock.set_faults(vec![late(300)]);
    let started = Instant::now();
    let created = common::client(&mock)
        .order_post()
        .body(order("LATE3"))
        .send()
        .await
        .expect("late but whole")
        .into_inner();
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(created.tracking_number.as_deref(), Some("LATE3"));
    assert_eq!(orders_tracked(&mock, "LATE3"), 1);
    assert_eq!(mock.store().order_count(), count + 3);
    mock.shutdown().await;
}

#[tokio::test]
async fn a_client_hanging_up_during_a_slow_answer_keeps_the_write() {
    let mock = common::start().await;
    mock.set_faults(vec![
        FaultRule::always(FaultKind::SlowBody {
            chunk_delay: Duration::from_secs(30),
        })
        .on_operation(Operation::OrderPost),
    ]);
    let resp = post_order(&mock, "SLOW1").await.expect("the head arrives");
    assert_eq!(resp.status(), 201);
    drop(resp);
    assert_eq!(orders_tracked(&mock, "SLOW1"), 1);
    let log = mock.requests_for(Operation::OrderPost);
    assert_eq!(
        log.iter().map(|r| (r.status, r.fault)).collect::<Vec<_>>(),
        vec![(201, Some("slow_body"))]
    );
    mock.shutdown().await;
}

#[tokio::test]
async fn a_client_giving_up_during_latency_cancels_the_request() {
    let mock = common::start().await;
    mock.set_faults(vec![
        FaultRule::always(FaultKind::Latency {
            fixed: Duration::from_secs(60),
            jitter: Duration::ZERO,
        })
        .on_operation(Operation::OrderPost),
    ]);
    let count = mock.store().order_count();
    let url = common::url(&mock, "order/post");
    let key = mock.api_key().to_owned();
    let client = tokio::spawn(async move {
        common::http()
            .post(url)
            .header("Authorization", key)
            .json(&json!({"Description": "early", "TrackingNumber": "EARLY1"}))
            .send()
            .await
    });
    // The request is read and waits out its latency (the server goes from reading the body to
    // the delay without a pause); the client hangs up meanwhile.
    let read = mock.wait_for_body_gauge(|g| g.bodies_read == 1);
    let read = tokio::time::timeout(Duration::from_secs(20), read).await;
    assert!(read.is_ok(), "the body was never read");
    client.abort();
    let _ = client.await;
    // The server notices, drops the request before its operation, and logs it with status 0.
    wait_for_requests(&mock, 1).await;
    let log = mock.requests_for(Operation::OrderPost);
    assert_eq!(
        log.iter().map(|r| (r.status, r.fault)).collect::<Vec<_>>(),
        vec![(0, Some("latency"))]
    );
    assert_eq!(
        log[0].body_json().expect("body")["TrackingNumber"],
        "EARLY1"
    );
    assert_eq!(mock.store().order_count(), count, "nothing was written");
    mock.shutdown().await;
}

#[tokio::test]
async fn latency_and_slow_bodies_delay_but_deliver() {
    let mock = common::start().await;
    let client = common::client(&mock);
    mock.set_faults(vec![
        FaultRule::always(FaultKind::Latency {
            fixed: Duration::from_millis(150),
            jitter: Duration::from_millis(50),
        })
        .on_path(Some("GET"), "/api/zones"),
    ]);
    let started = Instant::now();
    client.zones_find().send().await.expect("zones");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(150) && took < Duration::from_millis(1500),
        "{took:?}"
    );
    let started = Instant::now();
    client.vehicles_find().send().await.expect("not delayed");
    assert!(started.elapsed() < Duration::from_millis(150));

    mock.set_faults(vec![
        FaultRule::always(FaultKind::SlowBody {
            chunk_delay: Duration::from_millis(40),
        })
        .on_operation(Operation::OrdersGet),
    ]);
    let id = mock.store().order_ids()[1];
    let started = Instant::now();
    let got = client
        .orders_get()
        .id(id)
        .send()
        .await
        .expect("slow but whole")
        .into_inner();
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(Some(got), mock.store().order(id));
    assert_eq!(
        mock.requests_for(Operation::OrdersGet)[0].fault,
        Some("slow_body")
    );
    mock.shutdown().await;
}

#[tokio::test]
async fn probabilistic_faults_are_deterministic_under_a_seed() {
    async fn pattern(seed: u64) -> Vec<u16> {
        let mock = common::builder()
            .seed(seed)
            .fault(FaultRule::status(503, None).with_probability(0.3))
            .start()
            .await
            .expect("mock");
        let mut out = Vec::new();
        for _ in 0..40 {
            let resp = common::http()
                .get(common::url(&mock, "zones"))
                .header("Authorization", mock.api_key())
                .send()
                .await
                .expect("response");
            out.push(resp.status().as_u16());
        }
        mock.shutdown().await;
        out
    }
    let a = pattern(5).await;
    assert_eq!(a, pattern(5).await);
    let failures = a.iter().filter(|s| **s == 503).count();
    assert!((4..=24).contains(&failures), "{failures} of 40");
    assert_ne!(a, pattern(6).await);
}

#[tokio::test]
async fn the_request_log_records_what_was_sent() {
    let mock = common::start().await;
    let client = common::client(&mock);
    client
        .orders_find()
        .customer_name("Vesigo Studios")
        .send()
        .await
        .expect("find");
    client
        .order_post()
        .body(order("LOG1"))
        .send()
        .await
        .expect("post");
    let resp = common::http()
        .get(common::url(&mock, "zones"))
        .header("Authorization", format!("Bearer {}", mock.api_key()))
        .send()
        .await
        .expect("zones");
    assert_eq!(resp.status(), 200);
    let log = mock.requests();
    assert_eq!(log.len(), 3);
    assert_eq!(log[0].operation, Some(Operation::OrdersFind));
    assert_eq!(log[0].method, "GET");
    assert_eq!(log[0].path, "/sites/demo/api/orders");
    assert_eq!(
        log[0].query_param("customerName").as_deref(),
        Some("Vesigo Studios")
    );
    assert_eq!(log[0].key.as_deref(), Some(mock.api_key()));
    assert_eq!((log[1].operation_id(), log[1].status), ("orderPost", 201));
    assert!(log[1].is_write());
    assert_eq!(log[1].body_json().expect("json")["TrackingNumber"], "LOG1");
    assert_eq!(
        log[2].key.as_deref(),
        Some(mock.api_key()),
        "Bearer prefix stripped"
    );
    assert!(log.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(log[0].at, mock.clock().now());
    mock.clear_requests();
    assert!(mock.requests().is_empty());
    client.zones_find().send().await.expect("zones");
    assert_eq!(mock.requests()[0].seq, 3);
    mock.shutdown().await;
}

#[tokio::test]
async fn the_clock_moves_when_tests_move_it() {
    let mock = common::start().await;
    let client = common::client(&mock);
    let t0 = mock.clock().now();
    assert_eq!(t0, common::start_time());
    mock.clock().advance(Duration::from_secs(90 * 60));
    let created = client
        .order_post()
        .body(order("CLOCK1"))
        .send()
        .await
        .expect("post")
        .into_inner();
    assert_eq!(
        created.date_submitted.map(|d| d.naive_local()),
        Some(t0 + chrono::TimeDelta::minutes(90))
    );
    let later = t0 + chrono::TimeDelta::days(3);
    mock.clock().set(later);
    let created = client
        .order_post()
        .body(order("CLOCK2"))
        .send()
        .await
        .expect("post")
        .into_inner();
    assert_eq!(created.date_submitted.map(|d| d.naive_local()), Some(later));
    // The finders see it.
    let found = client
        .orders_find()
        .date_submitted_min(ontime_raw::lenient::OnTimeDateTime::naive(later))
        .send()
        .await
        .expect("find")
        .into_inner();
    assert_eq!(found.to_vec(), vec![created.id.expect("id")]);
    mock.shutdown().await;
}

#[test]
fn fault_rules_parse_from_the_binary_flag_syntax() {
    let rule: FaultRule = "latency,ms=200,jitter_ms=50".parse().expect("rule");
    assert_eq!(
        rule.kind,
        FaultKind::Latency {
            fixed: Duration::from_millis(200),
            jitter: Duration::from_millis(50)
        }
    );
    let rule: FaultRule = "html,status=504,path=/api/orders,method=GET,times=3"
        .parse()
        .expect("rule");
    assert_eq!(rule.kind, FaultKind::HtmlError { status: 504 });
    assert_eq!(rule.times, Some(3));
    assert!("status,op=noSuchOperation".parse::<FaultRule>().is_err());
    assert!("teleport".parse::<FaultRule>().is_err());
    assert!("drop,p=2".parse::<FaultRule>().is_err());
}

#[test]
fn fault_rules_refuse_unknown_and_misplaced_keys() {
    // The example: `probability` is not a key (`p` is), and used to mean "always".
    let err = "status,status=503,probability=0.1"
        .parse::<FaultRule>()
        .expect_err("unknown key");
    assert!(err.contains("\"probability\""), "{err}");
    assert!(
        err.contains("status, retry_after, op, path, method, p, times"),
        "lists the valid keys: {err}"
    );
    assert!(err.contains("p=PROBABILITY"), "points at p: {err}");
    // A key another kind takes is refused for a kind that does not take it.
    let err = "drop,ms=200"
        .parse::<FaultRule>()
        .expect_err("drop has no ms");
    assert!(
        err.contains("\"ms\"") && err.contains("op, path, method, p, times"),
        "{err}"
    );
    let err = "latency,status=500"
        .parse::<FaultRule>()
        .expect_err("latency has no status");
    assert!(err.contains("ms, jitter_ms, op, path"), "{err}");
    let err = "slow,ms=5"
        .parse::<FaultRule>()
        .expect_err("slow takes chunk_delay_ms");
    assert!(err.contains("chunk_delay_ms"), "{err}");
    // A key given twice, `method` without `path`, and `op` with `path` are ambiguous.
    assert!("status,status=500,status=503".parse::<FaultRule>().is_err());
    assert!("drop,method=GET".parse::<FaultRule>().is_err());
    assert!(
        "drop,op=orderPost,path=/api/orders"
            .parse::<FaultRule>()
            .is_err()
    );
    // An unknown kind lists the kinds.
    let err = "teleport".parse::<FaultRule>().expect_err("unknown kind");
    assert!(err.contains("latency, late, status, drop"), "{err}");
    // Every documented key of every kind is still accepted.
    for ok in [
        "latency,ms=1,jitter_ms=2,op=orderPost,p=0.5,times=3",
        "late,ms=10,path=/api/orders,method=POST",
        "drop,path=/api/orders,method=POST",
        "status,status=429,retry_after=3",
        "drop,p=1",
        "truncate,times=1",
        "malformed",
        "plain,status=500",
        "html,status=502",
        "empty,status=500",
        "slow,chunk_delay_ms=5",
    ] {
        ok.parse::<FaultRule>()
            .unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
}
