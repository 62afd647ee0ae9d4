//! The shapes the facade's lookups return, as JSON snapshots: whole records from a seeded
//! simulator with a frozen clock (seeded identifiers are deterministic, so nothing is redacted).

use ontime::{OrderId, UserId};

use crate::common;
use common::setup;
use serde_json::json;

#[tokio::test]
async fn an_order_and_its_timeline() {
    let (mock, client) = setup().await;
    let id: OrderId = mock.store().order_ids()[0].into();
    let order = client.orders().get(id).await.unwrap();
    let timeline = client.orders().timeline(id).await.unwrap();
    insta::assert_json_snapshot!("order", order);
    insta::assert_json_snapshot!("order_timeline", timeline);
}

#[tokio::test]
async fn lookups_by_name_and_the_latest_position() {
    let (mock, client) = setup().await;
    let customer = client.customers().by_name("Vesigo Studios").await.unwrap();
    let price_set = client.price_sets().by_name("Standard").await.unwrap();
    let modifier = client
        .price_modifiers()
        .by_name("Signature Capture")
        .await
        .unwrap();
    let driver: UserId = mock.store().driver_ids()[0].into();
    let latest = client.users().latest_position(driver).await.unwrap();
    insta::assert_json_snapshot!(
        "by_name_and_latest_position",
        json!({
            "customer": customer,
            "price_set": price_set,
            "price_modifier": modifier,
            "latest_position": latest,
        })
    );
}

#[tokio::test]
async fn get_many_keeps_the_order_asked_for() {
    let (mock, client) = setup().await;
    let mut ids: Vec<OrderId> = mock.store().order_ids()[..5]
        .iter()
        .map(|&id| id.into())
        .collect();
    ids.reverse();
    let orders = client.orders().get_many(ids.clone()).await.unwrap();
    let got: Vec<_> = orders
        .iter()
        .map(|o| json!({"ID": o.id, "TrackingNumber": o.tracking_number, "StatusLevel": o.status_level}))
        .collect();
    assert_eq!(
        orders.iter().map(|o| o.id.unwrap()).collect::<Vec<_>>(),
        ids.iter().map(|i| i.as_uuid()).collect::<Vec<_>>()
    );
    insta::assert_json_snapshot!("get_many", got);
}
