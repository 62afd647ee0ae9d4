//! The client handle; its builder (`builder`) and the one place every HTTP call goes through
//! (`transport`: limits, retries, timeouts, tracing, quota bookkeeping, error mapping).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use ontime_raw::types::Fault;
use tokio::sync::Semaphore;

use crate::error::Redactor;
use crate::quota::{Quota, QuotaTracker};
use crate::retry::{RetryHook, RetryPolicy};
use crate::{Error, Result};

mod builder;
mod transport;

pub use builder::ClientBuilder;
pub(crate) use builder::DefaultAccount;
pub use transport::CallEvent;

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
}
