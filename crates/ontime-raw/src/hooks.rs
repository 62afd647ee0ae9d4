//! Per-client behaviour the generated code calls around every request: the API key header and an
//! optional observer of responses (for rate-limit bookkeeping, metrics or logs).
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

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, InvalidHeaderValue};
use reqwest::{Request, Response, StatusCode};

use crate::Client;

/// Sees every HTTP exchange the client makes. Implementations must be cheap: they run inline.
pub trait Observer: Send + Sync + 'static {
    /// Called when a response arrived (any status) or the request failed in transport.
    /// `operation` names the operation as the client method does (`orders_get` for the spec's
    /// `ordersGet`).
    fn on_response(&self, operation: &'static str, outcome: Outcome<'_>, elapsed: Duration);
}

/// What came back for one HTTP request.
#[derive(Debug)]
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

/// The inner value of every [`Client`]: what it adds to each request.
#[derive(Clone, Default)]
pub struct Hooks {
    authorization: Option<HeaderValue>,
    observer: Option<Arc<dyn Observer>>,
}

impl Hooks {
    /// Hooks that add nothing (the `reqwest::Client` must then carry the key itself).
    pub fn new() -> Self {
        Self::default()
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
        let result = self.client().execute(request).await;
        if let Some(observer) = &self.inner().observer {
            let outcome = match &result {
                Ok(response) => Outcome::Response {
                    status: response.status(),
                    headers: response.headers(),
                },
                Err(error) => Outcome::Transport(error),
            };
            observer.on_response(info.operation_id, outcome, started.elapsed());
        }
        result
    }
}
