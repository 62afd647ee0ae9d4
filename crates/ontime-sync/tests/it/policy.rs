//! Redaction policies: the default sends no driver id, no position and no free text for any
//! event; each field keeps, drops or pseudonymises as configured; pseudonyms are stable per key
//! and unrelated across keys; the TOML form refuses unknown names; and the events the collector
//! stores from a simulator seeded with known personal values render without any of them.

use chrono::{DateTime, FixedOffset, NaiveDate, TimeDelta, TimeZone, Utc};
use ontime::{ItemId, OrderId, StatusId, UserId};
use ontime_mock::{ActivityConfig, OnTimeMock, PersonalData};
use ontime_sync::collect::{DriverConfig, Drivers, PollConfig, Poller};
use ontime_sync::event::{
    AccountConfig, Actor, Availability, Custodian, Custody, Event, EventId, EventType,
    OnTimeStatus, OrderRef, Position, TimePrecision,
};
use ontime_sync::policy::{
    Field, FieldRule, PSEUDONYM_PREFIX, PolicyError, PositionRule, PseudonymKey, RedactionPolicy,
    Redactor,
};
use ontime_sync::store::{EventQuery, EventStore, Store};
use proptest::prelude::*;
use serde_json::Value;
use uuid::Uuid;

use crate::poll::rich;

fn key(byte: u8) -> PseudonymKey {
    PseudonymKey::new([byte; 32]).unwrap()
}

fn redactor(policy: RedactionPolicy, key: Option<PseudonymKey>) -> Redactor {
    Redactor::new(policy, key).unwrap()
}

/// What an arbitrary event is made of: every personal field present or not, driver ids in
/// every place they can be.
#[derive(Clone, Debug)]
struct Parts {
    driver_subject: bool,
    driver: Option<u128>,
    actor: Option<u128>,
    from: Option<Option<u128>>,
    to: Option<Option<u128>>,
    position: Option<(f64, f64)>,
    description: Option<String>,
    availability: Option<String>,
    label: Option<String>,
    tracking: Option<String>,
    item_tracking: String,
}

fn free_text() -> impl Strategy<Value = String> {
    // The marker makes a coincidental match with other fields impossible.
    "[A-Za-z0-9 ,.+@-]{1,40}".prop_map(|t| format!("free text: {t}"))
}

fn parts() -> impl Strategy<Value = Parts> {
    (
        (
            any::<bool>(),
            proptest::option::of(any::<u128>()),
            proptest::option::of(any::<u128>()),
            proptest::option::of(proptest::option::of(any::<u128>())),
            proptest::option::of(proptest::option::of(any::<u128>())),
        ),
        (
            proptest::option::of((-90.0..=90.0f64, -180.0..=180.0f64)),
            proptest::option::of(free_text()),
            proptest::option::of(free_text()),
            proptest::option::of("[A-Za-z -]{1,20}"),
            proptest::option::of("[0-9]{4,9}"),
            "[0-9]{4,9}-[0-9]{3}",
        ),
    )
        .prop_map(
            |(
                (driver_subject, driver, actor, from, to),
                (position, description, availability, label, tracking, item_tracking),
            )| Parts {
                driver_subject,
                driver,
                actor,
                from,
                to,
                position,
                description,
                availability,
                label,
                tracking,
                item_tracking,
            },
        )
}

fn user(n: u128) -> UserId {
    UserId::from_uuid(Uuid::from_u128(n))
}

fn holder(h: Option<u128>) -> Custodian {
    Custodian::Driver { id: h.map(user) }
}

impl Parts {
    fn event(&self) -> Event {
        let order = OrderId::from_uuid(Uuid::from_u128(0x0a));
        let subject = match (self.driver_subject, self.driver.or(self.actor)) {
            (true, Some(d)) => Event::driver_subject(user(d)),
            _ => Event::order_subject(order),
        };
        let custody = (self.from.is_some() || self.to.is_some()).then(|| Custody {
            item_tracking_number: self.item_tracking.clone(),
            item_id: Some(ItemId::from_uuid(Uuid::from_u128(0x1e))),
            from: self.from.map_or(Custodian::Shipper, holder),
            to: self.to.map_or(Custodian::Consignee, holder),
        });
        Event {
            event_id: EventId::from_source(&["policy-test", &format!("{self:?}")]),
            event_type: EventType::OrderStatusChanged,
            account: "acme".to_owned(),
            subject,
            sequence: Some(7),
            occurred_at: FixedOffset::east_opt(-6 * 3600)
                .unwrap()
                .with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
                .unwrap(),
            observed_at: Utc.with_ymd_and_hms(2026, 3, 2, 15, 0, 1).unwrap(),
            time_precision: TimePrecision::Exact,
            actor: self.actor.map(|a| Actor::Driver { id: user(a) }),
            order: Some(OrderRef {
                id: order,
                tracking_number: self.tracking.clone(),
            }),
            driver: self.driver.map(user),
            ontime: Some(OnTimeStatus {
                status_id: Some(StatusId::from_uuid(Uuid::from_u128(0x5))),
                level_code: Some(3),
                level_name: Some("Delivered".to_owned()),
                label: self.label.clone(),
                description: self.description.clone(),
            }),
            epcis: None,
            custody,
            availability: self.availability.clone().map(|status| Availability {
                available: true,
                status: Some(status),
            }),
            position: self.position.map(|(latitude, longitude)| Position {
                latitude,
                longitude,
            }),
        }
    }

    fn drivers(&self) -> Vec<Uuid> {
        [
            self.driver,
            self.actor,
            self.from.flatten(),
            self.to.flatten(),
        ]
        .into_iter()
        .flatten()
        .map(Uuid::from_u128)
        .collect()
    }
}

fn body_text(redactor: &Redactor, event: &Event) -> String {
    let body = redactor.to_body(event);
    let text = String::from_utf8(body).expect("UTF-8 JSON");
    let parsed: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(parsed, redactor.render(event), "the body is the rendering");
    text
}

/// The digits after the decimal point of a JSON number as written.
fn decimals(number: &Value) -> usize {
    let text = number.to_string();
    assert!(!text.contains('e'), "{text} in exponent form");
    text.split_once('.').map_or(0, |(_, f)| f.len())
}

const ENVELOPE: [&str; 8] = [
    "event_id",
    "type",
    "account",
    "subject",
    "sequence",
    "occurred_at",
    "observed_at",
    "time_precision",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_default_sends_no_driver_id_no_position_and_no_free_text(parts in parts(), with_key in any::<bool>()) {
        let event = parts.event();
        let redactor = redactor(RedactionPolicy::default(), with_key.then(|| key(1)));
        let text = body_text(&redactor, &event).to_ascii_lowercase();
        for driver in parts.drivers() {
            prop_assert!(!text.contains(&driver.hyphenated().to_string()), "{text}");
            prop_assert!(!text.contains(&driver.simple().to_string()), "{text}");
        }
        prop_assert!(!text.contains("latitude") && !text.contains("longitude"));
        for free in [&parts.description, &parts.availability].into_iter().flatten() {
            prop_assert!(!text.contains(&free.to_ascii_lowercase()), "{free:?} in {text}");
        }
        prop_assert!(!text.contains("free text"));
        let body: Value = serde_json::from_str(&text).unwrap();
        for name in ENVELOPE {
            prop_assert!(body.get(name).is_some(), "{name} missing");
        }
        // Driver ids go as pseudonyms with a key, not at all without.
        let has_driver_field = parts.driver.is_some();
        prop_assert_eq!(body.get("driver").is_some(), has_driver_field && with_key);
        if with_key && has_driver_field {
            prop_assert!(body["driver"].as_str().unwrap().starts_with(PSEUDONYM_PREFIX));
        }
        // Without a key the redacted event still parses as an event.
        if !with_key {
            let back: Event = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(back.event_id, event.event_id);
        }
    }

    #[test]
    fn rounded_positions_have_at_most_the_allowed_decimals(
        latitude in -90.0..=90.0f64,
        longitude in -180.0..=180.0f64,
        n in 0u8..=6,
    ) {
        let mut event = Parts {
            driver_subject: true, driver: Some(1), actor: None, from: None, to: None,
            position: Some((latitude, longitude)), description: None, availability: None,
            label: None, tracking: None, item_tracking: "1-001".to_owned(),
        }
        .event();
        event.event_type = EventType::DriverPosition;
        let policy = RedactionPolicy {
            position: PositionRule::Round(n.try_into().unwrap()),
            ..RedactionPolicy::default()
        };
        let body: Value = serde_json::from_slice(&redactor(policy, None).to_body(&event)).unwrap();
        let position = body["position"].as_object().unwrap();
        prop_assert_eq!(position.len(), 2);
        let half_step = 0.5 * 10f64.powi(-i32::from(n)) + 1e-9;
        for (name, original) in [("latitude", latitude), ("longitude", longitude)] {
            let value = &position[name];
            if n > 0 {
                prop_assert!(decimals(value) <= usize::from(n), "{name} {value} at {n}");
            } else {
                // A whole number, which JSON writes as `42.0`.
                prop_assert!(value.to_string().ends_with(".0"), "{value}");
            }
            prop_assert!((value.as_f64().unwrap() - original).abs() <= half_step);
        }
    }

    #[test]
    fn pseudonyms_are_stable_per_key_and_differ_across_keys(driver in any::<u128>(), a in any::<u8>(), b in any::<u8>()) {
        prop_assume!(a != b);
        let parts = Parts {
            driver_subject: true, driver: Some(driver), actor: Some(driver),
            from: Some(Some(driver)), to: Some(None), position: None, description: None,
            availability: None, label: None, tracking: None, item_tracking: "1-001".to_owned(),
        };
        let event = parts.event();
        let render = |k: u8| redactor(RedactionPolicy::default(), Some(key(k))).render(&event);
        let (first, again, other) = (render(a), render(a), render(b));
        prop_assert_eq!(&first, &again);
        let token = first["driver"].as_str().unwrap().to_owned();
        prop_assert!(token.starts_with(PSEUDONYM_PREFIX) && token.len() == 4 + 32);
        // One driver, one token, wherever it appears.
        prop_assert_eq!(first["actor"]["id"].as_str(), Some(token.as_str()));
        prop_assert_eq!(first["custody"]["from"]["id"].as_str(), Some(token.as_str()));
        prop_assert_eq!(first["subject"].as_str().unwrap(), format!("driver:{token}"));
        prop_assert_eq!(
            redactor(RedactionPolicy::default(), Some(key(a))).subject(&event),
            format!("driver:{token}")
        );
        // Another destination's key: another token.
        prop_assert_ne!(other["driver"].as_str(), Some(token.as_str()));
    }
}

/// An event with every personal field set.
fn full() -> (Parts, Event) {
    let parts = Parts {
        driver_subject: true,
        driver: Some(0xd1),
        actor: Some(0xd1),
        from: Some(Some(0xd1)),
        to: Some(Some(0xd2)),
        position: Some((41.881_234, -87.629_876)),
        description: Some("free text: picked up by Jane Roe, 214 555 0101".to_owned()),
        availability: Some("free text: Jane on lunch".to_owned()),
        label: Some("Out for delivery".to_owned()),
        tracking: Some("1000042".to_owned()),
        item_tracking: "1000042-001".to_owned(),
    };
    let event = parts.event();
    (parts, event)
}

/// The values of `field` in a rendering, in the order of its places.
fn values(body: &Value, field: Field) -> Vec<Option<Value>> {
    let at = |pointer: &str| body.pointer(pointer).cloned();
    match field {
        Field::DriverId => vec![
            at("/driver"),
            at("/actor/id"),
            at("/custody/from/id"),
            at("/custody/to/id"),
        ],
        Field::Position => vec![at("/position")],
        Field::StatusDescription => vec![at("/ontime/description")],
        Field::AvailabilityStatus => vec![at("/availability/status")],
        Field::StatusLabel => vec![at("/ontime/label")],
        Field::TrackingNumber => vec![
            at("/order/tracking_number"),
            at("/custody/item_tracking_number"),
        ],
    }
}

#[test]
fn each_field_is_kept_dropped_or_pseudonymised_as_configured() {
    let (_, event) = full();
    let raw = serde_json::to_value(&event).unwrap();
    for field in Field::ALL {
        let stored = values(&raw, field);
        assert!(
            stored.iter().all(Option::is_some),
            "{field} set in the test event"
        );
        for rule in [FieldRule::Keep, FieldRule::Drop, FieldRule::Pseudonymise] {
            // Everything else kept: only `field` changes.
            let mut policy = RedactionPolicy::keep_all();
            policy.set(field, rule);
            let body = redactor(policy, Some(key(9))).render(&event);
            let mut expected_rest = raw.clone();
            let mut got_rest = body.clone();
            for pointer in pointers(field) {
                remove(&mut expected_rest, pointer);
                remove(&mut got_rest, pointer);
            }
            if field == Field::DriverId {
                // The subject and a dropped actor follow driver ids.
                for v in [&mut expected_rest, &mut got_rest] {
                    let o = v.as_object_mut().unwrap();
                    o.remove("subject");
                    o.remove("actor");
                }
            }
            assert_eq!(
                got_rest, expected_rest,
                "{field} {rule:?} touched only {field}"
            );
            let got = values(&body, field);
            match (field, rule) {
                (_, FieldRule::Keep) => assert_eq!(got, stored, "{field} kept"),
                (_, FieldRule::Drop) | (Field::Position, FieldRule::Pseudonymise) => {
                    assert!(got.iter().all(Option::is_none), "{field} dropped: {got:?}")
                }
                (_, FieldRule::Pseudonymise) => {
                    for (got, stored) in got.iter().zip(&stored) {
                        let got = got.as_ref().and_then(Value::as_str).unwrap();
                        assert!(got.starts_with(PSEUDONYM_PREFIX), "{field}: {got}");
                        assert_ne!(Some(got), stored.as_ref().and_then(Value::as_str));
                    }
                }
            }
            let subject = body["subject"].as_str().unwrap();
            match (field, rule) {
                (Field::DriverId, FieldRule::Drop) => {
                    assert_eq!(subject, "driver:redacted");
                    assert!(body.get("actor").is_none());
                    assert_eq!(
                        body["custody"]["from"],
                        serde_json::json!({"kind": "driver"})
                    );
                }
                (Field::DriverId, FieldRule::Pseudonymise) => {
                    assert_eq!(
                        subject,
                        format!("driver:{}", body["driver"].as_str().unwrap())
                    )
                }
                _ => assert_eq!(subject, event.subject),
            }
        }
    }
    // Two drivers, two tokens; the same value in two fields, two tokens (the field is hashed).
    let body = redactor(RedactionPolicy::default(), Some(key(9))).render(&event);
    assert_ne!(body["custody"]["from"]["id"], body["custody"]["to"]["id"]);
    let k = key(9);
    assert_ne!(
        k.pseudonym(Field::TrackingNumber, "1000042"),
        k.pseudonym(Field::StatusLabel, "1000042")
    );
}

fn pointers(field: Field) -> &'static [&'static str] {
    match field {
        Field::DriverId => &["/driver", "/actor/id", "/custody/from/id", "/custody/to/id"],
        Field::Position => &["/position"],
        Field::StatusDescription => &["/ontime/description"],
        Field::AvailabilityStatus => &["/availability/status"],
        Field::StatusLabel => &["/ontime/label"],
        Field::TrackingNumber => &["/order/tracking_number", "/custody/item_tracking_number"],
    }
}

fn remove(value: &mut Value, pointer: &str) {
    let (parent, name) = pointer.rsplit_once('/').unwrap();
    if let Some(Value::Object(o)) = value.pointer_mut(parent) {
        o.remove(name);
    }
}

#[test]
fn the_default_policy_in_numbers() {
    let (_, event) = full();
    let body = redactor(RedactionPolicy::default(), None).render(&event);
    // Kept by default: the label and tracking numbers (see the policy's documentation).
    assert_eq!(body["ontime"]["label"], "Out for delivery");
    assert_eq!(body["order"]["tracking_number"], "1000042");
    assert_eq!(body["custody"]["item_tracking_number"], "1000042-001");
    assert_eq!(body["subject"], "driver:redacted");
    for gone in [
        "/driver",
        "/actor",
        "/position",
        "/ontime/description",
        "/availability/status",
    ] {
        assert!(body.pointer(gone).is_none(), "{gone}");
    }
    // Non-personal parts untouched.
    assert_eq!(body["event_id"], event.event_id.as_str());
    assert_eq!(body["sequence"], 7);
    assert_eq!(body["availability"]["available"], true);
}

#[test]
fn positions_rounded_to_three_decimals() {
    let (_, event) = full();
    let policy = RedactionPolicy {
        driver_id: Some(FieldRule::Keep),
        position: PositionRule::Round(3.try_into().unwrap()),
        ..RedactionPolicy::default()
    };
    let body = redactor(policy, None).to_body(&event);
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.contains(r#""position":{"latitude":41.881,"longitude":-87.63}"#),
        "{text}"
    );
}

#[test]
fn policies_read_from_toml_and_unknown_names_are_errors() {
    let policy: RedactionPolicy = toml::from_str(
        r#"
driver_id = "pseudonymise"
position = { round = 3 }
status_description = "drop"
availability_status = "pseudonymize"
status_label = "keep"
tracking_number = "drop"
"#,
    )
    .unwrap();
    assert_eq!(policy.driver_id, Some(FieldRule::Pseudonymise));
    assert_eq!(policy.position, PositionRule::Round(3.try_into().unwrap()));
    assert_eq!(policy.availability_status, FieldRule::Pseudonymise);
    assert_eq!(policy.tracking_number, FieldRule::Drop);
    // An empty table is the default; "keep" and "drop" positions are plain strings.
    assert_eq!(
        toml::from_str::<RedactionPolicy>("").unwrap(),
        RedactionPolicy::default()
    );
    assert_eq!(
        toml::from_str::<RedactionPolicy>("position = \"keep\"")
            .unwrap()
            .position,
        PositionRule::Keep
    );

    for (text, needle) in [
        ("driver_name = \"drop\"", "driver_name"),
        ("position = { round = 9 }", "round = 9"),
        ("position = { round = 3, jitter = 1 }", "jitter"),
        ("position = \"pseudonymise\"", "pseudonymise"),
        ("status_label = \"hide\"", "hide"),
    ] {
        let error = toml::from_str::<RedactionPolicy>(text)
            .unwrap_err()
            .to_string();
        assert!(error.contains(needle), "{text}: {error}");
    }
    let error = toml::from_str::<RedactionPolicy>("driver_name = \"drop\"")
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("status_description"),
        "lists the names: {error}"
    );
}

#[test]
fn pseudonymising_without_a_key_is_refused_and_keys_never_show() {
    for field in [
        Field::DriverId,
        Field::StatusDescription,
        Field::AvailabilityStatus,
        Field::StatusLabel,
        Field::TrackingNumber,
    ] {
        let mut policy = RedactionPolicy::default();
        policy.set(field, FieldRule::Pseudonymise);
        let error = Redactor::new(policy.clone(), None).unwrap_err();
        assert_eq!(error, PolicyError::NoKey(field));
        assert!(error.to_string().contains(field.as_str()));
        assert!(Redactor::new(policy, Some(key(3))).is_ok());
    }
    // Not written: a key decides.
    assert_eq!(Redactor::default().driver_rule(), FieldRule::Drop);
    let secret = "a-pseudonymisation-key-that-must-never-be-printed";
    let redactor = redactor(
        RedactionPolicy::default(),
        Some(PseudonymKey::from_text(secret).unwrap()),
    );
    assert_eq!(redactor.driver_rule(), FieldRule::Pseudonymise);
    assert!(!format!("{redactor:?}").contains(secret));
    assert!(!format!("{redactor:#?}").contains("must-never"));
    // Key files: read and trimmed; errors name the file, never a content.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pseudonym.key");
    std::fs::write(&path, format!("{secret}\n")).unwrap();
    assert_eq!(
        PseudonymKey::from_file(&path).unwrap(),
        PseudonymKey::from_text(secret).unwrap()
    );
    std::fs::write(&path, "too short").unwrap();
    let error = PseudonymKey::from_file(&path).unwrap_err().to_string();
    assert!(
        error.contains("9 bytes") && !error.contains("too short"),
        "{error}"
    );
    let error = PseudonymKey::from_file(&dir.path().join("missing"))
        .unwrap_err()
        .to_string();
    assert!(error.contains("missing"), "{error}");
}

#[test]
fn evidence_is_never_inlined_even_in_kept_fields() {
    let (_, mut event) = full();
    let photo = format!("data:image/png;base64,{}", "iVBORw0KGgo".repeat(40));
    let blob = "QUJD".repeat(100);
    if let Some(ontime) = &mut event.ontime {
        ontime.description = Some(photo);
        ontime.label = Some(blob);
    }
    let body = redactor(RedactionPolicy::keep_all(), None).render(&event);
    assert!(body.pointer("/ontime/description").is_none());
    assert!(body.pointer("/ontime/label").is_none());
    assert_eq!(body["ontime"]["level_code"], 3, "the rest stays");
}

// --------------------------------------------------------------- against the simulator

const ACCOUNT: &str = "sim";

fn utc_now(mock: &ontime_mock::RunningMock) -> DateTime<Utc> {
    mock.clock().now().and_utc()
}

/// The simulator's activity with known personal values, collected by the poll and the driver
/// source: the stored events hold those values (descriptions, driver status texts), and no
/// rendering under the default policy holds any of them, with or without a key.
#[tokio::test]
async fn default_renderings_of_a_seeded_account_hold_no_known_personal_value() {
    let personal = PersonalData::sample();
    let start = NaiveDate::from_ymd_opt(2026, 1, 15)
        .unwrap()
        .and_hms_opt(8, 0, 0)
        .unwrap();
    let mock = OnTimeMock::builder()
        .seed(5)
        .orders(0)
        .clock_start(start)
        .frozen_clock()
        .utc_offset(FixedOffset::east_opt(0).unwrap())
        .activity(
            ActivityConfig::new(20.0)
                .seed(5)
                .orders(20)
                .exception_share(0.3)
                .transfer_share(0.3)
                .personal(personal.clone()),
        )
        .start()
        .await
        .unwrap();
    let activity = mock.activity().unwrap();
    let client = ontime::Client::builder()
        .base_url(mock.base_url())
        .api_key(mock.api_key())
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(&dir.path().join("events.db"))
        .await
        .unwrap();
    let account = AccountConfig::new(ACCOUNT, chrono_tz::UTC);
    let poller = Poller::new(
        client.clone(),
        store.clone(),
        account.clone(),
        PollConfig::default(),
    );
    let drivers: Vec<UserId> = mock
        .store()
        .driver_ids()
        .into_iter()
        .map(UserId::from_uuid)
        .collect();
    let driver_source = Drivers::new(client, store.clone(), account, DriverConfig::new(drivers));
    let mut governor = rich(utc_now(&mock));
    // Two-minute steps until every order has ended, then one more round of each source.
    let mut rounds = 0;
    loop {
        let finished = activity.is_finished();
        activity.advance(TimeDelta::minutes(2)).await.unwrap();
        let now = utc_now(&mock);
        poller.poll(&mut governor, now).await.unwrap();
        driver_source.collect(&mut governor, now).await.unwrap();
        rounds += 1;
        assert!(rounds < 24 * 30, "the activity ends within a day");
        if finished {
            break;
        }
    }
    let events = store
        .query(&EventQuery {
            account: Some(ACCOUNT.to_owned()),
            limit: 100_000,
            ..EventQuery::default()
        })
        .await
        .unwrap();
    assert!(
        events.len() > 100,
        "a real stretch: {} events",
        events.len()
    );

    // The seeding reached the events: the stored (unredacted) events hold known values.
    let values = personal.values();
    let kept = Redactor::new(RedactionPolicy::keep_all(), None).unwrap();
    let found: std::collections::BTreeSet<&str> = events
        .iter()
        .map(|e| String::from_utf8(kept.to_body(&e.event)).unwrap())
        .flat_map(|body| {
            values
                .iter()
                .filter(move |v| body.contains(v.as_str()))
                .map(String::as_str)
                .collect::<Vec<_>>()
        })
        .collect();
    for kind in ["@personal.example", "+1-214-555-01"] {
        assert!(
            found.iter().any(|v| v.contains(kind)),
            "stored events hold seeded {kind} values: {found:?}"
        );
    }
    assert!(
        personal.signers.iter().any(|s| found.contains(s.as_str())),
        "a signer in the stored descriptions: {found:?}"
    );
    let types: std::collections::BTreeSet<EventType> =
        events.iter().map(|e| e.event.event_type).collect();
    for ty in [
        EventType::OrderDelivered,
        EventType::ItemCustodyChanged,
        EventType::DriverAvailabilityChanged,
        EventType::DriverPosition,
    ] {
        assert!(types.contains(&ty), "{ty} among {types:?}");
    }

    // Under the default policy, with and without a key, none of them, and no driver GUID.
    let driver_ids: Vec<String> = mock
        .store()
        .driver_ids()
        .iter()
        .map(Uuid::to_string)
        .collect();
    for redactor in [
        Redactor::new(RedactionPolicy::default(), None).unwrap(),
        Redactor::new(RedactionPolicy::default(), Some(key(0x42))).unwrap(),
    ] {
        for stored in &events {
            let body = String::from_utf8(redactor.to_body(&stored.event)).unwrap();
            let lower = body.to_lowercase();
            for value in values.iter().chain(&driver_ids) {
                assert!(
                    !lower.contains(&value.to_lowercase()),
                    "{value:?} in {body}"
                );
            }
            assert!(!body.contains("latitude"), "{body}");
        }
    }
}

/// Seeding personal values changes no change of the activity: the same truth with and without.
#[tokio::test]
async fn personal_values_leave_the_activity_truth_unchanged() {
    let truth = |personal: bool| async move {
        let start = NaiveDate::from_ymd_opt(2026, 1, 15)
            .unwrap()
            .and_hms_opt(8, 0, 0)
            .unwrap();
        let mut config = ActivityConfig::new(30.0).seed(9).orders(10);
        if personal {
            config = config.personal(PersonalData::sample());
        }
        let mock = OnTimeMock::builder()
            .seed(9)
            .orders(0)
            .clock_start(start)
            .frozen_clock()
            .activity(config)
            .start()
            .await
            .unwrap();
        let activity = mock.activity().unwrap();
        activity.advance(TimeDelta::hours(12)).await.unwrap();
        assert!(activity.is_finished());
        activity.truth()
    };
    let (plain, seeded) = (truth(false).await, truth(true).await);
    assert!(plain.len() > 50);
    assert_eq!(plain, seeded);
}
