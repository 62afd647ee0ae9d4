//! `GET api/orders/{id}` on the simulator vs a bare axum handler that returns the same
//! pre-serialised bytes, 64 concurrent connections over loopback, with the same load generator.
//!
//! Two figures, each a ratio of simulator to baseline (1.0 = as fast as the bare handler):
//!
//! - `ratio` (held): requests per second, measured in short rounds that alternate between the
//!   two servers (bare/sim, sim/bare, ...). Each pair of adjacent rounds gives one ratio and the
//!   median of the pairs is the figure, so a burst of load from elsewhere on the machine lowers
//!   both halves of the pair it hits (or spoils one pair) instead of one side's whole run. The
//!   spread (min/max of the pair ratios) is printed as INFO.
//! - `instr_ratio` (held where valgrind is installed, otherwise INFO says it was skipped):
//!   instructions per request of the baseline over those of the simulator, counted by
//!   callgrind in a child run of this binary (`--callgrind-child SIDE N`). It counts CPU work
//!   of the whole process (load generator included, as in the throughput rounds), does not
//!   depend on the machine's load, and says nothing about latency under concurrency.

use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use bytes::Bytes;
use ontime_bench::callgrind::{self, CallgrindError};
use ontime_bench::{LoadSpec, LoadStats, info, load, median, paired_ratio, quick, report};

const NAME: &str = "mock_get_by_id";
const CONNECTIONS: usize = 64;
/// The held throughput goal: the median pair ratio must reach it. Five runs on a 2-core machine
/// with a load average of 8 to 12 gave medians of 0.64 to 0.81; the goal sits below them and
/// catches a simulator that has lost a fifth or more of its throughput.
const RATIO_GOAL: f64 = 0.55;
/// The held instruction-count goal. Five runs gave 0.473 to 0.474 (1,280 requests: 0.49); the
/// goal fails once the simulator's process spends about 10 % more instructions per request
/// (some 7,500 on top of 75,000).
const INSTR_GOAL: f64 = 0.43;
/// The flag that makes this binary the measured child of a callgrind run.
const CHILD_FLAG: &str = "--callgrind-child";

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
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == CHILD_FLAG) {
        Some(at) => {
            let side = args.get(at + 1).and_then(|s| Side::parse(s));
            let requests = args.get(at + 2).and_then(|n| n.parse::<u64>().ok());
            let (Some(side), Some(requests)) = (side, requests) else {
                eprintln!("usage: {NAME} {CHILD_FLAG} sim|bare REQUESTS");
                std::process::exit(2);
            };
            runtime.block_on(child(side, requests));
            // Skip the teardown: it is not measured and only costs time under valgrind.
            std::process::exit(0);
        }
        None => runtime.block_on(bench()),
    }
}

/// Which server a measurement loads.
#[derive(Clone, Copy, Debug)]
enum Side {
    Sim,
    Bare,
}

impl Side {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "sim" => Some(Self::Sim),
            "bare" => Some(Self::Bare),
            _ => None,
        }
    }

    fn arg(self) -> &'static str {
        match self {
            Self::Sim => "sim",
            Self::Bare => "bare",
        }
    }
}

/// The simulator and the bare handler, both listening, and the paths to request.
struct Servers {
    mock: ontime_mock::RunningMock,
    bare_addr: std::net::SocketAddr,
    paths: Vec<String>,
}

impl Servers {
    async fn start() -> Self {
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
        let bytes = Bytes::from(first_body(&mock, &paths[0]).await);
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
        Self {
            mock,
            bare_addr,
            paths,
        }
    }

    fn addr(&self, side: Side) -> std::net::SocketAddr {
        match side {
            Side::Sim => self.mock.addr(),
            Side::Bare => self.bare_addr,
        }
    }

    fn spec(&self, addr: std::net::SocketAddr, secs: f64, max_requests: Option<u64>) -> LoadSpec {
        LoadSpec {
            addr,
            paths: self.paths.clone(),
            authorization: Some(self.mock.api_key().to_owned()),
            connections: CONNECTIONS,
            duration: Duration::from_secs_f64(secs),
            max_requests,
        }
    }
}

async fn bench() {
    let (pairs, round_secs, counted_requests) = if quick() {
        (5, 0.25, 1_280)
    } else {
        (9, 0.5, 3_200)
    };
    let servers = Servers::start().await;

    // Warm up both, then alternate rounds; the order flips every pair so that neither side
    // always runs first.
    run(&servers.spec(servers.bare_addr, 0.5, None)).await;
    run(&servers.spec(servers.mock.addr(), 0.5, None)).await;
    let mut measured = Vec::new();
    for pair in 0..pairs {
        let order = if pair % 2 == 0 {
            [Side::Bare, Side::Sim]
        } else {
            [Side::Sim, Side::Bare]
        };
        let (mut sim, mut bare) = (LoadStats::default(), LoadStats::default());
        for side in order {
            let stats = run(&servers.spec(servers.addr(side), round_secs, None)).await;
            match side {
                Side::Sim => sim = stats,
                Side::Bare => bare = stats,
            }
        }
        info(
            NAME,
            &format!(
                "pair={pair} first={} bare_rps={:.0} bare_p99_us={} mock_rps={:.0} mock_p99_us={} ratio={:.3}",
                order[0].arg(),
                bare.rps(),
                bare.p99.as_micros(),
                sim.rps(),
                sim.p99.as_micros(),
                sim.rps() / bare.rps().max(1.0)
            ),
        );
        if sim.errors > 0 || bare.errors > 0 {
            eprintln!(
                "{NAME}: errors during the run (mock {}, bare {})",
                sim.errors, bare.errors
            );
            std::process::exit(2);
        }
        measured.push((sim.rps(), bare.rps()));
    }
    let Some(ratio) = paired_ratio(&measured) else {
        eprintln!("{NAME}: no usable pair of rounds: {measured:?}");
        std::process::exit(2);
    };
    info(NAME, &format!("ratio_spread {}", ratio.spread_text()));

    // The same load against a simulator without its order response cache, for the record,
    // paired with a baseline round right after it.
    let uncached = ontime_mock::OnTimeMock::builder()
        .orders(10_000)
        .daily_quota(u64::MAX)
        .monthly_quota(u64::MAX)
        .response_cache(false)
        .start()
        .await
        .expect("mock starts");
    let sim = run(&servers.spec(uncached.addr(), round_secs, None)).await;
    let bare = run(&servers.spec(servers.bare_addr, round_secs, None)).await;
    info(
        NAME,
        &format!(
            "uncached_mock_rps={:.0} uncached_ratio={:.3} (response cache off: every read materialises and serialises the order)",
            sim.rps(),
            sim.rps() / bare.rps().max(1.0)
        ),
    );
    uncached.shutdown().await;
    servers.mock.shutdown().await;

    let instr = instruction_ratio(counted_requests);

    let sims: Vec<f64> = measured.iter().map(|p| p.0).collect();
    let bares: Vec<f64> = measured.iter().map(|p| p.1).collect();
    report(
        NAME,
        "mock_rps",
        median(&sims).unwrap_or_default(),
        "info",
        true,
    );
    report(
        NAME,
        "bare_axum_rps",
        median(&bares).unwrap_or_default(),
        "info",
        true,
    );
    report(
        NAME,
        "ratio",
        ratio.median,
        &format!(">={RATIO_GOAL}"),
        ratio.median >= RATIO_GOAL,
    );
    if let Some(instr) = instr {
        report(
            NAME,
            "instr_ratio",
            instr,
            &format!(">={INSTR_GOAL}"),
            instr >= INSTR_GOAL,
        );
    }
}

/// Instructions per request of the baseline over the simulator's, counted by callgrind over
/// `requests` requests in a child run per side; `None` (after an INFO line) where valgrind is
/// not installed. A callgrind run that fails where valgrind is installed ends the benchmark:
/// the measure itself is broken then.
fn instruction_ratio(requests: u64) -> Option<f64> {
    let version = match callgrind::version() {
        Ok(v) => v,
        Err(e) => {
            info(
                NAME,
                &format!("instr_ratio skipped ({e}); the paired throughput ratio alone is held"),
            );
            return None;
        }
    };
    let exe: PathBuf = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            eprintln!("{NAME}: cannot find this binary to run it under callgrind: {e}");
            std::process::exit(2);
        }
    };
    let mut per_request = Vec::new();
    for side in [Side::Sim, Side::Bare] {
        let args = [CHILD_FLAG, side.arg(), &requests.to_string()].map(String::from);
        match callgrind::count_between_marks(&exe, &args) {
            Ok(count) => per_request.push(count as f64 / requests as f64),
            Err(CallgrindError::Missing(why)) => {
                info(
                    NAME,
                    &format!("instr_ratio skipped (valgrind could not be started: {why})"),
                );
                return None;
            }
            Err(e) => {
                eprintln!(
                    "{NAME}: counting instructions of the {} side: {e}",
                    side.arg()
                );
                std::process::exit(2);
            }
        }
    }
    let (sim, bare) = (per_request[0], per_request[1]);
    info(
        NAME,
        &format!(
            "instructions_per_request mock={sim:.0} bare={bare:.0} requests={requests} connections={CONNECTIONS} ({version}, whole process incl. load generator)"
        ),
    );
    Some(bare / sim.max(1.0))
}

/// The measured child of a callgrind run: warms the side up, then loads it with exactly
/// `requests` requests between two [`callgrind::mark`] calls. The count includes opening the
/// 64 connections, spread over `requests / 64` requests each.
async fn child(side: Side, requests: u64) {
    let servers = Servers::start().await;
    let addr = servers.addr(side);
    let long = 3_600.0;
    // Every path once (the simulator's response cache then holds each order, as it does
    // after the warm-up of the throughput rounds) before the counted stretch.
    let warm_requests = (servers.paths.len() + CONNECTIONS * 4) as u64;
    let warm = run(&servers.spec(addr, long, Some(warm_requests))).await;
    callgrind::mark();
    let stats = run(&servers.spec(addr, long, Some(requests))).await;
    callgrind::mark();
    if warm.errors > 0 || stats.errors > 0 || stats.requests != requests {
        eprintln!(
            "{NAME}: child run on {}: {} of {requests} requests, {} errors",
            side.arg(),
            stats.requests,
            warm.errors + stats.errors
        );
        std::process::exit(2);
    }
}

/// The bytes the simulator serves for `path`'s order: the record from the store, serialised as
/// the simulator serialises it (after one real request, so the path is known to answer).
async fn first_body(mock: &ontime_mock::RunningMock, path: &str) -> Vec<u8> {
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
    let id = path
        .rsplit('/')
        .next()
        .and_then(|s| s.parse().ok())
        .expect("id");
    serde_json::to_vec(&mock.store().order(id).expect("order")).expect("json")
}
