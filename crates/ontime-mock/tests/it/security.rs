//! API keys (401), customer scopes, per-record-type permissions (403), quotas with their
//! headers (429), the clock that resets them, and the HTTP side's limits (slow headers, body
//! size, body budget, stalled bodies).

use crate::common;

use std::time::Duration;

use chrono::{Datelike, TimeDelta};
use ontime_mock::{KeySpec, Operation, RecordKind};
use ontime_raw::types;
use serde_json::{Value, json};

async fn get(mock: &ontime_mock::RunningMock, path: &str, auth: Option<&str>) -> reqwest::Response {
    let mut req = common::http().get(common::url(mock, path));
    if let Some(a) = auth {
        req = req.header("Authorization", a);
    }
    req.send().await.expect("response")
}

#[tokio::test]
async fn missing_or_unknown_keys_get_401_and_bearer_is_accepted() {
    let mock = common::start().await;
    for auth in [None, Some("not-a-key"), Some(""), Some("Bearer nope")] {
        let resp = get(&mock, "orders", auth).await;
        assert_eq!(resp.status(), 401, "{auth:?}");
        let fault: Value = resp.json().await.expect("fault JSON");
        assert!(
            fault["Message"]
                .as_str()
                .expect("message")
                .contains("denied")
        );
    }
    let bearer = format!("Bearer {}", mock.api_key());
    assert_eq!(get(&mock, "orders", Some(&bearer)).await.status(), 200);
    assert_eq!(
        get(&mock, "orders", Some(mock.api_key())).await.status(),
        200
    );
    // A revoked key stops working.
    let key = mock.add_key(KeySpec::full());
    assert_eq!(get(&mock, "zones", Some(&key)).await.status(), 200);
    assert!(mock.remove_key(&key));
    assert_eq!(get(&mock, "zones", Some(&key)).await.status(), 401);
    // Unauthorised requests change nothing.
    let before = mock.store().order_count();
    let resp = common::http()
        .post(common::url(&mock, "order/post"))
        .json(&json!({"Description": "x"}))
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 401);
    assert_eq!(mock.store().order_count(), before);
    mock.shutdown().await;
}

#[tokio::test]
async fn a_customer_key_sees_only_its_customer() {
    let mock = common::start().await;
    let scoped = common::client_with(&mock, mock.customer_key());
    let customer = mock.scoped_customer();
    let store = mock.store();
    let mut mine = store.customer_order_ids(customer);
    assert!(!mine.is_empty());
    let mut seen = scoped
        .orders_find()
        .send()
        .await
        .expect("find")
        .into_inner()
        .to_vec();
    seen.sort();
    mine.sort();
    assert_eq!(seen, mine);
    let all = common::client(&mock)
        .orders_find()
        .send()
        .await
        .expect("find")
        .into_inner();
    assert!(all.len() > seen.len());

    let other = store
        .order_ids()
        .into_iter()
        .find(|id| !mine.contains(id))
        .expect("another customer's order");
    assert_eq!(
        common::status_of(scoped.orders_get().id(other).send().await),
        403
    );
    assert_eq!(
        common::status_of(scoped.orders_get().id(mine[0]).send().await),
        200
    );
    assert_eq!(
        common::status_of(scoped.order_status_changes().order_id(other).send().await),
        403
    );
    assert_eq!(common::status_of(scoped.users_find().send().await), 403);
    assert_eq!(
        common::status_of(
            scoped
                .vehicles_get()
                .id(store.vehicle_ids()[0])
                .send()
                .await
        ),
        403
    );
    let customers = scoped
        .customers_find()
        .send()
        .await
        .expect("find")
        .into_inner();
    assert_eq!(customers.to_vec(), vec![customer]);
    let other_customer = store.customer_ids()[1];
    assert_eq!(
        common::status_of(scoped.customers_get().id(other_customer).send().await),
        403
    );

    // Orders it posts belong to its customer; posting for another customer is 403.
    let created = scoped
        .order_post()
        .body(
            serde_json::from_value::<types::Order>(json!({"Description": "Mine"})).expect("order"),
        )
        .send()
        .await
        .expect("post")
        .into_inner();
    assert_eq!(created.customer, Some(Into::into(customer)));
    let count = store.order_count();
    let foreign =
        serde_json::from_value::<types::Order>(json!({"Customer": other_customer})).expect("order");
    assert_eq!(
        common::status_of(scoped.order_post().body(foreign).send().await),
        403
    );
    let hijack = serde_json::from_value::<types::Order>(json!({"ID": other, "Customer": customer}))
        .expect("order");
    assert_eq!(
        common::status_of(scoped.order_post().body(hijack).send().await),
        403
    );
    assert_eq!(store.order_count(), count);
    assert_ne!(
        store.order(other).and_then(|o| o.customer),
        Some(customer.into())
    );
    mock.shutdown().await;
}

#[tokio::test]
async fn a_customer_key_cannot_change_shared_or_foreign_records_through_a_side_door() {
    let mock = common::start().await;
    let scoped = common::client_with(&mock, mock.customer_key());
    let full = common::client(&mock);
    let customer = mock.scoped_customer();
    let before = mock.store().fingerprint();

    // Locations are shared by every customer's orders: overwriting one is refused...
    let location = mock.store().location_ids()[0];
    let wipe =
        serde_json::from_value::<types::Location>(json!({"ID": location})).expect("location");
    assert_eq!(
        common::status_of(scoped.location_post().body(wipe).send().await),
        403
    );

    // ...and so is taking over another customer's contact or department by embedding it.
    let other = mock
        .store()
        .customer_ids()
        .into_iter()
        .find(|c| *c != customer)
        .expect("another customer");
    let theirs = full
        .customers_get()
        .id(other)
        .send()
        .await
        .expect("get")
        .into_inner();
    let mine = full
        .customers_get()
        .id(customer)
        .send()
        .await
        .expect("get")
        .into_inner();
    let foreign_contact = theirs.contacts.clone().unwrap_or_default();
    assert!(
        !foreign_contact.is_empty(),
        "seeded customers have contacts"
    );
    let mut with_contact = mine.clone();
    with_contact.contacts = Some(foreign_contact);
    assert_eq!(
        common::status_of(scoped.customer_post().body(with_contact).send().await),
        403
    );
    let foreign_departments = theirs.departments.clone().unwrap_or_default();
    if !foreign_departments.is_empty() {
        let mut with_department = mine.clone();
        with_department.departments = Some(foreign_departments);
        assert_eq!(
            common::status_of(scoped.customer_post().body(with_department).send().await),
            403
        );
    }
    assert_eq!(mock.store().fingerprint(), before, "nothing changed");

    // A new location is fine, and so is posting its own customer back (status_of: 2xx → 200).
    let fresh = serde_json::from_value::<types::Location>(json!({"CompanyName": "New dock"}))
        .expect("location");
    assert_eq!(
        common::status_of(scoped.location_post().body(fresh).send().await),
        200
    );
    assert_eq!(
        common::status_of(scoped.customer_post().body(mine).send().await),
        200
    );
    mock.shutdown().await;
}

#[tokio::test]
async fn denied_record_types_and_read_only_keys_get_403() {
    let mock = common::start().await;
    let key = mock.add_key(
        KeySpec::full()
            .deny(RecordKind::Order)
            .deny(RecordKind::User),
    );
    let limited = common::client_with(&mock, &key);
    let order = mock.store().order_ids()[0];
    assert_eq!(
        common::status_of(limited.orders_get().id(order).send().await),
        403
    );
    assert_eq!(common::status_of(limited.orders_find().send().await), 403);
    assert_eq!(common::status_of(limited.users_find().send().await), 403);
    assert_eq!(
        common::status_of(limited.customers_find().send().await),
        200
    );
    let resp = get(&mock, &format!("orders/{order}"), Some(&key)).await;
    let fault: Value = resp.json().await.expect("fault");
    assert!(
        fault["Message"]
            .as_str()
            .expect("message")
            .contains("Orders")
    );

    let reader = mock.add_key(KeySpec::full().read_only());
    let ro = common::client_with(&mock, &reader);
    assert_eq!(
        common::status_of(ro.orders_get().id(order).send().await),
        200
    );
    let before = mock.store().order(order);
    let update = serde_json::from_value::<types::Order>(json!({"ID": order})).expect("order");
    assert_eq!(
        common::status_of(ro.order_post().body(update).send().await),
        403
    );
    assert_eq!(
        common::status_of(
            ro.order_update_status()
                .id(order)
                .detail(ontime_raw::lenient::StatusLevel::Cancelled)
                .send()
                .await
        ),
        403
    );
    assert_eq!(mock.store().order(order), before);
    mock.shutdown().await;
}

#[tokio::test]
async fn quotas_count_per_key_answer_429_and_reset_with_the_clock() {
    let mock = common::builder()
        .daily_quota(3)
        .monthly_quota(5)
        .start()
        .await
        .expect("mock");
    let key = mock.api_key().to_owned();
    let now_utc = mock.clock().now_utc();
    let next_midnight = (now_utc.date() + TimeDelta::days(1))
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
        .timestamp();
    for remaining in [2, 1, 0] {
        let resp = get(&mock, "zones", Some(&key)).await;
        assert_eq!(resp.status(), 200);
        let h = resp.headers();
        assert_eq!(h["X-RateLimit-Limit-Daily"], "3");
        assert_eq!(
            h["X-RateLimit-Remaining-Daily"],
            remaining.to_string().as_str()
        );
        assert_eq!(
            h["X-RateLimit-Reset-Daily"],
            next_midnight.to_string().as_str()
        );
        assert_eq!(h["X-RateLimit-Limit-Monthly"], "5");
        assert_eq!(
            h["X-RateLimit-Remaining-Monthly"],
            (remaining + 2).to_string().as_str()
        );
        let first_of_next_month = chrono::NaiveDate::from_ymd_opt(
            now_utc.year() + i32::from(now_utc.month() == 12),
            now_utc.month() % 12 + 1,
            1,
        )
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("a date")
        .and_utc()
        .timestamp();
        assert_eq!(
            h["X-RateLimit-Reset-Monthly"],
            first_of_next_month.to_string().as_str()
        );
    }
    let resp = get(&mock, "zones", Some(&key)).await;
    assert_eq!(resp.status(), 429);
    let retry: i64 = resp.headers()["Retry-After"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert_eq!(retry, next_midnight - now_utc.and_utc().timestamp());
    let fault: Value = resp.json().await.expect("fault");
    assert!(
        fault["Message"]
            .as_str()
            .expect("message")
            .contains("quota")
    );
    // Other keys have their own budget; refused requests are not counted.
    assert_eq!(
        get(&mock, "zones", Some(mock.customer_key()))
            .await
            .status(),
        200
    );
    assert_eq!(mock.quota(&key).daily_used, 3);

    // The next UTC day resets the daily window; the monthly one runs out after 5.
    mock.clock().advance(Duration::from_secs(24 * 3600));
    assert_eq!(get(&mock, "zones", Some(&key)).await.status(), 200);
    assert_eq!(get(&mock, "zones", Some(&key)).await.status(), 200);
    let resp = get(&mock, "zones", Some(&key)).await;
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["X-RateLimit-Remaining-Monthly"], "0");
    let usage = mock.quota(&key);
    assert_eq!((usage.daily_used, usage.monthly_used), (2, 5));
    // A new month resets both.
    let now = mock.clock().now();
    let first = (now.date() + TimeDelta::days(32))
        .with_day(1)
        .expect("first")
        .and_hms_opt(12, 0, 0)
        .expect("noon");
    mock.clock().set(first);
    assert_eq!(get(&mock, "zones", Some(&key)).await.status(), 200);
    mock.shutdown().await;
}

#[tokio::test]
async fn the_defaults_are_ontimes_quotas() {
    let mock = common::start().await;
    let resp = get(&mock, "zones", Some(mock.api_key())).await;
    assert_eq!(resp.headers()["X-RateLimit-Limit-Daily"], "86400");
    assert_eq!(resp.headers()["X-RateLimit-Limit-Monthly"], "100000");
    assert_eq!(resp.headers()["X-RateLimit-Remaining-Daily"], "86399");
    let own = mock.add_key(KeySpec::full().daily_quota(1));
    assert_eq!(get(&mock, "zones", Some(&own)).await.status(), 200);
    assert_eq!(get(&mock, "zones", Some(&own)).await.status(), 429);
    mock.shutdown().await;
}

#[tokio::test]
async fn every_answer_to_a_valid_key_carries_the_quota_headers() {
    let mock = common::start().await;
    let denied = mock.add_key(KeySpec::full().deny(RecordKind::Zone));
    let key = mock.api_key().to_owned();
    let missing = uuid::Uuid::from_u128(7);
    let http = common::http();
    let base = mock.base_url();
    let cases: Vec<(u16, reqwest::RequestBuilder)> = vec![
        (
            200,
            http.get(common::url(&mock, "zones"))
                .header("Authorization", &key),
        ),
        (
            404,
            http.get(common::url(&mock, &format!("zones/{missing}")))
                .header("Authorization", &key),
        ),
        (
            404,
            http.get(common::url(&mock, "no/such/route"))
                .header("Authorization", &key),
        ),
        (
            405,
            http.delete(common::url(&mock, "zones"))
                .header("Authorization", &key),
        ),
        (
            400,
            http.get(common::url(&mock, "zones/not-a-guid"))
                .header("Authorization", &key),
        ),
        (
            400,
            http.post(common::url(&mock, "zone/post"))
                .header("Authorization", &key)
                .header("Content-Type", "application/json")
                .body("{not json"),
        ),
        (
            403,
            http.get(common::url(&mock, "zones"))
                .header("Authorization", &denied),
        ),
        (
            404,
            http.get(format!("{base}/api/zones/{missing}"))
                .header("Authorization", &key),
        ),
    ];
    for (expected, request) in cases {
        let resp = request.send().await.expect("response");
        assert_eq!(resp.status(), expected, "{}", resp.url());
        for name in [
            "X-RateLimit-Limit-Daily",
            "X-RateLimit-Remaining-Daily",
            "X-RateLimit-Reset-Daily",
            "X-RateLimit-Limit-Monthly",
            "X-RateLimit-Remaining-Monthly",
            "X-RateLimit-Reset-Monthly",
        ] {
            assert!(
                resp.headers().contains_key(name),
                "{expected} {}: no {name}",
                resp.url()
            );
        }
    }
    // Without a valid key there is no quota to report.
    let resp = get(&mock, "zones", Some("not-a-key")).await;
    assert_eq!(resp.status(), 401);
    assert!(!resp.headers().contains_key("X-RateLimit-Remaining-Daily"));
    mock.shutdown().await;
}

#[tokio::test]
async fn allow_lists_and_per_type_write_denials_get_403() {
    let mock = common::start().await;
    let client = |key: &str| common::client_with(&mock, key);
    let zone = || serde_json::from_value::<types::Zone>(json!({"Name": "Harbour"})).expect("zone");

    // Only orders and zones: everything else is 403.
    let only = client(
        &mock.add_key(
            KeySpec::full()
                .allow(RecordKind::Order)
                .allow(RecordKind::Zone),
        ),
    );
    assert_eq!(common::status_of(only.orders_find().send().await), 200);
    assert_eq!(common::status_of(only.zones_find().send().await), 200);
    assert_eq!(
        common::status_of(only.zone_post().body(zone()).send().await),
        200
    );
    assert_eq!(common::status_of(only.customers_find().send().await), 403);
    assert_eq!(common::status_of(only.vehicles_find().send().await), 403);

    // Zones readable, not writable; other writes still allowed.
    let before = mock.store().fingerprint();
    let no_zone_writes = client(&mock.add_key(KeySpec::full().deny_write(RecordKind::Zone)));
    assert_eq!(
        common::status_of(no_zone_writes.zones_find().send().await),
        200
    );
    assert_eq!(
        common::status_of(no_zone_writes.zone_post().body(zone()).send().await),
        403
    );
    assert_eq!(
        mock.store().fingerprint(),
        before,
        "the refused write changed nothing"
    );
    let contact =
        serde_json::from_value::<types::Contact>(json!({"Name": "Ada"})).expect("contact");
    assert_eq!(
        common::status_of(no_zone_writes.contact_post().body(contact).send().await),
        200
    );
    mock.shutdown().await;
}

#[tokio::test]
async fn the_spec_is_served_with_the_simulators_url() {
    let mock = common::start().await;
    let resp = common::http()
        .get(mock.spec_url())
        .send()
        .await
        .expect("spec");
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("application/json")
    );
    let spec: Value = resp.json().await.expect("JSON");
    assert_eq!(spec["openapi"], "3.0.3");
    assert_eq!(spec["servers"][0]["url"], mock.base_url().as_str());
    let served = spec["paths"].as_object().expect("paths").len();
    let ours: Value = serde_json::from_str(ontime_mock::SPEC).expect("spec");
    assert_eq!(served, ours["paths"].as_object().expect("paths").len());
    mock.shutdown().await;
}

/// A raw HTTP/1.1 connection to the simulator, for requests no client library would send.
struct Raw(tokio::net::TcpStream);

/// The longest any raw exchange may take before the test fails (the server answers or closes
/// long before).
const GUARD: Duration = Duration::from_secs(20);

impl Raw {
    async fn connect(mock: &ontime_mock::RunningMock) -> Self {
        Self(
            tokio::net::TcpStream::connect(mock.addr())
                .await
                .expect("connect"),
        )
    }

    async fn send(&mut self, bytes: &[u8]) {
        use tokio::io::AsyncWriteExt;
        self.0.write_all(bytes).await.expect("write");
    }

    /// Everything the server sends until it closes the connection (a reset counts as closed).
    async fn until_closed(&mut self) -> String {
        use tokio::io::AsyncReadExt;
        let mut out = Vec::new();
        let read = tokio::time::timeout(GUARD, async {
            let mut buf = [0u8; 4096];
            loop {
                match self.0.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => out.extend_from_slice(&buf[..n]),
                }
            }
        })
        .await;
        assert!(read.is_ok(), "the server did not close the connection");
        String::from_utf8_lossy(&out).into_owned()
    }

    /// One answer's head and its `Content-Length` body (the connection stays open).
    async fn answer(&mut self) -> String {
        use tokio::io::AsyncReadExt;
        let mut out = Vec::new();
        let read = tokio::time::timeout(GUARD, async {
            let mut buf = [0u8; 4096];
            loop {
                let text = String::from_utf8_lossy(&out).into_owned();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().expect("length"))
                        })
                        .unwrap_or(0);
                    if body.len() >= length {
                        return text;
                    }
                }
                let n = self.0.read(&mut buf).await.expect("read");
                assert!(n > 0, "closed before a whole answer: {text}");
                out.extend_from_slice(&buf[..n]);
            }
        })
        .await;
        read.expect("an answer in time")
    }
}

/// The head of `POST api/order/post` declaring `length` body bytes.
fn post_head(mock: &ontime_mock::RunningMock, length: usize) -> Vec<u8> {
    format!(
        "POST /sites/demo/api/order/post HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {}\r\n\
         Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n",
        mock.api_key()
    )
    .into_bytes()
}

/// An order body of exactly `length` bytes (JSON padded with spaces).
fn order_body(tracking: &str, length: usize) -> Vec<u8> {
    let mut body = json!({"Description": "limits", "TrackingNumber": tracking})
        .to_string()
        .into_bytes();
    assert!(body.len() <= length);
    body.resize(length, b' ');
    body
}

#[tokio::test]
async fn connections_that_do_not_send_a_request_head_are_closed() {
    let mock = common::builder()
        .header_read_timeout(Duration::from_millis(300))
        .start()
        .await
        .expect("mock");
    // Silent, and half a head: both are closed (without a timeout they stayed open forever).
    let mut silent = Raw::connect(&mock).await;
    let mut half = Raw::connect(&mock).await;
    half.send(b"GET /sites/demo/api/zones HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await;
    let answered = silent.until_closed().await;
    assert!(
        answered.is_empty() || answered.starts_with("HTTP/1.1 408"),
        "{answered}"
    );
    let answered = half.until_closed().await;
    assert!(
        answered.is_empty() || answered.starts_with("HTTP/1.1 408"),
        "{answered}"
    );
    // A whole head within the timeout is served as before.
    let mut prompt = Raw::connect(&mock).await;
    prompt
        .send(
            format!(
                "GET /sites/demo/api/zones HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {}\r\n\r\n",
                mock.api_key()
            )
            .as_bytes(),
        )
        .await;
    let answer = prompt.answer().await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // The zones request is the only one logged: the silent connections never made a request.
    let log = mock.requests();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].operation, Some(Operation::ZonesFind));
    mock.shutdown().await;
}

#[tokio::test]
async fn an_oversize_body_is_refused_with_413_before_it_is_read() {
    let mock = common::builder()
        .max_body_bytes(1000)
        .body_budget_bytes(4000)
        .start()
        .await
        .expect("mock");
    let count = mock.store().order_count();
    // Only the head is sent: the answer comes without the server waiting for the body.
    let mut raw = Raw::connect(&mock).await;
    raw.send(&post_head(&mock, 1001)).await;
    let answer = raw.until_closed().await;
    let (head, body) = answer.split_once("\r\n\r\n").expect("an answer");
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    let head = head.to_ascii_lowercase();
    assert!(head.contains("content-type: application/json"), "{head}");
    assert!(head.contains("x-ratelimit-remaining-daily:"), "{head}");
    assert!(head.contains("connection: close"), "{head}");
    let fault: Value = serde_json::from_str(body).expect("a Fault body");
    assert!(
        fault["Message"]
            .as_str()
            .is_some_and(|m| m.contains("1000 bytes")),
        "{fault}"
    );
    // A chunked body that grows past the limit is refused when it does.
    let mut raw = Raw::connect(&mock).await;
    let chunk = order_body("CHUNKED", 1500);
    let mut request = format!(
        "POST /sites/demo/api/order/post HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n",
        mock.api_key(),
        chunk.len()
    )
    .into_bytes();
    request.extend_from_slice(&chunk);
    request.extend_from_slice(b"\r\n0\r\n\r\n");
    raw.send(&request).await;
    let answer = raw.until_closed().await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    // A body of exactly the limit is accepted.
    let resp = common::http()
        .post(common::url(&mock, "order/post"))
        .header("Authorization", mock.api_key())
        .header("Content-Type", "application/json")
        .body(order_body("FITS", 1000))
        .send()
        .await
        .expect("response");
    assert_eq!(resp.status(), 201);
    assert_eq!(
        mock.store().order_count(),
        count + 1,
        "only the body that fits wrote"
    );
    let statuses: Vec<u16> = mock
        .requests_for(Operation::OrderPost)
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, vec![413, 413, 201]);
    assert_eq!(mock.body_gauge().reserved_bytes, 0);
    mock.shutdown().await;
}

/// Waits until the body gauge shows `what`.
async fn wait_for(
    mock: &ontime_mock::RunningMock,
    what: &str,
    pred: impl Fn(&ontime_mock::BodyGauge) -> bool,
) {
    let shown = tokio::time::timeout(GUARD, mock.wait_for_body_gauge(pred))
        .await
        .is_ok();
    assert!(
        shown,
        "the gauge never showed {what}: {:?}",
        mock.body_gauge()
    );
}

#[tokio::test]
async fn concurrent_bodies_beyond_the_budget_wait_instead_of_being_buffered() {
    let mock = common::builder()
        .max_body_bytes(1000)
        .body_budget_bytes(2000)
        .start()
        .await
        .expect("mock");
    // Three uploads of 800 bytes each send their heads and the start of their bodies.
    let bodies: Vec<Vec<u8>> = ["BUDGET-A", "BUDGET-B", "BUDGET-C"]
        .iter()
        .map(|t| order_body(t, 800))
        .collect();
    let mut conns = Vec::new();
    for (i, body) in bodies.iter().enumerate() {
        let mut raw = Raw::connect(&mock).await;
        let mut start = post_head(&mock, 800);
        start.extend_from_slice(&body[..100]);
        raw.send(&start).await;
        conns.push(raw);
        match i {
            0 => wait_for(&mock, "A reserved", |g| g.reserved_bytes == 800).await,
            1 => wait_for(&mock, "A and B reserved", |g| g.reserved_bytes == 1600).await,
            // C does not fit: it waits, and its body is not read.
            _ => {
                wait_for(&mock, "C waiting", |g| {
                    g.waiting == 1 && g.reserved_bytes == 1600
                })
                .await
            }
        }
    }
    // A finishes: its reservation passes to C.
    conns[0].send(&bodies[0][100..]).await;
    let answer = conns[0].answer().await;
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    wait_for(&mock, "B and C reserved", |g| {
        g.waiting == 0 && g.reserved_bytes == 1600
    })
    .await;
    for i in [1, 2] {
        conns[i].send(&bodies[i][100..]).await;
        let answer = conns[i].answer().await;
        assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    }
    wait_for(&mock, "everything given back", |g| g.reserved_bytes == 0).await;
    let seen = mock.body_gauge();
    assert_eq!(
        seen.peak_reserved_bytes, 1600,
        "never more than the budget: {seen:?}"
    );
    for t in ["BUDGET-A", "BUDGET-B", "BUDGET-C"] {
        assert!(mock.store().order_by_tracking(t).is_some(), "{t} written");
    }
    mock.shutdown().await;
}

#[tokio::test]
async fn a_stalled_body_is_answered_408_and_gives_its_budget_back() {
    let mock = common::builder()
        .body_read_timeout(Duration::from_millis(300))
        .start()
        .await
        .expect("mock");
    let count = mock.store().order_count();
    let mut raw = Raw::connect(&mock).await;
    let mut start = post_head(&mock, 500);
    start.extend_from_slice(&order_body("STALLED", 500)[..50]);
    raw.send(&start).await;
    let answer = raw.until_closed().await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"Message\""), "{answer}");
    assert_eq!(mock.body_gauge().reserved_bytes, 0);
    assert_eq!(mock.store().order_count(), count);
    let log = mock.requests_for(Operation::OrderPost);
    assert_eq!(log.len(), 1);
    assert_eq!((log[0].status, log[0].body.as_deref()), (408, None));
    mock.shutdown().await;
}

#[tokio::test]
async fn limits_that_cannot_work_are_refused() {
    for builder in [
        common::builder()
            .max_body_bytes(2000)
            .body_budget_bytes(1000),
        common::builder().header_read_timeout(Duration::ZERO),
        common::builder().body_read_timeout(Duration::ZERO),
        common::builder().header_read_timeout(Duration::from_millis(u64::MAX)),
        common::builder().body_read_timeout(Duration::MAX),
        common::builder().body_budget_bytes(usize::MAX),
    ] {
        let err = builder.start().await.expect_err("refused");
        assert!(matches!(err, ontime_mock::MockError::Invalid(_)), "{err}");
    }
}
