//! The feed part of the tour: the simulator's living account (orders moving through their
//! lifecycles, drivers reporting) flows through `ontime-sync` — the same worker `ontime sync
//! run` runs — into a SQLite store, in step mode: the account's clock moves in fixed steps and
//! the worker runs after each, so the feed prints the same thing every time.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use ontime_mock::{ActivityConfig, Change, MockClock, NotifyConfig, OnTimeMock, Step, TruthChange};
use ontime_sync::collect::Clock;
use ontime_sync::config::{Secrets, SyncConfig};
use ontime_sync::event::{Actor, Custodian, Event};
use ontime_sync::run::{CancellationToken, Metrics, Worker, http};
use ontime_sync::store::{EventStore, Store};

use super::tour::{Tour, thousands};
use crate::error::CliError;
use crate::events::columns;

/// Orders arriving per simulated hour.
const RATE: f64 = 90.0;
/// How long the feed runs, in simulated time.
const SPAN: TimeDelta = TimeDelta::minutes(90);
/// One step of the account's clock; the worker runs after each.
const STEP: TimeDelta = TimeDelta::seconds(15);
/// A progress line every this much simulated time.
const REPORT_EVERY: TimeDelta = TimeDelta::minutes(15);
/// The variables the printed config names; the demo hands their values over in-process.
const KEY_VAR: &str = "ONTIME_DEMO_API_KEY";
const TOKEN_VAR: &str = "ONTIME_DEMO_INBOUND_TOKEN";

/// The simulator's (frozen, stepped) clock as the sync layer's clock.
#[derive(Clone, Debug)]
struct AccountClock(MockClock);

impl Clock for AccountClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.now_utc().and_utc()
    }

    async fn sleep_until(&self, _at: DateTime<Utc>) {
        // Step mode: the tour moves the clock itself.
    }
}

/// The config the feed runs with, as a user would write it for their account.
fn config_text(base_url: &str, time_zone: &str) -> String {
    format!(
        r#"[store]
url = "sqlite://events.db"

[[account]]
name = "demo"
url = "{base_url}"
api_key_env = "{KEY_VAR}"
time_zone = "{time_zone}"
plan = {{ daily = 86400, share = 0.8 }}
inbound.token_env = "{TOKEN_VAR}"
drivers.position_interval = "5m""#
    )
}

/// The IANA name of a whole-hour UTC offset (the simulator's account has a fixed offset).
fn etc_zone(offset_seconds: i32) -> String {
    let hours = offset_seconds / 3600;
    match hours {
        0 => "Etc/UTC".to_owned(),
        // POSIX-style names: the sign is inverted.
        h if h > 0 => format!("Etc/GMT-{h}"),
        h => format!("Etc/GMT+{}", -h),
    }
}

/// Seeded orders of the feed's account before the activity starts (the first poll reads them
/// all: a real first run backfills the same way).
const SEEDED: usize = 20;

/// Runs the feed on its own simulated account (seeded with `seed`, clock at `now`) and prints
/// it; the store is written under `dir`.
pub async fn feed(
    tour: &mut Tour,
    seed: u64,
    now: NaiveDateTime,
    dir: &Path,
    keep: bool,
) -> Result<(), CliError> {
    // The inbound endpoint's socket exists first: the simulator's notifications go to it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let token = uuid::Uuid::new_v4().simple().to_string();
    let notify = NotifyConfig::new(&format!(
        "http://{}/inbound/{token}",
        listener.local_addr()?
    ))
    .map_err(|e| CliError::other(format!("the demo's notification URL: {e}")))?;
    let mock = OnTimeMock::builder()
        .seed(seed)
        .orders(SEEDED)
        .company("feed")
        .clock_start(now)
        .frozen_clock()
        .activity(ActivityConfig::new(RATE).notify(notify))
        .start()
        .await
        .map_err(|e| CliError::other(format!("could not start the simulator: {e}")))?;
    let activity = mock
        .activity()
        .ok_or_else(|| CliError::other("the demo's simulator has no activity"))?;
    tour.step("The feed: every change as an event (ontime-sync)");
    tour.say(
        "OnTime has no event feed. `ontime sync run --config sync.toml` builds one: workflow\n\
         notifications name orders that changed, finders' ID sets are diffed per status level,\n\
         a slow reconcile re-reads active orders, drivers' availability and positions are\n\
         polled, all on one call budget; every change becomes one event with a deterministic\n\
         ID, stored with the cursors in one transaction. A second simulated account comes to\n\
         life, and the worker behind `ontime sync run` runs on it in-process, with this config:",
    );
    let offset = mock.clock().utc_offset().local_minus_utc();
    let text = config_text(&mock.base_url(), &etc_zone(offset));
    tour.table(&text);

    let path = dir.join("sync.toml");
    let key = mock.api_key().to_owned();
    let env = move |name: &str| match name {
        KEY_VAR => Some(key.clone()),
        TOKEN_VAR => Some(token.clone()),
        _ => None,
    };
    let config = SyncConfig::parse(&path, &text, Secrets::Read, &env)
        .map_err(|e| CliError::other(format!("the demo's sync config: {e}")))?;
    let store = Store::open(config.store.as_str())
        .await
        .map_err(|e| CliError::other(format!("the demo's event store: {e}")))?;
    let clock = AccountClock(mock.clock());
    let mut worker = Worker::new(
        &config,
        store.clone(),
        clock.clone(),
        Arc::new(Metrics::new()),
    )
    .map_err(|e| CliError::other(format!("the demo's sync worker: {e}")))?;
    let cancel = CancellationToken::new();
    let server = tokio::spawn(http::serve(
        listener,
        http::router(worker.http_state()),
        cancel.clone(),
    ));

    let start = mock.clock().now();
    tour.say(format!(
        "{} simulated minutes of activity at {RATE} orders an hour, the clock moved {} s at a time:",
        SPAN.num_minutes(),
        STEP.num_seconds()
    ));
    tour.line("");
    tour.line(format!(
        "    {:<8} {:>8} {:>8} {:>7}",
        "time", "changes", "events", "calls"
    ));
    let mut elapsed = TimeDelta::zero();
    let mut changes = 0usize;
    while elapsed < SPAN {
        changes += activity
            .advance(STEP)
            .await
            .map_err(|e| CliError::other(format!("the demo's activity: {e}")))?
            .len();
        elapsed += STEP;
        worker.step(clock.now()).await;
        if elapsed.num_seconds() % REPORT_EVERY.num_seconds() == 0 {
            let events = store
                .last_position()
                .await
                .map_err(|e| CliError::other(format!("the demo's event store: {e}")))?;
            let calls = worker.runner("demo").map_or(0, |r| r.status().calls_today);
            tour.line(format!(
                "    {:<8} {:>8} {:>8} {:>7}",
                (start + elapsed).format("%H:%M"),
                thousands(changes as u64),
                thousands(events),
                thousands(calls)
            ));
        }
    }
    let truth = activity.truth();
    let stored = all_events(&store).await?;
    account_for(tour, &truth, &stored);
    if let Some(order) = showcase(&truth) {
        timeline(tour, &store, order).await?;
        super::webhook::deliver(tour, &store, order, seed, clock.now()).await?;
    }
    if let Some(runner) = worker.runner("demo") {
        let status = runner.status();
        let by_source: Vec<String> = status
            .sources
            .iter()
            .map(|(name, s)| format!("{name} {}", thousands(s.calls)))
            .collect();
        tour.say(format!(
            "OnTime calls spent: {} ({}),\n\
             paced by the governor to at most 80 % of the 86,400 a day the plan allows;\n\
             {} still ours before the daily reset.",
            thousands(status.calls_today),
            by_source.join(", "),
            thousands(status.budget_left)
        ));
    }
    worker.shutdown().await;
    cancel.cancel();
    let _ = server.await;
    store.close().await;
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), mock.shutdown()).await;
    if keep {
        tour.say(format!(
            "The events stay in {}: try\n  ontime events tail --store {} --from-start --no-follow",
            dir.join("events.db").display(),
            dir.join("events.db").display()
        ));
    }
    Ok(())
}

/// Every stored event (the feed's store is small).
async fn all_events(store: &Store) -> Result<Vec<Event>, CliError> {
    let mut events = Vec::new();
    let mut after = 0;
    loop {
        let page = store
            .events_after(after, 1_000)
            .await
            .map_err(|e| CliError::other(format!("the demo's event store: {e}")))?;
        let Some(last) = page.last() else { break };
        after = last.position;
        events.extend(page.into_iter().map(|s| s.event));
    }
    Ok(events)
}

/// Compares the store with the simulator's ground truth: each status change is one event.
fn account_for(tour: &mut Tour, truth: &[TruthChange], stored: &[Event]) {
    let mut by_status: BTreeMap<uuid::Uuid, usize> = BTreeMap::new();
    for event in stored {
        // Custody events carry their order event's status entry too: count order events.
        if !event.event_type.as_str().starts_with("order.") {
            continue;
        }
        if let Some(id) = event.ontime.as_ref().and_then(|o| o.status_id) {
            *by_status.entry(id.as_uuid()).or_default() += 1;
        }
    }
    let statuses: Vec<uuid::Uuid> = truth
        .iter()
        .filter_map(|c| match &c.change {
            Change::OrderStatus { status_id, .. } => Some(*status_id),
            _ => None,
        })
        .collect();
    let once = statuses
        .iter()
        .filter(|id| by_status.get(id) == Some(&1))
        .count();
    let missing = statuses
        .iter()
        .filter(|id| !by_status.contains_key(id))
        .count();
    let mut by_type: BTreeMap<&str, u64> = BTreeMap::new();
    for event in stored {
        *by_type.entry(event.event_type.as_str()).or_default() += 1;
    }
    tour.line("");
    let pending = if missing == 0 {
        String::new()
    } else {
        format!(
            ",\n{} not yet (made since the worker's last pass)",
            thousands(missing as u64)
        )
    };
    tour.say(format!(
        "The simulator's ground truth has {} order status changes: {} are stored as exactly\n\
         one event each{pending}. Events stored, by type:",
        thousands(statuses.len() as u64),
        thousands(once as u64),
    ));
    let types: Vec<String> = by_type
        .iter()
        .map(|(t, n)| format!("{t} {}", thousands(*n)))
        .collect();
    for chunk in types.chunks(4) {
        tour.say(format!("  {}", chunk.join(", ")));
    }
}

/// The order to show: one with a transfer between drivers if there is one, else the one with
/// the most changes.
fn showcase(truth: &[TruthChange]) -> Option<uuid::Uuid> {
    let mut steps: BTreeMap<uuid::Uuid, Vec<Step>> = BTreeMap::new();
    for change in truth {
        if let Change::OrderStatus { order, step, .. } = &change.change {
            steps.entry(*order).or_default().push(*step);
        }
    }
    let transferred: BTreeSet<uuid::Uuid> = steps
        .iter()
        .filter(|(_, s)| s.contains(&Step::Transferred) && s.contains(&Step::Delivered))
        .map(|(id, _)| *id)
        .collect();
    steps
        .iter()
        .filter(|(id, _)| transferred.is_empty() || transferred.contains(id))
        .max_by_key(|(id, s)| (s.len(), std::cmp::Reverse(**id)))
        .map(|(id, _)| *id)
}

/// Prints an order's stored timeline, compactly (`ontime events timeline` has every column).
async fn timeline(tour: &mut Tour, store: &Store, order: uuid::Uuid) -> Result<(), CliError> {
    let subject = Event::order_subject(ontime::OrderId::from_uuid(order));
    let events = store
        .timeline("demo", &subject)
        .await
        .map_err(|e| CliError::other(format!("the demo's event store: {e}")))?;
    let tracking = events
        .iter()
        .find_map(|s| s.event.order.as_ref()?.tracking_number.clone())
        .unwrap_or_default();
    let short = |id: &dyn std::fmt::Display| {
        let id = id.to_string();
        format!("driver {}", &id[..8.min(id.len())])
    };
    let holder = |c: &Custodian| match c {
        Custodian::Driver { id: Some(id) } => short(id),
        other => columns::custodian(other),
    };
    let mut text = format!(
        "{:>2}  {:<8}  {:<20}  {:<30}  {:<15}  {}\n",
        "#", "time", "type", "OnTime level / label", "actor", "parcel: from → to"
    );
    for stored in &events {
        let e = &stored.event;
        let ontime = e.ontime.as_ref().map_or(String::new(), |o| {
            format!(
                "{} {:?}",
                o.level_code.map_or(String::new(), |c| c.to_string()),
                o.label.clone().unwrap_or_default()
            )
        });
        let actor = e.actor.as_ref().map_or(String::new(), |a| match a {
            Actor::Driver { id } => short(id),
        });
        let custody = e.custody.as_ref().map_or(String::new(), |c| {
            format!(
                "{}: {} → {}",
                c.item_tracking_number,
                holder(&c.from),
                holder(&c.to)
            )
        });
        text.push_str(&format!(
            "{:>2}  {:<8}  {:<20}  {:<30}  {:<15}  {}\n",
            e.sequence.unwrap_or_default(),
            e.occurred_at.format("%H:%M:%S"),
            e.event_type.as_str(),
            ontime,
            actor,
            custody
        ));
    }
    tour.say(format!(
        "Order {tracking}'s timeline from the store (`ontime events timeline {tracking}` shows\n\
         every field): OnTime's levels and labels beside the canonical types, exact times with\n\
         the account's offset ({}), the assigned driver as actor, each parcel's custody:",
        events.first().map_or(String::new(), |s| s
            .event
            .occurred_at
            .format("%:z")
            .to_string())
    ));
    let text: Vec<&str> = text.lines().map(str::trim_end).collect();
    tour.table(&text.join("\n"));
    Ok(())
}

/// The directory the feed's store goes in: a fresh one under the system's temporary directory.
pub fn store_dir() -> Result<PathBuf, CliError> {
    let dir = std::env::temp_dir().join(format!("ontime-demo-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
