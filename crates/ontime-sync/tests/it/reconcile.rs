//! The slow reconcile source and the exact fetch against the simulator: transfers and labels
//! within a level that polls cannot see, drivers as actors, the custody of each item under its
//! own tracking number, departures, the budget, and the three order sources together.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, Utc};
use ontime::index::Operation;
use ontime::{OrderFilter, OrderId, StatusLevel, UserId};
use ontime_sync::collect::inbound::{Inbound, InboundConfig, InboundToken, Notified, QueuedOrder};
use ontime_sync::collect::{
    Governor, Plan, ReconcileConfig, ReconcileCursor, ReconcileReport, Reconciler, SystemClock,
};
use ontime_sync::event::{Actor, Custodian, Event, EventType};
use ontime_sync::store::{Commit, EventStore, Store};

use super::poll::{Setup, account, rich, setup, status_events, t0};

fn reconciler(s: &Setup, batch: usize) -> Reconciler<Store> {
    let config = ReconcileConfig {
        batch,
        ..ReconcileConfig::default()
    };
    Reconciler::new(s.collector.clone(), s.store.clone(), account(), config)
}

/// The order's own driver (the seed's, so that reopening it is no hand-over) and another one.
async fn drivers(s: &Setup, order: OrderId) -> (UserId, UserId) {
    let ids: Vec<UserId> = s
        .mock
        .store()
        .driver_ids()
        .into_iter()
        .map(Into::into)
        .collect();
    let own = s.office.orders().get(order).await.unwrap();
    let a = own.driver_currently_assigned.unwrap_or(ids[0]);
    let b = *ids.iter().find(|id| **id != a).unwrap();
    (a, b)
}

/// The office assigns `driver` (a full-record update: no status entry).
async fn assign(s: &Setup, order: OrderId, driver: UserId) {
    s.office
        .orders()
        .modify(order, |o| o.driver_currently_assigned = Some(driver))
        .await
        .unwrap();
}

/// Delivered orders with items (the seed's finished orders, for the office to reopen).
async fn delivered_orders(s: &Setup) -> Vec<OrderId> {
    let orders = s
        .office
        .orders()
        .find(OrderFilter::new().status(StatusLevel::Delivered))
        .collect_vec()
        .await
        .unwrap();
    orders
        .into_iter()
        .filter(|o| o.items.as_ref().is_some_and(|i| !i.is_empty()))
        .filter_map(|o| o.id)
        .collect()
}

async fn events_of(s: &Setup, order: OrderId) -> Vec<Event> {
    s.store
        .timeline("sim", &Event::order_subject(order))
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect()
}

/// Batches until a round is complete; the reports.
async fn round(
    r: &Reconciler<Store>,
    governor: &mut Governor,
    now: DateTime<Utc>,
) -> Vec<ReconcileReport> {
    let mut reports = Vec::new();
    loop {
        let report = r.reconcile(governor, now).await.unwrap().expect("budget");
        let done = report.round_complete;
        reports.push(report);
        if done {
            return reports;
        }
        assert!(reports.len() < 100, "a round ends");
    }
}

/// The requests of the collector's operations logged since `from` (a request count).
fn logged(s: &Setup, from: usize) -> Vec<ontime_mock::LoggedRequest> {
    s.mock.requests().into_iter().skip(from).collect()
}

fn of(requests: &[ontime_mock::LoggedRequest], op: Operation, order: OrderId) -> usize {
    requests
        .iter()
        .filter(|r| r.operation == Some(op) && r.path.contains(&order.to_string()))
        .count()
}

fn driver(id: UserId) -> Custodian {
    Custodian::Driver { id: Some(id) }
}

#[tokio::test]
async fn reconcile_finds_a_transfer_and_a_new_label_within_a_level() {
    let s = setup().await;
    let order = delivered_orders(&s).await[0];
    let (a, b) = drivers(&s, order).await;
    let items: Vec<String> = s
        .office
        .orders()
        .get(order)
        .await
        .unwrap()
        .items
        .unwrap()
        .into_iter()
        .map(|i| i.tracking_number.unwrap())
        .collect();
    let poller = s.poller();
    let mut governor = rich(t0());
    poller.poll(&mut governor, t0()).await.unwrap().unwrap();

    // Driver A is assigned and picks the parcels up; the poll sees both moves, A as actor.
    s.advance(5);
    assign(&s, order, a).await;
    s.move_to(order, StatusLevel::Assigned, None).await;
    let now = s.advance(1);
    poller.poll(&mut governor, now).await.unwrap().unwrap();
    s.advance(5);
    s.move_to(order, StatusLevel::AssignedInRoute, Some("Picked up"))
        .await;
    let now = s.advance(1);
    let picked = poller.poll(&mut governor, now).await.unwrap().unwrap();
    let picked: Vec<&Event> = picked
        .outcome
        .stored
        .iter()
        .map(|e| &e.event)
        .filter(|e| e.order.as_ref().is_some_and(|o| o.id == order))
        .collect();
    assert_eq!(picked[0].event_type, EventType::OrderPickedUp);
    assert_eq!(picked[0].actor, Some(Actor::Driver { id: a }));
    assert_eq!(
        picked.len(),
        1 + items.len(),
        "the pickup and each item's custody"
    );
    for (event, item) in picked[1..].iter().zip(&items) {
        let custody = event.custody.as_ref().unwrap();
        assert_eq!(&custody.item_tracking_number, item);
        assert_eq!(custody.to, driver(a));
    }

    // The office hands the order over to B mid-route: same level, OnTime's default label.
    s.advance(5);
    assign(&s, order, b).await;
    s.move_to(order, StatusLevel::AssignedInRoute, None).await;
    let now = s.advance(1);
    let blind = poller.poll(&mut governor, now).await.unwrap().unwrap();
    assert!(
        !blind.batch.moved.contains_key(&order),
        "invisible to the diff"
    );
    assert!(!blind.batch.fetched.contains(&order));

    let reconcile = reconciler(&s, 20);
    let reports = round(&reconcile, &mut governor, now).await;
    assert!(reports.iter().any(|r| r.changed.contains(&order)));
    let events = events_of(&s, order).await;
    let transfer = events
        .iter()
        .rposition(|e| e.event_type == EventType::OrderTransferred)
        .expect("a transfer");
    let event = &events[transfer];
    assert_eq!(event.actor, Some(Actor::Driver { id: b }));
    assert_eq!(
        event.ontime.as_ref().unwrap().label.as_deref(),
        Some("In Transit")
    );
    assert_eq!(
        event.order.as_ref().unwrap().tracking_number,
        s.office.orders().get(order).await.unwrap().tracking_number
    );
    let custody: Vec<(String, Custodian, Custodian)> = events[transfer + 1..]
        .iter()
        .map(|e| {
            let c = e.custody.clone().expect("custody after the transfer");
            (c.item_tracking_number, c.from, c.to)
        })
        .collect();
    let expected: Vec<(String, Custodian, Custodian)> = items
        .iter()
        .map(|item| (item.clone(), driver(a), driver(b)))
        .collect();
    assert_eq!(
        custody, expected,
        "each parcel from A to B, by its own number"
    );

    // A new label within the level, same driver: the poll misses it, reconcile finds it.
    s.advance(5);
    s.move_to(
        order,
        StatusLevel::AssignedInRoute,
        Some("Out for delivery"),
    )
    .await;
    let now = s.advance(1);
    let blind = poller.poll(&mut governor, now).await.unwrap().unwrap();
    assert!(blind.outcome.stored.is_empty());
    let before = events_of(&s, order).await.len();
    let reports = round(&reconcile, &mut governor, now).await;
    assert!(reports.iter().any(|r| r.changed.contains(&order)));
    let events = events_of(&s, order).await;
    assert_eq!(
        events.len(),
        before + 1,
        "no custody change: B keeps the parcels"
    );
    let last = events.last().unwrap();
    assert_eq!(last.event_type, EventType::OrderInTransit);
    assert_eq!(
        last.ontime.as_ref().unwrap().label.as_deref(),
        Some("Out for delivery")
    );
    assert_eq!(last.actor, Some(Actor::Driver { id: b }));

    // Nothing changed since: a round costs the listing and one record per active order.
    let reports = round(&reconcile, &mut governor, now).await;
    assert!(
        reports
            .iter()
            .all(|r| r.changed.is_empty() && r.stored == 0)
    );
}

#[tokio::test]
async fn reconcile_batches_keep_to_the_governor_and_count_every_call() {
    let s = setup().await;
    // Several active orders: the office reopens four delivered ones.
    for order in delivered_orders(&s).await.into_iter().take(4) {
        s.move_to(order, StatusLevel::Assigned, None).await;
    }
    let now = s.advance(1);
    let levels = ReconcileConfig::default().levels.len() as u64;
    let reconcile = reconciler(&s, 3);

    // An empty bucket: nothing called, nothing committed.
    let mut empty = Governor::new(Plan::daily(1_000_000).burst(levels + 4), now);
    let calls = s.collector.quota().calls;
    assert_eq!(reconcile.reconcile(&mut empty, now).await.unwrap(), None);
    assert_eq!(s.collector.quota().calls, calls);
    assert!(s.store.cursor("sim", "reconcile").await.unwrap().is_none());

    // A bucket of the listing and four more calls.
    let mut thin = Governor::new(
        Plan::daily(1_000_000).burst(levels + 4),
        now - TimeDelta::hours(1),
    );
    let from = s.mock.requests().len();
    let calls = s.collector.quota().calls;
    let first = reconcile.reconcile(&mut thin, now).await.unwrap().unwrap();
    let requests = logged(&s, from);
    assert_eq!(first.calls, s.collector.quota().calls - calls);
    assert_eq!(
        first.calls,
        requests.len() as u64,
        "every call is in the log"
    );
    assert!(first.calls <= levels + 4, "{}", first.calls);
    let by_op = |op: Operation| requests.iter().filter(|r| r.operation == Some(op)).count();
    assert_eq!(by_op(Operation::OrdersFind) as u64, levels);
    assert_eq!(by_op(Operation::OrdersGet), first.checked);
    assert_eq!(by_op(Operation::OrderStatusChanges), first.changed.len());
    assert!(first.checked >= 2 && !first.round_complete);
    let cursor: ReconcileCursor =
        serde_json::from_value(s.store.cursor("sim", "reconcile").await.unwrap().unwrap()).unwrap();
    let active: BTreeSet<OrderId> = cursor.active.keys().copied().collect();
    assert!(active.len() >= 4, "{active:?}");

    // The rest of the round in batches of three: each active order checked exactly once, and
    // the calls reported are the calls logged.
    let mut governor = rich(now);
    let reports = round(&reconcile, &mut governor, now).await;
    let requests = logged(&s, from);
    let reported: u64 = first.calls + reports.iter().map(|r| r.calls).sum::<u64>();
    assert_eq!(reported, requests.len() as u64);
    assert!(reports.iter().all(|r| r.checked <= 3));
    let gets: BTreeMap<OrderId, usize> = active
        .iter()
        .map(|o| (*o, of(&requests, Operation::OrdersGet, *o)))
        .collect();
    assert!(gets.values().all(|n| *n == 1), "{gets:?}");
    assert_eq!(
        first.checked + reports.iter().map(|r| r.checked).sum::<usize>(),
        active.len()
    );
    // Every active order was new to this source and to the store: its history was fetched
    // once, with the record in hand (no second record call).
    for order in &active {
        assert_eq!(of(&requests, Operation::OrderStatusChanges, *order), 1);
    }
}

#[tokio::test]
async fn an_order_leaving_the_active_set_gets_its_final_events_from_reconcile_alone() {
    let s = setup().await;
    let order = delivered_orders(&s).await[0];
    let (a, _) = drivers(&s, order).await;
    s.advance(2);
    assign(&s, order, a).await;
    s.move_to(order, StatusLevel::Assigned, None).await;
    s.advance(2);
    s.move_to(order, StatusLevel::AssignedInRoute, Some("Picked up"))
        .await;
    let now = s.advance(1);
    let reconcile = reconciler(&s, 20);
    let mut governor = rich(now);
    // No poll at all: reconcile's first check of the order stores its whole history.
    let reports = round(&reconcile, &mut governor, now).await;
    assert!(reports.iter().any(|r| r.changed.contains(&order)));
    let history = s.office.orders().timeline(order).await.unwrap();
    let stored = events_of(&s, order).await;
    assert_eq!(
        stored.iter().filter(|e| e.custody.is_none()).count(),
        history.len()
    );

    let delivered_at = s.advance(3);
    s.move_to(order, StatusLevel::Delivered, None).await;
    let now = s.advance(1);
    let from = s.mock.requests().len();
    let reports = round(&reconcile, &mut governor, now).await;
    assert!(reports.iter().any(|r| r.changed.contains(&order)));
    let events = events_of(&s, order).await;
    let new = &events[stored.len()..];
    let delivered = &new[0];
    assert_eq!(delivered.event_type, EventType::OrderDelivered);
    assert_eq!(delivered.occurred_at, delivered_at);
    assert_eq!(delivered.actor, Some(Actor::Driver { id: a }));
    assert!(new.len() > 1);
    for event in &new[1..] {
        let custody = event.custody.as_ref().unwrap();
        assert_eq!(
            (&custody.from, &custody.to),
            (&driver(a), &Custodian::Consignee)
        );
    }
    let requests = logged(&s, from);
    assert_eq!(
        of(&requests, Operation::OrdersGet, order),
        1,
        "one final check"
    );
    let cursor: ReconcileCursor =
        serde_json::from_value(s.store.cursor("sim", "reconcile").await.unwrap().unwrap()).unwrap();
    assert!(!cursor.active.contains_key(&order) && !cursor.departed.contains(&order));

    // Finished: later rounds leave it alone.
    let from = s.mock.requests().len();
    round(&reconcile, &mut governor, now).await;
    assert_eq!(of(&logged(&s, from), Operation::OrdersGet, order), 0);
}

#[tokio::test]
async fn inbound_poll_and_reconcile_on_one_order_store_each_event_once() {
    let s = setup().await;
    let order = delivered_orders(&s).await[0];
    let (a, _) = drivers(&s, order).await;
    let poller = s.poller();
    let mut governor = rich(t0());
    poller.poll(&mut governor, t0()).await.unwrap().unwrap();

    s.advance(2);
    assign(&s, order, a).await;
    s.move_to(order, StatusLevel::AssignedInRoute, Some("Picked up"))
        .await;
    let now = s.advance(1);

    // The notification is drained first: history and record.
    let entry = QueuedOrder {
        order: Notified::Order(order),
        received_at: now,
        receipt: "r1".to_owned(),
    };
    s.store
        .commit(Commit::new("sim").cursor(
            format!("inbound/order/{order}"),
            serde_json::to_value(&entry).unwrap(),
        ))
        .await
        .unwrap();
    let mut inbound = Inbound::new(
        s.collector.clone(),
        s.store.clone(),
        account(),
        InboundConfig::new(InboundToken::new("s3cret-token-0123456789").unwrap()),
        SystemClock,
    );
    inbound.set_destinations(vec!["hook".to_owned()]);
    let from = s.mock.requests().len();
    let drained = inbound.drain(&mut governor, now).await.unwrap();
    assert_eq!(drained.fetched, [order]);
    assert_eq!(drained.calls, 2);
    assert_eq!(drained.calls, logged(&s, from).len() as u64);
    let queued = s.store.pending_deliveries("hook", 1000).await.unwrap();
    assert_eq!(
        queued.len(),
        drained.stored,
        "the drain's events, for its destination"
    );
    let after_inbound = events_of(&s, order).await;
    assert!(after_inbound.len() > 1, "the pickup and its custody events");

    // The poll sees the same move: it fetches the history, finds nothing new and skips the
    // record (one call); nothing is stored twice.
    let from = s.mock.requests().len();
    let polled = poller.poll(&mut governor, now).await.unwrap().unwrap();
    assert!(polled.batch.fetched.contains(&order));
    let requests = logged(&s, from);
    assert_eq!(of(&requests, Operation::OrderStatusChanges, order), 1);
    assert_eq!(of(&requests, Operation::OrdersGet, order), 0);
    assert_eq!(polled.batch.calls, requests.len() as u64);
    assert!(polled.outcome.stored.is_empty());

    // Reconcile's first check: the latest entry is stored with this driver: no history.
    let from = s.mock.requests().len();
    let reports = round(&reconciler(&s, 20), &mut governor, now).await;
    assert!(reports.iter().all(|r| !r.changed.contains(&order)));
    let requests = logged(&s, from);
    assert_eq!(of(&requests, Operation::OrdersGet, order), 1);
    assert_eq!(of(&requests, Operation::OrderStatusChanges, order), 0);
    assert_eq!(
        reports.iter().map(|r| r.calls).sum::<u64>(),
        requests.len() as u64
    );

    // Each status entry once, each item's custody change once, A as the pickup's actor.
    let events = events_of(&s, order).await;
    assert_eq!(events, after_inbound);
    let history = s.office.orders().timeline(order).await.unwrap();
    let statuses = status_events(
        &s.store
            .timeline("sim", &Event::order_subject(order))
            .await
            .unwrap(),
    )
    .len();
    assert_eq!(statuses, history.len());
    let ids: BTreeSet<_> = events
        .iter()
        .map(|e| {
            let status = e.ontime.as_ref().unwrap().status_id;
            let item = e.custody.as_ref().map(|c| c.item_tracking_number.clone());
            (status, item)
        })
        .collect();
    assert_eq!(ids.len(), events.len(), "no entry or custody change twice");
    let pickup = events
        .iter()
        .rfind(|e| e.event_type == EventType::OrderPickedUp)
        .unwrap();
    assert_eq!(pickup.actor, Some(Actor::Driver { id: a }));
}

#[tokio::test]
async fn a_step_back_to_dispatch_of_a_known_order_costs_the_history_alone() {
    let s = setup().await;
    let order = delivered_orders(&s).await[0];
    let tracking = s.office.orders().get(order).await.unwrap().tracking_number;
    let poller = s.poller();
    let mut governor = rich(t0());
    poller.poll(&mut governor, t0()).await.unwrap().unwrap();

    s.move_to(order, StatusLevel::Dispatched, None).await;
    let now = s.advance(1);
    let from = s.mock.requests().len();
    let report = poller.poll(&mut governor, now).await.unwrap().unwrap();
    assert_eq!(report.batch.fetched, [order]);
    let requests = logged(&s, from);
    assert_eq!(of(&requests, Operation::OrderStatusChanges, order), 1);
    assert_eq!(
        of(&requests, Operation::OrdersGet, order),
        0,
        "nobody is assigned at Dispatched and the tracking number is stored: no record"
    );
    assert_eq!(report.batch.calls, requests.len() as u64);
    let new: Vec<&Event> = report.outcome.stored.iter().map(|e| &e.event).collect();
    assert_eq!(new.len(), 1, "no custody change");
    assert!(matches!(
        new[0].event_type,
        EventType::OrderUnassigned | EventType::OrderSubmitted
    ));
    assert_eq!(new[0].actor, None);
    assert_eq!(new[0].order.as_ref().unwrap().tracking_number, tracking);
}

#[tokio::test]
async fn a_reconciler_refenced_after_construction_commits_under_its_new_lease_only() {
    let s = setup().await;
    let order = delivered_orders(&s).await[0];
    s.move_to(order, StatusLevel::Assigned, None).await;
    let now = s.advance(1);
    let ttl = TimeDelta::seconds(30);
    let stale = s
        .store
        .acquire_lease("sim", "a", ttl, now)
        .await
        .unwrap()
        .unwrap();
    let current = s
        .store
        .acquire_lease("sim", "b", ttl, now + ttl)
        .await
        .unwrap()
        .unwrap();
    let mut reconcile = reconciler(&s, 20);
    reconcile.set_destinations(vec!["hook".to_owned()]);
    reconcile.set_fence(Some(stale.fence()));
    assert_eq!(reconcile.config().fence, Some(stale.fence()));
    let mut governor = rich(now);
    let refused = reconcile.reconcile(&mut governor, now + ttl).await;
    assert!(matches!(
        refused,
        Err(ontime_sync::collect::CollectError::Store(
            ontime_sync::store::StoreError::LeaseLost { .. }
        ))
    ));
    assert!(s.store.cursor("sim", "reconcile").await.unwrap().is_none());
    assert!(s.store.events_after(0, 10).await.unwrap().is_empty());

    reconcile.set_fence(Some(current.fence()));
    let report = reconcile
        .reconcile(&mut governor, now + ttl)
        .await
        .unwrap()
        .unwrap();
    assert!(report.changed.contains(&order));
    let queued = s.store.pending_deliveries("hook", 1000).await.unwrap();
    assert_eq!(queued.len(), report.stored);
    assert!(
        queued
            .iter()
            .any(|e| e.event.subject == Event::order_subject(order))
    );
}

#[tokio::test]
async fn a_driver_change_without_a_status_entry_is_fetched_once_and_stores_nothing() {
    let s = setup().await;
    let order = delivered_orders(&s).await[0];
    let (a, b) = drivers(&s, order).await;
    assign(&s, order, a).await;
    s.move_to(order, StatusLevel::Assigned, None).await;
    let now = s.advance(1);
    let reconcile = reconciler(&s, 20);
    let mut governor = rich(now);
    round(&reconcile, &mut governor, now).await;
    let before = events_of(&s, order).await;

    assign(&s, order, b).await;
    let from = s.mock.requests().len();
    let reports = round(&reconcile, &mut governor, now).await;
    let requests = logged(&s, from);
    assert_eq!(of(&requests, Operation::OrderStatusChanges, order), 1);
    assert!(reports.iter().any(|r| r.changed.contains(&order)));
    assert_eq!(events_of(&s, order).await, before, "no entry, no event");

    let from = s.mock.requests().len();
    round(&reconcile, &mut governor, now).await;
    let requests = logged(&s, from);
    assert_eq!(of(&requests, Operation::OrdersGet, order), 1);
    assert_eq!(
        of(&requests, Operation::OrderStatusChanges, order),
        0,
        "known now"
    );
}

#[tokio::test]
async fn a_round_takes_the_active_set_from_the_poll_cursor_and_skips_orders_read_since() {
    let s = setup().await;
    for order in delivered_orders(&s).await.into_iter().take(3) {
        s.move_to(order, StatusLevel::Assigned, None).await;
    }
    let now = s.advance(1);
    let mut governor = rich(now);
    s.poller().poll(&mut governor, now).await.unwrap().unwrap();
    let poll: ontime_sync::collect::PollCursor =
        serde_json::from_value(s.store.cursor("sim", "poll").await.unwrap().unwrap()).unwrap();
    let active_codes: BTreeSet<i64> = ReconcileConfig::default()
        .levels
        .iter()
        .filter_map(StatusLevel::code)
        .collect();
    let expected: BTreeSet<OrderId> = poll
        .levels
        .iter()
        .filter(|(code, _)| active_codes.contains(code))
        .flat_map(|(_, ids)| ids.iter().copied())
        .collect();
    assert!(expected.len() >= 3, "{expected:?}");

    let config = ReconcileConfig {
        active_from: Some("poll".to_owned()),
        ..ReconcileConfig::default()
    };
    let reconcile = Reconciler::new(s.collector.clone(), s.store.clone(), account(), config);
    let finds = |requests: &[ontime_mock::LoggedRequest]| {
        requests
            .iter()
            .filter(|r| r.operation == Some(Operation::OrdersFind))
            .count()
    };

    // A round: one record each, no listing call.
    let from = s.mock.requests().len();
    let reports = round(&reconcile, &mut governor, now).await;
    let requests = logged(&s, from);
    assert_eq!(
        finds(&requests),
        0,
        "the active set came from the poll's cursor"
    );
    let checked: usize = reports.iter().map(|r| r.checked).sum();
    assert_eq!(checked, expected.len());
    for order in &expected {
        assert_eq!(of(&requests, Operation::OrdersGet, *order), 1, "{order}");
    }

    // The next round lists (one batch of one check); then an order moves and the poll reads
    // it: the rest of the round skips it without a call.
    let single = Reconciler::new(
        s.collector.clone(),
        s.store.clone(),
        account(),
        ReconcileConfig {
            batch: 1,
            active_from: Some("poll".to_owned()),
            ..ReconcileConfig::default()
        },
    );
    let later = s.advance(1);
    let first = single
        .reconcile(&mut governor, later)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.checked, 1);
    let moved = *expected.last().unwrap();
    s.move_to(moved, StatusLevel::AssignedInRoute, Some("Picked up"))
        .await;
    let read = s.advance(1);
    let polled = s.poller().poll(&mut governor, read).await.unwrap().unwrap();
    assert!(polled.batch.fetched.contains(&moved));
    let from = s.mock.requests().len();
    let mut skipped = 0;
    loop {
        let report = single
            .reconcile(&mut governor, read)
            .await
            .unwrap()
            .unwrap();
        skipped += report.skipped;
        if report.round_complete {
            break;
        }
    }
    let requests = logged(&s, from);
    assert!(skipped >= 1, "the moved order is skipped");
    assert_eq!(of(&requests, Operation::OrdersGet, moved), 0);
    assert_eq!(finds(&requests), 0);

    // A poll cursor that is not there (or lacks a level): the round lists with the finder.
    let config = ReconcileConfig {
        cursor: "reconcile-2".to_owned(),
        active_from: Some("no-such-poll".to_owned()),
        ..ReconcileConfig::default()
    };
    let listing = Reconciler::new(s.collector.clone(), s.store.clone(), account(), config);
    let from = s.mock.requests().len();
    let first = listing
        .reconcile(&mut governor, read)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(finds(&logged(&s, from)), active_codes.len());
    assert!(first.calls >= active_codes.len() as u64);
}
