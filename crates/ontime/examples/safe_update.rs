//! Changes one field of an order without wiping the others.
//!
//! OnTime's `order/post` replaces the whole record: a body with only `ID` and `Comments` would
//! clear every other field. `modify` fetches the order, applies the change and posts the whole
//! record back (fields this library does not know included).
//!
//! Run: `cargo run -p ontime --example safe_update`.

mod common;

use ontime::OrderFilter;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let account = common::account().await?;
    let orders = account.client.orders();
    let ids = orders.ids(OrderFilter::new()).await?;
    let id = *ids.first().ok_or("the account has no orders")?;

    let before = orders.get(id).await?;
    let after = orders
        .modify(id, |order| {
            order.comments = Some("Call the front desk on arrival".into())
        })
        .await?;

    println!(
        "comments:        {:?} -> {:?}",
        before.comments, after.comments
    );
    println!(
        "tracking number: {:?} -> {:?}",
        before.tracking_number, after.tracking_number
    );
    println!(
        "delivery city:   {:?} -> {:?}",
        before
            .delivery_location
            .as_ref()
            .and_then(|l| l.city.clone()),
        after
            .delivery_location
            .as_ref()
            .and_then(|l| l.city.clone())
    );
    assert_eq!(
        before.tracking_number, after.tracking_number,
        "nothing else changed"
    );
    assert_eq!(before.delivery_location, after.delivery_location);
    Ok(())
}
