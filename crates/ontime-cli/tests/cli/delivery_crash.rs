//! Delivery under `kill -9`, and a redaction scan of everything that leaves the daemon.
//!
//! **Crash.** A simulated account lives (fast clock, notifications to the daemon's inbound URL);
//! `ontime sync run` delivers to two Standard Webhooks receivers on 127.0.0.1 (one accepts every
//! verified request; one answers 500 for its first [`FLAKY_FOR`], then recovers) and to a NATS
//! JetStream stream of the test's own. The daemon is killed with SIGKILL at [`KILLS`] seeded
//! points, each after the k-th "events committed" line (collection) or the k-th delivery outcome
//! line (delivery) plus a random delay, and restarted. At the end (the activity finished, the
//! store caught up with the truth, every destination's backlog 0 in the store): every stored
//! event reached each receiver at least once, always under one `webhook-id` (the event id) with
//! a valid signature; per subject the first receipts come in sequence order; the stream holds
//! each event exactly once (counted by `Nats-Msg-Id` and by the body's `event_id`). On SQLite
//! and on Postgres; and with one collector plus two `--role deliver` processes on one Postgres,
//! one dispatcher killed: the other takes its claims once they expire.
//!
//! **Redaction scan.** The activity seeded with known personal values
//! ([`PersonalData::sample`]); the daemon at debug log level; one webhook with the default policy,
//! one pseudonymising driver ids with positions rounded to 3 decimals, NATS with the default.
//! No personal value and no raw driver GUID may appear in any body, any NATS message or
//! subject, or any line the daemon wrote; the store holding them is the positive control.
//!
//! Without a NATS server the NATS destination is left out (a notice), unless
//! `ONTIME_REQUIRE_SERVICES=1`; the Postgres runs skip the same way. The seed is printed;
//! `ONTIME_CRASH_SEED=N` replays a run's choices.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use ontime_mock::PersonalData;
use ontime_sync::store::outbox::DeliveryStore as _;
use ontime_sync::store::{Store, StoredEvent};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::sync_crash::harness::{
    self, Daemon, Fleet, NatsStream, Receiver, all_events, free_port, seed, truth_statuses,
    wait_caught_up,
};

/// Kills per crash run.
const KILLS: usize = 22;
/// New orders in a crash run.
const ORDERS: usize = 10;
/// How long the steady receiver takes to answer in the two-dispatcher run (claims stay live).
const SLOW: Duration = Duration::from_millis(300);
/// How long the flaky receiver answers 500.
const FLAKY_FOR: Duration = Duration::from_secs(4);
/// The receivers' secret (Standard Webhooks' documentation example).
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// Short waits between attempts (the flaky receiver must recover before the last one).
const RETRIES: &str = "retry_schedule = [\"200ms\", \"400ms\", \"800ms\", \"1s\", \"1s\", \"1s\", \
                       \"1s\", \"1s\", \"1s\", \"1s\", \"1s\", \"1s\", \"1s\", \"1s\", \"1s\"]\n\
                       jitter = \"none\"\n";
/// The daemons' log filter: the commit and delivery lines are the kill signals.
const LOG: &str = "info,ontime_sync::run::worker=debug,ontime_sync::deliver::dispatch=debug";
/// Order sources (driver availability is sampled: not countable against the truth).
const ORDER_SOURCES: &str = "sources = [\"inbound\", \"poll\", \"reconcile\"]";

/// A `[[webhook]]` section posting to `url`, signed with `hook.secret`, `extra` lines appended.
fn webhook_toml(name: &str, url: &str, extra: &str) -> String {
    format!(
        "\n[[webhook]]\nname = \"{name}\"\nurl = \"{url}\"\nsecrets = [{{ file = \"hook.secret\" }}]\n\
         allow_private = true\ntimeout = \"1s\"\n{RETRIES}{extra}\n"
    )
}

/// The destinations of a crash run: `steady`, `flaky` and (with a server) `stream`.
struct Destinations {
    steady: Receiver,
    flaky: Receiver,
    nats: Option<NatsStream>,
}

impl Destinations {
    /// The receivers (the steady one answering after `delay`) and the stream, and their TOML.
    fn start(fleet: &Fleet, dir: &Path, tag: &str, delay: Duration) -> (Self, String) {
        std::fs::write(dir.join("hook.secret"), format!("{SECRET}\n")).expect("secret file");
        let steady = Receiver::start_slow(&fleet.handle(), SECRET, Duration::ZERO, delay);
        let flaky = Receiver::start(&fleet.handle(), SECRET, FLAKY_FOR);
        let nats = NatsStream::create(tag);
        let mut toml =
            webhook_toml("steady", &steady.url, "") + &webhook_toml("flaky", &flaky.url, "");
        if let Some(nats) = &nats {
            toml += &nats.toml(
                "stream",
                &format!("connect_timeout = \"1s\"\nack_timeout = \"1s\"\n{RETRIES}"),
            );
        }
        (
            Self {
                steady,
                flaky,
                nats,
            },
            toml,
        )
    }

    /// [`check_webhook`] on both receivers and [`check_nats`] on the stream: (accepted,
    /// refused) of each receiver and the stream's message count.
    fn check(&self, events: &[StoredEvent]) -> ((usize, usize), (usize, usize), Option<usize>) {
        (
            check_webhook("steady", &self.steady, events),
            check_webhook("flaky", &self.flaky, events),
            self.nats.as_ref().map(|n| check_nats(n, events)),
        )
    }

    fn names(&self) -> Vec<&'static str> {
        let mut names = vec!["steady", "flaky"];
        if self.nats.is_some() {
            names.push("stream");
        }
        names
    }
}

/// Waits until every destination in `names` has a backlog of 0 in the store (looked at after
/// each delivery line of any daemon, and at least twice a second); fails after `timeout`.
fn wait_delivered(
    fleet: &Fleet,
    store: &Store,
    daemons: &mut [&mut Daemon],
    names: &[&str],
    timeout: Duration,
) -> Duration {
    let started = Instant::now();
    loop {
        let health = fleet
            .block_on(store.destination_health())
            .expect("destination health");
        let waiting: Vec<(&str, u64, u64)> = names
            .iter()
            .map(|name| {
                health
                    .iter()
                    .find(|h| h.destination == *name)
                    .map_or((*name, u64::MAX, 0), |h| (*name, h.backlog, h.dead_letters))
            })
            .filter(|(_, backlog, _)| *backlog > 0)
            .collect();
        let dead: Vec<_> = health.iter().filter(|h| h.dead_letters > 0).collect();
        assert!(dead.is_empty(), "dead letters: {dead:#?}");
        if waiting.is_empty() {
            return started.elapsed();
        }
        for d in daemons.iter_mut() {
            if let Some(status) = d.exited() {
                d.drain();
                panic!("a daemon exited by itself ({status}): {:#?}", d.log);
            }
        }
        if started.elapsed() >= timeout {
            let logs: Vec<Vec<&String>> = daemons
                .iter()
                .map(|d| d.log.iter().rev().take(30).collect())
                .collect();
            panic!(
                "not delivered within {timeout:?}: (destination, backlog, dead letters) {waiting:?}; \
                 health {health:#?}; last log lines {logs:#?}"
            );
        }
        let per = Duration::from_millis(500 / daemons.len().max(1) as u64);
        for d in daemons.iter_mut() {
            let seen = d.deliveries;
            d.wait_until(per, |d| d.deliveries > seen);
        }
    }
}

/// The webhook checks for one receiver against the stored events: no request failed
/// verification; every event accepted at least once; one `webhook-id` per event (its id); no
/// unknown event; per subject, first receipts in increasing sequence order. Returns (accepted
/// requests, refused requests).
fn check_webhook(name: &str, receiver: &Receiver, events: &[StoredEvent]) -> (usize, usize) {
    receiver.with(|r| {
        assert!(
            r.rejected.is_empty(),
            "{name}: requests failed verification: {:?}",
            r.rejected
        );
        let stored: BTreeSet<String> = events
            .iter()
            .map(|e| e.event.event_id.to_string())
            .collect();
        let mut ids: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        let mut first: BTreeSet<&str> = BTreeSet::new();
        let mut order: BTreeMap<&str, Vec<Option<u64>>> = BTreeMap::new();
        for receipt in &r.accepted {
            assert!(
                stored.contains(&receipt.event_id),
                "{name}: received an event the store does not hold: {receipt:?}"
            );
            ids.entry(&receipt.event_id)
                .or_default()
                .insert(&receipt.webhook_id);
            if first.insert(&receipt.event_id) {
                order
                    .entry(&receipt.subject)
                    .or_default()
                    .push(receipt.sequence);
            }
        }
        let missing: Vec<&String> = stored
            .iter()
            .filter(|id| !ids.contains_key(id.as_str()))
            .collect();
        assert!(
            missing.is_empty(),
            "{name}: {} of {} stored events never accepted: {missing:?}",
            missing.len(),
            stored.len()
        );
        for (event, webhook_ids) in &ids {
            assert_eq!(
                webhook_ids.iter().copied().collect::<Vec<_>>(),
                vec![*event],
                "{name}: webhook-id differs from the event id or between attempts"
            );
        }
        for (subject, seqs) in &order {
            assert!(
                seqs.iter().all(Option::is_some) && seqs.windows(2).all(|w| w[0] < w[1]),
                "{name}: first receipts of {subject} out of order: {seqs:?}"
            );
        }
        (r.accepted.len(), r.refused)
    })
}

/// The stream holds each stored event exactly once, by `Nats-Msg-Id` and by body. Returns the
/// message count.
fn check_nats(nats: &NatsStream, events: &[StoredEvent]) -> usize {
    let stored: BTreeSet<String> = events
        .iter()
        .map(|e| e.event.event_id.to_string())
        .collect();
    let messages = nats.read_back();
    let mut by_id: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_body: BTreeMap<String, usize> = BTreeMap::new();
    for m in &messages {
        *by_id.entry(&m.msg_id).or_default() += 1;
        let json: serde_json::Value = serde_json::from_str(&m.body).expect("a JSON message");
        let id = json["event_id"].as_str().unwrap_or_default().to_owned();
        assert_eq!(id, m.msg_id, "Nats-Msg-Id differs from the body's event_id");
        *by_body.entry(id).or_default() += 1;
    }
    let twice: Vec<_> = by_id.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "NATS: messages stored twice (by Nats-Msg-Id): {twice:?}"
    );
    let twice: Vec<_> = by_body.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "NATS: messages stored twice (by body): {twice:?}"
    );
    let held: BTreeSet<String> = by_body.into_keys().collect();
    assert_eq!(
        held,
        stored,
        "NATS: the stream's events differ from the store's ({} vs {})",
        messages.len(),
        events.len()
    );
    messages.len()
}

/// The store URL as the test opens it: a `sqlite:` URL in `sync.toml` is relative to the file.
fn store_url_for_test(url: &str, dir: &Path) -> String {
    match url.strip_prefix("sqlite://") {
        Some(path) => dir.join(path).display().to_string(),
        None => url.to_owned(),
    }
}

/// `KILLS` kills across collection and delivery, then a last run catches up and delivers all.
fn deliver_through_kills(test: &str, store_url: &str, tag: &str) {
    let seed = seed(test);
    let mut rng = StdRng::seed_from_u64(seed);
    let port = free_port();
    let fleet = Fleet::start(1, ORDERS, seed, port);
    let dir = tempfile::tempdir().expect("tempdir");
    let (destinations, toml) = Destinations::start(&fleet, dir.path(), tag, Duration::ZERO);
    let config = fleet.write_config_with(
        dir.path(),
        store_url,
        "crash-worker",
        port,
        ORDER_SOURCES,
        &toml,
    );
    let started = Instant::now();
    let (mut on_commit, mut on_delivery) = (0, 0);
    for kill in 0..KILLS {
        let mut daemon = Daemon::spawn_with(&config, None, LOG);
        let k = rng.random_range(1..=3);
        let on_collect = rng.random_bool(0.5);
        let signalled = if on_collect {
            daemon.wait_until(Duration::from_secs(3), |d| d.commits >= k)
        } else {
            daemon.wait_until(Duration::from_secs(3), |d| d.deliveries >= k)
        };
        match (signalled, on_collect) {
            (true, true) => on_commit += 1,
            (true, false) => on_delivery += 1,
            _ => {}
        }
        // The kill point: anywhere in the steps that follow the signal.
        std::thread::sleep(Duration::from_millis(rng.random_range(0..250)));
        let (commits, deliveries) = (daemon.commits, daemon.deliveries);
        let log = daemon.kill();
        eprintln!(
            "{test}: kill {kill} at {:.1?}: {commits} commit lines, {deliveries} delivery lines",
            started.elapsed()
        );
        assert!(
            log.iter().all(|l| !l.contains("panicked")),
            "kill {kill}: {log:#?}"
        );
        // Down for a while (random: part of the kill point's choice).
        std::thread::sleep(Duration::from_millis(rng.random_range(0..400)));
    }
    let killing = started.elapsed();
    let mut last = Daemon::spawn_with(&config, None, LOG);
    fleet.wait_finished(Duration::from_secs(120));
    let account = &fleet.accounts[0];
    let truth = truth_statuses(&account.mock.activity().expect("activity").truth());
    let store = fleet
        .block_on(Store::open(&store_url_for_test(store_url, dir.path())))
        .expect("open the store");
    wait_caught_up(
        &fleet,
        &store,
        &mut [&mut last],
        &account.name,
        &truth,
        Duration::from_secs(90),
    );
    let names = destinations.names();
    let drained = wait_delivered(
        &fleet,
        &store,
        &mut [&mut last],
        &names,
        Duration::from_secs(120),
    );
    last.terminate();
    let events = fleet.block_on(all_events(&store, &account.name));
    fleet.block_on(store.close());
    let (steady, flaky, nats) = destinations.check(&events);
    eprintln!(
        "{test}: {KILLS} kills ({on_commit} after a commit line, {on_delivery} after a delivery \
         line) in {killing:.1?}; all delivered {drained:.1?} after catching up, {:.1?} in all; \
         {} events; steady {} requests accepted; flaky {} accepted, {} refused; NATS {nats:?} \
         messages",
        started.elapsed(),
        events.len(),
        steady.0,
        flaky.0,
        flaky.1
    );
    assert!(
        on_commit + on_delivery >= KILLS / 3,
        "kills follow signals ({on_commit} + {on_delivery} of {KILLS})"
    );
    assert!(
        flaky.1 > 0,
        "the flaky receiver refused nothing: the test lost its point"
    );
}

#[test]
fn sqlite_kill_9_while_delivering_every_event_reaches_every_destination() {
    deliver_through_kills(
        "sqlite delivery crash",
        "sqlite://events.db",
        "dcrash_sqlite",
    );
}

#[test]
fn postgres_kill_9_while_delivering_every_event_reaches_every_destination() {
    let Some(pg) = harness::PgSchema::create("ontime_dcrash_one") else {
        return;
    };
    deliver_through_kills("postgres delivery crash", &pg.url, "dcrash_pg");
}

/// One collector and two `--role deliver` processes on one Postgres; one dispatcher is killed
/// after a few deliveries: its claims expire and the other delivers them.
#[test]
fn two_dispatchers_on_postgres_one_killed_the_other_takes_its_claims() {
    let test = "two dispatchers";
    let Some(pg) = harness::PgSchema::create("ontime_dcrash_2d") else {
        return;
    };
    let seed = seed(test);
    let mut rng = StdRng::seed_from_u64(seed);
    let ports = [free_port(), free_port(), free_port()];
    let fleet = Fleet::start(1, ORDERS, seed, ports[0]);
    let dir = tempfile::tempdir().expect("tempdir");
    let (destinations, toml) = Destinations::start(&fleet, dir.path(), "dcrash_2d", SLOW);
    // Every config written before any process starts: writing one rewrites the shared key and
    // token files, which a starting process might read half-written.
    let configs: Vec<_> = [("collector", ports[0]), ("d0", ports[1]), ("d1", ports[2])]
        .iter()
        .map(|(worker, port)| {
            fleet.write_config_with(dir.path(), &pg.url, worker, *port, ORDER_SOURCES, &toml)
        })
        .collect();
    let mut collector = Daemon::spawn_with(&configs[0], Some("collect"), LOG);
    let mut dispatchers: Vec<Option<Daemon>> = configs[1..]
        .iter()
        .map(|config| Some(Daemon::spawn_with(config, Some("deliver"), LOG)))
        .collect();
    // A few deliveries (any dispatcher's), then a random delay: the victim.
    let k = rng.random_range(2..=6);
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline
        && dispatchers
            .iter()
            .flatten()
            .map(|d| d.deliveries)
            .sum::<usize>()
            < k
    {
        collector.drain();
        for d in dispatchers.iter_mut().flatten() {
            d.wait_until(Duration::from_millis(50), |d| d.deliveries > 0);
        }
    }
    std::thread::sleep(Duration::from_millis(rng.random_range(0..250)));
    let victim = rng.random_range(0..2);
    let worker = format!("d{victim}");
    // The kill lands while the victim holds claims: it is frozen (SIGSTOP) while its claims
    // are read, and killed if it holds any, else thawed and tried again.
    let deadline = Instant::now() + Duration::from_secs(20);
    let orphaned = loop {
        let d = dispatchers[victim].as_mut().expect("running");
        d.signal("STOP");
        let claims = pg.claims_of(&worker);
        if !claims.is_empty() || Instant::now() >= deadline {
            break claims;
        }
        d.signal("CONT");
        let seen = d.deliveries;
        d.wait_until(Duration::from_millis(100), |d| d.deliveries > seen);
    };
    let killed_at = Instant::now();
    let victim_log = dispatchers[victim].take().expect("running").kill();
    let victim_deliveries = victim_log
        .iter()
        .filter(|l| l.contains(" delivery ") && l.contains("outcome="))
        .count();
    eprintln!(
        "{test}: killed {worker} after {victim_deliveries} delivery lines; it held {} live claims \
         when frozen",
        orphaned.len()
    );

    fleet.wait_finished(Duration::from_secs(120));
    let account = &fleet.accounts[0];
    let truth = truth_statuses(&account.mock.activity().expect("activity").truth());
    let store = fleet
        .block_on(Store::open(&pg.url))
        .expect("open the store");
    let mut survivor = dispatchers[1 - victim].take().expect("running");
    wait_caught_up(
        &fleet,
        &store,
        &mut [&mut collector, &mut survivor],
        &account.name,
        &truth,
        Duration::from_secs(90),
    );
    let names = destinations.names();
    wait_delivered(
        &fleet,
        &store,
        &mut [&mut survivor, &mut collector],
        &names,
        Duration::from_secs(150),
    );
    let all_delivered = killed_at.elapsed();
    // Each orphaned claim was delivered by the survivor (its delivery line names the position).
    survivor.drain();
    let survivor_positions: BTreeSet<(String, i64)> = survivor
        .log
        .iter()
        .filter(|l| l.contains(" delivery ") && l.contains("outcome=\"delivered\""))
        .filter_map(|l| {
            Some((
                field(l, "destination")?,
                field(l, "position")?.parse().ok()?,
            ))
        })
        .collect();
    let not_taken: Vec<_> = orphaned
        .iter()
        .filter(|(d, p)| !survivor_positions.contains(&(d.clone(), *p)))
        .collect();
    assert!(
        not_taken.is_empty(),
        "{test}: claims of {worker} not delivered by the survivor: {not_taken:?}"
    );
    assert!(
        !orphaned.is_empty(),
        "{test}: {worker} held no live claim when killed: the takeover went unchecked"
    );
    let collector_log = collector.terminate();
    assert!(
        collector_log.iter().all(|l| !l.contains(" delivery ")),
        "{test}: the collect-only process delivered"
    );
    survivor.terminate();
    let events = fleet.block_on(all_events(&store, &account.name));
    fleet.block_on(store.close());
    let (steady, flaky, nats) = destinations.check(&events);
    eprintln!(
        "{test}: {} events; {} orphaned claims taken over; all delivered {all_delivered:.1?} after \
         the kill; steady {steady:?}, flaky {flaky:?} (accepted, refused); NATS {nats:?}",
        events.len(),
        orphaned.len()
    );
}

/// `name=value` from a tracing line (the value up to the next space, quotes trimmed).
fn field(line: &str, name: &str) -> Option<String> {
    let start = line.find(&format!(" {name}="))? + name.len() + 2;
    let value = line[start..].split_whitespace().next()?;
    Some(value.trim_matches('"').to_owned())
}

/// Where a forbidden value was found.
#[derive(Debug)]
struct Leak {
    place: String,
    value: String,
    excerpt: String,
}

/// Every forbidden value in `text`, found at `place`.
fn scan(place: &str, text: &str, forbidden: &[String], leaks: &mut Vec<Leak>) {
    let lower = text.to_lowercase();
    for value in forbidden {
        if let Some(at) = lower.find(&value.to_lowercase()) {
            // `lower` may differ in length from `text`: the excerpt comes from `lower`.
            let mut from = at.saturating_sub(80);
            while !lower.is_char_boundary(from) {
                from -= 1;
            }
            let mut to = (at + value.len() + 80).min(lower.len());
            while !lower.is_char_boundary(to) {
                to += 1;
            }
            leaks.push(Leak {
                place: place.to_owned(),
                value: value.clone(),
                excerpt: lower[from..to].to_owned(),
            });
        }
    }
}

/// The number of decimals a JSON number is written with.
fn decimals(value: &serde_json::Value) -> usize {
    let text = value.to_string();
    text.split_once('.').map_or(0, |(_, frac)| {
        frac.trim_end_matches(|c: char| !c.is_ascii_digit()).len()
    })
}

#[test]
fn redaction_scan_no_personal_value_or_driver_guid_leaves_the_daemon() {
    let test = "redaction scan";
    let seed = seed(test);
    let port = free_port();
    let personal = PersonalData::sample();
    let fleet = Fleet::start_with(1, 8, seed, port, Some(personal.clone()));
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("hook.secret"), format!("{SECRET}\n")).expect("secret file");
    std::fs::write(
        dir.path().join("pseudo.key"),
        "redaction-scan-pseudonym-key-0123456789abcdef\n",
    )
    .expect("key file");
    let plain = Receiver::start(&fleet.handle(), SECRET, Duration::ZERO);
    let pseudo = Receiver::start(&fleet.handle(), SECRET, Duration::ZERO);
    let nats = NatsStream::create("dcrash_redact");
    let mut toml = webhook_toml("plain", &plain.url, "")
        + &webhook_toml(
            "pseudo",
            &pseudo.url,
            "pseudonym_key_file = \"pseudo.key\"\n\
             policy = { driver_id = \"pseudonymise\", position = { round = 3 } }",
        );
    let mut names = vec!["plain", "pseudo"];
    if let Some(nats) = &nats {
        toml += &nats.toml("stream", "");
        names.push("stream");
    }
    let config = fleet.write_config_with(
        dir.path(),
        "sqlite://events.db",
        "scan-worker",
        port,
        "sources = [\"inbound\", \"poll\", \"reconcile\", \"drivers\"]\n\
         drivers.position_interval = \"1s\"",
        &toml,
    );
    let mut daemon = Daemon::spawn_with(&config, None, "debug");
    fleet.wait_finished(Duration::from_secs(120));
    let account = &fleet.accounts[0];
    let truth = truth_statuses(&account.mock.activity().expect("activity").truth());
    let store = fleet
        .block_on(Store::open(&store_url_for_test(
            "sqlite://events.db",
            dir.path(),
        )))
        .expect("open the store");
    wait_caught_up(
        &fleet,
        &store,
        &mut [&mut daemon],
        &account.name,
        &truth,
        Duration::from_secs(90),
    );
    wait_delivered(
        &fleet,
        &store,
        &mut [&mut daemon],
        &names,
        Duration::from_secs(90),
    );
    let log = daemon.terminate();
    let events = fleet.block_on(all_events(&store, &account.name));
    fleet.block_on(store.close());

    let values = personal.values();
    let guids: Vec<String> = account
        .mock
        .store()
        .driver_ids()
        .iter()
        .map(|id| id.to_string())
        .collect();
    let forbidden: Vec<String> = values.iter().chain(&guids).cloned().collect();

    // The positive control: the store holds personal values and driver GUIDs.
    let mut held = Vec::new();
    for stored in &events {
        let text = serde_json::to_string(&stored.event).expect("event JSON");
        scan("store", &text, &forbidden, &mut held);
    }
    let held_values: BTreeSet<&str> = held.iter().map(|l| l.value.as_str()).collect();
    assert!(
        values.iter().any(|v| held_values.contains(v.as_str())),
        "control: the store holds none of the personal values: the scan could not fail"
    );
    assert!(
        guids.iter().any(|g| held_values.contains(g.as_str())),
        "control: the store holds no driver GUID: the scan could not fail"
    );

    let mut leaks = Vec::new();
    for (name, receiver) in [("plain", &plain), ("pseudo", &pseudo)] {
        receiver.with(|r| {
            assert!(r.rejected.is_empty(), "{name}: {:?}", r.rejected);
            for body in &r.bodies {
                scan(&format!("webhook {name}"), body, &forbidden, &mut leaks);
            }
        });
    }
    let messages = nats.as_ref().map(NatsStream::read_back).unwrap_or_default();
    for m in &messages {
        scan("NATS body", &m.body, &forbidden, &mut leaks);
        scan("NATS subject", &m.subject, &forbidden, &mut leaks);
    }
    // The facade's DEBUG request lines (target `ontime::http`) would show the driver sources'
    // URLs (`api/user/availability/{id}`, `?userid={id}`): the daemon's clients mask GUIDs there
    // (`ClientBuilder::mask_ids_in_logs`), so every line is scanned alike.
    let http_lines = log.iter().filter(|l| l.contains(" ontime::http:")).count();
    for line in &log {
        scan("daemon log", line, &values, &mut leaks);
        scan("daemon log", line, &guids, &mut leaks);
    }

    // Positions at the pseudonymising endpoint: present, at most 3 decimals.
    let positions = pseudo.with(|r| {
        let mut seen = 0;
        for body in &r.bodies {
            let json: serde_json::Value = serde_json::from_str(body).expect("JSON body");
            if let Some(position) = json.get("position").filter(|p| !p.is_null()) {
                seen += 1;
                for key in ["latitude", "longitude"] {
                    let n = decimals(&position[key]);
                    assert!(
                        n <= 3,
                        "pseudo: {key} with {n} decimals: {position} in {body}"
                    );
                }
            }
        }
        seen
    });
    let plain_positions = plain.with(|r| {
        r.bodies
            .iter()
            .filter(|b| b.contains("\"latitude\""))
            .count()
    });

    let mut by_place: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for leak in &leaks {
        *by_place.entry((&leak.place, &leak.value)).or_default() += 1;
    }
    eprintln!(
        "{test}: {} events stored ({} distinct forbidden values held); bodies: plain {}, pseudo {} \
         ({positions} with a position), NATS {}; {} log lines; leaks by (place, value): \
         {by_place:#?}",
        events.len(),
        held_values.len(),
        plain.with(|r| r.bodies.len()),
        pseudo.with(|r| r.bodies.len()),
        messages.len(),
        log.len()
    );
    for leak in leaks.iter().take(20) {
        eprintln!("leak: {} {:?}: …{}…", leak.place, leak.value, leak.excerpt);
    }
    eprintln!("{test}: {http_lines} DEBUG lines of ontime::http scanned");
    assert!(
        http_lines > 0,
        "control: no ontime::http DEBUG line was logged"
    );
    let stored_positions = events
        .iter()
        .filter(|e| e.event.event_type.as_str() == "driver.position")
        .count();
    if stored_positions == 0 {
        eprintln!(
            "notice: {test}: the store holds no driver.position event: the rounding at the \
             pseudonymising endpoint went unchecked"
        );
    } else {
        assert!(
            positions > 0,
            "pseudo: {stored_positions} positions stored, none received"
        );
    }
    assert_eq!(
        plain_positions, 0,
        "plain: positions sent under the default policy"
    );
    assert!(leaks.is_empty(), "{} leaks (see above)", leaks.len());
}
