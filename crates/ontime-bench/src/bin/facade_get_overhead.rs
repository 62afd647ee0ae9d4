//! Get-by-id throughput on loopback with no added latency: the facade (retries, limits,
//! tracing, quota bookkeeping, error mapping) against the raw generated client, measured in
//! alternating rounds in one run. Goal: the facade within 5 % of the raw client.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ontime::{Client, OrderId};
use ontime_bench::{info, report};
use ontime_mock::OnTimeMock;
use uuid::Uuid;

const TASKS: usize = 16;

async fn run<F, Fut>(ids: Arc<Vec<Uuid>>, duration: Duration, call: F) -> f64
where
    F: Fn(Uuid) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let (ids, done, call) = (ids.clone(), done.clone(), call.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = t;
            while started.elapsed() < duration {
                assert!(call(ids[i % ids.len()]).await, "request failed");
                done.fetch_add(1, Ordering::Relaxed);
                i += TASKS;
            }
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let quick = ontime_bench::quick();
    let mock = OnTimeMock::builder()
        .seed(42)
        .orders(2000)
        .daily_quota(u64::MAX)
        .monthly_quota(u64::MAX)
        .start()
        .await?;
    let ids = Arc::new(mock.store().order_ids());
    let facade = Client::builder()
        .base_url(mock.base_url())
        .api_key(mock.api_key())
        .concurrency(TASKS)
        .build()?;
    let raw = Arc::new(ontime_raw::Client::new(
        &mock.base_url(),
        ontime_raw::Hooks::new().api_key(mock.api_key())?,
    ));

    let round = Duration::from_millis(if quick { 500 } else { 2000 });
    let (mut raw_rps, mut facade_rps) = (Vec::new(), Vec::new());
    for _ in 0..if quick { 2 } else { 4 } {
        let r = raw.clone();
        raw_rps.push(
            run(ids.clone(), round, move |id| {
                let r = r.clone();
                async move { r.orders_get().id(id).send().await.is_ok() }
            })
            .await,
        );
        let f = facade.clone();
        facade_rps.push(
            run(ids.clone(), round, move |id| {
                let f = f.clone();
                async move { f.orders().get(OrderId::from(id)).await.is_ok() }
            })
            .await,
        );
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (raw_rps, facade_rps) = (median(&mut raw_rps), median(&mut facade_rps));
    info(
        "facade_get_overhead",
        &format!("raw={raw_rps:.0}/s facade={facade_rps:.0}/s ({TASKS} concurrent callers)"),
    );
    let ratio = facade_rps / raw_rps;
    report(
        "facade_get_overhead",
        "throughput_vs_raw",
        ratio,
        ">=0.95",
        ratio >= 0.95,
    );
    mock.shutdown().await;
    Ok(())
}
