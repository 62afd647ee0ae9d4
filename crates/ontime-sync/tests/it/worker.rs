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

// ---- delivery beside the collector (`ontime sync run`'s wiring) ----------------------------

mod delivery {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use axum::body::Bytes;
    use axum::http::{HeaderMap, StatusCode};
    use chrono::{TimeDelta, Utc};
    use ontime_sync::collect::SystemClock;
    use ontime_sync::config::{Secrets, SyncConfig};
    use ontime_sync::deliver::signature::WebhookSecret;
    use ontime_sync::deliver::verify::Verifier;
    use ontime_sync::run::deliver::refresh_health;
    use ontime_sync::run::{CancellationToken, Deliveries, DeliveryRoutes, Metrics, Worker};
    use ontime_sync::store::outbox::DeliveryStore;
    use ontime_sync::store::{EventStore, Store};
    use tokio::sync::Notify;

    use super::super::poll::{Setup, setup, t0};
    use super::super::runner::{Pinned, client, set_clock};
    use super::TTL;
    use crate::store::TestDb;

    /// A Standard Webhooks receiver on 127.0.0.1 that verifies every request and records the
    /// verified ids and bodies (in arrival order); `hold` makes it never answer (a hung
    /// endpoint).
    struct Receiver {
        url: String,
        ids: Arc<Mutex<Vec<(String, Bytes)>>>,
        arrived: Arc<Notify>,
        stop: CancellationToken,
    }

    impl Drop for Receiver {
        fn drop(&mut self) {
            self.stop.cancel();
        }
    }

    impl Receiver {
        async fn start(secret: &WebhookSecret, hold: bool) -> Self {
            let verifier = Arc::new(Verifier::new(secret.clone()));
            let ids = Arc::new(Mutex::new(Vec::new()));
            let arrived = Arc::new(Notify::new());
            let stop = CancellationToken::new();
            let (v, i, a, s) = (verifier, ids.clone(), arrived.clone(), stop.clone());
            let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
                let (v, i, a, s) = (v.clone(), i.clone(), a.clone(), s.clone());
                async move {
                    if hold {
                        // Seen (so a test knows the send is in flight), never answered.
                        i.lock().unwrap().push(("held".to_owned(), body));
                        a.notify_waiters();
                        s.cancelled().await;
                        return StatusCode::SERVICE_UNAVAILABLE;
                    }
                    match v.verify_now(&headers, &body) {
                        Ok(message) => {
                            let id = message.id().to_owned();
                            i.lock().unwrap().push((id, body.clone()));
                            a.notify_waiters();
                            StatusCode::NO_CONTENT
                        }
                        Err(_) => StatusCode::UNAUTHORIZED,
                    }
                }
            });
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let cancel = stop.clone();
            tokio::spawn(async move {
                axum::serve(listener, app)
                    .with_graceful_shutdown(async move { cancel.cancelled().await })
                    .await
                    .unwrap();
            });
            Self {
                url: format!("http://{addr}/hooks"),
                ids,
                arrived,
                stop,
            }
        }

        fn ids(&self) -> Vec<String> {
            self.received().into_iter().map(|(id, _)| id).collect()
        }

        fn received(&self) -> Vec<(String, Bytes)> {
            self.ids.lock().unwrap().clone()
        }

        /// Asserts no (id, body) arrived twice: a delivery sent by two dispatchers, or twice by
        /// one. (The same id may come again with another body: an upgraded event is queued
        /// again.)
        fn assert_no_double_send(&self) {
            let mut seen = BTreeMap::new();
            for (id, body) in self.received() {
                *seen.entry((id, body)).or_insert(0) += 1;
            }
            let doubled: Vec<_> = seen
                .iter()
                .filter(|(_, n)| **n > 1)
                .map(|((id, _), n)| (id, n))
                .collect();
            assert!(doubled.is_empty(), "sent twice: {doubled:?}");
        }

        /// Waits (woken by each arrival, at most `limit`) until `done` holds for the ids.
        async fn wait_for(&self, limit: Duration, done: impl Fn(&[String]) -> bool) {
            let waiting = async {
                loop {
                    let notified = self.arrived.notified();
                    if done(&self.ids()) {
                        return;
                    }
                    notified.await;
                }
            };
            if tokio::time::timeout(limit, waiting).await.is_err() {
                panic!("the receiver got only {:?}", self.ids());
            }
        }
    }

    /// A sync.toml with one account (polling the simulator) and one webhook to `url`.
    fn config(
        s: &Setup,
        store_url: &str,
        url: &str,
        secret: &WebhookSecret,
        timeout: &str,
    ) -> SyncConfig {
        let text = format!(
            r#"
[store]
url = "{store_url}"

[[account]]
name = "acme"
url = "{api}"
api_key_env = "KEY"
time_zone = "America/Chicago"
plan = {{ daily = 86400 }}
sources = ["poll"]

[[webhook]]
name = "hook"
url = "{url}"
allow_private = true
timeout = "{timeout}"
secrets = [{{ env = "HOOK_SECRET" }}]
"#,
            api = s.mock.base_url()
        );
        let key = s.mock.api_key().to_owned();
        let secret = secret.expose();
        let env = move |name: &str| match name {
            "KEY" => Some(key.clone()),
            "HOOK_SECRET" => Some(secret.clone()),
            _ => None,
        };
        SyncConfig::parse(Path::new("sync.toml"), &text, Secrets::Read, &env).unwrap()
    }

    /// A collecting worker whose commits queue events for the config's destinations and wake
    /// `deliveries`' dispatchers (when given).
    fn worker(
        s: &Setup,
        config: &SyncConfig,
        id: &str,
        store: Store,
        metrics: Arc<Metrics>,
        deliveries: Option<&Deliveries>,
    ) -> Worker<Pinned> {
        let account = config.accounts[0].clone();
        let mut worker = Worker::with_clients(
            id.into(),
            TTL,
            vec![(account, client(s))],
            store,
            Pinned(t0()),
            metrics,
        );
        let mut routes = DeliveryRoutes::from_config(config);
        if let Some(d) = deliveries {
            routes = routes.with_wakers(d.wakers());
        }
        worker.set_delivery(routes);
        worker
    }

    /// Every event id of `account` in the store.
    async fn stored_ids(store: &Store) -> BTreeSet<String> {
        store
            .events_after(0, 10_000)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.event.event_id.to_string())
            .collect()
    }

    async fn collect_for(s: &Setup, worker: &mut Worker<Pinned>, seconds: i64) {
        for n in 0..=seconds {
            let now = t0() + TimeDelta::seconds(n);
            set_clock(s, now);
            worker.step(now).await;
        }
    }

    #[tokio::test]
    async fn the_daemon_delivers_what_it_collects_and_stops_with_nothing_claimed() {
        let s = setup().await;
        let secret = WebhookSecret::generate();
        let receiver = Receiver::start(&secret, false).await;
        let store_url = format!("sqlite://{}", s.dir.path().join("events.db").display());
        let config = config(&s, &store_url, &receiver.url, &secret, "5s");
        let metrics = Arc::new(Metrics::new());
        let cancel = CancellationToken::new();
        let mut w = worker(&s, &config, "w1", s.store.clone(), metrics.clone(), None);
        let deliveries = Deliveries::start(
            &config,
            s.store.clone(),
            SystemClock,
            "w1",
            metrics.clone(),
            w.health(),
            cancel.clone(),
        )
        .unwrap();
        assert_eq!(deliveries.destinations(), ["hook"]);
        w.set_delivery(DeliveryRoutes::from_config(&config).with_wakers(deliveries.wakers()));

        collect_for(&s, &mut w, 40).await;
        let stored = stored_ids(&s.store).await;
        assert!(
            stored.len() >= 12,
            "the poll stored the simulator's orders: {}",
            stored.len()
        );
        receiver
            .wait_for(Duration::from_secs(30), |ids| {
                let got: BTreeSet<&String> = ids.iter().collect();
                stored.iter().all(|id| got.contains(id))
            })
            .await;
        let ids = receiver.ids();
        let received: BTreeSet<String> = ids.iter().cloned().collect();
        assert_eq!(received, stored, "every stored event arrived, verified");
        receiver.assert_no_double_send();

        // A change in OnTime: collected, then delivered (the commit wakes the dispatcher).
        let moved = ontime::OrderId::from(s.mock.store().order_ids()[2]);
        set_clock(&s, t0() + TimeDelta::minutes(2));
        s.move_to(moved, ontime::StatusLevel::Delivered, None).await;
        for n in 0..=70 {
            let now = t0() + TimeDelta::minutes(2) + TimeDelta::seconds(n);
            set_clock(&s, now);
            w.step(now).await;
        }
        let stored = stored_ids(&s.store).await;
        assert!(stored.len() > received.len(), "the change was collected");
        receiver
            .wait_for(Duration::from_secs(30), |ids| {
                let got: BTreeSet<&String> = ids.iter().collect();
                stored.iter().all(|id| got.contains(id))
            })
            .await;

        // Shutdown: nothing was in flight, every dispatcher finishes, no claim is left.
        let report = deliveries.stop(Duration::from_secs(10)).await;
        assert_eq!(report.finished, ["hook"]);
        assert!(report.abandoned.is_empty());
        // Every send counted once it was recorded.
        let text = metrics.encode();
        let delivered = format!(
            "ontime_sync_deliveries_total{{destination=\"hook\",outcome=\"delivered\"}} {}",
            receiver.ids().len()
        );
        assert!(text.contains(&delivered), "{text}");
        // Health, read from the store.
        refresh_health(
            &s.store,
            &["hook".to_owned()],
            Utc::now(),
            &metrics,
            &w.health(),
        )
        .await
        .unwrap();
        let health = w.health().lock().unwrap().clone();
        assert_eq!(health.destinations["hook"].health, "ok");
        assert_eq!(health.destinations["hook"].backlog, 0);
        assert!(
            metrics
                .encode()
                .contains("ontime_sync_destination_backlog{destination=\"hook\"} 0")
        );

        let health = s.store.destination_health().await.unwrap();
        assert!(health.iter().all(|h| h.backlog == 0), "{health:?}");
        w.shutdown().await;
    }

    #[tokio::test]
    async fn a_send_in_flight_at_shutdown_is_abandoned_and_its_claim_expires_for_the_next_dispatcher()
     {
        let s = setup().await;
        let secret = WebhookSecret::generate();
        let hung = Receiver::start(&secret, true).await;
        let store_url = format!("sqlite://{}", s.dir.path().join("events.db").display());
        let config = config(&s, &store_url, &hung.url, &secret, "30s");
        let metrics = Arc::new(Metrics::new());
        let mut w = worker(&s, &config, "w1", s.store.clone(), metrics.clone(), None);
        collect_for(&s, &mut w, 40).await;
        let stored = stored_ids(&s.store).await;
        assert!(!stored.is_empty());
        let deliveries = Deliveries::start(
            &config,
            s.store.clone(),
            SystemClock,
            "w1",
            metrics.clone(),
            w.health(),
            CancellationToken::new(),
        )
        .unwrap();
        // The first request arrives: the dispatcher's claims are taken, its sends in flight.
        hung.wait_for(Duration::from_secs(20), |ids| !ids.is_empty())
            .await;
        let report = deliveries.stop(Duration::from_millis(200)).await;
        assert_eq!(report.abandoned, ["hook"], "the send outlasts the bound");

        // The claims stay until they expire (2 × 30 s + 30 s), then another dispatcher gets
        // every delivery again.
        let health = s.store.destination_health().await.unwrap();
        assert_eq!(health[0].backlog as usize, stored.len());
        let expired = Utc::now() + TimeDelta::seconds(91);
        let again = s
            .store
            .claim_deliveries(
                "hook",
                "next",
                10_000,
                false,
                TimeDelta::seconds(30),
                expired,
            )
            .await
            .unwrap();
        assert_eq!(
            again.len(),
            stored.len(),
            "every delivery is claimable again"
        );
        w.shutdown().await;
    }

    #[tokio::test]
    async fn a_deliver_only_process_shares_the_outbox_on_postgres() {
        let Some(db) = TestDb::postgres("worker_deliver_role").await else {
            return;
        };
        let s = setup().await;
        let secret = WebhookSecret::generate();
        let receiver = Receiver::start(&secret, false).await;
        let config = config(&s, &db.url, &receiver.url, &secret, "5s");
        // Process 1, --role all: collects and delivers.
        let m1 = Arc::new(Metrics::new());
        let mut w = worker(&s, &config, "all-1", db.store.clone(), m1.clone(), None);
        let d1 = Deliveries::start(
            &config,
            db.store.clone(),
            SystemClock,
            "all-1",
            m1.clone(),
            w.health(),
            CancellationToken::new(),
        )
        .unwrap();
        w.set_delivery(DeliveryRoutes::from_config(&config).with_wakers(d1.wakers()));
        // Process 2, --role deliver: its own connection, no worker.
        let second = Store::open(&db.url).await.unwrap();
        let m2 = Arc::new(Metrics::new());
        let h2 = Arc::new(Mutex::new(ontime_sync::run::worker::Health::default()));
        let d2 = Deliveries::start(
            &config,
            second.clone(),
            SystemClock,
            "deliver-2",
            m2.clone(),
            h2,
            CancellationToken::new(),
        )
        .unwrap();

        collect_for(&s, &mut w, 40).await;
        let stored = stored_ids(&db.store).await;
        assert!(stored.len() >= 12, "{}", stored.len());
        receiver
            .wait_for(Duration::from_secs(30), |ids| {
                let got: BTreeSet<&String> = ids.iter().collect();
                stored.iter().all(|id| got.contains(id))
            })
            .await;
        let ids = receiver.ids();
        let received: BTreeSet<String> = ids.iter().cloned().collect();
        assert_eq!(received, stored);
        // SKIP LOCKED: no delivery was claimed by both processes.
        receiver.assert_no_double_send();
        for d in [d1, d2] {
            let report = d.stop(Duration::from_secs(10)).await;
            assert!(report.abandoned.is_empty());
        }
        w.shutdown().await;
        second.close().await;
    }
}
