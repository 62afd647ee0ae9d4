//! Per-client behaviour the generated code calls around every request: the API key header, an
//! optional observer of requests and responses (for rate-limit bookkeeping, metrics or logs), and
//! the guards every response passes before its body is read:
//!
//! - **Body limits.** A successful answer's body may be at most [`BodyLimits::success`] bytes: a
//!   larger `Content-Length` is refused before any of the body is read, and a body without one
//!   fails as soon as the running total passes the limit (the connection is dropped, so the rest
//!   is never read). An error answer's body is cut at [`BodyLimits::error`] bytes (only its first
//!   words are ever shown), which leaves the status intact.
//! - **No redirects.** The OnTime API does not redirect; an answer that does (a proxy, a login
//!   page, a moved account) is refused, and so is a response that a `reqwest::Client` configured
//!   to follow redirects reached at another URL than the one requested (a `POST` redirected with
//!   302 or 303 becomes a `GET`, so the write silently never happened).
//!
//! A refused body fails to read with a `reqwest` body error whose source chain holds a
//! [`Refused`] value, which says why.
//!
//! A [`Client`] is built with a [`Hooks`] value:
//!
//! ```
//! let hooks = ontime_raw::Hooks::new().api_key("my-key").expect("a valid header value");
//! let client = ontime_raw::Client::new("https://secure.ontime360.com/sites/acme", hooks);
//! # let _ = client;
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::header::{
    AUTHORIZATION, CONTENT_LENGTH, HeaderMap, HeaderValue, InvalidHeaderValue, LOCATION,
};
use reqwest::{Request, Response, StatusCode};

use crate::Client;
use crate::index::Operation;

/// Sees every HTTP exchange the client makes. Implementations must be cheap: they run inline.
pub trait Observer: Send + Sync + 'static {
    /// Called when a response arrived (any status) or the request failed in transport.
    /// `operation` is the spec's operation ([`Operation::client_method`] spells it as the
    /// client method does, `orders_get`; [`Operation::id`] as the spec does, `ordersGet`).
    fn on_response(&self, operation: Operation, outcome: Outcome<'_>, elapsed: Duration);

    /// Called just before each request is sent. The `Authorization` header is marked sensitive;
    /// never log headers. Does nothing unless implemented.
    fn on_request(&self, operation: Operation, request: &Request) {
        let _ = (operation, request);
    }
}

/// What came back for one HTTP request.
#[derive(Debug, Clone, Copy)]
pub enum Outcome<'a> {
    /// A response arrived; its body has not been read yet.
    Response {
        /// The HTTP status.
        status: StatusCode,
        /// The response headers (`X-RateLimit-*`, `Retry-After`, ...).
        headers: &'a HeaderMap,
    },
    /// No response: connection refused or reset, timeout, TLS failure...
    Transport(&'a reqwest::Error),
}

/// The default cap on a successful answer's body: 64 MiB. The largest single answers are finder
/// lists of GUIDs (about 40 bytes each: 100,000 orders are about 4 MB) and report documents.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 64 * 1024 * 1024;

/// The default cap on an error answer's body: 64 KiB (only its first few hundred characters are
/// ever shown).
pub const DEFAULT_MAX_ERROR_BODY_BYTES: u64 = 64 * 1024;

/// How many bytes of a response body the client reads at most.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyLimits {
    /// A 2xx answer's body larger than this fails with [`Refused::TooLarge`].
    pub success: u64,
    /// Any other answer's body is cut after this many bytes.
    pub error: u64,
}

impl Default for BodyLimits {
    fn default() -> Self {
        Self {
            success: DEFAULT_MAX_BODY_BYTES,
            error: DEFAULT_MAX_ERROR_BODY_BYTES,
        }
    }
}

/// Why the client refused to read a response's body.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refused {
    /// A successful answer's body is larger than [`BodyLimits::success`].
    TooLarge {
        /// The limit in bytes.
        limit: u64,
        /// The `Content-Length` the server announced, when it did and it was over the limit
        /// (the body was then not read at all).
        content_length: Option<u64>,
    },
    /// The server redirected the request.
    Redirect {
        /// The 3xx status, or `None` when the HTTP client followed the redirect itself and only
        /// the final URL is known.
        status: Option<StatusCode>,
        /// Where it pointed (`Location`), or the URL the followed redirects ended at.
        location: Option<String>,
    },
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refused::TooLarge {
                limit,
                content_length: Some(length),
            } => write!(
                f,
                "the response announced {length} bytes, more than the {limit} allowed"
            ),
            Refused::TooLarge { limit, .. } => {
                write!(f, "the response body exceeded the {limit} bytes allowed")
            }
            Refused::Redirect { status, location } => {
                match status {
                    Some(status) => write!(f, "the server redirected ({})", status.as_u16())?,
                    None => f.write_str("the request was redirected")?,
                }
                if let Some(location) = location {
                    write!(f, " to {location}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for Refused {}

impl Refused {
    /// The [`Refused`] in an error's source chain, if any.
    pub fn find<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a Refused> {
        let mut current = Some(error);
        while let Some(error) = current {
            if let Some(refused) = error.downcast_ref::<Refused>() {
                return Some(refused);
            }
            current = error.source();
        }
        None
    }
}

/// The inner value of every [`Client`]: what it adds to each request.
#[derive(Clone, Default)]
pub struct Hooks {
    authorization: Option<HeaderValue>,
    observer: Option<Arc<dyn Observer>>,
    limits: BodyLimits,
}

impl Hooks {
    /// Hooks that add no key (the `reqwest::Client` must then carry it itself), with the
    /// default [`BodyLimits`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Caps response bodies (default [`BodyLimits::default`]).
    pub fn body_limits(mut self, limits: BodyLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Sends `key` as the raw `Authorization` header value, as OnTime expects. The value is marked
    /// sensitive, so reqwest and this type never print it.
    pub fn api_key(self, key: &str) -> Result<Self, InvalidHeaderValue> {
        self.authorization_value(key)
    }

    /// Sends `value` verbatim as the `Authorization` header (for example `Bearer <key>`).
    pub fn authorization_value(mut self, value: &str) -> Result<Self, InvalidHeaderValue> {
        let mut value = HeaderValue::from_str(value)?;
        value.set_sensitive(true);
        self.authorization = Some(value);
        Ok(self)
    }

    /// Reports every exchange to `observer`.
    pub fn observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = Some(observer);
        self
    }
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooks")
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "[redacted]"),
            )
            .field("observer", &self.observer.is_some())
            .field("limits", &self.limits)
            .finish()
    }
}

impl ClientHooks<Hooks> for Client {
    async fn pre<E>(
        &self,
        request: &mut Request,
        _info: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        if let Some(value) = &self.inner().authorization {
            request.headers_mut().insert(AUTHORIZATION, value.clone());
        }
        Ok(())
    }

    async fn exec(&self, request: Request, info: &OperationInfo) -> reqwest::Result<Response> {
        let started = Instant::now();
        let requested = request.url().clone();
        // Every client method is an operation of the index (a test in lib.rs checks it), so the
        // lookup only misses for a client generated from another spec: then nothing is observed.
        let operation = Operation::by_client_method(info.operation_id);
        let observer = self.inner().observer.as_ref().zip(operation);
        if let Some((observer, operation)) = observer {
            observer.on_request(operation, &request);
        }
        let result = self.client().execute(request).await;
        if let Some((observer, operation)) = observer {
            let outcome = match &result {
                Ok(response) => Outcome::Response {
                    status: response.status(),
                    headers: response.headers(),
                },
                Err(error) => Outcome::Transport(error),
            };
            observer.on_response(operation, outcome, started.elapsed());
        }
        Ok(guard(result?, &requested, self.inner().limits))
    }
}

/// Applies the redirect refusal and the body limits to a response (see the module docs).
fn guard(response: Response, requested: &reqwest::Url, limits: BodyLimits) -> Response {
    let status = response.status();
    if status.is_redirection() {
        let location = response
            .headers()
            .get(LOCATION)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        return refuse(
            response,
            Refused::Redirect {
                status: Some(status),
                location,
            },
        );
    }
    if response.url() != requested {
        let location = Some(response.url().to_string());
        return refuse(
            response,
            Refused::Redirect {
                status: None,
                location,
            },
        );
    }
    if status.is_success() {
        let announced = response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if let Some(length) = announced.filter(|length| *length > limits.success) {
            return refuse(
                response,
                Refused::TooLarge {
                    limit: limits.success,
                    content_length: Some(length),
                },
            );
        }
        rebody(response, |parts| capped(parts, limits.success, Cap::Fail))
    } else {
        rebody(response, |parts| capped(parts, limits.error, Cap::Cut))
    }
}

/// What happens at a body limit.
#[derive(Clone, Copy)]
enum Cap {
    /// The read fails with [`Refused::TooLarge`].
    Fail,
    /// The body ends there.
    Cut,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// `response` with its body replaced by what `body` makes of the original one; status, version,
/// headers and extensions are kept.
fn rebody(response: Response, body: impl FnOnce(Response) -> reqwest::Body) -> Response {
    use reqwest::ResponseBuilderExt;
    let mut builder = http::Response::builder()
        .status(response.status())
        .version(response.version())
        .url(response.url().clone());
    if let Some(headers) = builder.headers_mut() {
        *headers = response.headers().clone();
    }
    match builder.body(body(response)) {
        Ok(rebuilt) => Response::from(rebuilt),
        // Unreachable: the parts come from a valid response.
        Err(_) => Response::from(http::Response::new(reqwest::Body::from(Bytes::new()))),
    }
}

/// A body that fails on its first read with `reason`; the original response is dropped, so its
/// body is never read and its connection is closed.
fn refuse(response: Response, reason: Refused) -> Response {
    rebody(response, |response| {
        drop(response);
        let failed: futures::stream::Once<_> =
            futures::stream::once(async move { Err::<Bytes, BoxError>(Box::new(reason)) });
        reqwest::Body::wrap_stream(failed)
    })
}

/// The response's body, read chunk by chunk with a running total checked against `limit`.
fn capped(response: Response, limit: u64, cap: Cap) -> reqwest::Body {
    let state = (Some(response), 0u64);
    let stream = futures::stream::try_unfold(state, move |(response, seen)| async move {
        let Some(mut response) = response else {
            return Ok(None);
        };
        let Some(chunk) = response.chunk().await.map_err(BoxError::from)? else {
            return Ok(None);
        };
        let total = seen.saturating_add(chunk.len() as u64);
        if total <= limit {
            return Ok(Some((chunk, (Some(response), total))));
        }
        match cap {
            Cap::Fail => Err(BoxError::from(Refused::TooLarge {
                limit,
                content_length: None,
            })),
            Cap::Cut => {
                // Keep what fits and hang up on the rest.
                let keep = usize::try_from(limit - seen).unwrap_or(chunk.len());
                drop(response);
                Ok(Some((chunk.slice(..keep.min(chunk.len())), (None, limit))))
            }
        }
    });
    reqwest::Body::wrap_stream(stream)
}
