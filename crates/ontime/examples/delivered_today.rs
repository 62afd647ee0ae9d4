//! Finds the orders delivered today: one finder call, then the records fetched concurrently and
//! printed as they arrive.
//!
//! OnTime's order finder has no "delivered on" filter. The example asks for delivered orders
//! submitted in the last `LOOKBACK_DAYS` days (which bounds how many records are fetched: each
//! costs one call of the quota), then keeps those whose `DeliveryArrivalDate` is today. Orders
//! submitted earlier than the look-back window and delivered today are missed: widen it if
//! your deliveries take longer.
//!
//! Run: `cargo run -p ontime --example delivered_today` (uses a simulator unless `ONTIME_*` is set).

mod common;

use futures::TryStreamExt;
use ontime::{OrderFilter, StatusLevel};

const LOOKBACK_DAYS: u64 = 7;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let account = common::account().await?;
    let today = account.today;
    let window_start = (today - chrono::Days::new(LOOKBACK_DAYS))
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists");
    let filter = OrderFilter::new()
        .status(StatusLevel::Delivered)
        .submitted_from(window_start);
    let mut orders = account.client.orders().find(filter).stream();
    let (mut fetched, mut delivered_today) = (0, 0);
    while let Some(order) = orders.try_next().await? {
        fetched += 1;
        let delivered_on = order
            .delivery_arrival_date
            .filter(|d| !d.is_unset())
            .map(|d| d.naive_local().date());
        if delivered_on != Some(today) {
            continue;
        }
        delivered_today += 1;
        println!(
            "{:<10} {:<28} {:>8.2}",
            order.tracking_number.as_deref().unwrap_or("-"),
            order
                .delivery_location
                .as_ref()
                .and_then(|l| l.company_name.as_deref())
                .unwrap_or("-"),
            order.total_cost.unwrap_or_default(),
        );
    }
    let quota = account.client.quota();
    println!(
        "{delivered_today} orders delivered today ({fetched} delivered orders submitted in the \
         last {LOOKBACK_DAYS} days checked); {} requests made",
        quota.calls
    );
    Ok(())
}
