//! The driver source against the simulator (frozen clock): availability changes with OnTime's
//! times, position windows at the configured interval, each position stored once.

use chrono::NaiveDateTime;
use ontime::{PositionFilter, UserId};
use ontime_sync::collect::{DriverConfig, Drivers, Governor, Plan};
use ontime_sync::event::{Event, EventType, TimePrecision};
use ontime_sync::store::{EventStore, Store};

use super::poll::{Setup, account, rich, setup, t0};
use crate::fixtures::when;

fn drivers(s: &Setup, driver: UserId, prefix: &str) -> Drivers<Store> {
    let mut config = DriverConfig::new(vec![driver]);
    config.cursor_prefix = prefix.to_owned();
    Drivers::new(s.collector.clone(), s.store.clone(), account(), config)
}

async fn report_position(s: &Setup, driver: UserId, at: &str, lat: f64, lon: f64) {
    let position: ontime::types::UserPosition = serde_json::from_value(serde_json::json!({
        "UserID": driver, "Latitude": lat, "Longitude": lon, "Timestamp": at
    }))
    .unwrap();
    s.office.users().report_position(position).await.unwrap();
}

fn local(at: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(at, "%Y-%m-%dT%H:%M:%S").unwrap()
}

#[tokio::test]
async fn availability_changes_and_position_windows_become_exact_events_once() {
    let s = setup().await;
    let driver: UserId = s.mock.store().driver_ids()[0].into();
    let source = drivers(&s, driver, "driver/");
    let mut governor = rich(t0());
    let subject = Event::driver_subject(driver);

    // Round 1 (09:00): the current availability, and the positions of the hour before.
    let seeded = s
        .office
        .users()
        .positions(
            PositionFilter::new()
                .user(driver)
                .from(local("2026-01-15T08:00:00"))
                .to(local("2026-01-15T09:00:00")),
        )
        .await
        .unwrap()
        .len();
    let calls = s.collector.quota().calls;
    let first = source.collect(&mut governor, t0()).await.unwrap();
    assert_eq!(s.collector.quota().calls - calls, 2);
    assert_eq!(first.calls, 2);
    assert_eq!(first.availability_changed, [driver]);
    assert_eq!(first.positions, seeded);
    assert_eq!(first.stored, 1 + seeded);

    // 09:02: the driver goes to lunch and reports two positions.
    let now = s.advance(2);
    let mut state = s.office.users().availability(driver).await.unwrap();
    state.is_available = Some(!state.is_available.unwrap_or(false));
    state.current_status = Some("Lunch".into());
    state.last_status_change = None; // OnTime stamps the change itself
    s.office.users().update_availability(state).await.unwrap();
    report_position(&s, driver, "2026-01-15T09:01:00", 41.88, -87.63).await;
    report_position(&s, driver, "2026-01-15T09:02:00", 41.89, -87.62).await;

    // Round 2: the change, at OnTime's time; positions are not due yet (5-minute interval).
    let calls = s.collector.quota().calls;
    let second = source.collect(&mut governor, now).await.unwrap();
    assert_eq!(s.collector.quota().calls - calls, 1, "availability only");
    assert_eq!(second.availability_changed, [driver]);
    assert_eq!(second.stored, 1);
    let timeline = s.store.timeline("sim", &subject).await.unwrap();
    let change = &timeline.last().unwrap().event;
    assert_eq!(change.event_type, EventType::DriverAvailabilityChanged);
    assert_eq!(change.time_precision, TimePrecision::Exact);
    assert_eq!(change.occurred_at.to_rfc3339(), "2026-01-15T09:02:00-06:00");
    assert_eq!(
        change.availability.as_ref().unwrap().status.as_deref(),
        Some("Lunch")
    );

    // 09:06: one more position; the window 09:00–09:06 brings the three new ones.
    let now = s.advance(4);
    report_position(&s, driver, "2026-01-15T09:04:00", 41.90, -87.61).await;
    let calls = s.collector.quota().calls;
    let third = source.collect(&mut governor, now).await.unwrap();
    assert_eq!(s.collector.quota().calls - calls, 2);
    assert!(third.availability_changed.is_empty(), "unchanged: no event");
    assert_eq!(third.stored, 3);
    let timeline = s.store.timeline("sim", &subject).await.unwrap();
    let sequences: Vec<u64> = timeline.iter().map(|e| e.event.sequence.unwrap()).collect();
    assert_eq!(sequences, (1..=timeline.len() as u64).collect::<Vec<_>>());
    let last: Vec<_> = timeline[timeline.len() - 3..].iter().map(when).collect();
    let position = |at: &str| {
        (
            EventType::DriverPosition,
            at.to_owned(),
            TimePrecision::Exact,
        )
    };
    assert_eq!(
        last,
        [
            position("2026-01-15T09:01:00-06:00"),
            position("2026-01-15T09:02:00-06:00"),
            position("2026-01-15T09:04:00-06:00"),
        ]
    );

    // Another worker with no cursor of its own sees the same changes and positions: the same
    // ids, nothing stored twice.
    let mut other_governor = rich(now);
    let replay = drivers(&s, driver, "replay/")
        .collect(&mut other_governor, now)
        .await
        .unwrap();
    assert!(replay.positions >= 3);
    assert_eq!(replay.stored, 0);
}

#[tokio::test]
async fn a_driver_without_budget_is_deferred_and_nothing_is_called() {
    let s = setup().await;
    let driver: UserId = s.mock.store().driver_ids()[0].into();
    let mut poor = Governor::new(Plan::daily(0), t0());
    let calls = s.collector.quota().calls;
    let report = drivers(&s, driver, "driver/")
        .collect(&mut poor, t0())
        .await
        .unwrap();
    assert_eq!(s.collector.quota().calls, calls);
    assert_eq!(report.deferred, [driver]);
    assert!(
        s.store
            .cursor("sim", &format!("driver/{driver}"))
            .await
            .unwrap()
            .is_none()
    );
}
