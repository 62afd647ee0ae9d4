//! The crash harness: one simulator per account in running mode (a fast clock, a living account,
//! workflow notifications to a daemon's inbound URL), `ontime sync run` processes spawned and
//! killed with SIGKILL, and the store checked against the simulators' ground truth.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use ontime_mock::{
    ActivityConfig, Change, NotifyConfig, OnTimeMock, PersonalData, RunningMock, TruthChange,
};
use ontime_sync::store::{EventQuery, EventStore, Store};

/// Simulated seconds per real second: an order's lifecycle (hours) takes seconds.
pub const SPEED: f64 = 500.0;
/// New orders per simulated hour.
pub const RATE: f64 = 30.0;
/// The lease TTL of every worker (the least `sync.toml` allows).
pub const LEASE_TTL: Duration = Duration::from_secs(3);

/// The seed of a run: `ONTIME_CRASH_SEED` to replay one, else the clock's nanoseconds. Printed.
pub fn seed(test: &str) -> u64 {
    let seed = match std::env::var("ONTIME_CRASH_SEED") {
        Ok(text) => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("ONTIME_CRASH_SEED={text:?} is not a number")),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1),
    };
    eprintln!("{test}: ONTIME_CRASH_SEED={seed} (set it to replay this run)");
    seed
}

/// A free port on 127.0.0.1 (the daemons listen on a fixed port: the simulators' notification
/// URL must survive restarts).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// One OnTime account: its simulator, key and inbound token.
pub struct Account {
    /// The account's name in `sync.toml` and in the store.
    pub name: String,
    /// Its simulator.
    pub mock: RunningMock,
    /// Its inbound token.
    pub token: String,
}

/// The simulators of a test and the runtime that serves them.
pub struct Fleet {
    /// The accounts.
    pub accounts: Vec<Account>,
    rt: tokio::runtime::Runtime,
}

impl Fleet {
    /// `n` accounts, each a simulator with `orders` new orders at [`RATE`] and [`SPEED`], its
    /// notifications to `http://127.0.0.1:{notify_port}/inbound/{token}` (two quick attempts:
    /// while no daemon listens they are lost, as OnTime's emitter gives up).
    pub fn start(n: usize, orders: usize, seed: u64, notify_port: u16) -> Self {
        Self::start_with(n, orders, seed, notify_port, None)
    }

    /// [`Fleet::start`], the activity seeded with `personal` values when given (the redaction
    /// scan looks for them in everything that leaves the daemon).
    pub fn start_with(
        n: usize,
        orders: usize,
        seed: u64,
        notify_port: u16,
        personal: Option<PersonalData>,
    ) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let start = NaiveDate::from_ymd_opt(2026, 11, 24)
            .and_then(|d| d.and_hms_opt(8, 0, 0))
            .expect("date");
        let accounts = (0..n)
            .map(|i| {
                let name = format!("acct{i}");
                let token = format!("crash-inbound-token-{i}-0123456789abcdef");
                let notify =
                    NotifyConfig::new(&format!("http://127.0.0.1:{notify_port}/inbound/{token}"))
                        .expect("notify URL")
                        .attempts(2)
                        .backoff(Duration::from_millis(20))
                        .timeout(Duration::from_secs(2));
                let mut activity = ActivityConfig::new(RATE)
                    .seed(seed.wrapping_add(i as u64))
                    .orders(orders)
                    .notify(notify);
                if let Some(personal) = &personal {
                    activity = activity.personal(personal.clone());
                }
                let mock = rt
                    .block_on(
                        OnTimeMock::builder()
                            .seed(seed.wrapping_add(100 + i as u64))
                            .orders(5)
                            .api_key(format!("crash-key-{i}-0123456789"))
                            .daily_quota(100_000_000)
                            .monthly_quota(1_000_000_000)
                            .clock_start(start)
                            .clock_speed(SPEED)
                            .activity(activity)
                            .start(),
                    )
                    .expect("simulator starts");
                Account { name, mock, token }
            })
            .collect();
        Self { accounts, rt }
    }

    /// Waits until every account's activity has finished (fails after `timeout`).
    pub fn wait_finished(&self, timeout: Duration) {
        for account in &self.accounts {
            let activity = account.mock.activity().expect("activity on");
            self.rt
                .block_on(async { tokio::time::timeout(timeout, activity.finished()).await })
                .unwrap_or_else(|_| {
                    panic!(
                        "{}: the activity did not finish within {timeout:?} ({} changes so far)",
                        account.name,
                        activity.truth_len()
                    )
                });
        }
    }

    /// Runs `future` on the fleet's runtime.
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.rt.block_on(future)
    }

    /// A handle on the fleet's runtime (to serve receivers beside the simulators).
    pub fn handle(&self) -> tokio::runtime::Handle {
        self.rt.handle().clone()
    }

    /// Writes `sync.toml` for worker `worker` (its key and token files beside it) into `dir`.
    pub fn write_config(&self, dir: &Path, store_url: &str, worker: &str, port: u16) -> PathBuf {
        self.write_config_with(
            dir,
            store_url,
            worker,
            port,
            "sources = [\"inbound\", \"poll\", \"reconcile\"]",
            "",
        )
    }

    /// [`Fleet::write_config`] with `sources` as each account's source lines (`sources = […]`,
    /// `drivers.…`) and `extra` TOML appended (the destinations: `[[webhook]]`, `[[nats]]`).
    pub fn write_config_with(
        &self,
        dir: &Path,
        store_url: &str,
        worker: &str,
        port: u16,
        sources: &str,
        extra: &str,
    ) -> PathBuf {
        let mut text = format!(
            "[store]\nurl = \"{store_url}\"\n\n[worker]\nid = \"{worker}\"\nlease_ttl = \"{}s\"\n\n\
             [http]\nlisten = \"127.0.0.1:{port}\"\n",
            LEASE_TTL.as_secs()
        );
        for account in &self.accounts {
            let name = &account.name;
            std::fs::write(
                dir.join(format!("{name}.key")),
                format!("{}\n", account.mock.api_key()),
            )
            .expect("key file");
            std::fs::write(
                dir.join(format!("{name}.token")),
                format!("{}\n", account.token),
            )
            .expect("token file");
            text.push_str(&format!(
                r#"
[[account]]
name = "{name}"
url = "{url}"
api_key_file = "{name}.key"
time_zone = "America/Chicago"
plan = {{ daily = 1000000, share = 1.0 }}
{sources}
inbound.token_file = "{name}.token"
"#,
                url = account.mock.base_url()
            ));
        }
        text.push_str(extra);
        let path = dir.join(format!("sync-{worker}.toml"));
        std::fs::write(&path, text).expect("config");
        path
    }
}

/// What the child logged, as the harness reads it.
enum Line {
    /// An ordinary line.
    Text(String),
    /// The child's stderr closed.
    Closed,
}

/// A spawned `ontime sync run`.
pub struct Daemon {
    child: Child,
    lines: mpsc::Receiver<Line>,
    /// Every line read so far.
    pub log: Vec<String>,
    /// "events committed" lines read so far.
    pub commits: usize,
    /// Delivery outcome lines (`ontime_sync::deliver::dispatch` at debug) read so far.
    pub deliveries: usize,
    /// Accounts this daemon logged "lease acquired" for, with when the line was read.
    pub acquired: Vec<(String, Instant)>,
    closed: bool,
}

impl Daemon {
    /// Spawns `ontime sync run --config CONFIG` (logs at debug for `ontime_sync`: the
    /// "events committed" lines are the kill signal).
    pub fn spawn(config: &Path) -> Self {
        Self::spawn_with(config, None, "info,ontime_sync::run::worker=debug")
    }

    /// Spawns `ontime sync run --config CONFIG [--role ROLE]` with `RUST_LOG=rust_log`; stdout
    /// and stderr are both read into [`Daemon::log`] (a redaction scan reads every line).
    pub fn spawn_with(config: &Path, role: Option<&str>, rust_log: &str) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ontime"));
        command.args(["sync", "run", "--config"]).arg(config);
        if let Some(role) = role {
            command.args(["--role", role]);
        }
        let mut child = command
            .env("RUST_LOG", rust_log)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ontime sync run");
        let stderr = child.stderr.take().expect("stderr piped");
        let stdout = child.stdout.take().expect("stdout piped");
        let (tx, lines) = mpsc::channel();
        let out = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if out.send(Line::Text(line)).is_err() {
                    return;
                }
            }
        });
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(Line::Text(line)).is_err() {
                    return;
                }
            }
            let _ = tx.send(Line::Closed);
        });
        Self {
            child,
            lines,
            log: Vec::new(),
            commits: 0,
            deliveries: 0,
            acquired: Vec::new(),
            closed: false,
        }
    }

    fn take(&mut self, line: Line) {
        match line {
            Line::Text(line) => {
                if line.contains("events committed") {
                    self.commits += 1;
                }
                if line.contains(" delivery ") && line.contains("outcome=") {
                    self.deliveries += 1;
                }
                if line.contains("lease acquired")
                    && let Some(account) = field(&line, "account")
                {
                    self.acquired.push((account, Instant::now()));
                }
                self.log.push(line);
            }
            Line::Closed => self.closed = true,
        }
    }

    /// Reads lines until `done` holds or `timeout` passes; whether `done` held.
    pub fn wait_until(&mut self, timeout: Duration, mut done: impl FnMut(&Self) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        while !done(self) {
            if self.closed {
                return false;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.take(line),
                Err(_) => return done(self),
            }
        }
        true
    }

    /// Reads what the child logged so far without waiting.
    pub fn drain(&mut self) {
        while let Ok(line) = self.lines.try_recv() {
            self.take(line);
        }
    }

    /// Whether the child has exited by itself (a crash the test did not cause).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().expect("try_wait")
    }

    /// SIGKILL (`Child::kill` on Unix) and reap: no shutdown code runs, leases stay held.
    pub fn kill(mut self) -> Vec<String> {
        if let Some(status) = self.exited() {
            self.drain();
            panic!("the daemon exited by itself ({status}): {:#?}", self.log);
        }
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
        self.drain();
        self.log
    }

    /// Sends `signal` (`STOP`, `CONT`) to the child with `kill(1)`.
    pub fn signal(&self, signal: &str) {
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .expect("kill(1)");
        assert!(sent.success(), "kill -{signal} failed");
    }

    /// Whether the daemon announced its address (its signal handlers are installed by then).
    pub fn listening(&self) -> bool {
        self.log
            .iter()
            .any(|l| l.starts_with("ontime sync: listening on"))
    }

    /// SIGTERM (once the daemon listens: before that, SIGTERM kills it) and wait for exit 0
    /// (the leases released).
    pub fn terminate(mut self) -> Vec<String> {
        if !self.wait_until(Duration::from_secs(60), Self::listening) {
            panic!("the daemon never listened: {:#?}", self.log);
        }
        let term = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(term.success());
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(self.child.wait());
        });
        let status = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the daemon stops after SIGTERM")
            .expect("wait");
        let mut log = std::mem::take(&mut self.log);
        log.extend(self.lines.try_iter().filter_map(|l| match l {
            Line::Text(t) => Some(t),
            Line::Closed => None,
        }));
        assert_eq!(status.code(), Some(0), "{log:#?}");
        log
    }
}

/// `name=value` from a tracing line (the value up to the next space).
fn field(line: &str, name: &str) -> Option<String> {
    let start = line.find(&format!("{name}="))? + name.len() + 1;
    let rest = &line[start..];
    let value = rest.split_whitespace().next()?;
    Some(value.trim_matches('"').to_owned())
}

/// The order status changes of a truth: status id → what it was (for messages).
pub fn truth_statuses(truth: &[TruthChange]) -> BTreeMap<uuid::Uuid, String> {
    truth
        .iter()
        .filter_map(|c| match &c.change {
            Change::OrderStatus {
                order,
                status_id,
                level,
                label,
                step,
                ..
            } => Some((
                *status_id,
                format!(
                    "#{} at {}: order {order} {step:?} level {level} {label:?}",
                    c.seq, c.at
                ),
            )),
            _ => None,
        })
        .collect()
}

/// Every event of `account` in the store, in position order.
pub async fn all_events(store: &Store, account: &str) -> Vec<ontime_sync::store::StoredEvent> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = store
            .query(&EventQuery {
                account: Some(account.to_owned()),
                after,
                limit: 1000,
                ..Default::default()
            })
            .await
            .expect("query the store");
        let Some(last) = page.last() else {
            return out;
        };
        after = last.position;
        out.extend(page);
    }
}

/// The order events' status ids in `events`, counted.
fn status_counts(events: &[ontime_sync::store::StoredEvent]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for stored in events {
        let event = &stored.event;
        if !event.event_type.as_str().starts_with("order.") {
            continue;
        }
        if let Some(id) = event.ontime.as_ref().and_then(|o| o.status_id) {
            *counts.entry(id.to_string()).or_insert(0) += 1;
        }
    }
    counts
}

/// How many of `truth`'s status changes have an order event in the store.
pub async fn caught(store: &Store, account: &str, truth: &BTreeMap<uuid::Uuid, String>) -> usize {
    let counts = status_counts(&all_events(store, account).await);
    truth
        .keys()
        .filter(|id| counts.contains_key(&id.to_string()))
        .count()
}

/// What [`check`] found.
#[derive(Debug)]
pub struct Verdict {
    /// Events stored for the account.
    pub events: usize,
    /// Truth status changes.
    pub truth: usize,
}

/// The invariants after a crash run, for one account: every truth status change has exactly one
/// order event (by `ontime.status_id`); no status id has two order events; no event id twice;
/// every subject's sequence is 1, 2, … without gaps.
pub async fn check(store: &Store, account: &str, truth: &BTreeMap<uuid::Uuid, String>) -> Verdict {
    let events = all_events(store, account).await;
    let counts = status_counts(&events);
    let lost: Vec<_> = truth
        .iter()
        .filter(|(id, _)| !counts.contains_key(&id.to_string()))
        .collect();
    assert!(
        lost.is_empty(),
        "{account}: {} of {} status changes lost (status id, order): {lost:?}",
        lost.len(),
        truth.len()
    );
    let doubled: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        doubled.is_empty(),
        "{account}: status ids with more than one order event: {doubled:?}"
    );
    let mut ids = BTreeSet::new();
    let mut sequences: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for stored in &events {
        assert!(
            ids.insert(stored.event.event_id.clone()),
            "{account}: event {:?} stored twice",
            stored.event.event_id
        );
        if let Some(seq) = stored.event.sequence {
            sequences
                .entry(stored.event.subject.as_str())
                .or_default()
                .push(seq);
        }
    }
    for (subject, mut seqs) in sequences {
        seqs.sort_unstable();
        assert_eq!(
            seqs,
            (1..=seqs.len() as u64).collect::<Vec<_>>(),
            "{account}: the sequence of {subject} has gaps or repeats"
        );
    }
    Verdict {
        events: events.len(),
        truth: truth.len(),
    }
}

/// Waits until the store holds an order event for every truth status change of `account`
/// (checked after each "events committed" line of `daemon`, and at least every second);
/// fails after `timeout` with what is missing.
pub fn wait_caught_up(
    fleet: &Fleet,
    store: &Store,
    daemon: &mut [&mut Daemon],
    account: &str,
    truth: &BTreeMap<uuid::Uuid, String>,
    timeout: Duration,
) {
    let deadline = Instant::now() + timeout;
    loop {
        let have = fleet.block_on(caught(store, account, truth));
        if have == truth.len() {
            return;
        }
        if Instant::now() >= deadline {
            let events = fleet.block_on(all_events(store, account));
            let counts = status_counts(&events);
            let missing: Vec<&String> = truth
                .iter()
                .filter(|(id, _)| !counts.contains_key(&id.to_string()))
                .map(|(_, what)| what)
                .collect();
            let logs: Vec<(Option<std::process::ExitStatus>, Vec<&String>)> = daemon
                .iter_mut()
                .map(|d| (d.exited(), d.log.iter().rev().take(30).collect()))
                .collect();
            panic!(
                "{account}: only {have} of {} status changes stored after {timeout:?}; missing: \
                 {missing:#?}; last log lines: {logs:#?}",
                truth.len()
            );
        }
        // The next commit of any daemon (or a second) is when to look again.
        let per = Duration::from_millis(1000 / daemon.len().max(1) as u64);
        for d in daemon.iter_mut() {
            let seen = d.commits;
            d.wait_until(per, |d| d.commits > seen);
        }
    }
}

/// A Postgres schema of the test's own (dropped when this is dropped), reached with
/// `search_path` in the URL. `None` (with a notice) when no server answers at
/// `ONTIME_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`), unless
/// `ONTIME_REQUIRE_SERVICES=1`: then the test fails.
pub struct PgSchema {
    /// The store URL for `sync.toml`.
    pub url: String,
    admin: String,
    schema: String,
}

impl PgSchema {
    /// Creates schema `{prefix}_{pid}` (dropped first if a failed run left it).
    pub fn create(prefix: &str) -> Option<Self> {
        let admin = std::env::var("ONTIME_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let schema = format!("{prefix}_{}", std::process::id());
        let create = format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}");
        if let Err(why) = Self::execute(&admin, &create) {
            if std::env::var("ONTIME_REQUIRE_SERVICES").as_deref() == Ok("1") {
                panic!("Postgres required (ONTIME_REQUIRE_SERVICES=1) but unreachable: {why}");
            }
            eprintln!("notice: skipping a Postgres crash test: no server ({why})");
            return None;
        }
        let separator = if admin.contains('?') { '&' } else { '?' };
        let url = format!("{admin}{separator}options=-c%20search_path%3D{schema}");
        Some(Self { url, admin, schema })
    }

    /// The (destination, position) of every live claim `worker` holds in the outbox.
    pub fn claims_of(&self, worker: &str) -> Vec<(String, i64)> {
        use sqlx::{Connection, Row};
        let now = chrono::Utc::now().timestamp_micros();
        let sql = format!(
            "SELECT destination, position FROM outbox WHERE claimed_by = '{}' AND claim_until_us > {now}",
            worker.replace('\'', "''")
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let mut conn = sqlx::AnyConnection::connect(&self.url)
                .await
                .expect("connect to Postgres");
            let rows = sqlx::query(&sql)
                .fetch_all(&mut conn)
                .await
                .expect("read the claims");
            let claims = rows
                .iter()
                .map(|row| {
                    (
                        row.try_get::<String, _>(0).expect("destination"),
                        row.try_get::<i64, _>(1).expect("position"),
                    )
                })
                .collect();
            conn.close().await.ok();
            claims
        })
    }

    fn execute(url: &str, sql: &str) -> Result<(), String> {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rt.block_on(async {
            let mut conn =
                tokio::time::timeout(Duration::from_secs(5), sqlx::AnyConnection::connect(url))
                    .await
                    .map_err(|_| "timed out".to_owned())?
                    .map_err(|e| e.to_string())?;
            sqlx::raw_sql(sql)
                .execute(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
            conn.close().await.map_err(|e| e.to_string())
        })
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let drop = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema);
        if let Err(why) = Self::execute(&self.admin, &drop) {
            eprintln!("warning: schema {} not dropped: {why}", self.schema);
        }
    }
}

/// A JetStream stream of the test's own on the server at `ONTIME_TEST_NATS_URL` (default
/// `nats://127.0.0.1:4222`), deleted when this is dropped. `None` (with a notice) when no server
/// answers, unless `ONTIME_REQUIRE_SERVICES=1`: then the test fails.
pub struct NatsStream {
    url: String,
    /// The stream's name (`ONTIME_{TAG}_{pid}`).
    pub name: String,
    /// The destination's subject prefix (`ontimecrash.{tag}.{pid}`).
    pub prefix: String,
}

/// One message read back from a [`NatsStream`].
pub struct NatsMessage {
    /// Its `Nats-Msg-Id` header (empty when absent).
    pub msg_id: String,
    /// Its subject.
    pub subject: String,
    /// Its payload, as text.
    pub body: String,
}

impl NatsStream {
    /// Checks that a server answers and removes a leftover stream of the same name.
    pub fn create(tag: &str) -> Option<Self> {
        let url = std::env::var("ONTIME_TEST_NATS_URL")
            .unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned());
        let pid = std::process::id();
        let this = Self {
            name: format!("ONTIME_{}_{pid}", tag.to_uppercase()),
            prefix: format!("ontimecrash.{tag}.{pid}"),
            url,
        };
        match Self::run(&this.url, {
            let name = this.name.clone();
            move |js| async move {
                js.delete_stream(&name).await.ok();
                Ok(())
            }
        }) {
            Ok(()) => Some(this),
            Err(why) => {
                if std::env::var("ONTIME_REQUIRE_SERVICES").as_deref() == Ok("1") {
                    panic!("NATS required (ONTIME_REQUIRE_SERVICES=1) but unreachable: {why}");
                }
                eprintln!(
                    "notice: NATS destination left out: no server at {} ({why})",
                    this.url
                );
                None
            }
        }
    }

    /// Runs `work` with a fresh connection on a runtime of its own (on its own thread: the
    /// caller may be inside another runtime).
    fn run<T, F, Fut>(url: &str, work: F) -> Result<T, String>
    where
        T: Send + 'static,
        F: FnOnce(async_nats::jetstream::Context) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<T, String>>,
    {
        let url = url.to_owned();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async {
                let connect = async_nats::ConnectOptions::new()
                    .connection_timeout(Duration::from_secs(3))
                    .connect(url.as_str());
                let client = tokio::time::timeout(Duration::from_secs(5), connect)
                    .await
                    .map_err(|_| "timed out".to_owned())?
                    .map_err(|e| e.to_string())?;
                work(async_nats::jetstream::new(client)).await
            })
        })
        .join()
        .map_err(|_| "the NATS thread panicked".to_owned())?
    }

    /// The `[[nats]]` section of a destination `name` on this stream, `extra` lines appended.
    pub fn toml(&self, name: &str, extra: &str) -> String {
        format!(
            "\n[[nats]]\nname = \"{name}\"\nurl = \"{}\"\nstream = \"{}\"\nsubject_prefix = \"{}\"\n{extra}\n",
            self.url, self.name, self.prefix
        )
    }

    /// Every message of the stream, in stream order (an ephemeral pull consumer, no acks).
    pub fn read_back(&self) -> Vec<NatsMessage> {
        use async_nats::jetstream::consumer::{AckPolicy, pull};
        use futures::StreamExt as _;
        let name = self.name.clone();
        Self::run(&self.url, move |js| async move {
            let stream = js.get_stream(&name).await.map_err(|e| e.to_string())?;
            let consumer = stream
                .create_consumer(pull::Config {
                    ack_policy: AckPolicy::None,
                    ..Default::default()
                })
                .await
                .map_err(|e| e.to_string())?;
            let mut out = Vec::new();
            loop {
                let mut batch = consumer
                    .fetch()
                    .max_messages(500)
                    .messages()
                    .await
                    .map_err(|e| e.to_string())?;
                let before = out.len();
                while let Some(message) = batch.next().await {
                    let message = message.map_err(|e| e.to_string())?;
                    let msg_id = message
                        .headers
                        .as_ref()
                        .and_then(|h| h.get("Nats-Msg-Id"))
                        .map(|v| v.as_str().to_owned())
                        .unwrap_or_default();
                    out.push(NatsMessage {
                        msg_id,
                        subject: message.subject.to_string(),
                        body: String::from_utf8_lossy(&message.payload).into_owned(),
                    });
                }
                if out.len() == before {
                    return Ok(out);
                }
            }
        })
        .expect("read the NATS stream back")
    }
}

impl Drop for NatsStream {
    fn drop(&mut self) {
        let name = self.name.clone();
        let deleted = Self::run(&self.url, move |js| async move {
            match js.delete_stream(&name).await {
                Ok(_) => Ok(()),
                Err(e) if e.to_string().contains("not found") => Ok(()),
                Err(e) => Err(e.to_string()),
            }
        });
        if let Err(why) = deleted {
            eprintln!("warning: stream {} not deleted: {why}", self.name);
        }
    }
}

/// A webhook request as a receiver saw it.
#[derive(Clone, Debug)]
pub struct Receipt {
    /// The `webhook-id` header.
    pub webhook_id: String,
    /// The body's `event_id`.
    pub event_id: String,
    /// The body's `subject`.
    pub subject: String,
    /// The body's `sequence`.
    pub sequence: Option<u64>,
}

/// What a [`Receiver`] got.
#[derive(Debug, Default)]
pub struct Received {
    /// Verified requests it accepted (2xx), in arrival order.
    pub accepted: Vec<Receipt>,
    /// Requests that failed verification, with why.
    pub rejected: Vec<String>,
    /// Verified requests it answered 500 (while failing on purpose).
    pub refused: usize,
    /// Every body it was sent (accepted, refused or rejected), as text.
    pub bodies: Vec<String>,
}

struct ReceiverState {
    verifier: ontime_sync::deliver::verify::Verifier,
    fail_until: Instant,
    delay: Duration,
    received: std::sync::Mutex<Received>,
}

/// A Standard Webhooks receiver on 127.0.0.1: verifies every request with
/// [`Verifier`](ontime_sync::deliver::verify::Verifier) and records it; answers 500 to verified
/// requests until `fail_for` has passed since it started, then 204 (each answer after `delay`:
/// a slow receiver keeps the dispatcher's claims live for a while).
pub struct Receiver {
    /// `http://127.0.0.1:{port}/hook`.
    pub url: String,
    state: std::sync::Arc<ReceiverState>,
}

impl Receiver {
    /// Serves on `handle`, verifying with `secret` (`whsec_…`).
    pub fn start(handle: &tokio::runtime::Handle, secret: &str, fail_for: Duration) -> Self {
        Self::start_slow(handle, secret, fail_for, Duration::ZERO)
    }

    /// [`Receiver::start`], answering each request after `delay`.
    pub fn start_slow(
        handle: &tokio::runtime::Handle,
        secret: &str,
        fail_for: Duration,
        delay: Duration,
    ) -> Self {
        use axum::routing::post;
        let secret =
            ontime_sync::deliver::signature::WebhookSecret::parse(secret).expect("a whsec_ secret");
        let state = std::sync::Arc::new(ReceiverState {
            verifier: ontime_sync::deliver::verify::Verifier::new(secret),
            fail_until: Instant::now() + fail_for,
            delay,
            received: std::sync::Mutex::new(Received::default()),
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a receiver");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("address").port();
        let app = axum::Router::new()
            .route("/hook", post(receive))
            .with_state(state.clone());
        handle.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            axum::serve(listener, app).await.expect("serve a receiver");
        });
        Self {
            url: format!("http://127.0.0.1:{port}/hook"),
            state,
        }
    }

    /// Runs `f` on what it got so far.
    pub fn with<T>(&self, f: impl FnOnce(&Received) -> T) -> T {
        f(&self.state.received.lock().expect("receiver state"))
    }
}

async fn receive(
    axum::extract::State(state): axum::extract::State<std::sync::Arc<ReceiverState>>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> axum::http::StatusCode {
    use axum::http::StatusCode;
    if !state.delay.is_zero() {
        tokio::time::sleep(state.delay).await;
    }
    let verified = state.verifier.verify(&headers, &body, chrono::Utc::now());
    let mut received = state.received.lock().expect("receiver state");
    received
        .bodies
        .push(String::from_utf8_lossy(&body).into_owned());
    let message = match verified {
        Ok(message) => message,
        Err(why) => {
            received.rejected.push(why.to_string());
            return StatusCode::UNAUTHORIZED;
        }
    };
    if Instant::now() < state.fail_until {
        received.refused += 1;
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    let json: serde_json::Value = match message.json() {
        Ok(json) => json,
        Err(why) => {
            received.rejected.push(format!("body is not JSON: {why}"));
            return StatusCode::BAD_REQUEST;
        }
    };
    let text = |key: &str| json.get(key).and_then(|v| v.as_str()).unwrap_or_default();
    let receipt = Receipt {
        webhook_id: message.id().to_owned(),
        event_id: text("event_id").to_owned(),
        subject: text("subject").to_owned(),
        sequence: json.get("sequence").and_then(|v| v.as_u64()),
    };
    received.accepted.push(receipt);
    StatusCode::NO_CONTENT
}
