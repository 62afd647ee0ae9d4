//! OnTime's behaviour, not a generic CRUD: upserts that clear omitted fields, tracking numbers,
//! the initial status, status history, pricing, positions, availability, attachments,
//! signatures, reports, authentication, finder filters, 400s that change nothing, determinism.

use crate::common;
use ontime_mock::Operation;

use base64::Engine as _;
use chrono::TimeDelta;
use ontime_raw::lenient::{OnTimeDateTime, PricingMethod, SignatureType, StatusLevel};
use ontime_raw::types;
use serde_json::{Value, json};

fn order_from(v: Value) -> types::Order {
    serde_json::from_value(v).expect("order JSON")
}

#[tokio::test]
async fn post_creates_then_replaces_clearing_omitted_fields() {
    let mock = common::start().await;
    let client = common::client(&mock);
    let id = mock.store().order_ids()[10];
    let before = client
        .orders_get()
        .id(id)
        .send()
        .await
        .expect("get")
        .into_inner();
    assert!(before.reference_number.is_some() || before.description.is_some());
    assert!(before.collection_location.is_some());

    // Update with only the ID and a comment: every other field is cleared...
    let partial = order_from(json!({"ID": id, "Comments": "Leave at the back door"}));
    let after = client
        .order_post()
        .body(partial)
        .send()
        .await
        .expect("post");
    assert_eq!(after.status().as_u16(), 201);
    let after = client
        .orders_get()
        .id(id)
        .send()
        .await
        .expect("get")
        .into_inner();
    assert_eq!(after.comments.as_deref(), Some("Leave at the back door"));
    assert_eq!(after.description, None);
    assert_eq!(after.reference_number, None);
    assert_eq!(after.collection_location, None);
    assert_eq!(after.customer, None);
    assert_eq!(after.items, None);
    // ...except what OnTime manages: ID, tracking number, submission date, status.
    assert_eq!(after.id, Some(Into::into(id)));
    assert_eq!(after.tracking_number, before.tracking_number);
    assert_eq!(after.date_submitted, before.date_submitted);
    assert_eq!(after.status_level, before.status_level);

    // Posting the whole record back restores it (read-modify-write loses nothing).
    let mut restored = before.clone();
    restored.comments = Some("Changed".to_owned());
    let back = client
        .order_post()
        .body(restored)
        .send()
        .await
        .expect("post")
        .into_inner();
    assert_eq!(back.description, before.description);
    assert_eq!(back.collection_location, before.collection_location);
    assert_eq!(back.comments.as_deref(), Some("Changed"));

    // Zones too (KB a289's example): posting ID and Name erases PostalCodes.
    let zone = mock.store().zone_ids()[0];
    let z = client
        .zones_get()
        .id(zone)
        .send()
        .await
        .expect("zone")
        .into_inner();
    assert!(z.postal_codes.is_some());
    let partial: types::Zone =
        serde_json::from_value(json!({"ID": zone, "Name": "Renamed"})).expect("zone");
    client.zone_post().body(partial).send().await.expect("post");
    let z = client
        .zones_get()
        .id(zone)
        .send()
        .await
        .expect("zone")
        .into_inner();
    assert_eq!((z.name.as_deref(), z.postal_codes), (Some("Renamed"), None));

    // A new ID creates a record.
    let new_id = uuid::Uuid::new_v4();
    let created = client
        .vehicle_post()
        .body(
            serde_json::from_value::<types::Vehicle>(json!({"ID": new_id, "FleetID": "V-777"}))
                .expect("vehicle"),
        )
        .send()
        .await
        .expect("post")
        .into_inner();
    assert_eq!(created.id, Some(Into::into(new_id)));
    let ids = client
        .vehicles_find()
        .send()
        .await
        .expect("find")
        .into_inner();
    assert!(ids.contains(&new_id));
    mock.shutdown().await;
}

#[tokio::test]
async fn new_orders_get_tracking_numbers_and_start_submitted() {
    let mock = common::start().await;
    let client = common::client(&mock);
    let customer = mock.store().customer_ids()[2];
    let now = mock.clock().now();
    let a = client
        .order_post()
        .body(order_from(
            json!({"Customer": customer, "Description": "Envelope"}),
        ))
        .send()
        .await
        .expect("post")
        .into_inner();
    let b = client
        .order_post()
        .body(order_from(
            json!({"Customer": customer, "TrackingNumber": ""}),
        ))
        .send()
        .await
        .expect("post")
        .into_inner();
    let ta: u64 = a
        .tracking_number
        .as_deref()
        .expect("tracking")
        .parse()
        .expect("numeric");
    let tb: u64 = b
        .tracking_number
        .as_deref()
        .expect("tracking")
        .parse()
        .expect("numeric");
    assert_eq!(tb, ta + 1);
    assert_eq!(ta, 1_000_001 + 300, "continues after the seeded orders");
    assert_eq!(a.status_level, Some(StatusLevel::Dispatched));
    let status = a.status.as_ref().expect("status");
    assert_eq!(status.name.as_deref(), Some("Submitted"));
    assert_eq!(status.level, Some(StatusLevel::Dispatched));
    assert_eq!(a.date_submitted, Some(OnTimeDateTime::naive(now)));
    // Prices are computed on post.
    assert!(a.total_cost.is_some_and(|t| t > 0.0));

    // A given tracking number and status are kept.
    let c = client
        .order_post()
        .body(order_from(
            json!({"Customer": customer, "TrackingNumber": "ABC-1", "StatusLevel": "Quoted"}),
        ))
        .send()
        .await
        .expect("post")
        .into_inner();
    assert_eq!(c.tracking_number.as_deref(), Some("ABC-1"));
    assert_eq!(c.status_level, Some(StatusLevel::Quoted));
    let found = client
        .orders_find()
        .tracking_number("ABC-1")
        .send()
        .await
        .expect("find")
        .into_inner();
    assert_eq!(found.to_vec(), vec![c.id.expect("id")]);
    let history = client
        .order_status_changes()
        .order_id(c.id.expect("id"))
        .send()
        .await
        .expect("history");
    assert_eq!(history.len(), 1);

    // Items get ids and their order's id.
    let d = client
        .order_post()
        .body(order_from(
            json!({"Customer": customer, "Items": [{"Description": "Box", "Weight": 3.5}]}),
        ))
        .send()
        .await
        .expect("post")
        .into_inner();
    let item = &d.items.as_ref().expect("items")[0];
    assert_eq!(item.order_id, d.id);
    let fetched = client
        .items_get()
        .id(item.id.expect("id"))
        .send()
        .await
        .expect("item")
        .into_inner();
    assert_eq!(fetched.weight, Some(3.5));
    mock.shutdown().await;
}

#[tokio::test]
async fn update_status_appends_to_the_history() {
    let mock = common::start().await;
    let client = common::client(&mock);
    let store = mock.store();
    // Seeded histories follow the status levels in time order.
    let delivered = store
        .order_ids()
        .into_iter()
        .find(|id| store.order(*id).and_then(|o| o.status_level) == Some(StatusLevel::Delivered))
        .expect("a delivered order");
    let seeded = client
        .order_status_changes()
        .order_id(delivered)
        .send()
        .await
        .expect("history")
        .into_inner();
    let levels: Vec<_> = seeded.iter().filter_map(|s| s.level.clone()).collect();
    assert_eq!(
        levels,
        [
            StatusLevel::Dispatched,
            StatusLevel::Assigned,
            StatusLevel::AssignedInRoute,
            StatusLevel::Delivered
        ]
    );
    assert!(seeded.windows(2).all(|w| w[0].timestamp < w[1].timestamp));

    let created = client
        .order_post()
        .body(order_from(json!({"Customer": store.customer_ids()[0]})))
        .send()
        .await
        .expect("post")
        .into_inner();
    let order = created.id.expect("id");
    let tracking = created.tracking_number.expect("tracking");
    let assigned = client
        .order_update_status()
        .id(order)
        .detail(StatusLevel::Assigned)
        .send()
        .await
        .expect("update");
    assert!(assigned.into_inner());
    let before = client
        .order_status_changes()
        .order_id(order)
        .send()
        .await
        .expect("history")
        .into_inner();
    assert_eq!(before.len(), 2);
    assert_eq!(before[0].level, Some(StatusLevel::Dispatched));
    assert_eq!(before[1].name.as_deref(), Some("Assigned"));
    let t1 = mock.clock().now() + TimeDelta::minutes(5);
    let ok = client
        .order_update_status()
        .id(order)
        .detail(StatusLevel::AssignedInRoute)
        .label("Picked up")
        .date(OnTimeDateTime::naive(t1))
        .send()
        .await
        .expect("update");
    assert!(ok.into_inner());
    // By tracking number, with the level by code, at the clock's time.
    mock.clock().advance(std::time::Duration::from_secs(3600));
    let resp = common::http()
        .post(common::url(
            &mock,
            &format!("order/updateStatus?trackingNumber={tracking}&detail=3&label=Delivered"),
        ))
        .header("Authorization", mock.api_key())
        .send()
        .await
        .expect("update");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.expect("body"), "true");

    let after = client
        .order_status_changes()
        .order_id(order)
        .send()
        .await
        .expect("history")
        .into_inner();
    assert_eq!(after.len(), 4);
    assert_eq!(&after[..2], &before[..]);
    assert_eq!(after[2].level, Some(StatusLevel::AssignedInRoute));
    assert_eq!(after[2].name.as_deref(), Some("Picked up"));
    assert_eq!(after[2].timestamp, Some(OnTimeDateTime::naive(t1)));
    assert_eq!(after[3].level, Some(StatusLevel::Delivered));
    assert_eq!(
        after[3].timestamp,
        Some(OnTimeDateTime::naive(mock.clock().now()))
    );
    let o = client
        .orders_get()
        .id(order)
        .send()
        .await
        .expect("get")
        .into_inner();
    assert_eq!(o.status_level, Some(StatusLevel::Delivered));
    assert_eq!(o.status, Some(after[3].clone()));
    assert_eq!(o.delivery_arrival_date, after[3].timestamp);
    // The new status is a record of its own and the finders see the new level.
    let st = client
        .statuses_get()
        .id(after[3].id.expect("id"))
        .send()
        .await
        .expect("status")
        .into_inner();
    assert_eq!(st, after[3]);
    let delivered = client
        .orders_find()
        .status(StatusLevel::Delivered)
        .send()
        .await
        .expect("find")
        .into_inner();
    assert!(delivered.contains(&order.into()));
    // Bad requests change nothing.
    for q in [
        "detail=Teleported",
        "detail=0",
        "label=x",
        "detail=3&id=not-a-guid",
    ] {
        let resp = common::http()
            .post(common::url(&mock, &format!("order/updateStatus?{q}")))
            .header("Authorization", mock.api_key())
            .send()
            .await
            .expect("response");
        assert_eq!(resp.status(), 400, "{q}");
    }
    let unchanged = client
        .order_status_changes()
        .order_id(order)
        .send()
        .await
        .expect("history")
        .into_inner();
    assert_eq!(unchanged.len(), 4);
    mock.shutdown().await;
}

#[tokio::test]
async fn get_total_cost_prices_by_price_set() {
    let mock = common::start().await;
    let client = common::client(&mock);
    let store = mock.store();
    // A seeded order's stored total is what getTotalCost answers for it.
    for id in store.order_ids().into_iter().take(20) {
        let o = client
            .orders_get()
            .id(id)
            .send()
            .await
            .expect("get")
            .into_inner();
        let total = client
            .order_get_total_cost()
            .body(o.clone())
            .send()
            .await
            .expect("cost")
            .into_inner();
        assert_eq!(Some(total), o.total_cost, "{id}");
    }
    let sets = store.price_set_ids();
    let (standard, distance, flat) = (sets[0], sets[2], sets[3]);
    let locations = store.location_ids();
    let loc = |i: usize| {
        serde_json::to_value(store.location(locations[i]).expect("location")).expect("json")
    };
    let cost = |body: Value| {
        let client = &client;
        async move {
            client
                .order_get_total_cost()
                .body(order_from(body))
                .send()
                .await
                .expect("cost")
                .into_inner()
        }
    };
    // Flat rate: 15.00 plus 8.25 % tax.
    assert_eq!(cost(json!({"PriceSet": flat})).await, 16.24);
    // Distance: 12.00 + 1.65 / mile, plus tax.
    assert_eq!(
        cost(json!({"PriceSet": distance, "Distance": 10.0})).await,
        30.85
    );
    // Zone to zone: 18.00 + 4.50 per zone crossed; same zone = 18.00, plus tax.
    let same = cost(
        json!({"PriceSet": standard, "CollectionLocation": loc(0), "DeliveryLocation": loc(0)}),
    )
    .await;
    assert_eq!(same, 19.49);
    // BasePriceType overrides the price set's method.
    let over = cost(json!({"PriceSet": standard, "BasePriceType": PricingMethod::FlatRate.code(), "Distance": 3.0})).await;
    assert_eq!(over, 0.0, "the Standard set has no flat rate");
    // Modifiers: signature capture 2.50 and COD 5.00 before tax.
    let with_mods = cost(
        json!({"PriceSet": flat, "DeliverySignatureRequired": true, "DeliveryCODRequired": true}),
    )
    .await;
    assert_eq!(with_mods, 24.36);
    // Crossing zones costs more than staying in one.
    let zone_of = |i: usize| {
        store
            .location(locations[i])
            .and_then(|l| l.zone)
            .and_then(|z| z.id)
    };
    let other = (1..locations.len())
        .find(|&i| zone_of(i).is_some() && zone_of(i) != zone_of(0))
        .expect("locations in two zones");
    let crossing = cost(
        json!({"PriceSet": standard, "CollectionLocation": loc(0), "DeliveryLocation": loc(other)}),
    )
    .await;
    assert!(crossing > same, "{crossing} > {same}");
    // Numbers that overflow the price are a 400, and nothing is stored.
    let before = store.fingerprint();
    let huge = order_from(json!({"PriceSet": distance, "Distance": 1e308}));
    assert_eq!(
        common::status_of(
            client
                .order_get_total_cost()
                .body(huge.clone())
                .send()
                .await
        ),
        400
    );
    assert_eq!(
        common::status_of(client.order_post().body(huge).send().await),
        400
    );
    assert_eq!(store.fingerprint(), before);
    mock.shutdown().await;
}

#[tokio::test]
async fn positions_and_availability() {
    let mock = common::start().await;
    let client = common::client(&mock);
    let user = mock.store().driver_ids()[0];
    let base = common::start_time() + TimeDelta::days(1);
    for (i, (lat, lng)) in [(32.70, -96.80), (32.71, -96.81), (32.72, -96.82)]
        .into_iter()
        .enumerate()
    {
        let p: types::UserPosition = serde_json::from_value(json!({
            "UserID": user,
            "Latitude": lat,
            "Longitude": lng,
            "Timestamp": OnTimeDateTime::naive(base + TimeDelta::minutes(10 * i as i64)),
        }))
        .expect("position");
        assert!(
            client
                .user_update_position()
                .body(p)
                .send()
                .await
                .expect("post")
                .into_inner()
        );
    }
    let in_range = client
        .user_positions()
        .user_id(user)
        .date_min(OnTimeDateTime::naive(base))
        .date_max(OnTimeDateTime::naive(base + TimeDelta::minutes(10)))
        .send()
        .await
        .expect("positions")
        .into_inner();
    assert_eq!(in_range.len(), 2, "bounds are inclusive");
    assert_eq!(in_range[0].latitude, Some(32.70));
    let latest = client
        .user_position_latest()
        .user_id(user)
        .send()
        .await
        .expect("latest")
        .into_inner();
    assert_eq!(latest.latitude, Some(32.72));
    let seeded = client
        .user_positions()
        .user_id(user)
        .date_max(OnTimeDateTime::naive(common::start_time()))
        .send()
        .await
        .expect("positions")
        .into_inner();
    assert!(!seeded.is_empty(), "drivers have seeded positions");
    assert!(seeded.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));

    let a: types::UserAvailability = serde_json::from_value(json!({
        "UserID": user, "IsAvailable": false, "CurrentStatus": "On break"
    }))
    .expect("availability");
    assert!(
        client
            .user_update_availability()
            .body(a)
            .send()
            .await
            .expect("post")
            .into_inner()
    );
    let got = client
        .user_availability()
        .user_id(user)
        .send()
        .await
        .expect("get")
        .into_inner();
    assert_eq!(got.is_available, Some(false));
    assert_eq!(got.current_status.as_deref(), Some("On break"));
    assert_eq!(
        got.last_status_change,
        Some(OnTimeDateTime::naive(mock.clock().now()))
    );
    // Unknown users are 404.
    let missing = client
        .user_availability()
        .user_id(uuid::Uuid::new_v4())
        .send()
        .await;
    assert_eq!(common::status_of(missing), 404);
    mock.shutdown().await;
}

#[tokio::test]
async fn attachments_signatures_and_reports_are_real_bytes() {
    let mock = common::start().await;
    let client = common::client(&mock);
    let b64 = base64::engine::general_purpose::STANDARD;
    let order = mock.store().signed_order_ids()[0];
    let ids = client
        .file_attachments_find()
        .order_id(order)
        .send()
        .await
        .expect("find")
        .into_inner();
    assert_eq!(ids.len(), 1);
    let a = client
        .file_attachments_get()
        .id(ids[0])
        .send()
        .await
        .expect("get")
        .into_inner();
    let png = b64
        .decode(a.contents.as_deref().expect("contents"))
        .expect("base64");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert!(a.file_name.as_deref().expect("name").ends_with(".png"));

    let sig = client
        .order_signature()
        .id(order)
        .signature_type(SignatureType::Delivery)
        .send()
        .await
        .expect("sig");
    let png = b64
        .decode(sig.into_inner().expect("signature"))
        .expect("base64");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    let unsigned = mock
        .store()
        .order_ids()
        .into_iter()
        .find(|id| !mock.store().signed_order_ids().contains(id))
        .expect("unsigned order");
    let none = client
        .order_signature()
        .id(unsigned)
        .send()
        .await
        .expect("answers");
    assert_eq!(
        none.into_inner(),
        None,
        "no signature is JSON null, not an error"
    );
    assert_eq!(
        common::status_of(client.order_signature().id(uuid::Uuid::nil()).send().await),
        404,
        "a missing order is"
    );

    // Post, list, read back, delete.
    let body: types::FileAttachment = serde_json::from_value(
        json!({"FileName": "receipt.txt", "Contents": b64.encode("signed by J. Doe")}),
    )
    .expect("attachment");
    let created = client
        .order_file_attachment_post()
        .order_id(order)
        .body(body)
        .send()
        .await
        .expect("post");
    assert_eq!(created.status().as_u16(), 201);
    let new_id = created.into_inner().id.expect("id");
    let ids = client
        .file_attachments_find()
        .order_id(order)
        .send()
        .await
        .expect("find")
        .into_inner();
    assert_eq!(ids.to_vec(), vec![ids[0], new_id.into()]);
    let back = client
        .file_attachments_get()
        .id(new_id)
        .send()
        .await
        .expect("get")
        .into_inner();
    assert_eq!(
        b64.decode(back.contents.expect("contents")).expect("b64"),
        b"signed by J. Doe"
    );
    assert!(
        client
            .order_file_attachment_delete()
            .id(new_id)
            .send()
            .await
            .expect("delete")
            .into_inner()
    );
    assert_eq!(
        common::status_of(client.file_attachments_get().id(new_id).send().await),
        404
    );
    assert_eq!(
        common::status_of(
            client
                .order_file_attachment_delete()
                .id(new_id)
                .send()
                .await
        ),
        404
    );

    let tracking = mock
        .store()
        .order(order)
        .and_then(|o| o.tracking_number)
        .expect("tracking");
    let resp = common::http()
        .get(common::url(
            &mock,
            &format!("order/report?type=SL&id={order}"),
        ))
        .header("Authorization", mock.api_key())
        .send()
        .await
        .expect("report");
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    let pdf = resp.bytes().await.expect("bytes");
    assert!(pdf.starts_with(b"%PDF-1.4") && pdf.ends_with(b"%%EOF\n"));
    assert!(String::from_utf8_lossy(&pdf).contains(&format!("Shipping Label - Order {tracking}")));
    mock.shutdown().await;
}

#[tokio::test]
async fn authenticate_checks_user_name_and_password() {
    let mock = common::start().await;
    let client = common::client(&mock);
    for kind in [
        ontime_mock::CredentialKind::User,
        ontime_mock::CredentialKind::Contact,
        ontime_mock::CredentialKind::Customer,
    ] {
        let cred = mock
            .store()
            .credentials(kind)
            .into_iter()
            .next()
            .expect("a login");
        let (ok, bad) = match kind {
            ontime_mock::CredentialKind::User => (
                client
                    .users_authenticate()
                    .user_name(&cred.user_name)
                    .password(&cred.password)
                    .send()
                    .await,
                client
                    .users_authenticate()
                    .user_name(&cred.user_name)
                    .password("wrong")
                    .send()
                    .await,
            ),
            ontime_mock::CredentialKind::Contact => (
                client
                    .contacts_authenticate()
                    .user_name(&cred.user_name)
                    .password(&cred.password)
                    .send()
                    .await,
                client
                    .contacts_authenticate()
                    .user_name(&cred.user_name)
                    .password("wrong")
                    .send()
                    .await,
            ),
            ontime_mock::CredentialKind::Customer => (
                client
                    .customers_authenticate()
                    .user_name(&cred.user_name)
                    .password(&cred.password)
                    .send()
                    .await,
                client
                    .customers_authenticate()
                    .user_name(&cred.user_name)
                    .password("wrong")
                    .send()
                    .await,
            ),
        };
        assert_eq!(ok.expect("auth").into_inner().0, Some(cred.id), "{kind:?}");
        assert_eq!(bad.expect("auth").into_inner().0, None, "{kind:?}");
    }
    let resp = common::http()
        .get(common::url(
            &mock,
            "users/authenticate?userName=x&password=y",
        ))
        .header("Authorization", mock.api_key())
        .send()
        .await
        .expect("auth");
    assert_eq!(resp.text().await.expect("body"), "null");
    mock.shutdown().await;
}

#[tokio::test]
async fn finders_honour_their_filters() {
    let mock = common::start().await;
    let client = common::client(&mock);
    let store = mock.store();
    let all: Vec<types::Order> = store
        .order_ids()
        .into_iter()
        .filter_map(|id| store.order(id))
        .collect();
    let ids_where = |f: &dyn Fn(&types::Order) -> bool| {
        let mut v: Vec<uuid::Uuid> = all
            .iter()
            .filter(|o| f(o))
            .filter_map(|o| o.id.map(Into::into))
            .collect();
        v.sort();
        v
    };
    let sorted = |v: types::GuidList| {
        let mut v = v.to_vec();
        v.sort();
        v
    };
    let some = &all[42];
    let customer = store
        .customer(some.customer.expect("customer").into())
        .expect("record");
    let name = customer.name.clone().expect("name");
    let got = client
        .orders_find()
        .customer_name(name.to_uppercase())
        .send()
        .await
        .expect("find")
        .into_inner();
    assert_eq!(sorted(got), ids_where(&|o| o.customer == some.customer));

    let day = some.date_submitted.expect("date").naive_local();
    let got = client
        .orders_find()
        .date_submitted(OnTimeDateTime::naive(
            day.date().and_hms_opt(0, 0, 0).expect("midnight"),
        ))
        .send()
        .await
        .expect("find")
        .into_inner();
    assert_eq!(
        sorted(got),
        ids_where(&|o| o.date_submitted.map(|d| d.naive_local().date()) == Some(day.date()))
    );

    let got = client
        .orders_find()
        .date_submitted_min(OnTimeDateTime::naive(day))
        .date_submitted_max(OnTimeDateTime::naive(day))
        .send()
        .await
        .expect("find")
        .into_inner();
    assert!(
        got.contains(&some.id.expect("id").into()),
        "bounds are inclusive"
    );

    let by_name = client
        .orders_find()
        .status(StatusLevel::Delivered)
        .send()
        .await
        .expect("find")
        .into_inner();
    let by_code = common::http()
        .get(common::url(&mock, "orders?status=3"))
        .header("Authorization", mock.api_key())
        .send()
        .await
        .expect("find")
        .json::<Vec<uuid::Uuid>>()
        .await
        .expect("json");
    assert_eq!(
        sorted(by_name.clone()),
        ids_where(&|o| o.status_level == Some(StatusLevel::Delivered))
    );
    let mut by_code = by_code;
    by_code.sort();
    assert_eq!(sorted(by_name), by_code);

    let driver = all
        .iter()
        .find_map(|o| o.driver_currently_assigned)
        .expect("a driver");
    let got = client
        .orders_find()
        .assigned_user_id(driver)
        .send()
        .await
        .expect("find")
        .into_inner();
    assert_eq!(
        sorted(got),
        ids_where(&|o| o.driver_currently_assigned == Some(driver))
    );

    let loc = some
        .collection_location
        .as_ref()
        .and_then(|l| l.id)
        .expect("location");
    let got = client
        .orders_find()
        .collection_location_id(loc)
        .send()
        .await
        .expect("find")
        .into_inner();
    assert_eq!(
        sorted(got),
        ids_where(&|o| o.collection_location.as_ref().and_then(|l| l.id) == Some(loc))
    );

    let with_ref = all
        .iter()
        .find(|o| o.reference_number.is_some())
        .expect("a reference");
    let got = client
        .orders_find()
        .reference_number(with_ref.reference_number.clone().expect("ref"))
        .send()
        .await
        .expect("find")
        .into_inner();
    assert!(got.contains(&with_ref.id.expect("id").into()));
    let got = client
        .orders_find()
        .tracking_number(some.tracking_number.clone().expect("t"))
        .send()
        .await
        .expect("find")
        .into_inner();
    assert_eq!(got.to_vec(), vec![some.id.expect("id")]);
    let none = client
        .orders_find()
        .tracking_number("nope")
        .send()
        .await
        .expect("find")
        .into_inner();
    assert!(none.is_empty());

    // Other finders.
    let got = client
        .customers_find()
        .account_number(customer.account_number.clone().expect("acct"))
        .send()
        .await
        .expect("find")
        .into_inner();
    assert_eq!(got.to_vec(), vec![customer.id.expect("id")]);
    let city = client
        .locations_find()
        .city("Plano")
        .state("TX")
        .send()
        .await
        .expect("find")
        .into_inner();
    assert!(!city.is_empty());
    for id in city.iter() {
        assert_eq!(
            store.location(*id).and_then(|l| l.city).as_deref(),
            Some("Plano")
        );
    }
    let user = store.user(store.driver_ids()[1]).expect("user");
    let got = client
        .users_find()
        .user_name(user.user_name.clone().expect("u"))
        .send()
        .await
        .expect("find")
        .into_inner();
    assert_eq!(got.to_vec(), vec![user.id.expect("id")]);
    let sessions = client
        .user_sessions_find()
        .user_id(user.id.expect("id"))
        .send()
        .await
        .expect("find")
        .into_inner();
    assert!(!sessions.is_empty());
    let future = client
        .customers_find()
        .creation_date_min(OnTimeDateTime::naive(
            common::start_time() + TimeDelta::days(1),
        ))
        .send()
        .await
        .expect("find")
        .into_inner();
    assert!(future.is_empty());
    mock.shutdown().await;
}

#[tokio::test]
async fn malformed_or_mistyped_bodies_are_400_and_change_nothing() {
    let mock = common::start().await;
    let before = mock.store().order_count();
    let id = mock.store().order_ids()[3];
    let original = mock.store().order(id);
    let bodies = [
        "{\"Description\": ".to_owned(),
        "[1, 2]".to_owned(),
        "null".to_owned(),
        String::new(),
        format!("{{\"ID\": \"{id}\", \"Quantity\": \"many\"}}"),
        format!("{{\"ID\": \"{id}\", \"StatusLevel\": \"Teleported\"}}"),
        format!("{{\"ID\": \"{id}\", \"DateSubmitted\": \"last tuesday\"}}"),
    ];
    for body in &bodies {
        let resp = common::http()
            .post(common::url(&mock, "order/post"))
            .header("Authorization", mock.api_key())
            .header("Content-Type", "application/json")
            .body(body.clone())
            .send()
            .await
            .expect("response");
        assert_eq!(resp.status(), 400, "{body}");
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .expect("ctype")
                .starts_with("application/json")
        );
        let fault: Value = resp.json().await.expect("fault JSON");
        assert!(fault["Message"].is_string(), "{fault}");
    }
    assert_eq!(mock.store().order_count(), before);
    assert_eq!(mock.store().order(id), original);
    let logged: Vec<u16> = mock
        .requests_for(Operation::OrderPost)
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(logged, vec![400; bodies.len()]);
    mock.shutdown().await;
}

#[tokio::test]
async fn every_write_rejects_bad_bodies_with_400_and_changes_nothing() {
    let mock = common::start().await;
    let order = mock.store().order_ids()[0];
    let before = mock.store().fingerprint();
    let writes = [
        "contact/post".to_owned(),
        "customer/post".into(),
        "department/post".into(),
        "invoice/post".into(),
        "item/post".into(),
        "location/post".into(),
        "order/post".into(),
        "payment/post".into(),
        "userMiscCompensation/post".into(),
        "userSession/post".into(),
        "vehicle/post".into(),
        "zone/post".into(),
        "user/updateAvailability".into(),
        "user/updatePosition".into(),
        "order/getTotalCost".into(),
        format!("order/fileAttachment/post/{order}"),
    ];
    let bodies = [
        "{\"ID\": ",
        "[1, 2]",
        "null",
        "",
        "\"text\"",
        "{\"ID\": 17}",
    ];
    for write in &writes {
        for body in bodies {
            let resp = common::http()
                .post(common::url(&mock, write))
                .header("Authorization", mock.api_key())
                .header("Content-Type", "application/json")
                .body(body)
                .send()
                .await
                .expect("response");
            assert_eq!(resp.status(), 400, "{write} {body:?}");
            let fault: Value = resp.json().await.expect("fault JSON");
            assert!(fault["Message"].is_string(), "{write}: {fault}");
        }
    }
    assert_eq!(
        mock.store().fingerprint(),
        before,
        "a rejected write changed the store"
    );
    mock.shutdown().await;
}

#[tokio::test]
async fn date_times_with_an_offset_are_stored_and_filtered_as_account_local() {
    let mock = common::builder()
        .utc_offset(chrono::FixedOffset::west_opt(6 * 3600).expect("offset"))
        .start()
        .await
        .expect("mock");
    let client = common::client(&mock);
    let posted = client
        .order_post()
        .body(
            serde_json::from_value::<types::Order>(json!({
                "Description": "offset test",
                "DateSubmitted": "2031-02-03T15:00:00Z",
            }))
            .expect("order"),
        )
        .send()
        .await
        .expect("post")
        .into_inner();
    let id = posted.id.expect("id");
    let raw = get_json(&mock, &format!("orders/{id}")).await;
    // 15:00 UTC is 09:00 at UTC-6.
    assert_eq!(raw["DateSubmitted"], "2031-02-03T09:00:00");
    // A filter bound given in UTC is compared in account time too.
    let find = |min: &'static str| {
        let client = client.clone();
        async move {
            client
                .orders_find()
                .date_submitted_min(min.parse::<OnTimeDateTime>().expect("date"))
                .send()
                .await
                .expect("find")
                .into_inner()
                .to_vec()
        }
    };
    assert_eq!(find("2031-02-03T14:59:00Z").await, vec![id]);
    assert!(find("2031-02-03T15:01:00Z").await.is_empty());
    assert_eq!(find("2031-02-03T09:00:00").await, vec![id]);
    mock.shutdown().await;
}

#[tokio::test]
async fn date_times_are_account_local_without_offset() {
    let mock = common::start().await;
    let id = mock.store().order_ids()[0];
    let raw = get_json(&mock, &format!("orders/{id}")).await;
    let submitted = raw["DateSubmitted"].as_str().expect("date");
    assert_eq!(submitted.len(), 19, "{submitted}");
    assert!(
        !submitted.ends_with('Z') && !submitted[10..].contains(['+', '-']),
        "{submitted}"
    );
    assert!(raw["StatusLevel"].is_i64(), "enums travel as integer codes");
    // Seeded orders lie within the last ~90 days of the clock.
    let t = submitted
        .parse::<OnTimeDateTime>()
        .expect("date")
        .naive_local();
    let now = mock.clock().now();
    assert!(t <= now && t >= now - TimeDelta::days(91));
    mock.shutdown().await;
}

#[tokio::test]
async fn same_seed_same_data() {
    let a = common::builder().seed(9).start().await.expect("a");
    let b = common::builder().seed(9).start().await.expect("b");
    let c = common::builder().seed(10).start().await.expect("c");
    assert_eq!(a.store().fingerprint(), b.store().fingerprint());
    assert_eq!(a.store().order_ids(), b.store().order_ids());
    assert_eq!(a.api_key(), b.api_key());
    assert_ne!(a.store().fingerprint(), c.store().fingerprint());
    // API-created records get the same ids too.
    let post = |m: &ontime_mock::RunningMock| {
        let client = common::client(m);
        async move {
            client
                .contact_post()
                .body(
                    serde_json::from_value::<types::Contact>(json!({"Name": "X"}))
                        .expect("contact"),
                )
                .send()
                .await
                .expect("post")
                .into_inner()
                .id
        }
    };
    assert_eq!(post(&a).await, post(&b).await);
    for m in [a, b, c] {
        m.shutdown().await;
    }
}

/// GETs `path` with the full key and decodes the JSON.
async fn get_json(mock: &ontime_mock::RunningMock, path: &str) -> Value {
    let resp = common::http()
        .get(common::url(mock, path))
        .header("Authorization", mock.api_key())
        .send()
        .await
        .expect("response");
    assert_eq!(resp.status(), 200, "{path}");
    resp.json().await.expect("json")
}

/// Every record of a finder, fetched one by one, by ID.
async fn all_records(mock: &ontime_mock::RunningMock, finder: &str, get: &str) -> Vec<Value> {
    let ids = get_json(mock, finder).await;
    let mut records = Vec::new();
    for id in ids.as_array().expect("ids") {
        records.push(get_json(mock, &format!("{get}/{}", id.as_str().expect("id"))).await);
    }
    records
}

/// Checks that `finder?param=value` answers exactly the records `keep` selects (and at least one).
async fn assert_filter(
    mock: &ontime_mock::RunningMock,
    finder: &str,
    records: &[Value],
    param: &str,
    value: &str,
    keep: impl Fn(&Value) -> bool,
) {
    let query = format!("{finder}?{param}={}", urlencode(value));
    let mut got: Vec<String> = get_json(mock, &query)
        .await
        .as_array()
        .expect("ids")
        .iter()
        .map(|v| v.as_str().expect("id").to_owned())
        .collect();
    let mut want: Vec<String> = records
        .iter()
        .filter(|r| keep(r))
        .map(|r| r["ID"].as_str().expect("id").to_owned())
        .collect();
    got.sort();
    want.sort();
    assert!(!want.is_empty(), "{query}: pick a value some record has");
    assert_eq!(got, want, "{query}");
}

fn urlencode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn text_eq(record: &Value, field: &str, value: &str) -> bool {
    record[field]
        .as_str()
        .is_some_and(|s| s.eq_ignore_ascii_case(value))
}

#[tokio::test]
async fn every_finder_filter_selects_exactly_its_records() {
    let mock = common::builder().orders(120).start().await.expect("mock");
    let client = common::client(&mock);
    // Orders the API changed are stored whole, seeded ones compactly: filter both kinds.
    let seeded = mock.store().order_ids();
    let mut changed = client
        .orders_get()
        .id(seeded[5])
        .send()
        .await
        .expect("get")
        .into_inner();
    changed.reference_number = Some("REF-77".into());
    changed.purchase_order_number = Some("PO-5".into());
    changed.incoming_tracking_number = Some("IN-9".into());
    changed.outgoing_tracking_number = Some("OUT-9".into());
    client
        .order_post()
        .body(changed)
        .send()
        .await
        .expect("post");
    let created = order_from(json!({
        "Customer": mock.store().customer_ids()[0], "ReferenceNumber": "ref-77",
        "PurchaseOrderNumber": "PO-6", "DeliveryLocation": {"ID": mock.store().location_ids()[1]},
    }));
    client
        .order_post()
        .body(created)
        .send()
        .await
        .expect("post");

    let orders = all_records(&mock, "orders", "orders").await;
    let sample = &orders[7];
    let id_of = |r: &Value, field: &str| r[field]["ID"].as_str().unwrap_or_default().to_owned();
    let collection = id_of(sample, "CollectionLocation");
    assert_filter(
        &mock,
        "orders",
        &orders,
        "collectionLocationId",
        &collection,
        |r| id_of(r, "CollectionLocation") == collection,
    )
    .await;
    let delivery = id_of(&orders[orders.len() - 1], "DeliveryLocation");
    assert_filter(
        &mock,
        "orders",
        &orders,
        "deliveryLocationId",
        &delivery,
        |r| id_of(r, "DeliveryLocation") == delivery,
    )
    .await;
    let driver = orders
        .iter()
        .find_map(|r| r["DeliveryAssignedDriver"].as_str())
        .expect("an assigned order")
        .to_owned();
    assert_filter(&mock, "orders", &orders, "assignedUserId", &driver, |r| {
        [
            "DriverCurrentlyAssigned",
            "CollectionAssignedDriver",
            "DeliveryAssignedDriver",
        ]
        .iter()
        .any(|f| r[*f].as_str() == Some(driver.as_str()))
    })
    .await;
    for (param, field, value) in [
        ("referenceNumber", "ReferenceNumber", "Ref-77"),
        ("purchaseOrderNumber", "PurchaseOrderNumber", "PO-5"),
        ("incomingTrackingNumber", "IncomingTrackingNumber", "in-9"),
        ("outgoingTrackingNumber", "OutgoingTrackingNumber", "OUT-9"),
        (
            "trackingNumber",
            "TrackingNumber",
            sample["TrackingNumber"].as_str().expect("tn"),
        ),
    ] {
        assert_filter(&mock, "orders", &orders, param, value, |r| {
            text_eq(r, field, value)
        })
        .await;
    }

    let customers = all_records(&mock, "customers", "customers").await;
    let c = &customers[2];
    for (param, field) in [
        ("name", "Name"),
        ("accountNumber", "AccountNumber"),
        ("addressLine1", "AddressLine1"),
        ("city", "City"),
        ("country", "Country"),
        ("email", "Email"),
        ("postalCode", "PostalCode"),
        ("primaryContactName", "PrimaryContactName"),
        ("referenceNumber", "ReferenceNumber"),
        ("state", "State"),
    ] {
        let Some(value) = c[field].as_str().filter(|v| !v.is_empty()) else {
            panic!("seeded customers have a {field}");
        };
        let value = value.to_uppercase();
        assert_filter(&mock, "customers", &customers, param, &value, |r| {
            text_eq(r, field, &value)
        })
        .await;
    }
    assert_filter(&mock, "customers", &customers, "inactive", "false", |r| {
        !r["Inactive"].as_bool().unwrap_or(false)
    })
    .await;
    // Creation and modification bounds: everything was created before now, nothing after.
    let now = mock.clock().now().format("%Y-%m-%dT%H:%M:%S").to_string();
    let later = (mock.clock().now() + TimeDelta::days(1))
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string();
    for finder in ["customers", "users"] {
        for param in ["creationDateMax", "lastModifiedDateMax"] {
            let all = get_json(&mock, finder).await;
            assert_eq!(
                get_json(&mock, &format!("{finder}?{param}={now}")).await,
                all,
                "{finder} {param}"
            );
        }
        for param in ["creationDateMin", "lastModifiedDateMin"] {
            assert_eq!(
                get_json(&mock, &format!("{finder}?{param}={later}")).await,
                json!([]),
                "{finder} {param}"
            );
        }
    }

    let users = all_records(&mock, "users", "users").await;
    let u = &users[1];
    for (param, field) in [
        ("email", "Email"),
        ("firstName", "FirstName"),
        ("lastName", "LastName"),
        ("userName", "UserName"),
    ] {
        let value = u[field]
            .as_str()
            .expect("seeded users have it")
            .to_lowercase();
        assert_filter(&mock, "users", &users, param, &value, |r| {
            text_eq(r, field, &value)
        })
        .await;
    }

    let sessions = all_records(&mock, "userSessions", "userSessions").await;
    let s = &sessions[0];
    let user = s["UserID"].as_str().expect("user").to_owned();
    assert_filter(&mock, "userSessions", &sessions, "userId", &user, |r| {
        r["UserID"].as_str() == Some(user.as_str())
    })
    .await;
    let login = s["LogInTime"].as_str().expect("login").to_owned();
    assert_filter(&mock, "userSessions", &sessions, "logInTime", &login, |r| {
        r["LogInTime"].as_str().is_some_and(|t| t >= login.as_str())
    })
    .await;
    let logout = sessions
        .iter()
        .find_map(|r| r["LogOutTime"].as_str())
        .expect("a closed session")
        .to_owned();
    assert_filter(
        &mock,
        "userSessions",
        &sessions,
        "logOutTime",
        &logout,
        |r| {
            r["LogOutTime"]
                .as_str()
                .is_some_and(|t| t <= logout.as_str())
        },
    )
    .await;
    mock.shutdown().await;
}
