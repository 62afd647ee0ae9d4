//! Every record type and action of the facade against the stateful simulator (`ontime-mock`,
//! in-process on 127.0.0.1), plus the reliability matrix: each injected fault × each kind of
//! call gives the policy's outcome, with no panic and no duplicate write.

use std::time::Duration;

use futures::StreamExt;
use ontime::types;
use ontime::{
    Client, CustomerFilter, Error, LocationFilter, NoFilter, OrderFilter, OrderId, PositionFilter,
    ReportKind, RetryPolicy, SignatureType, StatusChange, StatusLevel, UserFilter, UserId,
    UserSessionFilter,
};
use ontime_mock::{
    CredentialKind, FaultKind, FaultRule, KeySpec, OnTimeMock, Operation, RecordKind, RunningMock,
    SeedVersion,
};
use uuid::Uuid;

/// The account-local instant every simulator here starts at (Tuesday 2026-11-24 12:00:00). The
/// clock is pinned, not taken from the wall clock: seeded data is laid out relative to it, so a
/// test that reads time would otherwise pass or fail by the time of day it runs.
fn clock_start() -> chrono::NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 24)
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .expect("valid date")
}

async fn simulator(orders: usize) -> RunningMock {
    simulator_at(orders, clock_start()).await
}

/// Seed 42 (data version 1) with the clock frozen at `start` (it moves only when a test moves it).
async fn simulator_at(orders: usize, start: chrono::NaiveDateTime) -> RunningMock {
    OnTimeMock::builder()
        .seed(42)
        .seed_version(SeedVersion::V1)
        .orders(orders)
        .clock_start(start)
        .frozen_clock()
        .start()
        .await
        .expect("simulator starts")
}

fn client_with_key(mock: &RunningMock, key: &str) -> Client {
    Client::builder()
        .base_url(mock.base_url())
        .api_key(key)
        .retry_policy(
            RetryPolicy::default()
                .initial_backoff(Duration::from_millis(5))
                .max_backoff(Duration::from_millis(20)),
        )
        .build()
        .expect("client")
}

fn client(mock: &RunningMock) -> Client {
    client_with_key(mock, mock.api_key())
}

#[tokio::test]
async fn orders_find_get_save_and_modify() {
    let mock = simulator(60).await;
    let client = client(&mock);
    let orders = client.orders();

    let all = orders.find_all().collect_vec().await.unwrap();
    assert_eq!(all.len(), 60);
    let first = all[0].clone();
    let id: OrderId = first.id.unwrap();
    assert_eq!(orders.get(id).await.unwrap(), first);
    assert_eq!(orders.get_many([id, id]).await.unwrap().len(), 2);
    assert_eq!(
        orders.try_get(OrderId::from(Uuid::nil())).await.unwrap(),
        None
    );
    assert!(matches!(
        orders.get(OrderId::from(Uuid::nil())).await,
        Err(Error::NotFound { .. })
    ));

    let tn = first.tracking_number.clone().unwrap();
    assert_eq!(
        orders
            .by_tracking_number(&tn)
            .await
            .unwrap()
            .and_then(|o| o.id),
        first.id
    );
    assert_eq!(
        orders.by_tracking_number("no-such-number").await.unwrap(),
        None
    );
    let delivered = orders
        .ids(OrderFilter::new().status(StatusLevel::Delivered))
        .await
        .unwrap();
    assert!(!delivered.is_empty() && delivered.len() < 60);

    // modify keeps every field but the one changed
    let changed = orders
        .modify(id, |o| o.comments = Some("Ring twice".into()))
        .await
        .unwrap();
    let mut expected = first.clone();
    expected.comments = Some("Ring twice".into());
    assert_eq!(changed, expected);
    assert_eq!(mock.store().order(id.as_uuid()), Some(changed.clone()));

    // try_modify whose change fails posts nothing and leaves the order as it was
    mock.clear_requests();
    let refused = orders
        .try_modify(id, |o| {
            o.comments = None; // a partial change that must not reach the server
            Err("weight unknown")
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, Error::ChangeRejected { operation: ontime::Operation::OrderPost, source } if source.to_string() == "weight unknown"),
        "{refused:?}"
    );
    assert!(
        refused.to_string().contains("nothing was written"),
        "{refused}"
    );
    let sent: Vec<&str> = mock.requests().iter().map(|r| r.operation_id()).collect();
    assert_eq!(sent, ["ordersGet"], "only the read went out");
    assert_eq!(mock.store().order(id.as_uuid()), Some(changed));

    // save without an ID creates with a client-assigned one; the server fills the rest
    let draft: types::Order = serde_json::from_value(serde_json::json!({
        "Customer": first.customer, "Description": "Two boxes", "PriceSet": first.price_set
    }))
    .unwrap();
    let created = orders.save(draft).await.unwrap();
    assert!(created.id.is_some());
    assert!(
        created.tracking_number.is_some(),
        "the server generates a tracking number"
    );
    assert_eq!(
        created.status_level,
        Some(StatusLevel::Dispatched),
        "new orders start as submitted"
    );
    assert_eq!(mock.store().order_count(), 61);
}

/// Customers: find with filters, get, by name, authenticate.
#[tokio::test]
async fn customers_are_found_fetched_and_authenticated() {
    let mock = simulator(30).await;
    let client = client(&mock);
    let store = mock.store();
    let customer_ids = client.customers().ids(CustomerFilter::new()).await.unwrap();
    assert_eq!(customer_ids.len(), store.customer_ids().len());
    let customer = client.customers().get(customer_ids[0]).await.unwrap();
    let name = customer.name.clone().unwrap();
    assert_eq!(
        client
            .customers()
            .by_name(&name)
            .await
            .unwrap()
            .and_then(|c| c.id),
        customer.id
    );
    assert_eq!(
        client
            .customers()
            .ids(CustomerFilter::new().name(name.clone()))
            .await
            .unwrap()[0],
        customer_ids[0]
    );
    let login = &store.credentials(CredentialKind::Customer)[0];
    assert_eq!(
        client
            .customers()
            .authenticate(&login.user_name, &login.password)
            .await
            .unwrap()
            .map(Uuid::from),
        Some(login.id)
    );
    assert_eq!(
        client
            .customers()
            .authenticate(&login.user_name, "wrong")
            .await
            .unwrap(),
        None
    );
}

/// Contacts, departments, locations, zones, vehicles, invoices, payments, statuses, sessions:
/// found (with filters where they have them) and fetched.
#[tokio::test]
async fn other_record_types_are_listed_and_filtered() {
    let mock = simulator(30).await;
    let client = client(&mock);
    let store = mock.store();
    let contacts = client
        .contacts()
        .find(NoFilter)
        .collect_vec()
        .await
        .unwrap();
    assert_eq!(contacts.len(), store.contact_ids().len());
    let login = &store.credentials(CredentialKind::Contact)[0];
    assert_eq!(
        client
            .contacts()
            .authenticate(&login.user_name, &login.password)
            .await
            .unwrap()
            .map(Uuid::from),
        Some(login.id)
    );
    let departments = client.departments().find_all().collect_vec().await.unwrap();
    assert!(!departments.is_empty());
    let locations = client.locations().find_all().collect_vec().await.unwrap();
    let city = locations[0].city.clone().unwrap();
    let in_city = client
        .locations()
        .find(LocationFilter::new().city(city.clone()))
        .collect_vec()
        .await
        .unwrap();
    assert!(
        !in_city.is_empty()
            && in_city
                .iter()
                .all(|l| l.city.as_deref() == Some(city.as_str()))
    );
    assert_eq!(
        client.zones().find_all().ids().await.unwrap().len(),
        store.zone_ids().len()
    );
    assert_eq!(
        client.vehicles().find_all().ids().await.unwrap().len(),
        store.vehicle_ids().len()
    );
    assert_eq!(
        client.invoices().find_all().ids().await.unwrap().len(),
        store.invoice_ids().len()
    );
    let statuses = client.statuses().find_all().ids().await.unwrap();
    assert!(!statuses.is_empty());
    client.statuses().get(statuses[0]).await.unwrap();
    let driver: UserId = store.driver_ids()[0].into();
    let sessions = client
        .user_sessions()
        .find(UserSessionFilter::new().user(driver))
        .collect_vec()
        .await
        .unwrap();
    assert!(sessions.iter().all(|s| s.user_id == Some(driver)));
}

/// Price sets and modifiers by id and by name.
#[tokio::test]
async fn price_sets_and_modifiers_by_id_and_by_name() {
    let mock = simulator(30).await;
    let client = client(&mock);
    let store = mock.store();
    let set = client
        .price_sets()
        .get(store.price_set_ids()[0].into())
        .await
        .unwrap();
    let by_name = client
        .price_sets()
        .by_name(set.internal_name.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(by_name.map(|s| s.id), Some(set.id));
    assert_eq!(
        client
            .price_sets()
            .by_name("No Such Service")
            .await
            .unwrap(),
        None
    );
    let modifier_id = set.price_modifiers.clone().unwrap_or_default();
    if let Some(first) = modifier_id.first() {
        let modifier = client.price_modifiers().get(*first).await.unwrap();
        let again = client
            .price_modifiers()
            .by_name(modifier.name.as_deref().unwrap())
            .await
            .unwrap();
        assert_eq!(again.map(|m| m.id), Some(modifier.id));
    }
}

/// Writes through `save` for every storable type, read back with `get`; a `modify` of the
/// customer keeps every other field, embedded records included.
#[tokio::test]
async fn every_storable_type_saves_and_reads_back() {
    let mock = simulator(30).await;
    let client = client(&mock);
    let store = mock.store();
    let customer_ids = client.customers().ids(CustomerFilter::new()).await.unwrap();
    let customer = client.customers().get(customer_ids[0]).await.unwrap();
    let driver: UserId = store.driver_ids()[0].into();
    let zone = client
        .zones()
        .save(
            serde_json::from_value(
                serde_json::json!({"Name": "Test Zone", "PostalCodes": "75001"}),
            )
            .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        client
            .zones()
            .get(zone.id.unwrap())
            .await
            .unwrap()
            .name
            .as_deref(),
        Some("Test Zone")
    );
    let vehicle = client
        .vehicles()
        .save(serde_json::from_value(serde_json::json!({"FleetID": "V-99", "Year": 2024})).unwrap())
        .await
        .unwrap();
    assert_eq!(
        client
            .vehicles()
            .get(vehicle.id.unwrap())
            .await
            .unwrap()
            .fleet_id
            .as_deref(),
        Some("V-99")
    );
    let contact = client
        .contacts()
        .save(
            serde_json::from_value(serde_json::json!({"Name": "Sam", "CustomerID": customer.id}))
                .unwrap(),
        )
        .await
        .unwrap();
    client.contacts().get(contact.id.unwrap()).await.unwrap();
    let department = client
        .departments()
        .save(
            serde_json::from_value(
                serde_json::json!({"Name": "Returns", "CustomerID": customer.id}),
            )
            .unwrap(),
        )
        .await
        .unwrap();
    client
        .departments()
        .get(department.id.unwrap())
        .await
        .unwrap();
    let location = client
        .locations()
        .save(
            serde_json::from_value(serde_json::json!({"City": "Plano", "AddressLine1": "1 Elm"}))
                .unwrap(),
        )
        .await
        .unwrap();
    client.locations().get(location.id.unwrap()).await.unwrap();
    let invoice = client
        .invoices()
        .save(
            serde_json::from_value(
                serde_json::json!({"Customer": customer.id, "InvoiceNumber": 9001}),
            )
            .unwrap(),
        )
        .await
        .unwrap();
    client.invoices().get(invoice.id.unwrap()).await.unwrap();
    let payment = client
        .payments()
        .save(
            serde_json::from_value(
                serde_json::json!({"Customer": customer.id, "Invoice": invoice.id, "Amount": 12.5}),
            )
            .unwrap(),
        )
        .await
        .unwrap();
    client.payments().get(payment.id.unwrap()).await.unwrap();
    assert!(
        client
            .payments()
            .find_all()
            .ids()
            .await
            .unwrap()
            .contains(&payment.id.unwrap())
    );
    let session = client
        .user_sessions()
        .save(
            serde_json::from_value(serde_json::json!({"UserID": driver, "LogInType": 2})).unwrap(),
        )
        .await
        .unwrap();
    client
        .user_sessions()
        .get(session.id.unwrap())
        .await
        .unwrap();
    let current = client.customers().get(customer.id.unwrap()).await.unwrap();
    assert!(
        current
            .contacts
            .as_ref()
            .unwrap()
            .iter()
            .any(|c| c.name.as_deref() == Some("Sam")),
        "the new contact is the customer's"
    );
    let customer2 = client
        .customers()
        .modify(customer.id.unwrap(), |c| {
            c.website = Some("https://example.org".into())
        })
        .await
        .unwrap();
    assert_eq!(customer2.website.as_deref(), Some("https://example.org"));
    let mut expected = current.clone();
    expected.website = Some("https://example.org".into());
    assert_eq!(
        customer2, expected,
        "every other field, embedded records included, survives the update"
    );
}

/// Items and compensations hang off an order.
#[tokio::test]
async fn items_and_compensations_hang_off_an_order() {
    let mock = simulator(30).await;
    let client = client(&mock);
    let store = mock.store();
    let driver: UserId = store.driver_ids()[0].into();
    let order_id: OrderId = store.order_ids()[0].into();
    let item = client
        .items()
        .save(
            serde_json::from_value(
                serde_json::json!({"OrderID": order_id, "Description": "Extra box", "Weight": 3.5}),
            )
            .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        client.items().get(item.id.unwrap()).await.unwrap().weight,
        Some(3.5)
    );
    let pay = client
        .user_misc_compensations()
        .save(serde_json::from_value(serde_json::json!({"User": driver, "OrderID": order_id, "Role": 2, "Type": 1, "Value": 7.5})).unwrap())
        .await
        .unwrap();
    assert_eq!(
        client
            .user_misc_compensations()
            .get(pay.id.unwrap())
            .await
            .unwrap()
            .value,
        Some(7.5)
    );
}

/// Users: find, get, authenticate.
#[tokio::test]
async fn users_are_found_and_authenticated() {
    let mock = simulator(30).await;
    let client = client(&mock);
    let store = mock.store();
    let users = client
        .users()
        .find(UserFilter::new())
        .collect_vec()
        .await
        .unwrap();
    assert_eq!(users.len(), store.user_ids().len());
    let login = &store.credentials(CredentialKind::User)[0];
    assert_eq!(
        client
            .users()
            .authenticate(&login.user_name, &login.password)
            .await
            .unwrap()
            .map(Uuid::from),
        Some(login.id)
    );
    let by_user_name = client
        .users()
        .ids(UserFilter::new().user_name(login.user_name.clone()))
        .await
        .unwrap();
    assert_eq!(
        by_user_name
            .iter()
            .map(|id| id.as_uuid())
            .collect::<Vec<_>>(),
        vec![login.id]
    );
}

#[tokio::test]
async fn order_actions_change_the_order() {
    let mock = simulator(40).await;
    let client = client(&mock);
    let orders = client.orders();
    let store = mock.store();
    let id: OrderId = store.order_ids()[3].into();

    let before = orders.timeline(id).await.unwrap();
    assert_eq!(
        orders
            .update_status(
                id,
                StatusChange::new(StatusLevel::Delivered).label("Left at reception")
            )
            .await
            .unwrap(),
        id
    );
    let after = orders.timeline(id).await.unwrap();
    assert_eq!(after.len(), before.len() + 1);
    assert_eq!(after.last().unwrap().level, Some(StatusLevel::Delivered));
    let tn = orders.get(id).await.unwrap().tracking_number.unwrap();
    assert_eq!(
        orders
            .update_status(tn.as_str(), StatusChange::new(StatusLevel::Cancelled))
            .await
            .unwrap(),
        id,
        "by tracking number"
    );
    assert_eq!(
        orders.get(id).await.unwrap().status_level,
        Some(StatusLevel::Cancelled)
    );

    orders
        .set_cod_requirement(id, ontime::CodRequirement::new(42.5).at_delivery(true))
        .await
        .unwrap();
    let order = orders.get(id).await.unwrap();
    assert_eq!(
        (
            order.cod_amount,
            order.delivery_cod_required,
            order.collection_cod_required
        ),
        (Some(42.5), Some(true), Some(false))
    );
    assert!(matches!(
        orders
            .set_cod_requirement(
                id,
                ontime::CodRequirement::new(f64::NAN)
                    .at_collection(true)
                    .at_delivery(true)
            )
            .await,
        Err(Error::InvalidRequest { .. })
    ));
    orders
        .set_signature_requirement(id, ontime::SignatureRequirement::new().at_collection(true))
        .await
        .unwrap();
    let order = orders.get(id).await.unwrap();
    assert_eq!(
        (
            order.collection_signature_required,
            order.delivery_signature_required
        ),
        (Some(true), Some(false))
    );

    orders.update_prices(id).await.unwrap();
    let cost = orders.total_cost(&order).await.unwrap();
    assert!(
        (cost - store.total_cost(&order)).abs() < 1e-9 && cost > 0.0,
        "{cost}"
    );

    let report = orders.report(id, ReportKind::ShippingLabel).await.unwrap();
    assert!(report.bytes.starts_with(b"%PDF"), "a PDF");
    assert_eq!(report.content_type.as_deref(), Some("application/pdf"));

    let signed: OrderId = store.signed_order_ids()[0].into();
    let png = orders
        .signature(signed, SignatureType::Delivery)
        .await
        .unwrap()
        .expect("signed");
    assert!(png.starts_with(b"\x89PNG"));
    let unsigned: OrderId = store
        .order_ids()
        .into_iter()
        .find(|o| !store.signed_order_ids().contains(o))
        .unwrap()
        .into();
    assert_eq!(
        orders
            .signature(unsigned, SignatureType::Delivery)
            .await
            .unwrap(),
        None,
        "no signature is None"
    );

    let uploaded = orders
        .upload_attachment(id, "note.txt", b"hello courier")
        .await
        .unwrap();
    let attachment_id = uploaded.id.unwrap();
    assert!(
        orders
            .attachment_ids(id)
            .await
            .unwrap()
            .contains(&attachment_id)
    );
    assert!(
        client
            .file_attachments()
            .ids_for_order(id)
            .await
            .unwrap()
            .contains(&attachment_id)
    );
    let records = client.file_attachments().for_order(id).await.unwrap();
    let record = records
        .iter()
        .find(|r| r.id == Some(attachment_id))
        .expect("the upload is among the order's attachment records");
    assert_eq!(record.file_name.as_deref(), Some("note.txt"));
    assert!(record.contents.as_deref().is_some_and(|c| !c.is_empty()));
    let downloaded = orders.download_attachment(attachment_id).await.unwrap();
    assert_eq!(
        (downloaded.file_name.as_deref(), &downloaded.bytes[..]),
        (Some("note.txt"), &b"hello courier"[..])
    );
    assert_eq!(
        orders.attachments(id).await.unwrap().len(),
        orders.attachment_ids(id).await.unwrap().len()
    );
    orders.delete_attachment(attachment_id).await.unwrap();
    assert!(
        !orders
            .attachment_ids(id)
            .await
            .unwrap()
            .contains(&attachment_id)
    );
}

#[tokio::test]
async fn user_availability_and_positions() {
    let mock = simulator(10).await;
    availability_and_positions(&mock).await;
}

/// The case that failed on a fresh clone: the clock started (from the wall clock) exactly on
/// one of the seeded 15-minute position ticks, so the one-second window around the reported
/// position also held a seeded one. Pinned here to such a tick.
#[tokio::test]
async fn user_positions_window_on_a_seeded_tick() {
    let probe = simulator(10).await;
    let driver = probe.store().driver_ids()[0];
    let tick = probe
        .store()
        .positions(driver)
        .iter()
        .filter_map(|p| p.timestamp.as_ref().map(|t| t.to_string()))
        .filter_map(|t| {
            chrono::NaiveDateTime::parse_from_str(t.get(..19)?, "%Y-%m-%dT%H:%M:%S").ok()
        })
        .filter(|t| t.date() == clock_start().date())
        .max()
        .expect("the driver has positions today");
    let mock = simulator_at(10, tick).await;
    let seeded_at_tick = mock
        .store()
        .positions(driver)
        .iter()
        .filter(|p| {
            p.timestamp
                .as_ref()
                .and_then(|t| t.to_string().get(..19).map(str::to_owned))
                == Some(tick.format("%Y-%m-%dT%H:%M:%S").to_string())
        })
        .count();
    assert_eq!(
        seeded_at_tick, 1,
        "a seeded position sits on the clock's start"
    );
    availability_and_positions(&mock).await;
}

async fn availability_and_positions(mock: &RunningMock) {
    let client = client(mock);
    let users = client.users();
    let driver: UserId = mock.store().driver_ids()[0].into();

    let availability = users.availability(driver).await.unwrap();
    assert_eq!(availability.user_id, Some(driver));
    let mut changed = availability.clone();
    changed.is_available = Some(!availability.is_available.unwrap_or(false));
    changed.current_status = Some("Lunch".into());
    users.update_availability(changed).await.unwrap();
    let now = users.availability(driver).await.unwrap();
    assert_eq!(now.current_status.as_deref(), Some("Lunch"));

    let before = users
        .positions(PositionFilter::new().user(driver))
        .await
        .unwrap();
    let at = mock.clock().now();
    let window_around_at = || {
        PositionFilter::new()
            .user(driver)
            .from(at - chrono::Duration::seconds(1))
            .to(at + chrono::Duration::seconds(1))
    };
    // Seeded positions fall every 15 minutes of a shift: one may sit inside the window.
    let seeded_in_window = users.positions(window_around_at()).await.unwrap();
    let position: types::UserPosition = serde_json::from_value(serde_json::json!({
        "UserID": driver, "Latitude": 32.9, "Longitude": -96.8, "Timestamp": at.format("%Y-%m-%dT%H:%M:%S").to_string()
    }))
    .unwrap();
    users.report_position(position).await.unwrap();
    let after = users
        .positions(PositionFilter::new().user(driver))
        .await
        .unwrap();
    assert_eq!(after.len(), before.len() + 1);
    let latest = users
        .latest_position(driver)
        .await
        .unwrap()
        .expect("a position");
    assert_eq!(
        (latest.latitude, latest.longitude),
        (Some(32.9), Some(-96.8))
    );
    let window = users.positions(window_around_at()).await.unwrap();
    assert_eq!(
        window.len(),
        seeded_in_window.len() + 1,
        "the window holds what it held plus the reported position"
    );
    assert!(
        window
            .iter()
            .any(|p| (p.latitude, p.longitude) == (Some(32.9), Some(-96.8)))
    );
    assert!(window.len() < after.len(), "the date range filters");
}

#[tokio::test]
async fn keys_are_checked_and_scoped() {
    let mock = simulator(40).await;
    let bad = client_with_key(&mock, "not-a-key");
    assert!(matches!(
        bad.orders().ids(OrderFilter::new()).await,
        Err(Error::Unauthorized { .. })
    ));

    let scoped = client_with_key(&mock, mock.customer_key());
    let mine = scoped.orders().find_all().collect_vec().await.unwrap();
    assert!(!mine.is_empty());
    assert!(
        mine.iter()
            .all(|o| o.customer == Some(mock.scoped_customer().into()))
    );
    assert_eq!(
        mine.len(),
        mock.store()
            .customer_order_ids(mock.scoped_customer())
            .len()
    );

    let key = mock.add_key(KeySpec {
        deny: vec![RecordKind::Order],
        ..KeySpec::default()
    });
    let denied = client_with_key(&mock, &key);
    assert!(matches!(
        denied.orders().ids(OrderFilter::new()).await,
        Err(Error::Forbidden { .. })
    ));
    denied
        .customers()
        .ids(CustomerFilter::new())
        .await
        .expect("other records still allowed");

    // The server's quota headers are readable, and every call was counted.
    let client = client(&mock);
    client.orders().ids(OrderFilter::new()).await.unwrap();
    let quota = client.quota();
    assert_eq!(quota.daily_limit, Some(ontime_mock::DEFAULT_DAILY_QUOTA));
    assert!(quota.daily_remaining.is_some() && quota.calls == 1);
}

#[tokio::test]
async fn streaming_holds_at_most_the_concurrency_limit_in_flight() {
    let mock = simulator(200).await;
    let client = client(&mock);
    let limit = 4;
    let mut stream = client
        .orders()
        .find(OrderFilter::new())
        .concurrency(limit)
        .stream();
    let mut seen = 0;
    while seen < 10 {
        stream.next().await.expect("an item").expect("an order");
        seen += 1;
    }
    // Let any eagerly started fetches land before counting.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let fetched = mock.requests_for(Operation::OrdersGet).len();
    assert!(
        fetched <= seen + limit,
        "{fetched} fetches for {seen} consumed records (limit {limit})"
    );
    drop(stream);
}

/// The reliability matrix.
mod faults {
    use super::*;

    #[derive(Clone, Copy, Debug)]
    enum Outcome {
        /// The call succeeds after exactly this many requests.
        Ok(usize),
        /// The call fails after one request with an error accepted by the check.
        Fails(fn(&Error) -> bool),
    }

    const GET: Operation = Operation::OrdersGet;
    const POST: Operation = Operation::OrderPost;
    const STATUS: Operation = Operation::OrderUpdateStatus;

    fn server(status: u16) -> fn(&Error) -> bool {
        match status {
            500 => |e| matches!(e, Error::Server { status: 500, .. }),
            502 => |e| matches!(e, Error::Server { status: 502, .. }),
            503 => |e| matches!(e, Error::Server { status: 503, .. }),
            _ => unreachable!("not used"),
        }
    }

    fn rule(kind: FaultKind, operation: Operation) -> FaultRule {
        FaultRule::always(kind).on_operation(operation).first(1)
    }

    /// (fault, outcome for GET, for an idempotent post, for a non-idempotent post)
    fn matrix() -> Vec<(FaultKind, Outcome, Outcome, Outcome)> {
        use FaultKind::*;
        use Outcome::*;
        let rate_limited: fn(&Error) -> bool = |e| matches!(e, Error::RateLimited { .. });
        let malformed: fn(&Error) -> bool = |e| {
            matches!(
                e,
                Error::Decode {
                    truncated: false,
                    ..
                }
            )
        };
        // A non-idempotent write is never retried blindly: when its answer may have been lost
        // it reads the timeline; applied means done (one request), provably not applied means
        // one re-send (two requests).
        vec![
            (
                Status {
                    status: 500,
                    retry_after: None,
                },
                Fails(server(500)),
                Fails(server(500)),
                Ok(2),
            ),
            (
                Status {
                    status: 502,
                    retry_after: None,
                },
                Ok(2),
                Ok(2),
                Ok(2),
            ),
            (
                Status {
                    status: 503,
                    retry_after: Some(1),
                },
                Ok(2),
                Ok(2),
                Ok(2),
            ),
            (
                Status {
                    status: 429,
                    retry_after: Some(1),
                },
                Ok(2),
                Ok(2),
                Fails(rate_limited),
            ),
            (DropConnection, Ok(2), Ok(2), Ok(2)),
            (TruncatedBody, Ok(2), Ok(2), Ok(1)),
            (MalformedJson, Fails(malformed), Fails(malformed), Ok(1)),
            (HtmlError { status: 502 }, Ok(2), Ok(2), Ok(2)),
            (EmptyBody { status: 503 }, Ok(2), Ok(2), Ok(2)),
            (
                PlainTextError { status: 500 },
                Fails(server(500)),
                Fails(server(500)),
                Ok(2),
            ),
        ]
    }

    fn check<T: std::fmt::Debug>(
        what: &str,
        result: ontime::Result<T>,
        requests: usize,
        expected: Outcome,
    ) {
        match (expected, &result) {
            (Outcome::Ok(n), Ok(_)) => assert_eq!(requests, n, "{what}: requests"),
            (Outcome::Fails(accept), Err(e)) => {
                assert!(accept(e), "{what}: unexpected error {e:?}");
                assert_eq!(requests, 1, "{what}: a failing call is not repeated");
            }
            _ => panic!("{what}: expected {expected:?}, got {result:?}"),
        }
    }

    #[tokio::test]
    async fn every_fault_and_call_kind_gives_the_policys_outcome_without_duplicate_writes() {
        let mock = simulator(20).await;
        let client = client(&mock);
        let store = mock.store();
        let target: OrderId = store.order_ids()[0].into();
        let template = store.order(target.as_uuid()).unwrap();

        for (fault, on_get, on_post, on_status) in matrix() {
            let name = fault.name();

            mock.clear_requests();
            mock.set_faults(vec![rule(fault.clone(), GET)]);
            let result = client.orders().get(target).await;
            check(
                &format!("{name} GET"),
                result,
                mock.requests_for(GET).len(),
                on_get,
            );

            // An idempotent post: a new order with a client-assigned ID.
            mock.clear_requests();
            mock.set_faults(vec![rule(fault.clone(), POST)]);
            let count = store.order_count();
            let new_id = OrderId::new_random();
            let mut order = template.clone();
            order.id = Some(new_id);
            order.tracking_number = None;
            let result = client.orders().save(order).await;
            let posts = mock.requests_for(POST).len();
            check(&format!("{name} idempotent post"), result, posts, on_post);
            let stored = store.order(new_id.as_uuid()).is_some();
            let applied_responses = mock
                .requests_for(POST)
                .iter()
                .filter(|r| (200..300).contains(&r.status))
                .count();
            assert_eq!(
                store.order_count(),
                count + usize::from(stored),
                "{name}: one order at most, however many posts"
            );
            assert_eq!(
                stored,
                applied_responses > 0 || fault_applies_write(&fault),
                "{name}: the write landed iff the server applied it"
            );

            // A non-idempotent post: a status change appends to the history.
            mock.clear_requests();
            mock.set_faults(vec![rule(fault.clone(), STATUS)]);
            let history = store.status_history(target.as_uuid()).unwrap().len();
            let result = client
                .orders()
                .update_status(target, StatusChange::new(StatusLevel::AssignedInRoute))
                .await;
            let sent = mock.requests_for(STATUS).len();
            let succeeded = result.is_ok();
            check(
                &format!("{name} non-idempotent post"),
                result,
                sent,
                on_status,
            );
            let grown = store.status_history(target.as_uuid()).unwrap().len() - history;
            assert_eq!(
                grown,
                usize::from(succeeded),
                "{name}: the status was appended exactly once when the call succeeded, never twice"
            );
        }
        mock.clear_faults();
    }

    /// Faults that corrupt or delay the response of a request the server did carry out.
    fn fault_applies_write(fault: &FaultKind) -> bool {
        matches!(
            fault,
            FaultKind::TruncatedBody
                | FaultKind::MalformedJson
                | FaultKind::SlowBody { .. }
                | FaultKind::Latency { .. }
        )
    }
}

/// Writes whose answer is lost, concurrent writers, and ambiguous tracking numbers.
mod writes {
    use super::*;
    use ontime::Attachment;

    const STATUS: Operation = Operation::OrderUpdateStatus;
    const UPLOAD: Operation = Operation::OrderFileAttachmentPost;
    const POSITION: Operation = Operation::UserUpdatePosition;
    const DELETE: Operation = Operation::OrderFileAttachmentDelete;
    const POST: Operation = Operation::OrderPost;

    /// Faults that lose the answer of a write, and whether the server applied the write
    /// before losing it. `late` holds the answer back past the client's 1 s timeout after the
    /// write was applied: the "landed, then answered too late" case of real servers.
    fn lost_answers() -> Vec<(&'static str, FaultKind, bool)> {
        vec![
            (
                "late",
                FaultKind::LateAnswer {
                    delay: Duration::from_millis(1500),
                },
                true,
            ),
            ("truncate", FaultKind::TruncatedBody, true),
            ("malformed", FaultKind::MalformedJson, true),
            (
                "slow",
                FaultKind::SlowBody {
                    chunk_delay: Duration::from_millis(400),
                },
                true,
            ),
            ("drop", FaultKind::DropConnection, false),
        ]
    }

    /// A client whose timeout the slow fault outlasts (a large attachment's answer arrives in
    /// eight chunks 400 ms apart), with quick retries.
    fn impatient(mock: &RunningMock) -> Client {
        Client::builder()
            .base_url(mock.base_url())
            .api_key(mock.api_key())
            .timeout(Duration::from_millis(1000))
            .retry_policy(
                RetryPolicy::default()
                    .initial_backoff(Duration::from_millis(5))
                    .max_backoff(Duration::from_millis(20)),
            )
            .build()
            .expect("client")
    }

    fn lose_first(kind: FaultKind, operation: Operation) -> FaultRule {
        FaultRule::always(kind).on_operation(operation).first(1)
    }

    /// Each lost-answer fault x each write that is not safe to repeat, then a rerun when the
    /// call failed: the store holds exactly one copy, and the call itself resolved the loss.
    #[tokio::test]
    async fn a_lost_answer_is_resolved_by_reading_and_a_rerun_never_duplicates() {
        let mock = simulator(12).await;
        let client = impatient(&mock);
        let store = mock.store();
        let orders = client.orders();
        let users = client.users();
        let driver: UserId = store.driver_ids()[0].into();
        // Large enough that the slow fault spreads its answer over several chunks.
        let contents: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();

        for (n, (name, fault, applied_first)) in lost_answers().into_iter().enumerate() {
            let order: OrderId = store.order_ids()[n].into();

            // A status change.
            let label = format!("lost answer {name}");
            let change = || StatusChange::new(StatusLevel::AssignedInRoute).label(label.clone());
            let entries = || {
                store
                    .status_history(order.as_uuid())
                    .unwrap()
                    .iter()
                    .filter(|s| s.name.as_deref() == Some(label.as_str()))
                    .count()
            };
            mock.clear_requests();
            mock.set_faults(vec![lose_first(fault.clone(), STATUS)]);
            let result = orders.update_status(order, change()).await;
            mock.clear_faults();
            let sends = mock.requests_for(STATUS).len();
            if result.is_err() {
                orders.update_status(order, change()).await.unwrap();
            }
            assert_eq!(entries(), 1, "{name}: one status entry ({result:?})");
            // The slow fault cannot delay a one-chunk answer ("true"): nothing was lost.
            if !matches!(fault, FaultKind::SlowBody { .. }) {
                assert_eq!(
                    result.as_ref().ok(),
                    Some(&order),
                    "{name}: resolved, {result:?}"
                );
                assert_eq!(
                    sends,
                    if applied_first { 1 } else { 2 },
                    "{name}: re-sent only when provably not applied"
                );
            }

            // An attachment upload.
            let file = format!("{name}.bin");
            let copies = || store.attachment_ids(order.as_uuid()).len();
            let before = copies();
            mock.clear_requests();
            mock.set_faults(vec![lose_first(fault.clone(), UPLOAD)]);
            let result = orders
                .upload_attachment(order, file.clone(), &contents)
                .await;
            mock.clear_faults();
            let sends = mock.requests_for(UPLOAD).len();
            if result.is_err() {
                orders
                    .upload_attachment(order, file.clone(), &contents)
                    .await
                    .unwrap();
            }
            assert_eq!(copies(), before + 1, "{name}: one attachment ({result:?})");
            let stored = result.unwrap_or_else(|e| panic!("{name}: upload resolved: {e}"));
            assert_eq!(stored.file_name.as_deref(), Some(file.as_str()));
            let downloaded: Attachment = orders
                .download_attachment(stored.id.unwrap())
                .await
                .unwrap();
            assert_eq!(
                downloaded.bytes, contents,
                "{name}: the resolved record is the upload"
            );
            assert_eq!(
                sends,
                if applied_first { 1 } else { 2 },
                "{name}: upload sends"
            );

            // A position report.
            let latitude = 30.0 + n as f64;
            let position: types::UserPosition = serde_json::from_value(serde_json::json!({
                "UserID": driver, "Latitude": latitude, "Longitude": -97.25
            }))
            .unwrap();
            let reports = || {
                store
                    .positions(driver.as_uuid())
                    .iter()
                    .filter(|p| p.latitude == Some(latitude))
                    .count()
            };
            mock.clear_requests();
            mock.set_faults(vec![lose_first(fault.clone(), POSITION)]);
            let result = users.report_position(position.clone()).await;
            mock.clear_faults();
            let sends = mock.requests_for(POSITION).len();
            if result.is_err() {
                users.report_position(position).await.unwrap();
            }
            assert_eq!(reports(), 1, "{name}: one position ({result:?})");
            if !matches!(fault, FaultKind::SlowBody { .. }) {
                assert!(result.is_ok(), "{name}: resolved, {result:?}");
                assert_eq!(
                    sends,
                    if applied_first { 1 } else { 2 },
                    "{name}: position sends"
                );
            }
        }
    }

    /// When the read that should resolve a lost answer fails too, the outcome is unknown: a
    /// typed error naming the order and what was sent, and no blind re-send.
    #[tokio::test]
    async fn a_lost_answer_that_reading_cannot_resolve_is_outcome_unknown() {
        let mock = simulator(5).await;
        let client = client(&mock);
        let order: OrderId = mock.store().order_ids()[0].into();
        let history = mock.store().status_history(order.as_uuid()).unwrap().len();
        mock.set_faults(vec![
            lose_first(FaultKind::TruncatedBody, STATUS),
            // A harmless fault on the first timeline read (the count before sending) keeps the
            // next rule off it; every later timeline read fails.
            lose_first(
                FaultKind::SlowBody {
                    chunk_delay: Duration::ZERO,
                },
                Operation::OrderStatusChanges,
            ),
            FaultRule::status(500, None).on_operation(Operation::OrderStatusChanges),
        ]);
        let err = client
            .orders()
            .update_status(
                order,
                StatusChange::new(StatusLevel::Delivered).label("Dock 3"),
            )
            .await
            .unwrap_err();
        mock.clear_faults();
        match &err {
            Error::OutcomeUnknown {
                operation,
                sent,
                check,
                ..
            } => {
                assert_eq!(*operation, ontime::Operation::OrderUpdateStatus);
                assert!(
                    sent.contains(&order.to_string()) && sent.contains("Dock 3"),
                    "{sent}"
                );
                assert!(
                    matches!(check.as_deref(), Some(Error::Server { status: 500, .. })),
                    "{check:?}"
                );
            }
            other => panic!("expected OutcomeUnknown, got {other:?}"),
        }
        assert_eq!(mock.requests_for(STATUS).len(), 1, "not re-sent");
        assert_eq!(
            mock.store().status_history(order.as_uuid()).unwrap().len(),
            history + 1,
            "it was in fact applied, once"
        );
    }

    /// A delete whose answer is lost is retried; the retry's 404 means the first attempt
    /// deleted it. A 404 on the first attempt is still "not found".
    #[tokio::test]
    async fn a_retried_delete_that_finds_nothing_succeeded() {
        let mock = simulator(5).await;
        let client = client(&mock);
        let orders = client.orders();
        let order: OrderId = mock.store().order_ids()[0].into();
        for (name, fault) in [
            ("truncate", FaultKind::TruncatedBody),
            ("drop", FaultKind::DropConnection),
            (
                "503",
                FaultKind::Status {
                    status: 503,
                    retry_after: None,
                },
            ),
        ] {
            let file = orders
                .upload_attachment(order, format!("{name}.txt"), b"to delete")
                .await
                .unwrap();
            let id = file.id.unwrap();
            mock.clear_requests();
            mock.set_faults(vec![lose_first(fault, DELETE)]);
            let deleted = orders.delete_attachment(id).await;
            mock.clear_faults();
            assert!(matches!(deleted, Ok(())), "{name}: {deleted:?}");
            assert!(
                !mock
                    .store()
                    .attachment_ids(order.as_uuid())
                    .contains(&id.as_uuid())
            );
            assert_eq!(mock.requests_for(DELETE).len(), 2, "{name}: one retry");
        }
        let missing = orders
            .delete_attachment(ontime::FileAttachmentId::new_random())
            .await;
        assert!(
            matches!(missing, Err(Error::NotFound { .. })),
            "{missing:?}"
        );
    }

    /// A new order whose save fails after OnTime stored it: the error carries the ID it was
    /// posted under, and saving again with that ID replaces it instead of adding a second.
    #[tokio::test]
    async fn a_failed_create_names_its_id_so_a_rerun_is_an_upsert() {
        let mock = simulator(5).await;
        let client = client(&mock);
        let store = mock.store();
        let mut draft = store.order(store.order_ids()[0]).unwrap();
        draft.id = None;
        draft.tracking_number = None;
        let count = store.order_count();
        mock.set_faults(vec![lose_first(FaultKind::MalformedJson, POST)]);
        let err = client.orders().save(draft.clone()).await.unwrap_err();
        mock.clear_faults();
        let id = err.posted_id().expect("the error names the posted ID");
        assert!(
            matches!(&err, Error::Save { source, .. } if matches!(**source, Error::Decode { .. })),
            "{err:?}"
        );
        assert!(err.to_string().contains(&id.to_string()), "{err}");
        assert!(err.may_have_been_applied());
        assert_eq!(
            store.order_count(),
            count + 1,
            "stored although the answer was lost"
        );
        draft.id = Some(id.into());
        let saved = client.orders().save(draft).await.unwrap();
        assert_eq!(saved.id, Some(id.into()));
        assert_eq!(store.order_count(), count + 1, "the rerun replaced it");

        // A save of a record that has an ID is not wrapped: the caller knows the ID.
        mock.set_faults(vec![lose_first(FaultKind::MalformedJson, POST)]);
        let err = client.orders().save(saved).await.unwrap_err();
        mock.clear_faults();
        assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    }

    /// Runs `write` on another client while the test's task is blocked inside a `modify`
    /// change: the concurrent writer lands between modify's first read and its post.
    fn meanwhile<T>(write: impl std::future::Future<Output = ontime::Result<T>>) -> T {
        let handle = tokio::runtime::Handle::current();
        tokio::task::block_in_place(|| handle.block_on(write)).expect("the concurrent write")
    }

    fn other_level(level: Option<StatusLevel>) -> StatusLevel {
        if level == Some(StatusLevel::Delivered) {
            StatusLevel::AssignedInRoute
        } else {
            StatusLevel::Delivered
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn modify_never_posts_back_a_status_changed_while_it_ran() {
        let mock = simulator(5).await;
        let client = client(&mock);
        let driver = client.clone();
        let id: OrderId = mock.store().order_ids()[1].into();
        let level = other_level(mock.store().order(id.as_uuid()).unwrap().status_level);
        let mut raced = false;
        let saved = client
            .orders()
            .modify(id, |order| {
                if !raced {
                    raced = true;
                    meanwhile(
                        driver
                            .orders()
                            .update_status(id, StatusChange::new(level.clone())),
                    );
                }
                order.comments = Some("Fragile".into());
            })
            .await
            .unwrap();
        let stored = mock.store().order(id.as_uuid()).unwrap();
        assert_eq!(
            stored.status_level,
            Some(level.clone()),
            "the driver's status stays"
        );
        assert_eq!(saved.status_level, Some(level));
        assert_eq!(stored.comments.as_deref(), Some("Fragile"));
        let history = mock.store().status_history(id.as_uuid()).unwrap();
        assert!(
            history
                .iter()
                .all(|s| s.description.as_deref() != Some("Status changed by order post")),
            "no status change by the update: {history:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_modifies_of_different_fields_keep_both_changes() {
        let mock = simulator(5).await;
        let client = client(&mock);
        let other = client.clone();
        let id: OrderId = mock.store().order_ids()[2].into();
        let mut raced = false;
        client
            .orders()
            .modify(id, |order| {
                if !raced {
                    raced = true;
                    meanwhile(
                        other
                            .orders()
                            .modify(id, |o| o.purchase_order_number = Some("PO-77".into())),
                    );
                }
                order.comments = Some("Ring twice".into());
            })
            .await
            .unwrap();
        let stored = mock.store().order(id.as_uuid()).unwrap();
        assert_eq!(
            (
                stored.comments.as_deref(),
                stored.purchase_order_number.as_deref()
            ),
            (Some("Ring twice"), Some("PO-77"))
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_record_that_keeps_moving_is_a_conflict_and_nothing_is_posted() {
        let mock = simulator(5).await;
        let client = client(&mock);
        let other = client.clone();
        let id: OrderId = mock.store().order_ids()[3].into();
        let mut round = 0;
        let err = client
            .orders()
            .modify(id, |order| {
                round += 1;
                let text = format!("moved {round}");
                meanwhile(
                    other
                        .orders()
                        .modify(id, move |o| o.reference_number = Some(text.clone())),
                );
                order.comments = Some("never posted".into());
            })
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Conflict { posted: false, id: conflict, .. } if *conflict == id.as_uuid()),
            "{err:?}"
        );
        assert_eq!(round, ontime::MODIFY_ROUNDS);
        let stored = mock.store().order(id.as_uuid()).unwrap();
        assert_ne!(stored.comments.as_deref(), Some("never posted"));
        assert_eq!(
            stored.reference_number,
            Some(format!("moved {}", ontime::MODIFY_ROUNDS)),
            "the other writer's changes all stand"
        );
    }

    /// Two orders with one tracking number: every lookup and action refuses it and names both.
    #[tokio::test]
    async fn a_shared_tracking_number_is_refused_everywhere_with_the_candidates() {
        let mock = simulator(5).await;
        let client = client(&mock);
        let orders = client.orders();
        let store = mock.store();
        let twin = store.order(store.order_ids()[0]).unwrap();
        let tn = twin.tracking_number.clone().unwrap();
        let mut copy = twin.clone();
        copy.id = None;
        let copy = orders.save(copy).await.unwrap();
        let mut both = vec![twin.id.unwrap(), copy.id.unwrap()];
        both.sort();
        let ambiguous = |result: Result<(), Error>| match result {
            Err(Error::Ambiguous {
                mut candidates,
                what,
            }) => {
                candidates.sort();
                assert_eq!(candidates, both, "{what}");
                assert!(what.contains(&tn));
            }
            other => panic!("expected Ambiguous, got {other:?}"),
        };
        let fingerprint = store.fingerprint();
        ambiguous(orders.resolve(tn.as_str()).await.map(drop));
        ambiguous(orders.by_tracking_number(tn.as_str()).await.map(drop));
        ambiguous(
            orders
                .update_status(tn.as_str(), StatusChange::new(StatusLevel::Cancelled))
                .await
                .map(drop),
        );
        ambiguous(
            orders
                .set_cod_requirement(
                    tn.as_str(),
                    ontime::CodRequirement::new(1.0).at_collection(true),
                )
                .await
                .map(drop),
        );
        ambiguous(
            orders
                .set_signature_requirement(
                    tn.as_str(),
                    ontime::SignatureRequirement::new().at_collection(true),
                )
                .await
                .map(drop),
        );
        assert_eq!(store.fingerprint(), fingerprint, "nothing was written");
        let unique = store.order(store.order_ids()[1]).unwrap();
        let unique_tn = unique.tracking_number.unwrap();
        assert_eq!(
            orders.resolve(unique_tn.as_str()).await.unwrap().as_uuid(),
            unique.id.unwrap()
        );
        assert!(matches!(
            orders.resolve("no-such-number").await,
            Err(Error::NotFound { .. })
        ));
    }
}
