//! Steps a simulated day of 2,000 orders through the activity, without notifications and with
//! every status change notified to a loopback receiver, and prints how long each took:
//! `cargo run --release -p ontime-mock --example activity_day`.

use std::time::{Duration, Instant};

use chrono::{NaiveDate, TimeDelta};
use ontime_mock::{ActivityConfig, Change, NotifyConfig, OnTimeMock};

const ORDERS: usize = 2000;

async fn day(config: ActivityConfig) -> Result<(), Box<dyn std::error::Error>> {
    let start = NaiveDate::from_ymd_opt(2024, 5, 15)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .ok_or("date")?;
    let mock = OnTimeMock::builder()
        .orders(2000)
        .clock_start(start)
        .frozen_clock()
        .activity(config)
        .start()
        .await?;
    let activity = mock.activity().ok_or("activity")?;
    let t = Instant::now();
    let first = activity.advance(TimeDelta::days(1)).await?.len();
    let first_day = t.elapsed();
    // The orders of the day's last hours finish the next morning.
    activity.advance(TimeDelta::days(2)).await?;
    let elapsed = t.elapsed();
    let truth = activity.truth();
    let statuses = truth
        .iter()
        .filter(|c| matches!(c.change, Change::OrderStatus { .. }))
        .count();
    let sent = activity.notify_stats().sent;
    println!(
        "{first} changes in the first simulated day: {first_day:.2?}; all {} ({statuses} order \
         status changes, {:.2} per order, {sent} notified) in {elapsed:.2?}",
        truth.len(),
        statuses as f64 / ORDERS as f64
    );
    mock.shutdown().await;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = ActivityConfig::new(ORDERS as f64 / 24.0).orders(ORDERS);
    day(config.clone()).await?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    let app = axum::Router::new().route("/hook", axum::routing::post(|| async { "" }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let notify = NotifyConfig::new(&url)?.timeout(Duration::from_secs(5));
    day(config.notify(notify)).await
}
