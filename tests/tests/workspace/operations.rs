//! One test per OnTime operation: the exact request the raw client sends (captured by a loopback
//! server) and the decoded representative response, both as insta snapshots.
//!
//! Review changes with `cargo insta review`. `every_operation_is_snapshotted` fails when the spec
//! gains an operation without a test here.

use crate::support;

use ontime_raw::lenient::{OnTimeDateTime, SignatureType, StatusLevel};
use ontime_raw::types;
use serde_json::json;
use support::{exchange, fixture, fixture_reply, json_reply};
use uuid::Uuid;
use wiremock::ResponseTemplate;

const ORDER: Uuid = Uuid::from_u128(0x6f1c_0d3e_9b7a_4c21_8e55_1a2b_3c4d_5e6f);
const USER: Uuid = Uuid::from_u128(0x44bc_0a1d_ef24_49b5_a0cb_5418_1ce5_dbcf);
const RECORD: Uuid = Uuid::from_u128(0x0a0b_0c0d_1e1f_4a2b_9c3d_4e5f_6a7b_8c9d);

fn dt(s: &str) -> OnTimeDateTime {
    s.parse().expect("valid date-time")
}

fn guids() -> ResponseTemplate {
    json_reply(
        200,
        &json!([
            "5eed0000-0000-0000-0000-000000000001",
            "5eed0000-0000-0000-0000-000000000002",
            "5eed0000-0000-0000-0000-000000000003"
        ]),
    )
}

/// Request and response snapshots for one operation.
macro_rules! op {
    ($name:ident, $reply:expr, |$c:ident| $call:expr) => {
        #[tokio::test]
        async fn $name() {
            let (request, result) = exchange($reply, |$c| async move { $call.send().await }).await;
            insta::assert_json_snapshot!(concat!(stringify!($name), "__request"), request);
            let value = result.expect("the response decodes").into_inner();
            insta::assert_debug_snapshot!(concat!(stringify!($name), "__response"), value);
        }
    };
}

// Contacts
op!(contact_post, fixture_reply(201, "Contact"), |c| c
    .contact_post()
    .body(fixture::<types::Contact>("Contact")));
op!(contacts_find, guids(), |c| c.contacts_find());
op!(contacts_get, fixture_reply(200, "Contact"), |c| c
    .contacts_get()
    .id(RECORD));
op!(
    contacts_authenticate,
    json_reply(200, &json!(RECORD)),
    |c| c
        .contacts_authenticate()
        .user_name("jo.park")
        .password("p@ss word&1")
);
// Customers
op!(customer_post, fixture_reply(201, "Customer"), |c| c
    .customer_post()
    .body(fixture::<types::Customer>("Customer")));
op!(customers_find, guids(), |c| c
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
op!(customers_get, fixture_reply(200, "Customer"), |c| c
    .customers_get()
    .id(RECORD));
op!(customers_authenticate, json_reply(200, &json!(null)), |c| c
    .customers_authenticate()
    .user_name("vesigo")
    .password("wrong"));
// Departments
op!(department_post, fixture_reply(201, "Department"), |c| c
    .department_post()
    .body(fixture::<types::Department>("Department")));
op!(departments_find, guids(), |c| c.departments_find());
op!(departments_get, fixture_reply(200, "Department"), |c| c
    .departments_get()
    .id(RECORD));
// File attachments
op!(file_attachments_find, guids(), |c| c
    .file_attachments_find()
    .order_id(ORDER));
op!(
    file_attachments_get,
    fixture_reply(200, "FileAttachment"),
    |c| c.file_attachments_get().id(RECORD)
);
op!(
    order_file_attachment_post,
    fixture_reply(201, "FileAttachment"),
    |c| c.order_file_attachment_post().order_id(ORDER).body(
        types::FileAttachment::builder()
            .file_name(Some("proof.jpg".to_string()))
            .contents(Some("/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAA==".to_string())),
    )
);
op!(
    order_file_attachment_delete,
    json_reply(200, &json!(true)),
    |c| c.order_file_attachment_delete().id(RECORD)
);
// Invoices
op!(invoice_post, fixture_reply(201, "Invoice"), |c| c
    .invoice_post()
    .body(fixture::<types::Invoice>("Invoice")));
op!(invoices_find, guids(), |c| c.invoices_find());
op!(invoices_get, fixture_reply(200, "Invoice"), |c| c
    .invoices_get()
    .id(RECORD));
// Items
op!(item_post, fixture_reply(201, "Item"), |c| c
    .item_post()
    .body(fixture::<types::Item>("Item")));
op!(items_get, fixture_reply(200, "Item"), |c| c
    .items_get()
    .id(RECORD));
// Locations
op!(location_post, fixture_reply(201, "Location"), |c| c
    .location_post()
    .body(fixture::<types::Location>("Location")));
op!(locations_find, guids(), |c| c
    .locations_find()
    .city("Dallas")
    .state("Texas"));
op!(locations_get, fixture_reply(200, "Location"), |c| c
    .locations_get()
    .id(RECORD));
// Orders
op!(order_post, fixture_reply(201, "Order"), |c| c
    .order_post()
    .body(fixture::<types::Order>("Order")));
op!(orders_find, guids(), |c| c
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
op!(orders_get, fixture_reply(200, "Order"), |c| c
    .orders_get()
    .id(ORDER));
op!(
    order_status_changes,
    json_reply(
        200,
        &json!([
            {"ID": "00000000-0000-0000-0000-000000000000", "Name": null, "Description": null, "Timestamp": "2021-09-07T16:13:25", "Level": 2},
            {"ID": "00000000-0000-0000-0000-000000000000", "Name": null, "Description": "", "Timestamp": "2021-09-07T16:19:59", "Level": "Delivered"},
            {"ID": "00000000-0000-0000-0000-000000000000", "Name": "Held at depot", "Timestamp": "2021-09-08T08:00:00.1234567", "Level": 42}
        ])
    ),
    |c| c.order_status_changes().order_id(ORDER)
);
op!(order_update_status, json_reply(200, &json!(true)), |c| c
    .order_update_status()
    .id(ORDER)
    .label("Delivered to reception")
    .detail(StatusLevel::Delivered)
    .date(dt("2026-11-24T14:05:00")));
op!(order_cod_requirement, json_reply(200, &json!(true)), |c| c
    .order_cod_requirement()
    .tracking_number("1009214")
    .amount_to_collect(125.5)
    .require_collection_cod(false)
    .require_delivery_cod(true));
op!(
    order_signature_requirement,
    json_reply(200, &json!(false)),
    |c| c
        .order_signature_requirement()
        .id(ORDER)
        .require_collection_signature(true)
        .require_delivery_signature(true)
);
op!(order_update_prices, json_reply(200, &json!(true)), |c| c
    .order_update_prices()
    .id(ORDER));
op!(order_get_total_cost, json_reply(200, &json!(30.0)), |c| c
    .order_get_total_cost()
    .body(fixture::<types::Order>("Order")));
op!(
    order_signature,
    json_reply(
        200,
        &json!(
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=="
        )
    ),
    |c| c
        .order_signature()
        .id(ORDER)
        .signature_type(SignatureType::Collection)
);

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
op!(payment_post, fixture_reply(201, "Payment"), |c| c
    .payment_post()
    .body(fixture::<types::Payment>("Payment")));
op!(payments_find, guids(), |c| c.payments_find());
op!(payments_get, fixture_reply(200, "Payment"), |c| c
    .payments_get()
    .id(RECORD));
// Price modifiers and sets
op!(
    price_modifiers_get,
    fixture_reply(200, "PriceModifier"),
    |c| c.price_modifiers_get().id(RECORD)
);
op!(
    price_modifiers_by_name,
    fixture_reply(200, "PriceModifier"),
    |c| c.price_modifiers_by_name().name("Fuel surcharge / 10%")
);
op!(price_sets_get, fixture_reply(200, "PriceSet"), |c| c
    .price_sets_get()
    .id(RECORD));
op!(price_sets_by_name, fixture_reply(200, "PriceSet"), |c| c
    .price_sets_by_name()
    .name("Same Day"));
// Statuses
op!(statuses_find, guids(), |c| c.statuses_find());
op!(statuses_get, fixture_reply(200, "Status"), |c| c
    .statuses_get()
    .id(RECORD));
// Users
op!(
    user_availability,
    fixture_reply(200, "UserAvailability"),
    |c| c.user_availability().user_id(USER)
);
op!(
    user_update_availability,
    json_reply(200, &json!(true)),
    |c| c
        .user_update_availability()
        .body(fixture::<types::UserAvailability>("UserAvailability"))
);
op!(
    user_positions,
    json_reply(
        200,
        &json!([
            {"ID": "5eed0000-0000-0000-0000-0000000000a1", "UserID": USER, "Latitude": 32.7767, "Longitude": -96.797, "Timestamp": "2026-11-24T09:15:00"},
            {"ID": "5eed0000-0000-0000-0000-0000000000a2", "UserID": USER, "Latitude": 32.78, "Longitude": -96.8, "Timestamp": "2026-11-24T09:16:00", "Heading": 270}
        ])
    ),
    |c| c
        .user_positions()
        .user_id(USER)
        .date_min(dt("2026-11-24T00:00:00"))
        .date_max(dt("2026-11-24T23:59:59"))
);
op!(
    user_position_latest,
    fixture_reply(200, "UserPosition"),
    |c| c.user_position_latest().user_id(USER)
);
op!(user_update_position, json_reply(200, &json!(true)), |c| c
    .user_update_position()
    .body(fixture::<types::UserPosition>("UserPosition")));
op!(
    user_misc_compensation_post,
    fixture_reply(201, "UserMiscCompensation"),
    |c| c
        .user_misc_compensation_post()
        .body(fixture::<types::UserMiscCompensation>(
            "UserMiscCompensation"
        ))
);
op!(
    user_misc_compensations_get,
    fixture_reply(200, "UserMiscCompensation"),
    |c| c.user_misc_compensations_get().id(RECORD)
);
op!(users_find, guids(), |c| c
    .users_find()
    .email("dana@example.com")
    .first_name("Dana")
    .last_name("Reyes")
    .user_name("dreyes")
    .last_modified_date_min(dt("2026-01-01T00:00:00"))
    .last_modified_date_max(dt("2026-11-30T00:00:00"))
    .creation_date_min(dt("2018-01-01T00:00:00"))
    .creation_date_max(dt("2026-11-30T00:00:00")));
op!(users_get, fixture_reply(200, "User"), |c| c
    .users_get()
    .id(USER));
op!(users_authenticate, json_reply(200, &json!(USER)), |c| c
    .users_authenticate()
    .user_name("dreyes")
    .password("correct horse"));
// Sessions
op!(user_session_post, fixture_reply(201, "UserSession"), |c| c
    .user_session_post()
    .body(fixture::<types::UserSession>("UserSession")));
op!(user_sessions_find, guids(), |c| c
    .user_sessions_find()
    .user_id(USER)
    .log_in_time(dt("2026-11-24T00:00:00"))
    .log_out_time(dt("2026-11-25T00:00:00")));
op!(user_sessions_get, fixture_reply(200, "UserSession"), |c| c
    .user_sessions_get()
    .id(RECORD));
// Vehicles and zones
op!(vehicle_post, fixture_reply(201, "Vehicle"), |c| c
    .vehicle_post()
    .body(fixture::<types::Vehicle>("Vehicle")));
op!(vehicles_find, guids(), |c| c.vehicles_find());
op!(vehicles_get, fixture_reply(200, "Vehicle"), |c| c
    .vehicles_get()
    .id(RECORD));
op!(zone_post, fixture_reply(201, "Zone"), |c| c
    .zone_post()
    .body(fixture::<types::Zone>("Zone")));
op!(zones_find, guids(), |c| c.zones_find());
op!(zones_get, fixture_reply(200, "Zone"), |c| c
    .zones_get()
    .id(RECORD));

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
fn every_operation_is_snapshotted() {
    let ops = spec_operations();
    assert_eq!(ops.len(), 62);
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/workspace/snapshots");
    let missing: Vec<String> = ops
        .iter()
        .flat_map(|op| ["request", "response"].map(|kind| format!("workspace__operations__{op}__{kind}.snap")))
        .filter(|file| !std::path::Path::new(dir).join(file).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "operations without snapshots: {missing:?}"
    );
}
