//! The client, its builder, and the one place every HTTP call goes through (limits, retries,
//! timeouts, tracing, quota bookkeeping, error mapping).

use ontime_raw::index::Operation;
use std::fmt;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ontime_raw::hooks::{BodyLimits, Observer, Outcome, Refused};
use ontime_raw::types::Fault;
use ontime_raw::{Hooks, ResponseValue};
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;
use tracing::Instrument;

use crate::error::{REDACTED, Redactor, Retried, message_from_body};
use crate::quota::{Quota, QuotaTracker};
use crate::retry::{Idempotency, RetryDecision, RetryEvent, RetryHook, RetryPolicy};
use crate::{Error, Result};

pub use ontime_raw::hooks::{DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_ERROR_BODY_BYTES};

/// Where OnTime 360 accounts live; the company id follows.
pub const DEFAULT_HOST: &str = "https://secure.ontime360.com/sites/";

/// The largest client-wide concurrency limit [`ClientBuilder::concurrency`] accepts.
pub const MAX_CONCURRENCY: usize = 1024;

type RawError = ontime_raw::Error<Fault>;

/// A client for one OnTime 360 account. Cheap to clone (clones share connections, the
/// concurrency limit and the quota bookkeeping).
///
/// ```no_run
/// # async fn run() -> ontime::Result<()> {
/// let client = ontime::Client::builder()
///     .company_id("my-company")
///     .api_key(std::env::var("ONTIME_API_KEY").unwrap_or_default())
///     .build()?;
/// let order = client.orders().by_tracking_number("1009214").await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    raw: ontime_raw::Client,
    base_url: String,
    retry: RetryPolicy,
    semaphore: Semaphore,
    concurrency: usize,
    request_timeout: Duration,
    /// The connect timeout this client set (None when the user passed their own HTTP client).
    connect_timeout: Option<Duration>,
    quota: Arc<QuotaTracker>,
    quota_guard: bool,
    /// Removes the API key from server texts before they enter errors and logs.
    redactor: Redactor,
    on_retry: Option<RetryHook>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url)
            .field("api_key", &"[redacted]")
            .field("concurrency", &self.inner.concurrency)
            .field("request_timeout", &self.inner.request_timeout)
            .field("retry", &self.inner.retry)
            .finish()
    }
}

/// How the API key is written in the `Authorization` header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthScheme {
    /// The raw key, as OnTime documents it: `Authorization: <key>`.
    #[default]
    Raw,
    /// `Authorization: Bearer <key>`, which some deployments accept.
    Bearer,
}

/// An API key that never prints itself.
#[derive(Clone)]
struct ApiKey(String);

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Configures a [`Client`]. Start with [`Client::builder`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    base_url: Option<String>,
    company_id: Option<String>,
    api_key: Option<ApiKey>,
    auth_scheme: AuthScheme,
    connect_timeout: Duration,
    request_timeout: Duration,
    user_agent: String,
    concurrency: usize,
    retry: RetryPolicy,
    http: Option<reqwest::Client>,
    quota_guard: bool,
    limits: BodyLimits,
    on_retry: Option<RetryHook>,
    /// The account used when no setter chose one ([`from_env`](Self::from_env) sets it).
    pub(crate) default_account: Option<DefaultAccount>,
}

/// The account a builder falls back on when neither [`ClientBuilder::base_url`] nor
/// [`ClientBuilder::company_id`] was called: a setter always replaces it whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DefaultAccount {
    BaseUrl(String),
    CompanyId(String),
    /// The source was ambiguous: `build()` fails with this message unless a setter chose.
    Refused(String),
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            base_url: None,
            company_id: None,
            api_key: None,
            auth_scheme: AuthScheme::Raw,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            user_agent: concat!("ontime-rs/", env!("CARGO_PKG_VERSION")).to_string(),
            concurrency: 8,
            retry: RetryPolicy::default(),
            http: None,
            quota_guard: false,
            limits: BodyLimits::default(),
            on_retry: None,
            default_account: None,
        }
    }
}

impl ClientBuilder {
    /// The account's company id (its Customer Web Portal id): the client talks to
    /// `https://secure.ontime360.com/sites/{company_id}`.
    pub fn company_id(mut self, company_id: impl Into<String>) -> Self {
        self.company_id = Some(company_id.into());
        self
    }

    /// The full base URL (`https://…/sites/{company-id}`), for example a simulator's. Takes
    /// precedence over [`company_id`](Self::company_id). Plain `http://` is refused except to
    /// loopback addresses.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The API key (created in the OnTime Management Suite). Never printed or logged.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(ApiKey(key.into()));
        self
    }

    /// How the key is written in `Authorization` (default: raw, as OnTime documents).
    pub fn auth_scheme(mut self, scheme: AuthScheme) -> Self {
        self.auth_scheme = scheme;
        self
    }

    /// Time allowed to open a connection (default 10 s). Applies to the client this builder
    /// creates, not to one passed with [`http_client`](Self::http_client).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Time allowed for one attempt of one call, body included (default 30 s). Reports can be
    /// slow: raise it if you download many. With retries a call can take longer: at most the
    /// retry policy's [`elapsed_limit`](RetryPolicy::elapsed_limit) plus this timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The `User-Agent` header (default `ontime-rs/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// At most this many requests in flight at once, across everything this client (and its
    /// clones) does (default 8, at most [`MAX_CONCURRENCY`]). Lookups fan out up to this limit.
    pub fn concurrency(mut self, limit: usize) -> Self {
        self.concurrency = limit;
        self
    }

    /// When to retry (default [`RetryPolicy::default`]; [`RetryPolicy::none`] disables retries).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Use this `reqwest::Client` (proxies, TLS roots, pools...). The API key is still added to
    /// each request; the connect timeout and user agent are then yours to set on it. Build it
    /// with `redirect(reqwest::redirect::Policy::none())`: the client this builder creates
    /// follows no redirects, but reqwest's default follows up to 10. A response reached through
    /// a redirect is still refused with [`Error::Redirect`], though by then the request at the
    /// new location was made (as a `GET`, for a 302 or 303 to a write).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Refuse to start a [`find`](crate::Resource::find) whose record fetches would exceed the
    /// remaining daily or monthly quota (as last reported by the server). Off by default.
    pub fn quota_guard(mut self, enabled: bool) -> Self {
        self.quota_guard = enabled;
        self
    }

    /// The largest body of a successful answer the client reads (default
    /// [`DEFAULT_MAX_BODY_BYTES`], 64 MiB). A larger one fails with [`Error::BodyTooLarge`]:
    /// before any of it is read when the server announces its size (`Content-Length`), else as
    /// soon as the running total passes the limit, so memory stays bounded by the limit.
    pub fn max_body_bytes(mut self, bytes: u64) -> Self {
        self.limits.success = bytes;
        self
    }

    /// How much of an error answer's body the client reads (default
    /// [`DEFAULT_MAX_ERROR_BODY_BYTES`], 64 KiB); the rest is not read. Only the first 500
    /// characters of a server's message appear in an [`Error`].
    pub fn max_error_body_bytes(mut self, bytes: u64) -> Self {
        self.limits.error = bytes;
        self
    }

    /// Calls `callback` before every retry wait, with the attempt that failed, the wait and
    /// why (for example to tell a user that the server asked to wait 20 s). Every retry is also
    /// a WARN tracing event named `retrying` (target `ontime::retry`).
    ///
    /// ```
    /// # use std::sync::{Arc, Mutex};
    /// let waits = Arc::new(Mutex::new(Vec::new()));
    /// let seen = waits.clone();
    /// let client = ontime::Client::builder()
    ///     .company_id("acme")
    ///     .api_key("key")
    ///     .on_retry(move |event| seen.lock().unwrap().push((event.attempt, event.wait)))
    ///     .build();
    /// # assert!(client.is_ok());
    /// ```
    pub fn on_retry(mut self, callback: impl Fn(&RetryEvent<'_>) + Send + Sync + 'static) -> Self {
        self.on_retry = Some(RetryHook(Arc::new(callback)));
        self
    }

    /// Checks the configuration and builds the client.
    pub fn build(self) -> Result<Client> {
        let account = match (&self.base_url, &self.company_id, &self.default_account) {
            (None, None, Some(DefaultAccount::BaseUrl(url))) => (Some(url), None),
            (None, None, Some(DefaultAccount::CompanyId(company))) => (None, Some(company)),
            (None, None, Some(DefaultAccount::Refused(message))) => {
                return Err(Error::Config(message.clone()));
            }
            (url, company, _) => (url.as_ref(), company.as_ref()),
        };
        let base_url = match account {
            (Some(url), _) => validate_base_url(url)?,
            (None, Some(company)) => {
                let company = company.trim();
                if company.is_empty() || company.contains(['/', '?', '#', ' ']) {
                    return Err(Error::Config(format!(
                        "company id {company:?} is not valid: use the id from the account's web portal URL"
                    )));
                }
                format!("{DEFAULT_HOST}{company}")
            }
            (None, None) => {
                return Err(Error::Config(
                    "no account given: set company_id(..) or base_url(..) (or ONTIME_COMPANY_ID / ONTIME_BASE_URL)".into(),
                ));
            }
        };
        let key = match &self.api_key {
            Some(ApiKey(key)) if !key.trim().is_empty() => key.trim(),
            _ => {
                return Err(Error::Config(
                    "no API key given: set api_key(..) (or ONTIME_API_KEY)".into(),
                ));
            }
        };
        let header_value = match self.auth_scheme {
            AuthScheme::Raw => key.to_string(),
            AuthScheme::Bearer => format!("Bearer {key}"),
        };
        if !(1..=MAX_CONCURRENCY).contains(&self.concurrency) {
            return Err(Error::Config(format!(
                "concurrency must be between 1 and {MAX_CONCURRENCY}, not {}",
                self.concurrency
            )));
        }
        if self.request_timeout.is_zero() {
            return Err(Error::Config(
                "the request timeout must be longer than zero".into(),
            ));
        }
        if self.limits.success == 0 || self.limits.error == 0 {
            return Err(Error::Config(
                "the response body limits must be larger than zero".into(),
            ));
        }
        let custom_http = self.http.is_some();
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .connect_timeout(self.connect_timeout)
                .timeout(self.request_timeout)
                .user_agent(self.user_agent.as_str())
                // The OnTime API never redirects; a redirected write would become a read.
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| Error::Config(format!("could not create the HTTP client: {e}")))?,
        };
        let quota = Arc::new(QuotaTracker::default());
        let redactor = Redactor::new(key);
        let hooks = Hooks::new()
            .body_limits(self.limits)
            .authorization_value(&header_value)
            .map_err(|_| {
                Error::Config(
                    "the API key contains characters not allowed in an HTTP header".into(),
                )
            })?
            .observer(Arc::new(CallObserver {
                quota: quota.clone(),
                redactor: redactor.clone(),
            }));
        Ok(Client {
            inner: Arc::new(Inner {
                raw: ontime_raw::Client::new_with_client(&base_url, http, hooks),
                base_url,
                retry: self.retry,
                semaphore: Semaphore::new(self.concurrency),
                concurrency: self.concurrency,
                request_timeout: self.request_timeout,
                connect_timeout: (!custom_http).then_some(self.connect_timeout),
                quota,
                quota_guard: self.quota_guard,
                redactor,
                on_retry: self.on_retry,
            }),
        })
    }
}

fn validate_base_url(url: &str) -> Result<String> {
    let trimmed = url.trim().trim_end_matches('/');
    let parsed = reqwest::Url::parse(trimmed)
        .map_err(|e| Error::Config(format!("base URL {trimmed:?} is not a URL: {e}")))?;
    match parsed.scheme() {
        "https" => {}
        "http" => {
            let host = parsed.host_str().unwrap_or_default();
            let loopback = host.eq_ignore_ascii_case("localhost")
                || host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if !loopback {
                return Err(Error::Config(format!(
                    "refusing plain http:// to {}: the API key would travel unencrypted; use https:// \
                     (http:// is allowed only for loopback addresses such as 127.0.0.1)",
                    parsed.host_str().unwrap_or("?")
                )));
            }
        }
        other => {
            return Err(Error::Config(format!(
                "base URL scheme {other:?} is not supported; use https://"
            )));
        }
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(Error::Config(format!(
            "base URL {trimmed:?} must not have a query string or fragment: give the account's \
             URL, such as https://secure.ontime360.com/sites/my-company"
        )));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::Config(
            "the base URL must not contain credentials".into(),
        ));
    }
    Ok(trimmed.to_string())
}

impl Client {
    /// Starts configuring a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from the environment: [`ClientBuilder::from_env`], built.
    pub fn from_env() -> Result<Client> {
        ClientBuilder::from_env().build()
    }

    /// The account's base URL (`…/sites/{company-id}`).
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The request budget as last reported by the server, and this client's call count.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let simulator = ontime_mock::OnTimeMock::builder().seed(3).orders(5).start().await?;
    /// # let client = ontime::Client::builder().base_url(simulator.base_url()).api_key(simulator.api_key()).build()?;
    /// assert_eq!(client.quota().daily_remaining, None); // nothing reported yet
    /// client.orders().find_all().collect_vec().await?;
    /// let quota = client.quota();
    /// assert_eq!(quota.calls, 6); // one finder call, five gets
    /// assert_eq!(quota.daily_limit, Some(86_400));
    /// assert_eq!(quota.remaining(), Some(86_400 - 6)); // the lower of the daily and monthly counts
    /// # Ok(())
    /// # }
    /// ```
    pub fn quota(&self) -> Quota {
        self.inner.quota.snapshot()
    }

    /// The generated low-level client this facade drives, for operations used in ways the facade
    /// does not cover. Calls made through it bypass retries and the concurrency limit.
    pub fn raw(&self) -> &ontime_raw::Client {
        &self.inner.raw
    }

    pub(crate) fn concurrency(&self) -> usize {
        self.inner.concurrency
    }

    /// The retry policy this client was built with.
    pub(crate) fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// Fails with [`Error::QuotaExceeded`] when the guard is on and `needed` calls exceed what
    /// the server last said remains.
    pub(crate) fn check_quota(&self, needed: u64) -> Result<()> {
        if !self.inner.quota_guard {
            return Ok(());
        }
        match self.quota().remaining() {
            Some(remaining) if needed > remaining => {
                Err(Error::QuotaExceeded { needed, remaining })
            }
            _ => Ok(()),
        }
    }

    /// Runs one operation with the client's policies; decodes JSON results.
    pub(crate) async fn call<T, F, Fut>(
        &self,
        operation: Operation,
        idempotency: Idempotency,
        attempt: F,
    ) -> Result<T>
    where
        T: DeserializeOwned,
        F: FnMut() -> Fut,
        Fut: Future<Output = std::result::Result<ResponseValue<T>, RawError>>,
    {
        self.execute(operation, idempotency, attempt, decode_path::<T>)
            .await
    }

    /// Runs one operation whose result is not JSON (a byte stream).
    pub(crate) async fn call_raw<T, F, Fut>(
        &self,
        operation: Operation,
        idempotency: Idempotency,
        attempt: F,
    ) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = std::result::Result<ResponseValue<T>, RawError>>,
    {
        self.execute(operation, idempotency, attempt, |_| None)
            .await
    }

    async fn execute<T, F, Fut>(
        &self,
        operation: Operation,
        idempotency: Idempotency,
        mut attempt_fn: F,
        path_of: fn(&[u8]) -> Option<String>,
    ) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = std::result::Result<ResponseValue<T>, RawError>>,
    {
        let policy = &self.inner.retry;
        let started = Instant::now();
        let span = tracing::debug_span!(
            "ontime.call",
            operation = operation.client_method(),
            attempts = tracing::field::Empty,
            status = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        );
        async {
            let mut attempt = 1u32;
            loop {
                let permit = self.inner.semaphore.acquire().await;
                let slot = Arc::new(ExchangeSlot::default());
                let timeout = self.inner.request_timeout;
                let attempt_started = Instant::now();
                let outcome = EXCHANGE
                    .scope(slot.clone(), async {
                        tokio::time::timeout(timeout, attempt_fn()).await
                    })
                    .await;
                drop(permit);
                let exchange = slot.take();
                log_attempt(attempt, &exchange, attempt_started.elapsed());
                let result = match outcome {
                    Err(_) => {
                        // The request went out but its answer never reached the observer: count
                        // it here, as the server counts it against the quota.
                        if exchange.status.is_none() {
                            self.inner.quota.record_call();
                        }
                        Err(Error::Timeout {
                            operation,
                            after: timeout,
                            retried: None,
                        })
                    }
                    Ok(Ok(value)) => Ok(value.into_inner()),
                    Ok(Err(raw)) => {
                        let timeouts = (timeout, self.inner.connect_timeout);
                        let error = convert(operation, raw, &exchange, path_of, timeouts).await;
                        Err(self.inner.redactor.error(error))
                    }
                };
                let span = tracing::Span::current();
                span.record("attempts", attempt);
                span.record("latency_ms", started.elapsed().as_millis() as u64);
                if let Some(status) = exchange.status {
                    span.record("status", status);
                }
                let error = match result {
                    Ok(value) => return Ok(value),
                    Err(error) => error,
                };
                let decision = policy.decide(
                    attempt,
                    started.elapsed(),
                    &error,
                    idempotency,
                    &mut rand::rng(),
                );
                match decision {
                    RetryDecision::Stop => {
                        let error = if attempt > 1 {
                            error.with_retried(Retried {
                                attempts: attempt,
                                elapsed: started.elapsed(),
                            })
                        } else {
                            error
                        };
                        tracing::debug!(error = %error, "call failed");
                        return Err(error);
                    }
                    RetryDecision::RetryAfter(wait) => {
                        let event = RetryEvent {
                            operation,
                            attempt,
                            max_attempts: policy.attempts(),
                            wait,
                            server_asked: error.retry_after().is_some(),
                            elapsed: started.elapsed(),
                            error: &error,
                        };
                        tracing::warn!(
                            target: "ontime::retry",
                            attempt,
                            max_attempts = event.max_attempts,
                            wait_ms = wait.as_millis() as u64,
                            server_asked = event.server_asked,
                            error = %error,
                            "retrying"
                        );
                        if let Some(hook) = &self.inner.on_retry {
                            (hook.0)(&event);
                        }
                        tokio::time::sleep(wait).await;
                        attempt += 1;
                    }
                }
            }
        }
        .instrument(span)
        .await
    }
}

/// What the observer saw of one attempt's HTTP exchange: the request (method, and the URL made
/// fit for logs) and the answer's status, `Retry-After` and `Content-Type`.
#[derive(Default, Clone, Debug)]
struct Exchange {
    method: Option<String>,
    url: Option<String>,
    status: Option<u16>,
    retry_after: Option<Duration>,
    content_type: Option<String>,
}

/// The exchange of the attempt running in this task.
#[derive(Default)]
struct ExchangeSlot(Mutex<Exchange>);

impl ExchangeSlot {
    fn update(&self, change: impl FnOnce(&mut Exchange)) {
        if let Ok(mut slot) = self.0.lock() {
            change(&mut slot);
        }
    }
    fn take(&self) -> Exchange {
        self.0
            .lock()
            .map(|mut slot| std::mem::take(&mut *slot))
            .unwrap_or_default()
    }
}

tokio::task_local! {
    static EXCHANGE: Arc<ExchangeSlot>;
}

/// One DEBUG event per HTTP attempt (target `ontime::http`): method, URL with its query (secret
/// parameters and the key redacted; headers are never logged), status, time taken.
fn log_attempt(attempt: u32, exchange: &Exchange, elapsed: Duration) {
    let Some(method) = &exchange.method else {
        return; // the request could not even be built
    };
    tracing::debug!(
        target: "ontime::http",
        attempt,
        method = %method,
        url = %exchange.url.as_deref().unwrap_or("?"),
        status = exchange.status,
        elapsed_ms = elapsed.as_millis() as u64,
        "{}",
        if exchange.status.is_some() { "HTTP response" } else { "HTTP request got no answer" }
    );
}

/// The URL as it may appear in logs: query parameters that hold secrets (passwords) and any
/// appearance of the API key replaced by `[redacted]`.
fn loggable_url(url: &reqwest::Url, redactor: &Redactor) -> String {
    let secret = |name: &str| {
        let name = name.to_ascii_lowercase();
        ["password", "secret", "token", "key"]
            .iter()
            .any(|word| name.contains(word))
    };
    let mut url = url.clone();
    let _ = url.set_password(None);
    let _ = url.set_username("");
    if let Some(query) = url.query().map(str::to_string) {
        let parts: Vec<String> = query
            .split('&')
            .map(|part| match part.split_once('=') {
                Some((name, _)) if secret(name) => format!("{name}={REDACTED}"),
                _ => part.to_string(),
            })
            .collect();
        // Set as text: `[redacted]` stays readable instead of percent-encoded.
        let mut text = url.to_string();
        if let Some(start) = text.find('?') {
            let end = text.find('#').unwrap_or(text.len());
            text.replace_range(start + 1..end, &parts.join("&"));
        }
        return redactor.text(&text);
    }
    redactor.text(url.as_str())
}

/// Counts calls, reads quota headers, and tells the running attempt what went out and what
/// came back (progenitor drops the status from some errors).
struct CallObserver {
    quota: Arc<QuotaTracker>,
    redactor: Redactor,
}

impl Observer for CallObserver {
    fn on_request(&self, _operation: Operation, request: &reqwest::Request) {
        let method = request.method().to_string();
        let url = loggable_url(request.url(), &self.redactor);
        let _ = EXCHANGE.try_with(|slot| {
            slot.update(|exchange| {
                *exchange = Exchange {
                    method: Some(method),
                    url: Some(url),
                    ..Exchange::default()
                }
            })
        });
    }

    fn on_response(&self, _operation: Operation, outcome: Outcome<'_>, _elapsed: Duration) {
        self.quota.record_call();
        if let Outcome::Response { status, headers } = outcome {
            self.quota.update(headers);
            let retry_after = retry_after(headers);
            let content_type = headers
                .get(reqwest::header::CONTENT_TYPE)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
            let _ = EXCHANGE.try_with(|slot| {
                slot.update(|exchange| {
                    exchange.status = Some(status.as_u16());
                    exchange.retry_after = retry_after;
                    exchange.content_type = content_type;
                })
            });
        }
    }
}

/// `Retry-After` as seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = when.signed_duration_since(chrono::Utc::now());
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// Where in the JSON `bytes` stop matching `T`.
fn decode_path<T: DeserializeOwned>(bytes: &[u8]) -> Option<String> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(_) => None,
        Err(error) => Some(error.path().to_string()),
    }
}

/// Maps a raw error to the facade's, by status. Server texts are redacted by the caller.
async fn convert(
    operation: Operation,
    error: RawError,
    exchange: &Exchange,
    path_of: fn(&[u8]) -> Option<String>,
    (request_timeout, connect_timeout): (Duration, Option<Duration>),
) -> Error {
    let status = exchange.status.unwrap_or(200);
    match error {
        RawError::InvalidRequest(message) | RawError::Custom(message) => {
            Error::InvalidRequest { operation, message }
        }
        RawError::CommunicationError(e) | RawError::ResponseBodyError(e) => {
            if let Some(refused) = Refused::find(&e) {
                refused_error(operation, status, refused)
            } else if e.is_redirect() {
                // A custom HTTP client followed redirects until its own limit.
                Error::Redirect {
                    operation,
                    status: None,
                    location: e.url().map(|u| u.to_string()),
                }
            } else if e.is_timeout() {
                let after = match connect_timeout {
                    Some(connect) if e.is_connect() => connect,
                    _ => request_timeout,
                };
                Error::Timeout {
                    operation,
                    after,
                    retried: None,
                }
            } else {
                Error::Transport {
                    operation,
                    source: e.without_url(),
                    retried: None,
                }
            }
        }
        RawError::ErrorResponse(fault) => {
            let status = fault.status().as_u16();
            let retry = retry_after(fault.headers());
            let fault = fault.into_inner();
            let message = match (fault.message, fault.message_detail) {
                (Some(m), Some(d)) if !d.is_empty() => Some(format!("{m} ({d})")),
                (Some(m), _) => Some(m),
                (None, _) => None,
            };
            by_status(operation, status, message, retry)
        }
        RawError::UnexpectedResponse(response) => {
            let status = response.status().as_u16();
            let retry = retry_after(response.headers());
            match response.bytes().await {
                Ok(body) => by_status(operation, status, message_from_body(&body), retry),
                Err(e) => match Refused::find(&e) {
                    Some(refused) => refused_error(operation, status, refused),
                    None => by_status(operation, status, None, retry),
                },
            }
        }
        RawError::InvalidResponsePayload(bytes, e) => {
            if (200..300).contains(&status) {
                if !looks_like_json(exchange.content_type.as_deref(), &bytes) {
                    return Error::UnexpectedResponse {
                        operation,
                        status,
                        content_type: exchange.content_type.clone(),
                        snippet: message_from_body(&bytes),
                    };
                }
                let truncated = e.classify() == serde_json::error::Category::Eof;
                Error::Decode {
                    operation,
                    status,
                    path: path_of(&bytes).unwrap_or_else(|| ".".into()),
                    message: e.to_string(),
                    truncated,
                    retried: None,
                }
            } else {
                by_status(
                    operation,
                    status,
                    message_from_body(&bytes),
                    exchange.retry_after,
                )
            }
        }
        other => Error::InvalidRequest {
            operation,
            message: other.to_string(),
        },
    }
}

/// Whether a body that failed to decode is JSON at all (then the error is about its shape), as
/// opposed to a web page or text from something other than the API.
fn looks_like_json(content_type: Option<&str>, body: &[u8]) -> bool {
    let declared_json = content_type.is_none_or(|t| t.to_ascii_lowercase().contains("json"));
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    let json_start = match first {
        // An empty body with a JSON type is an answer cut short.
        None => declared_json,
        Some(b) => b"{[\"-0123456789tfn".contains(b),
    };
    json_start && (declared_json || serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok())
}

fn refused_error(operation: Operation, status: u16, refused: &Refused) -> Error {
    match refused {
        Refused::TooLarge {
            limit,
            content_length,
        } => Error::BodyTooLarge {
            operation,
            status,
            limit: *limit,
            content_length: *content_length,
        },
        Refused::Redirect { status, location } => Error::Redirect {
            operation,
            status: status.map(|s| s.as_u16()),
            location: location.clone(),
        },
        // Refused is non-exhaustive; a new reason is still a refusal of the answer.
        other => Error::UnexpectedResponse {
            operation,
            status,
            content_type: None,
            snippet: Some(other.to_string()),
        },
    }
}

fn by_status(
    operation: Operation,
    status: u16,
    message: Option<String>,
    retry_after: Option<Duration>,
) -> Error {
    match status {
        400 => Error::BadRequest { operation, message },
        401 => Error::Unauthorized { operation, message },
        403 => Error::Forbidden { operation, message },
        404 => Error::NotFound { operation, message },
        429 => Error::RateLimited {
            operation,
            retry_after,
            message,
            retried: None,
        },
        _ => Error::Server {
            operation,
            status,
            message,
            retry_after,
            retried: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builder() -> ClientBuilder {
        Client::builder().api_key("super-secret-key-123")
    }

    #[test]
    fn company_id_makes_the_vendor_url() {
        let client = builder().company_id("acme").build().unwrap();
        assert_eq!(client.base_url(), "https://secure.ontime360.com/sites/acme");
    }

    #[test]
    fn plain_http_is_refused_except_on_loopback() {
        let err = builder()
            .base_url("http://ontime.example.com/sites/acme")
            .build()
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("refusing plain http:// to ontime.example.com"),
            "{err}"
        );
        for ok in [
            "http://127.0.0.1:8080/sites/acme/",
            "http://localhost:1/sites/x",
            "http://[::1]:9/sites/x",
        ] {
            let client = builder()
                .base_url(ok)
                .build()
                .unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert!(!client.base_url().ends_with('/'));
        }
        assert!(builder().base_url("ftp://x/sites/a").build().is_err());
        assert!(
            builder()
                .base_url("https://user:pw@x/sites/a")
                .build()
                .is_err()
        );
    }

    #[test]
    fn missing_or_bad_settings_are_config_errors() {
        assert!(
            matches!(Client::builder().company_id("a").build(), Err(Error::Config(m)) if m.contains("no API key"))
        );
        assert!(matches!(builder().build(), Err(Error::Config(m)) if m.contains("no account")));
        assert!(matches!(
            builder().company_id("a/b").build(),
            Err(Error::Config(_))
        ));
        for bad in [0, MAX_CONCURRENCY + 1, usize::MAX] {
            assert!(matches!(
                builder().company_id("a").concurrency(bad).build(),
                Err(Error::Config(m)) if m.contains("concurrency")
            ));
        }
        assert!(
            builder()
                .company_id("a")
                .concurrency(MAX_CONCURRENCY)
                .build()
                .is_ok()
        );
        for bad in ["https://x/sites/a?key=1", "https://x/sites/a#top"] {
            assert!(
                matches!(builder().base_url(bad).build(), Err(Error::Config(m)) if m.contains("query"))
            );
        }
        let err = Client::builder()
            .company_id("a")
            .api_key("bad\nkey-secret")
            .build()
            .unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
    }

    #[test]
    fn the_key_never_prints() {
        let builder = builder().company_id("acme");
        assert!(!format!("{builder:?}").contains("super-secret"));
        let client = builder.build().unwrap();
        let shown = format!("{client:?}");
        assert!(
            !shown.contains("super-secret") && shown.contains("[redacted]"),
            "{shown}"
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "17".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(17)));
        let later = chrono::Utc::now() + chrono::Duration::seconds(90);
        headers.insert("retry-after", later.to_rfc2822().parse().unwrap());
        let wait = retry_after(&headers).unwrap();
        assert!(
            wait > Duration::from_secs(80) && wait <= Duration::from_secs(90),
            "{wait:?}"
        );
        headers.insert("retry-after", "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn urls_in_logs_hide_passwords_and_the_key() {
        let redactor = Redactor::new("k3y-secret");
        let url = reqwest::Url::parse(
            "http://127.0.0.1:9/sites/a/api/users/authenticate?password=hunter2&userName=dana&x=k3y-secret",
        )
        .unwrap();
        assert_eq!(
            loggable_url(&url, &redactor),
            "http://127.0.0.1:9/sites/a/api/users/authenticate?password=[redacted]&userName=dana&x=[redacted]"
        );
        let plain = reqwest::Url::parse("http://127.0.0.1:9/sites/a/api/orders?status=3").unwrap();
        assert_eq!(loggable_url(&plain, &redactor), plain.as_str());
    }

    #[test]
    fn only_json_bodies_count_as_json() {
        assert!(looks_like_json(
            Some("application/json; charset=utf-8"),
            b"{\"a\": \"x\"}"
        ));
        assert!(looks_like_json(None, b"[1, 2"));
        assert!(
            looks_like_json(Some("application/json"), b""),
            "cut short, not foreign"
        );
        assert!(!looks_like_json(Some("application/json"), b"<html>"));
        assert!(!looks_like_json(Some("text/html"), b"<html>"));
        assert!(!looks_like_json(Some("text/html"), b""));
        assert!(!looks_like_json(Some("text/plain"), b"true story"));
        assert!(looks_like_json(Some("text/plain"), b"[\"a\"]"));
    }

    #[test]
    fn zero_body_limits_are_refused() {
        let err = builder()
            .company_id("a")
            .max_body_bytes(0)
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::Config(m) if m.contains("body limits")));
    }
}
