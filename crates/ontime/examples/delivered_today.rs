//! Finds today's delivered orders: one finder call, then the records fetched concurrently and
//! printed as they arrive.
//!
//! Run: `cargo run -p ontime --example delivered_today` (uses a simulator unless `ONTIME_*` is set).

mod common;

use futures::TryStreamExt;
use ontime::{OrderFilter, StatusLevel};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let account = common::account().await?;
    let start_of_day = account.today.and_hms_opt(0, 0, 0).expect("midnight exists");
    let filter = OrderFilter::new()
        .status(StatusLevel::Delivered)
        .submitted_from(start_of_day);
    let mut orders = account.client.orders().find(filter).stream();
    let mut count = 0;
    while let Some(order) = orders.try_next().await? {
        count += 1;
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
        "{count} delivered orders submitted today; {} requests made",
        quota.calls
    );
    Ok(())
}
