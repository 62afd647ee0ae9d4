//! What the facade sends for each helper, and what it returns, as insta snapshots taken from the
//! simulator's request log (seeded data, frozen clock; identifiers the facade generates are
//! redacted as `[uuid]`).

use ontime::{
    CustomerFilter, OrderFilter, OrderId, PositionFilter, ReportKind, SignatureType, StatusChange,
    StatusLevel, UserId,
};
use ontime_mock::{CredentialKind, RunningMock};

use crate::common;
use common::setup;
use serde_json::{Value, json};

/// The requests logged since the last call, as snapshot-ready JSON.
fn sent(mock: &RunningMock) -> Value {
    let requests: Vec<Value> = mock
        .requests()
        .into_iter()
        .map(|r| {
            let body = r.body.as_deref().map(|b| serde_json::from_str::<Value>(b).unwrap_or(Value::String(b.to_string())));
            json!({"operation": r.operation_id(), "method": r.method, "path": r.path, "query": r.query, "body": body, "status": r.status})
        })
        .collect();
    mock.clear_requests();
    Value::Array(requests)
}

fn settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
        "[uuid]",
    );
    settings.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:[port]");
    settings.add_filter(r#"password=[^&"]*"#, "password=[redacted]");
    settings
}

macro_rules! snapshot {
    ($name:literal, $mock:expr, $result:expr) => {{
        let result = $result;
        settings().bind(|| {
            insta::assert_json_snapshot!(concat!($name, "__requests"), sent($mock));
            insta::assert_snapshot!(concat!($name, "__returns"), format!("{result:#?}"));
        });
    }};
}

#[tokio::test]
async fn order_helpers() {
    let (mock, client) = setup().await;
    let orders = client.orders();
    let ids = mock.store().order_ids();
    let id: OrderId = ids[0].into();
    let tracking = mock.store().order(ids[0]).unwrap().tracking_number.unwrap();
    mock.clear_requests();

    snapshot!(
        "orders_ids_filtered",
        &mock,
        orders
            .ids(
                OrderFilter::new()
                    .status(StatusLevel::Delivered)
                    .customer_name("Nobody Inc")
                    .submitted_from(
                        chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
                            .unwrap()
                            .and_hms_opt(0, 0, 0)
                            .unwrap()
                    )
            )
            .await
            .unwrap()
    );
    let found = orders
        .find(OrderFilter::new().tracking_number(tracking.clone()))
        .collect_vec()
        .await
        .unwrap();
    snapshot!(
        "orders_find_by_tracking_number",
        &mock,
        found
            .iter()
            .map(|o| (o.tracking_number.clone(), o.status_level.clone()))
            .collect::<Vec<_>>()
    );
    snapshot!(
        "orders_by_tracking_number",
        &mock,
        orders
            .by_tracking_number(&tracking)
            .await
            .unwrap()
            .map(|o| o.id)
    );
    snapshot!(
        "orders_timeline",
        &mock,
        orders
            .timeline(id)
            .await
            .unwrap()
            .iter()
            .map(|s| s.level.clone())
            .collect::<Vec<_>>()
    );
    snapshot!(
        "orders_update_status",
        &mock,
        orders
            .update_status(
                tracking.as_str(),
                StatusChange::new(StatusLevel::Delivered).label("Signed by J. Doe")
            )
            .await
            .unwrap()
    );
    snapshot!(
        "orders_set_cod_requirement",
        &mock,
        orders
            .set_cod_requirement(id, ontime::CodRequirement::new(25.0).at_delivery(true))
            .await
            .unwrap()
    );
    snapshot!(
        "orders_set_signature_requirement",
        &mock,
        orders
            .set_signature_requirement(
                id,
                ontime::SignatureRequirement::new()
                    .at_collection(true)
                    .at_delivery(true),
            )
            .await
            .unwrap()
    );
    snapshot!(
        "orders_update_prices",
        &mock,
        orders.update_prices(id).await.unwrap()
    );
    snapshot!(
        "orders_modify",
        &mock,
        orders
            .modify(id, |o| o.comments = Some("Back door".into()))
            .await
            .unwrap()
            .comments
    );
    let report = orders.report(id, ReportKind::Waybill).await.unwrap();
    snapshot!(
        "orders_report",
        &mock,
        (report.content_type, report.bytes.starts_with(b"%PDF"))
    );
    let signed: OrderId = mock.store().signed_order_ids()[0].into();
    snapshot!(
        "orders_signature",
        &mock,
        orders
            .signature(signed, SignatureType::Delivery)
            .await
            .unwrap()
            .map(|png| png.starts_with(b"\x89PNG"))
    );
    let uploaded = orders
        .upload_attachment(id, "pod.txt", b"delivered")
        .await
        .unwrap();
    snapshot!("orders_upload_attachment", &mock, uploaded.file_name);
    let attachment = uploaded.id.unwrap();
    snapshot!(
        "orders_download_attachment",
        &mock,
        orders
            .download_attachment(attachment)
            .await
            .map(|a| (a.file_name, a.bytes))
            .unwrap()
    );
    snapshot!(
        "orders_delete_attachment",
        &mock,
        orders.delete_attachment(attachment).await.unwrap()
    );
}

#[tokio::test]
async fn record_and_user_helpers() {
    let (mock, client) = setup().await;
    let store = mock.store();
    let driver: UserId = store.driver_ids()[0].into();
    let login = store.credentials(CredentialKind::User)[0].clone();
    let customer = store.customer(store.customer_ids()[0]).unwrap();
    mock.clear_requests();

    snapshot!(
        "customers_by_name",
        &mock,
        client
            .customers()
            .by_name(customer.name.clone().unwrap())
            .await
            .unwrap()
            .and_then(|c| c.name)
    );
    snapshot!(
        "customers_ids_filtered",
        &mock,
        client
            .customers()
            .ids(CustomerFilter::new().city("Dallas").inactive(false))
            .await
            .unwrap()
            .len()
    );
    snapshot!(
        "users_authenticate",
        &mock,
        client
            .users()
            .authenticate(&login.user_name, "wrong password")
            .await
            .unwrap()
    );
    snapshot!(
        "users_availability",
        &mock,
        client
            .users()
            .availability(driver)
            .await
            .unwrap()
            .user_id
            .is_some()
    );
    snapshot!(
        "users_positions",
        &mock,
        client
            .users()
            .positions(PositionFilter::new().user(driver))
            .await
            .unwrap()
            .len()
    );
    snapshot!(
        "users_latest_position",
        &mock,
        client
            .users()
            .latest_position(driver)
            .await
            .unwrap()
            .is_some()
    );
    let zone: ontime::types::Zone =
        serde_json::from_value(json!({"Name": "North", "PostalCodes": "75001, 75002"})).unwrap();
    snapshot!(
        "zones_save",
        &mock,
        client.zones().save(zone).await.unwrap().name
    );
}

#[tokio::test]
async fn remaining_helpers() {
    let (mock, client) = setup().await;
    let store = mock.store();
    let driver: UserId = store.driver_ids()[0].into();
    let order_ids = store.order_ids();
    let id: OrderId = order_ids[1].into();
    let order = store.order(order_ids[1]).unwrap();
    let contact = store.credentials(CredentialKind::Contact)[0].clone();
    let customer_login = store.credentials(CredentialKind::Customer)[0].clone();
    let set = store.price_set_ids()[0];
    let set_name = client
        .price_sets()
        .get(set.into())
        .await
        .unwrap()
        .internal_name
        .unwrap();
    let modifier = client
        .price_modifiers()
        .get(
            client
                .price_sets()
                .get(set.into())
                .await
                .unwrap()
                .price_modifiers
                .unwrap()[0],
        )
        .await
        .unwrap();
    mock.clear_requests();

    snapshot!(
        "orders_get_many",
        &mock,
        client
            .orders()
            .get_many([id, order_ids[2].into()])
            .await
            .unwrap()
            .len()
    );
    snapshot!(
        "orders_try_get_missing",
        &mock,
        client
            .orders()
            .try_get(OrderId::from(uuid::Uuid::nil()))
            .await
            .unwrap()
            .is_none()
    );
    snapshot!(
        "orders_total_cost",
        &mock,
        client.orders().total_cost(&order).await.unwrap()
    );
    snapshot!(
        "orders_attachments",
        &mock,
        client.orders().attachments(id).await.unwrap().len()
    );
    snapshot!(
        "contacts_authenticate",
        &mock,
        client
            .contacts()
            .authenticate(&contact.user_name, &contact.password)
            .await
            .unwrap()
            .is_some()
    );
    snapshot!(
        "customers_authenticate",
        &mock,
        client
            .customers()
            .authenticate(&customer_login.user_name, &customer_login.password)
            .await
            .unwrap()
            .is_some()
    );
    snapshot!(
        "price_sets_by_name",
        &mock,
        client
            .price_sets()
            .by_name(&set_name)
            .await
            .unwrap()
            .and_then(|s| s.internal_name)
    );
    snapshot!(
        "price_modifiers_by_name",
        &mock,
        client
            .price_modifiers()
            .by_name(modifier.name.as_deref().unwrap())
            .await
            .unwrap()
            .and_then(|m| m.name)
    );
    snapshot!(
        "locations_find",
        &mock,
        client
            .locations()
            .find(ontime::LocationFilter::new().city("Dallas").state("TX"))
            .collect_vec()
            .await
            .unwrap()
            .len()
    );
    snapshot!(
        "user_sessions_ids",
        &mock,
        client
            .user_sessions()
            .ids(ontime::UserSessionFilter::new().user(driver))
            .await
            .unwrap()
            .len()
    );
    let mut availability = client.users().availability(driver).await.unwrap();
    mock.clear_requests();
    availability.current_status = Some("Break".into());
    snapshot!(
        "users_update_availability",
        &mock,
        client
            .users()
            .update_availability(availability)
            .await
            .unwrap()
    );
    let position: ontime::types::UserPosition = serde_json::from_value(json!({
        "UserID": driver, "Latitude": 32.78, "Longitude": -96.8, "Timestamp": "2026-11-24T12:00:00"
    }))
    .unwrap();
    snapshot!(
        "users_report_position",
        &mock,
        client.users().report_position(position).await.unwrap()
    );
    let item: ontime::types::Item =
        serde_json::from_value(json!({"OrderID": id, "Description": "Extra box"})).unwrap();
    snapshot!(
        "items_save",
        &mock,
        client.items().save(item).await.unwrap().description
    );
}

/// Every setter of every filter, sent once: pins each filter's wire name and value format.
#[tokio::test]
async fn every_filter_parameter() {
    use ontime::{LocationFilter, UserFilter, UserSessionFilter};
    let (mock, client) = setup().await;
    let at = |d: u32, h: u32| {
        chrono::NaiveDate::from_ymd_opt(2026, 11, d)
            .unwrap()
            .and_hms_opt(h, 30, 0)
            .unwrap()
    };
    let location: ontime::LocationId = "0b9c3f52-5a64-4c37-9e0e-7f0a6d2d6a01".parse().unwrap();
    let other: ontime::LocationId = "0b9c3f52-5a64-4c37-9e0e-7f0a6d2d6a02".parse().unwrap();
    let user: UserId = "5d7e1e8a-3c1f-4b8e-8f57-2f1f5a6b7c01".parse().unwrap();
    mock.clear_requests();
    let orders = client
        .orders()
        .ids(
            OrderFilter::new()
                .customer_name("Vesigo Studios")
                .collection_location(location)
                .submitted_on(at(20, 0))
                .submitted_from(at(1, 8))
                .submitted_to(at(24, 18))
                .delivery_location(other)
                .assigned_user(user)
                .incoming_tracking_number("IN-1")
                .outgoing_tracking_number("OUT-2")
                .purchase_order_number("PO 77")
                .reference_number("REF&1")
                .status(StatusLevel::AssignedInRoute)
                .tracking_number("1000001"),
        )
        .await
        .unwrap();
    let customers = client
        .customers()
        .ids(
            CustomerFilter::new()
                .account_number("A-100")
                .address_line1("1 Main St")
                .city("Dallas")
                .country("US")
                .email("ops@example.com")
                .inactive(false)
                .name("Vesigo Studios")
                .postal_code("75201")
                .primary_contact_name("Ada Lovelace")
                .reference_number("R-9")
                .state("TX")
                .modified_from(at(1, 0))
                .modified_to(at(2, 0))
                .created_from(at(3, 0))
                .created_to(at(4, 0)),
        )
        .await
        .unwrap();
    let users = client
        .users()
        .ids(
            UserFilter::new()
                .email("driver@example.com")
                .first_name("Grace")
                .last_name("Hopper")
                .user_name("ghopper")
                .modified_from(at(5, 0))
                .modified_to(at(6, 0))
                .created_from(at(7, 0))
                .created_to(at(8, 0)),
        )
        .await
        .unwrap();
    let sessions = client
        .user_sessions()
        .ids(
            UserSessionFilter::new()
                .user(user)
                .logged_in_from(at(9, 7))
                .logged_out_by(at(9, 17)),
        )
        .await
        .unwrap();
    let locations = client
        .locations()
        .ids(LocationFilter::new().city("Dallas").state("TX"))
        .await
        .unwrap();
    let positions = client
        .users()
        .positions(
            PositionFilter::new()
                .user(user)
                .from(at(10, 6))
                .to(at(10, 20)),
        )
        .await
        .unwrap();
    let counts = (
        orders.len(),
        customers.len(),
        users.len(),
        sessions.len(),
        locations.len(),
        positions.len(),
    );
    settings().bind(|| {
        insta::assert_json_snapshot!("every_filter_parameter__requests", sent(&mock));
        insta::assert_snapshot!("every_filter_parameter__returns", format!("{counts:?}"));
    });
}

/// A blank name, tracking number or filter value would match every record (OnTime takes an
/// empty filter as none): the facade refuses it before sending anything.
#[tokio::test]
async fn blank_names_and_filter_values_are_refused_before_sending() {
    use ontime::{Error, LocationFilter, UserFilter};
    let (mock, client) = setup().await;
    mock.clear_requests();
    let refused = |result: ontime::Result<_>, what: &str| match result {
        Err(Error::InvalidRequest { message, .. }) => {
            assert!(message.contains("empty"), "{what}: {message}")
        }
        Err(other) => panic!("{what}: expected InvalidRequest, got {other:?}"),
        Ok(_) => panic!("{what}: a blank value was sent"),
    };
    refused(
        client.orders().by_tracking_number("").await.map(|_| ()),
        "by_tracking_number",
    );
    refused(
        client.customers().by_name("  ").await.map(|_| ()),
        "customers by_name",
    );
    refused(
        client.price_sets().by_name("").await.map(|_| ()),
        "price_sets by_name",
    );
    refused(
        client.price_modifiers().by_name("\t").await.map(|_| ()),
        "price_modifiers by_name",
    );
    refused(
        client
            .orders()
            .ids(OrderFilter::new().customer_name(""))
            .await
            .map(|_| ()),
        "orders customer_name",
    );
    refused(
        client
            .customers()
            .find(CustomerFilter::new().city(" "))
            .collect_vec()
            .await
            .map(|_| ()),
        "customers city",
    );
    refused(
        client
            .users()
            .ids(UserFilter::new().email(""))
            .await
            .map(|_| ()),
        "users email",
    );
    refused(
        client
            .locations()
            .ids(LocationFilter::new().state(""))
            .await
            .map(|_| ()),
        "locations state",
    );
    assert!(mock.requests().is_empty(), "{:?}", mock.requests());
    // Values with text still go out.
    let found = client.orders().by_tracking_number("1000001").await.unwrap();
    assert!(found.is_some());
}
