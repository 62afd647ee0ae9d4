//! A simulated stretch of an OnTime account (the simulator's activity, step mode) with an
//! `ontime-sync` [`AccountRunner`] ticking along at the simulated time, and the comparison of
//! what the runner stored with the simulator's ground truth.
//!
//! Used by the `sync_day` benchmark and, compiled into its test binary with `#[path]`, by
//! `ontime-sync`'s recall tests (one harness, so the test and the benchmark measure the same
//! thing). It depends only on crates both have.
//!
//! The account runs at UTC+00:00 (the simulator's offset and the account's time zone), so the
//! simulator's local times are UTC and a simulated day fits between two quota resets.
//!
//! A run: the simulator starts with its activity (the given orders, rate and seed), its
//! workflow notifications sent to an inbound endpoint served on 127.0.0.1 (axum) when the
//! inbound source is on. Then, until the activity has finished and a drain period has passed:
//! the next tick time is the runner's [`AccountRunner::next_due`], but at least one step after
//! the last tick; the activity is advanced to it (every change due applied at its own time,
//! notifications delivered), then the runner ticks there. Every event stored is remembered with
//! the tick that stored it (the lag of a change is that tick's time minus the change's).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeDelta, Utc};
use ontime_mock::{
    ActivityConfig, Change, NotifyConfig, OnTimeMock, RunningMock, Step, TruthChange,
};
use ontime_sync::collect::Clock;
use ontime_sync::collect::inbound::{Inbound, InboundConfig, InboundToken};
use ontime_sync::config::{AccountSettings, Secrets, SourceKind, SyncConfig};
use ontime_sync::event::{EventType, TimePrecision};
use ontime_sync::run::account::StepReport;
use ontime_sync::run::{AccountRunner, Metrics};
use ontime_sync::store::{EventQuery, EventStore, Store, StoredEvent};

/// Any error of a run (set-up, the simulator, the store, the runner).
pub type SimError = Box<dyn std::error::Error + Send + Sync>;

/// The account's name in the store.
pub const ACCOUNT: &str = "sim";
const INBOUND_TOKEN: &str = "sim-inbound-token-0123456789";
const KEY_ENV: &str = "SIM_KEY";
const TOKEN_ENV: &str = "SIM_TOKEN";
/// Requests the simulator's log keeps (the 429s are counted from it): more than a day's budget.
const REQUEST_LOG: usize = 400_000;

/// What to simulate and how the runner is set up.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Orders the activity creates.
    pub orders: usize,
    /// Orders created per simulated hour.
    pub rate: f64,
    /// The activity's seed.
    pub seed: u64,
    /// The runner's sources.
    pub sources: BTreeSet<SourceKind>,
    /// The daily budget: the plan's daily cap (share 1.0) and the simulator's daily quota.
    pub daily_budget: u64,
    /// The plan's burst (`None`: the plan's default).
    pub burst: Option<u64>,
    /// When the activity starts (UTC).
    pub start: NaiveDateTime,
    /// The least time between two ticks.
    pub step: TimeDelta,
    /// How long the runner goes on after the activity finished.
    pub drain: TimeDelta,
    /// How often drivers report positions (the simulator) and how often the runner reads them.
    pub position_interval: TimeDelta,
}

impl Scenario {
    /// `orders` orders at `rate` an hour from 2026-01-15 06:00 UTC, seed 11, every source, an
    /// unlimited budget (10,000,000 a day, bursts of 1,000), 5 s steps, a 30 minute drain,
    /// positions every 5 minutes.
    pub fn new(orders: usize, rate: f64) -> Self {
        Self {
            orders,
            rate,
            seed: 11,
            sources: SourceKind::ALL.into_iter().collect(),
            daily_budget: 10_000_000,
            burst: Some(1_000),
            start: chrono::NaiveDate::from_ymd_opt(2026, 1, 15)
                .and_then(|d| d.and_hms_opt(6, 0, 0))
                .expect("a valid start"),
            step: TimeDelta::seconds(5),
            drain: TimeDelta::minutes(30),
            position_interval: TimeDelta::minutes(5),
        }
    }

    /// With these sources.
    pub fn sources(mut self, sources: &[SourceKind]) -> Self {
        self.sources = sources.iter().copied().collect();
        self
    }

    /// With a daily budget of `daily` calls (the plan's default burst).
    pub fn budget(mut self, daily: u64) -> Self {
        self.daily_budget = daily;
        self.burst = None;
        self
    }
}

/// What a run left behind.
#[derive(Debug)]
pub struct Outcome {
    /// Every change the activity made.
    pub truth: Vec<TruthChange>,
    /// Every event stored for the account, as stored at the end (upgrades applied).
    pub events: Vec<StoredEvent>,
    /// Per stored position: the time of the tick that first stored it.
    pub stored_at: HashMap<u64, DateTime<Utc>>,
    /// The positions first stored with an observed time (provisional events), with the id
    /// they were stored under.
    pub first_observed: BTreeMap<u64, ontime_sync::event::EventId>,
    /// OnTime calls the runner spent, per source.
    pub calls: BTreeMap<String, u64>,
    /// OnTime calls the runner spent per UTC day (the quota's window).
    pub calls_by_day: BTreeMap<chrono::NaiveDate, u64>,
    /// Requests the simulator answered 429 (over its quota).
    pub refused: u64,
    /// Finder requests (`GET /api/orders`) the simulator answered: the poll's (and the
    /// reconcile's listings).
    pub finder_calls: u64,
    /// Requests the simulator counted against the quota (the runner's only: nobody else calls).
    pub server_calls: u64,
    /// Notifications the simulator sent (and that were accepted).
    pub notified: u64,
    /// Ticks run.
    pub ticks: u64,
    /// When the activity started (UTC).
    pub start: DateTime<Utc>,
    /// The tick at which the activity had finished.
    pub finished_at: DateTime<Utc>,
    /// The last tick.
    pub end: DateTime<Utc>,
    /// The drivers watched.
    pub drivers: Vec<uuid::Uuid>,
    /// Per stored position: the source whose step first stored it.
    pub stored_by: HashMap<u64, SourceKind>,
    /// The ticks at which the poll listed the levels (spent calls): the poll intervals
    /// actually used are the gaps between them.
    pub poll_times: Vec<DateTime<Utc>>,
    /// The poll intervals the governor advised (seconds), one per poll that listed.
    pub poll_advised: Vec<f64>,
    /// The ticks at which the reconcile completed a round over the active orders.
    pub round_times: Vec<DateTime<Utc>>,
}

/// Inbound receipts stamped with the simulated time.
#[derive(Clone, Debug, Default)]
struct SimClock(Arc<AtomicI64>);

impl SimClock {
    fn set(&self, now: DateTime<Utc>) {
        self.0.store(now.timestamp_millis(), Ordering::SeqCst);
    }
}

impl Clock for SimClock {
    fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.0.load(Ordering::SeqCst)).unwrap_or_default()
    }

    async fn sleep_until(&self, _at: DateTime<Utc>) {}
}

fn settings(
    scenario: &Scenario,
    mock: &RunningMock,
    drivers: &[uuid::Uuid],
) -> Result<AccountSettings, SimError> {
    let sources: Vec<String> = scenario
        .sources
        .iter()
        .map(|s| format!("\"{}\"", s.as_str()))
        .collect();
    let ids: Vec<String> = drivers.iter().map(|d| format!("\"{d}\"")).collect();
    let burst = scenario
        .burst
        .map_or(String::new(), |b| format!(", burst = {b}"));
    let text = format!(
        r#"
[store]
url = "sqlite://unused.db"

[[account]]
name = "{ACCOUNT}"
url = "{url}"
api_key_env = "{KEY_ENV}"
time_zone = "UTC"
plan = {{ daily = {daily}, share = 1.0{burst} }}
sources = [{sources}]
drivers.ids = [{ids}]
drivers.position_interval = "{interval}s"
inbound.token_env = "{TOKEN_ENV}"
"#,
        url = mock.base_url(),
        daily = scenario.daily_budget,
        sources = sources.join(", "),
        ids = ids.join(", "),
        interval = scenario.position_interval.num_seconds(),
    );
    let key = mock.api_key().to_owned();
    let env = move |name: &str| match name {
        KEY_ENV => Some(key.clone()),
        TOKEN_ENV => Some(INBOUND_TOKEN.to_owned()),
        _ => None,
    };
    let config = SyncConfig::parse(Path::new("sync.toml"), &text, Secrets::Read, &env)?;
    config
        .accounts
        .into_iter()
        .next()
        .ok_or_else(|| "no account in the generated sync.toml".into())
}

/// Runs `scenario` with the runner storing into `store` (see the [module documentation](self)).
pub async fn run(scenario: &Scenario, store: Store) -> Result<Outcome, SimError> {
    let inbound_on = scenario.sources.contains(&SourceKind::Inbound);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let notify_url = format!("http://{}/inbound/{INBOUND_TOKEN}", listener.local_addr()?);
    let mut activity = ActivityConfig::new(scenario.rate)
        .seed(scenario.seed)
        .orders(scenario.orders)
        .position_interval(scenario.position_interval);
    if inbound_on {
        activity = activity.notify(NotifyConfig::new(&notify_url)?);
    }
    let mock = OnTimeMock::builder()
        .seed(scenario.seed)
        .orders(0)
        .clock_start(scenario.start)
        .frozen_clock()
        .utc_offset(FixedOffset::east_opt(0).ok_or("offset")?)
        .daily_quota(scenario.daily_budget)
        .monthly_quota(scenario.daily_budget.saturating_mul(31))
        .request_log_capacity(REQUEST_LOG)
        .activity(activity)
        .start()
        .await?;
    let sim = mock.activity().ok_or("the activity is on")?;
    let drivers = mock.store().driver_ids();
    let settings = settings(scenario, &mock, &drivers)?;
    let client = ontime::Client::builder()
        .base_url(mock.base_url())
        .api_key(mock.api_key())
        .retry_policy(ontime::RetryPolicy::none())
        .build()?;
    let start = scenario.start.and_utc();
    let clock = SimClock::default();
    clock.set(start);
    let server = if inbound_on {
        let inbound = Inbound::new(
            client.clone(),
            store.clone(),
            settings.account_config(),
            InboundConfig::new(InboundToken::new(INBOUND_TOKEN)?),
            clock.clone(),
        );
        Some(tokio::spawn(
            axum::serve(listener, inbound.router()).into_future(),
        ))
    } else {
        drop(listener);
        None
    };
    let mut runner = AccountRunner::new(
        &settings,
        client,
        store.clone(),
        clock.clone(),
        None,
        Arc::new(Metrics::new()),
        start,
    )
    .await?;

    let mut outcome = Outcome {
        truth: Vec::new(),
        events: Vec::new(),
        stored_at: HashMap::new(),
        first_observed: BTreeMap::new(),
        calls: BTreeMap::new(),
        calls_by_day: BTreeMap::new(),
        refused: 0,
        finder_calls: 0,
        server_calls: 0,
        notified: 0,
        ticks: 0,
        start,
        finished_at: start,
        end: start,
        drivers,
        stored_by: HashMap::new(),
        poll_times: Vec::new(),
        poll_advised: Vec::new(),
        round_times: Vec::new(),
    };
    let mut now = start;
    let mut finished: Option<DateTime<Utc>> = None;
    let mut seen_until = 0u64;
    loop {
        if let Some(at) = finished
            && now >= at + scenario.drain
        {
            break;
        }
        let next = runner.next_due().max(now + scenario.step);
        sim.advance(next - now).await?;
        now = next;
        clock.set(now);
        let report = runner.tick(now).await?;
        outcome.ticks += 1;
        *outcome.calls_by_day.entry(now.date_naive()).or_default() += report.calls;
        for step in &report.steps {
            match step.source {
                SourceKind::Poll if step.calls > 0 => {
                    outcome.poll_times.push(now);
                    outcome
                        .poll_advised
                        .push((step.next_due - now).num_milliseconds() as f64 / 1_000.0);
                }
                SourceKind::Reconcile if step.round_complete => outcome.round_times.push(now),
                _ => {}
            }
        }
        if report.stored > 0 || inbound_on {
            seen_until = record(&store, seen_until, now, &report.steps, &mut outcome).await?;
        }
        if finished.is_none() && sim.is_finished() {
            finished = Some(now);
        }
    }
    if let Some(server) = server {
        server.abort();
    }
    outcome.finished_at = finished.unwrap_or(now);
    outcome.end = now;
    outcome.truth = sim.truth();
    outcome.notified = sim.notify_stats().sent;
    outcome.events = all_events(&store).await?;
    outcome.calls = runner
        .status()
        .sources
        .iter()
        .map(|(k, s)| (k.clone(), s.calls))
        .collect();
    let usage = mock.quota(mock.api_key());
    outcome.server_calls = usage.monthly_used;
    let requests = mock.requests();
    if requests.len() >= REQUEST_LOG {
        return Err("the simulator's request log overflowed: 429s cannot be counted".into());
    }
    outcome.refused = requests.iter().filter(|r| r.status == 429).count() as u64;
    outcome.finder_calls = requests
        .iter()
        .filter(|r| r.operation == Some(ontime_mock::Operation::OrdersFind))
        .count() as u64;
    Ok(outcome)
}

/// Notes the events stored after `after` as stored at `now`, each by the step that stored it
/// (the steps' counts follow store order); returns the last position.
async fn record(
    store: &Store,
    after: u64,
    now: DateTime<Utc>,
    steps: &[StepReport],
    outcome: &mut Outcome,
) -> Result<u64, SimError> {
    let page = events_after(store, ACCOUNT, after).await?;
    let mut by = steps
        .iter()
        .flat_map(|s| std::iter::repeat_n(s.source, s.stored as usize));
    for stored in &page {
        outcome.stored_at.insert(stored.position, now);
        if let Some(source) = by.next() {
            outcome.stored_by.insert(stored.position, source);
        }
        if stored.event.time_precision == TimePrecision::Observed {
            outcome
                .first_observed
                .insert(stored.position, stored.event.event_id.clone());
        }
    }
    Ok(page.last().map_or(after, |s| s.position))
}

async fn all_events(store: &Store) -> Result<Vec<StoredEvent>, SimError> {
    events_after(store, ACCOUNT, 0).await
}

/// Every event of `account` stored after position `after`, in store order.
pub async fn events_after(
    store: &Store,
    account: &str,
    mut after: u64,
) -> Result<Vec<StoredEvent>, SimError> {
    const PAGE: u32 = 1_000;
    let mut out = Vec::new();
    loop {
        let page = store
            .query(&EventQuery {
                after,
                account: Some(account.to_owned()),
                limit: PAGE,
                ..EventQuery::default()
            })
            .await?;
        let Some(last) = page.last() else {
            return Ok(out);
        };
        after = last.position;
        let full = page.len() == PAGE as usize;
        out.extend(page);
        if !full {
            return Ok(out);
        }
    }
}

/// How a run's stored events compare with the truth.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Recall {
    /// Truth order status changes.
    pub order_changes: usize,
    /// Of them, with exactly one stored order event carrying their status ID.
    pub order_found: usize,
    /// Truth status IDs without a stored event.
    pub order_missing: Vec<uuid::Uuid>,
    /// Truth status IDs with more than one stored event.
    pub order_doubled: Vec<uuid::Uuid>,
    /// Stored order events whose status ID is not in the truth.
    pub order_invented: usize,
    /// Stored order events without a status ID (provisional events not upgraded yet).
    pub order_provisional: usize,
    /// Found order events whose type is not the one the step maps to (step, type).
    pub wrong_type: Vec<(Step, EventType)>,
    /// Found order events whose exact time is not the change's.
    pub wrong_time: usize,
    /// Found order events with an exact time.
    pub order_exact: usize,
    /// In-transit steps stored as `order.transferred`, unassignments stored as
    /// `order.submitted`: the order was first fetched after a later change of driver, and a
    /// step seen for the first time gets the driver the record shows then (`collect::exact`,
    /// "the assigned driver when observed"), so the step looks like a change of driver (or
    /// like no driver ever being there). A documented limit of sources that fetch late (the poll), not of
    /// sources that fetch at each change (inbound).
    pub driver_seen_late: usize,
    /// `Transferred` steps, and those stored as `order.transferred`.
    pub transfers: (usize, usize),
    /// Truth availability changes and positions.
    pub driver_changes: usize,
    /// Of them, matched by exactly one stored driver event (driver, time, value).
    pub driver_found: usize,
    /// Truth driver changes without a stored event (kind, driver, time).
    pub driver_missing: Vec<(String, uuid::Uuid, NaiveDateTime)>,
    /// Driver changes matched more than once.
    pub driver_doubled: usize,
    /// Stored driver events not in the truth that happened before the activity started or as
    /// it started (each driver's state and positions as the first round found them).
    pub driver_baseline: usize,
    /// Stored driver events after the start that match no truth change (driver, time, value).
    pub driver_invented: Vec<(uuid::Uuid, NaiveDateTime, String)>,
    /// Found driver events with an exact time.
    pub driver_exact: usize,
    /// Subjects whose sequences are not 1..n.
    pub sequence_gaps: Vec<String>,
    /// Lag (seconds) from each found change (orders and drivers) to the tick that stored it.
    pub lags: Vec<f64>,
    /// Lags of the found order changes alone (driver changes are read in rounds: a position
    /// waits for its driver's next position window).
    pub order_lags: Vec<f64>,
    /// Per found order change: its kind, the source that stored it first, its lag, and
    /// whether a poll's diff could see it.
    pub order_detail: Vec<ChangeLag>,
    /// Order-seconds spent at an active level (from creation to the final change), summed
    /// over the truth's orders: what reading every active order once per interval `I` costs
    /// is this over `I` calls.
    pub active_order_seconds: f64,
}

/// What kind of order change, as a poll's diff sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeKind {
    /// The order's level changed (its creation included): a poll's diff can see it.
    Level,
    /// A new label within the same level: no finder's ID set changes.
    Label,
    /// A hand-over between drivers (same level): no finder's ID set changes.
    Transfer,
}

impl ChangeKind {
    /// A short name for tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Level => "level",
            Self::Label => "same-level label",
            Self::Transfer => "transfer",
        }
    }
}

/// One found order change's lag and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct ChangeLag {
    /// Its kind.
    pub kind: ChangeKind,
    /// The source whose step first stored it (`None`: not attributed).
    pub source: Option<SourceKind>,
    /// Seconds from the change to the tick that first stored it.
    pub lag: f64,
    /// Whether a poll's diff could see it: a level change still the order's latest at the
    /// first poll listing at or after it.
    pub diff_visible: bool,
}

impl Recall {
    /// Found changes (orders and drivers) over all truth changes (1.0 with no truth).
    pub fn recall(&self) -> f64 {
        share(
            self.order_found + self.driver_found,
            self.order_changes + self.driver_changes,
        )
    }

    /// Found order status changes over the truth's (1.0 with none).
    pub fn order_recall(&self) -> f64 {
        share(self.order_found, self.order_changes)
    }

    /// Found changes with an exact time over all truth changes.
    pub fn exact_share(&self) -> f64 {
        share(
            self.order_exact + self.driver_exact,
            self.order_changes + self.driver_changes,
        )
    }

    /// Whether nothing is missing, doubled or invented and every sequence is gapless.
    pub fn is_complete(&self) -> bool {
        self.order_found == self.order_changes
            && self.driver_found == self.driver_changes
            && self.order_invented == 0
            && self.order_provisional == 0
            && self.driver_doubled == 0
            && self.driver_invented.is_empty()
            && self.sequence_gaps.is_empty()
    }
}

/// `part / all`, 1.0 when `all` is 0 (nothing to find: nothing missed).
fn share(part: usize, all: usize) -> f64 {
    if all == 0 {
        1.0
    } else {
        part as f64 / all as f64
    }
}

/// The `p`-th percentile (0..=100, nearest rank) of `values`; `None` when empty.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// The type `ontime-sync` gives a step (the table of [`Step`]).
pub fn expected_type(step: Step) -> EventType {
    match step {
        Step::Created => EventType::OrderSubmitted,
        Step::Assigned => EventType::OrderAssigned,
        Step::Unassigned => EventType::OrderUnassigned,
        Step::PickedUp => EventType::OrderPickedUp,
        Step::InTransit => EventType::OrderInTransit,
        Step::Transferred => EventType::OrderTransferred,
        Step::Delivered => EventType::OrderDelivered,
        Step::Exception => EventType::OrderException,
        Step::Cancelled => EventType::OrderCancelled,
    }
}

/// Compares `outcome`'s stored events with its truth (see [`Recall`]).
pub fn evaluate(outcome: &Outcome) -> Recall {
    let mut recall = Recall::default();
    let utc = |at: NaiveDateTime| at.and_utc();

    // Each order change's kind, and when the order changed next.
    let mut kinds: HashMap<uuid::Uuid, (ChangeKind, Option<NaiveDateTime>)> = HashMap::new();
    let mut last: HashMap<uuid::Uuid, (i64, uuid::Uuid, NaiveDateTime)> = HashMap::new();
    let mut changes: Vec<&TruthChange> = outcome.truth.iter().collect();
    changes.sort_by_key(|c| c.at);
    for change in changes {
        let Change::OrderStatus {
            order,
            status_id,
            step,
            level,
            ..
        } = &change.change
        else {
            continue;
        };
        let kind = match last.get(order) {
            _ if *step == Step::Transferred => ChangeKind::Transfer,
            Some((before, _, _)) if before == level => ChangeKind::Label,
            _ => ChangeKind::Level,
        };
        if let Some((_, previous, _)) = last.get(order)
            && let Some(entry) = kinds.get_mut(previous)
        {
            entry.1 = Some(change.at);
        }
        kinds.insert(*status_id, (kind, None));
        if let Some((_, _, created)) = last.get(order).copied() {
            if matches!(level, 3..=5) {
                recall.active_order_seconds += (change.at - created).num_seconds() as f64;
            }
            last.insert(*order, (*level, *status_id, created));
        } else {
            last.insert(*order, (*level, *status_id, change.at));
        }
    }
    let diff_visible = |kind: ChangeKind, at: NaiveDateTime, next: Option<NaiveDateTime>| {
        let at = utc(at);
        let i = outcome.poll_times.partition_point(|t| *t < at);
        kind == ChangeKind::Level
            && outcome
                .poll_times
                .get(i)
                .is_some_and(|p| next.is_none_or(|n| utc(n) > *p))
    };

    // Orders: by status ID.
    let mut by_status: HashMap<uuid::Uuid, Vec<&StoredEvent>> = HashMap::new();
    for stored in &outcome.events {
        let event = &stored.event;
        if !event.event_type.as_str().starts_with("order.") {
            continue;
        }
        match event.ontime.as_ref().and_then(|o| o.status_id) {
            Some(id) => by_status.entry(id.as_uuid()).or_default().push(stored),
            None => recall.order_provisional += 1,
        }
    }
    let mut truth_ids = BTreeSet::new();
    for change in &outcome.truth {
        let Change::OrderStatus {
            status_id, step, ..
        } = &change.change
        else {
            continue;
        };
        truth_ids.insert(*status_id);
        recall.order_changes += 1;
        if *step == Step::Transferred {
            recall.transfers.0 += 1;
        }
        match by_status.get(status_id).map(Vec::as_slice) {
            None | Some([]) => recall.order_missing.push(*status_id),
            Some([stored]) => {
                recall.order_found += 1;
                let event = &stored.event;
                if *step == Step::Transferred && event.event_type == EventType::OrderTransferred {
                    recall.transfers.1 += 1;
                }
                let expected = expected_type(*step);
                // A transfer the collector could not see as one (the driver before it unknown)
                // is in transit: counted in `transfers`, not as a wrong type.
                let transfer_seen_as_move =
                    *step == Step::Transferred && event.event_type == EventType::OrderInTransit;
                let seen_late = matches!(
                    (*step, event.event_type),
                    (Step::InTransit, EventType::OrderTransferred)
                        | (Step::Unassigned, EventType::OrderSubmitted)
                );
                if seen_late {
                    recall.driver_seen_late += 1;
                } else if event.event_type != expected && !transfer_seen_as_move {
                    recall.wrong_type.push((*step, event.event_type));
                }
                if event.time_precision == TimePrecision::Exact {
                    recall.order_exact += 1;
                    if event.occurred_at.naive_local() != change.at {
                        recall.wrong_time += 1;
                    }
                }
                if let Some(at) = outcome.stored_at.get(&stored.position) {
                    let lag = (*at - utc(change.at)).num_milliseconds() as f64 / 1_000.0;
                    recall.lags.push(lag);
                    recall.order_lags.push(lag);
                    let (kind, next) = kinds
                        .get(status_id)
                        .copied()
                        .unwrap_or((ChangeKind::Level, None));
                    recall.order_detail.push(ChangeLag {
                        kind,
                        source: outcome.stored_by.get(&stored.position).copied(),
                        lag,
                        diff_visible: diff_visible(kind, change.at, next),
                    });
                }
            }
            Some(_) => recall.order_doubled.push(*status_id),
        }
    }
    recall.order_invented = by_status
        .keys()
        .filter(|id| !truth_ids.contains(id))
        .count();

    // Drivers: by driver, time and value.
    type Key = (uuid::Uuid, NaiveDateTime, String);
    let mut stored_drivers: HashMap<Key, Vec<&StoredEvent>> = HashMap::new();
    for stored in &outcome.events {
        let event = &stored.event;
        let Some(driver) = event.driver else { continue };
        let value = match (&event.availability, &event.position) {
            (Some(a), _) if event.event_type == EventType::DriverAvailabilityChanged => {
                format!("available={}", a.available)
            }
            (_, Some(p)) if event.event_type == EventType::DriverPosition => {
                format!("{:.5},{:.5}", p.latitude, p.longitude)
            }
            _ => continue,
        };
        stored_drivers
            .entry((driver.as_uuid(), event.occurred_at.naive_utc(), value))
            .or_default()
            .push(stored);
    }
    let mut matched: BTreeSet<Key> = BTreeSet::new();
    for change in &outcome.truth {
        let (kind, key) = match &change.change {
            Change::Availability { user, available } => (
                "availability",
                (*user, change.at, format!("available={available}")),
            ),
            Change::Position {
                user,
                latitude,
                longitude,
            } => (
                "position",
                (*user, change.at, format!("{latitude:.5},{longitude:.5}")),
            ),
            _ => continue,
        };
        recall.driver_changes += 1;
        match stored_drivers.get(&key).map(Vec::as_slice) {
            None | Some([]) => recall.driver_missing.push((kind.to_owned(), key.0, key.1)),
            Some([stored]) => {
                recall.driver_found += 1;
                if stored.event.time_precision == TimePrecision::Exact {
                    recall.driver_exact += 1;
                }
                if let Some(at) = outcome.stored_at.get(&stored.position) {
                    recall
                        .lags
                        .push((*at - utc(change.at)).num_milliseconds() as f64 / 1_000.0);
                }
            }
            Some(_) => recall.driver_doubled += 1,
        }
        matched.insert(key);
    }
    for (key, events) in &stored_drivers {
        if matched.contains(key) {
            continue;
        }
        if utc(key.1) <= outcome.start {
            recall.driver_baseline += events.len();
        } else {
            for _ in events.iter() {
                recall.driver_invented.push(key.clone());
            }
        }
    }

    // Sequences: 1..n per subject.
    let mut sequences: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for stored in &outcome.events {
        sequences
            .entry(stored.event.subject.as_str())
            .or_default()
            .push(stored.event.sequence.unwrap_or(0));
    }
    for (subject, mut seq) in sequences {
        seq.sort_unstable();
        if seq.iter().copied().ne(1..=seq.len() as u64) {
            recall.sequence_gaps.push(subject.to_owned());
        }
    }
    recall
}
