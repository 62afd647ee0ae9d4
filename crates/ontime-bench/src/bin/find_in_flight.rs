//! Streams 100,000 orders through `find` and records, after each record the stream yields,
//! how many fetched records are being held (responses received but not yet yielded). Goal: never
//! more than the lookup's concurrency. Also reports the throughput and the process's RSS growth
//! while streaming (the simulator's own memory is allocated before the stream starts).

use std::time::Instant;

use futures::TryStreamExt;
use ontime::{Client, OrderFilter};
use ontime_bench::{info, peak_rss_bytes, report};
use ontime_mock::OnTimeMock;

const CONCURRENCY: usize = 16;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let orders = if ontime_bench::quick() {
        10_000
    } else {
        100_000
    };
    let mock = OnTimeMock::builder()
        .seed(42)
        .orders(orders)
        .request_log_capacity(1)
        // Keep the simulator's memory flat, so the growth reported is the client's.
        .response_cache(false)
        .daily_quota(u64::MAX)
        .monthly_quota(u64::MAX)
        .start()
        .await?;
    let client = Client::builder()
        .base_url(mock.base_url())
        .api_key(mock.api_key())
        .concurrency(CONCURRENCY)
        .build()?;
    let rss_before = peak_rss_bytes().unwrap_or(0);
    let started = Instant::now();
    let mut stream = client
        .orders()
        .find(OrderFilter::new())
        .concurrency(CONCURRENCY)
        .stream();
    let (mut yielded, mut max_held) = (0u64, 0u64);
    while let Some(order) = stream.try_next().await? {
        drop(order);
        yielded += 1;
        // Responses counted so far, minus the finder's, minus the records already yielded.
        let held = client.quota().calls.saturating_sub(1 + yielded);
        max_held = max_held.max(held);
    }
    let elapsed = started.elapsed();
    let rss_after = peak_rss_bytes().unwrap_or(0);
    assert_eq!(yielded as usize, orders);
    info(
        "find_in_flight",
        &format!(
            "{orders} orders in {:.1}s ({:.0}/s); peak RSS grew {:.1} MiB while streaming",
            elapsed.as_secs_f64(),
            orders as f64 / elapsed.as_secs_f64(),
            rss_after.saturating_sub(rss_before) as f64 / 1048576.0
        ),
    );
    report(
        "find_in_flight",
        "max_records_held",
        max_held as f64,
        &format!("<={CONCURRENCY}"),
        max_held <= CONCURRENCY as u64,
    );
    mock.shutdown().await;
    Ok(())
}
