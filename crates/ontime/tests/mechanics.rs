//! The facade's call mechanics against a scripted loopback server (wiremock on 127.0.0.1):
//! retries, idempotency, error mapping, timeouts, decode paths, quotas, safe updates, secrecy.
//! Behaviour against the stateful simulator lives in `simulator.rs`.

use std::time::Duration;

use ontime::{Client, Error, OrderFilter, OrderId, RetryPolicy, StatusChange, StatusLevel};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const KEY: &str = "5ecret-key-0042";
const ORDER: &str = "6f1c0d3e-9b7a-4c21-8e55-1a2b3c4d5e6f";

fn fast_retries() -> RetryPolicy {
    RetryPolicy::default()
        .initial_backoff(Duration::from_millis(5))
        .max_backoff(Duration::from_millis(20))
}

/// A builder for the account on `server`, with the test key.
fn builder(server: &MockServer) -> ontime::ClientBuilder {
    Client::builder()
        .base_url(format!("{}/sites/acme", server.uri()))
        .api_key(KEY)
}

fn client(server: &MockServer) -> Client {
    builder(server)
        .retry_policy(fast_retries())
        .build()
        .expect("client")
}

fn order_json() -> Value {
    json!({"ID": ORDER, "TrackingNumber": "1009214", "StatusLevel": 3, "Comments": "old",
           "CollectionLocation": {"City": "Dallas", "Gate": "B"}, "FutureField": {"x": 1}})
}

fn json_reply(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.to_string().into_bytes(), "application/json")
}

async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap_or_default()
}

fn order_id() -> OrderId {
    ORDER.parse().unwrap()
}

#[tokio::test]
async fn gets_are_retried_on_503_until_they_succeed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(json_reply(503, json!({"Message": "busy"})))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(json_reply(200, order_json()))
        .mount(&server)
        .await;
    let order = client(&server)
        .orders()
        .get(order_id())
        .await
        .expect("third attempt succeeds");
    assert_eq!(order.tracking_number.as_deref(), Some("1009214"));
    assert_eq!(requests(&server).await.len(), 3);
}

#[tokio::test]
async fn retry_after_on_429_is_honoured_then_the_call_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            json_reply(429, json!({"Message": "slow down"})).insert_header("Retry-After", "1"),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(json_reply(200, json!([ORDER])))
        .mount(&server)
        .await;
    let started = std::time::Instant::now();
    let ids = client(&server)
        .orders()
        .ids(OrderFilter::new())
        .await
        .expect("retried after the wait");
    assert_eq!(ids, vec![order_id()]);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited as the server asked"
    );
}

#[tokio::test]
async fn attempts_are_bounded() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(json_reply(502, json!({"Message": "gateway"})))
        .mount(&server)
        .await;
    let client = builder(&server)
        .retry_policy(fast_retries().max_attempts(3))
        .build()
        .unwrap();
    let err = client.orders().get(order_id()).await.unwrap_err();
    assert!(matches!(err, Error::Server { status: 502, .. }), "{err:?}");
    assert_eq!(requests(&server).await.len(), 3);
}

/// Answers the order's timeline with no entries.
async fn empty_timeline(server: &MockServer) {
    Mock::given(wiremock::matchers::path_regex(
        "^/sites/acme/api/orderStatusChanges/",
    ))
    .respond_with(json_reply(200, json!([])))
    .mount(server)
    .await;
}

#[tokio::test]
async fn status_changes_are_resent_only_when_reading_shows_they_were_not_applied() {
    let server = MockServer::start().await;
    empty_timeline(&server).await;
    Mock::given(method("POST"))
        .respond_with(json_reply(503, json!({"Message": "busy"})))
        .mount(&server)
        .await;
    let err = client(&server)
        .orders()
        .update_status(
            order_id(),
            StatusChange::new(StatusLevel::Delivered).label("At reception"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Server { status: 503, .. }), "{err:?}");
    let sent: Vec<String> = requests(&server)
        .await
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r.method,
                r.url.path().rsplit('/').nth(1).unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(
        sent,
        [
            "GET orderStatusChanges", // the count before sending
            "POST order",             // 503: maybe applied
            "GET orderStatusChanges", // not applied
            "POST order",             // sent once more, 503 again
            "GET orderStatusChanges", // still not applied: the error, no third send
        ],
        "a blind retry could append a second status"
    );
}

#[tokio::test]
async fn save_assigns_an_id_so_a_retried_create_replaces_instead_of_duplicating() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(json_reply(503, json!("busy")))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(|req: &Request| {
            ResponseTemplate::new(201).set_body_raw(req.body.clone(), "application/json")
        })
        .mount(&server)
        .await;
    let draft: ontime::types::Order =
        serde_json::from_value(json!({"Description": "2 boxes"})).unwrap();
    let saved = client(&server)
        .orders()
        .save(draft)
        .await
        .expect("saved on the retry");
    let sent = requests(&server).await;
    assert_eq!(sent.len(), 2);
    let ids: Vec<Value> = sent
        .iter()
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap()["ID"].clone())
        .collect();
    assert!(
        ids[0].is_string() && ids[0] == ids[1],
        "both attempts carry the same new ID: {ids:?}"
    );
    assert_eq!(
        saved.id.map(|u| u.to_string()),
        ids[0].as_str().map(str::to_string)
    );
}

#[tokio::test]
async fn modify_posts_back_every_field_including_unknown_ones() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(json_reply(200, order_json()))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(|req: &Request| {
            ResponseTemplate::new(201).set_body_raw(req.body.clone(), "application/json")
        })
        .mount(&server)
        .await;
    let updated = client(&server)
        .orders()
        .modify(order_id(), |order| {
            order.comments = Some("Leave at reception".into())
        })
        .await
        .expect("modified");
    assert_eq!(updated.comments.as_deref(), Some("Leave at reception"));
    let sent = requests(&server).await;
    assert_eq!(
        sent.len(),
        3,
        "read, read again right before the post, post"
    );
    let posted: Value = serde_json::from_slice(&sent[2].body).unwrap();
    let mut expected = order_json();
    expected["Comments"] = json!("Leave at reception");
    assert_eq!(
        posted, expected,
        "nothing the server sent is dropped from the post"
    );
}

#[tokio::test]
async fn faults_map_to_typed_errors_whatever_the_body_format() {
    /// (reply, the expected error kind, the expected server message)
    type Case = (ResponseTemplate, fn(&Error) -> bool, Option<&'static str>);
    let cases: Vec<Case> = vec![
        (
            json_reply(401, json!({"Message": "Authorization has been denied"})),
            |e| matches!(e, Error::Unauthorized { .. }),
            Some("Authorization has been denied"),
        ),
        (
            json_reply(403, json!({"Message": "No permission for Orders"})),
            |e| matches!(e, Error::Forbidden { .. }),
            Some("No permission for Orders"),
        ),
        (
            json_reply(400, json!("TrackingNumber is too long")),
            |e| matches!(e, Error::BadRequest { .. }),
            Some("TrackingNumber is too long"),
        ),
        (
            json_reply(404, json!({"Message": "No such order"})),
            |e| matches!(e, Error::NotFound { .. }),
            Some("No such order"),
        ),
        (
            ResponseTemplate::new(500).set_body_raw(
                b"<html><head><title>Runtime Error</title></head></html>".to_vec(),
                "text/html",
            ),
            |e| matches!(e, Error::Server { status: 500, .. }),
            Some("Runtime Error"),
        ),
        (
            ResponseTemplate::new(500).set_body_raw(b"Something broke".to_vec(), "text/plain"),
            |e| matches!(e, Error::Server { status: 500, .. }),
            Some("Something broke"),
        ),
        (
            ResponseTemplate::new(500),
            |e| matches!(e, Error::Server { status: 500, .. }),
            None,
        ),
    ];
    for (reply, is_expected, message) in cases {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(reply)
            .mount(&server)
            .await;
        let err = client(&server).orders().get(order_id()).await.unwrap_err();
        assert!(is_expected(&err), "{err:?}");
        assert_eq!(err.server_message(), message, "{err:?}");
        assert_eq!(err.operation(), Some("orders_get"));
        assert!(!err.to_string().contains(KEY));
    }
}

#[tokio::test]
async fn a_slow_server_gives_a_typed_timeout() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(json_reply(200, order_json()).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let client = builder(&server)
        .timeout(Duration::from_millis(200))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let err = client.orders().get(order_id()).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Timeout {
                operation: "orders_get",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_retryable());
}

#[tokio::test]
async fn decode_errors_name_the_operation_and_the_field_path() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(json_reply(
            200,
            json!({"ID": ORDER, "Items": [{"Weight": 1.0}, {"Weight": "heavy"}]}),
        ))
        .mount(&server)
        .await;
    let err = client(&server).orders().get(order_id()).await.unwrap_err();
    match &err {
        Error::Decode {
            operation,
            path,
            truncated,
            ..
        } => {
            assert_eq!(*operation, "orders_get");
            assert_eq!(path, "Items[1].Weight");
            assert!(!truncated);
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    assert_eq!(
        requests(&server).await.len(),
        1,
        "a malformed body is not retried"
    );
}

#[tokio::test]
async fn the_quota_comes_from_the_servers_headers_and_the_guard_refuses_big_lookups() {
    let server = MockServer::start().await;
    let ids: Vec<String> = (1..=5)
        .map(|n| format!("00000000-0000-0000-0000-00000000000{n}"))
        .collect();
    Mock::given(path("/sites/acme/api/orders"))
        .respond_with(
            json_reply(200, json!(ids))
                .insert_header("X-RateLimit-Limit-Daily", "86400")
                .insert_header("X-RateLimit-Remaining-Daily", "3")
                .insert_header("X-RateLimit-Reset-Daily", "1764115200"),
        )
        .mount(&server)
        .await;
    let client = builder(&server).quota_guard(true).build().unwrap();
    let err = client
        .orders()
        .find(OrderFilter::new())
        .collect_vec()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::QuotaExceeded {
                needed: 5,
                remaining: 3
            }
        ),
        "{err:?}"
    );
    let quota = client.quota();
    assert_eq!(
        (quota.daily_limit, quota.daily_remaining, quota.calls),
        (Some(86400), Some(3), 1)
    );
    assert_eq!(
        requests(&server).await.len(),
        1,
        "no record fetch was started"
    );
}

#[tokio::test]
async fn find_yields_records_in_the_finders_order_even_when_later_ones_arrive_first() {
    let server = MockServer::start().await;
    let ids = [
        "00000000-0000-0000-0000-000000000001",
        "00000000-0000-0000-0000-000000000002",
        "00000000-0000-0000-0000-000000000003",
    ];
    Mock::given(path("/sites/acme/api/orders"))
        .respond_with(json_reply(200, json!(ids)))
        .mount(&server)
        .await;
    for (n, id) in ids.iter().enumerate() {
        Mock::given(path(format!("/sites/acme/api/orders/{id}")))
            .respond_with(
                json_reply(200, json!({"ID": id}))
                    .set_delay(Duration::from_millis(150 - 50 * n as u64)),
            )
            .mount(&server)
            .await;
    }
    let orders = client(&server)
        .orders()
        .find(OrderFilter::new())
        .collect_vec()
        .await
        .unwrap();
    let got: Vec<String> = orders.iter().map(|o| o.id.unwrap().to_string()).collect();
    assert_eq!(got, ids);
}

#[tokio::test]
async fn bearer_scheme_is_available_and_raw_is_the_default() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(json_reply(200, json!([])))
        .mount(&server)
        .await;
    client(&server)
        .orders()
        .ids(OrderFilter::new())
        .await
        .unwrap();
    let bearer = builder(&server)
        .auth_scheme(ontime::AuthScheme::Bearer)
        .build()
        .unwrap();
    bearer.orders().ids(OrderFilter::new()).await.unwrap();
    let sent = requests(&server).await;
    assert_eq!(sent[0].headers["authorization"], KEY);
    assert_eq!(
        sent[1].headers["authorization"],
        format!("Bearer {KEY}").as_str()
    );
}

#[tokio::test]
async fn transport_errors_do_not_leak_credentials_from_the_url() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = Client::builder()
        .base_url(format!("http://127.0.0.1:{port}/sites/acme"))
        .api_key(KEY)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let err = client
        .users()
        .authenticate("dana", "hunter2-password")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport {
                operation: "users_authenticate",
                ..
            }
        ),
        "{err:?}"
    );
    let shown = format!("{err} {err:?}");
    assert!(
        !shown.contains("hunter2") && !shown.contains(KEY),
        "{shown}"
    );
}

#[tokio::test]
async fn traces_name_the_operation_and_never_the_key() {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(json_reply(503, json!({"Message": "busy"})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(json_reply(200, order_json()))
        .mount(&server)
        .await;
    client(&server).orders().get(order_id()).await.unwrap();

    let log = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("operation=\"orders_get\""), "{log}");
    assert!(log.contains("retrying"), "{log}");
    assert!(
        log.contains("attempts=2") && log.contains("status=200"),
        "{log}"
    );
    assert!(!log.contains(KEY), "{log}");
}

#[tokio::test]
async fn timeouts_are_retried_for_reads_but_not_for_status_changes() {
    let server = MockServer::start().await;
    empty_timeline(&server).await;
    let slow = Duration::from_secs(3);
    Mock::given(method("GET"))
        .respond_with(json_reply(200, order_json()).set_delay(slow))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(json_reply(200, order_json()))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(json_reply(200, json!(true)).set_delay(slow))
        .mount(&server)
        .await;
    let client = builder(&server)
        .timeout(Duration::from_millis(300))
        .retry_policy(fast_retries())
        .build()
        .unwrap();
    let order = client
        .orders()
        .get(order_id())
        .await
        .expect("the retry answers in time");
    assert_eq!(order.tracking_number.as_deref(), Some("1009214"));
    assert_eq!(
        requests(&server).await.len(),
        2,
        "one timed out, one retried"
    );
    assert_eq!(
        client.quota().calls,
        2,
        "the timed-out attempt counts as a call"
    );

    let err = client
        .orders()
        .update_status(order_id(), StatusChange::new(StatusLevel::Delivered))
        .await
        .unwrap_err();
    // The timeline after the timeout shows no new entry, but the request may still be running
    // at the server: unknown, not re-sent.
    assert!(
        matches!(&err, Error::OutcomeUnknown { operation: "order_update_status", source, check: None, .. }
            if matches!(**source, Error::Timeout { after, .. } if after == Duration::from_millis(300))),
        "{err:?}"
    );
    let posts = requests(&server)
        .await
        .into_iter()
        .filter(|r| r.method == wiremock::http::Method::POST)
        .count();
    assert_eq!(
        posts, 1,
        "a timed-out status change may have been applied: never repeated"
    );
    assert_eq!(
        client.quota().calls,
        5,
        "two gets, the timeline twice, one post"
    );
}

#[tokio::test]
async fn user_agent_is_configurable() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(json_reply(200, json!([])))
        .mount(&server)
        .await;
    let default = client(&server);
    default.orders().ids(OrderFilter::new()).await.unwrap();
    let custom = builder(&server)
        .user_agent("acme-dispatch/2.1")
        .build()
        .unwrap();
    custom.orders().ids(OrderFilter::new()).await.unwrap();
    let agents: Vec<String> = requests(&server)
        .await
        .iter()
        .map(|r| {
            r.headers
                .get("user-agent")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        agents,
        [
            format!("ontime-rs/{}", env!("CARGO_PKG_VERSION")),
            "acme-dispatch/2.1".into()
        ]
    );
}

#[tokio::test]
async fn a_custom_http_client_is_used_and_still_gets_the_key_and_the_timeout() {
    let server = MockServer::start().await;
    Mock::given(path("/sites/acme/api/orders"))
        .respond_with(json_reply(200, json!([ORDER])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(json_reply(200, order_json()).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let http = reqwest::Client::builder()
        .user_agent("my-proxy-aware-client/1")
        .build()
        .unwrap();
    let client = builder(&server)
        .http_client(http)
        .timeout(Duration::from_millis(200))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    assert_eq!(
        client.orders().ids(OrderFilter::new()).await.unwrap(),
        [order_id()]
    );
    let sent = &requests(&server).await[0];
    assert_eq!(
        sent.headers.get("user-agent").unwrap(),
        "my-proxy-aware-client/1"
    );
    assert_eq!(sent.headers.get("authorization").unwrap(), KEY);
    let err = client.orders().get(order_id()).await.unwrap_err();
    assert!(
        matches!(err, Error::Timeout { .. }),
        "the facade's timeout applies: {err:?}"
    );
}

#[tokio::test]
async fn the_concurrency_limit_holds_across_lookups_running_at_once() {
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    const LIMIT: usize = 3;
    const DELAY: Duration = Duration::from_millis(150);
    let ids: Vec<String> = (0..8)
        .map(|i| format!("00000000-0000-4000-8000-{i:012}"))
        .collect();
    let arrivals: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let server = MockServer::start().await;
    Mock::given(path("/sites/acme/api/orders"))
        .respond_with(json_reply(200, json!(ids)))
        .mount(&server)
        .await;
    let seen = arrivals.clone();
    Mock::given(wiremock::matchers::path_regex("^/sites/acme/api/orders/.+"))
        .respond_with(move |request: &Request| {
            seen.lock().unwrap().push(Instant::now());
            let id = request.url.path().rsplit('/').next().unwrap_or_default();
            json_reply(200, json!({"ID": id})).set_delay(DELAY)
        })
        .mount(&server)
        .await;
    let client = builder(&server).concurrency(LIMIT).build().unwrap();
    let orders = client.orders();
    let many = orders.get_many(ids.iter().map(|id| id.parse::<OrderId>().unwrap()));
    let (a, b, c) = tokio::join!(
        orders.find(OrderFilter::new()).collect_vec(),
        orders.find(OrderFilter::new()).collect_vec(),
        many,
    );
    assert_eq!(
        (a.unwrap().len(), b.unwrap().len(), c.unwrap().len()),
        (8, 8, 8)
    );
    // Every fetch is held DELAY by the server, so requests that arrived less than DELAY apart
    // were in flight together. A request only starts when another has finished, so with the
    // limit kept no more than LIMIT arrivals fall within any DELAY-long window.
    let mut arrivals = arrivals.lock().unwrap().clone();
    arrivals.sort();
    assert_eq!(arrivals.len(), 24);
    let peak = (0..arrivals.len())
        .map(|i| {
            arrivals[i..]
                .iter()
                .take_while(|t| t.duration_since(arrivals[i]) < DELAY)
                .count()
        })
        .max()
        .unwrap();
    assert!(
        peak <= LIMIT,
        "{peak} requests in flight at once, limit {LIMIT}"
    );
    assert!(peak >= 2, "the lookups did run concurrently (peak {peak})");
}

/// A status change that lands between modify's last read and its post makes the post set the
/// status back (OnTime appends an entry for the posted level). The answer shows a new status
/// entry with the level modify posted unchanged: that is reported as a conflict, not hidden.
#[tokio::test]
async fn modify_reports_a_status_its_post_set_back() {
    let server = MockServer::start().await;
    let mut read = order_json();
    read["Status"] = json!({"Level": 3, "Timestamp": "2026-11-24T09:00:00"});
    Mock::given(method("GET"))
        .respond_with(json_reply(200, read.clone()))
        .mount(&server)
        .await;
    // A driver set level 4 just before the post; the post's level 3 was appended after it.
    let mut answered = read.clone();
    answered["Comments"] = json!("new");
    answered["Status"] = json!({"Level": 3, "Timestamp": "2026-11-24T09:05:00",
                                "Description": "Status changed by order post"});
    Mock::given(method("POST"))
        .respond_with(json_reply(201, answered.clone()))
        .mount(&server)
        .await;
    let err = client(&server)
        .orders()
        .modify(order_id(), |o| o.comments = Some("new".into()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Conflict { posted: true, message, .. } if message.contains("set it back")),
        "{err:?}"
    );

    // The same answer with the entry that was read: no conflict.
    server.reset().await;
    Mock::given(method("GET"))
        .respond_with(json_reply(200, read.clone()))
        .mount(&server)
        .await;
    answered["Status"] = read["Status"].clone();
    Mock::given(method("POST"))
        .respond_with(json_reply(201, answered))
        .mount(&server)
        .await;
    let saved = client(&server)
        .orders()
        .modify(order_id(), |o| o.comments = Some("new".into()))
        .await
        .unwrap();
    assert_eq!(saved.comments.as_deref(), Some("new"));
}
