//! Events committed through the `ontime-sync` store, against a bare batched insert of the same
//! rows, on SQLite and on Postgres; and the peak memory of a long run.
//!
//! Figures:
//! - `sqlite_order_ratio`, `sqlite_poll_ratio`, `postgres_order_ratio`, `postgres_poll_ratio`:
//!   events/s committed through [`Store`] (duplicate check, global position, per-subject
//!   sequence, one cursor update and one outbox destination per commit) divided by events/s of
//!   a bare insert of the same rows (same columns, same JSON) with the same sqlx `Any` driver,
//!   one transaction per batch, multi-row `INSERT`, into a table with only a primary key: no
//!   duplicate check, no sequence, no cursor, no outbox. Goal ≥ 0.5 (the bookkeeping costs at
//!   most as much as the writes). Rounds of the two sides alternate (and which side goes first
//!   alternates too); the figure is the median of the per-round ratios ([`paired_ratio`]).
//!   The bare table's key is stored as the store stores `events.position` (SQLite's rowid).
//!   Absolute events/s are printed as `INFO` lines, and so is the ratio to a bare insert into a
//!   table that also carries two read indexes (by type and time, by account and time; the store
//!   dropped them as unused): what such indexes would cost beside the bookkeeping.
//! - `peak_rss_mib_1m_events` (`peak_rss_mib_100k_events` with `--quick`): peak RSS (`VmHWM`)
//!   of a child process that commits 1,000,000 events (100,000) into a fresh SQLite store in
//!   per-poll batches. Goal ≤ 64 MiB: memory does not grow with history. `INFO` lines give the
//!   peak after a tenth and after half of the run, to show it flat.
//!
//! Batch shapes (events from [`derive_order_events`] over synthetic histories of 4–5 status
//! entries and 1–2 items, i.e. 6–9 events per order):
//! - `order`: one commit per order (what an inbound notification leads to);
//! - `poll`: one commit per poll (what the poll collector does): orders until at least 100
//!   events, plus one position of each of 3 drivers.
//!
//! Postgres: `ONTIME_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`),
//! three schemas of this run's own (store, bare, indexed bare), dropped afterwards. When no server answers
//! the Postgres figures are skipped (an `INFO` line, no `RESULT`), unless
//! `ONTIME_REQUIRE_SERVICES=1`: then they are reported as FAIL.
//!
//! `--only sqlite|postgres|rss` runs one part (when profiling one of them).

use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, TimeZone, Utc};
use ontime::lenient::OnTimeDateTime;
use ontime::types::Status;
use ontime::{OrderId, StatusId, StatusLevel, UserId};
use ontime_bench::{info, paired_ratio, peak_rss_bytes, quick, report};
use ontime_sync::event::{
    AccountConfig, Event, ItemRef, OrderSource, StatusStep, derive_order_events, position_event,
};
use ontime_sync::store::{Commit, Engine, EventStore, Store};
use serde_json::json;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Connection, Executor};
use uuid::Uuid;

const NAME: &str = "sync_store";
const ACCOUNT: &str = "bench-couriers";
const DESTINATION: &str = "webhook:bench";
const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// A poll commits orders until it holds at least this many events...
const POLL_EVENTS: usize = 100;
/// ...plus one position of each of this many drivers.
const POLL_DRIVERS: u128 = 3;
/// Drivers the orders are assigned to.
const DRIVERS: u128 = 20;
/// Rows per multi-row statement of the bare insert (the store uses the same).
const ROWS_PER_STATEMENT: usize = 500;
/// The goal of every ratio.
const RATIO_GOAL: f64 = 0.5;
/// The goal of the peak RSS, in MiB.
const RSS_GOAL_MIB: f64 = 64.0;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--rss-child") {
        let events: usize = args.get(at + 1).ok_or("--rss-child EVENTS DIR")?.parse()?;
        let dir = args.get(at + 2).ok_or("--rss-child EVENTS DIR")?;
        return runtime()?.block_on(rss_child(events, Path::new(dir)));
    }
    sqlx::any::install_default_drivers();
    let quick = quick();
    let plan = Plan {
        rounds: if quick { 5 } else { 9 },
        events_per_round: if quick { 1_500 } else { 6_000 },
    };
    // `--only sqlite|postgres|rss`: one part (for profiling).
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|at| args.get(at + 1))
        .map(String::as_str);
    let runtime = runtime()?;
    if only.is_none_or(|o| o == "sqlite") {
        runtime.block_on(sqlite_ratios(&plan))?;
    }
    if only.is_none_or(|o| o == "postgres") {
        runtime.block_on(postgres_ratios(&plan))?;
    }
    if only.is_none_or(|o| o == "rss") {
        peak_rss(if quick { 100_000 } else { 1_000_000 })?;
    }
    Ok(())
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// How long each comparison runs.
struct Plan {
    rounds: usize,
    events_per_round: usize,
}

/// One commit per order, or one per poll.
#[derive(Clone, Copy, Debug)]
enum Shape {
    Order,
    Poll,
}

impl Shape {
    fn name(self) -> &'static str {
        match self {
            Shape::Order => "order",
            Shape::Poll => "poll",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The workload: synthetic histories, derived the way the collector derives them.

/// An endless supply of realistic events, each id new.
struct Workload {
    account: AccountConfig,
    next_order: u128,
    next_poll: u64,
}

impl Workload {
    fn new() -> Self {
        Self {
            account: AccountConfig::new(ACCOUNT, chrono_tz::America::Chicago),
            next_order: 1,
            next_poll: 1,
        }
    }

    /// The events of the next order's whole history.
    fn order(&mut self) -> Vec<Event> {
        let n = self.next_order;
        self.next_order += 1;
        derive_order_events(&self.account, &order_source(n))
    }

    /// The events of the next poll: orders until [`POLL_EVENTS`], then drivers' positions.
    fn poll(&mut self) -> Vec<Event> {
        let poll = self.next_poll;
        self.next_poll += 1;
        let mut events = Vec::with_capacity(POLL_EVENTS + 16);
        while events.len() < POLL_EVENTS {
            events.extend(self.order());
        }
        for d in 0..POLL_DRIVERS {
            let at = local_time(poll as i64 * 60 + d as i64);
            let latitude = 41.8 + (poll % 1000) as f64 * 1e-4;
            let longitude = -87.6 - d as f64 * 1e-3;
            let event = position_event(
                &self.account,
                driver(d),
                latitude,
                longitude,
                at,
                observed(poll as i64),
            )
            .expect("coordinates in range");
            events.push(event);
        }
        events
    }

    fn batch(&mut self, shape: Shape) -> Vec<Event> {
        match shape {
            Shape::Order => self.order(),
            Shape::Poll => self.poll(),
        }
    }

    /// Batches of `shape` holding at least `events` events in all.
    fn batches(&mut self, shape: Shape, events: usize) -> Vec<Vec<Event>> {
        let mut out = Vec::new();
        let mut total = 0;
        while total < events {
            let batch = self.batch(shape);
            total += batch.len();
            out.push(batch);
        }
        out
    }
}

fn driver(n: u128) -> UserId {
    UserId::from_uuid(Uuid::from_u128(
        0x0d00_0000_0000_0000_0000_0000_0000_0000 + n,
    ))
}

/// An OnTime local time (no offset), `seconds` after a fixed morning.
fn local_time(seconds: i64) -> OnTimeDateTime {
    let base = NaiveDate::from_ymd_opt(2026, 3, 2)
        .and_then(|d| d.and_hms_opt(6, 0, 0))
        .expect("fixed date");
    let at = base + chrono::Duration::seconds(seconds % (12 * 3600));
    at.format("%Y-%m-%dT%H:%M:%S")
        .to_string()
        .parse()
        .expect("OnTime date-time")
}

fn observed(seconds: i64) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 20, 0, 0)
        .single()
        .expect("fixed instant")
        + chrono::Duration::seconds(seconds)
}

/// Order `n`: created (every other order), submitted, assigned, picked up, delivered; one or
/// two items.
fn order_source(n: u128) -> OrderSource {
    let courier = Some(driver(n % DRIVERS));
    let start = (n % 40_000) as i64 * 3;
    let entry = |k: u128, level: StatusLevel, label: Option<&str>, minutes: i64| StatusStep {
        status: Status {
            description: None,
            id: Some(StatusId::from_uuid(Uuid::from_u128(
                0x0500_0000_0000_0000_0000_0000_0000_0000 + n * 8 + k,
            ))),
            level: Some(level),
            name: label.map(str::to_owned),
            timestamp: Some(local_time(start + minutes * 60)),
            extra: Default::default(),
        },
        driver: (k >= 3).then_some(courier).flatten(),
        observed_at: observed(start + minutes * 60 + 20),
    };
    let mut steps = Vec::with_capacity(5);
    if n.is_multiple_of(2) {
        steps.push(entry(1, StatusLevel::None, None, 0));
    }
    steps.extend([
        entry(2, StatusLevel::Dispatched, None, 1),
        entry(3, StatusLevel::Assigned, None, 5),
        entry(4, StatusLevel::AssignedInRoute, Some("Picked up"), 30),
        entry(5, StatusLevel::Delivered, None, 90),
    ]);
    let tracking = format!("{:08}", n % 100_000_000);
    OrderSource {
        order_id: OrderId::from_uuid(Uuid::from_u128(
            0x0a00_0000_0000_0000_0000_0000_0000_0000 + n,
        )),
        items: (1..=1 + (n / 2 % 2))
            .map(|i| ItemRef {
                id: None,
                tracking_number: format!("{tracking}-{i:03}"),
            })
            .collect(),
        tracking_number: Some(tracking),
        steps,
    }
}

// ---------------------------------------------------------------------------------------------
// The two sides.

/// Commits `batches` through the store, each with a cursor update and one destination; returns
/// events/s.
async fn store_side(store: &Store, batches: Vec<Vec<Event>>) -> Result<f64, BoxError> {
    let started = Instant::now();
    let mut events = 0;
    for (index, batch) in batches.into_iter().enumerate() {
        let count = batch.len();
        let last = batch.last().map(|e| e.subject.clone());
        let commit = Commit::new(ACCOUNT)
            .events(batch)
            .cursor("bench", json!({ "commit": index, "last": last }))
            .destination(DESTINATION);
        let outcome = store.commit(commit).await?;
        if outcome.stored.len() != count {
            return Err(format!(
                "the store kept {} of {count} new events",
                outcome.stored.len()
            )
            .into());
        }
        events += count;
    }
    Ok(events as f64 / started.elapsed().as_secs_f64())
}

/// A table with the store's event columns and only a primary key, stored the way the store
/// stores its own (`{int_key}`: on SQLite `INTEGER PRIMARY KEY`, the rowid, as the store's
/// `events.position`; on Postgres `BIGINT NOT NULL PRIMARY KEY`), so the ratio measures the
/// store's bookkeeping, not a cheaper key layout on one side.
const BARE_TABLE: &str = "CREATE TABLE bare_events (
    position {int_key},
    event_id TEXT NOT NULL,
    account TEXT NOT NULL,
    subject TEXT NOT NULL,
    sequence BIGINT NOT NULL,
    event_type TEXT NOT NULL,
    occurred_at_us BIGINT NOT NULL,
    payload TEXT NOT NULL
)";

/// Two read indexes (by type and time, by account and time) the store had until its queries were
/// found not to use them (see its `migrations` module): an `INFO` comparison adds them to the
/// bare table, to show what such indexes cost beside the bookkeeping.
const READ_INDEXES: [&str; 2] = [
    "CREATE INDEX bare_events_by_type_time ON bare_events (event_type, occurred_at_us)",
    "CREATE INDEX bare_events_by_account_time ON bare_events (account, occurred_at_us)",
];

/// The baseline: the same rows, one transaction per batch, multi-row `INSERT`.
struct Bare {
    pool: AnyPool,
    engine: Engine,
    position: i64,
}

impl Bare {
    /// The bare table in `pool`'s database (on `engine`), with the read indexes when
    /// `read_indexes`.
    async fn new(pool: AnyPool, engine: Engine, read_indexes: bool) -> Result<Self, BoxError> {
        let int_key = match engine {
            Engine::Sqlite => "INTEGER PRIMARY KEY",
            Engine::Postgres => "BIGINT NOT NULL PRIMARY KEY",
        };
        pool.execute(BARE_TABLE.replace("{int_key}", int_key).as_str())
            .await?;
        if read_indexes {
            for index in READ_INDEXES {
                pool.execute(index).await?;
            }
        }
        Ok(Self {
            pool,
            engine,
            position: 0,
        })
    }

    /// Inserts `batches`; returns events/s.
    async fn side(&mut self, batches: Vec<Vec<Event>>) -> Result<f64, BoxError> {
        let started = Instant::now();
        let mut events = 0;
        for batch in batches {
            events += batch.len();
            let mut rows = Vec::with_capacity(batch.len());
            for (index, mut event) in batch.into_iter().enumerate() {
                self.position += 1;
                // The same JSON as the store writes (its sequence set), no lookup behind it.
                event.sequence = Some(index as u64 + 1);
                let payload = serde_json::to_string(&event)?;
                rows.push((self.position, event, payload));
            }
            let mut tx = self.pool.begin().await?;
            for chunk in rows.chunks(ROWS_PER_STATEMENT) {
                let sql = format!(
                    "INSERT INTO bare_events (position, event_id, account, subject, sequence, event_type, occurred_at_us, payload) VALUES {}",
                    tuples(chunk.len(), 8)
                );
                // On SQLite anonymous placeholders, as the store sends there (SQLite resolves
                // numbered ones by a walk per parameter, quadratic in a multi-row insert).
                let sql = match self.engine {
                    Engine::Sqlite => anonymous(&sql),
                    Engine::Postgres => sql,
                };
                let mut query = sqlx::query(&sql);
                for (position, event, payload) in chunk {
                    query = query
                        .bind(*position)
                        .bind(event.event_id.as_str().to_owned())
                        .bind(event.account.clone())
                        .bind(event.subject.clone())
                        .bind(event.sequence.map_or(0, |s| s as i64))
                        .bind(event.event_type.as_str())
                        .bind(event.occurred_at.timestamp_micros())
                        .bind(payload.clone());
                }
                query.execute(&mut *tx).await?;
            }
            tx.commit().await?;
        }
        Ok(events as f64 / started.elapsed().as_secs_f64())
    }
}

/// `sql` with every `$N` written `?` (the bare insert numbers its placeholders in order).
fn anonymous(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' {
            out.push('?');
            while chars.next_if(char::is_ascii_digit).is_some() {}
        } else {
            out.push(c);
        }
    }
    out
}

/// `($1, ..., $columns), (...), ...`: `rows` tuples of numbered placeholders.
fn tuples(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|row| {
            let cells: Vec<String> = (1..=columns)
                .map(|c| format!("${}", row * columns + c))
                .collect();
            format!("({})", cells.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Events/s of one round on each side.
#[derive(Clone, Copy, Debug)]
struct Round {
    store: f64,
    bare: f64,
    /// The bare insert into a table with the two read indexes.
    indexed: f64,
}

/// Rounds of the store, the bare insert and the indexed bare insert over the same events, in
/// an order that alternates (store first, then last). One unmeasured warm-up round first.
async fn compare(
    store: &Store,
    bare: &mut Bare,
    indexed: &mut Bare,
    shape: Shape,
    plan: &Plan,
) -> Result<Vec<Round>, BoxError> {
    let mut workload = Workload::new();
    let mut rounds = Vec::with_capacity(plan.rounds);
    for round in 0..=plan.rounds {
        let events = if round == 0 {
            plan.events_per_round / 4
        } else {
            plan.events_per_round
        };
        let batches = workload.batches(shape, events);
        let (copy, other) = (batches.clone(), batches.clone());
        let measured = if round.is_multiple_of(2) {
            let store = store_side(store, batches).await?;
            let bare = bare.side(copy).await?;
            let indexed = indexed.side(other).await?;
            Round {
                store,
                bare,
                indexed,
            }
        } else {
            let indexed = indexed.side(other).await?;
            let bare = bare.side(copy).await?;
            let store = store_side(store, batches).await?;
            Round {
                store,
                bare,
                indexed,
            }
        };
        if round > 0 {
            rounds.push(measured);
        }
    }
    Ok(rounds)
}

/// Reports the ratio of one engine and shape, and the absolute rates as `INFO`.
fn summarise(engine: &str, shape: Shape, rounds: &[Round], batch_events: f64) {
    let pairs: Vec<(f64, f64)> = rounds.iter().map(|r| (r.store, r.bare)).collect();
    let pairs = pairs.as_slice();
    let metric = format!("{engine}_{}_ratio", shape.name());
    let Some(ratio) = paired_ratio(pairs) else {
        report(NAME, &metric, 0.0, &format!(">={RATIO_GOAL}"), false);
        return;
    };
    let store: Vec<f64> = pairs.iter().map(|p| p.0).collect();
    let bare: Vec<f64> = pairs.iter().map(|p| p.1).collect();
    info(
        NAME,
        &format!(
            "{engine} {} batches (~{batch_events:.1} events/commit): store {:.0} events/s, bare insert {:.0} events/s (medians); {}",
            shape.name(),
            ontime_bench::median(&store).unwrap_or(0.0),
            ontime_bench::median(&bare).unwrap_or(0.0),
            ratio.spread_text()
        ),
    );
    report(
        NAME,
        &metric,
        ratio.median,
        &format!(">={RATIO_GOAL}"),
        ratio.median >= RATIO_GOAL,
    );
    let indexed: Vec<(f64, f64)> = rounds.iter().map(|r| (r.store, r.indexed)).collect();
    if let Some(ratio) = paired_ratio(&indexed) {
        info(
            NAME,
            &format!(
                "{engine} {}: store / bare insert into a table with two read indexes (type/time, account/time) = {:.3} ({}); that bare insert {:.0} events/s",
                shape.name(),
                ratio.median,
                ratio.spread_text(),
                ontime_bench::median(&rounds.iter().map(|r| r.indexed).collect::<Vec<_>>())
                    .unwrap_or(0.0)
            ),
        );
    }
}

/// Mean events per batch of `shape` (over a sample).
fn events_per_batch(shape: Shape) -> f64 {
    let mut workload = Workload::new();
    let batches: Vec<usize> = (0..200).map(|_| workload.batch(shape).len()).collect();
    batches.iter().sum::<usize>() as f64 / batches.len() as f64
}

// ---------------------------------------------------------------------------------------------
// SQLite.

async fn sqlite_ratios(plan: &Plan) -> Result<(), BoxError> {
    for shape in [Shape::Order, Shape::Poll] {
        let dir = tempfile::tempdir()?;
        let store = Store::open_sqlite(&dir.path().join("store.db")).await?;
        let mut bare = Bare::new(
            Store::sqlite_pool(&dir.path().join("bare.db")).await?,
            Engine::Sqlite,
            false,
        )
        .await?;
        let mut indexed = Bare::new(
            Store::sqlite_pool(&dir.path().join("indexed.db")).await?,
            Engine::Sqlite,
            true,
        )
        .await?;
        let pairs = compare(&store, &mut bare, &mut indexed, shape, plan).await?;
        store.close().await;
        bare.pool.close().await;
        indexed.pool.close().await;
        summarise("sqlite", shape, &pairs, events_per_batch(shape));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Postgres.

/// This run's schemas on the Postgres server, dropped when it ends (also on a panic).
struct PgSchemas {
    admin_url: String,
    names: Vec<String>,
}

impl PgSchemas {
    /// Creates the schemas, or says why the server is not there.
    async fn create(admin_url: &str, names: &[String]) -> Result<Self, String> {
        let connect = sqlx::AnyConnection::connect(admin_url);
        let mut conn = match tokio::time::timeout(Duration::from_secs(5), connect).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => return Err(e.to_string()),
            Err(_) => return Err("timed out".to_owned()),
        };
        let schemas = Self {
            admin_url: admin_url.to_owned(),
            names: names.to_vec(),
        };
        for name in names {
            sqlx::raw_sql(&format!(
                "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
            ))
            .execute(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        }
        conn.close().await.ok();
        Ok(schemas)
    }

    /// `admin_url` with `search_path` set to `schema`.
    fn url(&self, schema: &str) -> String {
        let separator = if self.admin_url.contains('?') {
            '&'
        } else {
            '?'
        };
        format!(
            "{}{separator}options=-c%20search_path%3D{schema}",
            self.admin_url
        )
    }
}

impl Drop for PgSchemas {
    fn drop(&mut self) {
        let (url, names) = (self.admin_url.clone(), std::mem::take(&mut self.names));
        // A thread of its own: the caller's runtime may be busy or gone.
        let dropped = std::thread::spawn(move || -> Result<(), BoxError> {
            runtime()?.block_on(async {
                let mut conn = sqlx::AnyConnection::connect(&url).await?;
                for name in names {
                    sqlx::raw_sql(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                        .execute(&mut conn)
                        .await?;
                }
                conn.close().await.ok();
                Ok(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("sync_store: could not drop the benchmark's Postgres schemas");
        }
    }
}

async fn postgres_ratios(plan: &Plan) -> Result<(), BoxError> {
    let admin_url =
        std::env::var("ONTIME_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES.to_owned());
    let pid = std::process::id();
    let names = [
        format!("bench_store_{pid}"),
        format!("bench_bare_{pid}"),
        format!("bench_indexed_{pid}"),
    ];
    let schemas = match PgSchemas::create(&admin_url, &names).await {
        Ok(schemas) => schemas,
        Err(why) => {
            let required = std::env::var("ONTIME_REQUIRE_SERVICES").as_deref() == Ok("1");
            info(NAME, &format!("postgres unreachable: {why}"));
            if required {
                for shape in [Shape::Order, Shape::Poll] {
                    let metric = format!("postgres_{}_ratio", shape.name());
                    report(NAME, &metric, 0.0, &format!(">={RATIO_GOAL}"), false);
                }
            } else {
                info(
                    NAME,
                    "postgres figures skipped (not measured; ONTIME_REQUIRE_SERVICES=1 makes this a failure)",
                );
            }
            return Ok(());
        }
    };
    for shape in [Shape::Order, Shape::Poll] {
        // Fresh tables for each shape, as on SQLite.
        for name in &names {
            let mut conn = sqlx::AnyConnection::connect(&schemas.admin_url).await?;
            sqlx::raw_sql(&format!(
                "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
            ))
            .execute(&mut conn)
            .await?;
            conn.close().await.ok();
        }
        let store = Store::open(&schemas.url(&names[0])).await?;
        let pool = |schema: String| async move {
            AnyPoolOptions::new()
                .max_connections(8)
                .connect(&schema)
                .await
        };
        let mut bare =
            Bare::new(pool(schemas.url(&names[1])).await?, Engine::Postgres, false).await?;
        let mut indexed =
            Bare::new(pool(schemas.url(&names[2])).await?, Engine::Postgres, true).await?;
        let pairs = compare(&store, &mut bare, &mut indexed, shape, plan).await?;
        store.close().await;
        bare.pool.close().await;
        indexed.pool.close().await;
        summarise("postgres", shape, &pairs, events_per_batch(shape));
    }
    drop(schemas);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Peak RSS.

/// Runs the child that commits `events` events and reports its peak RSS.
fn peak_rss(events: usize) -> Result<(), BoxError> {
    let dir = tempfile::tempdir()?;
    let exe = std::env::current_exe()?;
    let started = Instant::now();
    let mut child = Command::new(exe)
        .arg("--rss-child")
        .arg(events.to_string())
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("child stdout")?;
    let mut peaks: Vec<(usize, u64)> = Vec::new();
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line?;
        if let Some(rest) = line.strip_prefix("HWM ")
            && let Some((n, bytes)) = rest.split_once(' ')
        {
            peaks.push((n.parse()?, bytes.parse()?));
        }
    }
    let status = child.wait()?;
    if !status.success() {
        return Err(format!("the RSS child failed: {status}").into());
    }
    let secs = started.elapsed().as_secs_f64();
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    let text: Vec<String> = peaks
        .iter()
        .map(|(n, b)| format!("{n} events: {:.1} MiB", mib(*b)))
        .collect();
    info(
        NAME,
        &format!(
            "rss run: {events} events into SQLite in poll batches, {secs:.1} s ({:.0} events/s); peak after {}",
            events as f64 / secs,
            text.join(", ")
        ),
    );
    let (n, peak) = peaks
        .last()
        .copied()
        .ok_or("the RSS child reported nothing")?;
    if n < events {
        return Err(format!("the RSS child stopped after {n} of {events} events").into());
    }
    let metric = if events >= 1_000_000 {
        format!("peak_rss_mib_{}m_events", events / 1_000_000)
    } else {
        format!("peak_rss_mib_{}k_events", events / 1_000)
    };
    let value = mib(peak);
    report(
        NAME,
        &metric,
        value,
        &format!("<={RSS_GOAL_MIB}"),
        value > 0.0 && value <= RSS_GOAL_MIB,
    );
    Ok(())
}

/// The child: commits `events` events into a fresh SQLite store in `dir`, printing
/// `HWM <events so far> <VmHWM bytes>` after a tenth, half, and all of them.
async fn rss_child(events: usize, dir: &Path) -> Result<(), BoxError> {
    sqlx::any::install_default_drivers();
    let store = Store::open_sqlite(&dir.join("store.db")).await?;
    let mut workload = Workload::new();
    let checkpoints = [events / 10, events / 2];
    let mut next = 0;
    let mut done = 0;
    while done < events {
        let batch = workload.poll();
        let count = batch.len();
        let commit = Commit::new(ACCOUNT)
            .events(batch)
            .cursor("bench", json!({ "committed": done }))
            .destination(DESTINATION);
        let outcome = store.commit(commit).await?;
        if outcome.stored.len() != count {
            return Err("the store dropped new events".into());
        }
        done += count;
        if next < checkpoints.len() && done >= checkpoints[next] {
            println!("HWM {done} {}", peak_rss_bytes().unwrap_or(0));
            next += 1;
        }
    }
    store.close().await;
    println!("HWM {done} {}", peak_rss_bytes().unwrap_or(0));
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use ontime_sync::event::EventType;

    use super::*;

    #[test]
    fn orders_give_six_to_nine_events_and_polls_a_hundred_plus_positions() {
        let mut workload = Workload::new();
        let mut ids = HashSet::new();
        let mut sizes = HashSet::new();
        for _ in 0..8 {
            let order = workload.order();
            sizes.insert(order.len());
            assert!(order.iter().all(|e| e.subject == order[0].subject));
            ids.extend(order.into_iter().map(|e| e.event_id));
        }
        assert_eq!(sizes, HashSet::from([6, 7, 8, 9]));
        for _ in 0..3 {
            let poll = workload.poll();
            let positions = poll
                .iter()
                .filter(|e| e.event_type == EventType::DriverPosition)
                .count();
            assert_eq!(positions, POLL_DRIVERS as usize);
            assert!(poll.len() - positions >= POLL_EVENTS, "{}", poll.len());
            let count = ids.len();
            let added = poll.len();
            ids.extend(poll.into_iter().map(|e| e.event_id));
            assert_eq!(ids.len(), count + added, "every event id is new");
        }
    }

    #[test]
    fn tuples_number_placeholders_row_by_row() {
        assert_eq!(tuples(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(tuples(1, 1), "($1)");
        assert_eq!(anonymous(&tuples(2, 2)), "(?, ?), (?, ?)");
        assert_eq!(anonymous(&tuples(1, 12)).matches('?').count(), 12);
    }
}
