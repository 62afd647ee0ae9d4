//! Configuring and starting a simulator: [`MockBuilder`] checks the settings, seeds the store,
//! binds the port and hands back a [`RunningMock`].

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use bytes::Bytes;
use chrono::{FixedOffset, NaiveDateTime};
use tokio::sync::watch;
use uuid::Uuid;

use crate::activity::{Activity, ActivityConfig};
use crate::auth::KeySpec;
use crate::clock::MockClock;
use crate::faults::{self, FaultRule};
use crate::quota::{self, DEFAULT_DAILY_QUOTA, DEFAULT_MONTHLY_QUOTA};
use crate::running::RunningMock;
use crate::seed::{self, SeedVersion};
use crate::state::{self, Shared};
use crate::{BodyGauge, MockError, SPEC, ids, log, server};

/// The default of [`MockBuilder::max_body_bytes`]: 32 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// The default of [`MockBuilder::body_budget_bytes`]: 64 MiB.
pub const DEFAULT_BODY_BUDGET_BYTES: usize = 64 * 1024 * 1024;

/// The default of [`MockBuilder::header_read_timeout`]: 30 s.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The default of [`MockBuilder::body_read_timeout`]: 30 s.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Configures and starts a simulator.
#[derive(Clone)]
pub struct MockBuilder {
    seed: u64,
    seed_version: SeedVersion,
    orders: usize,
    company: String,
    api_key: Option<String>,
    customer_key: Option<String>,
    daily_quota: u64,
    monthly_quota: u64,
    faults: Vec<FaultRule>,
    port: u16,
    clock_start: Option<NaiveDateTime>,
    frozen_clock: bool,
    utc_offset: FixedOffset,
    log_capacity: usize,
    response_cache: bool,
    limits: state::Limits,
    clock_speed: f64,
    activity: Option<ActivityConfig>,
}

impl Default for MockBuilder {
    fn default() -> Self {
        Self {
            seed: 42,
            seed_version: SeedVersion::default(),
            orders: 200,
            company: "demo".to_owned(),
            api_key: None,
            customer_key: None,
            daily_quota: DEFAULT_DAILY_QUOTA,
            monthly_quota: DEFAULT_MONTHLY_QUOTA,
            faults: Vec::new(),
            port: 0,
            clock_start: None,
            frozen_clock: false,
            utc_offset: match FixedOffset::west_opt(6 * 3600) {
                Some(offset) => offset,
                None => unreachable!("-06:00 is a valid offset"),
            },
            log_capacity: 100_000,
            response_cache: true,
            limits: state::Limits {
                header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
                body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
                max_body: DEFAULT_MAX_BODY_BYTES,
                body_budget: DEFAULT_BODY_BUDGET_BYTES,
            },
            clock_speed: 1.0,
            activity: None,
        }
    }
}

fn key_from(seed: u64, salt: u64) -> String {
    let hi = ids::hash3(seed, salt, 1);
    let lo = ids::hash3(seed, salt, 2);
    uuid::Builder::from_random_bytes(((u128::from(hi) << 64) | u128::from(lo)).to_be_bytes())
        .into_uuid()
        .to_string()
}

impl MockBuilder {
    /// The seed of the data, the generated keys and the fault decisions.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The version of the seeded data's word lists (default [`SeedVersion::V1`]). A version's
    /// data never changes; tests that snapshot seeded data pin one.
    pub fn seed_version(mut self, version: SeedVersion) -> Self {
        self.seed_version = version;
        self
    }

    /// How many orders to seed.
    pub fn orders(mut self, orders: usize) -> Self {
        self.orders = orders;
        self
    }

    /// The company id in `/sites/{company}`.
    pub fn company(mut self, company: impl Into<String>) -> Self {
        self.company = company.into();
        self
    }

    /// The full-access API key (default: a GUID derived from the seed).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// The customer-scoped API key (default: a GUID derived from the seed).
    pub fn customer_key(mut self, key: impl Into<String>) -> Self {
        self.customer_key = Some(key.into());
        self
    }

    /// Daily quota per key (default 86,400).
    pub fn daily_quota(mut self, quota: u64) -> Self {
        self.daily_quota = quota;
        self
    }

    /// Monthly quota per key (default 100,000).
    pub fn monthly_quota(mut self, quota: u64) -> Self {
        self.monthly_quota = quota;
        self
    }

    /// Adds a fault rule (rules apply in the order added).
    pub fn fault(mut self, rule: FaultRule) -> Self {
        self.faults.push(rule);
        self
    }

    /// The port on 127.0.0.1 (0, the default, picks a free one).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// The clock's start (account-local); default: the real current time. Seeded data is laid
    /// out relative to it, so a fixed start gives byte-identical data for a seed.
    pub fn clock_start(mut self, start: NaiveDateTime) -> Self {
        self.clock_start = Some(start);
        self
    }

    /// Starts the clock frozen: it then moves only when a test moves it
    /// ([`MockClock::advance`], [`MockClock::set`]).
    pub fn frozen_clock(mut self) -> Self {
        self.frozen_clock = true;
        self
    }

    /// How fast the clock runs: `speed` simulated seconds per real second (default 1; 60 makes
    /// a simulated minute pass every real second). More than 0, at most a year per second.
    pub fn clock_speed(mut self, speed: f64) -> Self {
        self.clock_speed = speed;
        self
    }

    /// Makes the account live: orders, drivers, notifications and ground truth (see
    /// [`ActivityConfig`]). With a frozen clock it moves only when stepped
    /// ([`Activity::advance`](crate::Activity::advance)); with a running clock a background
    /// task applies changes as the clock reaches them.
    pub fn activity(mut self, config: ActivityConfig) -> Self {
        self.activity = Some(config);
        self
    }

    /// The account's offset from UTC (default −06:00, US Central standard time).
    pub fn utc_offset(mut self, offset: FixedOffset) -> Self {
        self.utc_offset = offset;
        self
    }

    /// How many requests the request log keeps (the most recent; default 100,000; 0 keeps
    /// none).
    pub fn request_log_capacity(mut self, capacity: usize) -> Self {
        self.log_capacity = capacity;
        self
    }

    /// Whether `GET api/orders/{id}` answers are cached as serialised bytes (default: yes).
    /// Every write empties the cache, so answers are always current; turning it off only
    /// makes each read materialise and serialise the order again.
    pub fn response_cache(mut self, on: bool) -> Self {
        self.response_cache = on;
        self
    }

    /// How long a connection may take to send a request's head before the simulator closes it
    /// (default 30 s; more than zero, at most a day). It also closes keep-alive connections idle for that long. Half-open
    /// and silent connections cannot pile up.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.limits.header_read_timeout = timeout;
        self
    }

    /// How long reading one request body may take once the simulator starts reading it
    /// (default 30 s; more than zero, at most a day); a body that does not arrive in time is answered 408 and the connection
    /// closed, so a stalled upload gives its share of the body budget back.
    pub fn body_read_timeout(mut self, timeout: Duration) -> Self {
        self.limits.body_read_timeout = timeout;
        self
    }

    /// The largest request body accepted, in bytes (default 32 MiB: attachments travel
    /// base64-encoded in JSON). A request that declares a longer `Content-Length` is answered
    /// 413 with a `Fault` body before any of its body is read; a chunked one that grows past
    /// the limit is answered 413 when it does.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.limits.max_body = bytes;
        self
    }

    /// How many bytes of request bodies all connections together may hold (default 64 MiB,
    /// at least [`max_body_bytes`](Self::max_body_bytes), at most 4 GiB). A request reserves
    /// its declared `Content-Length` (the largest body when it declares none) before its body
    /// is read and keeps it until its operation has run; requests that do not fit wait, in
    /// arrival order, so many concurrent uploads cannot hold many times the limit in memory.
    /// [`RunningMock::body_gauge`] shows the reservations.
    pub fn body_budget_bytes(mut self, bytes: usize) -> Self {
        self.limits.body_budget = bytes;
        self
    }

    fn shared(self) -> Result<(Arc<Shared>, String, String, Uuid), MockError> {
        let limits = self.limits;
        const DAY: Duration = Duration::from_secs(24 * 3600);
        for (name, timeout) in [
            ("header read timeout", limits.header_read_timeout),
            ("body read timeout", limits.body_read_timeout),
        ] {
            if timeout.is_zero() || timeout > DAY {
                return Err(MockError::Invalid(format!(
                    "a {name} of {timeout:?} (it must be longer than zero and at most a day)"
                )));
            }
        }
        if limits.max_body > limits.body_budget || u32::try_from(limits.body_budget).is_err() {
            return Err(MockError::Invalid(format!(
                "a body budget of {} bytes with a largest body of {} bytes (the budget must hold \
                 the largest body and be at most 4 GiB)",
                limits.body_budget, limits.max_body
            )));
        }
        if self.company.is_empty() || self.company.contains('/') {
            return Err(MockError::Invalid(format!("company id {:?}", self.company)));
        }
        if self.orders > u32::MAX as usize / 2 {
            return Err(MockError::Invalid(format!("{} orders", self.orders)));
        }
        let clock = match (self.clock_start, self.frozen_clock) {
            (Some(start), true) => MockClock::frozen(start, self.utc_offset),
            (Some(start), false) => MockClock::new(start, self.utc_offset),
            (None, frozen) => {
                let clock = MockClock::real(self.utc_offset);
                if frozen {
                    clock.freeze();
                }
                clock
            }
        };
        clock.set_speed(self.clock_speed)?;
        if let Some(activity) = &self.activity {
            activity.validate()?;
        }
        // The configured start, not the running clock's reading a moment later (which a fast
        // clock would have moved on by seconds): same seed and start, same data.
        let anchor = self.clock_start.unwrap_or_else(|| clock.now());
        let store = seed::build(self.seed, self.seed_version, self.orders, anchor);
        let scoped_customer = store.customers.keys().next().copied().unwrap_or_default();
        let api_key = self.api_key.unwrap_or_else(|| key_from(self.seed, 1));
        let customer_key = self.customer_key.unwrap_or_else(|| key_from(self.seed, 2));
        let mut keys = HashMap::new();
        keys.insert(
            api_key.clone(),
            Arc::new(KeySpec::full().with_key(api_key.clone())),
        );
        keys.insert(
            customer_key.clone(),
            Arc::new(KeySpec::customer(scoped_customer).with_key(customer_key.clone())),
        );
        let active = !self.faults.is_empty();
        let shared = Arc::new(Shared {
            store: RwLock::new(store),
            keys: RwLock::new(keys),
            quotas: Mutex::new(quota::Quotas::default()),
            faults: Mutex::new(faults::FaultEngine::new(self.seed, self.faults)),
            faults_active: AtomicBool::new(active),
            log: Mutex::new(log::RequestLog::new(self.log_capacity)),
            clock,
            company: self.company,
            daily_quota: self.daily_quota,
            monthly_quota: self.monthly_quota,
            spec: OnceLock::new(),
            order_cache: self.response_cache.then(|| RwLock::new(HashMap::new())),
            limits,
            body_budget: tokio::sync::Semaphore::new(limits.body_budget),
            body_gauge: watch::Sender::new(BodyGauge::default()),
        });
        Ok((shared, api_key, customer_key, scoped_customer))
    }

    /// Seeds the data, binds 127.0.0.1 and starts serving on the current tokio runtime.
    pub async fn start(self) -> Result<RunningMock, MockError> {
        let port = self.port;
        let (seed, activity, clock_start) = (self.seed, self.activity.clone(), self.clock_start);
        let (shared, api_key, customer_key, scoped_customer) = self.shared()?;
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .await
            .map_err(|source| MockError::Bind { port, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| MockError::Bind { port, source })?;
        let base_url = format!("http://{addr}/sites/{}", shared.company);
        let _ = shared.spec.set(Bytes::from(spec_for(&base_url)));
        let (tx, rx) = watch::channel(false);
        let activity = activity
            .map(|config| {
                Activity::start(shared.clone(), config, seed, clock_start, tx.subscribe())
            })
            .transpose()?;
        let router = server::router(shared.clone());
        let task = tokio::spawn(server::serve(
            listener,
            router,
            rx,
            shared.limits.header_read_timeout,
        ));
        Ok(RunningMock {
            shared,
            addr,
            api_key,
            customer_key,
            scoped_customer,
            shutdown: tx,
            task: Some(task),
            activity,
        })
    }
}

/// The spec with its `servers` pointing at `base_url`.
fn spec_for(base_url: &str) -> Vec<u8> {
    match serde_json::from_str::<serde_json::Value>(SPEC) {
        Ok(mut spec) => {
            spec["servers"] = serde_json::json!([{
                "url": base_url,
                "description": "ontime-mock, the OnTime 360 simulator"
            }]);
            serde_json::to_vec_pretty(&spec).unwrap_or_else(|_| SPEC.as_bytes().to_vec())
        }
        Err(_) => SPEC.as_bytes().to_vec(),
    }
}

/// The keys are redacted: they are secrets.
impl std::fmt::Debug for MockBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |key: &Option<String>| key.as_ref().map(|_| "[redacted]");
        f.debug_struct("MockBuilder")
            .field("seed", &self.seed)
            .field("seed_version", &self.seed_version)
            .field("orders", &self.orders)
            .field("company", &self.company)
            .field("api_key", &redacted(&self.api_key))
            .field("customer_key", &redacted(&self.customer_key))
            .field("daily_quota", &self.daily_quota)
            .field("monthly_quota", &self.monthly_quota)
            .field("faults", &self.faults)
            .field("port", &self.port)
            .field("clock_start", &self.clock_start)
            .field("frozen_clock", &self.frozen_clock)
            .field("utc_offset", &self.utc_offset)
            .field("log_capacity", &self.log_capacity)
            .field("response_cache", &self.response_cache)
            .field("limits", &self.limits)
            .field("clock_speed", &self.clock_speed)
            .field("activity", &self.activity)
            .finish()
    }
}
