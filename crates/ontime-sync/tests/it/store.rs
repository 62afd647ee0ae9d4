//! The same store suite on SQLite (a temporary file) and on Postgres (a schema of its own per
//! test, dropped at the end). Postgres: `ONTIME_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`; when no server answers the Postgres half prints
//! a notice and passes, unless `ONTIME_REQUIRE_SERVICES=1`.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use ontime::StatusLevel;
use ontime_sync::event::{
    Event, EventType, OrderRef, OrderSource, TimePrecision, derive_order_events, is_provisional,
    provisional_status_event, reconcile,
};
use ontime_sync::store::{Commit, EventQuery, EventStore, Store, StoreError};
use serde_json::json;
use sqlx::Connection;

use crate::fixtures::{ACCOUNT, account, lifecycle, seen, status, step};

const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// One test's database.
pub(crate) struct TestDb {
    /// Opens the store (again: a second handle is a second writer).
    pub(crate) url: String,
    pub(crate) store: Store,
    cleanup: Cleanup,
    _dir: Option<tempfile::TempDir>,
}

enum Cleanup {
    Nothing,
    DropSchema { admin_url: String, schema: String },
}

impl TestDb {
    pub(crate) async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("events.db").display()
        );
        let store = Store::open(&url).await.expect("open sqlite store");
        Self {
            url,
            store,
            cleanup: Cleanup::Nothing,
            _dir: Some(dir),
        }
    }

    pub(crate) async fn postgres(test: &str) -> Option<Self> {
        sqlx::any::install_default_drivers();
        let admin_url = std::env::var("ONTIME_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| DEFAULT_POSTGRES.to_owned());
        let connect = sqlx::AnyConnection::connect(&admin_url);
        let mut conn = match tokio::time::timeout(Duration::from_secs(5), connect).await {
            Ok(Ok(conn)) => conn,
            failure => {
                let why = match failure {
                    Ok(Err(e)) => e.to_string(),
                    _ => "timed out".to_owned(),
                };
                if std::env::var("ONTIME_REQUIRE_SERVICES").as_deref() == Ok("1") {
                    panic!("Postgres required (ONTIME_REQUIRE_SERVICES=1) but unreachable: {why}");
                }
                eprintln!("notice: skipping Postgres store test {test}: no server ({why})");
                return None;
            }
        };
        let schema = format!("ontime_sync_{test}_{}", std::process::id());
        sqlx::raw_sql(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .execute(&mut conn)
        .await
        .unwrap();
        conn.close().await.ok();
        let separator = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!("{admin_url}{separator}options=-c%20search_path%3D{schema}");
        let store = Store::open(&url).await.expect("open postgres store");
        Some(Self {
            url,
            store,
            cleanup: Cleanup::DropSchema { admin_url, schema },
            _dir: None,
        })
    }

    pub(crate) async fn another_writer(&self) -> Store {
        Store::open(&self.url).await.expect("second handle")
    }

    /// Raw SQL on the test database, for damaging it on purpose.
    pub(crate) async fn execute(&self, sql: &str) {
        let mut conn = sqlx::AnyConnection::connect(&self.url).await.unwrap();
        sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
        conn.close().await.ok();
    }

    pub(crate) async fn finish(self) {
        self.store.close().await;
        // Dropping cleans up.
    }
}

impl Drop for TestDb {
    /// Drops the test's Postgres schema, also when the test panicked (on a thread of its own:
    /// the test's runtime may be gone or busy).
    fn drop(&mut self) {
        let Cleanup::DropSchema { admin_url, schema } =
            std::mem::replace(&mut self.cleanup, Cleanup::Nothing)
        else {
            return;
        };
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let mut conn = sqlx::AnyConnection::connect(&admin_url).await.unwrap();
                sqlx::raw_sql(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                conn.close().await.ok();
            });
        })
        .join();
        if dropped.is_err() && !std::thread::panicking() {
            panic!("could not drop the test schema");
        }
    }
}

/// Runs each case on SQLite and on Postgres.
macro_rules! suite {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let db = super::TestDb::sqlite().await;
                    super::$case(&db).await;
                    db.finish().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(db) = super::TestDb::postgres(stringify!($case)).await else {
                        return;
                    };
                    super::$case(&db).await;
                    db.finish().await;
                }
            )*
        }
    };
}

pub(crate) use suite;

suite!(
    a_duplicate_event_is_stored_once,
    a_failed_commit_leaves_neither_events_nor_cursor,
    replay_keeps_positions_and_sequences,
    timeline_is_in_sequence_order,
    cursor_paging_sees_every_event_once,
    queries_by_type_and_time,
    new_events_are_queued_per_destination,
    concurrent_overlapping_writers_store_each_event_once,
    mixed_accounts_are_refused,
    a_large_commit_spans_several_statements,
    a_commit_past_one_scripts_placeholders_is_still_one_transaction,
    a_provisional_event_is_upgraded_in_place,
    missed_transitions_are_new_and_the_provisional_takes_the_latest_visit,
    cursors_list_by_prefix_and_clear_only_while_unchanged,
    a_lease_expires_is_taken_over_and_fences_the_stale_worker,
    workers_racing_for_an_expired_lease_get_it_once,
    orders_are_located_by_id_and_tracking_number,
    cursor_updates_and_removals_in_one_commit_apply_in_order,
    the_storage_layout_suits_the_engine,
    failed_commits_leave_no_transaction_open,
);

/// `locate_order` finds an order's (account, subject) by ID and by exact tracking number (not by
/// a LIKE wildcard or another case), per account; `last_position` follows commits.
async fn orders_are_located_by_id_and_tracking_number(db: &TestDb) {
    use ontime::OrderRef as Lookup;
    use ontime_sync::store::OrderSubject;
    assert_eq!(db.store.last_position().await.unwrap(), 0);
    let mut first = lifecycle(31);
    first.tracking_number = Some("TN_1%".into());
    let mut second = lifecycle(32);
    second.tracking_number = Some("tnx1%".into());
    let mut third = lifecycle(33);
    third.tracking_number = Some("tn_1%".into());
    let mut stored = 0;
    for source in [&first, &second, &third] {
        let events = derive_order_events(&account(), source);
        stored += events.len() as u64;
        db.store
            .commit(Commit::new(ACCOUNT).events(events))
            .await
            .unwrap();
    }
    // The same order in a second account.
    let other = ontime_sync::event::AccountConfig::new("other", chrono_tz::UTC);
    let events = derive_order_events(&other, &first);
    stored += events.len() as u64;
    db.store
        .commit(Commit::new("other").events(events))
        .await
        .unwrap();
    assert_eq!(db.store.last_position().await.unwrap(), stored);

    let subject = Event::order_subject(first.order_id);
    let both = vec![
        OrderSubject {
            account: ACCOUNT.into(),
            subject: subject.clone(),
        },
        OrderSubject {
            account: "other".into(),
            subject: subject.clone(),
        },
    ];
    let by_id = Lookup::Id(first.order_id);
    assert_eq!(db.store.locate_order(None, &by_id).await.unwrap(), both);
    assert_eq!(
        db.store.locate_order(Some("other"), &by_id).await.unwrap(),
        both[1..]
    );
    let by_number = Lookup::TrackingNumber("TN_1%".into());
    assert_eq!(db.store.locate_order(None, &by_number).await.unwrap(), both);
    assert_eq!(
        db.store
            .locate_order(Some(ACCOUNT), &by_number)
            .await
            .unwrap(),
        both[..1]
    );
    let third_only = db
        .store
        .locate_order(None, &Lookup::TrackingNumber("tn_1%".into()))
        .await
        .unwrap();
    assert_eq!(third_only.len(), 1);
    assert_eq!(third_only[0].subject, Event::order_subject(third.order_id));
    for absent in ["TN", "TN_1", "%", "1000031"] {
        let none = db
            .store
            .locate_order(None, &Lookup::TrackingNumber(absent.into()))
            .await
            .unwrap();
        assert!(none.is_empty(), "{absent}: {none:?}");
    }
    let unknown = Lookup::Id(crate::fixtures::order_id(99));
    assert!(
        db.store
            .locate_order(None, &unknown)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Four workers ask for the same expired lease at once: exactly one gets it, with the next token.
async fn workers_racing_for_an_expired_lease_get_it_once(db: &TestDb) {
    let ttl = chrono::TimeDelta::seconds(30);
    let t = Utc.with_ymd_and_hms(2026, 1, 15, 15, 0, 0).unwrap();
    let old = db
        .store
        .acquire_lease(ACCOUNT, "old", ttl, t)
        .await
        .unwrap()
        .unwrap();
    let mut handles = Vec::new();
    for worker in ["w1", "w2", "w3", "w4"] {
        let store = Store::open(&db.url).await.unwrap();
        handles.push(tokio::spawn(async move {
            let lease = store
                .acquire_lease(ACCOUNT, worker, ttl, t + ttl)
                .await
                .unwrap();
            store.close().await;
            lease
        }));
    }
    let mut winners = Vec::new();
    for handle in handles {
        winners.extend(handle.await.unwrap());
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert_eq!(winners[0].token, old.token + 1);
}

/// Two workers (two handles on one database): A holds the account while it renews; when it
/// stops, B takes over once the TTL has run out, and A's commits and renewals are refused
/// without writing anything.
async fn a_lease_expires_is_taken_over_and_fences_the_stale_worker(db: &TestDb) {
    let a = &db.store;
    let b = Store::open(&db.url).await.unwrap();
    let ttl = chrono::TimeDelta::seconds(30);
    let t = Utc.with_ymd_and_hms(2026, 1, 15, 15, 0, 0).unwrap();
    let at = |s: i64| t + chrono::TimeDelta::seconds(s);

    let lease_a = a
        .acquire_lease(ACCOUNT, "a", ttl, at(0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lease_a.token, 1);
    assert_eq!(
        b.acquire_lease(ACCOUNT, "b", ttl, at(10)).await.unwrap(),
        None
    );
    assert!(
        b.acquire_lease("other", "b", ttl, at(10))
            .await
            .unwrap()
            .is_some(),
        "leases are per account"
    );
    // A renews at 20 s: held until 50 s.
    let lease_a = a.renew_lease(&lease_a, ttl, at(20)).await.unwrap();
    assert_eq!(
        b.acquire_lease(ACCOUNT, "b", ttl, at(31)).await.unwrap(),
        None
    );
    let e = events(70);
    a.commit(
        Commit::new(ACCOUNT)
            .events(e[..2].to_vec())
            .fenced(&lease_a),
    )
    .await
    .unwrap();

    // A stops renewing; at 50 s (one TTL after its last renewal) B takes over.
    let lease_b = b
        .acquire_lease(ACCOUNT, "b", ttl, at(50))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lease_b.token, 2, "the fencing token went up");

    let stale = Commit::new(ACCOUNT)
        .events(e[2..4].to_vec())
        .cursor("poll", json!("stale"))
        .fenced(&lease_a);
    assert!(matches!(
        a.commit(stale).await,
        Err(StoreError::LeaseLost { account }) if account == ACCOUNT
    ));
    assert_eq!(all(a).await.len(), 2, "no event of the stale commit");
    assert_eq!(
        a.cursor(ACCOUNT, "poll").await.unwrap(),
        None,
        "nor its cursor"
    );
    assert!(matches!(
        a.renew_lease(&lease_a, ttl, at(51)).await,
        Err(StoreError::LeaseLost { .. })
    ));
    // Releasing a lease taken over changes nothing.
    a.release_lease(&lease_a).await.unwrap();

    b.commit(
        Commit::new(ACCOUNT)
            .events(e[2..4].to_vec())
            .fenced(&lease_b),
    )
    .await
    .unwrap();
    assert_eq!(all(a).await.len(), 4);
    // B lets go: A may take the account back at once, with the next token.
    b.release_lease(&lease_b).await.unwrap();
    let back = a
        .acquire_lease(ACCOUNT, "a", ttl, at(52))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.token, 3);
    assert!(matches!(
        b.commit(Commit::new(ACCOUNT).fenced(&lease_b)).await,
        Err(StoreError::LeaseLost { .. })
    ));
    b.close().await;
}

/// A store-backed queue: one cursor per entry, listed by prefix in name order; a clear removes an
/// entry only while it holds the value read.
async fn cursors_list_by_prefix_and_clear_only_while_unchanged(db: &TestDb) {
    let put = |name: &str, value: serde_json::Value| Commit::new(ACCOUNT).cursor(name, value);
    for (name, n) in [("q/b", 2), ("q/a", 1), ("q/c", 3), ("qx", 9), ("poll", 0)] {
        db.store
            .commit(put(name, serde_json::json!(n)))
            .await
            .unwrap();
    }
    db.store
        .commit(Commit::new("other").cursor("q/z", serde_json::json!(0)))
        .await
        .unwrap();
    let listed = db.store.cursors(ACCOUNT, "q/", 10).await.unwrap();
    let names: Vec<&str> = listed.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["q/a", "q/b", "q/c"], "prefix, account, name order");
    assert_eq!(db.store.cursors(ACCOUNT, "q/", 2).await.unwrap().len(), 2);

    // q/a was rewritten after it was read: clearing the old value keeps it; q/b goes.
    db.store
        .commit(put("q/a", serde_json::json!(10)))
        .await
        .unwrap();
    let clear = Commit::new(ACCOUNT)
        .clear("q/a", serde_json::json!(1))
        .clear("q/b", serde_json::json!(2));
    db.store.commit(clear).await.unwrap();
    let left: Vec<(String, serde_json::Value)> = db.store.cursors(ACCOUNT, "q/", 10).await.unwrap();
    assert_eq!(
        left,
        [
            ("q/a".to_owned(), serde_json::json!(10)),
            ("q/c".to_owned(), serde_json::json!(3))
        ]
    );
}

/// One commit that sets a cursor twice, sets and removes another, removes one it did not set,
/// and sets one while removing a stale value of it: the outcome is that of running the updates
/// in order, then the removals in order (each cursor is written once per commit).
async fn cursor_updates_and_removals_in_one_commit_apply_in_order(db: &TestDb) {
    use serde_json::json;
    let before = Commit::new(ACCOUNT)
        .cursor("q/stale", json!(1))
        .cursor("q/gone", json!(2))
        .cursor("q/kept", json!(3))
        .cursor("q/reset", json!(4));
    db.store.commit(before).await.unwrap();
    let commit = Commit::new(ACCOUNT)
        .cursor("q/twice", json!("first"))
        .cursor("q/twice", json!("second"))
        .cursor("q/set-and-taken", json!(5))
        .cursor("q/reset", json!(40))
        .clear("q/set-and-taken", json!(5))
        .clear("q/gone", json!(2))
        .clear("q/kept", json!(99))
        .clear("q/reset", json!(4))
        .clear("q/never", json!(0));
    db.store.commit(commit).await.unwrap();
    let left: BTreeMap<String, serde_json::Value> = db
        .store
        .cursors(ACCOUNT, "q/", 100)
        .await
        .unwrap()
        .into_iter()
        .collect();
    let expected: BTreeMap<String, serde_json::Value> = [
        ("q/kept", json!(3)),
        ("q/reset", json!(40)),
        ("q/stale", json!(1)),
        ("q/twice", json!("second")),
    ]
    .into_iter()
    .map(|(n, v)| (n.to_owned(), v))
    .collect();
    assert_eq!(left, expected);

    // A removal of the value a cursor is set to in the same commit removes it, also when it
    // existed before with another value.
    let commit = Commit::new(ACCOUNT)
        .cursor("q/stale", json!(7))
        .clear("q/stale", json!(7));
    db.store.commit(commit).await.unwrap();
    assert_eq!(db.store.cursor(ACCOUNT, "q/stale").await.unwrap(), None);
}

/// The schema's storage per engine: on SQLite the position is the rowid (no separate key
/// index) and the tables keyed by text keep their rows in the key (`WITHOUT ROWID`); on both,
/// `events` carries only the indexes its queries use (position, event_id, subject key).
async fn the_storage_layout_suits_the_engine(db: &TestDb) {
    let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    if db.url.starts_with("sqlite:") {
        let indexes: Vec<(String,)> = sqlx::query_as(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' ORDER BY name",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap();
        // The two unique constraints (event_id; subject, account, sequence), nothing else.
        assert_eq!(indexes.len(), 2, "{indexes:?}");
        assert!(
            indexes
                .iter()
                .all(|(n,)| n.starts_with("sqlite_autoindex_events"))
        );
        for table in ["cursors", "outbox", "leases"] {
            let (sql,): (String,) =
                sqlx::query_as("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = $1")
                    .bind(table)
                    .fetch_one(&mut conn)
                    .await
                    .unwrap();
            assert!(sql.ends_with("WITHOUT ROWID"), "{table}: {sql}");
        }
        let (sql,): (String,) = sqlx::query_as(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'events'",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert!(sql.contains("position INTEGER PRIMARY KEY"), "{sql}");
        let (subjects,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM sqlite_master WHERE name = 'subjects'")
                .fetch_one(&mut conn)
                .await
                .unwrap();
        assert_eq!(subjects, 0, "last sequences come from the events' index");
    } else {
        let indexes: Vec<(String,)> = sqlx::query_as(
            "SELECT CAST(indexname AS TEXT) FROM pg_indexes
             WHERE schemaname = current_schema() AND tablename = 'events' ORDER BY indexname",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap();
        // The primary key and the two unique constraints.
        assert_eq!(indexes.len(), 3, "{indexes:?}");
        assert!(indexes.iter().any(|(n,)| n == "events_pkey"), "{indexes:?}");
    }
    conn.close().await.ok();
    // And the store works on it.
    let outcome = db
        .store
        .commit(Commit::new(ACCOUNT).events(events(60)))
        .await
        .unwrap();
    assert!(!outcome.stored.is_empty());
    assert_gapless(&all(&db.store).await);
}

/// Commits refused inside their transaction (a stale fence) on every pooled connection, then
/// commits that succeed: each failure was rolled back before its connection went back to the
/// pool (a connection left inside a transaction would fail the next `BEGIN`, or hide its
/// writes from other handles).
async fn failed_commits_leave_no_transaction_open(db: &TestDb) {
    let stale = ontime_sync::store::Fence {
        worker: "nobody".to_owned(),
        token: 99,
    };
    for order in 70..80 {
        let mut commit = Commit::new(ACCOUNT).events(events(order));
        commit.fence = Some(stale.clone());
        let error = db.store.commit(commit).await.unwrap_err();
        assert!(matches!(error, StoreError::LeaseLost { .. }), "{error}");
    }
    let mut expected = 0;
    for order in 80..90 {
        let commit = Commit::new(ACCOUNT)
            .events(events(order))
            .cursor("after-failures", json!(order));
        expected += db.store.commit(commit).await.unwrap().stored.len();
    }
    let other = db.another_writer().await;
    let stored = all(&other).await;
    assert_eq!(stored.len(), expected);
    assert_gapless(&stored);
    assert_eq!(
        other.cursor(ACCOUNT, "after-failures").await.unwrap(),
        Some(json!(89))
    );
    other.close().await;
}

/// A SQLite commit dropped while it waits for the write lock (its `BEGIN IMMEDIATE` still
/// running in the driver) stores nothing, and the store stays usable: the write lock is free
/// again and the commits after it all succeed. (Whether the dropped commit's `BEGIN` runs before
/// or after those depends on SQLite's busy-handler timing, so this does not pin down the
/// closing of its connection every time; with a wait before the probe, a connection returned
/// to the pool unclosed was seen holding the lock.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_commit_dropped_mid_way_leaves_no_transaction_open() {
    let db = TestDb::sqlite().await;
    let mut holder = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    sqlx::raw_sql("BEGIN IMMEDIATE")
        .execute(&mut holder)
        .await
        .unwrap();
    let dropped = tokio::time::timeout(
        Duration::from_millis(200),
        db.store.commit(Commit::new(ACCOUNT).events(events(90))),
    )
    .await;
    assert!(dropped.is_err(), "the commit waited for the write lock");
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut holder)
        .await
        .unwrap();
    holder.close().await.unwrap();
    // Take the write lock once more, waiting as the store's writers do: the dropped commit's
    // `BEGIN` gets the lock before or after this, and must let it go either way (a connection
    // left inside its transaction would hold it until the busy timeout fails this).
    let mut probe = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    sqlx::raw_sql("PRAGMA busy_timeout = 30000; BEGIN IMMEDIATE; ROLLBACK")
        .execute(&mut probe)
        .await
        .unwrap();
    probe.close().await.unwrap();
    let mut expected = 0;
    for order in 91..99 {
        let commit = Commit::new(ACCOUNT).events(events(order));
        expected += db.store.commit(commit).await.unwrap().stored.len();
    }
    let other = db.another_writer().await;
    let stored = all(&other).await;
    assert_eq!(stored.len(), expected, "nothing of the dropped commit");
    assert_gapless(&stored);
    other.close().await;
    db.finish().await;
}

#[tokio::test]
async fn a_sqlite_path_may_hold_url_characters() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("odd dir #1 ?%").join("events.db");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let store = Store::open_sqlite(&path).await.unwrap();
    store
        .commit(Commit::new(ACCOUNT).events(events(60)))
        .await
        .unwrap();
    store.close().await;
    assert!(path.exists(), "the file is where it was asked to be");
    let again = Store::open(path.to_str().unwrap()).await.unwrap();
    assert_eq!(
        all(&again).await.len(),
        events(60).len(),
        "reopened, migrations not rerun"
    );
    again.close().await;
}

fn events(order: u128) -> Vec<Event> {
    derive_order_events(&account(), &lifecycle(order))
}

async fn all(store: &Store) -> Vec<ontime_sync::store::StoredEvent> {
    store.events_after(0, 10_000).await.unwrap()
}

/// Every subject's sequence is 1..=n and positions are 1..=N.
fn assert_gapless(stored: &[ontime_sync::store::StoredEvent]) {
    let positions: Vec<u64> = stored.iter().map(|s| s.position).collect();
    assert_eq!(positions, (1..=stored.len() as u64).collect::<Vec<_>>());
    let mut per_subject: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for s in stored {
        per_subject
            .entry(&s.event.subject)
            .or_default()
            .push(s.event.sequence.unwrap());
    }
    for (subject, mut seqs) in per_subject {
        seqs.sort_unstable();
        assert_eq!(
            seqs,
            (1..=seqs.len() as u64).collect::<Vec<_>>(),
            "{subject}"
        );
    }
}

async fn a_duplicate_event_is_stored_once(db: &TestDb) {
    let e = events(1);
    let first = db
        .store
        .commit(Commit::new(ACCOUNT).events(e[..3].to_vec()))
        .await
        .unwrap();
    assert_eq!(first.stored.len(), 3);
    // The same event twice in one commit, and one stored before.
    let batch = vec![e[2].clone(), e[3].clone(), e[3].clone()];
    let second = db
        .store
        .commit(Commit::new(ACCOUNT).events(batch))
        .await
        .unwrap();
    assert_eq!(second.stored.len(), 1);
    assert_eq!(
        second.duplicates,
        vec![e[2].event_id.clone(), e[3].event_id.clone()]
    );
    let stored = all(&db.store).await;
    assert_eq!(stored.len(), 4);
    assert_eq!(stored[3].event.event_id, e[3].event_id);
    assert_eq!(stored[3].event.sequence, Some(4));
    assert_gapless(&stored);
}

/// Commits `commit` while the cursor table is away: the commit fails after its events were
/// inserted (a database error).
async fn fail_without_cursors_table(db: &TestDb, commit: Commit) {
    db.execute("ALTER TABLE cursors RENAME TO cursors_away")
        .await;
    let error = db.store.commit(commit).await.unwrap_err();
    db.execute("ALTER TABLE cursors_away RENAME TO cursors")
        .await;
    assert!(matches!(error, StoreError::Database { .. }), "{error}");
}

async fn a_failed_commit_leaves_neither_events_nor_cursor(db: &TestDb) {
    let e = events(2);
    db.store
        .commit(
            Commit::new(ACCOUNT)
                .events(e[..2].to_vec())
                .cursor("poll", json!({"at": 1})),
        )
        .await
        .unwrap();
    let failing = Commit::new(ACCOUNT)
        .events(e[2..5].to_vec())
        .cursor("poll", json!({"at": 2}))
        .destination("erp");
    fail_without_cursors_table(db, failing.clone()).await;

    assert_eq!(
        all(&db.store).await.len(),
        2,
        "no event of the failed commit"
    );
    assert_eq!(
        db.store.cursor(ACCOUNT, "poll").await.unwrap(),
        Some(json!({"at": 1}))
    );
    assert!(
        db.store
            .pending_deliveries("erp", 10)
            .await
            .unwrap()
            .is_empty()
    );

    // The retry stores everything, with the positions and sequences the failure did not use.
    let retried = db.store.commit(failing).await.unwrap();
    assert_eq!(retried.stored.len(), 3);
    assert_eq!(retried.stored[0].position, 3);
    assert_eq!(retried.stored[0].event.sequence, Some(3));
    assert_eq!(
        db.store.cursor(ACCOUNT, "poll").await.unwrap(),
        Some(json!({"at": 2}))
    );
    assert_gapless(&all(&db.store).await);
}

async fn replay_keeps_positions_and_sequences(db: &TestDb) {
    let e = events(3);
    db.store
        .commit(Commit::new(ACCOUNT).events(e[..6].to_vec()))
        .await
        .unwrap();
    let before = all(&db.store).await;
    // After a crash the collector re-derives the whole (now longer) history.
    let replay = db
        .store
        .commit(Commit::new(ACCOUNT).events(e.clone()))
        .await
        .unwrap();
    assert_eq!(replay.duplicates.len(), 6);
    assert_eq!(replay.stored.len(), e.len() - 6);
    let after = all(&db.store).await;
    assert_eq!(&after[..6], &before[..]);
    assert_eq!(
        after.iter().map(|s| &s.event.event_id).collect::<Vec<_>>(),
        e.iter().map(|e| &e.event_id).collect::<Vec<_>>()
    );
    assert_gapless(&after);
}

async fn timeline_is_in_sequence_order(db: &TestDb) {
    let (a, b) = (events(4), events(5));
    // Interleave two orders across commits.
    let (mut ca, mut cb) = (a.chunks(3), b.chunks(4));
    loop {
        let batch: Vec<Event> = ca
            .next()
            .into_iter()
            .chain(cb.next())
            .flatten()
            .cloned()
            .collect();
        if batch.is_empty() {
            break;
        }
        db.store
            .commit(Commit::new(ACCOUNT).events(batch))
            .await
            .unwrap();
    }
    let timeline = db.store.timeline(ACCOUNT, &a[0].subject).await.unwrap();
    let seqs: Vec<u64> = timeline.iter().map(|s| s.event.sequence.unwrap()).collect();
    assert_eq!(seqs, (1..=a.len() as u64).collect::<Vec<_>>());
    let ids: Vec<_> = timeline.iter().map(|s| s.event.event_id.clone()).collect();
    assert_eq!(
        ids,
        a.iter().map(|e| e.event_id.clone()).collect::<Vec<_>>()
    );
    assert!(
        db.store
            .timeline("another-account", &a[0].subject)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn cursor_paging_sees_every_event_once(db: &TestDb) {
    let mut expected = Vec::new();
    for order in 10..14 {
        let e = events(order);
        expected.extend(e.iter().map(|e| e.event_id.clone()));
        db.store
            .commit(Commit::new(ACCOUNT).events(e))
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut cursor = 0;
    let mut pages = 0;
    loop {
        let page = db.store.events_after(cursor, 7).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 7);
        cursor = page.last().unwrap().position;
        seen.extend(page.into_iter().map(|s| s.event.event_id));
        pages += 1;
    }
    assert_eq!(seen, expected);
    assert_eq!(pages, expected.len().div_ceil(7));
}

async fn queries_by_type_and_time(db: &TestDb) {
    let e = events(20);
    db.store
        .commit(Commit::new(ACCOUNT).events(e.clone()))
        .await
        .unwrap();
    let delivered = db
        .store
        .query(&EventQuery {
            event_type: Some(EventType::OrderDelivered),
            limit: 100,
            ..EventQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].event.event_type, EventType::OrderDelivered);
    // 08:30 and 09:40 local (-06:00): from inclusive, to exclusive.
    let window = db
        .store
        .query(&EventQuery {
            account: Some(ACCOUNT.to_owned()),
            from: Some(Utc.with_ymd_and_hms(2026, 3, 2, 14, 30, 0).unwrap()),
            to: Some(Utc.with_ymd_and_hms(2026, 3, 2, 15, 40, 0).unwrap()),
            limit: 100,
            ..EventQuery::default()
        })
        .await
        .unwrap();
    let types: Vec<EventType> = window.iter().map(|s| s.event.event_type).collect();
    assert_eq!(
        types,
        [
            EventType::OrderPickedUp,
            EventType::ItemCustodyChanged,
            EventType::ItemCustodyChanged,
            EventType::OrderTransferred,
            EventType::ItemCustodyChanged,
            EventType::ItemCustodyChanged,
        ]
    );
    let none = db
        .store
        .query(&EventQuery {
            account: Some("nobody".into()),
            limit: 100,
            ..EventQuery::default()
        })
        .await
        .unwrap();
    assert!(none.is_empty());
}

async fn new_events_are_queued_per_destination(db: &TestDb) {
    let e = events(30);
    db.store
        .commit(
            Commit::new(ACCOUNT)
                .events(e[..4].to_vec())
                .destination("erp")
                .destination("bi"),
        )
        .await
        .unwrap();
    db.store
        .commit(
            Commit::new(ACCOUNT)
                .events(e[2..6].to_vec())
                .destination("erp"),
        )
        .await
        .unwrap();
    let erp = db.store.pending_deliveries("erp", 100).await.unwrap();
    let bi = db.store.pending_deliveries("bi", 100).await.unwrap();
    assert_eq!(erp.len(), 6, "duplicates are not queued twice");
    assert_eq!(bi.len(), 4);
    assert_eq!(
        db.store.pending_deliveries("erp", 2).await.unwrap(),
        erp[..2].to_vec()
    );
}

async fn concurrent_overlapping_writers_store_each_event_once(db: &TestDb) {
    let mut everything = Vec::new();
    for order in 40..48 {
        everything.extend(events(order));
    }
    // Three writers (three pools, as three workers would have), each taking half of the events
    // starting at a different third, in small batches: every event is offered two or more times.
    let n = everything.len();
    let mut writers = Vec::new();
    for w in 0..3 {
        let store = if w == 0 {
            db.store.clone()
        } else {
            db.another_writer().await
        };
        let share: Vec<Event> = (0..n / 2 + n / 6 + 1)
            .map(|i| everything[(w * n / 3 + i) % n].clone())
            .collect();
        writers.push(tokio::spawn(async move {
            for batch in share.chunks(5) {
                store
                    .commit(Commit::new(ACCOUNT).events(batch.to_vec()))
                    .await
                    .unwrap();
            }
            store
        }));
    }
    for (w, writer) in writers.into_iter().enumerate() {
        let store = writer.await.unwrap();
        if w > 0 {
            store.close().await;
        }
    }
    let stored = all(&db.store).await;
    assert_eq!(stored.len(), n);
    let mut ids: Vec<_> = stored.iter().map(|s| s.event.event_id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n);
    assert_gapless(&stored);
}

async fn mixed_accounts_are_refused(db: &TestDb) {
    let e = events(50);
    let error = db
        .store
        .commit(Commit::new("someone-else").events(e))
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::AccountMismatch { .. }),
        "{error}"
    );
    assert!(all(&db.store).await.is_empty());
}

async fn a_large_commit_spans_several_statements(db: &TestDb) {
    // More rows than one multi-row statement takes (500), with repeats across the boundary.
    let mut batch = Vec::new();
    for order in 100..150 {
        batch.extend(events(order));
    }
    let n = batch.len();
    assert!(n > 600);
    let head: Vec<Event> = batch[..300].to_vec();
    db.store
        .commit(Commit::new(ACCOUNT).events(head.clone()))
        .await
        .unwrap();
    let mut again = head;
    again.extend(batch.iter().cloned());
    let outcome = db
        .store
        .commit(Commit::new(ACCOUNT).events(again).destination("erp"))
        .await
        .unwrap();
    assert_eq!(outcome.duplicates.len(), 600);
    assert_eq!(outcome.stored.len(), n - 300);
    let stored = all(&db.store).await;
    assert_eq!(stored.len(), n);
    assert_gapless(&stored);
    let ids: Vec<_> = stored.iter().map(|s| &s.event.event_id).collect();
    assert_eq!(ids, batch.iter().map(|e| &e.event_id).collect::<Vec<_>>());
    let queued = db.store.pending_deliveries("erp", 10_000).await.unwrap();
    assert_eq!(queued.len(), n - 300);
}

async fn a_commit_past_one_scripts_placeholders_is_still_one_transaction(db: &TestDb) {
    // On SQLite a commit's writes go to the driver as one script of statements numbered on
    // from each other, sent in parts when the numbering would pass 32,000. 5,000 events with
    // two destinations bind 60,000 values: several parts. A failure in the last part (the
    // cursor table is gone) leaves nothing of the earlier parts behind.
    let mut batch = Vec::new();
    for order in 1_000..1_500 {
        batch.extend(events(order));
    }
    let n = batch.len();
    assert!(n >= 5_000, "{n}");
    let commit = Commit::new(ACCOUNT)
        .events(batch.clone())
        .cursor("poll", json!({"orders": 500}))
        .destination("erp")
        .destination("audit");
    fail_without_cursors_table(db, commit.clone()).await;
    assert!(
        all(&db.store).await.is_empty(),
        "no event of the failed commit"
    );
    assert!(
        db.store
            .pending_deliveries("erp", 10)
            .await
            .unwrap()
            .is_empty()
    );

    let outcome = db.store.commit(commit).await.unwrap();
    assert_eq!(outcome.stored.len(), n);
    let stored = all(&db.store).await;
    assert_gapless(&stored);
    let ids: Vec<_> = stored.iter().map(|s| &s.event.event_id).collect();
    assert_eq!(ids, batch.iter().map(|e| &e.event_id).collect::<Vec<_>>());
    for destination in ["erp", "audit"] {
        let queued = db
            .store
            .pending_deliveries(destination, 10_000)
            .await
            .unwrap();
        assert_eq!(queued.len(), n, "{destination}");
    }
    assert_eq!(
        db.store.cursor(ACCOUNT, "poll").await.unwrap(),
        Some(json!({"orders": 500}))
    );
}

mod replays {
    //! Any series of commits of overlapping slices of a set of events (a collector replaying
    //! after crashes, in any order) stores each event once, with gapless positions and
    //! sequences, in the order each was first offered.

    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn each_event_once_in_first_offered_order(
            slices in prop::collection::vec((0usize..40, 1usize..15), 1..8)
        ) {
            let mut universe = Vec::new();
            for order in 70..73 {
                universe.extend(events(order));
            }
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                let db = TestDb::sqlite().await;
                let mut first_offered = Vec::new();
                for (start, len) in &slices {
                    let batch: Vec<Event> = universe.iter().skip(*start).take(*len).cloned().collect();
                    for e in &batch {
                        if !first_offered.contains(&e.event_id) {
                            first_offered.push(e.event_id.clone());
                        }
                    }
                    db.store.commit(Commit::new(ACCOUNT).events(batch)).await.unwrap();
                }
                let stored = all(&db.store).await;
                let ids: Vec<_> = stored.iter().map(|s| s.event.event_id.clone()).collect();
                assert_eq!(ids, first_offered);
                assert_gapless(&stored);
                db.finish().await;
            });
        }
    }
}

/// The first `n` steps of `source`.
fn prefix(source: &OrderSource, n: usize) -> OrderSource {
    OrderSource {
        steps: source.steps[..n].to_vec(),
        ..source.clone()
    }
}

fn order_ref(source: &OrderSource) -> OrderRef {
    OrderRef {
        id: source.order_id,
        tracking_number: source.tracking_number.clone(),
    }
}

async fn stored_timeline(db: &TestDb, source: &OrderSource) -> Vec<Event> {
    let subject = Event::order_subject(source.order_id);
    let timeline = db.store.timeline(ACCOUNT, &subject).await.unwrap();
    timeline.into_iter().map(|s| s.event).collect()
}

/// Derives from `source`, reconciles against the store and commits; returns the outcome.
async fn commit_history(db: &TestDb, source: &OrderSource) -> ontime_sync::store::CommitOutcome {
    let stored = stored_timeline(db, source).await;
    let sorted = reconcile(derive_order_events(&account(), source), &stored);
    db.store
        .commit(
            Commit::new(ACCOUNT)
                .events(sorted.events)
                .upgrades(sorted.upgrades)
                .destination("hook"),
        )
        .await
        .unwrap()
}

async fn a_provisional_event_is_upgraded_in_place(db: &TestDb) {
    let full = lifecycle(60);
    // The history up to "assigned" is known exactly.
    commit_history(db, &prefix(&full, 3)).await;
    // A poll sees the order at AssignedInRoute; no budget for the history: provisional.
    let stored = stored_timeline(db, &full).await;
    let seen_at = seen(40);
    let provisional = provisional_status_event(
        &account(),
        order_ref(&full),
        &StatusLevel::AssignedInRoute,
        &stored,
        seen_at,
    );
    assert!(is_provisional(&provisional));
    // The same poll replayed (after a crash, or by another worker) gives the same id.
    assert_eq!(
        provisional.event_id,
        provisional_status_event(
            &account(),
            order_ref(&full),
            &StatusLevel::AssignedInRoute,
            &stored,
            seen_at
        )
        .event_id
    );
    let first = db
        .store
        .commit(
            Commit::new(ACCOUNT)
                .events([provisional.clone()])
                .destination("hook"),
        )
        .await
        .unwrap();
    let before = first.stored[0].clone();
    assert_eq!(before.event.occurred_at, seen_at);

    // The history arrives: the pickup entry upgrades the provisional row.
    let outcome = commit_history(db, &prefix(&full, 4)).await;
    assert_eq!(outcome.upgraded.len(), 1);
    let upgraded = &outcome.upgraded[0];
    assert_eq!(upgraded.position, before.position);
    assert_eq!(upgraded.event.event_id, provisional.event_id);
    assert_eq!(upgraded.event.sequence, before.event.sequence);
    assert_eq!(upgraded.event.time_precision, TimePrecision::Exact);
    assert_eq!(upgraded.event.event_type, EventType::OrderPickedUp);
    assert_eq!(
        upgraded.event.occurred_at.to_rfc3339(),
        "2026-03-02T08:30:00-06:00"
    );
    assert_eq!(
        upgraded.event.ontime.as_ref().unwrap().label.as_deref(),
        Some("Picked up")
    );
    // Its custody events are new; nothing else is.
    assert!(
        outcome
            .stored
            .iter()
            .all(|s| s.event.event_type == EventType::ItemCustodyChanged)
    );
    assert_eq!(outcome.stored.len(), 2);
    let timeline = db
        .store
        .timeline(ACCOUNT, &Event::order_subject(full.order_id))
        .await
        .unwrap();
    let row = timeline
        .iter()
        .find(|s| s.event.event_id == provisional.event_id)
        .unwrap();
    assert_eq!(row, upgraded, "the row was replaced in place");
    // Queued once for the destination, with the exact content.
    let pending = db.store.pending_deliveries("hook", 100).await.unwrap();
    let queued: Vec<_> = pending
        .iter()
        .filter(|s| s.event.event_id == provisional.event_id)
        .collect();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].event.time_precision, TimePrecision::Exact);

    // Replaying the upgrade changes nothing; a longer history stores only the later entries.
    let again = commit_history(db, &prefix(&full, 4)).await;
    assert!(again.stored.is_empty() && again.upgraded.is_empty());
    let replay = db
        .store
        .commit(Commit::new(ACCOUNT).upgrades([upgraded.event.clone()]))
        .await
        .unwrap();
    assert_eq!(replay.duplicates, vec![provisional.event_id.clone()]);
    let rest = commit_history(db, &full).await;
    assert!(rest.upgraded.is_empty());
    let stored = all(&db.store).await;
    let status_events = stored.iter().filter(|s| s.event.custody.is_none()).count();
    assert_eq!(status_events, full.steps.len(), "each entry once");
    assert_eq!(
        stored.len(),
        derive_order_events(&account(), &full).len(),
        "as many events as a history derived in one go"
    );
    assert_gapless(&stored);
}

async fn missed_transitions_are_new_and_the_provisional_takes_the_latest_visit(db: &TestDb) {
    // Created, dispatched, assigned, unassigned (back to dispatched), assigned again.
    let mut source = lifecycle(61);
    source.items.clear();
    source.steps = [
        (6101, StatusLevel::None, "08:00", 1),
        (6102, StatusLevel::Dispatched, "08:01", 2),
        (6103, StatusLevel::Assigned, "08:05", 6),
        (6104, StatusLevel::Dispatched, "08:07", 8),
        (6105, StatusLevel::Assigned, "08:09", 10),
    ]
    .into_iter()
    .map(|(id, level, time, minutes)| {
        let at = format!("2026-03-02T{time}:00");
        step(status(id, level, None, Some(&at)), None, minutes)
    })
    .collect();
    commit_history(db, &prefix(&source, 2)).await;
    // The poll after 08:09 sees the order at Assigned: the visits between were missed.
    let stored = stored_timeline(db, &source).await;
    let provisional = provisional_status_event(
        &account(),
        order_ref(&source),
        &StatusLevel::Assigned,
        &stored,
        seen(11),
    );
    db.store
        .commit(Commit::new(ACCOUNT).events([provisional.clone()]))
        .await
        .unwrap();

    let outcome = commit_history(db, &source).await;
    assert_eq!(outcome.upgraded.len(), 1);
    let upgraded = &outcome.upgraded[0].event;
    assert_eq!(upgraded.event_id, provisional.event_id);
    assert_eq!(upgraded.sequence, Some(3));
    assert_eq!(
        upgraded.ontime.as_ref().unwrap().status_id,
        Some(crate::fixtures::status_id(6105)),
        "matched to the latest entry at its level"
    );
    let new: Vec<_> = outcome
        .stored
        .iter()
        .map(|s| {
            (
                s.event.ontime.as_ref().unwrap().status_id,
                s.event.sequence,
                s.event.time_precision,
            )
        })
        .collect();
    assert_eq!(
        new,
        vec![
            (
                Some(crate::fixtures::status_id(6103)),
                Some(4),
                TimePrecision::Exact
            ),
            (
                Some(crate::fixtures::status_id(6104)),
                Some(5),
                TimePrecision::Exact
            ),
        ],
        "the missed entries are new exact events, after the provisional one"
    );
    assert_gapless(&all(&db.store).await);
}
