//! `ontime mock serve`: the OnTime simulator, for trying the command line and for scripts' tests.

use std::time::Instant;

use chrono::NaiveDateTime;
use clap::Subcommand;
use ontime_mock::ServeArgs;

use crate::context::Ctx;
use crate::error::CliError;

#[derive(Subcommand, Debug)]
pub enum MockCommand {
    /// Serve a simulated OnTime account on 127.0.0.1 until Ctrl-C
    ///
    /// Its settings are those of the `ontime-mock` binary; the account's id and key are the
    /// global --company (default demo) and --api-key (default: a GUID derived from the seed).
    #[command(after_help = "Examples:
  ontime mock serve --orders 10000 --api-key demo-key   (--api-key and --company name the
                                                        simulated account's key and id)
  ontime mock serve --fault status,status=503,retry_after=1,p=0.1 --fault latency,ms=50

Then, in another shell:
  export ONTIME_BASE_URL=http://127.0.0.1:8080/sites/demo ONTIME_API_KEY=demo-key
  ontime orders find --status delivered --limit 10")]
    Serve(ServeArgs),
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
    let mut builder = args.builder().company(company);
    if let Some(key) = &ctx.global.api_key {
        builder = builder.api_key(key.clone());
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
