//! The event model through its public API: derivation, identity, times, custody, wire form.

use chrono::{TimeZone, Utc};
use ontime::StatusLevel;
use ontime_sync::event::{
    Actor, Custodian, EventType, LabelOverrides, OrderSource, TimePrecision, availability_event,
    derive_custody_events, derive_order_events, derive_status_events, position_event,
};
use ontime_sync::event::{Event, OrderRef, is_provisional, provisional_status_event, reconcile};
use proptest::prelude::*;
use serde_json::json;

use crate::fixtures::{self, account, driver, lifecycle, status, step};

#[test]
fn a_lifecycle_becomes_courier_events() {
    let events = derive_status_events(&account(), &lifecycle(1));
    let types: Vec<EventType> = events.iter().map(|e| e.event_type).collect();
    assert_eq!(
        types,
        [
            EventType::OrderCreated,
            EventType::OrderSubmitted,
            EventType::OrderAssigned,
            EventType::OrderPickedUp,
            EventType::OrderTransferred,
            EventType::OrderInTransit,
            EventType::OrderDelivered,
        ]
    );
    let delivered = events.last().unwrap();
    assert_eq!(
        delivered.occurred_at.to_rfc3339(),
        "2026-03-02T10:02:00-06:00"
    );
    assert_eq!(delivered.time_precision, TimePrecision::Exact);
    assert_eq!(delivered.actor, Some(Actor::Driver { id: driver(2) }));
    assert_eq!(
        delivered.subject,
        format!("order:{}", fixtures::order_id(1))
    );
    let ontime = delivered.ontime.as_ref().unwrap();
    assert_eq!(ontime.level_code, Some(3));
    assert_eq!(ontime.level_name.as_deref(), Some("Delivered"));
    assert_eq!(ontime.status_id, Some(fixtures::status_id(107)));
    assert_eq!(delivered.epcis.as_ref().unwrap().biz_step, "accepting");
    assert!(
        events.iter().all(|e| e.sequence.is_none()),
        "sequences are the store's"
    );
}

#[test]
fn custody_follows_the_parcels() {
    let custody = derive_custody_events(&account(), &lifecycle(1));
    let hops: Vec<(String, Custodian, Custodian)> = custody
        .iter()
        .map(|e| {
            let c = e.custody.clone().unwrap();
            (c.item_tracking_number, c.from, c.to)
        })
        .collect();
    let a = Custodian::Driver {
        id: Some(driver(1)),
    };
    let b = Custodian::Driver {
        id: Some(driver(2)),
    };
    let mut expected = Vec::new();
    for (from, to) in [
        (Custodian::Shipper, a.clone()),
        (a.clone(), b.clone()),
        (b.clone(), Custodian::Consignee),
    ] {
        for item in ["100001-001", "100001-002"] {
            expected.push((item.to_owned(), from.clone(), to.clone()));
        }
    }
    assert_eq!(hops, expected);
    assert!(
        custody
            .iter()
            .all(|e| e.event_type == EventType::ItemCustodyChanged)
    );
    // The pickup hands the parcels to driver 1 at the pickup's time.
    assert_eq!(
        custody[0].occurred_at.to_rfc3339(),
        "2026-03-02T08:30:00-06:00"
    );
    assert_eq!(custody[0].epcis.as_ref().unwrap().biz_step, "loading");
    // Each parcel's custody events have their own ids.
    assert_ne!(custody[0].event_id, custody[1].event_id);
}

#[test]
fn exceptions_and_unknown_drivers_do_not_move_parcels() {
    let mut source = lifecycle(2);
    // An attempt that failed, then a step whose driver the collector did not know.
    source.steps.insert(
        6,
        step(
            status(
                299,
                StatusLevel::Delivered,
                Some("Not home"),
                Some("2026-03-02T09:50:00"),
            ),
            None,
            111,
        ),
    );
    let custody = derive_custody_events(&account(), &source);
    let to: Vec<Custodian> = custody
        .iter()
        .map(|e| e.custody.clone().unwrap().to)
        .collect();
    let b = Custodian::Driver {
        id: Some(driver(2)),
    };
    assert_eq!(to.iter().filter(|c| **c == Custodian::Consignee).count(), 2);
    assert_eq!(to.iter().filter(|c| **c == b).count(), 2);
    let statuses = derive_status_events(&account(), &source);
    assert_eq!(statuses[6].event_type, EventType::OrderException);
}

#[test]
fn same_history_same_events_and_ids() {
    let first = derive_order_events(&account(), &lifecycle(3));
    let again = derive_order_events(&account(), &lifecycle(3));
    assert_eq!(first, again);
    let mut ids: Vec<_> = first.iter().map(|e| e.event_id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), first.len(), "ids are unique within a history");
    // Another account, same history: other ids.
    let other = ontime_sync::event::AccountConfig::new("other", chrono_tz::America::Chicago);
    assert_ne!(
        derive_order_events(&other, &lifecycle(3))[0].event_id,
        first[0].event_id
    );
}

#[test]
fn observation_time_never_enters_the_id() {
    let mut late = lifecycle(4);
    for s in &mut late.steps {
        s.observed_at += chrono::Duration::hours(5);
    }
    let a = derive_order_events(&account(), &lifecycle(4));
    let b = derive_order_events(&account(), &late);
    assert_eq!(
        a.iter().map(|e| &e.event_id).collect::<Vec<_>>(),
        b.iter().map(|e| &e.event_id).collect::<Vec<_>>()
    );
}

#[test]
fn all_zero_guids_are_told_apart_by_level_time_and_place() {
    let anonymous = |level, seen| {
        step(
            status(0, level, None, Some("2026-03-02T08:00:00")),
            None,
            seen,
        )
    };
    // Two entries alike in everything but their place in the history.
    let source = OrderSource {
        steps: vec![
            anonymous(StatusLevel::None, 1),
            anonymous(StatusLevel::Dispatched, 2),
            anonymous(StatusLevel::Dispatched, 3),
        ],
        ..lifecycle(5)
    };
    let events = derive_status_events(&account(), &source);
    assert_ne!(events[0].event_id, events[1].event_id);
    assert_ne!(events[1].event_id, events[2].event_id);
    assert!(
        events
            .iter()
            .all(|e| e.ontime.as_ref().unwrap().status_id.is_none())
    );
}

#[test]
fn times_get_the_accounts_offset_or_fall_back_to_observation() {
    let source = OrderSource {
        steps: vec![
            // Summer time in Chicago (-05:00).
            step(
                status(1, StatusLevel::None, None, Some("2026-07-01T09:00:00")),
                None,
                0,
            ),
            // An explicit offset is kept as sent.
            step(
                status(
                    2,
                    StatusLevel::Dispatched,
                    None,
                    Some("2026-07-01T14:05:00Z"),
                ),
                None,
                0,
            ),
            // No timestamp, and the .NET "unset" value: the observation time, marked observed.
            step(status(3, StatusLevel::Assigned, None, None), None, 7),
            step(
                status(4, StatusLevel::Assigned, None, Some("0001-01-01T00:00:00")),
                None,
                8,
            ),
            // A time inside the spring-forward gap.
            step(
                status(
                    5,
                    StatusLevel::AssignedInRoute,
                    None,
                    Some("2026-03-08T02:30:00"),
                ),
                None,
                9,
            ),
        ],
        ..lifecycle(6)
    };
    let events = derive_status_events(&account(), &source);
    let times: Vec<String> = events.iter().map(|e| e.occurred_at.to_rfc3339()).collect();
    assert_eq!(
        times,
        [
            "2026-07-01T09:00:00-05:00",
            "2026-07-01T14:05:00+00:00",
            "2026-03-02T09:07:00-06:00",
            "2026-03-02T09:08:00-06:00",
            "2026-03-08T03:30:00-05:00",
        ]
    );
    let precision: Vec<TimePrecision> = events.iter().map(|e| e.time_precision).collect();
    use TimePrecision::{Exact, Observed};
    assert_eq!(precision, [Exact, Exact, Observed, Observed, Exact]);
}

#[test]
fn account_labels_override_the_table() {
    let mut source = lifecycle(7);
    source.steps[6].status.name = Some("Left with neighbour".into());
    source.steps[3].status.name = Some("Scanned at depot".into());
    let plain = derive_status_events(&account(), &source);
    assert_eq!(plain[3].event_type, EventType::OrderPickedUp, "level rule");
    let custom = account().labels(
        LabelOverrides::new()
            .with("left with neighbour", EventType::OrderException)
            .with("Scanned at depot", EventType::OrderStatusChanged),
    );
    let events = derive_status_events(&custom, &source);
    assert_eq!(events[6].event_type, EventType::OrderException);
    assert_eq!(events[3].event_type, EventType::OrderStatusChanged);
    // The override does not change identity: the same change keeps its id.
    assert_eq!(events[6].event_id, plain[6].event_id);
}

#[test]
fn driver_events_are_deterministic() {
    let at: ontime::OnTimeDateTime = "2026-03-02T09:00:00".parse().unwrap();
    let seen = Utc.with_ymd_and_hms(2026, 3, 2, 15, 1, 0).unwrap();
    let a = availability_event(&account(), driver(1), true, None, at, seen);
    let b = availability_event(
        &account(),
        driver(1),
        true,
        None,
        at,
        seen + chrono::Duration::minutes(3),
    );
    let c = availability_event(&account(), driver(1), false, None, at, seen);
    assert_eq!(a.event_id, b.event_id);
    assert_ne!(a.event_id, c.event_id);
    assert_eq!(a.subject, format!("driver:{}", driver(1)));
    assert_eq!(a.event_type, EventType::DriverAvailabilityChanged);
    let p = position_event(&account(), driver(1), 41.8781, -87.6298, at, seen).unwrap();
    let q = position_event(&account(), driver(1), 41.8782, -87.6298, at, seen).unwrap();
    assert_ne!(p.event_id, q.event_id);
    assert_eq!(p.occurred_at.to_rfc3339(), "2026-03-02T09:00:00-06:00");
    for (lat, lon) in [
        (f64::NAN, 0.0),
        (91.0, 0.0),
        (0.0, -180.5),
        (0.0, f64::INFINITY),
    ] {
        assert!(
            position_event(&account(), driver(1), lat, lon, at, seen).is_err(),
            "{lat} {lon}"
        );
    }
}

#[test]
fn wire_form_is_stable() {
    let events = derive_order_events(&account(), &lifecycle(1));
    let custody = events
        .iter()
        .find(|e| e.event_type == EventType::ItemCustodyChanged)
        .unwrap();
    let value = serde_json::to_value(custody).unwrap();
    assert_eq!(
        value,
        json!({
            "event_id": custody.event_id.as_str(),
            "type": "item.custody_changed",
            "account": "acme-couriers",
            "subject": "order:0a000000-0000-0000-0000-000000000001",
            "occurred_at": "2026-03-02T08:30:00-06:00",
            "observed_at": "2026-03-02T15:31:00Z",
            "time_precision": "exact",
            "actor": {"kind": "driver", "id": "0d000000-0000-0000-0000-000000000001"},
            "order": {"id": "0a000000-0000-0000-0000-000000000001", "tracking_number": "100001"},
            "ontime": {
                "status_id": "05000000-0000-0000-0000-000000000068",
                "level_code": 2,
                "level_name": "AssignedInRoute",
                "label": "Picked up"
            },
            "epcis": {"biz_step": "loading", "disposition": "in_transit"},
            "custody": {
                "item_tracking_number": "100001-001",
                "from": {"kind": "shipper"},
                "to": {"kind": "driver", "id": "0d000000-0000-0000-0000-000000000001"}
            }
        })
    );
    // And back.
    let back: ontime_sync::event::Event = serde_json::from_value(value).unwrap();
    assert_eq!(&back, custody);
}

fn arbitrary_history() -> impl Strategy<Value = OrderSource> {
    let labels = prop::sample::select(vec![
        None,
        Some("Picked up"),
        Some("Out for delivery"),
        Some("Not home"),
        Some("Van 4"),
    ]);
    let entry = (
        0i64..11,
        labels,
        0u8..3,
        any::<bool>(),
        0u32..5000,
        any::<bool>(),
    );
    prop::collection::vec(entry, 0..14).prop_map(|entries| {
        let steps = entries
            .into_iter()
            .enumerate()
            .map(|(i, (level, label, who, zero_id, minute, has_time))| {
                let level = StatusLevel::from(level);
                let time = has_time.then(|| {
                    (chrono::NaiveDate::from_ymd_opt(2026, 3, 7)
                        .unwrap()
                        .and_hms_opt(0, 0, 0)
                        .unwrap()
                        + chrono::Duration::minutes(i64::from(minute)))
                    .format("%Y-%m-%dT%H:%M:%S")
                    .to_string()
                });
                let id = if zero_id { 0 } else { i as u128 + 1 };
                let driver = match who {
                    0 => None,
                    n => Some(driver(u128::from(n))),
                };
                step(status(id, level, label, time.as_deref()), driver, i as i64)
            })
            .collect();
        OrderSource {
            steps,
            ..lifecycle(9)
        }
    })
}

proptest! {
    #[test]
    fn derivation_is_deterministic_and_prefix_stable(source in arbitrary_history(), cut in 0usize..15) {
        let full = derive_order_events(&account(), &source);
        prop_assert_eq!(&full, &derive_order_events(&account(), &source));
        let mut shorter = source.clone();
        shorter.steps.truncate(cut.min(source.steps.len()));
        let prefix = derive_order_events(&account(), &shorter);
        prop_assert!(prefix.len() <= full.len());
        prop_assert_eq!(&full[..prefix.len()], &prefix[..]);
        // Ids are unique within a history.
        let mut ids: Vec<_> = full.iter().map(|e| e.event_id.as_str()).collect();
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        prop_assert_eq!(ids.len(), n);
    }
}

/// The store's rule in memory: new ids are appended, upgrades replace provisional rows.
fn apply(stored: &mut Vec<Event>, derived: Vec<Event>) {
    let sorted = reconcile(derived, stored);
    for event in sorted.events {
        if !stored.iter().any(|e| e.event_id == event.event_id) {
            stored.push(event);
        }
    }
    for event in sorted.upgrades {
        let row = stored
            .iter_mut()
            .find(|e| e.event_id == event.event_id)
            .expect("an upgrade names a stored row");
        assert!(is_provisional(row), "only provisional rows are upgraded");
        *row = event;
    }
}

#[test]
fn reconcile_leaves_histories_without_provisional_events_alone() {
    let derived = derive_order_events(&account(), &lifecycle(70));
    let fresh = reconcile(derived.clone(), &[]);
    assert_eq!(fresh.events, derived);
    assert!(fresh.upgrades.is_empty());
    let again = reconcile(derived.clone(), &derived);
    assert_eq!(again.events, derived, "stored ids are kept (duplicates)");
    assert!(again.upgrades.is_empty());
}

#[test]
fn provisional_ids_count_the_visits_of_a_level() {
    let source = lifecycle(71);
    let order = OrderRef {
        id: source.order_id,
        tracking_number: None,
    };
    let provisional = |stored: &[Event]| {
        provisional_status_event(
            &account(),
            order.clone(),
            &StatusLevel::AssignedInRoute,
            stored,
            fixtures::seen(0),
        )
    };
    let none = provisional(&[]);
    assert_eq!(none, provisional(&[]), "deterministic");
    assert_eq!(none.time_precision, TimePrecision::Observed);
    assert!(is_provisional(&none));
    let stored = derive_status_events(&account(), &source);
    // Three entries at AssignedInRoute are stored: this is the fourth visit.
    let fourth = provisional(&stored);
    assert_ne!(fourth.event_id, none.event_id);
    assert_eq!(fourth.event_id, provisional(&stored).event_id);
}

proptest! {
    /// Whatever the poll saw provisionally and whenever the histories came (right after the
    /// poll, or only once the order had moved on), every history entry ends up stored exactly
    /// once, exact, with the provisional event's id kept.
    #[test]
    fn provisional_then_exact_stores_each_entry_once(
        known in 0usize..7,
        gap in 1usize..=7,
        seen_at in 0i64..200,
        fetch_at_once: bool,
    ) {
        let full = lifecycle(72);
        let upto = (known + gap).min(full.steps.len());
        prop_assume!(upto > known);
        let prefix = |n: usize| OrderSource { steps: full.steps[..n].to_vec(), ..full.clone() };
        let mut stored = Vec::new();
        apply(&mut stored, derive_order_events(&account(), &prefix(known)));
        // The poll sees the order at the level of entry `upto - 1`; the entries between were
        // missed.
        let level = full.steps[upto - 1].status.level.clone().unwrap();
        let provisional = provisional_status_event(
            &account(),
            OrderRef { id: full.order_id, tracking_number: full.tracking_number.clone() },
            &level,
            &stored,
            fixtures::seen(seen_at),
        );
        stored.push(provisional.clone());
        if !fetch_at_once {
            apply(&mut stored, derive_order_events(&account(), &prefix(upto)));
        }
        apply(&mut stored, derive_order_events(&account(), &full));
        apply(&mut stored, derive_order_events(&account(), &full));

        let in_one_go = derive_order_events(&account(), &full);
        prop_assert_eq!(stored.len(), in_one_go.len());
        prop_assert!(stored.iter().all(|e| e.time_precision == TimePrecision::Exact));
        let row = stored.iter().find(|e| e.event_id == provisional.event_id).unwrap();
        // Matched, in the first history fetched after it, to the latest entry at its level not
        // stored before that had occurred when the poll saw it (the latest one when none had).
        let first_fetch = if fetch_at_once { full.steps.len() } else { upto };
        let fetched = derive_status_events(&account(), &prefix(first_fetch));
        let candidates: Vec<&Event> = fetched[known..]
            .iter()
            .filter(|e| e.ontime.as_ref().and_then(|o| o.level_code) == provisional.ontime.as_ref().unwrap().level_code)
            .collect();
        let expected = candidates
            .iter()
            .rfind(|e| e.occurred_at.with_timezone(&Utc) <= provisional.observed_at)
            .or(candidates.last())
            .and_then(|e| e.ontime.as_ref().unwrap().status_id);
        prop_assert_eq!(row.ontime.as_ref().unwrap().status_id, expected);
        let mut ids: Vec<_> = stored.iter().map(|e| e.event_id.clone()).collect();
        ids.sort();
        ids.dedup();
        prop_assert_eq!(ids.len(), stored.len());
    }
}

/// A poll saw the order in transit right after the pickup; by the time the history is fetched a
/// second in-transit label (out for delivery) followed. The provisional event becomes the pickup
/// (what the poll saw), and the later label is an event of its own.
#[test]
fn a_provisional_event_becomes_the_entry_the_poll_saw_not_a_later_label() {
    let full = lifecycle(73);
    let known = 3; // created, submitted, assigned: stored exactly
    let mut stored = Vec::new();
    let prefix = |n: usize| OrderSource {
        steps: full.steps[..n].to_vec(),
        ..full.clone()
    };
    apply(&mut stored, derive_order_events(&account(), &prefix(known)));
    // Picked up at 08:30 local (14:30Z), transferred 09:10 (15:10Z): the poll at 15:00Z saw it.
    let provisional = provisional_status_event(
        &account(),
        OrderRef {
            id: full.order_id,
            tracking_number: full.tracking_number.clone(),
        },
        &StatusLevel::AssignedInRoute,
        &stored,
        fixtures::seen(0),
    );
    stored.push(provisional.clone());
    apply(&mut stored, derive_order_events(&account(), &full));
    let row = stored
        .iter()
        .find(|e| e.event_id == provisional.event_id)
        .unwrap();
    assert_eq!(row.time_precision, TimePrecision::Exact);
    assert_eq!(row.event_type, EventType::OrderPickedUp);
    assert_eq!(
        row.ontime.as_ref().unwrap().status_id,
        full.steps[3].status.id
    );
    // Every entry once.
    assert_eq!(stored.len(), derive_order_events(&account(), &full).len());
}
