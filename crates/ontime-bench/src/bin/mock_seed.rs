//! Seeding the simulator: 10,000 orders (goal < 1 s) and 1,000,000 orders (goal < 60 s with a
//! peak RSS < 2 GiB, measured in a child process so the figure is the seeding's own).
//! `--quick` skips the million.

use std::process::Command;
use std::time::Instant;

use ontime_bench::{info, peak_rss_bytes, quick, report};

const NAME: &str = "mock_seed";

fn seed(orders: usize) -> f64 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let started = Instant::now();
        let mock = ontime_mock::OnTimeMock::builder()
            .orders(orders)
            .start()
            .await
            .expect("mock starts");
        let secs = started.elapsed().as_secs_f64();
        assert_eq!(mock.store().order_count(), orders);
        mock.shutdown().await;
        secs
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(pos) = args.iter().position(|a| a == "--child") {
        let orders: usize = args
            .get(pos + 1)
            .and_then(|n| n.parse().ok())
            .expect("--child ORDERS");
        let secs = seed(orders);
        println!(
            "CHILD secs={secs} peak_rss={}",
            peak_rss_bytes().unwrap_or(0)
        );
        return;
    }

    // Best of three for the small case (it is short enough to be noisy).
    let small = (0..3).map(|_| seed(10_000)).fold(f64::MAX, f64::min);
    report(NAME, "seed_10k_secs", small, "<1", small < 1.0);

    if quick() {
        info(NAME, "--quick: the 1,000,000-order case is skipped");
        return;
    }
    let exe = std::env::current_exe().expect("current exe");
    let out = Command::new(exe)
        .args(["--child", "1000000"])
        .output()
        .expect("child runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("CHILD "))
        .unwrap_or_default();
    let field = |name: &str| {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(name))
            .and_then(|v| v.parse::<f64>().ok())
    };
    let (Some(secs), Some(rss)) = (field("secs="), field("peak_rss=")) else {
        eprintln!(
            "{NAME}: the 1M child failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::process::exit(2);
    };
    report(NAME, "seed_1m_secs", secs, "<60", secs < 60.0);
    let gib = rss / (1024.0 * 1024.0 * 1024.0);
    report(NAME, "seed_1m_peak_rss_gib", gib, "<2", gib < 2.0);
}
