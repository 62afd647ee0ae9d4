//! Shared helpers of the benchmark binaries run by `cargo xtask bench`.
//!
//! A benchmark binary lives in `src/bin/NAME.rs` (xtask discovers it by that file), measures,
//! and prints one line per figure with [`report`]:
//!
//! ```text
//! RESULT <name> <metric>=<value> goal=<goal> PASS|FAIL
//! ```
//!
//! It takes `--quick` (see [`quick`]) for a shorter run. [`load`] is a loopback load generator:
//! N keep-alive HTTP/1.1 connections (hyper), each sending requests back to back for a fixed
//! time or request count, reading every body in full.
//!
//! Figures that compare two servers on a shared machine use [`paired_ratio`]: short rounds of
//! the two sides alternate, each pair gives one ratio, and the median of those ratios is the
//! figure (noise that hits a moment hits both halves of a pair). [`callgrind`] counts the
//! instructions a stretch of a benchmark executes, for a figure that does not depend on what
//! else the machine is doing.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{AUTHORIZATION, HOST};
use http::{HeaderValue, Request};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Whether the binary was started with `--quick`.
pub fn quick() -> bool {
    std::env::args().any(|a| a == "--quick")
}

/// One measured figure and its goal.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    /// Benchmark name (e.g. `mock_get_by_id`).
    pub name: String,
    /// What was measured (e.g. `ratio`).
    pub metric: String,
    /// The value.
    pub value: f64,
    /// The goal as text (e.g. `>=0.65`, `<1s`).
    pub goal: String,
    /// Whether the goal was met.
    pub pass: bool,
}

impl Figure {
    /// The `RESULT ...` line.
    pub fn line(&self) -> String {
        format!(
            "RESULT {} {}={} goal={} {}",
            self.name,
            self.metric,
            format_value(self.value),
            self.goal,
            if self.pass { "PASS" } else { "FAIL" }
        )
    }
}

fn format_value(v: f64) -> String {
    if v.abs() >= 1000.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

/// Prints a `RESULT` line and returns the figure.
pub fn report(name: &str, metric: &str, value: f64, goal: &str, pass: bool) -> Figure {
    let figure = Figure {
        name: name.to_owned(),
        metric: metric.to_owned(),
        value,
        goal: goal.to_owned(),
        pass,
    };
    println!("{}", figure.line());
    figure
}

/// Prints an informational line (not a result).
pub fn info(name: &str, text: &str) {
    println!("INFO {name} {text}");
}

/// What to send.
#[derive(Clone, Debug)]
pub struct LoadSpec {
    /// The server.
    pub addr: SocketAddr,
    /// Request paths (with query), used round-robin across all connections.
    pub paths: Vec<String>,
    /// `Authorization` header value, if any.
    pub authorization: Option<String>,
    /// Concurrent connections.
    pub connections: usize,
    /// Stop after this long...
    pub duration: Duration,
    /// ...or after this many requests in total, whichever comes first.
    pub max_requests: Option<u64>,
}

/// What came back.
#[derive(Clone, Debug, Default)]
pub struct LoadStats {
    /// Completed requests (any status).
    pub requests: u64,
    /// Requests that failed in transport or answered a non-2xx status.
    pub errors: u64,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Median latency.
    pub p50: Duration,
    /// 99th-percentile latency.
    pub p99: Duration,
    /// Response body bytes read.
    pub bytes: u64,
}

impl LoadStats {
    /// Completed requests per second.
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Runs the load: `spec.connections` connections, each sending GET requests back to back.
pub async fn load(spec: LoadSpec) -> std::io::Result<LoadStats> {
    let spec = Arc::new(spec);
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + spec.duration;
    let mut tasks = Vec::new();
    for c in 0..spec.connections {
        let spec = spec.clone();
        let counter = counter.clone();
        tasks.push(tokio::spawn(async move {
            connection(&spec, c, deadline, &counter).await
        }));
    }
    let mut stats = LoadStats::default();
    let mut latencies: Vec<u32> = Vec::new();
    for t in tasks {
        let (requests, errors, bytes, lat) = t.await.map_err(std::io::Error::other)??;
        stats.requests += requests;
        stats.errors += errors;
        stats.bytes += bytes;
        latencies.extend(lat);
    }
    stats.elapsed = started.elapsed();
    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map(|us| Duration::from_micros(u64::from(*us)))
            .unwrap_or_default()
    };
    stats.p50 = pct(0.50);
    stats.p99 = pct(0.99);
    Ok(stats)
}

type ConnResult = std::io::Result<(u64, u64, u64, Vec<u32>)>;

async fn connection(
    spec: &LoadSpec,
    index: usize,
    deadline: Instant,
    counter: &std::sync::atomic::AtomicU64,
) -> ConnResult {
    use std::sync::atomic::Ordering;
    let stream = TcpStream::connect(spec.addr).await?;
    stream.set_nodelay(true)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let host = HeaderValue::from_str(&spec.addr.to_string()).map_err(std::io::Error::other)?;
    let auth = spec
        .authorization
        .as_deref()
        .map(HeaderValue::from_str)
        .transpose()
        .map_err(std::io::Error::other)?;
    let (mut requests, mut errors, mut bytes) = (0u64, 0u64, 0u64);
    let mut latencies = Vec::new();
    let mut i = index;
    while Instant::now() < deadline {
        if let Some(max) = spec.max_requests
            && counter.fetch_add(1, Ordering::Relaxed) >= max
        {
            break;
        }
        let path = &spec.paths[i % spec.paths.len()];
        i += spec.connections;
        let mut req = Request::get(path.as_str())
            .header(HOST, host.clone())
            .body(Empty::<Bytes>::new())
            .map_err(std::io::Error::other)?;
        if let Some(a) = &auth {
            req.headers_mut().insert(AUTHORIZATION, a.clone());
        }
        let sent = Instant::now();
        if sender.ready().await.is_err() {
            errors += 1;
            break;
        }
        match sender.send_request(req).await {
            Ok(resp) => {
                let ok = resp.status().is_success();
                match resp.into_body().collect().await {
                    Ok(body) => {
                        bytes += body.to_bytes().len() as u64;
                        if !ok {
                            errors += 1;
                        }
                    }
                    Err(_) => errors += 1,
                }
            }
            Err(_) => {
                errors += 1;
                break;
            }
        }
        requests += 1;
        latencies.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
    }
    Ok((requests, errors, bytes, latencies))
}

/// Peak resident memory of this process (`VmHWM` of `/proc/self/status`), in bytes.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kib| kib * 1024)
}

/// The median of `values`: the middle one, or the mean of the two middle ones for an even
/// count. `None` when `values` is empty or holds a NaN.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() || values.iter().any(|v| v.is_nan()) {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    })
}

/// Ratios of paired measurements: their median and their spread.
#[derive(Clone, Debug, PartialEq)]
pub struct PairedRatio {
    /// `numerator / denominator` of each pair, in the order measured.
    pub ratios: Vec<f64>,
    /// The median of [`ratios`](Self::ratios): the figure to hold.
    pub median: f64,
    /// The smallest ratio.
    pub min: f64,
    /// The largest ratio.
    pub max: f64,
}

impl PairedRatio {
    /// `min=.. max=.. ratios=a,b,c` for an `INFO` line.
    pub fn spread_text(&self) -> String {
        let each: Vec<String> = self.ratios.iter().map(|r| format!("{r:.3}")).collect();
        format!(
            "min={:.3} max={:.3} ratios={}",
            self.min,
            self.max,
            each.join(",")
        )
    }
}

/// Summarises pairs `(numerator, denominator)` measured back to back, e.g. (simulator
/// requests/s, baseline requests/s) of one round each. `None` when there is no pair or a value
/// is not a finite number, or a denominator is not positive (no ratio can be formed honestly).
pub fn paired_ratio(pairs: &[(f64, f64)]) -> Option<PairedRatio> {
    if pairs
        .iter()
        .any(|&(n, d)| !n.is_finite() || !d.is_finite() || d <= 0.0)
    {
        return None;
    }
    let ratios: Vec<f64> = pairs.iter().map(|&(n, d)| n / d).collect();
    let median = median(&ratios)?;
    let min = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    let max = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Some(PairedRatio {
        ratios,
        median,
        min,
        max,
    })
}

pub mod callgrind;
pub mod sync_sim;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_takes_the_middle_and_averages_an_even_pair() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[0.7]), Some(0.7));
        assert_eq!(median(&[0.9, 0.1, 0.5]), Some(0.5));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        // One wild value does not move it (a mean would be 1.66).
        assert_eq!(median(&[0.70, 0.72, 0.71, 5.0, 0.69]), Some(0.71));
        assert_eq!(median(&[1.0, f64::NAN]), None);
    }

    #[test]
    fn paired_ratio_is_the_median_of_per_pair_ratios() {
        // The third and fifth pairs ran while the machine was busy: both halves dropped, so
        // their ratios stay in line with the others.
        let pairs = [
            (70.0, 100.0),
            (72.0, 100.0),
            (35.0, 50.0),
            (90.0, 100.0),
            (14.0, 20.0),
        ];
        let r = paired_ratio(&pairs).expect("ratio");
        assert_eq!(r.ratios.len(), 5);
        assert!((r.median - 0.70).abs() < 1e-12, "{r:?}");
        assert!(
            (r.min - 0.70).abs() < 1e-12 && (r.max - 0.90).abs() < 1e-12,
            "{r:?}"
        );
        assert_eq!(
            r.spread_text(),
            "min=0.700 max=0.900 ratios=0.700,0.720,0.700,0.900,0.700"
        );
        assert_eq!(paired_ratio(&[]), None);
        assert_eq!(paired_ratio(&[(1.0, 0.0)]), None);
        assert_eq!(paired_ratio(&[(f64::NAN, 1.0)]), None);
    }

    #[test]
    fn result_lines_have_the_agreed_shape() {
        let f = Figure {
            name: "x".into(),
            metric: "ratio".into(),
            value: 0.71234,
            goal: ">=0.65".into(),
            pass: true,
        };
        assert_eq!(f.line(), "RESULT x ratio=0.712 goal=>=0.65 PASS");
        assert!(peak_rss_bytes().is_some_and(|b| b > 0));
    }
}
