//! Real payload shapes decode into the generated record types and survive a round trip: what a
//! client fetched is what it posts back (OnTime clears every field a post leaves out). The `spec`
//! module checks `openapi/ontime.json` itself: its wire-format patterns against the lenient
//! parsers, its examples against the generated types, and the simulator against its enums.

use crate::support;

use ontime_raw::lenient::{
    DateTimeOffset, OnTimeDateTime, PriceModifierInput, PriceModifierType, PricingMethod,
    StatusLevel, TimeSpan, UnknownEnumValue,
};
use ontime_raw::types;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use support::{fixture, fixture_text};

/// The JSON with every `null` member removed: a decoded `null` is written back by omission,
/// which OnTime treats the same way (the field is cleared).
fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

/// decode → encode → decode is the identity, and returns the encoded JSON.
fn round_trip<T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug>(name: &str) -> Value {
    let first: T = fixture(name);
    let encoded = serde_json::to_value(&first).expect("encodes");
    let second: T = serde_json::from_value(encoded.clone()).expect("re-decodes");
    assert_eq!(
        first, second,
        "{name}: decode → encode → decode changed the record"
    );
    encoded
}

/// Round trip plus: the encoded JSON equals the fixture (nulls aside), field for field —
/// including fields the spec does not list.
fn round_trip_exact<T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug>(name: &str) {
    let encoded = round_trip::<T>(name);
    let original: Value = serde_json::from_str(&fixture_text(name)).expect("fixture is JSON");
    assert_eq!(
        without_nulls(original),
        encoded,
        "{name}: the record is not written back as it came"
    );
}

#[test]
fn records_without_enum_names_are_written_back_unchanged() {
    round_trip_exact::<types::Contact>("Contact");
    round_trip_exact::<types::Department>("Department");
    round_trip_exact::<types::FileAttachment>("FileAttachment");
    round_trip_exact::<types::Invoice>("Invoice");
    round_trip_exact::<types::Item>("Item");
    round_trip_exact::<types::Location>("Location");
    round_trip_exact::<types::Payment>("Payment");
    round_trip_exact::<types::PriceModifier>("PriceModifier");
    round_trip_exact::<types::PriceSet>("PriceSet");
    round_trip_exact::<types::Status>("Status");
    round_trip_exact::<types::TimeWindow>("TimeWindow");
    round_trip_exact::<types::User>("User");
    round_trip_exact::<types::UserAvailability>("UserAvailability");
    round_trip_exact::<types::UserDefinedField>("UserDefinedField");
    round_trip_exact::<types::UserMiscCompensation>("UserMiscCompensation");
    round_trip_exact::<types::UserPosition>("UserPosition");
    round_trip_exact::<types::UserSession>("UserSession");
    round_trip_exact::<types::Vehicle>("Vehicle");
    round_trip_exact::<types::VehicleType>("VehicleType");
    round_trip_exact::<types::Zone>("Zone");
}

#[test]
fn enum_names_are_written_back_as_the_integer_codes_the_api_uses() {
    let customer = round_trip::<types::Customer>("Customer");
    let mut expected: Value = serde_json::from_str(&fixture_text("Customer")).expect("JSON");
    assert_eq!(expected["PricingMethod"], "ZoneToZone");
    expected["PricingMethod"] = json!(1);
    assert_eq!(without_nulls(expected), customer);

    let order = round_trip::<types::Order>("Order");
    let mut expected: Value = serde_json::from_str(&fixture_text("Order")).expect("JSON");
    assert_eq!(expected["BasePriceType"], "Distance");
    expected["BasePriceType"] = json!(2);
    // Unknown values (a code and a name the spec does not list) stay exactly as they came.
    assert_eq!(expected["PriceModifiers"][0]["Type"], 17);
    assert_eq!(expected["PriceModifiers"][0]["Input"], "Teleport");
    assert_eq!(without_nulls(expected), order);
}

#[test]
fn order_fixture_decodes_every_payload_quirk() {
    let order: types::Order = fixture("Order");
    // Date-times without offset, with an offset, with a 7-digit fraction, and .NET's "unset".
    let submitted = order.date_submitted.expect("DateSubmitted");
    assert_eq!(submitted.offset(), DateTimeOffset::Unspecified);
    assert_eq!(submitted.to_string(), "2021-09-07T16:19:59");
    let delivery = order.delivery_arrival_window.expect("window");
    let earliest = delivery.earliest_time.expect("EarliestTime");
    assert_eq!(earliest.to_string(), "2021-09-10T14:00:00+00:00");
    assert!(earliest.to_fixed().is_some());
    assert_eq!(
        delivery.latest_time.expect("LatestTime").to_string(),
        "2021-09-11T16:00:00.1234567"
    );
    assert_eq!(delivery.length, Some(TimeSpan::from_secs(26 * 3600)));
    assert!(
        order
            .delivery_arrival_date
            .expect("DeliveryArrivalDate")
            .is_unset()
    );
    // Enums as integer codes, as names, and values the spec does not know.
    assert_eq!(order.status_level, Some(StatusLevel::Delivered));
    assert_eq!(
        order.status.expect("Status").level,
        Some(StatusLevel::Delivered)
    );
    assert_eq!(order.base_price_type, Some(PricingMethod::Distance));
    let modifier = &order.price_modifiers.expect("PriceModifiers")[0];
    assert_eq!(
        modifier.type_,
        Some(PriceModifierType::Unknown(UnknownEnumValue::Code(17)))
    );
    assert_eq!(
        modifier.input,
        Some(PriceModifierInput::Unknown(UnknownEnumValue::Name(
            "Teleport".into()
        )))
    );
    // Nulls, empty collections and the label-keyed custom fields.
    assert_eq!(order.department, None);
    assert_eq!(order.route_name, None);
    assert_eq!(order.user_misc_compensations, Some(vec![]));
    let udf = order.user_defined_fields.expect("UserDefinedFields");
    let (label, field) = udf.iter().next().expect("one custom field");
    assert_eq!(field.label.as_deref(), Some(label.as_str()));
    // A field this spec does not list is kept.
    assert_eq!(
        order.extra["ProofOfDeliveryPhotoUrl"],
        "https://example.com/pod/1009214.jpg"
    );
}

#[test]
fn absent_and_null_fields_decode_anywhere() {
    let empty: types::Order = serde_json::from_str("{}").expect("an empty order decodes");
    assert_eq!(serde_json::to_string(&empty).expect("encodes"), "{}");

    let original: Value = serde_json::from_str(&fixture_text("Order")).expect("JSON");
    let Value::Object(fields) = original else {
        panic!("order is an object")
    };
    let all_null: Value = Value::Object(fields.keys().map(|k| (k.clone(), Value::Null)).collect());
    let order: types::Order = serde_json::from_value(all_null).expect("an all-null order decodes");
    assert_eq!(order.tracking_number, None);
    assert_eq!(order.status_level, None);
}

#[test]
fn unknown_fields_survive_on_nested_records_too() {
    let mut order: Value = serde_json::from_str(&fixture_text("Order")).expect("JSON");
    order["CollectionLocation"]["What3Words"] = json!("filled.count.soap");
    order["Items"][0]["Barcode"] = json!({"Symbology": "Code128", "Value": "1000346-001"});
    let decoded: types::Order = serde_json::from_value(order.clone()).expect("decodes");
    let encoded = serde_json::to_value(&decoded).expect("encodes");
    assert_eq!(
        encoded["CollectionLocation"]["What3Words"],
        "filled.count.soap"
    );
    assert_eq!(encoded["Items"][0]["Barcode"], order["Items"][0]["Barcode"]);
}

#[test]
fn bad_values_fail_with_the_field_and_the_input_named() {
    let error = serde_json::from_value::<types::Status>(json!({"Timestamp": "yesterday"}))
        .expect_err("not a date-time");
    assert!(error.to_string().contains("yesterday"), "{error}");
    let error = serde_json::from_value::<types::TimeWindow>(json!({"Length": "25:00:00"}))
        .expect_err("hours out of range");
    assert!(error.to_string().contains("25:00:00"), "{error}");
    let error =
        serde_json::from_value::<types::Status>(json!({"Level": true})).expect_err("a bool");
    assert!(!error.to_string().is_empty());
}

#[test]
fn date_times_keep_the_form_they_came_in() {
    for text in [
        "2019-04-08T15:00:00",
        "2019-04-08T15:00:00Z",
        "2019-04-08T15:00:00-05:00",
        "2019-04-08T15:00:00.1234567",
        "0001-01-01T00:00:00",
    ] {
        let value: OnTimeDateTime = serde_json::from_value(json!(text)).expect("decodes");
        assert_eq!(serde_json::to_value(value).expect("encodes"), json!(text));
    }
}
