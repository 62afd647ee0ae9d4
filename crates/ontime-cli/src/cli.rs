//! The command tree, the options every command shares, and the context commands run in (the
//! client, built only when a command needs the account; the output).

use std::io::{self, IsTerminal, Read};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

#[cfg(test)]
use crate::error::Exit;
use crate::error::{CliError, EXIT_CODES_HELP};
use crate::output::{Format, Output, Progress};
use crate::{attachments, completions, customers, orders, records, users};
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

/// Options every command takes.
// The doc comments are the help texts: a URL there is an example, not a link.
#[allow(rustdoc::bare_urls)]
#[derive(Args, Debug, Clone)]
pub struct Global {
    /// The account's base URL, e.g. https://secure.ontime360.com/sites/my-company
    /// (http:// only for 127.0.0.1) [env: ONTIME_BASE_URL, used when neither option is given]
    #[arg(
        long,
        global = true,
        value_name = "URL",
        help_heading = "Account",
        value_parser = crate::args::non_blank,
        conflicts_with = "company"
    )]
    pub base_url: Option<String>,

    /// The account's company id (the one in its web portal URL)
    /// [env: ONTIME_COMPANY_ID, used when neither option is given]
    #[arg(
        long,
        global = true,
        value_name = "ID",
        help_heading = "Account",
        value_parser = crate::args::non_blank
    )]
    pub company: Option<String>,

    /// The API key. Visible to other users in the process list: prefer --api-key-file,
    /// --api-key-stdin or ONTIME_API_KEY
    #[arg(long, global = true, value_name = "KEY", help_heading = "Account",
          conflicts_with_all = ["api_key_file", "api_key_stdin"])]
    pub api_key: Option<String>,

    /// Read the API key from this file (its first line)
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        help_heading = "Account",
        conflicts_with = "api_key_stdin",
        value_hint = clap::ValueHint::FilePath
    )]
    pub api_key_file: Option<PathBuf>,

    /// Read the API key from stdin (not echoed on a terminal)
    #[arg(long, global = true, help_heading = "Account")]
    pub api_key_stdin: bool,

    /// Output format [default: table on a terminal, ndjson otherwise]
    #[arg(
        short,
        long,
        global = true,
        value_enum,
        env = "ONTIME_OUTPUT",
        value_name = "FORMAT"
    )]
    pub output: Option<Format>,

    /// At most this many requests in flight at once
    #[arg(long, global = true, default_value_t = 8, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,

    /// Give up on one attempt of a request after this many seconds
    #[arg(long, global = true, default_value_t = 30, value_name = "SECONDS",
          long_help = timeout_help(),
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,

    /// Retry a failed request (timeouts, 429, 502-504) at most this many times
    #[arg(long, global = true, default_value_t = 3, value_name = "N",
          value_parser = clap::value_parser!(u32).range(0..=10))]
    pub retries: u32,

    /// Never draw progress bars
    #[arg(long, global = true)]
    pub no_progress: bool,

    /// Show what the client does on stderr (-v: calls and retries, -vv: also each HTTP attempt's
    /// method, URL with query, status and time; never the key)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// The long help of `--timeout`, with the retry policy's real ceiling.
fn timeout_help() -> String {
    let limit = ontime::RetryPolicy::default().elapsed_limit().as_secs();
    format!(
        "Give up on one attempt of a request after this many seconds.\n\n\
         The timeout applies to each attempt. Failed reads and idempotent writes are retried \
         (see --retries), and no retry starts more than {limit}s after the first attempt, so one \
         request can take up to {limit}s plus this timeout. Waits over 2s are announced on stderr."
    )
}

/// How long a retry wait must be before it is announced on stderr without -v.
const ANNOUNCE_WAITS_OVER: Duration = Duration::from_secs(2);

/// Tells a waiting user why nothing happens: a line on stderr before each long retry wait.
fn announce_retry(event: &ontime::RetryEvent<'_>) {
    if event.wait <= ANNOUNCE_WAITS_OVER {
        return;
    }
    let wait = event.wait.as_secs_f64().round();
    let next = event.attempt + 1;
    let of = event.max_attempts;
    if event.server_asked {
        let status = event
            .error
            .status()
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        eprintln!("note: OnTime asked to wait {wait}s{status}; retrying, attempt {next} of {of}");
    } else {
        eprintln!(
            "note: {}; retrying in {wait}s, attempt {next} of {of}",
            event.error
        );
    }
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
    /// Print a shell completion script
    Completions(completions::CompletionsArgs),
    /// Print the man page, or write one page per command into a directory
    Man(completions::ManArgs),
}

/// What a command runs with.
pub struct Ctx {
    pub global: Global,
    pub format: Format,
}

impl Ctx {
    pub fn new(global: Global) -> Self {
        let format = global.output.unwrap_or(if io::stdout().is_terminal() {
            Format::Table
        } else {
            Format::Ndjson
        });
        Self { global, format }
    }

    /// Whether the user chose the format (rather than the terminal default).
    pub fn format_chosen(&self) -> bool {
        self.global.output.is_some()
    }

    pub fn output(&self) -> Output {
        Output::stdout(self.format)
    }

    pub fn progress(&self, len: Option<u64>, message: &str) -> Progress {
        Progress::new(!self.global.no_progress, len, message)
    }

    /// Prints a line for people on stderr (only with table output, so pipes stay clean).
    pub fn note(&self, text: impl AsRef<str>) {
        if self.format == Format::Table {
            eprintln!("{}", crate::terminal::escape_controls(text.as_ref(), true));
        }
    }

    /// Builds the client from the account options; fails with a usage error when the account
    /// or the key is missing.
    pub fn client(&self) -> Result<ontime::Client, CliError> {
        let g = &self.global;
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let mut builder = ontime::Client::builder()
            .concurrency(usize::from(g.concurrency))
            .timeout(Duration::from_secs(g.timeout))
            .retry_policy(ontime::RetryPolicy::default().max_attempts(g.retries + 1))
            .on_retry(announce_retry)
            .user_agent(concat!("ontime-cli/", env!("CARGO_PKG_VERSION")));
        match account(g, env)? {
            Account::BaseUrl(url) => builder = builder.base_url(url),
            Account::Company(company) => builder = builder.company_id(company),
        }
        let key = if let Some(key) = &g.api_key {
            key.clone()
        } else if let Some(path) = &g.api_key_file {
            read_key_file(path)?
        } else if g.api_key_stdin {
            read_key_stdin()?
        } else if let Some(key) = env("ONTIME_API_KEY") {
            key
        } else {
            return Err(CliError::usage("no API key given")
                .with_hint("pass --api-key-file PATH or --api-key-stdin, or set ONTIME_API_KEY"));
        };
        let key = key.trim().to_string();
        if key.is_empty() {
            return Err(CliError::usage("the API key is empty"));
        }
        Ok(builder.api_key(key).build()?)
    }
}

/// Which account to call.
#[derive(Debug, PartialEq, Eq)]
enum Account {
    BaseUrl(String),
    Company(String),
}

/// The account from the options, else from the environment. An option always wins over both
/// variables (`--company` ignores ONTIME_BASE_URL, `--base-url` ignores ONTIME_COMPANY_ID);
/// clap refuses the two options together. Both variables set with neither option is ambiguous
/// and refused too, rather than silently picking one.
fn account(g: &Global, env: impl Fn(&str) -> Option<String>) -> Result<Account, CliError> {
    match (&g.base_url, &g.company) {
        (Some(url), _) => return Ok(Account::BaseUrl(url.clone())),
        (None, Some(company)) => return Ok(Account::Company(company.clone())),
        (None, None) => {}
    }
    match (env("ONTIME_BASE_URL"), env("ONTIME_COMPANY_ID")) {
        (Some(url), None) => Ok(Account::BaseUrl(url)),
        (None, Some(company)) => Ok(Account::Company(company)),
        (Some(_), Some(_)) => Err(CliError::usage(
            "both ONTIME_BASE_URL and ONTIME_COMPANY_ID are set: which account is meant?",
        )
        .with_hint("unset one of them, or pass --base-url URL or --company ID")),
        (None, None) => Err(CliError::usage("no account given").with_hint(
            "pass --company ID or --base-url URL, or set ONTIME_COMPANY_ID or ONTIME_BASE_URL",
        )),
    }
}

fn read_key_file(path: &std::path::Path) -> Result<String, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        CliError::usage(format!(
            "could not read the API key file {}: {e}",
            path.display()
        ))
    })?;
    let key = text.lines().next().unwrap_or("").trim().to_string();
    if key.is_empty() {
        return Err(CliError::usage(format!(
            "the API key file {} is empty",
            path.display()
        )));
    }
    Ok(key)
}

fn read_key_stdin() -> Result<String, CliError> {
    if io::stdin().is_terminal() {
        return rpassword::prompt_password("OnTime API key: ")
            .map_err(|e| CliError::usage(format!("could not read the API key: {e}")));
    }
    let mut text = String::new();
    io::stdin()
        .take(64 * 1024)
        .read_to_string(&mut text)
        .map_err(|e| CliError::usage(format!("could not read the API key from stdin: {e}")))?;
    Ok(text.lines().next().unwrap_or("").trim().to_string())
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
        #[cfg(feature = "mock")]
        Command::Mock(cmd) => mock::run(&ctx, cmd).await,
        Command::Completions(args) => completions::completions(args),
        Command::Man(args) => completions::man(args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn global(args: &[&str]) -> Global {
        let mut all = vec!["ontime"];
        all.extend(args);
        all.push("check");
        Cli::try_parse_from(all).expect("parses").global
    }

    fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn account_options_beat_the_environment() {
        let url = "http://127.0.0.1:9/sites/demo";
        let both = env(&[
            ("ONTIME_BASE_URL", "http://127.0.0.1:9/sites/env"),
            ("ONTIME_COMPANY_ID", "env-co"),
        ]);
        assert_eq!(
            account(&global(&["--company", "acme"]), &both).unwrap(),
            Account::Company("acme".into())
        );
        assert_eq!(
            account(&global(&["--base-url", url]), &both).unwrap(),
            Account::BaseUrl(url.into())
        );
        let only_url = env(&[("ONTIME_BASE_URL", "http://127.0.0.1:9/sites/env")]);
        assert_eq!(
            account(&global(&[]), &only_url).unwrap(),
            Account::BaseUrl("http://127.0.0.1:9/sites/env".into())
        );
        assert_eq!(
            account(&global(&["--company", "acme"]), &only_url).unwrap(),
            Account::Company("acme".into())
        );
        let only_company = env(&[("ONTIME_COMPANY_ID", "env-co")]);
        assert_eq!(
            account(&global(&[]), &only_company).unwrap(),
            Account::Company("env-co".into())
        );
        assert_eq!(account(&global(&[]), &both).unwrap_err().exit, Exit::Usage);
        assert_eq!(
            account(&global(&[]), env(&[])).unwrap_err().exit,
            Exit::Usage
        );
        let err = Cli::try_parse_from(["ontime", "--company", "a", "--base-url", url, "check"])
            .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
    }
}
