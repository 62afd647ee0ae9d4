//! The one error type of the facade.

use std::time::Duration;

use ontime_raw::index::Operation;

mod classify;
mod display;
mod redact;

pub(crate) use classify::{
    by_status, decode_path, looks_like_json, message_from_body, refused_error,
};
pub(crate) use redact::{REDACTED, Redactor};

use display::{
    announced, bytes_text, check_suffix, join_ids, redirect_text, retried_suffix, retry_hint,
    save_note, seconds, suffix,
};

/// Everything that can go wrong when talking to OnTime.
///
/// Every variant that comes from a call names the [`Operation`] (the spec's operation, from the
/// generated index); messages spell it as the client method of the raw API (`orders_get`), and
/// [`Operation::client_method`] / [`Operation::id`] give either spelling as a string. The API key never appears in any message.
///
/// ```
/// use ontime::{Error, Operation, OrderId};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let simulator = ontime_mock::OnTimeMock::builder().seed(3).orders(5).start().await?;
/// let client = ontime::Client::builder()
///     .base_url(simulator.base_url())
///     .api_key("a-revoked-key")
///     .build()?;
/// match client.orders().get(OrderId::new_random()).await {
///     Err(Error::Unauthorized { operation, .. }) => assert_eq!(operation, Operation::OrdersGet),
///     Err(Error::Forbidden { .. }) => unreachable!("403 means a valid key without permission"),
///     other => panic!("{other:?}"),
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client was configured wrongly (missing key, plain `http://` to a remote host, ...).
    #[error("invalid client configuration: {message}")]
    Config {
        /// What is wrong, for code that reacts to it (a command line naming its own options).
        kind: ConfigErrorKind,
        /// What is wrong, in words, naming the builder's setters.
        message: String,
    },
    /// A value could not be turned into a request (for example an out-of-range date).
    #[error("{op}: the request could not be built: {message}", op = operation.client_method())]
    InvalidRequest {
        /// The operation.
        operation: Operation,
        /// What was wrong.
        message: String,
    },
    /// 400: OnTime rejected the request's values.
    #[error("{op}: OnTime rejected the request (400){}", suffix(message), op = operation.client_method())]
    BadRequest {
        /// The operation.
        operation: Operation,
        /// The server's explanation, whatever format it came in.
        message: Option<String>,
    },
    /// 401: the API key is missing, wrong or revoked.
    #[error(
        "{op}: the API key is invalid or no longer exists (401){}",
        suffix(message), op = operation.client_method())]
    Unauthorized {
        /// The operation.
        operation: Operation,
        /// The server's explanation.
        message: Option<String>,
    },
    /// 403: the key is valid but lacks permission for this action or this data (for example a
    /// key scoped to another customer).
    #[error(
        "{op}: the API key lacks permission for this (403){}",
        suffix(message), op = operation.client_method())]
    Forbidden {
        /// The operation.
        operation: Operation,
        /// The server's explanation.
        message: Option<String>,
    },
    /// 404: no record has that identifier or name.
    #[error("{op}: not found (404){}", suffix(message), op = operation.client_method())]
    NotFound {
        /// The operation.
        operation: Operation,
        /// The server's explanation.
        message: Option<String>,
    },
    /// 429: the account's daily or monthly request quota is used up.
    #[error(
        "{op}: rate limited (429){}{}{}",
        retry_hint(retry_after),
        suffix(message),
        retried_suffix(retried), op = operation.client_method())]
    RateLimited {
        /// The operation.
        operation: Operation,
        /// How long the server asked to wait, when it said.
        retry_after: Option<Duration>,
        /// The server's explanation.
        message: Option<String>,
        /// Set when the call was tried more than once before giving up.
        retried: Option<Retried>,
    },
    /// Any other error status (5xx, unexpected 4xx).
    #[error(
        "{op}: OnTime answered {status}{}{}",
        suffix(message),
        retried_suffix(retried), op = operation.client_method())]
    Server {
        /// The operation.
        operation: Operation,
        /// The HTTP status.
        status: u16,
        /// The server's explanation (JSON, text or the text of an HTML page).
        message: Option<String>,
        /// How long the server asked to wait, when it said (`Retry-After`).
        retry_after: Option<Duration>,
        /// Set when the call was tried more than once before giving up.
        retried: Option<Retried>,
    },
    /// No answer within the configured timeout of one attempt.
    #[error(
        "{op}: no answer within {}{}",
        seconds(after),
        retried_suffix(retried), op = operation.client_method())]
    Timeout {
        /// The operation.
        operation: Operation,
        /// The timeout that expired (it applies to each attempt).
        after: Duration,
        /// Set when the call was tried more than once before giving up.
        retried: Option<Retried>,
    },
    /// The connection failed or broke (refused, reset, TLS, body cut off).
    #[error("{op}: transport error: {source}{}", retried_suffix(retried), op = operation.client_method())]
    Transport {
        /// The operation.
        operation: Operation,
        /// The underlying error (with any URL removed: URLs can carry credentials).
        #[source]
        source: reqwest::Error,
        /// Set when the call was tried more than once before giving up.
        retried: Option<Retried>,
    },
    /// A successful response whose body did not decode.
    #[error(
        "{op}: the response (status {status}) did not decode at `{path}`: {message}{}",
        retried_suffix(retried), op = operation.client_method())]
    Decode {
        /// The operation.
        operation: Operation,
        /// The HTTP status of the response.
        status: u16,
        /// Where decoding failed, as a path into the JSON (`Items[0].Weight`); `.` for the root.
        path: String,
        /// The decoder's message.
        message: String,
        /// True when the body ended early (a cut connection), which is worth retrying.
        truncated: bool,
        /// Set when the call was tried more than once before giving up.
        retried: Option<Retried>,
    },
    // --- Answers that are not OnTime's (hostile or misconfigured servers); never retried. ---
    /// A successful answer's body was larger than the client accepts
    /// ([`ClientBuilder::max_body_bytes`](crate::ClientBuilder::max_body_bytes)). When the
    /// server announced the size, none of the body was read.
    #[error(
        "{op}: the response (status {status}) is larger than the {} allowed{}",
        bytes_text(*limit),
        announced(content_length), op = operation.client_method())]
    BodyTooLarge {
        /// The operation.
        operation: Operation,
        /// The HTTP status.
        status: u16,
        /// The limit, in bytes.
        limit: u64,
        /// The `Content-Length` the server announced, when it did.
        content_length: Option<u64>,
    },
    /// The server answered with a redirect. The OnTime API never redirects, so something else
    /// answered (a proxy, a login page, a moved account); the client does not follow it, as a
    /// write redirected with 302 or 303 would turn into a read and silently not happen.
    #[error("{op}: {}", redirect_text(*status, location.as_deref()), op = operation.client_method())]
    Redirect {
        /// The operation.
        operation: Operation,
        /// The 3xx status, or `None` when a custom HTTP client followed the redirect itself
        /// (then `location` is where it ended up, and the request there was already made).
        status: Option<u16>,
        /// Where the redirect pointed.
        location: Option<String>,
    },
    /// A successful status whose body is not JSON (a captive portal's or proxy's web page, a
    /// wrong base URL).
    #[error(
        "{op}: expected JSON but the server answered {status} with {}{}",
        content_type.as_deref().map(|t| format!("`{t}`")).unwrap_or_else(|| "no content type".into()),
        suffix(snippet), op = operation.client_method())]
    UnexpectedResponse {
        /// The operation.
        operation: Operation,
        /// The HTTP status.
        status: u16,
        /// The `Content-Type` that came back.
        content_type: Option<String>,
        /// The start of the body as text (an HTML page's title).
        snippet: Option<String>,
    },
    // --- end of the hostile-server block ---
    /// The change given to [`try_modify`](crate::Resource::try_modify) failed; nothing was
    /// posted, so the stored record is unchanged.
    #[error("{op}: the change was not applied, nothing was written: {source}", op = operation.client_method())]
    ChangeRejected {
        /// The write that was not made.
        operation: Operation,
        /// Why the change failed.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    // --- Writes whose outcome is unknown, concurrent writers, ambiguous references ---
    /// A write that is not safe to repeat (a status change, an attachment upload, a position
    /// report) was sent, its answer was lost (cut off, malformed, timed out, connection dropped),
    /// and reading OnTime's state afterwards could not tell whether it was applied. Check (for
    /// example the order's timeline or attachment list) before sending it again: a blind rerun
    /// may write it twice.
    #[error(
        "{op}: the request was sent but its answer was lost, and whether it was applied is unknown ({sent}): {source}{}",
        check_suffix(check), op = operation.client_method())]
    OutcomeUnknown {
        /// The write.
        operation: Operation,
        /// What was sent, in words (the order and the values).
        sent: String,
        /// Why the answer was lost.
        #[source]
        source: Box<Error>,
        /// Why the follow-up read could not tell (when it failed), or `None` when it could not
        /// decide for another reason (the request may still be in flight at the server).
        check: Option<Box<Error>>,
    },
    /// Saving a record that had no identifier failed. The library gave it `id` before posting,
    /// and the post may have been stored (its answer can have been lost after OnTime applied
    /// it): saving the record again with this identifier replaces it instead of creating a
    /// second one. [`Error::posted_id`] returns it.
    #[error("{source} ({})", save_note(id, source))]
    Save {
        /// The identifier the new record was posted under.
        id: uuid::Uuid,
        /// Why the save failed.
        #[source]
        source: Box<Error>,
    },
    /// A read-modify-write could not be completed without overwriting a concurrent change: the
    /// record kept changing between reads, or (for orders) the status moved while the post was
    /// in flight. `posted` says whether anything was written.
    #[error("{op}: conflict on {id}: {message}", op = operation.client_method())]
    Conflict {
        /// The write.
        operation: Operation,
        /// The record's identifier.
        id: uuid::Uuid,
        /// What happened.
        message: String,
        /// Whether the post was made (true only for a status moved during the post).
        posted: bool,
    },
    /// A reference (such as a tracking number) matches more than one record; nothing was done.
    #[error("{what} matches {} records: {}", candidates.len(), join_ids(candidates))]
    Ambiguous {
        /// The reference, in words (`tracking number "1000001"`).
        what: String,
        /// The identifiers of the matching records.
        candidates: Vec<uuid::Uuid>,
    },
    // --- end of the writes block ---
    /// The quota guard refused to start a lookup that needs more calls than the quota has left.
    #[error(
        "this lookup needs {needed} calls but only {remaining} remain in the quota (daily or monthly, whichever is lower)"
    )]
    QuotaExceeded {
        /// Calls the lookup would make.
        needed: u64,
        /// Calls left: the lower of the last `X-RateLimit-Remaining-Daily` and
        /// `X-RateLimit-Remaining-Monthly` headers.
        remaining: u64,
    },
}

/// What is wrong with a client's configuration ([`Error::Config`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// Neither a company id nor a base URL was given (by a setter or the environment).
    MissingAccount,
    /// The environment names two accounts (`ONTIME_BASE_URL` and `ONTIME_COMPANY_ID`) and no
    /// setter chose one.
    AmbiguousAccount,
    /// The company id cannot be part of a URL (empty, or with `/`, `?`, `#` or a space).
    InvalidCompanyId,
    /// The base URL is not a URL, or has an unsupported scheme, a query string, a fragment or
    /// credentials.
    InvalidBaseUrl,
    /// The base URL is plain `http://` to a host that is not a loopback address.
    InsecureBaseUrl,
    /// No API key was given (or only whitespace).
    MissingApiKey,
    /// The API key cannot be sent in an HTTP header.
    InvalidApiKey,
    /// A limit is out of range: concurrency, request timeout or response body limits.
    InvalidLimit,
    /// The HTTP client could not be created.
    HttpClient,
}

/// `Ok(None)` for a 404, the value or the error otherwise.
pub(crate) fn found<T>(result: crate::Result<T>) -> crate::Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(Error::NotFound { .. }) => Ok(None),
        Err(error) => Err(error),
    }
}

/// How many attempts a call took before the client gave up, and how long they took in all
/// (waits included).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Retried {
    /// Attempts made, the first included.
    pub attempts: u32,
    /// Time from the start of the first attempt to the end of the last.
    pub elapsed: Duration,
}

impl std::fmt::Display for Retried {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "gave up after {} attempts in {:.1}s",
            self.attempts,
            self.elapsed.as_secs_f64()
        )
    }
}

impl Error {
    /// A configuration error of this kind.
    pub(crate) fn config(kind: ConfigErrorKind, message: impl Into<String>) -> Self {
        Error::Config {
            kind,
            message: message.into(),
        }
    }

    /// The operation that failed, when the error comes from a call.
    pub fn operation(&self) -> Option<Operation> {
        match self {
            Error::InvalidRequest { operation, .. }
            | Error::BadRequest { operation, .. }
            | Error::Unauthorized { operation, .. }
            | Error::Forbidden { operation, .. }
            | Error::NotFound { operation, .. }
            | Error::RateLimited { operation, .. }
            | Error::Server { operation, .. }
            | Error::Timeout { operation, .. }
            | Error::Transport { operation, .. }
            | Error::Decode { operation, .. }
            | Error::BodyTooLarge { operation, .. }
            | Error::Redirect { operation, .. }
            | Error::UnexpectedResponse { operation, .. }
            | Error::ChangeRejected { operation, .. }
            | Error::OutcomeUnknown { operation, .. }
            | Error::Conflict { operation, .. } => Some(*operation),
            Error::Save { source, .. } => source.operation(),
            Error::Config { .. } | Error::QuotaExceeded { .. } | Error::Ambiguous { .. } => None,
        }
    }

    /// The HTTP status the server answered with, when there was an answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::BadRequest { .. } => Some(400),
            Error::Unauthorized { .. } => Some(401),
            Error::Forbidden { .. } => Some(403),
            Error::NotFound { .. } => Some(404),
            Error::RateLimited { .. } => Some(429),
            Error::Server { status, .. }
            | Error::Decode { status, .. }
            | Error::BodyTooLarge { status, .. }
            | Error::UnexpectedResponse { status, .. } => Some(*status),
            Error::Redirect { status, .. } => *status,
            Error::Save { source, .. } => source.status(),
            _ => None,
        }
    }

    /// The server's message, when it sent one.
    pub fn server_message(&self) -> Option<&str> {
        match self {
            Error::BadRequest { message, .. }
            | Error::Unauthorized { message, .. }
            | Error::Forbidden { message, .. }
            | Error::NotFound { message, .. }
            | Error::RateLimited { message, .. }
            | Error::Server { message, .. } => message.as_deref(),
            Error::Save { source, .. } => source.server_message(),
            Error::UnexpectedResponse { snippet, .. } => snippet.as_deref(),
            _ => None,
        }
    }

    /// How many attempts were made and how long they took, when the call was tried more than
    /// once before this error.
    pub fn retried(&self) -> Option<Retried> {
        match self {
            Error::RateLimited { retried, .. }
            | Error::Server { retried, .. }
            | Error::Timeout { retried, .. }
            | Error::Transport { retried, .. }
            | Error::Decode { retried, .. } => *retried,
            _ => None,
        }
    }

    /// Records that the call was tried `retried.attempts` times (only the variants that can be
    /// retried carry it).
    pub(crate) fn with_retried(mut self, value: Retried) -> Self {
        match &mut self {
            Error::RateLimited { retried, .. }
            | Error::Server { retried, .. }
            | Error::Timeout { retried, .. }
            | Error::Transport { retried, .. }
            | Error::Decode { retried, .. } => *retried = Some(value),
            _ => {}
        }
        self
    }

    /// How long the server asked to wait before retrying, when it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } | Error::Server { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }

    /// Whether trying the same call again may succeed: 429, 502, 503, 504, timeouts, broken
    /// connections and bodies cut short. Whether a call *is* retried also depends on whether it is
    /// safe to repeat (see [`RetryPolicy`](crate::RetryPolicy)).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::RateLimited { .. } | Error::Timeout { .. } | Error::Transport { .. } => true,
            Error::Server { status, .. } => matches!(status, 502..=504),
            Error::Decode { truncated, .. } => *truncated,
            Error::Save { source, .. } => source.is_retryable(),
            _ => false,
        }
    }

    /// The identifier a new record was posted under, when saving it failed
    /// ([`Error::Save`]): save it again with this identifier to replace rather than duplicate.
    pub fn posted_id(&self) -> Option<uuid::Uuid> {
        match self {
            Error::Save { id, .. } => Some(*id),
            _ => None,
        }
    }

    /// Whether the request may have reached OnTime and been applied although its answer was
    /// lost: a timeout, a broken connection (not a refused one), a success status whose body
    /// did not decode, or a 5xx (a gateway may fail after the server applied the request).
    pub fn may_have_been_applied(&self) -> bool {
        match self {
            Error::Timeout { .. } => true,
            Error::Transport { source, .. } => !source.is_connect(),
            Error::Decode { .. } => true,
            Error::Server { status, .. } => *status >= 500,
            // A success status whose body was too large or not the API's JSON: the request
            // reached something that said it succeeded.
            Error::BodyTooLarge { status, .. } | Error::UnexpectedResponse { status, .. } => {
                (200..300).contains(status)
            }
            Error::Save { source, .. } => source.may_have_been_applied(),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests;
