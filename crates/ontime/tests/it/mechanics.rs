//! The facade's call mechanics against a scripted loopback server (wiremock on 127.0.0.1):
//! retries, idempotency, error mapping, timeouts, decode paths, quotas, safe updates, secrecy.
//! Behaviour against the stateful simulator lives in `simulator.rs`.

use std::time::Duration;

use ontime::{Client, Error, OrderFilter, OrderId, RetryPolicy, StatusChange, StatusLevel};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
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
        assert_eq!(err.operation(), Some(ontime::Operation::OrdersGet));
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
                operation: ontime::Operation::OrdersGet,
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
            assert_eq!(*operation, ontime::Operation::OrdersGet);
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
                operation: ontime::Operation::UsersAuthenticate,
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
    let capture = capture::start();

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

    let log = capture.text();
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
        matches!(&err, Error::OutcomeUnknown { operation: ontime::Operation::OrderUpdateStatus, source, check: None, .. }
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

// ---------------------------------------------------------------------------------------------
// Hostile or broken servers: endless bodies, lying headers, redirects, echoed keys, web pages.
// ---------------------------------------------------------------------------------------------

mod capture {
    //! Tracing output of the current thread. One global subscriber (DEBUG, span closes
    //! printed) writes each event to the buffer of the thread that emitted it, if that thread
    //! asked for one: scoped subscribers (`set_default`) miss events in parallel tests, as
    //! callsites registered by other threads keep a stale interest.

    use std::cell::RefCell;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    thread_local! {
        static BUFFER: RefCell<Option<Arc<Mutex<Vec<u8>>>>> = const { RefCell::new(None) };
    }

    struct ThreadWriter;

    impl Write for ThreadWriter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            BUFFER.with(|b| {
                if let Some(buffer) = &*b.borrow() {
                    buffer.lock().unwrap().extend_from_slice(bytes);
                }
            });
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// What this thread has logged since [`start`].
    pub struct Capture(Arc<Mutex<Vec<u8>>>);

    impl Capture {
        pub fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    impl Drop for Capture {
        fn drop(&mut self) {
            BUFFER.with(|b| b.borrow_mut().take());
        }
    }

    /// Starts capturing this thread's events (tests run on a current-thread runtime).
    pub fn start() -> Capture {
        static INIT: std::sync::Once = std::sync::Once::new();
        INIT.call_once(|| {
            let _ = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::DEBUG)
                .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
                .with_writer(|| ThreadWriter)
                .with_ansi(false)
                .try_init();
        });
        let buffer = Arc::new(Mutex::new(Vec::new()));
        BUFFER.with(|b| *b.borrow_mut() = Some(buffer.clone()));
        Capture(buffer)
    }
}

mod hostile {
    //! A raw HTTP/1.1 server on 127.0.0.1 for answers wiremock cannot give: bodies that never
    //! end, a `Content-Length` far larger than what follows. It serves one connection and
    //! reports how many body bytes it managed to write and whether the client hung up first.

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpSocket;
    use tokio::sync::oneshot;

    /// What the server managed to do on its connection.
    #[derive(Debug)]
    pub struct Written {
        /// Body bytes written (accepted by the socket).
        pub body_bytes: u64,
        /// True when the client closed the connection before the server had sent everything.
        pub client_hung_up: bool,
    }

    /// Starts a server that answers the first request with `head` and then up to `body_bytes`
    /// body bytes (as chunks of `chunk` when `chunked`, else raw), then waits for the client to
    /// close. Returns its base URL and the report, sent once the connection is over.
    pub async fn serve(
        head: String,
        chunk: Vec<u8>,
        body_bytes: u64,
        chunked: bool,
    ) -> (String, oneshot::Receiver<Written>) {
        let socket = TcpSocket::new_v4().expect("socket");
        // A small send buffer keeps what the kernel holds for a client that stopped reading
        // small, so the count of written bytes shows what the client read.
        socket.set_send_buffer_size(64 * 1024).expect("buffer size");
        socket.bind("127.0.0.1:0".parse().unwrap()).expect("bind");
        let listener = socket.listen(4).expect("listen");
        let addr = listener.local_addr().expect("addr");
        let (report, done) = oneshot::channel();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.expect("accept");
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let mut written = 0u64;
            let mut hung_up = stream.write_all(head.as_bytes()).await.is_err();
            while !hung_up && written < body_bytes {
                let n = chunk.len().min((body_bytes - written) as usize);
                let result = if chunked {
                    let mut framed = format!("{n:x}\r\n").into_bytes();
                    framed.extend_from_slice(&chunk[..n]);
                    framed.extend_from_slice(b"\r\n");
                    stream.write_all(&framed).await
                } else {
                    stream.write_all(&chunk[..n]).await
                };
                match result {
                    Ok(()) => written += n as u64,
                    Err(_) => hung_up = true,
                }
            }
            if !hung_up {
                if chunked {
                    let _ = stream.write_all(b"0\r\n\r\n").await;
                }
                // Wait for the client to close (read returns 0 or fails).
                let closed = stream.read(&mut buf).await;
                hung_up = written < body_bytes && matches!(closed, Ok(0) | Err(_));
            }
            let _ = report.send(Written {
                body_bytes: written,
                client_hung_up: hung_up,
            });
        });
        (format!("http://{addr}/sites/acme"), done)
    }
}

const MIB: u64 = 1024 * 1024;

fn hostile_client(url: &str) -> Client {
    Client::builder()
        .base_url(url)
        .api_key(KEY)
        .max_body_bytes(MIB)
        .max_error_body_bytes(16 * 1024)
        .timeout(Duration::from_secs(20))
        .retry_policy(fast_retries())
        .build()
        .expect("client")
}

#[tokio::test]
async fn an_endless_body_fails_at_the_cap_and_the_client_hangs_up() {
    let total = 512 * MIB;
    let (url, report) = hostile::serve(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            .into(),
        br#""00000000-0000-0000-0000-000000000000","#.repeat(1600),
        total,
        true,
    )
    .await;
    let err = hostile_client(&url)
        .orders()
        .ids(OrderFilter::new())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::BodyTooLarge {
                operation: ontime::Operation::OrdersFind,
                status: 200,
                limit,
                content_length: None,
            } if limit == MIB
        ),
        "{err:?}"
    );
    assert!(!err.is_retryable(), "the same answer would come again");
    assert!(
        err.to_string().contains("larger than the 1 MiB allowed"),
        "{err}"
    );
    let written = report.await.expect("the server reports");
    assert!(written.client_hung_up, "{written:?}");
    // The client stopped reading at the cap: what the server got rid of is the cap plus what
    // the two sockets buffer, far from the 512 MiB it had to send.
    assert!(written.body_bytes < 16 * MIB, "{written:?}");
}

#[tokio::test]
async fn an_oversized_content_length_is_refused_before_reading() {
    // The server announces 10 GiB but sends nothing: a client that tried to read the body
    // would wait for the timeout instead of failing at once.
    let (url, report) = hostile::serve(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10737418240\r\n\r\n"
            .into(),
        Vec::new(),
        0,
        false,
    )
    .await;
    let client = Client::builder()
        .base_url(&url)
        .api_key(KEY)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = client.orders().ids(OrderFilter::new()).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::BodyTooLarge {
                limit: ontime::DEFAULT_MAX_BODY_BYTES,
                content_length: Some(10_737_418_240),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "refused without waiting for a body"
    );
    let written = report.await.expect("the server reports");
    assert_eq!(written.body_bytes, 0);
}

#[tokio::test]
async fn an_endless_error_body_is_cut_and_the_status_kept() {
    let (url, report) = hostile::serve(
        "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
            .into(),
        b"Something broke. ".repeat(4000),
        512 * MIB,
        true,
    )
    .await;
    let err = hostile_client(&url)
        .orders()
        .get(order_id())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Server { status: 500, .. }), "{err:?}");
    let message = err.server_message().expect("the start of the body");
    assert!(
        message.starts_with("Something broke. Something broke."),
        "{message}"
    );
    assert!(
        message.chars().count() <= 501,
        "shown cut to 500 characters"
    );
    let written = report.await.expect("the server reports");
    assert!(written.client_hung_up, "{written:?}");
    assert!(written.body_bytes < 16 * MIB, "{written:?}");
}

#[tokio::test]
async fn redirects_are_errors_naming_the_location_and_are_never_followed() {
    for status in [302u16, 303, 307] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(status)
                    .insert_header("Location", "https://login.example.net/portal"),
            )
            .mount(&server)
            .await;
        // The status change reads the timeline first (to resolve a lost answer).
        Mock::given(method("GET"))
            .and(path_regex("/orderStatusChanges/"))
            .respond_with(json_reply(200, json!([])))
            .mount(&server)
            .await;
        let err = client(&server)
            .orders()
            .update_status(order_id(), StatusChange::new(StatusLevel::Delivered))
            .await
            .unwrap_err();
        match &err {
            Error::Redirect {
                operation: ontime::Operation::OrderUpdateStatus,
                status: Some(s),
                location: Some(location),
            } => {
                assert_eq!(*s, status);
                assert_eq!(location, "https://login.example.net/portal");
            }
            other => panic!("{status}: {other:?}"),
        }
        assert!(err.to_string().contains("login.example.net"), "{err}");
        let sent: Vec<String> = requests(&server)
            .await
            .iter()
            .map(|r| r.method.to_string())
            .collect();
        assert_eq!(
            sent,
            ["GET", "POST"],
            "{status}: the timeline read, the post, no follow-up"
        );
    }

    // Reads are not retried on a redirect either.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(301).insert_header("Location", "/sites/acme/api/orders"),
        )
        .mount(&server)
        .await;
    let err = client(&server)
        .orders()
        .ids(OrderFilter::new())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Redirect {
                status: Some(301),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn a_custom_http_client_that_follows_redirects_still_gets_an_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/sites/acme/api/order/updateStatus"))
        .respond_with(ResponseTemplate::new(303).insert_header("Location", "/elsewhere"))
        .mount(&server)
        .await;
    Mock::given(path("/elsewhere"))
        .respond_with(json_reply(200, json!(true)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("/orderStatusChanges/"))
        .respond_with(json_reply(200, json!([])))
        .mount(&server)
        .await;
    Mock::given(path("/sites/acme/api/orders"))
        .respond_with(
            ResponseTemplate::new(302).insert_header("Location", "/sites/acme/api/orders"),
        )
        .mount(&server)
        .await;
    // reqwest's default policy follows up to 10 redirects.
    let client = builder(&server)
        .http_client(reqwest::Client::new())
        .retry_policy(fast_retries())
        .build()
        .unwrap();
    let err = client
        .orders()
        .update_status(order_id(), StatusChange::new(StatusLevel::Delivered))
        .await
        .unwrap_err();
    match &err {
        Error::Redirect {
            status: None,
            location: Some(location),
            ..
        } => assert!(location.ends_with("/elsewhere"), "{location}"),
        other => panic!("{other:?}"),
    }
    // The timeline read, the post, and the GET reqwest followed it with.
    let sent = requests(&server).await;
    if sent.len() != 3 {
        panic!("{sent:?}");
    }
    // A redirect loop ends at reqwest's limit, once: it is not retried.
    let err = client.orders().ids(OrderFilter::new()).await.unwrap_err();
    assert!(
        matches!(err, Error::Redirect { status: None, .. }),
        "{err:?}"
    );
    assert_eq!(
        requests(&server).await.len() - 3,
        11,
        "one run of 1 + 10 follows"
    );
}

#[tokio::test]
async fn the_api_key_echoed_by_a_server_is_redacted_everywhere() {
    /// Case `n`'s answer, echoing the request's `Authorization` header.
    fn echo(case: usize, req: &Request) -> ResponseTemplate {
        let auth = req.headers["authorization"].to_str().unwrap().to_string();
        let body = |status: u16, content_type: &str, text: String| {
            ResponseTemplate::new(status).set_body_raw(text.into_bytes(), content_type)
        };
        match case {
            0 => body(
                400,
                "application/json",
                json!({"Message": format!("Key {auth} is not valid here")}).to_string(),
            ),
            1 => body(
                500,
                "text/html",
                format!("<html><head><title>Error for {auth}</title></head></html>"),
            ),
            2 => body(
                200,
                "text/html",
                format!("<html><head><title>Welcome {auth}</title></head></html>"),
            ),
            3 => body(
                200,
                "application/json",
                json!({"ID": ORDER, "Items": [{"Weight": auth}]}).to_string(),
            ),
            _ => ResponseTemplate::new(302).insert_header("Location", format!("/login?key={auth}")),
        }
    }
    let expected: [fn(&Error) -> bool; 5] = [
        |e| matches!(e, Error::BadRequest { .. }),
        |e| matches!(e, Error::Server { status: 500, .. }),
        |e| matches!(e, Error::UnexpectedResponse { .. }),
        |e| matches!(e, Error::Decode { .. }),
        |e| matches!(e, Error::Redirect { .. }),
    ];
    for (case, expected) in expected.into_iter().enumerate() {
        for scheme in [ontime::AuthScheme::Raw, ontime::AuthScheme::Bearer] {
            let server = MockServer::start().await;
            Mock::given(method("GET"))
                .respond_with(move |req: &Request| echo(case, req))
                .mount(&server)
                .await;
            let client = builder(&server)
                .auth_scheme(scheme)
                .retry_policy(RetryPolicy::none())
                .build()
                .unwrap();
            let err = client.orders().get(order_id()).await.unwrap_err();
            assert!(expected(&err), "{case}: {err:?}");
            let shown = format!("{err} {err:?}");
            assert!(!shown.contains(KEY), "{shown}");
            assert!(shown.contains("[redacted]"), "{case}: {shown}");
        }
    }
}

#[tokio::test]
async fn a_web_page_where_json_was_expected_names_its_content_type() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            b"<!DOCTYPE html><html><head><title>Hotel WiFi - Sign in</title></head><body>...</body></html>".to_vec(),
            "text/html; charset=utf-8",
        ))
        .mount(&server)
        .await;
    let err = client(&server)
        .orders()
        .ids(OrderFilter::new())
        .await
        .unwrap_err();
    match &err {
        Error::UnexpectedResponse {
            operation: ontime::Operation::OrdersFind,
            status: 200,
            content_type: Some(content_type),
            snippet: Some(snippet),
        } => {
            assert_eq!(content_type, "text/html; charset=utf-8");
            assert_eq!(snippet, "Hotel WiFi - Sign in");
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.is_retryable());
    assert_eq!(
        err.to_string(),
        "orders_find: expected JSON but the server answered 200 with `text/html; charset=utf-8`: Hotel WiFi - Sign in"
    );
    // Plain text labelled as JSON is no JSON either.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(b"OK".to_vec(), "application/json"))
        .mount(&server)
        .await;
    let err = client(&server)
        .orders()
        .ids(OrderFilter::new())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UnexpectedResponse { .. }), "{err:?}");
}

#[tokio::test]
async fn retries_are_reported_and_the_final_error_counts_attempts_and_time() {
    use std::sync::{Arc, Mutex};
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(json_reply(503, json!({"Message": "busy"})))
        .mount(&server)
        .await;
    /// (failed attempt, most attempts, server asked, error)
    type Seen = (u32, u32, bool, String);
    let events: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let seen = events.clone();
    let client = builder(&server)
        .retry_policy(fast_retries().max_attempts(3))
        .on_retry(move |e| {
            seen.lock().unwrap().push((
                e.attempt,
                e.max_attempts,
                e.server_asked,
                e.error.to_string(),
            ))
        })
        .build()
        .unwrap();
    let err = client.orders().get(order_id()).await.unwrap_err();
    let events = events.lock().unwrap().clone();
    assert_eq!(
        events,
        [
            (
                1,
                3,
                false,
                "orders_get: OnTime answered 503: busy".to_string()
            ),
            (
                2,
                3,
                false,
                "orders_get: OnTime answered 503: busy".to_string()
            )
        ]
    );
    let retried = err.retried().expect("retried");
    assert_eq!(retried.attempts, 3);
    assert!(matches!(err, Error::Server { status: 503, .. }), "{err:?}");
    let shown = err.to_string();
    assert!(
        shown.starts_with("orders_get: OnTime answered 503: busy (gave up after 3 attempts in ")
            && shown.ends_with("s)"),
        "{shown}"
    );
    // A call tried once says nothing about attempts.
    let once = builder(&server)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let err = once.orders().get(order_id()).await.unwrap_err();
    assert_eq!(err.retried(), None);
    assert_eq!(err.to_string(), "orders_get: OnTime answered 503: busy");
}

#[tokio::test]
async fn every_http_attempt_is_logged_with_method_url_query_and_status_but_no_secret() {
    let capture = capture::start();

    let server = MockServer::start().await;
    Mock::given(path("/sites/acme/api/orders"))
        .respond_with(json_reply(503, json!({"Message": "busy"})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/sites/acme/api/orders"))
        .respond_with(json_reply(200, json!([ORDER])))
        .mount(&server)
        .await;
    Mock::given(path("/sites/acme/api/users/authenticate"))
        .respond_with(json_reply(200, json!(null)))
        .mount(&server)
        .await;
    let client = client(&server);
    client
        .orders()
        .ids(OrderFilter::new().status(StatusLevel::Delivered))
        .await
        .unwrap();
    client
        .users()
        .authenticate("dana", "hunter2-password")
        .await
        .unwrap();

    let log = capture.text();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("ontime::http")).collect();
    assert_eq!(lines.len(), 3, "one event per attempt:\n{log}");
    let base = format!("{}/sites/acme", server.uri());
    assert!(
        lines[0].contains("attempt=1") && lines[0].contains("method=GET"),
        "{log}"
    );
    assert!(
        lines[0].contains(&format!("url={base}/api/orders?status=")),
        "{log}"
    );
    assert!(lines[0].contains("status=503"), "{log}");
    assert!(
        lines[1].contains("attempt=2") && lines[1].contains("status=200"),
        "{log}"
    );
    assert!(
        lines[2].contains("password=[redacted]") && lines[2].contains("userName=dana"),
        "{log}"
    );
    assert!(!log.contains("hunter2") && !log.contains(KEY), "{log}");
}
