//! The `ontime` command line exports 100,000 orders as NDJSON in constant memory: peak RSS of the
//! `ontime` process under 64 MiB (goal). `--quick` exports 10,000.
//!
//! The simulator runs in this process; `ontime orders find -o ndjson` runs as a child (the
//! release binary, built first), its stdout read and discarded here (lines counted, to check
//! the export is complete). The child's peak RSS is its `VmHWM`, polled from
//! `/proc/<pid>/status` while it runs.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ontime_bench::{info, quick, report};

const NAME: &str = "cli_export_rss";
const KEY: &str = "bench-key";

/// Builds the release `ontime` binary and returns its path (next to this benchmark's binary,
/// in the same target directory and profile).
fn ontime_binary() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "ontime-cli",
            "--bin",
            "ontime",
        ])
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building ontime failed");
    let exe = std::env::current_exe().expect("current exe");
    let path = exe
        .parent()
        .expect("target/release")
        .join(format!("ontime{}", std::env::consts::EXE_SUFFIX));
    assert!(path.exists(), "{} is missing", path.display());
    path
}

/// `VmHWM` (peak resident set) of a running process, in bytes.
fn vm_hwm(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kib| kib * 1024)
}

fn main() {
    let orders: usize = if quick() { 10_000 } else { 100_000 };
    let ontime = ontime_binary();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mock = runtime
        .block_on(
            ontime_mock::OnTimeMock::builder()
                .orders(orders)
                .api_key(KEY)
                .request_log_capacity(0)
                .daily_quota(u64::MAX / 2)
                .monthly_quota(u64::MAX / 2)
                .start(),
        )
        .expect("simulator starts");

    let started = Instant::now();
    let mut child = Command::new(&ontime)
        .args([
            "--base-url",
            &mock.base_url(),
            "--api-key",
            KEY,
            "--no-progress",
        ])
        .args(["orders", "find", "-o", "ndjson"])
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("ontime starts");
    let pid = child.id();

    // Poll the child's peak RSS while it runs (VmHWM only grows).
    let peak = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let poller = {
        let (peak, done) = (peak.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                if let Some(bytes) = vm_hwm(pid) {
                    peak.fetch_max(bytes, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };

    let mut stdout = child.stdout.take().expect("stdout");
    let mut lines = 0u64;
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        match stdout.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                lines += buffer[..n].iter().filter(|b| **b == b'\n').count() as u64;
                // The last reading before the child exits is the closest to its peak.
                if let Some(bytes) = vm_hwm(pid) {
                    peak.fetch_max(bytes, Ordering::Relaxed);
                }
            }
            Err(e) => panic!("reading the export: {e}"),
        }
    }
    let status = child.wait().expect("ontime exits");
    done.store(true, Ordering::Relaxed);
    let _ = poller.join();
    let secs = started.elapsed().as_secs_f64();
    runtime.block_on(mock.shutdown());

    assert!(status.success(), "ontime failed: {status}");
    assert_eq!(lines, orders as u64, "the export is incomplete");
    info(
        NAME,
        &format!(
            "exported {orders} orders in {secs:.1} s ({:.0} orders/s)",
            orders as f64 / secs
        ),
    );
    let mib = peak.load(Ordering::Relaxed) as f64 / (1024.0 * 1024.0);
    report(NAME, "peak_rss_mib", mib, "<64", mib > 0.0 && mib < 64.0);
}
