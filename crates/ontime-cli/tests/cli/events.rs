//! `ontime events tail | timeline | export` on a SQLite store filled through
//! `ontime_sync::store::Store` with events derived from known status histories.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use ontime::types::Status;
use ontime::{OrderId, StatusId, StatusLevel, UserId};
use ontime_sync::event::{
    AccountConfig, Event, ItemRef, OrderSource, StatusStep, derive_order_events,
};
use ontime_sync::store::{Commit, EventStore, Store};
use serde_json::Value;
use uuid::Uuid;

use crate::common::{Run, Sim, ontime, snapshot_filtered};

const ACCOUNT: &str = "acme-couriers";

fn account() -> AccountConfig {
    AccountConfig::new(ACCOUNT, chrono_tz::America::Chicago)
}

fn order_id(n: u128) -> OrderId {
    OrderId::from_uuid(Uuid::from_u128(
        0x0a00_0000_0000_0000_0000_0000_0000_0000 + n,
    ))
}

fn driver(n: u128) -> UserId {
    UserId::from_uuid(Uuid::from_u128(
        0x0d00_0000_0000_0000_0000_0000_0000_0000 + n,
    ))
}

/// A fixed instant, never the wall clock.
fn seen(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 15, 0, 0).unwrap() + chrono::Duration::minutes(minutes)
}

fn step(
    n: u128,
    level: StatusLevel,
    label: Option<&str>,
    at: &str,
    driver: Option<UserId>,
    minutes: i64,
) -> StatusStep {
    StatusStep {
        status: Status {
            description: None,
            id: Some(StatusId::from_uuid(Uuid::from_u128(
                0x0500_0000_0000_0000_0000_0000_0000_0000 + n,
            ))),
            level: Some(level),
            name: label.map(str::to_owned),
            timestamp: Some(at.parse().expect("fixture timestamp")),
            extra: Default::default(),
        },
        driver,
        observed_at: seen(minutes),
    }
}

/// Created, submitted, assigned to driver 1, picked up, transferred to driver 2, delivered; one
/// item. Local times in Chicago (-06:00) on 2026-03-02, shifted by `order` hours.
fn lifecycle(order: u128) -> OrderSource {
    let (a, b) = (Some(driver(1)), Some(driver(2)));
    let base = order * 100;
    let start = chrono::NaiveDate::from_ymd_opt(2026, 3, 2)
        .and_then(|d| d.and_hms_opt(7, 0, 0))
        .unwrap()
        + chrono::Duration::hours(order as i64);
    let at = |minute: i64| {
        (start + chrono::Duration::minutes(minute))
            .format("%Y-%m-%dT%H:%M:%S")
            .to_string()
    };
    OrderSource {
        order_id: order_id(order),
        tracking_number: Some(format!("10000{order}")),
        items: vec![ItemRef {
            id: None,
            tracking_number: format!("10000{order}-001"),
        }],
        steps: vec![
            step(base + 1, StatusLevel::None, None, &at(0), None, 1),
            step(base + 2, StatusLevel::Dispatched, None, &at(1), None, 2),
            step(base + 3, StatusLevel::Assigned, None, &at(5), a, 6),
            step(
                base + 4,
                StatusLevel::AssignedInRoute,
                Some("Picked up"),
                &at(30),
                a,
                31,
            ),
            step(base + 5, StatusLevel::AssignedInRoute, None, &at(40), b, 41),
            step(base + 6, StatusLevel::Delivered, None, &at(55), b, 56),
        ],
    }
}

fn events(order: u128) -> Vec<Event> {
    derive_order_events(&account(), &lifecycle(order))
}

/// A temporary directory with a SQLite store, and a runtime to write to it.
struct Fixture {
    dir: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
    store: Store,
}

impl Fixture {
    /// A store holding the events of orders 1 and 2, one commit per order.
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let store = rt
            .block_on(Store::open_sqlite(&dir.path().join("events.db")))
            .unwrap();
        let fixture = Self { dir, rt, store };
        fixture.commit(1);
        fixture.commit(2);
        fixture
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("events.db")
    }

    fn store_arg(&self) -> String {
        self.path().display().to_string()
    }

    /// Commits the events of `order`; returns how many were stored.
    fn commit(&self, order: u128) -> usize {
        let outcome = self
            .rt
            .block_on(
                self.store
                    .commit(Commit::new(ACCOUNT).events(events(order))),
            )
            .unwrap();
        outcome.stored.len()
    }

    /// `ontime events ARGS... --store PATH`
    fn run(&self, args: &[&str]) -> Run {
        let mut cmd = ontime();
        cmd.args(["events"])
            .args(args)
            .args(["--store", &self.store_arg()]);
        Run::of(&mut cmd).described(&format!("ontime events {} --store PATH", args.join(" ")))
    }

    /// The filters that hide the temporary path in snapshots.
    fn filters(&self) -> Vec<(String, &'static str)> {
        vec![(regex_escape(&self.store_arg()), "[store]")]
    }
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$#&-~".contains(c);
            special.then_some('\\').into_iter().chain([c])
        })
        .collect()
}

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn positions(lines: &[Value]) -> Vec<u64> {
    lines
        .iter()
        .map(|l| l["position"].as_u64().expect("position"))
        .collect()
}

#[test]
fn tail_prints_stored_events_in_order_and_resumes_after_a_position() {
    let f = Fixture::new();
    let total = events(1).len() + events(2).len();
    let all = lines(f.run(&["tail", "--from-start", "--no-follow"]).ok());
    assert_eq!(positions(&all), (1..=total as u64).collect::<Vec<_>>());
    // The wire form, with the position first and the store's sequence.
    let first = &all[0];
    let expected = serde_json::to_value(&events(1)[0]).unwrap();
    assert_eq!(first["event_id"], expected["event_id"]);
    assert_eq!(first["type"], "order.created");
    assert_eq!(first["sequence"], 1);
    let text = f.run(&["tail", "--from-start", "--no-follow"]).stdout;
    assert!(text.starts_with("{\"position\":1,\"event_id\":"), "{text}");

    // Resuming after the fifth position prints the rest, nothing twice.
    let rest = lines(f.run(&["tail", "--after", "5", "--no-follow"]).ok());
    assert_eq!(positions(&rest), (6..=total as u64).collect::<Vec<_>>());
    assert_eq!(rest[..], all[5..]);

    // By default only new events: nothing is stored after the end.
    assert_eq!(f.run(&["tail", "--no-follow"]).ok(), "");
    // The last N, oldest first; with a type filter, the last N of that type.
    let last = lines(f.run(&["tail", "--last", "3", "--no-follow"]).ok());
    assert_eq!(
        positions(&last),
        [total as u64 - 2, total as u64 - 1, total as u64]
    );
    let delivered = lines(
        f.run(&[
            "tail",
            "--last",
            "1",
            "--type",
            "order.delivered",
            "--no-follow",
        ])
        .ok(),
    );
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0]["order"]["tracking_number"], "100002");
    // Several types (filtered by the command) and an account nobody has.
    let two = lines(
        f.run(&[
            "tail",
            "--from-start",
            "--no-follow",
            "--type",
            "order.delivered,order.picked_up",
        ])
        .ok(),
    );
    let types: Vec<&str> = two.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "order.picked_up",
            "order.delivered",
            "order.picked_up",
            "order.delivered"
        ]
    );
    assert_eq!(
        f.run(&["tail", "--from-start", "--no-follow", "--account", "nobody"])
            .ok(),
        ""
    );
    // CSV: the header, then one row per event.
    let csv = f.run(&["tail", "--from-start", "--no-follow", "-o", "csv"]);
    assert_eq!(csv.ok().lines().count(), total + 1);
    assert!(csv.stdout.starts_with("position,event_id,type,"));
}

/// More events than one store page (500 for tail, 1,000 for export): paging and the backward
/// windows of `--last` cross page boundaries without losing or repeating an event.
#[test]
fn the_store_can_be_named_by_the_sync_config() {
    let f = Fixture::new();
    let total = events(1).len() + events(2).len();
    // The config sync run uses: a relative SQLite path, relative to the file; a key source that
    // is not set (the events commands read no key).
    let config = f.dir.path().join("sync.toml");
    std::fs::write(
        &config,
        "[store]\nurl = \"sqlite://events.db\"\n\n[[account]]\nname = \"acme\"\napi_key_env = \"ONTIME_TEST_UNSET_KEY\"\ntime_zone = \"UTC\"\nplan = { daily = 86400 }\n",
    )
    .unwrap();
    let config = config.display().to_string();
    let run = |args: &[&str]| {
        let mut cmd = ontime();
        cmd.current_dir(std::env::temp_dir())
            .env_remove("ONTIME_SYNC_STORE")
            .args(["events"])
            .args(args)
            .args(["--config", &config]);
        Run::of(&mut cmd)
    };
    let all = lines(run(&["tail", "--from-start", "--no-follow"]).ok());
    assert_eq!(positions(&all), (1..=total as u64).collect::<Vec<_>>());
    // A config error names the file, line and field, exit 2.
    std::fs::write(f.dir.path().join("sync.toml"), "[store]\nurl = 5\n").unwrap();
    let bad = run(&["tail", "--from-start", "--no-follow"]);
    assert_eq!(bad.code, 2, "{}", bad.transcript());
    assert!(bad.stderr.contains("sync.toml:2:"), "{}", bad.stderr);
    assert!(bad.stderr.contains("store.url"), "{}", bad.stderr);
}

#[test]
fn paging_crosses_page_boundaries() {
    let f = Fixture::new();
    let mut total = events(1).len() + events(2).len();
    for order in 3..=150 {
        total += f.commit(order);
    }
    assert!(total > 1_300, "{total}");
    let every = (1..=total as u64).collect::<Vec<_>>();
    let all = lines(f.run(&["tail", "--from-start", "--no-follow"]).ok());
    assert_eq!(positions(&all), every);
    let exported = lines(f.run(&["export"]).ok());
    assert_eq!(positions(&exported), every);
    let last = lines(f.run(&["tail", "--last", "1100", "--no-follow"]).ok());
    assert_eq!(positions(&last), every[total - 1100..]);
    let delivered = lines(
        f.run(&[
            "tail",
            "--last",
            "3",
            "--type",
            "order.delivered",
            "--no-follow",
        ])
        .ok(),
    );
    let numbers: Vec<&str> = delivered
        .iter()
        .map(|l| l["order"]["tracking_number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["10000148", "10000149", "10000150"]);
}

/// `ontime events tail --store PATH --poll-interval 50 ARGS...`, to spawn.
fn tail_command(f: &Fixture, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ontime"));
    cmd.args(["events", "tail", "--store", &f.store_arg()])
        .args(["--poll-interval", "50"])
        .args(args)
        .env_remove("ONTIME_SYNC_STORE")
        .env_remove("ONTIME_OUTPUT");
    cmd
}

/// A spawned `ontime events tail`, its stdout read line by line on a thread.
struct Tail {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Tail {
    fn spawn(f: &Fixture, args: &[&str]) -> Self {
        let mut child = tail_command(f, args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn ontime");
        let stdout = child.stdout.take().unwrap();
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines }
    }

    fn next(&self) -> Value {
        let line = self
            .lines
            .recv_timeout(Duration::from_secs(30))
            .expect("a line from tail within 30 s");
        serde_json::from_str(&line).unwrap()
    }

    /// Waits for the child to exit (a watchdog kills it after 30 s); its exit code.
    fn exit_code(&mut self) -> Option<i32> {
        let pid = self.child.id().to_string();
        let (done, watchdog) = mpsc::channel::<()>();
        let guard = std::thread::spawn(move || {
            if watchdog.recv_timeout(Duration::from_secs(30)).is_err() {
                let _ = Command::new("kill").args(["-KILL", &pid]).status();
            }
        });
        let status = self.child.wait().expect("wait for tail");
        let _ = done.send(());
        guard.join().unwrap();
        status.code()
    }
}

impl Drop for Tail {
    fn drop(&mut self) {
        // The child this test spawned, and only it.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(unix)]
#[test]
fn tail_follows_new_commits_and_stops_on_sigterm() {
    let f = Fixture::new();
    let stored = events(1).len() + events(2).len();
    let mut tail = Tail::spawn(&f, &["--from-start"]);
    for expected in 1..=stored as u64 {
        assert_eq!(tail.next()["position"], expected);
    }
    // The child is following now: a new commit shows up.
    let added = f.commit(3);
    for offset in 1..=added as u64 {
        let line = tail.next();
        assert_eq!(line["position"], stored as u64 + offset);
        assert_eq!(line["order"]["tracking_number"], "100003");
    }
    let status = Command::new("kill")
        .args(["-TERM", &tail.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(tail.exit_code(), Some(0), "SIGTERM ends tail cleanly");
}

#[cfg(unix)]
#[test]
fn tail_ends_quietly_when_the_reader_goes_away() {
    let f = Fixture::new();
    let mut child = tail_command(&f, &["--from-start"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ontime");
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.starts_with("{\"position\":1,"), "{line}");
    // Like `head -n 1`: close the pipe; the next event written fails with EPIPE.
    drop(reader);
    f.commit(3);
    let mut tail = Tail {
        child,
        lines: mpsc::channel().1,
    };
    assert_eq!(tail.exit_code(), Some(0), "a closed stdout is a normal end");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut tail.child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(stderr.is_empty(), "nothing said on a closed pipe: {stderr}");
}

#[test]
fn timeline_from_the_store_by_id_and_by_tracking_number() {
    let f = Fixture::new();
    let id = order_id(2).to_string();
    let by_id = f.run(&["timeline", &id, "-o", "table"]);
    let filters = f.filters();
    let filters: Vec<(&str, &str)> = filters.iter().map(|(p, r)| (p.as_str(), *r)).collect();
    snapshot_filtered("events_timeline_store_table", &by_id, &filters);
    let by_number = f.run(&["timeline", "100002", "-o", "table"]);
    assert_eq!(by_number.ok(), by_id.stdout);
    // JSON: the stored events with positions, in sequence order.
    let json: Value =
        serde_json::from_str(f.run(&["timeline", "100002", "-o", "json"]).ok()).unwrap();
    let sequences: Vec<u64> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["sequence"].as_u64().unwrap())
        .collect();
    assert_eq!(sequences, (1..=events(2).len() as u64).collect::<Vec<_>>());
    assert!(json[0]["position"].as_u64().unwrap() > events(1).len() as u64);
}

#[test]
fn timeline_straight_from_ontime_when_the_store_has_none() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.db");
    let ids = crate::common::order_ids(&sim, 40);
    let missing_arg = missing.display().to_string();
    // The first of the simulator's orders with a delivered history.
    let run = ids
        .iter()
        .map(|id| {
            sim.run(&[
                "events",
                "timeline",
                id,
                "--store",
                &missing_arg,
                "--time-zone",
                "America/Chicago",
                "-o",
                "json",
            ])
        })
        .find(|run| run.ok().contains("\"order.delivered\""))
        .expect("a delivered order among the first 40");
    assert!(run.stderr.contains("source: OnTime"), "{}", run.stderr);
    assert!(!missing.exists(), "a read does not create the store");
    let events: Value = serde_json::from_str(&run.stdout).unwrap();
    let events = events.as_array().unwrap();
    assert!(events.iter().any(|e| e["type"] == "order.delivered"));
    for event in events {
        assert!(event.get("position").is_none() && event.get("sequence").is_none());
        assert_eq!(event["account"], company(&sim));
        let at = event["occurred_at"].as_str().unwrap();
        assert!(at.ends_with("-06:00") || at.ends_with("-05:00"), "{at}");
    }
    // The same order by tracking number, as a table (snapshot), UTC by default with a note.
    let tn = events[0]["order"]["tracking_number"]
        .as_str()
        .unwrap()
        .to_owned();
    let table = sim
        .run(&[
            "events",
            "timeline",
            &tn,
            "--store",
            &missing_arg,
            "-o",
            "table",
        ])
        .described(&format!(
            "ontime --base-url URL --api-key KEY events timeline {tn} --store MISSING -o table"
        ));
    let dir_arg = regex_escape(&missing_arg);
    snapshot_filtered(
        "events_timeline_ontime_table",
        &table,
        &[(dir_arg.as_str(), "[store]")],
    );
    assert!(
        table.stderr.contains("no time zone given"),
        "{}",
        table.stderr
    );
    // An order OnTime does not know either: exit 5.
    let none = sim.run(&[
        "events",
        "timeline",
        "no-such-number",
        "--store",
        &missing_arg,
    ]);
    assert_eq!(none.code, 5, "{}", none.transcript());
    assert!(
        none.stderr.contains("in the store nor in OnTime"),
        "{}",
        none.stderr
    );
}

/// The company ID of the simulator's account URL.
fn company(sim: &Sim) -> String {
    sim.base_url()
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned()
}

#[test]
fn export_between_times_as_ndjson_and_csv_filtered_by_type() {
    let f = Fixture::new();
    // Order 1 happens 08:00-08:55 local, order 2 09:00-09:55 (Chicago, -06:00).
    let window = [
        "--from",
        "2026-03-02T08:30:00-06:00",
        "--to",
        "2026-03-02T09:31:00-06:00",
    ];
    let csv = f.run(&[&["export", "-o", "csv"], &window[..]].concat());
    snapshot_filtered("events_export_csv", &csv, &[]);
    let ndjson = lines(f.run(&[&["export"], &window[..]].concat()).ok());
    assert_eq!(ndjson.len(), csv.stdout.lines().count() - 1);
    for line in &ndjson {
        let at = line["occurred_at"].as_str().unwrap();
        assert!(
            ("2026-03-02T08:30:00-06:00".."2026-03-02T09:31:00-06:00").contains(&at),
            "{at}"
        );
    }
    // A type filter; a date covers the whole day in the time zone.
    let delivered = lines(
        f.run(&[
            "export",
            "--from",
            "2026-03-02",
            "--to",
            "2026-03-02",
            "--time-zone",
            "America/Chicago",
            "--type",
            "order.delivered",
        ])
        .ok(),
    );
    assert_eq!(delivered.len(), 2);
    assert!(delivered.iter().all(|l| l["type"] == "order.delivered"));
    // The next day has none (and CSV still has its header).
    let empty = f.run(&[
        "export",
        "--from",
        "2026-03-03",
        "--time-zone",
        "America/Chicago",
        "-o",
        "csv",
    ]);
    assert_eq!(empty.ok().lines().count(), 1);
    // To a file, written whole: the same bytes as stdout.
    let out = f.dir.path().join("export.ndjson");
    let to_file = f.run(
        &[
            &["export", "--out", &out.display().to_string()],
            &window[..],
        ]
        .concat(),
    );
    assert!(to_file.ok().is_empty());
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        f.run(&[&["export"], &window[..]].concat()).stdout
    );
    assert!(!Path::new(&format!("{}.part", out.display())).exists());
}

#[test]
fn errors_have_documented_exit_codes_and_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.db");
    let missing_arg = missing.display().to_string();
    for command in [&["tail", "--no-follow"][..], &["export"][..]] {
        let run = Run::of(
            ontime()
                .arg("events")
                .args(command)
                .args(["--store", &missing_arg]),
        );
        assert_eq!(run.code, 5, "{}", run.transcript());
        assert!(run.stderr.contains("no SQLite store"), "{}", run.stderr);
        assert!(!missing.exists(), "{command:?} created the store");
    }
    let f = Fixture::new();
    let bad_type = f.run(&["export", "--type", "order.teleported"]);
    assert_eq!(bad_type.code, 2);
    assert!(
        bad_type.stderr.contains("item.custody_changed"),
        "{}",
        bad_type.stderr
    );
    let bad_time = f.run(&["export", "--from", "last tuesday"]);
    assert_eq!(bad_time.code, 2);
    assert!(bad_time.stderr.contains("RFC 3339"), "{}", bad_time.stderr);
    let backwards = f.run(&["export", "--from", "2026-03-03", "--to", "2026-03-01"]);
    assert_eq!(backwards.code, 2, "{}", backwards.transcript());
    // A bad URL: usage, and the password is not echoed.
    let url = Run::of(ontime().args([
        "events",
        "tail",
        "--store",
        "mysql://user:hunter2@127.0.0.1/db",
    ]));
    assert_eq!(url.code, 2, "{}", url.transcript());
    assert!(!url.stderr.contains("hunter2"), "{}", url.stderr);
    // An unreachable Postgres: network (6), password not echoed.
    let pg = Run::of(ontime().args([
        "events",
        "export",
        "--store",
        "postgres://user:hunter2@127.0.0.1:1/db?connect_timeout=2",
    ]));
    assert_eq!(pg.code, 6, "{}", pg.transcript());
    assert!(!pg.stderr.contains("hunter2"), "{}", pg.stderr);
}

/// The same commands on a Postgres store (a schema of its own, dropped at the end). Skipped with
/// a notice when no server answers at `ONTIME_TEST_POSTGRES_URL` (default
/// `postgres://postgres@127.0.0.1:5432/postgres`), unless `ONTIME_REQUIRE_SERVICES=1`.
#[test]
fn tail_and_timeline_read_a_postgres_store() {
    use sqlx::Connection;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let admin = std::env::var("ONTIME_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    sqlx::any::install_default_drivers();
    let connect = rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(5), sqlx::AnyConnection::connect(&admin)).await
    });
    let mut conn = match connect {
        Ok(Ok(conn)) => conn,
        failure => {
            let why = match failure {
                Ok(Err(e)) => e.to_string(),
                _ => "timed out".to_owned(),
            };
            if std::env::var("ONTIME_REQUIRE_SERVICES").as_deref() == Ok("1") {
                panic!("Postgres required (ONTIME_REQUIRE_SERVICES=1) but unreachable: {why}");
            }
            eprintln!("notice: skipping the Postgres events test: no server ({why})");
            return;
        }
    };
    let schema = format!("ontime_cli_events_{}", std::process::id());
    let create = format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}");
    rt.block_on(sqlx::raw_sql(&create).execute(&mut conn))
        .unwrap();
    let separator = if admin.contains('?') { '&' } else { '?' };
    let url = format!("{admin}{separator}options=-c%20search_path%3D{schema}");
    let result = std::panic::catch_unwind(|| {
        let store = rt.block_on(Store::open(&url)).unwrap();
        for order in [1, 2] {
            rt.block_on(store.commit(Commit::new(ACCOUNT).events(events(order))))
                .unwrap();
        }
        rt.block_on(store.close());
        let run =
            |args: &[&str]| Run::of(ontime().arg("events").args(args).args(["--store", &url]));
        let all = lines(run(&["tail", "--from-start", "--no-follow"]).ok());
        let total = events(1).len() + events(2).len();
        assert_eq!(positions(&all), (1..=total as u64).collect::<Vec<_>>());
        let timeline = run(&["timeline", "100002", "-o", "ndjson"]);
        assert_eq!(lines(timeline.ok()).len(), events(2).len());
        assert!(
            timeline.stderr.contains("the Postgres store"),
            "{}",
            timeline.stderr
        );
        assert!(
            !timeline.stderr.contains("postgres://"),
            "{}",
            timeline.stderr
        );
    });
    let drop = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
    rt.block_on(sqlx::raw_sql(&drop).execute(&mut conn))
        .unwrap();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

// ---- redeliver, and the destinations in `sync status` ---------------------------------------

mod redeliver {
    use chrono::{TimeDelta, Utc};
    use ontime_sync::store::outbox::DeliveryStore;
    use ontime_sync::store::{Commit, EventStore};
    use serde_json::Value;

    use super::{ACCOUNT, Fixture, events};
    use crate::common::{Run, ontime};

    /// A store whose order 3 was queued for `hook` and `bi`; every `hook` delivery failed for
    /// good (dead letters) and `hook` was disabled by a 410; `bi` still waits.
    fn fixture() -> (Fixture, Vec<String>) {
        let f = Fixture::new();
        let ids: Vec<String> = events(3).iter().map(|e| e.event_id.to_string()).collect();
        let now = Utc::now();
        f.rt.block_on(async {
            f.store
                .commit(
                    Commit::new(ACCOUNT)
                        .events(events(3))
                        .destination("hook")
                        .destination("bi")
                        .at(now - TimeDelta::minutes(10)),
                )
                .await
                .unwrap();
            // Unordered: every delivery at once.
            let claims = f
                .store
                .claim_deliveries("hook", "test", 100, false, TimeDelta::seconds(60), now)
                .await
                .unwrap();
            assert_eq!(claims.len(), ids.len());
            for claim in &claims {
                f.store
                    .dead_letter(claim, "HTTP 500 after 8 attempts", now)
                    .await
                    .unwrap();
            }
            f.store
                .disable_destination("hook", "HTTP 410 Gone", now)
                .await
                .unwrap();
        });
        (f, ids)
    }

    fn status(f: &Fixture, json: bool) -> Run {
        let mut cmd = ontime();
        cmd.args(["sync", "status", "--store", &f.store_arg()]);
        if json {
            cmd.arg("--json");
        }
        Run::of(&mut cmd)
    }

    #[test]
    fn status_shows_each_destination_health_backlog_and_dead_letters() {
        let (f, ids) = fixture();
        let text = status(&f, false);
        let out = text.ok();
        assert!(out.contains("destination hook\n"), "{out}");
        assert!(out.contains("  health:        disabled since "), "{out}");
        assert!(out.contains(": HTTP 410 Gone\n"), "{out}");
        assert!(
            out.contains(&format!("  dead letters:  {}\n", ids.len())),
            "{out}"
        );
        assert!(
            out.contains("destination bi\n  health:        ok\n"),
            "{out}"
        );
        assert!(
            out.contains(&format!("  backlog:       {} (oldest waiting ", ids.len())),
            "{out}"
        );
        let json: Value = serde_json::from_str(status(&f, true).ok()).unwrap();
        let hook = &json["destinations"]["hook"];
        assert_eq!(hook["health"], "disabled");
        assert_eq!(hook["disabled_reason"], "HTTP 410 Gone");
        assert_eq!(hook["dead_letters"], ids.len());
        assert_eq!(hook["backlog"], 0);
        let bi = &json["destinations"]["bi"];
        assert_eq!(bi["health"], "ok");
        assert_eq!(bi["backlog"], ids.len());
        assert!(bi["oldest_waiting_s"].as_i64().unwrap() >= 600, "{bi}");
        assert_eq!(json["accounts"], serde_json::json!({}));
    }

    #[test]
    fn redeliver_queues_one_event_or_the_dead_letters_since_a_time() {
        let (f, ids) = fixture();
        // One event, to one endpoint.
        let one = f.run(&["redeliver", &ids[0], "--endpoint", "hook"]);
        assert_eq!(one.ok(), "queued 1 delivery\n");
        assert!(
            one.stderr.contains("hook is disabled (HTTP 410 Gone)"),
            "{}",
            one.stderr
        );
        // The rest of hook's dead letters, from two hours ago on, enabling it.
        let rest = f.run(&[
            "redeliver",
            "--endpoint",
            "hook",
            "--failed-since",
            "2h",
            "--enable",
        ]);
        assert_eq!(rest.ok(), format!("queued {} deliveries\n", ids.len() - 1));
        let json: Value = serde_json::from_str(status(&f, true).ok()).unwrap();
        let hook = &json["destinations"]["hook"];
        assert_eq!(hook["health"], "ok", "{hook}");
        assert_eq!(hook["dead_letters"], 0);
        assert_eq!(hook["backlog"], ids.len());
        // Nothing failed since a minute from now: nothing queued (an RFC 3339 time).
        let future = (Utc::now() + TimeDelta::minutes(1)).to_rfc3339();
        let none = f.run(&["redeliver", "--endpoint", "hook", "--failed-since", &future]);
        assert_eq!(none.ok(), "queued 0 deliveries\n");
    }

    #[test]
    fn unknown_events_and_endpoints_have_their_own_exit_codes() {
        let (f, ids) = fixture();
        let unknown_event = f.run(&["redeliver", "evt_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"]);
        assert_eq!(unknown_event.code, 5, "{}", unknown_event.stderr);
        assert!(unknown_event.stderr.contains("no event evt_aaaa"));
        let unknown_endpoint = f.run(&["redeliver", &ids[0], "--endpoint", "hoook"]);
        assert_eq!(unknown_endpoint.code, 14, "{}", unknown_endpoint.stderr);
        assert!(
            unknown_endpoint
                .stderr
                .contains("no destination is named \"hoook\"")
        );
        let not_an_id = f.run(&["redeliver", "order-1"]);
        assert_eq!(not_an_id.code, 2, "{}", not_an_id.stderr);
        let bad_time = f.run(&[
            "redeliver",
            "--endpoint",
            "hook",
            "--failed-since",
            "yesterday",
        ]);
        assert_eq!(bad_time.code, 2, "{}", bad_time.stderr);
        let no_endpoint = f.run(&["redeliver", "--failed-since", "2h"]);
        assert_eq!(no_endpoint.code, 2, "{}", no_endpoint.stderr);
    }
}
