//! `ontime`: the OnTime 360 command line. `ontime --help` lists every command; `ontime demo`
//! shows the SDK at work against an in-process simulator, with no account.
//!
//! Where things are: `cli.rs` declares the command tree and sends each command to its module;
//! commands run with a `context::Ctx` (shared options, output format, the client).
//! - Commands: `orders/` (`read`, `status`, `write`, `documents`), `attachments`, `customers`,
//!   `users`, `records` (`get`, `find`, `check` for any type), `sync` (the event collector
//!   daemon and its status), `webhook` (verify a captured request, a local receiver), `demo/`,
//!   `mock`, `completions`.
//! - Shared by commands: `args` (parsing values), `listing` (finding, streaming and fetching
//!   records), `edit` (`--set` on any record type), `download` (writing files).
//! - Showing records: `fields` (field lists from the spec index), `views` (tables), `cells`
//!   (rendering values), `enums` (the spec's enums), `output` (formats), `terminal`, `error`.

mod args;
mod attachments;
mod cells;
mod cli;
mod completions;
mod context;
mod customers;
#[cfg(feature = "mock")]
mod demo;
mod download;
mod edit;
mod enums;
mod error;
mod events;
mod fields;
mod listing;
#[cfg(feature = "mock")]
mod mock;
mod orders;
mod output;
mod records;
mod sync;
mod terminal;
mod users;
mod views;
mod webhook;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // A bug should say so plainly, without a backtrace.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("error: internal error (a bug in ontime): {info}");
        eprintln!("hint: please report it, with the command you ran");
    }));
    // Usage errors exit with 2 and --help/--version with 0, as clap does.
    let cli = cli::Cli::parse();
    init_tracing(cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(cli::run(cli));
    // Do not wait for idle connections or a simulator's tasks.
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => error.report(),
    }
}

/// `-v` shows the client's calls (operation, status, latency, retries); `-vv` adds one line per
/// HTTP attempt (method, URL with its query, status, time; target `ontime::http`); `RUST_LOG`
/// overrides both. The API key never appears: headers are not logged and server texts are
/// redacted.
fn init_tracing(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let filter = match (verbose, std::env::var("RUST_LOG")) {
        (0, _) => return,
        (_, Ok(filter)) if !filter.trim().is_empty() => EnvFilter::new(filter),
        (1, _) => EnvFilter::new("ontime=debug,ontime::http=info,ontime_cli=debug"),
        _ => EnvFilter::new("ontime=trace,ontime_raw=trace,ontime_cli=trace"),
    };
    // Each call is a span (operation, attempts, status, latency); printing spans as they close
    // gives one line per call.
    let _ = tracing_subscriber::fmt()
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(true)
        .try_init();
}
