//! The account runner in step mode against the simulator's frozen clock: sources scheduled on
//! the governor's advice, faults backed off without loss, provisional events made exact later.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use ontime::{OrderId, RetryPolicy, StatusLevel};
use ontime_mock::FaultRule;
use ontime_sync::collect::{Clock, PollCursor};
use ontime_sync::config::{AccountSettings, Secrets, SourceKind, SyncConfig};
use ontime_sync::event::{Event, EventType, TimePrecision};
use ontime_sync::run::{AccountRunner, Metrics};
use ontime_sync::store::{EventStore, Store};

use super::poll::{Setup, setup, t0};

pub(crate) const INBOUND_TOKEN: &str = "runner-inbound-token-0123";

/// Receipts stamped at a pinned instant (the runner's time is passed in).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pinned(pub(crate) DateTime<Utc>);

impl Clock for Pinned {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }

    async fn sleep_until(&self, _at: DateTime<Utc>) {}
}

/// One `[[account]]` named `name` on the simulator, with `extra` lines (plan, sources, …).
pub(crate) fn settings(s: &Setup, name: &str, extra: &str) -> AccountSettings {
    let text = format!(
        r#"
[store]
url = "sqlite://unused.db"

[[account]]
name = "{name}"
url = "{url}"
api_key_env = "KEY"
time_zone = "America/Chicago"
inbound.token_env = "TOKEN"
{extra}
"#,
        url = s.mock.base_url()
    );
    let key = s.mock.api_key().to_owned();
    let env = move |name: &str| match name {
        "KEY" => Some(key.clone()),
        "TOKEN" => Some(INBOUND_TOKEN.to_owned()),
        _ => None,
    };
    let config = SyncConfig::parse(Path::new("sync.toml"), &text, Secrets::Read, &env).unwrap();
    config.accounts.into_iter().next().unwrap()
}

/// The account's client, without the facade's own retries (they sleep in real time): the
/// runner's backoff is what is tested.
pub(crate) fn client(s: &Setup) -> ontime::Client {
    ontime::Client::builder()
        .base_url(s.mock.base_url())
        .api_key(s.mock.api_key())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

/// Sets the simulator's frozen clock to `now` (Chicago local time).
pub(crate) fn set_clock(s: &Setup, now: DateTime<Utc>) {
    let local = now
        .with_timezone(&chrono_tz::America::Chicago)
        .naive_local();
    s.mock.clock().set(local);
}

async fn runner(s: &Setup, settings: &AccountSettings, store: Store) -> AccountRunner<Pinned> {
    AccountRunner::new(
        settings,
        client(s),
        store,
        Pinned(t0()),
        None,
        Arc::new(Metrics::new()),
        t0(),
    )
    .await
    .unwrap()
}

/// Ticks at each `next_due` (the simulator's clock set to it) until `until`.
async fn run_until(s: &Setup, runner: &mut AccountRunner<Pinned>, until: DateTime<Utc>) -> usize {
    let mut ticks = 0;
    loop {
        let now = runner.next_due();
        if now > until {
            return ticks;
        }
        set_clock(s, now);
        runner.tick(now).await.unwrap();
        ticks += 1;
    }
}

/// The order's latest order event (custody events of its items left aside).
pub(crate) async fn last_order_event(store: &Store, account: &str, order: OrderId) -> Event {
    store
        .timeline(account, &Event::order_subject(order))
        .await
        .unwrap()
        .into_iter()
        .rev()
        .find(|e| e.event.event_type.as_str().starts_with("order."))
        .expect("an order event")
        .event
}

/// Every status entry of every order the poll knows has exactly one stored order event; no
/// event is stored twice; sequences have no gaps.
async fn nothing_lost_nothing_doubled(s: &Setup, account: &str) -> usize {
    nothing_lost_nothing_doubled_in(s, &s.store, account).await
}

/// Like [`nothing_lost_nothing_doubled`], in `store`.
pub(crate) async fn nothing_lost_nothing_doubled_in(
    s: &Setup,
    store: &Store,
    account: &str,
) -> usize {
    let cursor: PollCursor =
        serde_json::from_value(store.cursor(account, "poll").await.unwrap().unwrap()).unwrap();
    let orders: BTreeSet<OrderId> = cursor.levels.values().flatten().copied().collect();
    assert!(!orders.is_empty());
    let mut events = 0;
    for order in &orders {
        let truth = s.office.orders().timeline(*order).await.unwrap();
        let stored = store
            .timeline(account, &Event::order_subject(*order))
            .await
            .unwrap();
        let ids: BTreeSet<_> = stored.iter().map(|e| e.event.event_id.clone()).collect();
        assert_eq!(ids.len(), stored.len(), "no event twice for {order}");
        // One order event per status entry (custody events of its items come besides).
        let order_events = stored
            .iter()
            .filter(|e| e.event.event_type.as_str().starts_with("order."))
            .count();
        assert_eq!(
            order_events,
            truth.len(),
            "one event per status entry of {order}"
        );
        let sequences: Vec<u64> = stored.iter().filter_map(|e| e.event.sequence).collect();
        assert_eq!(sequences, (1..=stored.len() as u64).collect::<Vec<_>>());
        events += stored.len();
    }
    events
}

#[tokio::test]
async fn poll_drivers_and_inbound_over_simulated_minutes_store_the_events() {
    let s = setup().await;
    let driver = s.mock.store().driver_ids()[0];
    let settings = settings(
        &s,
        "acme",
        &format!(
            "plan = {{ daily = 86400, share = 0.8 }}\ndrivers.ids = [\"{driver}\"]\ndrivers.position_interval = \"2m\""
        ),
    );
    assert_eq!(
        settings.sources,
        BTreeSet::from([
            SourceKind::Inbound,
            SourceKind::Poll,
            SourceKind::Reconcile,
            SourceKind::Drivers
        ])
    );
    let mut runner = runner(&s, &settings, s.store.clone()).await;
    assert_eq!(runner.next_due(), t0(), "every source is due at once");

    // The first tick: inbound (empty queue), the poll's backfill (as the bucket allows), drivers.
    set_clock(&s, t0());
    let first = runner.tick(t0()).await.unwrap();
    assert_eq!(
        first.ran,
        [
            SourceKind::Inbound,
            SourceKind::Poll,
            SourceKind::Reconcile,
            SourceKind::Drivers
        ]
    );
    assert!(first.failed.is_empty(), "{:?}", first.failed);

    // A few simulated minutes; the office moves an order and OnTime notifies us of another.
    run_until(&s, &mut runner, t0() + TimeDelta::minutes(3)).await;
    let orders = s.mock.store().order_ids();
    let (moved, notified) = (OrderId::from(orders[0]), OrderId::from(orders[1]));
    set_clock(&s, t0() + TimeDelta::minutes(3));
    s.move_to(moved, StatusLevel::Assigned, None).await;
    s.move_to(notified, StatusLevel::AssignedInRoute, Some("Picked up"))
        .await;
    let inbound = ontime_sync::collect::inbound::Inbound::new(
        client(&s),
        s.store.clone(),
        settings.account_config(),
        ontime_sync::collect::inbound::InboundConfig::new(
            ontime_sync::collect::inbound::InboundToken::new(INBOUND_TOKEN).unwrap(),
        ),
        Pinned(t0()),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/inbound/{INBOUND_TOKEN}",
        listener.local_addr().unwrap()
    );
    let server = tokio::spawn(axum::serve(listener, inbound.router()).into_future());
    let answer = reqwest::Client::new()
        .post(url)
        .json(&serde_json::json!({ "OrderID": notified.to_string() }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 202);
    server.abort();

    // The inbound queue is drained within a second of simulated time.
    let queued_at = t0() + TimeDelta::minutes(3);
    run_until(&s, &mut runner, queued_at + TimeDelta::seconds(1)).await;
    assert!(
        s.store
            .cursors("acme", "inbound/", 10)
            .await
            .unwrap()
            .is_empty(),
        "drained"
    );
    let picked = last_order_event(&s.store, "acme", notified).await;
    assert_eq!(picked.event_type, EventType::OrderPickedUp);

    // A new label within the same level, notified to nobody: the poll cannot see it (the order
    // stays in the same ID set); the reconcile's next round does.
    run_until(&s, &mut runner, t0() + TimeDelta::minutes(4)).await;
    set_clock(&s, t0() + TimeDelta::minutes(4));
    s.move_to(
        notified,
        StatusLevel::AssignedInRoute,
        Some("Out for delivery"),
    )
    .await;
    run_until(&s, &mut runner, t0() + TimeDelta::minutes(12)).await;
    let relabelled = last_order_event(&s.store, "acme", notified).await;
    assert_eq!(
        relabelled.occurred_at.to_rfc3339(),
        "2026-01-15T09:04:00-06:00"
    );
    assert_eq!(relabelled.time_precision, TimePrecision::Exact);
    let events = nothing_lost_nothing_doubled(&s, "acme").await;
    let assigned = last_order_event(&s.store, "acme", moved).await;
    assert_eq!(assigned.event_type, EventType::OrderAssigned);
    assert_eq!(assigned.time_precision, TimePrecision::Exact);

    // Drivers: availability and several position windows.
    let driver_events = s
        .store
        .timeline("acme", &Event::driver_subject(driver.into()))
        .await
        .unwrap();
    assert!(
        driver_events
            .iter()
            .any(|e| e.event.event_type == EventType::DriverAvailabilityChanged)
    );

    // The status counts what the store holds, and the calls the simulator saw.
    runner
        .write_status(t0() + TimeDelta::minutes(12))
        .await
        .unwrap();
    let status = runner.status();
    let counted: u64 = status.events_by_type.values().sum();
    assert_eq!(counted as usize, events + driver_events.len());
    // Every call the simulator counted for the key was the runner's or the office's.
    let counted_by_server = s.mock.quota(s.mock.api_key()).daily_used;
    assert_eq!(
        status.calls_today,
        counted_by_server - s.office.quota().calls
    );
    assert!(status.lag_seconds.is_some());
    assert!(status.last_error.is_none());
    let stored: serde_json::Value = s.store.cursor("acme", "status").await.unwrap().unwrap();
    assert_eq!(stored["calls_today"], status.calls_today);
}

#[tokio::test]
async fn faults_for_minutes_back_the_source_off_and_nothing_is_lost_after_recovery() {
    let s = setup().await;
    let settings = settings(
        &s,
        "acme",
        "plan = { daily = 86400, share = 0.8 }\nsources = [\"poll\"]",
    );
    let mut runner = runner(&s, &settings, s.store.clone()).await;
    run_until(&s, &mut runner, t0() + TimeDelta::minutes(1)).await;
    let orders = s.mock.store().order_ids();
    let moved = OrderId::from(orders[2]);
    s.move_to(moved, StatusLevel::Assigned, None).await;

    // Three minutes of 503s: each failed poll waits twice as long as the one before.
    s.mock.set_faults(vec![FaultRule::status(503, None)]);
    let mut waits = Vec::new();
    let end = t0() + TimeDelta::minutes(4);
    loop {
        let now = runner.next_due();
        if now > end {
            break;
        }
        set_clock(&s, now);
        let report = runner.tick(now).await.unwrap();
        assert_eq!(report.failed.len(), 1, "{report:?}");
        waits.push((runner.next_due() - now).num_seconds());
    }
    assert_eq!(waits[..4], [5, 10, 20, 40], "{waits:?}");
    let error = runner.status().last_error.clone().unwrap();
    assert_eq!(error.source, "poll");
    assert!(error.message.contains("503"), "{}", error.message);

    // Then four minutes of 429s (the quota, as OnTime answers it).
    s.mock.set_faults(vec![FaultRule::status(429, Some(60))]);
    let mut failed = 0;
    let end = t0() + TimeDelta::minutes(8);
    while runner.next_due() <= end {
        let now = runner.next_due();
        set_clock(&s, now);
        failed += runner.tick(now).await.unwrap().failed.len();
    }
    assert!(failed >= 1);
    assert!(
        runner
            .status()
            .last_error
            .as_ref()
            .unwrap()
            .message
            .contains("429")
    );

    // Recovery: the backoff (at most 5 minutes) runs out and the poll catches up.
    s.mock.clear_faults();
    run_until(&s, &mut runner, t0() + TimeDelta::minutes(15)).await;
    assert_eq!(runner.status().sources["poll"].failures, 0, "recovered");
    nothing_lost_nothing_doubled(&s, "acme").await;
    let assigned = last_order_event(&s.store, "acme", moved).await;
    assert_eq!(assigned.event_type, EventType::OrderAssigned);

    // The governor kept to the share: what accrues over the run plus one burst, at most.
    let spent = s.mock.quota(s.mock.api_key()).daily_used - s.office.quota().calls;
    let elapsed = 15.0 * 60.0;
    let to_midnight = 9.0 * 3600.0;
    let allowance = 86_400.0 * 0.8 / to_midnight * elapsed + 60.0;
    assert!((spent as f64) <= allowance, "{spent} > {allowance}");
    // The runner also counts the calls the faults answered (the simulator does not bill them):
    // one per failed poll (its first finder call).
    let refused = (waits.len() + failed) as u64;
    assert_eq!(runner.status().calls_today, spent + refused);
}

#[tokio::test]
async fn a_budget_short_poll_stores_provisional_events_made_exact_later_under_the_same_ids() {
    let s = setup().await;
    // 40,000 a day at 100 %: about 1.2 calls a second from 09:00 local; the bucket starts empty.
    let settings = settings(
        &s,
        "acme",
        "plan = { daily = 40000, share = 1.0 }\nsources = [\"poll\"]",
    );
    let mut runner = runner(&s, &settings, s.store.clone()).await;

    // The first poll that runs has just the finder calls: every order found is provisional.
    let mut provisional = BTreeMap::new();
    while provisional.is_empty() {
        let now = runner.next_due();
        set_clock(&s, now);
        runner.tick(now).await.unwrap();
        let events = s
            .store
            .query(&ontime_sync::store::EventQuery {
                account: Some("acme".to_owned()),
                limit: 1000,
                ..Default::default()
            })
            .await
            .unwrap();
        for stored in events {
            assert_eq!(stored.event.time_precision, TimePrecision::Observed);
            provisional.insert(stored.event.event_id.clone(), stored.position);
        }
    }
    let pending = runner.status().cursors.poll_pending;
    runner
        .write_status(runner.status().last_tick_at.unwrap())
        .await
        .unwrap();
    assert!(runner.status().cursors.poll_pending > 0 || pending > 0);

    // Minutes later the budget has allowed every history: the same ids, exact, same positions.
    run_until(&s, &mut runner, t0() + TimeDelta::minutes(5)).await;
    for (id, position) in &provisional {
        let stored = s
            .store
            .query(&ontime_sync::store::EventQuery {
                account: Some("acme".to_owned()),
                after: position - 1,
                limit: 1,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(&stored[0].event.event_id, id);
        assert_eq!(
            stored[0].event.time_precision,
            TimePrecision::Exact,
            "{id:?}"
        );
    }
    nothing_lost_nothing_doubled(&s, "acme").await;
    runner
        .write_status(t0() + TimeDelta::minutes(5))
        .await
        .unwrap();
    assert_eq!(runner.status().cursors.poll_pending, 0);
}
