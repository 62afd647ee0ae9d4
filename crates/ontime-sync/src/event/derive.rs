//! Pure functions from what OnTime returns to [`Event`]s.
//!
//! Determinism and prefix stability: the events of a history depend only on its entries, in
//! order, and each entry's events only on the entries up to it. Deriving again from the same
//! history gives the same events with the same ids; deriving from a longer history (the same
//! entries plus newer ones) gives the earlier events unchanged, followed by the new ones. That is
//! what lets a collector re-derive an order's whole history after a crash and let the store's
//! unique key drop what it already has.

use chrono::{DateTime, FixedOffset, Offset, Utc};
use ontime::lenient::OnTimeDateTime;
use ontime::types::{Item, Status};
use ontime::{ItemId, OrderId, UserId};

use super::mapping::{self, ASSIGNED_IN_ROUTE, Classification, STORED, UNASSIGNED_STORED};
use super::time::resolve_local_time;
use super::{
    AccountConfig, Actor, Availability, Custodian, Custody, Event, EventId, EventType,
    OnTimeStatus, OrderRef, Position, TimePrecision,
};

/// One entry of an order's status history, with what the collector knew around it.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusStep {
    /// The entry as OnTime returned it (`GET api/orderStatusChanges/{orderID}`).
    pub status: Status,
    /// The driver assigned to the order when this entry applied, where the collector knew it
    /// (OnTime's history names no driver: the collector records the order's driver when it sees
    /// the entry).
    pub driver: Option<UserId>,
    /// When the collector first saw the entry.
    pub observed_at: DateTime<Utc>,
}

/// One item (parcel) of an order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemRef {
    /// The item's ID, where known.
    pub id: Option<ItemId>,
    /// The item's tracking number (what drivers scan).
    pub tracking_number: String,
}

impl ItemRef {
    /// The item's reference, or `None` when it has no tracking number.
    pub fn from_item(item: &Item) -> Option<Self> {
        let tracking_number = item.tracking_number.clone()?;
        Some(Self {
            id: item.id,
            tracking_number,
        })
    }
}

/// An order's status history and what belongs to it, oldest entry first.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderSource {
    /// The order's ID.
    pub order_id: OrderId,
    /// The order's tracking number, where known.
    pub tracking_number: Option<String>,
    /// The order's items, whose custody follows the order's status.
    pub items: Vec<ItemRef>,
    /// The status history, oldest first (as the facade's `timeline` returns it).
    pub steps: Vec<StatusStep>,
}

/// Every event of an order's history: for each entry, its status event followed by the custody
/// events it causes. See the module documentation for determinism and prefix stability.
pub fn derive_order_events(account: &AccountConfig, source: &OrderSource) -> Vec<Event> {
    let mut out = Vec::new();
    walk(account, source, |status, custody| {
        out.push(status);
        out.extend(custody);
    });
    out
}

/// The status events of an order's history (one per entry), without custody events.
pub fn derive_status_events(account: &AccountConfig, source: &OrderSource) -> Vec<Event> {
    let mut out = Vec::new();
    walk(account, source, |status, _| out.push(status));
    out
}

/// The chain of custody of an order's items: an `item.custody_changed` event per item each time
/// the order's status moves the parcels to another holder (the shipper, a driver, storage, the
/// consignee). Derived from the status history and the driver known at each step; OnTime has no
/// scan endpoint, so no scan is invented.
///
/// Holders: the shipper until the pickup (`order.picked_up`, or any entry at AssignedInRoute);
/// a driver from then on (another driver after a transfer); storage at the stored levels; the
/// consignee on `order.delivered`. An exception or a cancellation leaves the parcels where they
/// are. A driver whose ID the collector did not know is not a different holder.
pub fn derive_custody_events(account: &AccountConfig, source: &OrderSource) -> Vec<Event> {
    let mut out = Vec::new();
    walk(account, source, |_, custody| out.extend(custody));
    out
}

/// Walks the history once, handing each entry's status event and custody events to `emit`.
fn walk(account: &AccountConfig, source: &OrderSource, mut emit: impl FnMut(Event, Vec<Event>)) {
    let subject = Event::order_subject(source.order_id);
    let order_id = source.order_id.to_string();
    let mut seen_levels: Vec<Option<i64>> = Vec::new();
    let mut previous_driver: Option<UserId> = None;
    let mut holder = Custodian::Shipper;

    for (index, step) in source.steps.iter().enumerate() {
        let status = &step.status;
        let level = status.level.as_ref().and_then(|l| l.code());
        let context = Classification {
            level_seen_before: seen_levels.contains(&level),
            had_driver: previous_driver.is_some(),
            driver_changed: matches!(
                (previous_driver, step.driver),
                (Some(before), Some(now)) if before != now
            ),
        };
        let event_type = mapping::classify(&account.labels, level, status.name.as_deref(), context);
        let key = step_key(status, index);
        let (occurred_at, precision) = occurred(status.timestamp, step.observed_at, account);
        let actor = step.driver.map(|id| Actor::Driver { id });
        let ontime = OnTimeStatus {
            status_id: status.id.filter(|id| !id.as_uuid().is_nil()),
            level_code: level,
            level_name: status
                .level
                .as_ref()
                .and_then(|l| l.name())
                .map(str::to_owned),
            label: status.name.clone(),
            description: status.description.clone(),
        };
        let order = OrderRef {
            id: source.order_id,
            tracking_number: source.tracking_number.clone(),
        };
        let status_event = Event {
            event_id: EventId::from_source(&["order-status", &account.account, &order_id, &key]),
            event_type,
            account: account.account.clone(),
            subject: subject.clone(),
            sequence: None,
            occurred_at,
            observed_at: step.observed_at,
            time_precision: precision,
            actor: actor.clone(),
            order: Some(order.clone()),
            driver: None,
            ontime: Some(ontime.clone()),
            epcis: mapping::epcis_for(event_type, None),
            custody: None,
            availability: None,
            position: None,
        };

        let next = next_holder(&holder, event_type, level, step.driver);
        let mut custody_events = Vec::new();
        if let Some(next) = next {
            for item in &source.items {
                custody_events.push(Event {
                    event_id: EventId::from_source(&[
                        "item-custody",
                        &account.account,
                        &order_id,
                        &key,
                        &item.tracking_number,
                    ]),
                    event_type: EventType::ItemCustodyChanged,
                    epcis: mapping::epcis_for(EventType::ItemCustodyChanged, Some(&next)),
                    custody: Some(Custody {
                        item_tracking_number: item.tracking_number.clone(),
                        item_id: item.id,
                        from: holder.clone(),
                        to: next.clone(),
                    }),
                    ..status_event.clone()
                });
            }
            holder = next;
        }
        emit(status_event, custody_events);

        seen_levels.push(level);
        previous_driver = step.driver.or(previous_driver).filter(|_| {
            // A step back to an unassigned level means nobody has the order any more.
            !matches!(event_type, EventType::OrderUnassigned)
        });
    }
}

/// The holder after an entry of `event_type` at `level`, or `None` when the parcels stay put.
fn next_holder(
    holder: &Custodian,
    event_type: EventType,
    level: Option<i64>,
    driver: Option<UserId>,
) -> Option<Custodian> {
    let next = match event_type {
        EventType::OrderException | EventType::OrderCancelled => return None,
        EventType::OrderDelivered => Custodian::Consignee,
        EventType::OrderPickedUp | EventType::OrderInTransit => Custodian::Driver { id: driver },
        EventType::OrderTransferred if !matches!(holder, Custodian::Shipper) => {
            Custodian::Driver { id: driver }
        }
        _ if matches!(level, Some(STORED | UNASSIGNED_STORED)) => Custodian::Storage,
        _ if level == Some(ASSIGNED_IN_ROUTE) => Custodian::Driver { id: driver },
        _ => return None,
    };
    let same = match (holder, &next) {
        // An unknown driver is not evidence of another holder.
        (Custodian::Driver { id: Some(a) }, Custodian::Driver { id: Some(b) }) => a == b,
        (Custodian::Driver { .. }, Custodian::Driver { .. }) => true,
        (a, b) => a == b,
    };
    (!same).then_some(next)
}

/// The part of an event id that names the status entry: its own ID, or for the all-zero GUID
/// (no stored record) its level, timestamp and position in the history.
fn step_key(status: &Status, index: usize) -> String {
    match status.id {
        Some(id) if !id.as_uuid().is_nil() => format!("status:{id}"),
        _ => {
            let level = serde_json::to_string(&status.level).unwrap_or_default();
            let timestamp = status.timestamp.map(|t| t.to_string()).unwrap_or_default();
            format!("anonymous:{level}:{timestamp}:{index}")
        }
    }
}

/// `occurred_at` and its precision: OnTime's timestamp made explicit in the account's zone, or
/// the observation time when OnTime gave none (or the "unset" `0001-01-01`).
fn occurred(
    timestamp: Option<OnTimeDateTime>,
    observed_at: DateTime<Utc>,
    account: &AccountConfig,
) -> (DateTime<FixedOffset>, TimePrecision) {
    match timestamp.filter(|t| !t.is_unset()) {
        Some(t) => {
            let at = t
                .to_fixed()
                .unwrap_or_else(|| resolve_local_time(t.naive_local(), account.time_zone).0);
            (at, TimePrecision::Exact)
        }
        None => (in_zone(observed_at, account), TimePrecision::Observed),
    }
}

pub(super) fn in_zone(at: DateTime<Utc>, account: &AccountConfig) -> DateTime<FixedOffset> {
    let local = at.with_timezone(&account.time_zone);
    local.with_timezone(&local.offset().fix())
}

fn driver_event(
    account: &AccountConfig,
    driver: UserId,
    event_type: EventType,
    key: &[&str],
    at: OnTimeDateTime,
    observed_at: DateTime<Utc>,
) -> Event {
    let driver_text = driver.to_string();
    let mut parts = vec![event_type.as_str(), account.account.as_str(), &driver_text];
    parts.extend_from_slice(key);
    let (occurred_at, time_precision) = occurred(Some(at), observed_at, account);
    Event {
        event_id: EventId::from_source(&parts),
        event_type,
        account: account.account.clone(),
        subject: Event::driver_subject(driver),
        sequence: None,
        occurred_at,
        observed_at,
        time_precision,
        actor: Some(Actor::Driver { id: driver }),
        order: None,
        driver: Some(driver),
        ontime: None,
        epcis: None,
        custody: None,
        availability: None,
        position: None,
    }
}

/// `driver.availability_changed` for a driver whose availability changed at `changed_at`
/// (OnTime's `LastStatusChange`). The id is derived from the driver, the change time and the new
/// state, so seeing the same change again gives the same id.
pub fn availability_event(
    account: &AccountConfig,
    driver: UserId,
    available: bool,
    status: Option<String>,
    changed_at: OnTimeDateTime,
    observed_at: DateTime<Utc>,
) -> Event {
    let at = changed_at.to_string();
    let state = if available {
        "available"
    } else {
        "unavailable"
    };
    Event {
        availability: Some(Availability { available, status }),
        ..driver_event(
            account,
            driver,
            EventType::DriverAvailabilityChanged,
            &[&at, state],
            changed_at,
            observed_at,
        )
    }
}

/// Coordinates that are not a place on Earth (not finite, latitude outside ±90°, longitude
/// outside ±180°).
#[derive(Clone, Copy, Debug, PartialEq, thiserror::Error)]
#[error("no position at latitude {latitude}, longitude {longitude}")]
pub struct InvalidPosition {
    /// The latitude given.
    pub latitude: f64,
    /// The longitude given.
    pub longitude: f64,
}

/// `driver.position` for a position a driver reported at `at`. The id is derived from the
/// driver, the report time and the coordinates.
pub fn position_event(
    account: &AccountConfig,
    driver: UserId,
    latitude: f64,
    longitude: f64,
    at: OnTimeDateTime,
    observed_at: DateTime<Utc>,
) -> Result<Event, InvalidPosition> {
    // NaN fails both range checks.
    if !((-90.0..=90.0).contains(&latitude) && (-180.0..=180.0).contains(&longitude)) {
        return Err(InvalidPosition {
            latitude,
            longitude,
        });
    }
    let time = at.to_string();
    let (lat, lon) = (latitude.to_string(), longitude.to_string());
    Ok(Event {
        position: Some(Position {
            latitude,
            longitude,
        }),
        ..driver_event(
            account,
            driver,
            EventType::DriverPosition,
            &[&time, &lat, &lon],
            at,
            observed_at,
        )
    })
}
