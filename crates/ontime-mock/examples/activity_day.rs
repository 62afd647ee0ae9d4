//! Steps a simulated day of 2,000 orders through the activity and prints how long it took:
//! `cargo run --release -p ontime-mock --example activity_day`.

use std::time::Instant;

use chrono::{NaiveDate, TimeDelta};
use ontime_mock::{ActivityConfig, Change, OnTimeMock};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let start = NaiveDate::from_ymd_opt(2024, 5, 15)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .ok_or("date")?;
    let mock = OnTimeMock::builder()
        .orders(2000)
        .clock_start(start)
        .frozen_clock()
        .activity(ActivityConfig::new(2000.0 / 24.0).orders(2000))
        .start()
        .await?;
    let activity = mock.activity().ok_or("activity")?;
    let t = Instant::now();
    let mut day = 0;
    while !activity.is_finished() {
        activity.advance(TimeDelta::days(1)).await?;
        day += 1;
        if day == 1 {
            println!("first simulated day stepped in {:.2?}", t.elapsed());
        }
    }
    let elapsed = t.elapsed();
    let truth = activity.truth();
    let statuses = truth
        .iter()
        .filter(|c| matches!(c.change, Change::OrderStatus { .. }))
        .count();
    println!(
        "{} changes ({statuses} order status changes, {:.2} per order) in {elapsed:.2?} ({day} simulated days)",
        truth.len(),
        statuses as f64 / 2000.0
    );
    mock.shutdown().await;
    Ok(())
}
