//! The polling source against the simulator: orders moved through the facade between polls
//! become exactly the expected events, with OnTime's times, at the expected cost in calls.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc};
use ontime::{OrderId, StatusChange, StatusLevel};
use ontime_mock::{OnTimeMock, RunningMock};
use ontime_sync::collect::{Governor, Plan, PollConfig, Poller};
use ontime_sync::event::{AccountConfig, Event, EventType, TimePrecision};
use ontime_sync::store::{EventStore, Store, StoredEvent};

use crate::fixtures::when;

const ACCOUNT: &str = "sim";

pub(crate) struct Setup {
    pub(crate) mock: RunningMock,
    /// The office: moves orders (its calls are not the collector's).
    pub(crate) office: ontime::Client,
    /// The collector's own client: its call counter is what the poller spent.
    pub(crate) collector: ontime::Client,
    pub(crate) store: Store,
    pub(crate) dir: tempfile::TempDir,
}

/// 09:00 in Chicago (−06:00 in January, the simulator's default offset) = 15:00 UTC.
pub(crate) fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 15, 15, 0, 0).unwrap()
}

pub(crate) fn account() -> AccountConfig {
    AccountConfig::new(ACCOUNT, chrono_tz::America::Chicago)
}

pub(crate) async fn setup() -> Setup {
    setup_with(|builder| builder).await
}

async fn setup_with(
    configure: impl FnOnce(ontime_mock::MockBuilder) -> ontime_mock::MockBuilder,
) -> Setup {
    let start = NaiveDate::from_ymd_opt(2026, 1, 15)
        .unwrap()
        .and_hms_opt(9, 0, 0)
        .unwrap();
    let mock = configure(
        OnTimeMock::builder()
            .seed(7)
            .orders(12)
            .clock_start(start)
            .frozen_clock(),
    )
    .start()
    .await
    .expect("simulator");
    let client = || {
        ontime::Client::builder()
            .base_url(mock.base_url())
            .api_key(mock.api_key())
            .build()
            .unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(&dir.path().join("events.db"))
        .await
        .unwrap();
    Setup {
        office: client(),
        collector: client(),
        mock,
        store,
        dir,
    }
}

impl Setup {
    pub(crate) fn poller(&self) -> Poller<Store> {
        self.poller_with(PollConfig::default())
    }

    pub(crate) fn poller_with(&self, config: PollConfig) -> Poller<Store> {
        Poller::new(
            self.collector.clone(),
            self.store.clone(),
            account(),
            config,
        )
    }

    /// Moves the simulator's frozen clock (and the collector's `now`) forward.
    pub(crate) fn advance(&self, minutes: i64) -> DateTime<Utc> {
        self.mock
            .clock()
            .advance(std::time::Duration::from_secs(minutes as u64 * 60));
        let local = self.mock.clock().now();
        chrono_tz::America::Chicago
            .from_local_datetime(&local)
            .unwrap()
            .with_timezone(&Utc)
    }

    pub(crate) async fn move_to(&self, order: OrderId, level: StatusLevel, label: Option<&str>) {
        let mut change = StatusChange::new(level);
        if let Some(label) = label {
            change = change.label(label);
        }
        self.office
            .orders()
            .update_status(order, change)
            .await
            .unwrap();
    }
}

/// A governor with plenty of budget, its bucket full at `now`.
pub(crate) fn rich(now: DateTime<Utc>) -> Governor {
    Governor::new(
        Plan::daily(1_000_000).burst(1_000),
        now - TimeDelta::hours(1),
    )
}

fn levels() -> u64 {
    PollConfig::default().levels.len() as u64
}

#[tokio::test]
async fn polls_turn_moves_into_exact_events_at_two_calls_per_moved_order() {
    let s = setup().await;
    let poller = s.poller();
    let mut governor = rich(t0());

    // First poll: the backfill. Every order at a watched level is fetched once: its history
    // and its record (nothing stored yet: the record is needed for the tracking number).
    let calls = s.collector.quota().calls;
    let first = poller.poll(&mut governor, t0()).await.unwrap().unwrap();
    let spent = s.collector.quota().calls - calls;
    assert_eq!(spent, levels() + 2 * first.batch.fetched.len() as u64);
    assert_eq!(first.batch.calls, spent);
    assert!(first.batch.provisional.is_empty());
    assert!(!first.batch.moved.is_empty(), "the seeded orders are found");
    assert_eq!(
        first.batch.fetched.iter().copied().collect::<BTreeSet<_>>(),
        first.batch.moved.keys().copied().collect::<BTreeSet<_>>()
    );
    // Their status events: one per history entry, all exact, nothing twice.
    let mut entries = 0;
    for order in &first.batch.fetched {
        entries += s.office.orders().timeline(*order).await.unwrap().len();
    }
    assert_eq!(status_events(&first.outcome.stored).len(), entries);
    assert!(
        first
            .outcome
            .stored
            .iter()
            .all(|e| e.event.time_precision == TimePrecision::Exact)
    );

    // Between polls, the office assigns one order and picks another up.
    // (The seeded orders are mostly delivered: the office reopens two of them.)
    let (a, b) = {
        let mut moved = first.batch.moved.keys();
        (*moved.next().unwrap(), *moved.next().unwrap())
    };
    let now = s.advance(10);
    s.move_to(a, StatusLevel::Assigned, None).await;
    s.move_to(b, StatusLevel::AssignedInRoute, Some("Picked up"))
        .await;

    let calls = s.collector.quota().calls;
    let second = poller.poll(&mut governor, now).await.unwrap().unwrap();
    assert_eq!(s.collector.quota().calls - calls, levels() + 2 * 2);
    assert_eq!(
        second.batch.moved.keys().copied().collect::<Vec<_>>(),
        sorted([a, b])
    );
    let mut new: Vec<(OrderId, EventType, String)> = status_events(&second.outcome.stored)
        .into_iter()
        .map(|e| {
            let event = &e.event;
            assert_eq!(event.time_precision, TimePrecision::Exact);
            (
                event.order.as_ref().unwrap().id,
                event.event_type,
                event.occurred_at.to_rfc3339(),
            )
        })
        .collect();
    new.sort();
    let mut expected = vec![
        (
            a,
            EventType::OrderAssigned,
            "2026-01-15T09:10:00-06:00".to_owned(),
        ),
        (
            b,
            EventType::OrderPickedUp,
            "2026-01-15T09:10:00-06:00".to_owned(),
        ),
    ];
    expected.sort();
    assert_eq!(new, expected, "exactly the two moves, at OnTime's times");

    // Nothing moved: the poll costs the finder calls only and stores nothing.
    let now = s.advance(5);
    let calls = s.collector.quota().calls;
    let quiet = poller.poll(&mut governor, now).await.unwrap().unwrap();
    assert_eq!(s.collector.quota().calls - calls, levels());
    assert!(quiet.batch.moved.is_empty());
    assert!(quiet.outcome.stored.is_empty());
}

/// The status events among `stored` (custody events left out).
pub(crate) fn status_events(stored: &[StoredEvent]) -> Vec<&StoredEvent> {
    stored
        .iter()
        .filter(|e| e.event.custody.is_none())
        .collect()
}

fn sorted<const N: usize>(mut ids: [OrderId; N]) -> Vec<OrderId> {
    ids.sort();
    ids.to_vec()
}

#[tokio::test]
async fn a_crash_between_fetch_and_commit_replays_to_the_same_events() {
    let s = setup().await;
    let poller = s.poller();
    let mut governor = rich(t0());
    let first = poller.poll(&mut governor, t0()).await.unwrap().unwrap();
    let order = *first.batch.moved.keys().next().unwrap();

    let now = s.advance(3);
    s.move_to(
        order,
        StatusLevel::AssignedInRoute,
        Some("Out for delivery"),
    )
    .await;
    // Fetched and derived, then the process dies before the commit.
    let lost = poller.collect(&mut governor, now).await.unwrap().unwrap();
    assert_eq!(lost.fetched, vec![order]);
    // The restarted poller sees the same move and stores the same events, once.
    let replay = poller.poll(&mut governor, now).await.unwrap().unwrap();
    assert_eq!(replay.batch.commit, lost.commit);
    let stored: Vec<Event> = status_events(&replay.outcome.stored)
        .into_iter()
        .map(|s| s.event.clone())
        .collect();
    assert_eq!(stored.len(), 1);
    let mut expected = lost
        .commit
        .events
        .iter()
        .find(|e| e.event_id == stored[0].event_id)
        .cloned()
        .unwrap();
    expected.sequence = stored[0].sequence;
    assert_eq!(stored[0], expected);
    assert_eq!(stored[0].event_type, EventType::OrderInTransit);
    // And once more: nothing new.
    let again = poller.poll(&mut governor, now).await.unwrap().unwrap();
    assert!(again.outcome.stored.is_empty());
}

#[tokio::test]
async fn without_budget_a_move_is_provisional_and_upgraded_when_the_history_comes() {
    let s = setup().await;
    let poller = s.poller();
    let first = poller.poll(&mut rich(t0()), t0()).await.unwrap().unwrap();
    let order = *first
        .batch
        .moved
        .iter()
        .find(|(_, l)| !matches!(l, StatusLevel::Delivered))
        .unwrap()
        .0;

    let moved_at = s.advance(7);
    s.move_to(order, StatusLevel::Delivered, None).await;
    // A governor whose bucket holds exactly the finder calls: no history this time.
    let seen_at = s.advance(2);
    let mut thin = Governor::new(
        Plan::daily(1_000_000).burst(levels()),
        seen_at - TimeDelta::hours(1),
    );
    let calls = s.collector.quota().calls;
    // An empty bucket: not even the finder calls; nothing is called or committed.
    let mut empty = Governor::new(Plan::daily(1_000_000).burst(levels()), seen_at);
    assert_eq!(poller.poll(&mut empty, seen_at).await.unwrap(), None);
    assert_eq!(s.collector.quota().calls, calls);
    let poor = poller.poll(&mut thin, seen_at).await.unwrap().unwrap();
    assert_eq!(
        s.collector.quota().calls - calls,
        levels(),
        "no history fetched"
    );
    assert_eq!(poor.batch.provisional, vec![order]);
    let provisional = &poor.outcome.stored[0];
    assert_eq!(poor.outcome.stored.len(), 1);
    assert_eq!(provisional.event.event_type, EventType::OrderDelivered);
    assert_eq!(provisional.event.time_precision, TimePrecision::Observed);
    assert_eq!(provisional.event.occurred_at, seen_at);

    // The next poll has budget: the owed history is fetched, the row upgraded in place.
    let later = s.advance(1);
    let calls = s.collector.quota().calls;
    let paid = poller.poll(&mut rich(later), later).await.unwrap().unwrap();
    assert_eq!(s.collector.quota().calls - calls, levels() + 2);
    assert!(paid.batch.moved.is_empty());
    assert_eq!(paid.batch.fetched, vec![order]);
    assert!(
        status_events(&paid.outcome.stored).is_empty(),
        "only custody"
    );
    assert_eq!(paid.outcome.upgraded.len(), 1);
    let upgraded = &paid.outcome.upgraded[0];
    assert_eq!(upgraded.position, provisional.position);
    assert_eq!(upgraded.event.event_id, provisional.event.event_id);
    assert_eq!(upgraded.event.time_precision, TimePrecision::Exact);
    assert_eq!(upgraded.event.occurred_at, moved_at);
    let cursor = s.store.cursor(ACCOUNT, "poll").await.unwrap().unwrap();
    assert_eq!(cursor["pending"], serde_json::json!([]));
}

#[tokio::test]
async fn when_others_drain_the_account_the_poll_keeps_their_reserve() {
    // 200 calls a day; 80 % are ours, 40 stay the others'.
    let s = setup_with(|b| b.daily_quota(200)).await;
    let poller = s.poller();
    let mut governor = Governor::new(Plan::daily(200).burst(100), t0() - TimeDelta::hours(12));
    // The office spends 150 calls before the first poll.
    let order = s
        .office
        .orders()
        .ids(ontime::OrderFilter::new())
        .await
        .unwrap()[0];
    for _ in 0..149 {
        s.office.orders().timeline(order).await.unwrap();
    }
    let calls = s.collector.quota().calls;
    let report = poller.poll(&mut governor, t0()).await.unwrap().unwrap();
    // After the finder calls (8 levels) the server has 42 left: 2 above the others' 40. The
    // budget is short: two final orders get their history alone (one call each), the other moves
    // stay provisional (the active ones owed until final), and the account keeps its reserve.
    let fetched = report.batch.fetched.len() as u64;
    assert_eq!(levels(), 8);
    assert_eq!(fetched, 2);
    assert_eq!(s.collector.quota().calls - calls, levels() + fetched);
    assert_eq!(s.collector.quota().daily_remaining, Some(40));
    assert_eq!(
        report.batch.provisional.len() + report.batch.fetched.len(),
        report.batch.moved.len()
    );
    assert_eq!(governor.left(t0()), 0);
    let observed = report
        .outcome
        .stored
        .iter()
        .filter(|e| e.event.time_precision == TimePrecision::Observed)
        .count();
    assert_eq!(observed, report.batch.provisional.len());
}

#[tokio::test]
async fn an_order_leaving_the_watched_levels_is_fetched_and_its_cancellation_exact() {
    let s = setup().await;
    // Cancelled levels left out of the watch: the order departs.
    let config = PollConfig {
        levels: PollConfig::default()
            .levels
            .into_iter()
            .filter(|l| !matches!(l, StatusLevel::Cancelled | StatusLevel::CancelledBillable))
            .collect(),
        ..PollConfig::default()
    };
    let levels = || config.levels.len() as u64;
    let poller = s.poller_with(config.clone());
    let mut governor = rich(t0());
    let first = poller.poll(&mut governor, t0()).await.unwrap().unwrap();
    let order = *first.batch.moved.keys().next().unwrap();
    let now = s.advance(4);
    s.move_to(order, StatusLevel::Cancelled, None).await;

    let calls = s.collector.quota().calls;
    let report = poller.poll(&mut governor, now).await.unwrap().unwrap();
    assert_eq!(s.collector.quota().calls - calls, levels() + 2);
    assert!(report.batch.moved.is_empty(), "Cancelled is not watched");
    assert_eq!(
        report.batch.departed.iter().copied().collect::<Vec<_>>(),
        vec![order]
    );
    assert_eq!(report.batch.fetched, vec![order]);
    let new: Vec<_> = report.outcome.stored.iter().map(when).collect();
    assert_eq!(
        new,
        vec![(
            EventType::OrderCancelled,
            "2026-01-15T09:04:00-06:00".to_owned(),
            TimePrecision::Exact
        )]
    );
    // Gone from the sets for good: the next poll does not fetch it again.
    let calls = s.collector.quota().calls;
    let quiet = poller
        .poll(&mut governor, s.advance(1))
        .await
        .unwrap()
        .unwrap();
    assert!(quiet.batch.departed.is_empty());
    assert_eq!(s.collector.quota().calls - calls, levels());
}

/// An order the poll never saw at an active level (here: quoted), cancelled between two polls
/// (a collector down, the notification lost): the default watches Cancelled, so it is seen.
#[tokio::test]
async fn an_order_cancelled_between_two_polls_unseen_before_is_caught_by_default() {
    let s = setup().await;
    let poller = s.poller();
    let mut governor = rich(t0());
    poller.poll(&mut governor, t0()).await.unwrap().unwrap();
    let unseen = s
        .office
        .orders()
        .ids(ontime::OrderFilter::new().status(StatusLevel::Quoted))
        .await
        .unwrap();
    let order = *unseen.first().expect("the seed has quoted orders");
    let now = s.advance(4);
    s.move_to(order, StatusLevel::Cancelled, None).await;

    let report = poller.poll(&mut governor, now).await.unwrap().unwrap();
    assert!(
        report.batch.moved.contains_key(&order),
        "{:?}",
        report.batch
    );
    let stored = s
        .store
        .timeline(ACCOUNT, &Event::order_subject(order))
        .await
        .unwrap();
    let truth = s.office.orders().timeline(order).await.unwrap();
    assert_eq!(stored.len(), truth.len(), "one event per status entry");
    assert_eq!(
        stored.last().map(when).unwrap(),
        (
            EventType::OrderCancelled,
            "2026-01-15T09:04:00-06:00".to_owned(),
            TimePrecision::Exact
        )
    );
}

#[tokio::test]
async fn a_history_answering_not_found_is_a_deleted_order_and_owes_nothing() {
    let s = setup().await;
    s.mock.set_faults(vec![
        ontime_mock::FaultRule::status(404, None)
            .on_operation(ontime::index::Operation::OrderStatusChanges),
    ]);
    let report = s
        .poller()
        .poll(&mut rich(t0()), t0())
        .await
        .unwrap()
        .unwrap();
    assert!(report.batch.fetched.is_empty());
    assert_eq!(
        report.batch.gone,
        report.batch.moved.keys().copied().collect::<Vec<_>>()
    );
    assert_eq!(
        report.batch.calls,
        levels() + report.batch.gone.len() as u64
    );
    assert!(report.outcome.stored.is_empty());
    let cursor = s.store.cursor(ACCOUNT, "poll").await.unwrap().unwrap();
    assert_eq!(cursor["pending"], serde_json::json!([]));
}

#[tokio::test]
async fn a_poller_whose_lease_was_taken_over_commits_nothing() {
    let s = setup().await;
    let ttl = TimeDelta::seconds(30);
    let stale = s
        .store
        .acquire_lease(ACCOUNT, "a", ttl, t0())
        .await
        .unwrap()
        .unwrap();
    let current = s
        .store
        .acquire_lease(ACCOUNT, "b", ttl, t0() + ttl)
        .await
        .unwrap()
        .unwrap();
    let fenced = |lease: &ontime_sync::store::Lease| {
        let config = PollConfig {
            fence: Some(lease.fence()),
            ..PollConfig::default()
        };
        Poller::new(s.collector.clone(), s.store.clone(), account(), config)
    };
    let mut governor = rich(t0());
    let refused = fenced(&stale).poll(&mut governor, t0() + ttl).await;
    assert!(matches!(
        refused,
        Err(ontime_sync::collect::CollectError::Store(
            ontime_sync::store::StoreError::LeaseLost { .. }
        ))
    ));
    assert!(s.store.cursor(ACCOUNT, "poll").await.unwrap().is_none());
    assert!(s.store.events_after(0, 10).await.unwrap().is_empty());
    let report = fenced(&current)
        .poll(&mut governor, t0() + ttl)
        .await
        .unwrap()
        .unwrap();
    assert!(!report.outcome.stored.is_empty());
}
