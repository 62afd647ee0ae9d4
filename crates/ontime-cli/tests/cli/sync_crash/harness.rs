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
use ontime_mock::{ActivityConfig, Change, NotifyConfig, OnTimeMock, RunningMock, TruthChange};
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
                let activity = ActivityConfig::new(RATE)
                    .seed(seed.wrapping_add(i as u64))
                    .orders(orders)
                    .notify(notify);
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

    /// Writes `sync.toml` for worker `worker` (its key and token files beside it) into `dir`.
    pub fn write_config(&self, dir: &Path, store_url: &str, worker: &str, port: u16) -> PathBuf {
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
sources = ["inbound", "poll", "reconcile"]
inbound.token_file = "{name}.token"
"#,
                url = account.mock.base_url()
            ));
        }
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
    /// Accounts this daemon logged "lease acquired" for, with when the line was read.
    pub acquired: Vec<(String, Instant)>,
    closed: bool,
}

impl Daemon {
    /// Spawns `ontime sync run --config CONFIG` (logs at debug for `ontime_sync`: the
    /// "events committed" lines are the kill signal).
    pub fn spawn(config: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ontime"))
            .args(["sync", "run", "--config"])
            .arg(config)
            .env("RUST_LOG", "info,ontime_sync::run::worker=debug")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ontime sync run");
        let stderr = child.stderr.take().expect("stderr piped");
        let (tx, lines) = mpsc::channel();
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
