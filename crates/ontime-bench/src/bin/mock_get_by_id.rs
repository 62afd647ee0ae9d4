//! `GET api/orders/{id}` on the simulator vs a bare axum handler that returns the same
//! pre-serialised bytes: requests per second over loopback with 64 concurrent connections,
//! both measured in this run with the same load generator. Goal: ratio >= 0.65.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use bytes::Bytes;
use ontime_bench::{LoadSpec, LoadStats, info, load, quick, report};

const NAME: &str = "mock_get_by_id";
const CONNECTIONS: usize = 64;

async fn run(spec: &LoadSpec) -> LoadStats {
    match load(spec.clone()).await {
        Ok(stats) => stats,
        Err(e) => {
            eprintln!("{NAME}: load failed: {e}");
            std::process::exit(2);
        }
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(bench());
}

async fn bench() {
    let seconds = if quick() { 1.5 } else { 4.0 };
    // Quotas high enough for the run (OnTime's 86,400 a day would answer 429 within a second).
    let mock = ontime_mock::OnTimeMock::builder()
        .orders(10_000)
        .daily_quota(u64::MAX)
        .monthly_quota(u64::MAX)
        .start()
        .await
        .expect("mock starts");
    let ids = mock.store().order_ids();
    let paths: Vec<String> = ids
        .iter()
        .step_by(7)
        .take(1000)
        .map(|id| format!("/sites/{}/api/orders/{id}", mock.company()))
        .collect();

    // The baseline answers every id with the bytes the simulator answers for the first one.
    let http = std::net::TcpStream::connect(mock.addr()).is_ok();
    assert!(http, "mock reachable");
    let body = fetch(&mock, &paths[0]).await;
    info(NAME, &format!("body_bytes={}", body.len()));
    let bytes = Bytes::from(body);
    let app = Router::new().route(
        "/sites/{company}/api/orders/{id}",
        get(move || {
            let bytes = bytes.clone();
            async move {
                (
                    [(
                        http::header::CONTENT_TYPE,
                        "application/json; charset=utf-8",
                    )],
                    bytes,
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let bare_addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let spec = |addr, secs: f64| LoadSpec {
        addr,
        paths: paths.clone(),
        authorization: Some(mock.api_key().to_owned()),
        connections: CONNECTIONS,
        duration: Duration::from_secs_f64(secs),
        max_requests: None,
    };
    // Warm up both, then alternate measurements and keep each side's best.
    run(&spec(bare_addr, 0.5)).await;
    run(&spec(mock.addr(), 0.5)).await;
    let (mut bare_best, mut mock_best) = (0.0f64, 0.0f64);
    for round in 0..2 {
        let bare = run(&spec(bare_addr, seconds / 2.0)).await;
        let sim = run(&spec(mock.addr(), seconds / 2.0)).await;
        info(
            NAME,
            &format!(
                "round={round} bare_rps={:.0} bare_p99_us={} mock_rps={:.0} mock_p99_us={} mock_errors={}",
                bare.rps(),
                bare.p99.as_micros(),
                sim.rps(),
                sim.p99.as_micros(),
                sim.errors
            ),
        );
        if sim.errors > 0 || bare.errors > 0 {
            eprintln!(
                "{NAME}: errors during the run (mock {}, bare {})",
                sim.errors, bare.errors
            );
            std::process::exit(2);
        }
        bare_best = bare_best.max(bare.rps());
        mock_best = mock_best.max(sim.rps());
    }
    // The same load against a simulator without its order response cache, for the record.
    let uncached = ontime_mock::OnTimeMock::builder()
        .orders(10_000)
        .daily_quota(u64::MAX)
        .monthly_quota(u64::MAX)
        .response_cache(false)
        .start()
        .await
        .expect("mock starts");
    let sim = run(&spec(uncached.addr(), seconds / 2.0)).await;
    info(
        NAME,
        &format!(
            "uncached_mock_rps={:.0} uncached_ratio={:.3} (response cache off: every read materialises and serialises the order)",
            sim.rps(),
            sim.rps() / bare_best.max(1.0)
        ),
    );
    uncached.shutdown().await;
    report(NAME, "mock_rps", mock_best, "info", true);
    report(NAME, "bare_axum_rps", bare_best, "info", true);
    let ratio = mock_best / bare_best.max(1.0);
    report(NAME, "ratio", ratio, ">=0.65", ratio >= 0.65);
    mock.shutdown().await;
}

async fn fetch(mock: &ontime_mock::RunningMock, path: &str) -> Vec<u8> {
    let spec = LoadSpec {
        addr: mock.addr(),
        paths: vec![path.to_owned()],
        authorization: Some(mock.api_key().to_owned()),
        connections: 1,
        duration: Duration::from_secs(5),
        max_requests: Some(1),
    };
    let stats = run(&spec).await;
    assert_eq!(stats.requests, 1);
    // The load generator discards bodies; read the record from the store instead, serialised
    // as the simulator serialises it.
    let id = path
        .rsplit('/')
        .next()
        .and_then(|s| s.parse().ok())
        .expect("id");
    serde_json::to_vec(&mock.store().order(id).expect("order")).expect("json")
}
