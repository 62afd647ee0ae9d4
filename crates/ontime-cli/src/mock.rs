//! `ontime mock serve`: the OnTime simulator, for trying the command line and for scripts' tests.

use std::time::Instant;

use chrono::{FixedOffset, NaiveDateTime};
use clap::{Args, Subcommand};
use ontime_mock::{FaultRule, OnTimeMock};

use crate::args;
use crate::cli::Ctx;
use crate::error::CliError;

#[derive(Subcommand, Debug)]
pub enum MockCommand {
    /// Serve a simulated OnTime account on 127.0.0.1 until Ctrl-C
    Serve(ServeArgs),
}

#[derive(Args, Debug)]
#[command(
    after_help = "Fault rules (--fault, repeatable) are KIND[,key=value...]. Kinds: latency (ms,
jitter_ms; a delay before the operation runs), late (ms; the operation runs, then the answer is
held back: the write stays even if the client gives up), status (status, retry_after), drop,
truncate, malformed, plain (status), html (status), empty (status), slow (chunk_delay_ms).
status, drop, plain, html and empty answer instead of the operation (nothing is written); late,
truncate, malformed and slow let it run and damage only the answer. Every rule takes
op=OPERATION_ID or path=/api/PREFIX (with method=GET), p=PROBABILITY and times=N; unknown keys
are refused.

Examples:
  ontime mock serve --orders 10000 --api-key demo-key   (--api-key and --company name the
                                                        simulated account's key and id)
  ontime mock serve --fault status,status=503,retry_after=1,p=0.1 --fault latency,ms=50

Then, in another shell:
  export ONTIME_BASE_URL=http://127.0.0.1:8080/sites/demo ONTIME_API_KEY=demo-key
  ontime orders find --status delivered --limit 10"
)]
pub struct ServeArgs {
    /// Port on 127.0.0.1 (0 picks a free one)
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Seed of the generated data, keys and fault decisions
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Number of orders to seed
    #[arg(long, default_value_t = 1000)]
    pub orders: usize,
    /// The customer-scoped API key [default: a GUID derived from the seed]
    #[arg(long, value_name = "KEY")]
    pub customer_key: Option<String>,
    /// Daily request quota per key
    #[arg(long, value_name = "N")]
    pub daily_quota: Option<u64>,
    /// Monthly request quota per key
    #[arg(long, value_name = "N")]
    pub monthly_quota: Option<u64>,
    /// The account's UTC offset
    #[arg(long, default_value = "-06:00", value_parser = offset, allow_hyphen_values = true)]
    pub utc_offset: FixedOffset,
    /// Start the clock at this account-local time instead of now (same seed and start: same data)
    #[arg(long, value_name = "DATE", value_parser = args::date)]
    pub clock_start: Option<ontime::OnTimeDateTime>,
    /// Freeze the clock (it moves only when the simulator is told to)
    #[arg(long)]
    pub frozen_clock: bool,
    /// A fault rule (repeatable); see below
    #[arg(long = "fault", value_name = "RULE", value_parser = fault)]
    pub faults: Vec<FaultRule>,
}

fn offset(text: &str) -> Result<FixedOffset, String> {
    text.trim()
        .parse::<FixedOffset>()
        .map_err(|_| format!("{text:?} is not a UTC offset such as -06:00 or +01:00"))
}

fn fault(text: &str) -> Result<FaultRule, String> {
    text.parse::<FaultRule>()
}

pub async fn run(ctx: &Ctx, cmd: MockCommand) -> Result<(), CliError> {
    match cmd {
        MockCommand::Serve(args) => serve(ctx, args).await,
    }
}

async fn serve(ctx: &Ctx, args: ServeArgs) -> Result<(), CliError> {
    // The account options name the simulated account: --company (default demo) and
    // --api-key (default: a key derived from the seed). A key from ONTIME_API_KEY is never used
    // here: it may be a real account's, and the simulator prints its key.
    let company = ctx
        .global
        .company
        .clone()
        .or_else(|| std::env::var("ONTIME_COMPANY_ID").ok())
        .filter(|c| !c.trim().is_empty())
        .unwrap_or_else(|| "demo".into());
    let mut builder = OnTimeMock::builder()
        .port(args.port)
        .seed(args.seed)
        .orders(args.orders)
        .company(company)
        .utc_offset(args.utc_offset);
    if let Some(key) = &ctx.global.api_key {
        builder = builder.api_key(key.clone());
    }
    if let Some(key) = &args.customer_key {
        builder = builder.customer_key(key.clone());
    }
    if let Some(quota) = args.daily_quota {
        builder = builder.daily_quota(quota);
    }
    if let Some(quota) = args.monthly_quota {
        builder = builder.monthly_quota(quota);
    }
    if let Some(start) = args.clock_start {
        builder = builder.clock_start(start.naive_local());
    }
    if args.frozen_clock {
        builder = builder.frozen_clock();
    }
    for rule in args.faults {
        builder = builder.fault(rule);
    }
    let started = Instant::now();
    let mock = builder.start().await.map_err(|e| {
        CliError::other(format!("could not start the simulator: {e}"))
            .with_hint("another program may use the port: pick one with --port, or --port 0")
    })?;
    let store = mock.store();
    let customer = store
        .customer(mock.scoped_customer())
        .and_then(|c| c.name)
        .unwrap_or_default();
    let clock: NaiveDateTime = mock.clock().now();
    let stop = stop_signals()?;
    println!("OnTime simulator listening on {}", mock.base_url());
    println!("  api key:      {}   (full access)", mock.api_key());
    println!(
        "  customer key: {}   (only customer {} \"{customer}\")",
        mock.customer_key(),
        mock.scoped_customer()
    );
    println!(
        "  seeded {} orders in {:.1} s (seed {}); account clock {}{}",
        store.order_count(),
        started.elapsed().as_secs_f64(),
        args.seed,
        clock.format("%Y-%m-%dT%H:%M:%S"),
        if mock.has_faults() {
            "; fault rules active"
        } else {
            ""
        }
    );
    println!();
    println!("Try it from another shell:");
    println!(
        "  export ONTIME_BASE_URL={} ONTIME_API_KEY={}",
        mock.base_url(),
        mock.api_key()
    );
    println!("  ontime orders find --status delivered --limit 10");
    println!("Ctrl-C stops the simulator.");
    stop.wait().await;
    eprintln!("Stopping the simulator.");
    mock.shutdown().await;
    Ok(())
}

/// Listens for Ctrl-C (or SIGTERM on Unix) from now on: call before printing the URL.
pub fn stop_signals() -> Result<ontime_mock::StopSignals, CliError> {
    ontime_mock::StopSignals::install()
        .map_err(|e| CliError::other(format!("cannot listen for Ctrl-C: {e}")))
}
