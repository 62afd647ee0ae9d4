//! What every command runs with: the options every command shares, the output format, progress
//! bars, notes for people, and the client (built only when a command needs the account). Command
//! modules depend on this module, never on `cli.rs`, which only declares the command tree.

use std::io::{self, IsTerminal, Read};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::error::CliError;
use crate::output::{Format, Output, Progress};

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

    /// Builds the client: [`ontime::ClientBuilder::from_env`] with the options layered over
    /// it (an option always beats the environment). A missing or ambiguous account and a
    /// missing key are usage errors that name the options to pass.
    pub fn client(&self) -> Result<ontime::Client, CliError> {
        let g = &self.global;
        let mut builder = ontime::ClientBuilder::from_env()
            .concurrency(usize::from(g.concurrency))
            .timeout(Duration::from_secs(g.timeout))
            .retry_policy(ontime::RetryPolicy::default().max_attempts(g.retries + 1))
            .on_retry(announce_retry)
            .user_agent(concat!("ontime-cli/", env!("CARGO_PKG_VERSION")));
        if let Some(url) = &g.base_url {
            builder = builder.base_url(url);
        }
        if let Some(company) = &g.company {
            builder = builder.company_id(company);
        }
        let key = if let Some(key) = &g.api_key {
            Some(key.clone())
        } else if let Some(path) = &g.api_key_file {
            Some(read_key_file(path)?)
        } else if g.api_key_stdin {
            Some(read_key_stdin()?)
        } else {
            None
        };
        if let Some(key) = key {
            let key = key.trim();
            if key.is_empty() {
                return Err(CliError::usage("the API key is empty"));
            }
            builder = builder.api_key(key);
        }
        builder.build().map_err(build_error)
    }
}

/// The facade's account and key errors in the command line's terms: the kind of configuration
/// error, what the CLI says, and the options that fix it.
const ACCOUNT_ERRORS: [(ontime::ConfigErrorKind, &str, &str); 3] = [
    (
        ontime::ConfigErrorKind::MissingAccount,
        "no account given",
        "pass --company ID or --base-url URL, or set ONTIME_COMPANY_ID or ONTIME_BASE_URL",
    ),
    (
        ontime::ConfigErrorKind::AmbiguousAccount,
        "both ONTIME_BASE_URL and ONTIME_COMPANY_ID are set: which account is meant?",
        "unset one of them, or pass --base-url URL or --company ID",
    ),
    (
        ontime::ConfigErrorKind::MissingApiKey,
        "no API key given",
        "pass --api-key-file PATH or --api-key-stdin, or set ONTIME_API_KEY",
    ),
];

/// A `build()` error as the CLI reports it: every configuration error is a usage error (exit
/// 2); the account and key ones get the CLI's hints instead of the builder's setter names.
fn build_error(error: ontime::Error) -> CliError {
    if let ontime::Error::Config { kind, .. } = &error {
        for (of_kind, said, hint) in ACCOUNT_ERRORS {
            if *kind == of_kind {
                return CliError::usage(said).with_hint(hint);
            }
        }
    }
    error.into()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Exit;

    #[test]
    fn account_and_key_errors_name_the_options() {
        let err = build_error(ontime::Client::builder().api_key("k").build().unwrap_err());
        assert_eq!(err.exit, Exit::Usage);
        assert_eq!(err.message, "no account given");
        assert!(err.hint.unwrap().contains("--company ID"));
        let err = build_error(
            ontime::Client::builder()
                .company_id("a")
                .build()
                .unwrap_err(),
        );
        assert_eq!(err.message, "no API key given");
        assert!(err.hint.unwrap().contains("--api-key-file"));
        // Other configuration errors keep the facade's message, as usage errors.
        let err = build_error(
            ontime::Client::builder()
                .api_key("k")
                .base_url("http://ontime.example.com/sites/x")
                .build()
                .unwrap_err(),
        );
        assert_eq!(err.exit, Exit::Usage);
        assert!(
            err.message.contains("refusing plain http://"),
            "{}",
            err.message
        );
    }
}
