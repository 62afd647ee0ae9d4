//! [`Dispatcher`]: moves one destination's outbox into its [`Sink`].
//!
//! A [step](Dispatcher::step) at `now`:
//!
//! 1. claims up to `concurrency` due deliveries of the destination for `claim_ttl`
//!    ([`DeliveryStore::claim_deliveries`]); *ordered* (the default, what webhooks need) takes
//!    only the oldest waiting event of each subject, so an order's later event never overtakes
//!    an earlier one however the concurrent sends finish;
//! 2. completes without sending the events the destination does not want (its
//!    [`EventFilter`], its accounts);
//! 3. renders the others ([`Render`]: the destination's redaction policy) and hands them to the
//!    sink as one batch (a webhook sink sends them concurrently);
//! 4. records each [`Outcome`]: delivered → completed; retry → due again when the
//!    [`RetrySchedule`] says (`Retry-After` honoured), or dead-lettered after the last attempt;
//!    gone → the destination is disabled (its deliveries stay queued, the one that got the
//!    answer included: it is due again at once when the destination is enabled);
//! 5. after a failure, checks (at most once a minute) whether the destination has failed
//!    without a single success for longer than `disable_after`, and disables it if so.
//!
//! [`run`](Dispatcher::run) repeats steps: at once while batches come back full, else after
//! `idle_wait` or when [woken](Dispatcher::waker) (a collector that committed new events calls
//! `notify_one`), until its shutdown future resolves. A step is never cut short: every claim it
//! took is recorded before `run` returns.
//!
//! **Claims.** `claim_ttl` must outlast a step: the sends (each bounded by the sink's request
//! timeout) and the bookkeeping. [`claim_ttl_for`] gives twice the timeout plus 30 s. A
//! dispatcher killed mid-step leaves its claims to expire; another dispatcher then sends them
//! again (at-least-once: the receiver deduplicates by `webhook-id`).
//!
//! **Logs.** Per delivery at debug: destination, event id, position, attempt, outcome, and a
//! failure's reason (never the body, a secret or personal data). Disabling is logged at warn.
//! Counters for a caller: [`DispatchMetrics`].

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, TimeDelta, Utc};
use futures::future::{Either, join_all, select};
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::sync::Notify;

use super::schedule::{Next, RetrySchedule};
use super::{Delivery, Outcome, Sink};
use crate::collect::Clock;
use crate::event::{Event, EventType};
use crate::store::StoreError;
use crate::store::outbox::{Claim, DeliveryStore};

/// Turns a stored event into the bytes a destination receives (the destination's redaction
/// policy applied): a [`Redactor`](crate::policy::Redactor) is one, and so is any
/// `Fn(&Event) -> Vec<u8>`.
pub trait Render: Send + Sync {
    /// The body for `event`.
    fn render(&self, event: &Event) -> Vec<u8>;
}

impl<F> Render for F
where
    F: Fn(&Event) -> Vec<u8> + Send + Sync,
{
    fn render(&self, event: &Event) -> Vec<u8> {
        self(event)
    }
}

/// A destination's redactor renders its bodies: the policy applied, then compact JSON.
impl Render for crate::policy::Redactor {
    fn render(&self, event: &Event) -> Vec<u8> {
        self.to_body(event)
    }
}

/// Which event types a destination receives: exact names (`order.delivered`), prefixes
/// (`order.*`: every type starting with `order.`), or everything (`*`, and the empty filter).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventFilter {
    patterns: Vec<Pattern>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Pattern {
    All,
    Exact(EventType),
    Prefix(String),
}

/// Why an event-type pattern was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FilterError {
    /// Not a known event type.
    #[error("unknown event type {0:?} (a dotted name like \"order.delivered\", or \"order.*\")")]
    UnknownType(String),
    /// A prefix that no event type starts with.
    #[error("no event type matches {0:?}")]
    MatchesNothing(String),
}

impl EventFilter {
    /// Every event.
    pub fn all() -> Self {
        Self::default()
    }

    /// A filter from patterns; each must name a known type or match at least one.
    pub fn parse<S: AsRef<str>>(patterns: &[S]) -> Result<Self, FilterError> {
        let patterns = patterns
            .iter()
            .map(|p| {
                let p = p.as_ref().trim();
                if p == "*" {
                    return Ok(Pattern::All);
                }
                if let Some(stem) = p.strip_suffix('*') {
                    if !EventType::ALL.iter().any(|t| t.as_str().starts_with(stem)) {
                        return Err(FilterError::MatchesNothing(p.to_owned()));
                    }
                    return Ok(Pattern::Prefix(stem.to_owned()));
                }
                p.parse::<EventType>()
                    .map(Pattern::Exact)
                    .map_err(|_| FilterError::UnknownType(p.to_owned()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { patterns })
    }

    /// Whether `event_type` passes.
    pub fn matches(&self, event_type: EventType) -> bool {
        self.patterns.is_empty()
            || self.patterns.iter().any(|p| match p {
                Pattern::All => true,
                Pattern::Exact(t) => *t == event_type,
                Pattern::Prefix(stem) => event_type.as_str().starts_with(stem.as_str()),
            })
    }
}

/// The default number of deliveries in flight.
pub const DEFAULT_CONCURRENCY: u32 = 32;

/// The default time without a success after which a destination is disabled (Svix's 5 days).
pub const DEFAULT_DISABLE_AFTER: Duration = Duration::from_secs(5 * 24 * 3600);

/// A claim TTL that outlasts a step whose requests time out after `request_timeout`: twice
/// that plus 30 s for the bookkeeping.
pub fn claim_ttl_for(request_timeout: Duration) -> Duration {
    request_timeout * 2 + Duration::from_secs(30)
}

/// How a [`Dispatcher`] works one destination.
#[derive(Clone, Debug, PartialEq)]
pub struct DispatchSettings {
    /// The destination (its name in the outbox).
    pub destination: String,
    /// This dispatcher's name in claims.
    pub worker: String,
    /// Deliveries claimed (and in flight) per step (default 32).
    pub concurrency: u32,
    /// Whether claims keep per-subject order (default `true`).
    pub ordered: bool,
    /// How long a claim lasts (default [`claim_ttl_for`] the default request timeout).
    pub claim_ttl: Duration,
    /// When to retry, when to give up.
    pub schedule: RetrySchedule,
    /// Disable the destination after failing this long without a success (default 5 days;
    /// `None`: never).
    pub disable_after: Option<Duration>,
    /// The event types it receives.
    pub event_types: EventFilter,
    /// The accounts whose events it receives (`None`: all).
    pub accounts: Option<BTreeSet<String>>,
    /// How long [`Dispatcher::run`] waits for new work after a step that found little.
    pub idle_wait: Duration,
}

impl DispatchSettings {
    /// The defaults for `destination`, claimed as `worker`.
    pub fn new(destination: impl Into<String>, worker: impl Into<String>) -> Self {
        Self {
            destination: destination.into(),
            worker: worker.into(),
            concurrency: DEFAULT_CONCURRENCY,
            ordered: true,
            claim_ttl: claim_ttl_for(super::webhook::DEFAULT_TIMEOUT),
            schedule: RetrySchedule::default(),
            disable_after: Some(DEFAULT_DISABLE_AFTER),
            event_types: EventFilter::all(),
            accounts: None,
            idle_wait: Duration::from_secs(1),
        }
    }

    fn wants(&self, event: &Event) -> bool {
        self.event_types.matches(event.event_type)
            && self
                .accounts
                .as_ref()
                .is_none_or(|accounts| accounts.contains(&event.account))
    }
}

/// Counters a caller can read (and export): deliveries by what became of them.
#[derive(Debug, Default)]
pub struct DispatchMetrics {
    /// Accepted by the destination.
    pub delivered: AtomicU64,
    /// Failed, due again later.
    pub retried: AtomicU64,
    /// Failed on their last attempt: dead-lettered.
    pub dead: AtomicU64,
    /// Completed without sending (the destination's filter excludes them).
    pub skipped: AtomicU64,
    /// Times the destination was disabled (410, a refused target, failing too long).
    pub disabled: AtomicU64,
}

impl DispatchMetrics {
    /// The counters now: (delivered, retried, dead, skipped, disabled).
    pub fn counts(&self) -> DispatchCounts {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        DispatchCounts {
            delivered: get(&self.delivered),
            retried: get(&self.retried),
            dead: get(&self.dead),
            skipped: get(&self.skipped),
            disabled: get(&self.disabled),
        }
    }
}

/// A reading of [`DispatchMetrics`], or what one step did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DispatchCounts {
    /// See [`DispatchMetrics::delivered`].
    pub delivered: u64,
    /// See [`DispatchMetrics::retried`].
    pub retried: u64,
    /// See [`DispatchMetrics::dead`].
    pub dead: u64,
    /// See [`DispatchMetrics::skipped`].
    pub skipped: u64,
    /// See [`DispatchMetrics::disabled`].
    pub disabled: u64,
}

/// What one [`Dispatcher::step`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StepReport {
    /// Deliveries claimed.
    pub claimed: usize,
    /// What became of them (and whether the destination was disabled).
    pub counts: DispatchCounts,
    /// Why the destination was disabled in this step, if it was.
    pub disabled: Option<String>,
}

/// What the dispatcher decided for one claim.
enum Decision {
    Complete,
    Retry(DateTime<Utc>, String),
    Dead(String),
}

/// How often the "failing too long" check reads the destination's health, at most.
const HEALTH_CHECK_EVERY: TimeDelta = TimeDelta::minutes(1);

/// One destination's dispatcher (see the [module documentation](self)).
pub struct Dispatcher<S, K> {
    store: S,
    sink: K,
    render: Arc<dyn Render>,
    settings: DispatchSettings,
    metrics: Arc<DispatchMetrics>,
    rng: StdRng,
    wake: Arc<Notify>,
    last_health_check: Option<DateTime<Utc>>,
}

impl<S, K> std::fmt::Debug for Dispatcher<S, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl<S: DeliveryStore, K: Sink> Dispatcher<S, K> {
    /// A dispatcher of `settings.destination` from `store` into `sink`, rendering with
    /// `render`. Its jitter draws from entropy ([`with_seed`](Self::with_seed) for tests).
    pub fn new(
        store: S,
        sink: K,
        render: impl Render + 'static,
        settings: DispatchSettings,
    ) -> Self {
        Self {
            store,
            sink,
            render: Arc::new(render),
            settings,
            metrics: Arc::default(),
            rng: StdRng::from_os_rng(),
            wake: Arc::default(),
            last_health_check: None,
        }
    }

    /// Seeds the jitter's random source (reproducible schedules in tests).
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.rng = StdRng::seed_from_u64(seed);
        self
    }

    /// Counts into `metrics` (shared with others, e.g. an exporter) instead of its own.
    pub fn with_metrics(mut self, metrics: Arc<DispatchMetrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// The counters.
    pub fn metrics(&self) -> Arc<DispatchMetrics> {
        self.metrics.clone()
    }

    /// Wakes a [`run`](Self::run) waiting for work: `notify_one()` after committing events for
    /// this destination (a wake-up given while it is busy is kept for its next wait).
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// The settings.
    pub fn settings(&self) -> &DispatchSettings {
        &self.settings
    }

    /// The sink.
    pub fn sink(&self) -> &K {
        &self.sink
    }

    /// One step at `now` (see the [module documentation](self)). A store failure while
    /// recording outcomes does not stop the others from being recorded; the first is
    /// returned (the claims it concerned expire and are sent again).
    pub async fn step(&mut self, now: DateTime<Utc>) -> Result<StepReport, StoreError> {
        let settings = &self.settings;
        let destination = settings.destination.as_str();
        let ttl = TimeDelta::from_std(settings.claim_ttl).unwrap_or(TimeDelta::minutes(1));
        let claims = self
            .store
            .claim_deliveries(
                destination,
                &settings.worker,
                settings.concurrency.max(1),
                settings.ordered,
                ttl,
                now,
            )
            .await?;
        let mut report = StepReport {
            claimed: claims.len(),
            ..StepReport::default()
        };
        if claims.is_empty() {
            return Ok(report);
        }
        let (wanted, unwanted): (Vec<Claim>, Vec<Claim>) = claims
            .into_iter()
            .partition(|c| settings.wants(&c.stored.event));
        let deliveries: Vec<Delivery> = wanted
            .iter()
            .map(|claim| Delivery {
                destination: destination.to_owned(),
                position: claim.position(),
                event: claim.stored.event.clone(),
                body: Bytes::from(self.render.render(&claim.stored.event)),
                attempt: claim.attempts,
            })
            .collect();
        let mut outcomes = if deliveries.is_empty() {
            Vec::new()
        } else {
            self.sink.send(deliveries).await
        };
        // A sink that answered for fewer deliveries than it got: the rest failed.
        outcomes.resize(
            wanted.len(),
            Outcome::Retry {
                after: None,
                reason: "the sink reported no outcome".to_owned(),
            },
        );

        let mut gone = None;
        let mut decisions = Vec::with_capacity(wanted.len() + unwanted.len());
        for claim in &unwanted {
            log(claim, "skipped", None);
            report.counts.skipped += 1;
            decisions.push((claim, Decision::Complete));
        }
        for (claim, outcome) in wanted.iter().zip(outcomes) {
            let decision = match outcome {
                Outcome::Delivered => {
                    log(claim, "delivered", None);
                    report.counts.delivered += 1;
                    Decision::Complete
                }
                Outcome::Retry { after, reason } => {
                    let attempts = claim.attempts.saturating_add(1);
                    match settings.schedule.next(attempts, after, now, &mut self.rng) {
                        Next::At(at) => {
                            log(claim, "retry", Some(&reason));
                            report.counts.retried += 1;
                            Decision::Retry(at, reason)
                        }
                        Next::Dead => {
                            log(claim, "dead", Some(&reason));
                            report.counts.dead += 1;
                            Decision::Dead(reason)
                        }
                    }
                }
                Outcome::Gone { reason } => {
                    log(claim, "gone", Some(&reason));
                    report.counts.retried += 1;
                    gone.get_or_insert_with(|| reason.clone());
                    Decision::Retry(now, reason)
                }
            };
            decisions.push((claim, decision));
        }

        // Completions in one call (one transaction on the store), failures side by side.
        let store = &self.store;
        let completed: Vec<Claim> = decisions
            .iter()
            .filter(|(_, d)| matches!(d, Decision::Complete))
            .map(|(claim, _)| (*claim).clone())
            .collect();
        let completing = async {
            if completed.is_empty() {
                Ok(())
            } else {
                store.complete_deliveries(&completed, now).await
            }
        };
        let failing = join_all(
            decisions
                .iter()
                .filter_map(|(claim, decision)| match decision {
                    Decision::Complete => None,
                    Decision::Retry(at, reason) => {
                        Some(Either::Left(store.retry_delivery(claim, *at, reason, now)))
                    }
                    Decision::Dead(reason) => {
                        Some(Either::Right(store.dead_letter(claim, reason, now)))
                    }
                }),
        );
        let (completed, failed) = futures::join!(completing, failing);
        let first_error = std::iter::once(completed)
            .chain(failed)
            .find_map(Result::err);

        let failed = report.counts.retried + report.counts.dead > 0;
        if let Some(reason) = gone {
            self.disable(&reason, now, &mut report).await?;
        } else if failed {
            self.disable_if_failing_too_long(now, &mut report).await?;
        }
        let m = &self.metrics;
        m.delivered
            .fetch_add(report.counts.delivered, Ordering::Relaxed);
        m.retried
            .fetch_add(report.counts.retried, Ordering::Relaxed);
        m.dead.fetch_add(report.counts.dead, Ordering::Relaxed);
        m.skipped
            .fetch_add(report.counts.skipped, Ordering::Relaxed);
        match first_error {
            Some(error) => Err(error),
            None => Ok(report),
        }
    }

    async fn disable(
        &mut self,
        reason: &str,
        now: DateTime<Utc>,
        report: &mut StepReport,
    ) -> Result<(), StoreError> {
        let destination = &self.settings.destination;
        self.store
            .disable_destination(destination, reason, now)
            .await?;
        tracing::warn!(%destination, %reason, "destination disabled; its deliveries stay queued until it is enabled");
        self.metrics.disabled.fetch_add(1, Ordering::Relaxed);
        report.counts.disabled += 1;
        report.disabled = Some(reason.to_owned());
        Ok(())
    }

    async fn disable_if_failing_too_long(
        &mut self,
        now: DateTime<Utc>,
        report: &mut StepReport,
    ) -> Result<(), StoreError> {
        let Some(limit) = self.settings.disable_after else {
            return Ok(());
        };
        if self
            .last_health_check
            .is_some_and(|at| now - at < HEALTH_CHECK_EVERY)
        {
            return Ok(());
        }
        self.last_health_check = Some(now);
        let limit_delta = TimeDelta::from_std(limit).unwrap_or(TimeDelta::MAX);
        let health = self.store.destination_health().await?;
        let Some(ours) = health
            .iter()
            .find(|h| h.destination == self.settings.destination)
        else {
            return Ok(());
        };
        let Some(since) = ours.failing_since else {
            return Ok(());
        };
        if ours.disabled.is_some() || now - since <= limit_delta {
            return Ok(());
        }
        let reason = format!(
            "no successful delivery since {} (failing longer than {}); last error: {}",
            since.to_rfc3339(),
            humanize(limit),
            ours.last_error.as_deref().unwrap_or("unknown"),
        );
        self.disable(&reason, now, report).await
    }

    /// Steps until `shutdown` resolves, with `clock` giving the time (see the [module
    /// documentation](self)). A store failure is logged and retried after `idle_wait`.
    pub async fn run<C: Clock>(mut self, clock: C, shutdown: impl Future<Output = ()>) {
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let now = clock.now();
            let busy = match self.step(now).await {
                Ok(report) => report.claimed >= self.settings.concurrency as usize,
                Err(error) => {
                    tracing::warn!(destination = %self.settings.destination, %error, "dispatch step failed");
                    false
                }
            };
            if busy {
                // Straight on, unless asked to stop.
                if futures::poll!(shutdown.as_mut()).is_ready() {
                    break;
                }
                continue;
            }
            let idle =
                TimeDelta::from_std(self.settings.idle_wait).unwrap_or(TimeDelta::seconds(1));
            let wait = std::pin::pin!(clock.sleep_until(now + idle));
            let woken = std::pin::pin!(self.wake.notified());
            if let Either::Left(_) = select(shutdown.as_mut(), select(wait, woken)).await {
                break;
            }
        }
    }
}

fn log(claim: &Claim, outcome: &'static str, reason: Option<&str>) {
    tracing::debug!(
        destination = %claim.destination,
        event_id = %claim.stored.event.event_id,
        position = claim.position(),
        attempt = claim.attempts.saturating_add(1),
        outcome,
        reason = reason.unwrap_or(""),
        "delivery"
    );
}

fn humanize(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        s if s % 86_400 == 0 && s > 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 && s > 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 && s > 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters() {
        let all = EventFilter::all();
        assert!(EventType::ALL.iter().all(|t| all.matches(*t)));
        let f = EventFilter::parse(&["order.*", "driver.position"]).unwrap();
        assert!(f.matches(EventType::OrderDelivered));
        assert!(f.matches(EventType::OrderCreated));
        assert!(f.matches(EventType::DriverPosition));
        assert!(!f.matches(EventType::DriverAvailabilityChanged));
        assert!(!f.matches(EventType::ItemCustodyChanged));
        let star = EventFilter::parse(&["*"]).unwrap();
        assert!(star.matches(EventType::ItemCustodyChanged));
        assert_eq!(
            EventFilter::parse(&["order.deliverd"]),
            Err(FilterError::UnknownType("order.deliverd".into()))
        );
        assert_eq!(
            EventFilter::parse(&["parcel.*"]),
            Err(FilterError::MatchesNothing("parcel.*".into()))
        );
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(humanize(DEFAULT_DISABLE_AFTER), "5d");
        assert_eq!(humanize(Duration::from_secs(7200)), "2h");
        assert_eq!(humanize(Duration::from_secs(90)), "90s");
        assert_eq!(
            claim_ttl_for(Duration::from_secs(15)),
            Duration::from_secs(60)
        );
    }
}
