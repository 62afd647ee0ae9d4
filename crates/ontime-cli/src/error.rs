//! Errors of the command line and the exit codes scripts can rely on.

use std::fmt;
use std::io;
use std::process::ExitCode;

/// The exit codes, as documented in `ontime --help`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// 1: anything else (the server rejected the request, a file could not be written, ...).
    Other = 1,
    /// 2: usage: bad arguments, malformed GUID, date or status, no API key or account.
    Usage = 2,
    /// 3: the API key was refused (401).
    Auth = 3,
    /// 4: the API key may not do this (403).
    Permission = 4,
    /// 5: no such record (404, or nothing has that tracking number or name).
    NotFound = 5,
    /// 6: network, timeout, a server failure (5xx, a broken response), or something other than
    /// the OnTime API answered (a redirect, a web page, an unknown URL, an oversized body).
    Network = 6,
    /// 7: the account's request quota is used up (429).
    RateLimited = 7,
}

/// The exit status table printed at the end of `ontime --help`.
pub const EXIT_CODES_HELP: &str = "\
Exit status:
  0  success
  1  any other failure (the server rejected the request (400), a file could not be written, ...)
  2  usage: unknown command or option, malformed GUID, date or status, no API key or account
  3  authentication: the API key was refused (401)
  4  permission: the API key may not do this (403)
  5  not found: no record with that ID, tracking number or name (404)
  6  network or server: connection failed, timed out, the server failed (5xx), or something
     other than the OnTime API answered (a redirect, a web page, an unknown URL, a body over
     the size limit)
  7  rate limited: the account's request quota is used up (429)
101  internal error: a bug in ontime (please report it)";

/// A failure to report on stderr with an exit code.
#[derive(Debug)]
pub struct CliError {
    pub exit: Exit,
    pub message: String,
    pub hint: Option<String>,
    /// stdout was closed by the reader (`ontime … | head`): stop quietly, successfully.
    pub broken_pipe: bool,
}

impl CliError {
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Self {
            exit,
            message: message.into(),
            hint: None,
            broken_pipe: false,
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Exit::NotFound, message)
    }

    pub fn other(message: impl Into<String>) -> Self {
        Self::new(Exit::Other, message)
    }

    /// An error that should not happen (serialising a record to JSON).
    pub fn internal(error: impl fmt::Display) -> Self {
        Self::new(Exit::Other, format!("internal error: {error}"))
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Replaces the message of a not-found error (keeps every other error as it is).
    pub fn if_not_found(mut self, message: impl FnOnce() -> String) -> Self {
        if self.exit == Exit::NotFound {
            self.message = message();
        }
        self
    }

    /// Prints the error (and its hint) on stderr and returns the exit code.
    pub fn report(&self) -> ExitCode {
        if self.broken_pipe {
            return ExitCode::SUCCESS;
        }
        eprintln!("error: {}", self.message);
        if let Some(hint) = &self.hint {
            eprintln!("hint: {hint}");
        }
        ExitCode::from(self.exit as u8)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<io::Error> for CliError {
    fn from(error: io::Error) -> Self {
        if error.kind() == io::ErrorKind::BrokenPipe {
            let mut e = Self::other("stdout closed");
            e.broken_pipe = true;
            return e;
        }
        Self::other(format!("could not write the output: {error}"))
    }
}

/// The message of an error with its causes (`a: b: c`), skipping causes already included.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

impl From<ontime::Error> for CliError {
    fn from(error: ontime::Error) -> Self {
        use ontime::Error as E;
        let message = chain(&error);
        match &error {
            E::Config(m) => CliError::usage(m.clone()),
            E::Unauthorized { .. } => CliError::new(Exit::Auth, message).with_hint(
                "check the API key (--api-key-file, --api-key-stdin or ONTIME_API_KEY) and the account (--company or --base-url)",
            ),
            E::Forbidden { .. } => CliError::new(Exit::Permission, message).with_hint(
                "the key works but lacks permission: an administrator can widen it in the OnTime Management Suite",
            ),
            E::NotFound {
                message: Some(m), ..
            } if m.contains("No HTTP resource was found") => CliError::new(Exit::Network, message)
                .with_hint(
                    "the server knows no such URL: check the account (--company or --base-url); \
                     a base URL ends with /sites/<company-id>",
                ),
            E::NotFound { .. } => CliError::new(Exit::NotFound, message),
            E::RateLimited { .. } | E::QuotaExceeded { .. } => {
                CliError::new(Exit::RateLimited, message)
                    .with_hint("the account's request quota is used up; wait for it to reset")
            }
            E::Timeout { .. } => CliError::new(Exit::Network, message)
                .with_hint("raise --timeout if the server is slow (it applies to each attempt)"),
            E::Redirect { .. } => CliError::new(Exit::Network, message).with_hint(
                "the OnTime API does not redirect: check the account URL (--company or --base-url), \
                 or whether a proxy or login page intercepts the connection",
            ),
            E::UnexpectedResponse { .. } => CliError::new(Exit::Network, message).with_hint(
                "is the base URL right? a proxy or captive portal may have answered instead of OnTime",
            ),
            E::BodyTooLarge { .. } => CliError::new(Exit::Network, message).with_hint(
                "the answer is far larger than any OnTime answer should be: check the account URL, \
                 or narrow the request",
            ),
            E::Transport { .. } => CliError::new(Exit::Network, message)
                .with_hint("check the network and the account URL (--company or --base-url)"),
            E::Server { .. } => CliError::new(Exit::Network, message),
            E::Decode { truncated: true, .. } => CliError::new(Exit::Network, message),
            _ => CliError::other(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facade_errors_map_to_documented_exit_codes() {
        let cases = [
            (
                ontime::Error::Unauthorized {
                    operation: "orders_find",
                    message: None,
                },
                Exit::Auth,
            ),
            (
                ontime::Error::Forbidden {
                    operation: "orders_get",
                    message: None,
                },
                Exit::Permission,
            ),
            (
                ontime::Error::NotFound {
                    operation: "orders_get",
                    message: None,
                },
                Exit::NotFound,
            ),
            (
                ontime::Error::Server {
                    operation: "orders_get",
                    status: 503,
                    message: None,
                    retry_after: None,
                    retried: None,
                },
                Exit::Network,
            ),
            (
                ontime::Error::RateLimited {
                    operation: "orders_get",
                    retry_after: None,
                    message: None,
                    retried: None,
                },
                Exit::RateLimited,
            ),
            (
                ontime::Error::BadRequest {
                    operation: "order_post",
                    message: Some("bad".into()),
                },
                Exit::Other,
            ),
            (ontime::Error::Config("no key".into()), Exit::Usage),
            (
                ontime::Error::Redirect {
                    operation: "order_update_status",
                    status: Some(302),
                    location: None,
                },
                Exit::Network,
            ),
            (
                ontime::Error::UnexpectedResponse {
                    operation: "orders_find",
                    status: 200,
                    content_type: Some("text/html".into()),
                    snippet: None,
                },
                Exit::Network,
            ),
            (
                ontime::Error::BodyTooLarge {
                    operation: "orders_find",
                    status: 200,
                    limit: 1,
                    content_length: None,
                },
                Exit::Network,
            ),
            (
                ontime::Error::NotFound {
                    operation: "orders_get",
                    message: Some("No HTTP resource was found that matches the request URI".into()),
                },
                Exit::Network,
            ),
        ];
        for (error, exit) in cases {
            assert_eq!(CliError::from(error).exit, exit);
        }
        for (code, text) in [(1, "  1  "), (2, "  2  "), (7, "  7  ")] {
            assert!(EXIT_CODES_HELP.contains(text), "{code}");
        }
    }

    #[test]
    fn broken_pipes_end_quietly() {
        let e = CliError::from(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(e.broken_pipe);
        assert_eq!(e.report(), ExitCode::SUCCESS);
    }
}
