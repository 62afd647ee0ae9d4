//! `ontime-mock`: runs the OnTime 360 simulator on 127.0.0.1 until Ctrl-C.

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use ontime_mock::{AccountArgs, ServeArgs};

/// A stateful OnTime 360 simulator serving openapi/ontime.json on 127.0.0.1.
#[derive(Debug, Parser)]
#[command(name = "ontime-mock", version)]
struct Args {
    #[command(flatten)]
    account: AccountArgs,
    /// The settings `ontime mock serve` shares.
    #[command(flatten)]
    serve: ServeArgs,
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
    let builder = args.account.apply(args.serve.builder());
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
    let activity = mock.activity();
    if let Some(activity) = activity.clone() {
        // A line to wait for: with --activity-orders the truth is final from here on.
        tokio::spawn(async move {
            activity.finished().await;
            println!("activity finished: {} changes", activity.truth_len());
        });
    }
    if activity.is_some() {
        println!(
            "activity: running at {}x{}",
            mock.clock().speed(),
            if mock.clock().is_frozen() {
                " (frozen clock: nothing happens)"
            } else {
                ""
            }
        );
    }
    stop.wait().await;
    println!("ontime-mock: stopping");
    if let Some(activity) = activity {
        let stats = activity.notify_stats();
        println!(
            "activity: {} changes; notifications {} sent, {} failed",
            activity.truth_len(),
            stats.sent,
            stats.failed
        );
    }
    mock.shutdown().await;
    ExitCode::SUCCESS
}
