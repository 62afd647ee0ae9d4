//! `ontime-mock`: runs the OnTime 360 simulator on 127.0.0.1 until Ctrl-C.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use chrono::{FixedOffset, NaiveDateTime};
use clap::Parser;
use ontime_mock::{FaultRule, OnTimeMock};

/// A stateful OnTime 360 simulator serving openapi/ontime.json on 127.0.0.1.
#[derive(Debug, Parser)]
#[command(name = "ontime-mock", version)]
struct Args {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8080, env = "ONTIME_MOCK_PORT")]
    port: u16,
    /// Seed of the generated data, keys and fault decisions.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Number of orders to seed.
    #[arg(long, default_value_t = 1000)]
    orders: usize,
    /// Company id in /sites/{company}.
    #[arg(long, default_value = "demo")]
    company: String,
    /// Full-access API key (default: a GUID derived from the seed).
    #[arg(long, env = "ONTIME_MOCK_API_KEY")]
    api_key: Option<String>,
    /// Customer-scoped API key (default: a GUID derived from the seed).
    #[arg(long)]
    customer_key: Option<String>,
    /// Daily request quota per key.
    #[arg(long, default_value_t = ontime_mock::DEFAULT_DAILY_QUOTA)]
    daily_quota: u64,
    /// Monthly request quota per key.
    #[arg(long, default_value_t = ontime_mock::DEFAULT_MONTHLY_QUOTA)]
    monthly_quota: u64,
    /// The account's UTC offset, e.g. -06:00.
    #[arg(long, default_value = "-06:00", value_parser = parse_offset)]
    utc_offset: FixedOffset,
    /// Start the clock at this account-local time (e.g. 2024-03-01T09:00:00) instead of now.
    #[arg(long, value_parser = parse_time)]
    clock_start: Option<NaiveDateTime>,
    /// The largest request body accepted, in bytes; a longer one is answered 413.
    #[arg(long, value_name = "BYTES", default_value_t = ontime_mock::DEFAULT_MAX_BODY_BYTES)]
    max_body_bytes: usize,
    /// How many bytes of request bodies all connections together may hold; requests beyond it
    /// wait before their bodies are read. At least --max-body-bytes, at most 4 GiB.
    #[arg(long, value_name = "BYTES", default_value_t = ontime_mock::DEFAULT_BODY_BUDGET_BYTES)]
    body_budget_bytes: usize,
    /// Close a connection that takes longer than this to send a request head (or idles longer
    /// between requests).
    #[arg(long, value_name = "MS", default_value_t = 30_000)]
    header_read_timeout_ms: u64,
    /// Answer 408 when a request body takes longer than this to arrive.
    #[arg(long, value_name = "MS", default_value_t = 30_000)]
    body_read_timeout_ms: u64,
    /// A fault rule, repeatable: KIND[,key=value...]. Kinds: latency (ms, jitter_ms; a delay
    /// before the operation runs: a client that gives up meanwhile cancels it), late (ms; the
    /// operation runs and is logged, then the answer is held back: the write stays even if the
    /// client times out), status (status, retry_after), drop, truncate, malformed, plain
    /// (status), html (status), empty (status), slow (chunk_delay_ms). status, drop, plain, html
    /// and empty answer before the operation runs (nothing is written); late, truncate,
    /// malformed and slow let it run and damage only the answer. Every rule also takes
    /// op=OPERATION_ID or path=/api/PREFIX (with method=GET), p=PROBABILITY and times=N; any
    /// other key is refused.
    /// Example: --fault status,status=503,retry_after=2,p=0.1,op=orderPost
    #[arg(long = "fault", value_name = "RULE", value_parser = parse_fault)]
    faults: Vec<FaultRule>,
}

fn parse_offset(s: &str) -> Result<FixedOffset, String> {
    s.parse::<FixedOffset>()
        .map_err(|e| format!("{s:?} is not an offset like -06:00: {e}"))
}

fn parse_time(s: &str) -> Result<NaiveDateTime, String> {
    s.parse::<ontime_raw::lenient::OnTimeDateTime>()
        .map(|t| t.naive_local())
        .map_err(|e| e.to_string())
}

fn parse_fault(s: &str) -> Result<FaultRule, String> {
    s.parse()
}

#[tokio::main]
async fn main() -> ExitCode {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
    let args = Args::parse();
    let mut builder = OnTimeMock::builder()
        .port(args.port)
        .seed(args.seed)
        .orders(args.orders)
        .company(args.company)
        .daily_quota(args.daily_quota)
        .monthly_quota(args.monthly_quota)
        .utc_offset(args.utc_offset)
        .max_body_bytes(args.max_body_bytes)
        .body_budget_bytes(args.body_budget_bytes)
        .header_read_timeout(Duration::from_millis(args.header_read_timeout_ms))
        .body_read_timeout(Duration::from_millis(args.body_read_timeout_ms));
    if let Some(key) = args.api_key {
        builder = builder.api_key(key);
    }
    if let Some(key) = args.customer_key {
        builder = builder.customer_key(key);
    }
    if let Some(start) = args.clock_start {
        builder = builder.clock_start(start);
    }
    for rule in args.faults {
        builder = builder.fault(rule);
    }
    let started = Instant::now();
    let mock = match builder.start().await {
        Ok(mock) => mock,
        Err(e) => {
            eprintln!("ontime-mock: {e}");
            return ExitCode::FAILURE;
        }
    };
    let store = mock.store();
    let customer = store
        .customer(mock.scoped_customer())
        .and_then(|c| c.name)
        .unwrap_or_default();
    let stop = match ontime_mock::StopSignals::install() {
        Ok(stop) => stop,
        Err(e) => {
            eprintln!("ontime-mock: cannot listen for Ctrl-C or SIGTERM: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("ontime-mock listening on {}", mock.base_url());
    println!("spec:        {}", mock.spec_url());
    println!("api key:     {}   (full access)", mock.api_key());
    println!(
        "customer key: {}   (only customer {} \"{}\")",
        mock.customer_key(),
        mock.scoped_customer(),
        customer
    );
    println!(
        "seeded {} orders in {:.0?}; clock {}; Ctrl-C stops",
        store.order_count(),
        started.elapsed(),
        mock.clock().now().format("%Y-%m-%dT%H:%M:%S")
    );
    if mock.has_faults() {
        println!("fault rules are active");
    }
    stop.wait().await;
    println!("ontime-mock: stopping");
    mock.shutdown().await;
    ExitCode::SUCCESS
}
