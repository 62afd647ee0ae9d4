//! The command tree and the dispatch to the command modules. What commands run with (the shared
//! options, output, client) is in `context.rs`; nothing imports this module but `main.rs`.

use clap::{CommandFactory, Parser, Subcommand};

use crate::context::{Ctx, Global};
use crate::error::{CliError, EXIT_CODES_HELP};
use crate::{attachments, completions, customers, events, orders, records, sync, users, webhook};
#[cfg(feature = "mock")]
use crate::{demo, mock};

const ABOUT: &str = "Script OnTime 360 courier dispatch from a shell";

/// The long help, with or without the paragraph on the built-in simulator (feature `mock`).
macro_rules! long_about {
    ($try_it:literal) => {
        concat!(
            "Script OnTime 360 courier dispatch from a shell.\n\n",
            $try_it,
            "\
Against an account, give its URL and API key (see ACCOUNT below, or the ONTIME_* environment
variables), then for example:

  ontime orders find --status delivered --submitted-from 2026-11-01
  ontime orders get -t 1009214
  ontime orders timeline 44bc0a1d-ef24-49b5-a0cb-54181ce5dbcf
  ontime orders status set -t 1009214 delivered
  ontime orders find --customer-name \"Vesigo Studios\" -o csv > orders.csv"
        )
    };
}

#[cfg(feature = "mock")]
const LONG_ABOUT: &str = long_about!(
    "Try it with no account: `ontime demo` starts a simulated OnTime account in-process and walks
through what the SDK does. `ontime mock serve` runs that simulator for your own scripts.

"
);

#[cfg(not(feature = "mock"))]
const LONG_ABOUT: &str = long_about!("");

const AFTER_LONG_HELP: &str = "\
Environment (an option always wins: --company ignores ONTIME_BASE_URL and --base-url ignores
ONTIME_COMPANY_ID; with neither option, set only one of the two):
  ONTIME_BASE_URL     the account's base URL (like --base-url)
  ONTIME_COMPANY_ID   the account's company id (like --company)
  ONTIME_API_KEY      the API key, used when no --api-key* option is given
  ONTIME_OUTPUT       the default output format (table, json, ndjson, csv)
  RUST_LOG            tracing filter, with --verbose (e.g. ontime=debug)

Output (-o): table (aligned columns, the default on a terminal), json (an object, or an array
for lists), ndjson (one JSON object per line, the default otherwise), csv (a header and the
records' top-level fields; enums by name). JSON is the API's own format. Lists stream: records
print as they arrive. Progress bars go to stderr, only on a terminal.
";

#[derive(Parser, Debug)]
#[command(
    name = "ontime",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = EXIT_CODES_HELP,
    after_long_help = format!("{AFTER_LONG_HELP}\n{EXIT_CODES_HELP}"),
    propagate_version = true,
    arg_required_else_help = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per run: the size difference between variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Start a simulated account in-process and tour the SDK (no account needed)
    #[cfg(feature = "mock")]
    Demo(demo::DemoArgs),
    /// Check the account URL and API key with one request, and show the request quota
    Check,
    /// Orders: find, get, timeline, status, update, create, cost, report, signature
    #[command(subcommand)]
    Orders(orders::OrdersCommand),
    /// Files attached to orders: list, get, put, delete
    #[command(subcommand)]
    Attachments(attachments::AttachmentsCommand),
    /// Customers: find, get, by-name
    #[command(subcommand)]
    Customers(customers::CustomersCommand),
    /// Users and drivers: find, get, position, availability
    #[command(subcommand)]
    Users(users::UsersCommand),
    /// Fetch records of any type by ID (or by name, for price sets and modifiers)
    Get(records::GetArgs),
    /// Find records of any type that has a finder
    Find(records::FindArgs),
    /// Run the OnTime simulator
    #[cfg(feature = "mock")]
    #[command(subcommand)]
    Mock(mock::MockCommand),
    /// Collect every change of OnTime accounts as events: run the daemon, show its status
    #[command(subcommand)]
    Sync(sync::SyncCommand),
    /// Stored events: tail (follow as NDJSON), timeline of an order, export by time range
    #[command(subcommand)]
    Events(events::EventsCommand),
    /// Webhook receivers: verify a captured request, listen locally and print what arrives
    #[command(subcommand)]
    Webhook(webhook::WebhookCommand),
    /// Print a shell completion script
    Completions(completions::CompletionsArgs),
    /// Print the man page, or write one page per command into a directory
    Man(completions::ManArgs),
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    let ctx = Ctx::new(cli.global);
    match cli.command {
        #[cfg(feature = "mock")]
        Command::Demo(args) => demo::run(&ctx, args).await,
        Command::Check => records::check(&ctx).await,
        Command::Orders(cmd) => orders::run(&ctx, cmd).await,
        Command::Attachments(cmd) => attachments::run(&ctx, cmd).await,
        Command::Customers(cmd) => customers::run(&ctx, cmd).await,
        Command::Users(cmd) => users::run(&ctx, cmd).await,
        Command::Get(args) => records::get(&ctx, args).await,
        Command::Find(args) => records::find(&ctx, args).await,
        Command::Sync(cmd) => sync::run(cmd).await,
        #[cfg(feature = "mock")]
        Command::Mock(cmd) => mock::run(&ctx, cmd).await,
        Command::Events(cmd) => events::run(&ctx, cmd).await,
        Command::Webhook(cmd) => webhook::run(cmd).await,
        Command::Completions(args) => completions::completions(Cli::command(), args),
        Command::Man(args) => completions::man(Cli::command(), args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_account_options_conflict() {
        let url = "http://127.0.0.1:9/sites/demo";
        let err = Cli::try_parse_from(["ontime", "--company", "a", "--base-url", url, "check"])
            .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
    }
}
