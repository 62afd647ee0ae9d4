//! One test per OnTime operation: the exact request the raw client sends (captured by a loopback
//! server) as an insta snapshot. The representative responses are one table (`answers`: operation
//! → status, body, generated type); `every_response_decodes_and_round_trips` decodes each into its
//! type, encodes it again and compares the JSON with the body, and each operation's test checks
//! that the client decodes its answer the same way.
//!
//! Review changes with `cargo insta review`. `every_operation_is_snapshotted_and_answered` fails
//! when the spec gains an operation without a test and an answer here.

use crate::support;

use ontime_raw::lenient::{OnTimeDateTime, SignatureType, StatusLevel};
use ontime_raw::types;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use support::{exchange, fixture, fixture_text};
use uuid::Uuid;
use wiremock::ResponseTemplate;

const ORDER: Uuid = Uuid::from_u128(0x6f1c_0d3e_9b7a_4c21_8e55_1a2b_3c4d_5e6f);
const USER: Uuid = Uuid::from_u128(0x44bc_0a1d_ef24_49b5_a0cb_5418_1ce5_dbcf);
const RECORD: Uuid = Uuid::from_u128(0x0a0b_0c0d_1e1f_4a2b_9c3d_4e5f_6a7b_8c9d);

fn dt(s: &str) -> OnTimeDateTime {
    s.parse().expect("valid date-time")
}

fn guid_list() -> Value {
    json!([
        "5eed0000-0000-0000-0000-000000000001",
        "5eed0000-0000-0000-0000-000000000002",
        "5eed0000-0000-0000-0000-000000000003"
    ])
}

/// A response body: a record fixture (served byte for byte) or a JSON value.
#[derive(Clone, Copy)]
enum Body {
    Fixture(&'static str),
    Json(fn() -> Value),
}

impl Body {
    fn text(self) -> String {
        match self {
            Body::Fixture(name) => fixture_text(name),
            Body::Json(value) => value().to_string(),
        }
    }
}

/// How one operation answers in these tests, and the generated type its body decodes into.
#[derive(Clone, Copy)]
struct Answer {
    operation: &'static str,
    status: u16,
    body: Body,
    /// Decodes the body into the operation's generated type and encodes it again.
    round_trip: fn(&str) -> Result<Value, String>,
}

impl Answer {
    fn reply(&self) -> ResponseTemplate {
        ResponseTemplate::new(self.status)
            .set_body_raw(self.body.text().into_bytes(), "application/json")
    }
}

fn answer(
    operation: &'static str,
    status: u16,
    body: Body,
    round_trip: fn(&str) -> Result<Value, String>,
) -> Answer {
    Answer {
        operation,
        status,
        body,
        round_trip,
    }
}

/// Decode into `T`, encode; decoding and encoding that again must give the same JSON.
fn round_trip<T: DeserializeOwned + Serialize>(body: &str) -> Result<Value, String> {
    let decoded: T = serde_json::from_str(body).map_err(|e| format!("decode: {e}"))?;
    let encoded = serde_json::to_value(&decoded).map_err(|e| format!("encode: {e}"))?;
    let again: T =
        serde_json::from_value(encoded.clone()).map_err(|e| format!("re-decode: {e}"))?;
    let again = serde_json::to_value(&again).map_err(|e| format!("re-encode: {e}"))?;
    if again != encoded {
        return Err(format!(
            "decode → encode is not stable: {encoded} then {again}"
        ));
    }
    Ok(encoded)
}

/// The body as it is expected back after a round trip. The documented normalisations: a `null`
/// member is written back by omission (OnTime treats both as "clear this field"), and an enum
/// given by name is written back as the integer code the API uses (`written_back`: JSON
/// pointer → code). Anything else must come back exactly as it came.
fn expected_back(body: &str, written_back: &[(&str, i64)]) -> Value {
    let mut value: Value = serde_json::from_str(body).expect("the body is JSON");
    for (pointer, code) in written_back {
        *value
            .pointer_mut(pointer)
            .unwrap_or_else(|| panic!("{pointer} is in the body")) = json!(code);
    }
    without_nulls(value)
}

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

/// Every operation with a JSON response (all but `order_report`, whose body is a document):
/// its status, its body and the generated type the client decodes it into.
fn answers() -> Vec<Answer> {
    vec![
        answer(
            "contact_post",
            201,
            Body::Fixture("Contact"),
            round_trip::<types::Contact>,
        ),
        answer(
            "contacts_find",
            200,
            Body::Json(guid_list),
            round_trip::<types::GuidList>,
        ),
        answer(
            "contacts_get",
            200,
            Body::Fixture("Contact"),
            round_trip::<types::Contact>,
        ),
        answer(
            "contacts_authenticate",
            200,
            Body::Json(|| json!(RECORD)),
            round_trip::<types::OptionalGuid>,
        ),
        answer(
            "customer_post",
            201,
            Body::Fixture("Customer"),
            round_trip::<types::Customer>,
        ),
        answer(
            "customers_find",
            200,
            Body::Json(guid_list),
            round_trip::<types::GuidList>,
        ),
        answer(
            "customers_get",
            200,
            Body::Fixture("Customer"),
            round_trip::<types::Customer>,
        ),
        answer(
            "customers_authenticate",
            200,
            Body::Json(|| json!(null)),
            round_trip::<types::OptionalGuid>,
        ),
        answer(
            "department_post",
            201,
            Body::Fixture("Department"),
            round_trip::<types::Department>,
        ),
        answer(
            "departments_find",
            200,
            Body::Json(guid_list),
            round_trip::<types::GuidList>,
        ),
        answer(
            "departments_get",
            200,
            Body::Fixture("Department"),
            round_trip::<types::Department>,
        ),
        answer(
            "file_attachments_find",
            200,
            Body::Json(guid_list),
            round_trip::<types::GuidList>,
        ),
        answer(
            "file_attachments_get",
            200,
            Body::Fixture("FileAttachment"),
            round_trip::<types::FileAttachment>,
        ),
        answer(
            "order_file_attachment_post",
            201,
            Body::Fixture("FileAttachment"),
            round_trip::<types::FileAttachment>,
        ),
        answer(
            "order_file_attachment_delete",
            200,
            Body::Json(|| json!(true)),
            round_trip::<bool>,
        ),
        answer(
            "invoice_post",
            201,
            Body::Fixture("Invoice"),
            round_trip::<types::Invoice>,
        ),
        answer(
            "invoices_find",
            200,
            Body::Json(guid_list),
            round_trip::<types::GuidList>,
        ),
        answer(
            "invoices_get",
            200,
            Body::Fixture("Invoice"),
            round_trip::<types::Invoice>,
        ),
        answer(
            "item_post",
            201,
            Body::Fixture("Item"),
            round_trip::<types::Item>,
        ),
        answer(
            "items_get",
            200,
            Body::Fixture("Item"),
            round_trip::<types::Item>,
        ),
        answer(
            "location_post",
            201,
            Body::Fixture("Location"),
            round_trip::<types::Location>,
        ),
        answer(
            "locations_find",
            200,
            Body::Json(guid_list),
            round_trip::<types::GuidList>,
        ),
        answer(
            "locations_get",
            200,
            Body::Fixture("Location"),
            round_trip::<types::Location>,
        ),
        answer(
            "order_post",
            201,
            Body::Fixture("Order"),
            round_trip::<types::Order>,
        ),
        answer(
            "orders_find",
            200,
            Body::Json(guid_list),
            round_trip::<types::GuidList>,
        ),
        answer(
            "orders_get",
            200,
            Body::Fixture("Order"),
            round_trip::<types::Order>,
        ),
        answer(
            "order_status_changes",
            200,
            Body::Json(|| {
                json!([
                    {"ID": "00000000-0000-0000-0000-000000000000", "Name": null, "Description": null, "Timestamp": "2021-09-07T16:13:25", "Level": 2},
                    {"ID": "00000000-0000-0000-0000-000000000000", "Name": null, "Description": "", "Timestamp": "2021-09-07T16:19:59", "Level": "Delivered"},
                    {"ID": "00000000-0000-0000-0000-000000000000", "Name": "Held at depot", "Timestamp": "2021-09-08T08:00:00.1234567", "Level": 42}
                ])
            }),
            round_trip::<Vec<types::Status>>,
        ),
        answer(
            "order_update_status",
            200,
            Body::Json(|| json!(true)),
            round_trip::<bool>,
        ),
        answer(
            "order_cod_requirement",
            200,
            Body::Json(|| json!(true)),
            round_trip::<bool>,
        ),
        answer(
            "order_signature_requirement",
            200,
            Body::Json(|| json!(false)),
            round_trip::<bool>,
        ),
        answer(
            "order_update_prices",
            200,
            Body::Json(|| json!(true)),
            round_trip::<bool>,
        ),
        answer(
            "order_get_total_cost",
            200,
            Body::Json(|| json!(30.0)),
            round_trip::<f64>,
        ),
        answer(
            "order_signature",
            200,
            Body::Json(|| {
                json!(
                    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=="
                )
            }),
            round_trip::<Option<String>>,
        ),
        answer(
            "payment_post",
            201,
            Body::Fixture("Payment"),
            round_trip::<types::Payment>,
        ),
        answer(
            "payments_find",
            200,
            Body::Json(guid_list),
            round_trip::<types::GuidList>,
        ),
        answer(
            "payments_get",
            200,
            Body::Fixture("Payment"),
            round_trip::<types::Payment>,
        ),
        answer(
            "price_modifiers_get",
            200,
            Body::Fixture("PriceModifier"),
            round_trip::<types::PriceModifier>,
        ),
        answer(
            "price_modifiers_by_name",
            200,
            Body::Fixture("PriceModifier"),
            round_trip::<types::PriceModifier>,
        ),
        answer(
            "price_sets_get",
            200,
            Body::Fixture("PriceSet"),
            round_trip::<types::PriceSet>,
        ),
        answer(
            "price_sets_by_name",
            200,
            Body::Fixture("PriceSet"),
            round_trip::<types::PriceSet>,
        ),
        answer(
            "statuses_find",
            200,
            Body::Json(guid_list),
            round_trip::<types::GuidList>,
        ),
        answer(
            "statuses_get",
            200,
            Body::Fixture("Status"),
            round_trip::<types::Status>,
        ),
        answer(
            "user_availability",
            200,
            Body::Fixture("UserAvailability"),
            round_trip::<types::UserAvailability>,
        ),
        answer(
            "user_update_availability",
            200,
            Body::Json(|| json!(true)),
            round_trip::<bool>,
        ),
        answer(
            "user_positions",
            200,
            Body::Json(|| {
                json!([
                    {"ID": "5eed0000-0000-0000-0000-0000000000a1", "UserID": USER, "Latitude": 32.7767, "Longitude": -96.797, "Timestamp": "2026-11-24T09:15:00"},
                    {"ID": "5eed0000-0000-0000-0000-0000000000a2", "UserID": USER, "Latitude": 32.78, "Longitude": -96.8, "Timestamp": "2026-11-24T09:16:00", "Heading": 270}
                ])
            }),
            round_trip::<Vec<types::UserPosition>>,
        ),
        answer(
            "user_position_latest",
            200,
            Body::Fixture("UserPosition"),
            round_trip::<types::UserPosition>,
        ),
        answer(
            "user_update_position",
            200,
            Body::Json(|| json!(true)),
            round_trip::<bool>,
        ),
        answer(
            "user_misc_compensation_post",
            201,
            Body::Fixture("UserMiscCompensation"),
            round_trip::<types::UserMiscCompensation>,
        ),
        answer(
            "user_misc_compensations_get",
            200,
            Body::Fixture("UserMiscCompensation"),
            round_trip::<types::UserMiscCompensation>,
        ),
        answer(
            "users_find",
            200,
            Body::Json(guid_list),
            round_trip::<types::GuidList>,
        ),
        answer(
            "users_get",
            200,
            Body::Fixture("User"),
            round_trip::<types::User>,
        ),
        answer(
            "users_authenticate",
            200,
            Body::Json(|| json!(USER)),
            round_trip::<types::OptionalGuid>,
        ),
        answer(
            "user_session_post",
            201,
            Body::Fixture("UserSession"),
            round_trip::<types::UserSession>,
        ),
        answer(
            "user_sessions_find",
            200,
            Body::Json(guid_list),
            round_trip::<types::GuidList>,
        ),
        answer(
            "user_sessions_get",
            200,
            Body::Fixture("UserSession"),
            round_trip::<types::UserSession>,
        ),
        answer(
            "vehicle_post",
            201,
            Body::Fixture("Vehicle"),
            round_trip::<types::Vehicle>,
        ),
        answer(
            "vehicles_find",
            200,
            Body::Json(guid_list),
            round_trip::<types::GuidList>,
        ),
        answer(
            "vehicles_get",
            200,
            Body::Fixture("Vehicle"),
            round_trip::<types::Vehicle>,
        ),
        answer(
            "zone_post",
            201,
            Body::Fixture("Zone"),
            round_trip::<types::Zone>,
        ),
        answer(
            "zones_find",
            200,
            Body::Json(guid_list),
            round_trip::<types::GuidList>,
        ),
        answer(
            "zones_get",
            200,
            Body::Fixture("Zone"),
            round_trip::<types::Zone>,
        ),
    ]
}

/// Enum names in the bodies above that are written back as codes (operation → pointer, code).
const WRITTEN_BACK: &[(&str, &[(&str, i64)])] = &[
    ("customer_post", &[("/PricingMethod", 1)]), // ZoneToZone
    ("customers_get", &[("/PricingMethod", 1)]),
    ("order_post", &[("/BasePriceType", 2)]), // Distance
    ("orders_get", &[("/BasePriceType", 2)]),
    ("order_status_changes", &[("/1/Level", 3)]), // Delivered
];

fn answer_for(operation: &str) -> Answer {
    answers()
        .into_iter()
        .find(|a| a.operation == operation)
        .unwrap_or_else(|| panic!("no answer for {operation}"))
}

/// The exact request an operation sends, as a snapshot; and the client decodes the operation's
/// answer into what the table's round trip gives.
macro_rules! op {
    ($name:ident, |$c:ident| $call:expr) => {
        #[tokio::test]
        async fn $name() {
            let answer = answer_for(stringify!($name));
            let (request, result) =
                exchange(answer.reply(), |$c| async move { $call.send().await }).await;
            insta::assert_json_snapshot!(concat!(stringify!($name), "__request"), request);
            let value = result.expect("the response decodes").into_inner();
            assert_eq!(
                serde_json::to_value(&value).expect("encodes"),
                (answer.round_trip)(&answer.body.text()).expect("round trip"),
                "the client decodes what the table's type decodes"
            );
        }
    };
}

/// One table-driven check for every JSON response: it decodes into the operation's generated
/// type and is written back as it came (modulo the normalisations of [`expected_back`]).
#[test]
fn every_response_decodes_and_round_trips() {
    let mut failures = Vec::new();
    for answer in answers() {
        let body = answer.body.text();
        let written_back = WRITTEN_BACK
            .iter()
            .find(|(op, _)| *op == answer.operation)
            .map_or(&[][..], |(_, w)| *w);
        let expected = expected_back(&body, written_back);
        match (answer.round_trip)(&body) {
            Ok(encoded) if encoded == expected => {}
            Ok(encoded) => failures.push(format!(
                "{}: written back as {encoded}, expected {expected}",
                answer.operation
            )),
            Err(e) => failures.push(format!("{}: {e}", answer.operation)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// Contacts
op!(contact_post, |c| c
    .contact_post()
    .body(fixture::<types::Contact>("Contact")));
op!(contacts_find, |c| c.contacts_find());
op!(contacts_get, |c| c.contacts_get().id(RECORD));
op!(contacts_authenticate, |c| c
    .contacts_authenticate()
    .user_name("jo.park")
    .password("p@ss word&1"));
// Customers
op!(customer_post, |c| c
    .customer_post()
    .body(fixture::<types::Customer>("Customer")));
op!(customers_find, |c| c
    .customers_find()
    .account_number("VS-001")
    .address_line1("100 Main St")
    .city("Dallas")
    .country("US")
    .email("ap@example.com")
    .inactive(false)
    .name("Vesigo Studios")
    .postal_code("75001")
    .primary_contact_name("Jo Park")
    .reference_number("R-77")
    .state("TX")
    .last_modified_date_min(dt("2026-01-01T00:00:00"))
    .last_modified_date_max(dt("2026-11-30T23:59:59"))
    .creation_date_min(dt("2019-05-11T05:00:00"))
    .creation_date_max(dt("2026-11-24T12:00:00+02:00")));
op!(customers_get, |c| c.customers_get().id(RECORD));
op!(customers_authenticate, |c| c
    .customers_authenticate()
    .user_name("vesigo")
    .password("wrong"));
// Departments
op!(department_post, |c| c.department_post().body(fixture::<
    types::Department,
>(
    "Department"
)));
op!(departments_find, |c| c.departments_find());
op!(departments_get, |c| c.departments_get().id(RECORD));
// File attachments
op!(file_attachments_find, |c| c
    .file_attachments_find()
    .order_id(ORDER));
op!(file_attachments_get, |c| c
    .file_attachments_get()
    .id(RECORD));
op!(order_file_attachment_post, |c| c
    .order_file_attachment_post()
    .order_id(ORDER)
    .body(
        types::FileAttachment::builder()
            .file_name(Some("proof.jpg".to_string()))
            .contents(Some("/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAA==".to_string())),
    ));
op!(order_file_attachment_delete, |c| c
    .order_file_attachment_delete()
    .id(RECORD));
// Invoices
op!(invoice_post, |c| c
    .invoice_post()
    .body(fixture::<types::Invoice>("Invoice")));
op!(invoices_find, |c| c.invoices_find());
op!(invoices_get, |c| c.invoices_get().id(RECORD));
// Items
op!(item_post, |c| c
    .item_post()
    .body(fixture::<types::Item>("Item")));
op!(items_get, |c| c.items_get().id(RECORD));
// Locations
op!(location_post, |c| c
    .location_post()
    .body(fixture::<types::Location>("Location")));
op!(locations_find, |c| c
    .locations_find()
    .city("Dallas")
    .state("Texas"));
op!(locations_get, |c| c.locations_get().id(RECORD));
// Orders
op!(order_post, |c| c
    .order_post()
    .body(fixture::<types::Order>("Order")));
op!(orders_find, |c| c
    .orders_find()
    .customer_name("Vesigo Studios")
    .collection_location_id(RECORD)
    .date_submitted(dt("2019-05-11T00:00:00"))
    .date_submitted_min(dt("2019-05-11T05:00:00"))
    .date_submitted_max(dt("2019-05-12T05:00:00.5"))
    .delivery_location_id(RECORD)
    .assigned_user_id(USER)
    .incoming_tracking_number("IN-1")
    .outgoing_tracking_number("OUT-1")
    .purchase_order_number("PO 77/A")
    .reference_number("R#1")
    .status(StatusLevel::Delivered)
    .tracking_number("4787"));
op!(orders_get, |c| c.orders_get().id(ORDER));
op!(order_status_changes, |c| c
    .order_status_changes()
    .order_id(ORDER));
op!(order_update_status, |c| c
    .order_update_status()
    .id(ORDER)
    .label("Delivered to reception")
    .detail(StatusLevel::Delivered)
    .date(dt("2026-11-24T14:05:00")));
op!(order_cod_requirement, |c| c
    .order_cod_requirement()
    .tracking_number("1009214")
    .amount_to_collect(125.5)
    .require_collection_cod(false)
    .require_delivery_cod(true));
op!(order_signature_requirement, |c| c
    .order_signature_requirement()
    .id(ORDER)
    .require_collection_signature(true)
    .require_delivery_signature(true));
op!(order_update_prices, |c| c.order_update_prices().id(ORDER));
op!(order_get_total_cost, |c| c
    .order_get_total_cost()
    .body(fixture::<types::Order>("Order")));
op!(order_signature, |c| c
    .order_signature()
    .id(ORDER)
    .signature_type(SignatureType::Collection));

#[tokio::test]
async fn order_report() {
    let pdf = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\n%%EOF\n".to_vec();
    let reply = ResponseTemplate::new(200).set_body_raw(pdf.clone(), "application/pdf");
    let (request, result) = exchange(reply, |c| async move {
        c.order_report().type_("SL").id(ORDER).send().await
    })
    .await;
    insta::assert_json_snapshot!("order_report__request", request);
    let response = result.expect("the report downloads");
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap_or_default()),
        Some("application/pdf")
    );
    let bytes = response.into_inner().into_inner();
    let mut body = Vec::new();
    use futures::TryStreamExt;
    let chunks: Vec<bytes::Bytes> = bytes.try_collect().await.expect("body streams");
    chunks.iter().for_each(|c| body.extend_from_slice(c));
    assert_eq!(body, pdf, "the document arrives byte for byte");
    insta::assert_snapshot!("order_report__response", String::from_utf8_lossy(&body));
}

// Payments
op!(payment_post, |c| c
    .payment_post()
    .body(fixture::<types::Payment>("Payment")));
op!(payments_find, |c| c.payments_find());
op!(payments_get, |c| c.payments_get().id(RECORD));
// Price modifiers and sets
op!(price_modifiers_get, |c| c.price_modifiers_get().id(RECORD));
op!(price_modifiers_by_name, |c| c
    .price_modifiers_by_name()
    .name("Fuel surcharge / 10%"));
op!(price_sets_get, |c| c.price_sets_get().id(RECORD));
op!(price_sets_by_name, |c| c
    .price_sets_by_name()
    .name("Same Day"));
// Statuses
op!(statuses_find, |c| c.statuses_find());
op!(statuses_get, |c| c.statuses_get().id(RECORD));
// Users
op!(user_availability, |c| c.user_availability().user_id(USER));
op!(user_update_availability, |c| c
    .user_update_availability()
    .body(fixture::<types::UserAvailability>(
        "UserAvailability"
    )));
op!(user_positions, |c| c
    .user_positions()
    .user_id(USER)
    .date_min(dt("2026-11-24T00:00:00"))
    .date_max(dt("2026-11-24T23:59:59")));
op!(user_position_latest, |c| c
    .user_position_latest()
    .user_id(USER));
op!(user_update_position, |c| c
    .user_update_position()
    .body(fixture::<types::UserPosition>("UserPosition")));
op!(user_misc_compensation_post, |c| c
    .user_misc_compensation_post()
    .body(fixture::<types::UserMiscCompensation>(
        "UserMiscCompensation"
    )));
op!(user_misc_compensations_get, |c| c
    .user_misc_compensations_get()
    .id(RECORD));
op!(users_find, |c| c
    .users_find()
    .email("dana@example.com")
    .first_name("Dana")
    .last_name("Reyes")
    .user_name("dreyes")
    .last_modified_date_min(dt("2026-01-01T00:00:00"))
    .last_modified_date_max(dt("2026-11-30T00:00:00"))
    .creation_date_min(dt("2018-01-01T00:00:00"))
    .creation_date_max(dt("2026-11-30T00:00:00")));
op!(users_get, |c| c.users_get().id(USER));
op!(users_authenticate, |c| c
    .users_authenticate()
    .user_name("dreyes")
    .password("correct horse"));
// Sessions
op!(user_session_post, |c| c
    .user_session_post()
    .body(fixture::<types::UserSession>("UserSession")));
op!(user_sessions_find, |c| c
    .user_sessions_find()
    .user_id(USER)
    .log_in_time(dt("2026-11-24T00:00:00"))
    .log_out_time(dt("2026-11-25T00:00:00")));
op!(user_sessions_get, |c| c.user_sessions_get().id(RECORD));
// Vehicles and zones
op!(vehicle_post, |c| c
    .vehicle_post()
    .body(fixture::<types::Vehicle>("Vehicle")));
op!(vehicles_find, |c| c.vehicles_find());
op!(vehicles_get, |c| c.vehicles_get().id(RECORD));
op!(zone_post, |c| c
    .zone_post()
    .body(fixture::<types::Zone>("Zone")));
op!(zones_find, |c| c.zones_find());
op!(zones_get, |c| c.zones_get().id(RECORD));

/// The spec's operations, as the method names progenitor gives them.
fn spec_operations() -> Vec<String> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../openapi/ontime.json"
    ))
    .expect("spec readable");
    let spec: serde_json::Value = serde_json::from_str(&text).expect("spec is JSON");
    let mut ops = Vec::new();
    for item in spec["paths"].as_object().expect("paths").values() {
        for op in item.as_object().expect("path item").values() {
            let id = op["operationId"].as_str().expect("operationId");
            let mut snake = String::new();
            for ch in id.chars() {
                if ch.is_ascii_uppercase() {
                    snake.push('_');
                }
                snake.push(ch.to_ascii_lowercase());
            }
            ops.push(snake);
        }
    }
    ops.sort();
    ops
}

#[test]
fn every_operation_is_snapshotted_and_answered() {
    let ops = spec_operations();
    assert_eq!(ops.len(), 62);
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/workspace/snapshots");
    let missing: Vec<String> = ops
        .iter()
        .map(|op| format!("workspace__operations__{op}__request.snap"))
        .chain(["workspace__operations__order_report__response.snap".to_owned()])
        .filter(|file| !std::path::Path::new(dir).join(file).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "operations without snapshots: {missing:?}"
    );
    let mut answered: Vec<String> = answers()
        .iter()
        .map(|a| a.operation.to_owned())
        .chain(["order_report".to_owned()])
        .collect();
    answered.sort();
    assert_eq!(
        answered, ops,
        "the answers table lists each JSON operation once"
    );
}
