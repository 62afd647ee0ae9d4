//! Hand-built OnTime histories for the tests.

use chrono::{DateTime, TimeZone, Utc};
use ontime::types::Status;
use ontime::{OrderId, StatusId, StatusLevel, UserId};
use ontime_sync::event::{AccountConfig, ItemRef, OrderSource, StatusStep};
use uuid::Uuid;

pub const ACCOUNT: &str = "acme-couriers";

pub fn account() -> AccountConfig {
    AccountConfig::new(ACCOUNT, chrono_tz::America::Chicago)
}

pub fn order_id(n: u128) -> OrderId {
    OrderId::from_uuid(Uuid::from_u128(
        0x0a00_0000_0000_0000_0000_0000_0000_0000 + n,
    ))
}

pub fn driver(n: u128) -> UserId {
    UserId::from_uuid(Uuid::from_u128(
        0x0d00_0000_0000_0000_0000_0000_0000_0000 + n,
    ))
}

pub fn status_id(n: u128) -> StatusId {
    StatusId::from_uuid(Uuid::from_u128(
        0x0500_0000_0000_0000_0000_0000_0000_0000 + n,
    ))
}

/// The first time the collector saw anything: a fixed instant, never the wall clock.
pub fn seen(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 15, 0, 0).unwrap() + chrono::Duration::minutes(minutes)
}

/// A status entry. `id` 0 stands for OnTime's all-zero GUID.
pub fn status(
    id: u128,
    level: StatusLevel,
    label: Option<&str>,
    timestamp: Option<&str>,
) -> Status {
    let id = if id == 0 {
        StatusId::from_uuid(Uuid::nil())
    } else {
        status_id(id)
    };
    Status {
        description: None,
        id: Some(id),
        level: Some(level),
        name: label.map(str::to_owned),
        timestamp: timestamp.map(|t| t.parse().expect("fixture timestamp")),
        extra: Default::default(),
    }
}

pub fn step(status: Status, driver: Option<UserId>, minutes: i64) -> StatusStep {
    StatusStep {
        status,
        driver,
        observed_at: seen(minutes),
    }
}

/// A realistic life: created, submitted, assigned to driver 1, picked up, transferred to driver
/// 2 mid-route, out for delivery, delivered. Two items. Local times in Chicago (CST, -06:00).
pub fn lifecycle(order: u128) -> OrderSource {
    let (a, b) = (Some(driver(1)), Some(driver(2)));
    let base = order * 100;
    OrderSource {
        order_id: order_id(order),
        tracking_number: Some(format!("10000{order}")),
        items: vec![
            ItemRef {
                id: None,
                tracking_number: format!("10000{order}-001"),
            },
            ItemRef {
                id: None,
                tracking_number: format!("10000{order}-002"),
            },
        ],
        steps: vec![
            step(
                status(
                    base + 1,
                    StatusLevel::None,
                    None,
                    Some("2026-03-02T08:00:00"),
                ),
                None,
                1,
            ),
            step(
                status(
                    base + 2,
                    StatusLevel::Dispatched,
                    None,
                    Some("2026-03-02T08:01:00"),
                ),
                None,
                2,
            ),
            step(
                status(
                    base + 3,
                    StatusLevel::Assigned,
                    None,
                    Some("2026-03-02T08:05:00"),
                ),
                a,
                6,
            ),
            step(
                status(
                    base + 4,
                    StatusLevel::AssignedInRoute,
                    Some("Picked up"),
                    Some("2026-03-02T08:30:00"),
                ),
                a,
                31,
            ),
            step(
                status(
                    base + 5,
                    StatusLevel::AssignedInRoute,
                    None,
                    Some("2026-03-02T09:10:00"),
                ),
                b,
                71,
            ),
            step(
                status(
                    base + 6,
                    StatusLevel::AssignedInRoute,
                    Some("Out for delivery"),
                    Some("2026-03-02T09:40:00"),
                ),
                b,
                101,
            ),
            step(
                status(
                    base + 7,
                    StatusLevel::Delivered,
                    None,
                    Some("2026-03-02T10:02:00"),
                ),
                b,
                123,
            ),
        ],
    }
}

/// A stored event's type, time (RFC 3339, with its offset) and precision: what tests compare.
pub fn when(
    stored: &ontime_sync::store::StoredEvent,
) -> (
    ontime_sync::event::EventType,
    String,
    ontime_sync::event::TimePrecision,
) {
    let event = &stored.event;
    (
        event.event_type,
        event.occurred_at.to_rfc3339(),
        event.time_precision,
    )
}
