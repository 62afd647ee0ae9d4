//! `find` over 1,000 orders with 20 ms of simulated latency per request, at concurrency 16:
//! its time against the physical floor ((1 + ⌈n/16⌉) × 20 ms), and against fetching the same
//! orders one by one (measured side by side in this run).

use std::time::{Duration, Instant};

use ontime::{Client, OrderFilter};
use ontime_bench::{info, report};
use ontime_mock::{FaultKind, FaultRule, OnTimeMock};

const ORDERS: usize = 1000;
const CONCURRENCY: usize = 16;
const LATENCY: Duration = Duration::from_millis(20);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let quick = ontime_bench::quick();
    let mock = OnTimeMock::builder()
        .seed(42)
        .orders(ORDERS)
        .fault(FaultRule::always(FaultKind::Latency {
            fixed: LATENCY,
            jitter: Duration::ZERO,
        }))
        .start()
        .await?;
    let client = Client::builder()
        .base_url(mock.base_url())
        .api_key(mock.api_key())
        .concurrency(CONCURRENCY)
        .build()?;
    // Open the connections once, as a long-lived client would have them.
    client
        .orders()
        .find_all()
        .concurrency(CONCURRENCY)
        .ids()
        .await?;

    let mut best = Duration::MAX;
    for _ in 0..if quick { 1 } else { 3 } {
        let started = Instant::now();
        let orders = client
            .orders()
            .find(OrderFilter::new())
            .concurrency(CONCURRENCY)
            .collect_vec()
            .await?;
        best = best.min(started.elapsed());
        assert_eq!(orders.len(), ORDERS);
    }
    let rounds = 1 + ORDERS.div_ceil(CONCURRENCY);
    let floor = LATENCY * rounds as u32;
    info(
        "facade_find",
        &format!(
            "find={:.0}ms floor={:.0}ms ({rounds} rounds of 20 ms)",
            best.as_secs_f64() * 1e3,
            floor.as_secs_f64() * 1e3
        ),
    );
    let ratio = best.as_secs_f64() / floor.as_secs_f64();
    report(
        "facade_find",
        "time_vs_floor",
        ratio,
        "<=1.15",
        ratio <= 1.15,
    );

    // One by one: the finder, then each order in turn (the naive N+1 loop).
    let sample = if quick { 100 } else { ORDERS };
    let started = Instant::now();
    let ids = client.orders().ids(OrderFilter::new()).await?;
    for id in ids.iter().take(sample) {
        client.orders().get(*id).await?;
    }
    let measured = started.elapsed();
    // With --quick only `sample` orders are fetched; scale the per-order cost to all of them.
    let per_order = (measured.as_secs_f64() - LATENCY.as_secs_f64()) / sample as f64;
    let one_by_one = LATENCY.as_secs_f64() + per_order * ORDERS as f64;
    info(
        "facade_find",
        &format!(
            "one_by_one={:.0}ms ({} orders measured)",
            one_by_one * 1e3,
            sample
        ),
    );
    let speedup = one_by_one / best.as_secs_f64();
    report(
        "facade_find",
        "speedup_vs_one_by_one",
        speedup,
        ">=12",
        speedup >= 12.0,
    );
    mock.shutdown().await;
    Ok(())
}
