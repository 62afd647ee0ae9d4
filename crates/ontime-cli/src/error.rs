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
    /// 8: a write was sent but its answer was lost, and reading the account could not tell
    /// whether it was applied.
    OutcomeUnknown = 8,
    /// 9: the record kept changing while it was being updated (nothing posted), or the order's
    /// status moved while the update was posted.
    Conflict = 9,
    /// 10: `ontime webhook verify`: no signature matches (or none is a v1 signature).
    InvalidSignature = 10,
    /// 11: `ontime webhook verify`: the webhook-timestamp is outside the tolerance.
    Timestamp = 11,
    /// 12: `ontime webhook verify`: a webhook-id, -timestamp or -signature header is missing.
    MissingHeader = 12,
    /// 13: `ontime webhook verify`: the input is not a usable request.
    Malformed = 13,
    /// 14: `ontime events redeliver`: no destination has the `--endpoint` name given.
    UnknownDestination = 14,
}

/// The exit status table printed at the end of `ontime --help`.
pub const EXIT_CODES_HELP: &str = "\
Exit status:
  0  success
  1  any other failure (the server rejected the request (400), a file could not be written, ...)
  2  usage: unknown command or option, malformed GUID, date or status, no API key or account,
     an invalid sync.toml (`ontime sync`)
  3  authentication: the API key was refused (401)
  4  permission: the API key may not do this (403)
  5  not found: no record with that ID, tracking number or name (404)
  6  network or server: connection failed, timed out, the server failed (5xx), or something
     other than the OnTime API answered (a redirect, a web page, an unknown URL, a body over
     the size limit), or the event store cannot be opened (`ontime sync`)
  7  rate limited: the account's request quota is used up (429)
  8  outcome unknown: the request was sent but its answer was lost; check before retrying
     (a status change, attachment or position may already be stored)
  9  conflict: the record kept changing during an update (nothing was written), or the
     order's status moved while the update was posted (check its timeline)
 10  webhook: no valid signature (wrong secret, or the id, timestamp or body was changed)
 11  webhook: the timestamp is outside the tolerance (too old, or in the future)
 12  webhook: a webhook-id, webhook-timestamp or webhook-signature header is missing
 13  webhook: the input is not a usable request (malformed header or timestamp)
 14  events redeliver: no destination (webhook or NATS) has that --endpoint name
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
        // Server messages and record names may carry terminal escapes: show them, inertly.
        let shown = |text: &str| crate::terminal::escape_controls(text, true).into_owned();
        eprintln!("error: {}", shown(&self.message));
        if let Some(hint) = &self.hint {
            eprintln!("hint: {}", shown(hint));
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
        let message = chain(&error);
        classify(&error, message)
    }
}

/// The exit code and hint of a facade error, with `message` as the text.
fn classify(error: &ontime::Error, message: String) -> CliError {
    use ontime::Error as E;
    match error {
            E::Config { message, .. } => CliError::usage(message.clone()),
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
            E::OutcomeUnknown { .. } => CliError::new(Exit::OutcomeUnknown, message).with_hint(
                "the request was sent but its answer was lost; check the order (its timeline or attachments) before retrying, or a rerun may write it twice",
            ),
            E::Conflict { posted: false, .. } => CliError::new(Exit::Conflict, message)
                .with_hint("another client keeps changing the record; rerun when it has settled"),
            E::Conflict { .. } => CliError::new(Exit::Conflict, message)
                .with_hint("look at the order's timeline (`ontime orders timeline`) and set the status again if needed"),
            E::Ambiguous { candidates, .. } => {
                let ids: Vec<String> = candidates.iter().map(|id| id.to_string()).collect();
                CliError::usage(message).with_hint(format!(
                    "name the order by ID instead: {}",
                    ids.join(" or ")
                ))
            }
            // The exit code of the underlying failure; the message keeps the posted ID.
            E::Save { source, .. } => classify(source, message),
            _ => CliError::other(message),
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
                    operation: ontime::Operation::OrdersFind,
                    message: None,
                },
                Exit::Auth,
            ),
            (
                ontime::Error::Forbidden {
                    operation: ontime::Operation::OrdersGet,
                    message: None,
                },
                Exit::Permission,
            ),
            (
                ontime::Error::NotFound {
                    operation: ontime::Operation::OrdersGet,
                    message: None,
                },
                Exit::NotFound,
            ),
            (
                ontime::Error::Server {
                    operation: ontime::Operation::OrdersGet,
                    status: 503,
                    message: None,
                    retry_after: None,
                    retried: None,
                },
                Exit::Network,
            ),
            (
                ontime::Error::RateLimited {
                    operation: ontime::Operation::OrdersGet,
                    retry_after: None,
                    message: None,
                    retried: None,
                },
                Exit::RateLimited,
            ),
            (
                ontime::Error::BadRequest {
                    operation: ontime::Operation::OrderPost,
                    message: Some("bad".into()),
                },
                Exit::Other,
            ),
            (
                ontime::Error::Config {
                    kind: ontime::ConfigErrorKind::MissingApiKey,
                    message: "no key".into(),
                },
                Exit::Usage,
            ),
            (
                ontime::Error::OutcomeUnknown {
                    operation: ontime::Operation::OrderUpdateStatus,
                    sent: "order 1: status Delivered".into(),
                    source: Box::new(ontime::Error::Timeout {
                        operation: ontime::Operation::OrderUpdateStatus,
                        after: std::time::Duration::from_secs(1),
                        retried: None,
                    }),
                    check: None,
                },
                Exit::OutcomeUnknown,
            ),
            (
                ontime::Error::Conflict {
                    operation: ontime::Operation::OrderPost,
                    id: uuid::Uuid::nil(),
                    message: "kept moving".into(),
                    posted: false,
                },
                Exit::Conflict,
            ),
            (
                ontime::Error::Ambiguous {
                    what: "tracking number \"1\"".into(),
                    candidates: vec![uuid::Uuid::nil(), uuid::Uuid::max()],
                },
                Exit::Usage,
            ),
            (
                // A failed create keeps the exit code of what failed.
                ontime::Error::Save {
                    id: uuid::Uuid::nil(),
                    source: Box::new(ontime::Error::Server {
                        operation: ontime::Operation::OrderPost,
                        status: 503,
                        message: None,
                        retry_after: None,
                        retried: None,
                    }),
                },
                Exit::Network,
            ),
            (
                ontime::Error::Redirect {
                    operation: ontime::Operation::OrderUpdateStatus,
                    status: Some(302),
                    location: None,
                },
                Exit::Network,
            ),
            (
                ontime::Error::UnexpectedResponse {
                    operation: ontime::Operation::OrdersFind,
                    status: 200,
                    content_type: Some("text/html".into()),
                    snippet: None,
                },
                Exit::Network,
            ),
            (
                ontime::Error::BodyTooLarge {
                    operation: ontime::Operation::OrdersFind,
                    status: 200,
                    limit: 1,
                    content_length: None,
                },
                Exit::Network,
            ),
            (
                ontime::Error::NotFound {
                    operation: ontime::Operation::OrdersGet,
                    message: Some("No HTTP resource was found that matches the request URI".into()),
                },
                Exit::Network,
            ),
        ];
        for (error, exit) in cases {
            assert_eq!(CliError::from(error).exit, exit);
        }
        for (code, text) in [
            (1, "  1  "),
            (2, "  2  "),
            (7, "  7  "),
            (8, "  8  "),
            (9, "  9  "),
        ] {
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
