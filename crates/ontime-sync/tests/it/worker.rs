//! The worker: leases on Postgres (two workers, the lease moves when one stops without
//! releasing, nothing doubled, the stale worker fenced off) and the HTTP endpoints.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use ontime::{OrderId, StatusLevel};
use ontime_sync::run::CancellationToken;
use ontime_sync::run::http::{self, HttpState};
use ontime_sync::run::{Metrics, Worker};
use ontime_sync::store::{EventStore, Store};

use super::poll::{setup, t0};
use super::runner::{
    INBOUND_TOKEN, Pinned, client, last_order_event, nothing_lost_nothing_doubled_in, set_clock,
    settings,
};
use crate::store::TestDb;

const TTL: Duration = Duration::from_secs(30);

/// Steps `worker` every second of simulated time from `from` to `to` (inclusive).
async fn drive(
    s: &super::poll::Setup,
    workers: &mut [&mut Worker<Pinned>],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) {
    let mut now = from;
    while now <= to {
        set_clock(s, now);
        for worker in workers.iter_mut() {
            worker.step(now).await;
        }
        now += TimeDelta::seconds(1);
    }
}

#[tokio::test]
async fn a_lease_moves_when_its_worker_stops_without_releasing_and_nothing_is_doubled() {
    let Some(db) = TestDb::postgres("worker_leases").await else {
        return;
    };
    let s = setup().await;
    let north = settings(
        &s,
        "north",
        "plan = { daily = 86400 }\nsources = [\"poll\"]",
    );
    let south = settings(
        &s,
        "south",
        "plan = { daily = 86400 }\nsources = [\"poll\"]",
    );
    let metrics = Arc::new(Metrics::new());
    let mut w1 = Worker::with_clients(
        "w1".into(),
        TTL,
        vec![(north.clone(), client(&s))],
        db.store.clone(),
        Pinned(t0()),
        metrics.clone(),
    );
    let second = Store::open(&db.url).await.unwrap();
    let mut w2 = Worker::with_clients(
        "w2".into(),
        TTL,
        vec![(south.clone(), client(&s)), (north.clone(), client(&s))],
        second.clone(),
        Pinned(t0()),
        metrics.clone(),
    );

    // One account each: w1 comes first for north, w2 takes south.
    drive(
        &s,
        &mut [&mut w1, &mut w2],
        t0(),
        t0() + TimeDelta::seconds(20),
    )
    .await;
    assert_eq!(w1.held(), ["north"]);
    assert_eq!(w2.held(), ["south"]);
    let last_renewal = t0() + TimeDelta::seconds(20);

    // w1 stops without releasing (it is simply not driven any more: a killed process). An
    // order moves meanwhile.
    let moved = OrderId::from(s.mock.store().order_ids()[3]);
    set_clock(&s, t0() + TimeDelta::seconds(25));
    s.move_to(moved, StatusLevel::Assigned, None).await;
    let mut taken_over = None;
    let mut now = t0() + TimeDelta::seconds(21);
    while now <= t0() + TimeDelta::seconds(90) {
        set_clock(&s, now);
        w2.step(now).await;
        if taken_over.is_none() && w2.held().len() == 2 {
            taken_over = Some(now);
        }
        now += TimeDelta::seconds(1);
    }
    let taken_over = taken_over.expect("w2 takes north over");
    let bound = TimeDelta::from_std(TTL).unwrap() + TimeDelta::from_std(TTL).unwrap() / 3;
    assert!(
        taken_over - last_renewal <= bound,
        "took {}",
        taken_over - last_renewal
    );
    assert!(taken_over - last_renewal >= TimeDelta::from_std(TTL).unwrap() - TimeDelta::seconds(1));

    // The stale w1 wakes up: its next step is refused (fenced), and it lets the account go.
    let stale_now = t0() + TimeDelta::seconds(95);
    set_clock(&s, stale_now);
    w1.step(stale_now).await;
    assert!(w1.held().is_empty(), "the stale worker stopped its runner");
    assert_eq!(w2.held(), ["north", "south"]);

    for account in ["north", "south"] {
        nothing_lost_nothing_doubled_in(&s, &db.store, account).await;
    }
    let north_moved = last_order_event(&db.store, "north", moved).await;
    assert_eq!(
        north_moved.event_type,
        ontime_sync::event::EventType::OrderAssigned
    );
    // The status names the new holder.
    let status: serde_json::Value = db.store.cursor("north", "status").await.unwrap().unwrap();
    assert_eq!(status["worker"], "w2");
    assert_eq!(status["lease_token"], 2);
    let lease = db.store.lease("north").await.unwrap().unwrap();
    assert_eq!((lease.worker.as_str(), lease.token), ("w2", 2));

    // A graceful stop releases: another worker may take the accounts at once.
    w2.shutdown().await;
    let mut w3 = Worker::with_clients(
        "w3".into(),
        TTL,
        vec![(north, client(&s)), (south, client(&s))],
        db.store.clone(),
        Pinned(t0()),
        metrics,
    );
    w3.step(stale_now + TimeDelta::seconds(1)).await;
    assert_eq!(w3.held(), ["north", "south"]);
    w3.shutdown().await;
    second.close().await;
    db.finish().await;
}

#[tokio::test]
async fn healthz_metrics_and_inbound_dispatch_by_token() {
    let s = setup().await;
    let acme = settings(
        &s,
        "acme",
        "plan = { daily = 86400 }\nsources = [\"poll\", \"inbound\"]",
    );
    let other = {
        let mut other = settings(
            &s,
            "other",
            "plan = { daily = 86400 }\nsources = [\"inbound\"]",
        );
        other.inbound.as_mut().unwrap().token = Some(
            ontime_sync::collect::inbound::InboundToken::new("the-other-accounts-token").unwrap(),
        );
        other
    };
    let metrics = Arc::new(Metrics::new());
    let mut worker = Worker::with_clients(
        "w1".into(),
        TTL,
        vec![(acme, client(&s)), (other, client(&s))],
        s.store.clone(),
        Pinned(t0()),
        metrics,
    );
    drive(&s, &mut [&mut worker], t0(), t0() + TimeDelta::seconds(20)).await;
    let mut state: HttpState = worker.http_state();
    let last = t0() + TimeDelta::seconds(20);
    state.now = Arc::new(move || last + TimeDelta::seconds(2));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let cancel = CancellationToken::new();
    let server = tokio::spawn(http::serve(
        listener,
        http::router(state.clone()),
        cancel.clone(),
    ));
    let web = reqwest::Client::new();

    let health = web.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let body: serde_json::Value = health.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["accounts"]["acme"]["leased"], true);
    assert_eq!(body["accounts"]["acme"]["last_tick_age_s"], 2.0);

    let text = web
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for series in [
        "ontime_sync_calls_total{account=\"acme\",source=\"poll\"}",
        "ontime_sync_budget_left{account=\"acme\",window=\"ours\"}",
        "ontime_sync_budget_left{account=\"acme\",window=\"daily\"}",
        "ontime_sync_events_stored_total{account=\"acme\",type=\"order.delivered\"}",
        "ontime_sync_lag_seconds{account=\"acme\"}",
        "ontime_sync_ticks_total{account=\"acme\"}",
        "ontime_sync_leased{account=\"acme\"} 1",
        "ontime_sync_errors_total{account=\"acme\",source=\"poll\"} 0",
    ] {
        assert!(text.contains(series), "{series} missing from:\n{text}");
    }

    // Inbound: each token reaches its account's queue; a wrong token is a 404.
    let order = OrderId::from(s.mock.store().order_ids()[0]);
    let post = |token: &str| {
        web.post(format!("{base}/inbound/{token}"))
            .json(&serde_json::json!({ "OrderID": order.to_string() }))
            .send()
    };
    assert_eq!(post(INBOUND_TOKEN).await.unwrap().status().as_u16(), 202);
    assert_eq!(
        post("the-other-accounts-token")
            .await
            .unwrap()
            .status()
            .as_u16(),
        202
    );
    assert_eq!(
        post("not-a-token-of-anyone-here")
            .await
            .unwrap()
            .status()
            .as_u16(),
        404
    );
    let queued = |account: &'static str| {
        let store = s.store.clone();
        async move { store.cursors(account, "inbound/", 10).await.unwrap().len() }
    };
    assert_eq!(queued("acme").await, 1);
    assert_eq!(queued("other").await, 1);
    assert_eq!(
        web.get(format!("{base}/nope"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        404
    );

    // The store stops answering: the next lease round says so, /healthz answers 503.
    s.store.close().await;
    worker.lease_round(last).await;
    let health = web.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 503);
    let body: serde_json::Value = health.json().await.unwrap();
    assert_eq!(body["store_ok"], false);
    assert_eq!(body["status"], "unhealthy");

    // No worker pass for too long: 503 (with the store taken as fine again).
    state.health.lock().unwrap().store_ok = true;
    cancel.cancel();
    server.await.unwrap().unwrap();
    let mut stale = state;
    stale.now = Arc::new(move || last + TimeDelta::minutes(5));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let cancel = CancellationToken::new();
    let server = tokio::spawn(http::serve(listener, http::router(stale), cancel.clone()));
    let health = web.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 503);
    cancel.cancel();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn metrics_count_calls_by_operation_and_status_class() {
    let s = setup().await;
    let metrics = Arc::new(Metrics::new());
    let counted = metrics.clone();
    let client = ontime::Client::builder()
        .base_url(s.mock.base_url())
        .api_key(s.mock.api_key())
        .retry_policy(ontime::RetryPolicy::none())
        .on_call(move |call| counted.record_call("acme", call))
        .build()
        .unwrap();
    let order = OrderId::from(s.mock.store().order_ids()[0]);
    client.orders().get(order).await.unwrap();
    client.orders().get(order).await.unwrap();
    assert!(client.orders().get(OrderId::new_random()).await.is_err());
    let text = metrics.encode();
    for line in [
        "ontime_sync_requests_total{account=\"acme\",operation=\"ordersGet\",status=\"2xx\"} 2",
        "ontime_sync_requests_total{account=\"acme\",operation=\"ordersGet\",status=\"4xx\"} 1",
    ] {
        assert!(text.contains(line), "{line} missing from:\n{text}");
    }
}
