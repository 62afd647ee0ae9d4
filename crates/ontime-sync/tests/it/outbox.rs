//! The delivery outbox ([`DeliveryStore`]) on SQLite and on Postgres: claims (disjoint between
//! concurrent claimers, taken over once expired, ordered per subject), retries, dead letters,
//! redelivery, destination health and disabling, and the upgrade of a store whose outbox rows
//! were queued before the outbox had claims.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, Utc};
use ontime::StatusLevel;
use ontime_sync::event::{
    Event, EventId, OrderRef, OrderSource, TimePrecision, derive_order_events, is_provisional,
    provisional_status_event, reconcile,
};
use ontime_sync::store::outbox::{Claim, DeliveryStore, Redeliver};
use ontime_sync::store::{
    Commit, CommitOutcome, EventStore, MIGRATIONS, Position, Store, StoreError,
};
use sqlx::Connection;

use crate::fixtures::{ACCOUNT, account, lifecycle, seen};
use crate::store::{TestDb, suite};

const HOOK: &str = "hook";

// Each case on SQLite and on Postgres, as in the store suite.
suite!(
    claims_are_disjoint_between_claimers,
    expired_claims_are_taken_over,
    ordered_claims_take_subject_heads,
    retries_are_due_at_their_time,
    dead_letters_redeliver_since,
    delivered_events_redeliver,
    health_tracks_backlog_and_failures,
    a_disabled_destination_gets_no_claims,
    an_upgrade_in_flight_is_sent_again,
    schema_2_outbox_upgrades,
);

fn t(seconds: i64) -> DateTime<Utc> {
    seen(0) + TimeDelta::seconds(seconds)
}

const TTL: TimeDelta = TimeDelta::seconds(30);

fn events(order: u128) -> Vec<Event> {
    derive_order_events(&account(), &lifecycle(order))
}

/// Commits the events of orders `orders` queued for `destinations`, at `at`; their positions.
async fn queue(
    store: &Store,
    orders: impl IntoIterator<Item = u128>,
    destinations: &[&str],
    at: DateTime<Utc>,
) -> Vec<Position> {
    let mut commit = Commit::new(ACCOUNT).at(at);
    for order in orders {
        commit = commit.events(events(order));
    }
    for destination in destinations {
        commit = commit.destination(*destination);
    }
    let outcome = store.commit(commit).await.unwrap();
    outcome.stored.iter().map(|s| s.position).collect()
}

async fn claim(
    store: &Store,
    worker: &str,
    limit: u32,
    ordered: bool,
    now: DateTime<Utc>,
) -> Vec<Claim> {
    store
        .claim_deliveries(HOOK, worker, limit, ordered, TTL, now)
        .await
        .unwrap()
}

async fn retry(store: &Store, claim: &Claim, due: DateTime<Utc>, reason: &str, now: DateTime<Utc>) {
    store.retry_delivery(claim, due, reason, now).await.unwrap();
}

async fn bury(store: &Store, claim: &Claim, reason: &str, now: DateTime<Utc>) {
    store.dead_letter(claim, reason, now).await.unwrap();
}

fn positions(claims: &[Claim]) -> Vec<Position> {
    claims.iter().map(Claim::position).collect()
}

async fn health(store: &Store, destination: &str) -> ontime_sync::store::outbox::DestinationHealth {
    store
        .destination_health()
        .await
        .unwrap()
        .into_iter()
        .find(|h| h.destination == destination)
        .unwrap_or_else(|| panic!("no health for {destination}"))
}

/// Two handles (two pools: on Postgres two sets of connections, as two dispatcher processes)
/// claim and complete concurrently until nothing is left: every delivery is claimed exactly
/// once, and the outbox ends empty.
async fn claims_are_disjoint_between_claimers(db: &TestDb) {
    let mut queued = Vec::new();
    for batch in 0..10u128 {
        queued.extend(queue(&db.store, batch * 20..batch * 20 + 20, &[HOOK], t(0)).await);
    }
    assert!(queued.len() > 1_000, "{}", queued.len());
    let other = db.another_writer().await;
    let run = |store: Store, worker: &'static str| {
        tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let claims = claim(&store, worker, 25, false, t(1)).await;
                if claims.is_empty() {
                    break;
                }
                assert!(claims.iter().all(|c| c.worker == worker && c.attempts == 0));
                mine.extend(positions(&claims));
                store.complete_deliveries(&claims, t(2)).await.unwrap();
            }
            mine
        })
    };
    let handles = [
        run(db.store.clone(), "a"),
        run(db.store.clone(), "b"),
        run(other.clone(), "c"),
        run(other.clone(), "d"),
    ];
    let mut seen_by: BTreeMap<Position, usize> = BTreeMap::new();
    let mut per_worker = Vec::new();
    for handle in handles {
        let mine = handle.await.unwrap();
        per_worker.push(mine.len());
        for position in mine {
            *seen_by.entry(position).or_default() += 1;
        }
    }
    let twice: Vec<_> = seen_by.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "claimed more than once: {twice:?}");
    assert_eq!(
        seen_by.keys().copied().collect::<Vec<_>>(),
        queued,
        "every delivery claimed"
    );
    assert!(
        db.store
            .pending_deliveries(HOOK, 10)
            .await
            .unwrap()
            .is_empty(),
        "none left"
    );
    let h = health(&db.store, HOOK).await;
    assert_eq!((h.backlog, h.dead_letters), (0, 0));
    assert_eq!(h.last_success_at, Some(t(2)));
    eprintln!("claims per worker: {per_worker:?}");
    other.close().await;
}

/// A claim hides its deliveries from others until it runs out; then another dispatcher takes
/// them. The first dispatcher's late results: a retry or dead letter no longer applies (the
/// deliveries are the other's now), a complete still removes them (they were delivered), and
/// the second complete is a no-op.
async fn expired_claims_are_taken_over(db: &TestDb) {
    let queued = queue(&db.store, [1], &[HOOK], t(0)).await;
    let first = claim(&db.store, "a", 100, false, t(1)).await;
    assert_eq!(positions(&first), queued);
    assert_eq!(first[0].claim_until, t(1) + TTL);
    assert!(
        claim(&db.store, "b", 100, false, t(10)).await.is_empty(),
        "claimed"
    );
    // Exactly at the end of the claim it is free again.
    let second = claim(&db.store, "b", 100, false, t(1) + TTL).await;
    assert_eq!(positions(&second), queued);
    assert!(second.iter().all(|c| c.worker == "b" && c.attempts == 0));

    // A's late retry and dead letter change nothing.
    retry(&db.store, &first[0], t(100), "late failure", t(40)).await;
    bury(&db.store, &first[1], "late failure", t(40)).await;
    assert_eq!(health(&db.store, HOOK).await.dead_letters, 0);
    assert_eq!(health(&db.store, HOOK).await.backlog, queued.len() as u64);
    assert!(
        claim(&db.store, "c", 100, false, t(41)).await.is_empty(),
        "still B's"
    );

    // A's late complete of the first delivery removes it; B's complete of it is a no-op.
    db.store.complete_delivery(&first[0], t(42)).await.unwrap();
    db.store.complete_deliveries(&second, t(43)).await.unwrap();
    db.store.complete_delivery(&second[0], t(44)).await.unwrap();
    let h = health(&db.store, HOOK).await;
    assert_eq!((h.backlog, h.dead_letters), (0, 0));
    assert!(claim(&db.store, "c", 100, false, t(1_000)).await.is_empty());
}

/// An ordered claim takes only the oldest waiting delivery of each subject; a claimed, retried
/// or otherwise waiting earlier delivery holds the later ones back, a dead-lettered one does
/// not. Unordered claims take everything due.
async fn ordered_claims_take_subject_heads(db: &TestDb) {
    queue(&db.store, [1, 2], &[HOOK], t(0)).await;
    let stored = db.store.events_after(0, 1_000).await.unwrap();
    let mut per_subject: BTreeMap<String, Vec<Position>> = BTreeMap::new();
    for s in &stored {
        per_subject
            .entry(s.event.subject.clone())
            .or_default()
            .push(s.position);
    }
    assert!(
        per_subject.values().any(|p| p.len() >= 3),
        "{per_subject:?}"
    );
    let heads: BTreeSet<Position> = per_subject.values().map(|p| p[0]).collect();

    let first = claim(&db.store, "a", 100, true, t(1)).await;
    assert_eq!(
        positions(&first).into_iter().collect::<BTreeSet<_>>(),
        heads
    );
    assert!(positions(&first).is_sorted(), "in position order");
    // The heads are claimed: their subjects wait.
    assert!(claim(&db.store, "b", 100, true, t(2)).await.is_empty());

    // Pick the longest subject; deliver its head, retry the others'.
    let (subject, longest) = per_subject
        .iter()
        .max_by_key(|(_, p)| p.len())
        .map(|(s, p)| (s.clone(), p.clone()))
        .unwrap();
    for c in &first {
        if c.stored.event.subject == subject {
            db.store.complete_delivery(c, t(3)).await.unwrap();
        } else {
            retry(&db.store, c, t(60), "503", t(3)).await;
        }
    }
    let next = claim(&db.store, "b", 100, true, t(4)).await;
    assert_eq!(
        positions(&next),
        vec![longest[1]],
        "only the delivered subject moves on"
    );
    // Its next one fails for good: the one after it is free.
    bury(&db.store, &next[0], "400", t(5)).await;
    let after = claim(&db.store, "b", 100, true, t(6)).await;
    assert_eq!(positions(&after), vec![longest[2]]);
    retry(&db.store, &after[0], t(60), "503", t(6)).await;

    // Once due, each retried head comes back; never a later event of its subject.
    let due = claim(&db.store, "c", 100, true, t(60)).await;
    let expected: BTreeSet<Position> = heads
        .iter()
        .copied()
        .filter(|p| *p != longest[0])
        .chain([longest[2]])
        .collect();
    assert_eq!(
        positions(&due).into_iter().collect::<BTreeSet<_>>(),
        expected
    );
    assert!(due.iter().all(|c| c.attempts == 1));

    // Unordered: everything due and unclaimed, whatever its subject.
    let everything = claim(&db.store, "d", 1_000, false, t(60)).await;
    let waiting = stored.len() - 2 - due.len(); // one delivered, one dead, `due` claimed
    assert_eq!(everything.len(), waiting);
}

/// A retried delivery is not claimable before its due time, then comes back with its attempt
/// counted; the reason is recorded on the destination.
async fn retries_are_due_at_their_time(db: &TestDb) {
    let queued = queue(&db.store, [3], &[HOOK], t(0)).await;
    let first = claim(&db.store, "a", 1, false, t(0)).await;
    assert_eq!(positions(&first), vec![queued[0]]);
    assert_eq!(first[0].queued_at, t(0));
    retry(&db.store, &first[0], t(300), "HTTP 503", t(1)).await;
    // The retried one is not due; the others are.
    let others = claim(&db.store, "a", 100, false, t(299)).await;
    assert_eq!(positions(&others), queued[1..].to_vec());
    db.store.complete_deliveries(&others, t(299)).await.unwrap();
    assert!(claim(&db.store, "a", 100, false, t(299)).await.is_empty());
    let again = claim(&db.store, "b", 100, false, t(300)).await;
    assert_eq!(positions(&again), vec![queued[0]]);
    assert_eq!(again[0].attempts, 1);
    assert_eq!(again[0].queued_at, t(0), "queued once");
    retry(&db.store, &again[0], t(600), "timeout", t(301)).await;
    let third = claim(&db.store, "b", 100, false, t(600)).await;
    assert_eq!(third[0].attempts, 2);
    let h = health(&db.store, HOOK).await;
    assert_eq!(h.last_error.as_deref(), Some("timeout"));
    assert_eq!(
        h.failing_since,
        Some(t(301)),
        "since the first failure after the success"
    );
}

/// Dead letters leave the backlog and do not come back by themselves; `FailedSince` queues
/// those dead-lettered from a time on again, due now with their attempts from zero.
async fn dead_letters_redeliver_since(db: &TestDb) {
    let queued = queue(&db.store, [4], &[HOOK, "other"], t(0)).await;
    let claims = claim(&db.store, "a", 3, false, t(1)).await;
    assert_eq!(claims.len(), 3);
    retry(&db.store, &claims[0], t(2), "503", t(1)).await;
    let retried = claim(&db.store, "a", 1, false, t(2)).await;
    assert_eq!(retried[0].attempts, 1);
    bury(&db.store, &retried[0], "gave up", t(10)).await;
    bury(&db.store, &claims[1], "gave up", t(20)).await;
    bury(&db.store, &claims[2], "gave up", t(30)).await;
    let h = health(&db.store, HOOK).await;
    assert_eq!(h.dead_letters, 3);
    assert_eq!(h.backlog, queued.len() as u64 - 3);
    assert_eq!(h.failing_since, Some(t(1)));
    assert_eq!(h.last_error.as_deref(), Some("gave up"));
    assert!(
        !positions(&claim(&db.store, "a", 100, false, t(10_000)).await).contains(&queued[0]),
        "dead letters are not claimed"
    );
    // The other destination is untouched.
    assert_eq!(
        health(&db.store, "other").await.backlog,
        queued.len() as u64
    );

    let requeued = failed_since(&db.store, t(20), t(20_000)).await;
    assert_eq!(requeued, 2);
    let h = health(&db.store, HOOK).await;
    assert_eq!(h.dead_letters, 1, "the one before `since` stays");
    // Back in the outbox beside the never-claimed rest: all but the first.
    let back = claim(&db.store, "b", 100, false, t(20_000)).await;
    assert_eq!(positions(&back), queued[1..].to_vec());
    assert_eq!(
        (back[0].position(), back[1].position()),
        (claims[1].position(), claims[2].position())
    );
    assert!(back.iter().all(|c| c.attempts == 0));
    assert_eq!(back[0].queued_at, t(20_000));
    assert_eq!(back[2].queued_at, t(0));
    assert_eq!(
        back[0].stored, claims[1].stored,
        "the same event (same webhook-id)"
    );
    // Nothing dead-lettered since then: nothing to do.
    let none = failed_since(&db.store, t(21_000), t(21_000)).await;
    assert_eq!(none, 0);
}

async fn failed_since(store: &Store, since: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    let what = Redeliver::FailedSince {
        destination: HOOK.to_owned(),
        since,
    };
    store.redeliver(&what, now).await.unwrap()
}

/// An event delivered already is queued again on request (at-least-once, same id), to the
/// destinations named or, when none are, to every destination the store knows; one still
/// waiting counts once and is made due now; an unknown id is an error.
async fn delivered_events_redeliver(db: &TestDb) {
    let queued = queue(&db.store, [5], &[HOOK, "erp"], t(0)).await;
    // Both destinations' deliveries completed together (one transaction).
    let mut claims = Vec::new();
    for destination in [HOOK, "erp"] {
        let mine = db
            .store
            .claim_deliveries(destination, "a", 1_000, false, TTL, t(1))
            .await
            .unwrap();
        assert_eq!(mine.len(), queued.len());
        claims.extend(mine);
    }
    db.store.complete_deliveries(&claims, t(2)).await.unwrap();
    for destination in [HOOK, "erp"] {
        let h = health(&db.store, destination).await;
        assert_eq!((h.backlog, h.last_success_at), (0, Some(t(2))));
    }
    let stored = db.store.events_after(0, 1).await.unwrap();
    let event_id = stored[0].event.event_id.clone();
    let n = db
        .store
        .redeliver(
            &Redeliver::Event {
                event_id: event_id.clone(),
                destinations: vec![HOOK.to_owned()],
            },
            t(100),
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(
        health(&db.store, "erp").await.backlog,
        0,
        "only where asked"
    );
    let again = claim(&db.store, "b", 100, true, t(100)).await;
    assert_eq!(positions(&again), vec![stored[0].position]);
    assert_eq!(again[0].stored.event.event_id, event_id);
    // Every known destination; the one still claimed for HOOK counts once, and its claim is
    // released: B's complete (of a send begun before the request) leaves it queued.
    let n = db
        .store
        .redeliver(
            &Redeliver::Event {
                event_id: event_id.clone(),
                destinations: Vec::new(),
            },
            t(101),
        )
        .await
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(health(&db.store, HOOK).await.backlog, 1);
    assert_eq!(health(&db.store, "erp").await.backlog, 1);
    db.store.complete_deliveries(&again, t(102)).await.unwrap();
    let third = claim(&db.store, "c", 100, false, t(102)).await;
    assert_eq!(positions(&third), vec![stored[0].position]);
    assert_eq!(third[0].stored.event.event_id, event_id);
    // Re-claimed: a late complete of B's now removes it (C is sending it).
    db.store.complete_deliveries(&again, t(103)).await.unwrap();
    assert_eq!(health(&db.store, HOOK).await.backlog, 0);
    let unknown = db
        .store
        .redeliver(
            &Redeliver::Event {
                event_id: EventId::from_source(&["no", "such", "event"]),
                destinations: Vec::new(),
            },
            t(103),
        )
        .await;
    assert!(
        matches!(unknown, Err(StoreError::EventNotFound { .. })),
        "{unknown:?}"
    );
}

/// A provisional event upgraded in place while a dispatcher is sending its old content: the
/// dispatcher's complete leaves it queued, and the next claim sends the exact content.
async fn an_upgrade_in_flight_is_sent_again(db: &TestDb) {
    let full = lifecycle(12);
    let history = |steps: usize| OrderSource {
        steps: full.steps[..steps].to_vec(),
        ..full.clone()
    };
    queue_history(&db.store, &history(3)).await;
    let timeline = order_timeline(&db.store, &full).await;
    let order = OrderRef {
        id: full.order_id,
        tracking_number: full.tracking_number.clone(),
    };
    let level = StatusLevel::AssignedInRoute;
    let provisional = provisional_status_event(&account(), order, &level, &timeline, seen(40));
    let commit = Commit::new(ACCOUNT)
        .events([provisional.clone()])
        .destination(HOOK);
    db.store.commit(commit).await.unwrap();
    let in_flight = claim(&db.store, "a", 1_000, false, t(1)).await;
    let old = in_flight
        .iter()
        .find(|c| c.stored.event.event_id == provisional.event_id)
        .unwrap();
    assert!(is_provisional(&old.stored.event));
    // The history arrives meanwhile: the row's content is replaced.
    let outcome = queue_history(&db.store, &history(4)).await;
    assert_eq!(outcome.upgraded.len(), 1);
    db.store
        .complete_deliveries(&in_flight, t(2))
        .await
        .unwrap();
    let again = claim(&db.store, "b", 1_000, false, t(3)).await;
    let new: Vec<&Claim> = again
        .iter()
        .filter(|c| c.stored.event.event_id == provisional.event_id)
        .collect();
    assert_eq!(new.len(), 1, "queued once, sent again");
    assert_eq!(new[0].stored.event.time_precision, TimePrecision::Exact);
    assert_eq!(new[0].stored, outcome.upgraded[0]);
}

async fn order_timeline(store: &Store, source: &OrderSource) -> Vec<Event> {
    let subject = Event::order_subject(source.order_id);
    let stored = store.timeline(ACCOUNT, &subject).await.unwrap();
    stored.into_iter().map(|s| s.event).collect()
}

/// `source`'s events reconciled with the store's, committed for HOOK.
async fn queue_history(store: &Store, source: &OrderSource) -> CommitOutcome {
    let known = order_timeline(store, source).await;
    let sorted = reconcile(derive_order_events(&account(), source), &known);
    let commit = Commit::new(ACCOUNT)
        .events(sorted.events)
        .upgrades(sorted.upgrades)
        .destination(HOOK);
    store.commit(commit).await.unwrap()
}

/// Backlog and the oldest queue time follow the outbox; `failing_since` is the first failure
/// since the last success; every known destination is listed, in name order.
async fn health_tracks_backlog_and_failures(db: &TestDb) {
    assert!(db.store.destination_health().await.unwrap().is_empty());
    let first = queue(&db.store, [6], &["b-erp", "a-bi"], t(0)).await;
    let second = queue(&db.store, [7], &["b-erp"], t(50)).await;
    let all = db.store.destination_health().await.unwrap();
    let names: Vec<&str> = all.iter().map(|h| h.destination.as_str()).collect();
    assert_eq!(names, ["a-bi", "b-erp"]);
    assert_eq!(all[0].backlog, first.len() as u64);
    assert_eq!(all[1].backlog, (first.len() + second.len()) as u64);
    assert_eq!(all[1].oldest_queued_at, Some(t(0)));
    assert_eq!(all[1].failing_since, None);
    assert_eq!(all[1].last_success_at, None);
    assert_eq!(all[1].disabled, None);

    let claims = db
        .store
        .claim_deliveries("b-erp", "w", 1_000, false, TTL, t(60))
        .await
        .unwrap();
    let (old, new): (Vec<Claim>, Vec<Claim>) = claims
        .into_iter()
        .partition(|c| first.contains(&c.position()));
    retry(&db.store, &old[0], t(120), "HTTP 500", t(61)).await;
    retry(&db.store, &old[1], t(120), "HTTP 502", t(62)).await;
    let h = health(&db.store, "b-erp").await;
    assert_eq!(h.failing_since, Some(t(61)), "since the first failure");
    assert_eq!(h.last_error.as_deref(), Some("HTTP 502"));
    db.store
        .complete_deliveries(&old[2..], t(63))
        .await
        .unwrap();
    db.store.complete_deliveries(&new, t(63)).await.unwrap();
    let h = health(&db.store, "b-erp").await;
    assert_eq!(h.failing_since, None);
    assert_eq!(h.last_success_at, Some(t(63)));
    assert_eq!(
        h.last_error.as_deref(),
        Some("HTTP 502"),
        "the last failure's reason"
    );
    assert_eq!(h.backlog, 2);
    assert_eq!(h.oldest_queued_at, Some(t(0)));
}

/// A disabled destination gets no claims and keeps its deliveries; enabled again, they are due
/// at once (also those waiting for a retry) and its failure streak starts over.
async fn a_disabled_destination_gets_no_claims(db: &TestDb) {
    let queued = queue(&db.store, [8], &[HOOK, "other"], t(0)).await;
    let first = claim(&db.store, "a", 1, false, t(1)).await;
    retry(&db.store, &first[0], t(3_600), "410", t(1)).await;
    db.store
        .disable_destination(HOOK, "HTTP 410 Gone", t(2))
        .await
        .unwrap();
    assert!(claim(&db.store, "a", 100, false, t(10)).await.is_empty());
    assert!(claim(&db.store, "a", 100, true, t(10)).await.is_empty());
    let other = db
        .store
        .claim_deliveries("other", "a", 100, false, TTL, t(10))
        .await
        .unwrap();
    assert_eq!(other.len(), queued.len(), "others still deliver");
    let h = health(&db.store, HOOK).await;
    assert_eq!(h.disabled, Some((t(2), "HTTP 410 Gone".to_owned())));
    assert_eq!(h.backlog, queued.len() as u64);

    db.store.enable_destination(HOOK, t(20)).await.unwrap();
    let h = health(&db.store, HOOK).await;
    assert_eq!(h.disabled, None);
    assert_eq!(h.failing_since, None);
    let all = claim(&db.store, "a", 100, false, t(20)).await;
    assert_eq!(
        positions(&all),
        queued,
        "the retried one is due at once too"
    );
}

/// A store at schema version 2 (outbox rows without subject, times or claims) upgrades on open:
/// its queued rows get their subjects (ordered claims work) and deliver.
async fn schema_2_outbox_upgrades(db: &TestDb) {
    let engine = db.store.engine();
    db.store.close().await;
    let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    // Back to an empty database, then the schema as version 2 left it.
    for table in [
        "dead_letters",
        "destinations",
        "outbox",
        "leases",
        "cursors",
        "events",
        "store_head",
        "schema_migrations",
    ] {
        sqlx::query(&format!("DROP TABLE {table}"))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    sqlx::query(
        "CREATE TABLE schema_migrations (version BIGINT NOT NULL PRIMARY KEY, name TEXT NOT NULL)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    for migration in &MIGRATIONS[..2] {
        for statement in migration.statements {
            sqlx::query(&statement.render(engine))
                .execute(&mut conn)
                .await
                .unwrap();
        }
        sqlx::query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)")
            .bind(migration.version)
            .bind(migration.name)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    // Two orders' events, queued for HOOK the way version 2 did.
    let mut sequences: BTreeMap<String, i64> = BTreeMap::new();
    let mut position = 0i64;
    for order in [9, 10] {
        for mut event in events(order) {
            position += 1;
            let sequence = sequences.entry(event.subject.clone()).or_default();
            *sequence += 1;
            event.sequence = Some(*sequence as u64);
            sqlx::query(
                "INSERT INTO events (position, event_id, account, subject, sequence, event_type, occurred_at_us, payload)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(position)
            .bind(event.event_id.as_str().to_owned())
            .bind(event.account.clone())
            .bind(event.subject.clone())
            .bind(*sequence)
            .bind(event.event_type.as_str())
            .bind(event.occurred_at.timestamp_micros())
            .bind(serde_json::to_string(&event).unwrap())
            .execute(&mut conn)
            .await
            .unwrap();
            sqlx::query("INSERT INTO outbox (destination, position) VALUES ($1, $2)")
                .bind(HOOK)
                .bind(position)
                .execute(&mut conn)
                .await
                .unwrap();
        }
    }
    sqlx::query("UPDATE store_head SET position = $1 WHERE id = 1")
        .bind(position)
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.ok();

    let before = Utc::now();
    let store = Store::open(&db.url).await.expect("upgraded on open");
    let after = Utc::now();
    let h = health(&store, HOOK).await;
    assert_eq!(h.backlog, position as u64);
    let oldest = h.oldest_queued_at.unwrap();
    assert!(
        oldest >= before - TimeDelta::seconds(1) && oldest <= after + TimeDelta::seconds(1),
        "queued when upgraded: {oldest}"
    );
    // Ordered claims see the subjects; the rows deliver, each subject in order.
    let mut delivered: BTreeMap<String, Vec<Position>> = BTreeMap::new();
    let mut rounds = 0;
    loop {
        let claims = claim(&store, "a", 100, true, t(0)).await;
        if claims.is_empty() {
            break;
        }
        rounds += 1;
        let subjects: BTreeSet<&str> = claims
            .iter()
            .map(|c| c.stored.event.subject.as_str())
            .collect();
        assert_eq!(subjects.len(), claims.len(), "one per subject and claim");
        for c in &claims {
            delivered
                .entry(c.stored.event.subject.clone())
                .or_default()
                .push(c.position());
        }
        store.complete_deliveries(&claims, t(1)).await.unwrap();
    }
    assert!(rounds > 1);
    let total: usize = delivered.values().map(Vec::len).sum();
    assert_eq!(total, position as usize);
    assert!(delivered.values().all(|p| p.is_sorted()));
    // And new commits queue with subjects as usual.
    let more = queue(&store, [11], &[HOOK], t(2)).await;
    assert_eq!(
        positions(&claim(&store, "a", 1_000, false, t(3)).await),
        more
    );
    store.close().await;
}
