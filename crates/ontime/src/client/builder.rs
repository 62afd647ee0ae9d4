//! [`ClientBuilder`]: the settings of a [`Client`], checked (base URL, key, limits) when built.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use ontime_raw::Hooks;
use ontime_raw::hooks::BodyLimits;
use tokio::sync::Semaphore;

use crate::error::Redactor;
use crate::quota::QuotaTracker;
use crate::retry::{RetryEvent, RetryHook, RetryPolicy};
use crate::{ConfigErrorKind, Error, Result};

use super::transport::{CallEvent, CallHook, CallObserver};
use super::{ApiKey, AuthScheme, Client, DEFAULT_HOST, Inner, MAX_CONCURRENCY};

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
    on_call: Option<CallHook>,
    mask_ids_in_logs: bool,
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
            on_call: None,
            mask_ids_in_logs: false,
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
    /// [`DEFAULT_MAX_BODY_BYTES`](crate::DEFAULT_MAX_BODY_BYTES), 64 MiB). A larger one fails with [`Error::BodyTooLarge`]:
    /// before any of it is read when the server announces its size (`Content-Length`), else as
    /// soon as the running total passes the limit, so memory stays bounded by the limit.
    pub fn max_body_bytes(mut self, bytes: u64) -> Self {
        self.limits.success = bytes;
        self
    }

    /// How much of an error answer's body the client reads (default
    /// [`DEFAULT_MAX_ERROR_BODY_BYTES`](crate::DEFAULT_MAX_ERROR_BODY_BYTES), 64 KiB); the rest is not read. Only the first 500
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

    /// Calls `callback` after every HTTP exchange with OnTime (each attempt of a retried call),
    /// with the operation, the status (or `None` when no response came) and the time it took:
    /// for metrics by operation. Keep it quick; it runs on the request's task.
    ///
    /// ```
    /// # use std::sync::{Arc, Mutex};
    /// # use std::collections::BTreeMap;
    /// let calls = Arc::new(Mutex::new(BTreeMap::<&'static str, u64>::new()));
    /// let seen = calls.clone();
    /// let client = ontime::Client::builder()
    ///     .company_id("acme")
    ///     .api_key("key")
    ///     .on_call(move |call| *seen.lock().unwrap().entry(call.operation.id()).or_default() += 1)
    ///     .build();
    /// # assert!(client.is_ok());
    /// ```
    pub fn on_call(mut self, callback: impl Fn(&CallEvent) + Send + Sync + 'static) -> Self {
        self.on_call = Some(CallHook(Arc::new(callback)));
        self
    }

    /// Writes record IDs (GUIDs in paths and queries: orders, users, customers) as `{id}` in the
    /// DEBUG request lines (target `ontime::http`). For processes whose logs must carry no
    /// identifiers of people, such as a driver's user ID (the `ontime sync run` daemon sets it);
    /// off by default, since the IDs are what one looks for when debugging a call.
    pub fn mask_ids_in_logs(mut self, mask: bool) -> Self {
        self.mask_ids_in_logs = mask;
        self
    }

    /// Checks the configuration and builds the client.
    pub fn build(self) -> Result<Client> {
        let account = match (&self.base_url, &self.company_id, &self.default_account) {
            (None, None, Some(DefaultAccount::BaseUrl(url))) => (Some(url), None),
            (None, None, Some(DefaultAccount::CompanyId(company))) => (None, Some(company)),
            (None, None, Some(DefaultAccount::Refused(message))) => {
                return Err(Error::config(
                    ConfigErrorKind::AmbiguousAccount,
                    message.clone(),
                ));
            }
            (url, company, _) => (url.as_ref(), company.as_ref()),
        };
        let base_url = match account {
            (Some(url), _) => validate_base_url(url)?,
            (None, Some(company)) => {
                let company = company.trim();
                if company.is_empty() || company.contains(['/', '?', '#', ' ']) {
                    return Err(Error::config(
                        ConfigErrorKind::InvalidCompanyId,
                        format!(
                            "company id {company:?} is not valid: use the id from the account's web portal URL"
                        ),
                    ));
                }
                format!("{DEFAULT_HOST}{company}")
            }
            (None, None) => {
                return Err(Error::config(
                    ConfigErrorKind::MissingAccount,
                    "no account given: set company_id(..) or base_url(..) (or ONTIME_COMPANY_ID / ONTIME_BASE_URL)",
                ));
            }
        };
        let key = match &self.api_key {
            Some(ApiKey(key)) if !key.trim().is_empty() => key.trim(),
            _ => {
                return Err(Error::config(
                    ConfigErrorKind::MissingApiKey,
                    "no API key given: set api_key(..) (or ONTIME_API_KEY)",
                ));
            }
        };
        let header_value = match self.auth_scheme {
            AuthScheme::Raw => key.to_string(),
            AuthScheme::Bearer => format!("Bearer {key}"),
        };
        if !(1..=MAX_CONCURRENCY).contains(&self.concurrency) {
            return Err(Error::config(
                ConfigErrorKind::InvalidLimit,
                format!(
                    "concurrency must be between 1 and {MAX_CONCURRENCY}, not {}",
                    self.concurrency
                ),
            ));
        }
        if self.request_timeout.is_zero() {
            return Err(Error::config(
                ConfigErrorKind::InvalidLimit,
                "the request timeout must be longer than zero",
            ));
        }
        if self.limits.success == 0 || self.limits.error == 0 {
            return Err(Error::config(
                ConfigErrorKind::InvalidLimit,
                "the response body limits must be larger than zero",
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
                .map_err(|e| {
                    Error::config(
                        ConfigErrorKind::HttpClient,
                        format!("could not create the HTTP client: {e}"),
                    )
                })?,
        };
        let quota = Arc::new(QuotaTracker::default());
        let redactor = Redactor::new(key);
        let hooks = Hooks::new()
            .body_limits(self.limits)
            .authorization_value(&header_value)
            .map_err(|_| {
                Error::config(
                    ConfigErrorKind::InvalidApiKey,
                    "the API key contains characters not allowed in an HTTP header",
                )
            })?
            .observer(Arc::new(CallObserver {
                quota: quota.clone(),
                redactor: redactor.clone(),
                on_call: self.on_call,
                mask_ids: self.mask_ids_in_logs,
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
    let parsed = reqwest::Url::parse(trimmed).map_err(|e| {
        Error::config(
            ConfigErrorKind::InvalidBaseUrl,
            format!("base URL {trimmed:?} is not a URL: {e}"),
        )
    })?;
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
                return Err(Error::config(
                    ConfigErrorKind::InsecureBaseUrl,
                    format!(
                        "refusing plain http:// to {}: the API key would travel unencrypted; use https:// \
                     (http:// is allowed only for loopback addresses such as 127.0.0.1)",
                        parsed.host_str().unwrap_or("?")
                    ),
                ));
            }
        }
        other => {
            return Err(Error::config(
                ConfigErrorKind::InvalidBaseUrl,
                format!("base URL scheme {other:?} is not supported; use https://"),
            ));
        }
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(Error::config(
            ConfigErrorKind::InvalidBaseUrl,
            format!(
                "base URL {trimmed:?} must not have a query string or fragment: give the account's \
             URL, such as https://secure.ontime360.com/sites/my-company"
            ),
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::config(
            ConfigErrorKind::InvalidBaseUrl,
            "the base URL must not contain credentials",
        ));
    }
    Ok(trimmed.to_string())
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
        assert!(matches!(
            err,
            Error::Config {
                kind: ConfigErrorKind::InsecureBaseUrl,
                ..
            }
        ));
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
        for bad in ["ftp://x/sites/a", "https://user:pw@x/sites/a", "not a url"] {
            assert!(
                matches!(
                    builder().base_url(bad).build(),
                    Err(Error::Config {
                        kind: ConfigErrorKind::InvalidBaseUrl,
                        ..
                    })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn missing_or_bad_settings_are_config_errors() {
        assert!(
            matches!(Client::builder().company_id("a").build(), Err(Error::Config { kind: ConfigErrorKind::MissingApiKey, message: m }) if m.contains("no API key"))
        );
        assert!(
            matches!(builder().build(), Err(Error::Config { kind: ConfigErrorKind::MissingAccount, message: m }) if m.contains("no account"))
        );
        assert!(matches!(
            builder().company_id("a/b").build(),
            Err(Error::Config {
                kind: ConfigErrorKind::InvalidCompanyId,
                ..
            })
        ));
        for bad in [0, MAX_CONCURRENCY + 1, usize::MAX] {
            assert!(matches!(
                builder().company_id("a").concurrency(bad).build(),
                Err(Error::Config { kind: ConfigErrorKind::InvalidLimit, message: m }) if m.contains("concurrency")
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
                matches!(builder().base_url(bad).build(), Err(Error::Config { kind: ConfigErrorKind::InvalidBaseUrl, message: m }) if m.contains("query"))
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
    fn zero_body_limits_are_refused() {
        let err = builder()
            .company_id("a")
            .max_body_bytes(0)
            .build()
            .unwrap_err();
        assert!(
            matches!(err, Error::Config { kind: ConfigErrorKind::InvalidLimit, message: m } if m.contains("body limits"))
        );
    }
}
