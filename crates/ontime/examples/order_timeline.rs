//! Follows one order: finds it by tracking number and prints its status timeline.
//!
//! Run: `cargo run -p ontime --example order_timeline [TRACKING_NUMBER]`.

mod common;

use ontime::OrderFilter;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let account = common::account().await?;
    let orders = account.client.orders();
    let tracking_number = match std::env::args().nth(1) {
        Some(tn) => tn,
        None => {
            // Pick the first order of the account for the tour.
            let ids = orders.ids(OrderFilter::new()).await?;
            let first = ids.first().ok_or("the account has no orders")?;
            orders
                .get(*first)
                .await?
                .tracking_number
                .unwrap_or_default()
        }
    };
    let Some(order) = orders.by_tracking_number(&tracking_number).await? else {
        println!("no order has tracking number {tracking_number}");
        return Ok(());
    };
    let id = order.id.ok_or("the order has no ID")?;
    println!("order {tracking_number} ({id})");
    for status in orders.timeline(id).await? {
        println!(
            "  {:<20} {:<18} {}",
            status.timestamp.map(|t| t.to_string()).unwrap_or_default(),
            status.level.map(|l| l.to_string()).unwrap_or_default(),
            status.name.unwrap_or_default(),
        );
    }
    Ok(())
}
