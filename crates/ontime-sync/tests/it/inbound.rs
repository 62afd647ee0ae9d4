//! The inbound source on loopback: what the endpoint accepts and refuses, and queued orders
//! fetched into exact events, also after a restart between the answer and the fetch.

use chrono::{DateTime, Utc};
use ontime::{OrderId, StatusLevel};
use ontime_sync::collect::inbound::{
    Inbound, InboundConfig, InboundToken, Notified, QueuedOrder, find_order,
};
use ontime_sync::collect::{Clock, Governor, Plan};
use ontime_sync::event::{EventType, TimePrecision};
use ontime_sync::store::{EventStore, Store};
use serde_json::json;

use super::poll::{Setup, account, rich, setup, status_events, t0};

const TOKEN: &str = "s3cret-token-0123456789";

/// Receipts stamped at a pinned instant.
#[derive(Clone, Copy, Debug)]
struct Pinned(DateTime<Utc>);

impl Clock for Pinned {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }

    async fn sleep_until(&self, _at: DateTime<Utc>) {}
}

fn config() -> InboundConfig {
    InboundConfig::new(InboundToken::new(TOKEN).unwrap())
}

fn inbound(s: &Setup, store: Store) -> Inbound<Store, Pinned> {
    Inbound::new(
        s.collector.clone(),
        store,
        account(),
        config(),
        Pinned(t0()),
    )
}

/// Serves the endpoint on loopback; the task ends with the test's runtime.
async fn serve(inbound: &Inbound<Store, Pinned>) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = inbound.router();
    let task = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    (url, task)
}

async fn post(url: &str, content_type: &str, body: impl Into<reqwest::Body>) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

#[test]
fn bodies_name_orders_by_configured_fields_in_json_forms_and_nested_objects() {
    let config = config();
    let id: OrderId = "7d0c8e7e-3c55-4a51-9a0e-6f1b2a6c0a11".parse().unwrap();
    let found = |body: &str| find_order(body.as_bytes(), &config);
    assert_eq!(
        found(&json!({"OrderID": id.to_string()}).to_string()),
        Ok(Notified::Order(id))
    );
    assert_eq!(
        found(&json!({"event": {"data": [{"orderid": id.to_string()}]}}).to_string()),
        Ok(Notified::Order(id)),
        "nested, case-insensitive"
    );
    assert_eq!(
        found(&format!("Status=Delivered&order_id={id}")),
        Ok(Notified::Order(id)),
        "form body"
    );
    assert_eq!(
        found(&json!({"Order": {"TrackingNumber": 1000042}}).to_string()),
        Ok(Notified::TrackingNumber("1000042".to_owned())),
        "a tracking number when no ID"
    );
    assert_eq!(
        found(&json!({"ID": id.to_string(), "Customer": {"OrderID": id.to_string()}}).to_string()),
        Ok(Notified::Order(id))
    );
    assert_eq!(
        found(&json!({"OrderID": "1000042"}).to_string()),
        Err("field OrderID is not a GUID".to_owned())
    );
    assert_eq!(
        found("hello"),
        Err("no order ID or tracking number in the body".to_owned())
    );
    let mut custom = config.clone();
    custom.order_id_fields = vec!["shipment_ref".to_owned()];
    assert_eq!(
        find_order(format!("shipment_ref={id}").as_bytes(), &custom),
        Ok(Notified::Order(id))
    );
}

#[test]
fn tokens_are_redacted_and_checked() {
    let token = InboundToken::new(TOKEN).unwrap();
    assert_eq!(format!("{token:?}"), "InboundToken(<redacted>)");
    assert!(format!("{:?}", config()).contains("<redacted>"));
    assert!(!format!("{:?}", config()).contains(TOKEN));
    assert!(token.matches(TOKEN));
    assert!(!token.matches("s3cret-token-0123456780"));
    assert!(!token.matches(""));
    assert!(InboundToken::new("short").is_err());
    assert!(InboundToken::new("has/a/slash-0123456789").is_err());
}

#[tokio::test]
async fn the_endpoint_answers_404_400_413_and_queues_what_names_an_order() {
    let s = setup().await;
    let inbound = inbound(&s, s.store.clone());
    let (base, _task) = serve(&inbound).await;
    let url = format!("{base}/inbound/{TOKEN}");
    let id: OrderId = "7d0c8e7e-3c55-4a51-9a0e-6f1b2a6c0a11".parse().unwrap();

    let wrong = post(
        &format!("{base}/inbound/s3cret-token-0123456780"),
        "application/json",
        json!({"OrderID": id.to_string()}).to_string(),
    )
    .await;
    assert_eq!(wrong, (404, String::new()), "a wrong token reveals nothing");
    let elsewhere = post(&format!("{base}/other"), "text/plain", "x").await;
    assert_eq!(elsewhere.0, 404);
    let get = reqwest::get(&url).await.unwrap();
    assert_eq!(
        get.status().as_u16(),
        404,
        "not 405: the route is not revealed"
    );

    let unknown = post(&url, "application/json", r#"{"Status":"Delivered"}"#).await;
    assert_eq!(
        unknown,
        (400, "no order ID or tracking number in the body".to_owned())
    );
    let huge = post(&url, "application/json", vec![b' '; 64 * 1024 + 1]).await;
    assert_eq!(huge.0, 413);
    assert_eq!(inbound.stats().rejected(), 2);
    assert!(
        s.store
            .cursors("sim", "inbound/", 10)
            .await
            .unwrap()
            .is_empty(),
        "nothing queued"
    );

    // Any content type: JSON sent as text/plain, then a form.
    let json_body = json!({"Order": {"OrderID": id.to_string()}}).to_string();
    assert_eq!(post(&url, "text/plain", json_body).await.0, 202);
    assert_eq!(
        post(
            &url,
            "application/x-www-form-urlencoded",
            "TrackingNumber=1000001"
        )
        .await
        .0,
        202
    );
    let queued = s.store.cursors("sim", "inbound/", 10).await.unwrap();
    let entries: Vec<(String, Notified)> = queued
        .into_iter()
        .map(|(name, value)| {
            let entry: QueuedOrder = serde_json::from_value(value).unwrap();
            assert_eq!(entry.received_at, t0());
            (name, entry.order)
        })
        .collect();
    assert_eq!(
        entries,
        [
            (format!("inbound/order/{id}"), Notified::Order(id)),
            (
                "inbound/tracking/1000001".to_owned(),
                Notified::TrackingNumber("1000001".to_owned())
            ),
        ]
    );
    assert_eq!(inbound.stats().accepted(), 2);
}

#[tokio::test]
async fn a_queued_order_is_fetched_into_exact_events_even_after_a_restart() {
    let s = setup().await;
    let order = s
        .office
        .orders()
        .resolve("1000001")
        .await
        .expect("seeded order");
    let now = s.advance(10);
    s.move_to(order, StatusLevel::Assigned, None).await;

    // The notification is answered 202; then the process "crashes" before any fetch.
    {
        let first = inbound(&s, s.store.clone());
        let (base, task) = serve(&first).await;
        let body = json!({"OrderID": order.to_string()}).to_string();
        let answer = post(&format!("{base}/inbound/{TOKEN}"), "application/json", body).await;
        assert_eq!(answer.0, 202);
        task.abort();
    }
    s.store.close().await;

    // A new process opens the same file: the entry is there and is fetched.
    let store = Store::open_sqlite(&s.dir.path().join("events.db"))
        .await
        .unwrap();
    let restarted = inbound(&s, store.clone());
    let mut governor = rich(t0());
    let calls = s.collector.quota().calls;
    let report = restarted.drain(&mut governor, now).await.unwrap();
    assert_eq!(s.collector.quota().calls - calls, 2, "history and record");
    assert_eq!(report.fetched, [order]);
    assert_eq!(report.calls, 2);

    let history = s.office.orders().timeline(order).await.unwrap();
    let timeline = store
        .timeline("sim", &ontime_sync::event::Event::order_subject(order))
        .await
        .unwrap();
    assert_eq!(
        status_events(&timeline).len(),
        history.len(),
        "one status event per history entry"
    );
    assert_eq!(report.stored, timeline.len());
    assert!(
        timeline
            .iter()
            .all(|e| e.event.time_precision == TimePrecision::Exact)
    );
    let last = &status_events(&timeline).last().unwrap().event;
    assert_eq!(last.event_type, EventType::OrderAssigned);
    assert_eq!(last.occurred_at.to_rfc3339(), "2026-01-15T09:10:00-06:00");
    assert!(
        store
            .cursors("sim", "inbound/", 10)
            .await
            .unwrap()
            .is_empty(),
        "the entry left with the events"
    );

    // Drained again: nothing queued, nothing spent.
    let again = restarted.drain(&mut governor, now).await.unwrap();
    assert_eq!(again.calls, 0);
    assert!(again.fetched.is_empty());
}

#[tokio::test]
async fn tracking_numbers_resolve_and_entries_wait_for_budget() {
    let s = setup().await;
    let inbound = inbound(&s, s.store.clone());
    let (base, _task) = serve(&inbound).await;
    let url = format!("{base}/inbound/{TOKEN}");
    assert_eq!(post(&url, "text/plain", "Tracking=1000002").await.0, 202);
    assert_eq!(post(&url, "text/plain", "Tracking=no-such").await.0, 202);

    // No budget: nothing called, both stay queued.
    let mut poor = Governor::new(Plan::daily(0), t0());
    let calls = s.collector.quota().calls;
    let report = inbound.drain(&mut poor, t0()).await.unwrap();
    assert_eq!(s.collector.quota().calls, calls);
    assert_eq!(report.left, 2);
    assert_eq!(
        s.store.cursors("sim", "inbound/", 10).await.unwrap().len(),
        2
    );

    let mut governor = rich(t0());
    let report = inbound.drain(&mut governor, t0()).await.unwrap();
    let order = s.office.orders().resolve("1000002").await.unwrap();
    assert_eq!(report.fetched, [order]);
    assert_eq!(report.unresolved, ["no-such"], "logged and dropped");
    assert_eq!(
        report.calls, 4,
        "two resolutions, one history and one record"
    );
    assert!(
        s.store
            .cursors("sim", "inbound/", 10)
            .await
            .unwrap()
            .is_empty()
    );
}
