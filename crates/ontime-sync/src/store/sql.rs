//! [`Store`]: the one set of queries, on either engine.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, AnyPool, Row};

use super::script::{Arg, Join, Script};
use super::{
    Commit, CommitOutcome, EventQuery, EventStore, Lease, OrderSubject, Position, StoreError,
    StoredEvent, lease, migrations, postgres, sqlite,
};
use crate::event::{Event, TimePrecision};

/// Which engine a [`Store`] runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// SQLite (one file).
    Sqlite,
    /// Postgres.
    Postgres,
}

/// The event store on SQLite or Postgres (see the [module documentation](super)).
///
/// Cloning is cheap (a pool handle).
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    engine: Engine,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the URL: it may carry a password.
        f.debug_struct("Store")
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

/// How a commit's transaction starts on Postgres: `BEGIN` and the lock on the head row in one
/// round trip (a text without parameters, sent as one simple query). Every later statement of
/// the transaction takes its snapshot after the lock was granted, so it sees every commit that
/// came before.
const POSTGRES_BEGIN: &str = "BEGIN; SELECT position FROM store_head WHERE id = 1 FOR UPDATE";

/// How a commit's transaction starts on SQLite: taking the write lock at once (writers queue in
/// the busy timeout here, before reading anything they will write after).
pub(super) const SQLITE_BEGIN: &str = "BEGIN IMMEDIATE";

/// A pooled SQLite connection inside a commit whose `BEGIN IMMEDIATE` and `COMMIT` are part of
/// the commit's scripts, so the whole commit is two calls into the driver instead of four
/// (sqlx's `Transaction` would send `BEGIN` and `COMMIT` as calls of their own). What sqlx's
/// `Transaction` would do on failure, this does too: a failed commit is rolled back before the
/// connection goes back to the pool, and a connection whose state is unknown (the rollback
/// failed, or the commit's future was dropped mid-way) is closed instead, which rolls back
/// whatever it had begun.
pub(super) struct SqliteCommit {
    pub(super) conn: sqlx::pool::PoolConnection<Any>,
    /// Until [`SqliteCommit::finish`]: the connection may be inside the commit's transaction.
    open: bool,
}

impl SqliteCommit {
    /// A pooled connection for a transaction whose `BEGIN IMMEDIATE` and `COMMIT` the caller
    /// sends as parts of its statement texts.
    pub(super) async fn acquire(
        pool: &AnyPool,
        operation: &'static str,
    ) -> Result<Self, StoreError> {
        let conn = pool.acquire().await.map_err(StoreError::db(operation))?;
        Ok(Self { conn, open: true })
    }

    /// Lets the connection go back to the pool, rolling back first unless the commit succeeded.
    pub(super) async fn finish(mut self, committed: bool) {
        if !committed {
            // Not in a transaction (the failure came before `BEGIN`, or ended it) is fine too.
            let rolled_back = match sqlx::query("ROLLBACK").execute(&mut *self.conn).await {
                Ok(_) => true,
                Err(e) => e
                    .as_database_error()
                    .is_some_and(|e| e.message().contains("no transaction is active")),
            };
            if !rolled_back {
                return; // Dropped while open: closed.
            }
        }
        self.open = false;
    }
}

impl Drop for SqliteCommit {
    fn drop(&mut self) {
        if self.open {
            // Dropped mid-commit, or its rollback failed: its transaction may be open.
            self.conn.close_on_drop();
        }
    }
}

/// The key of the advisory lock that serialises migrations on Postgres ("ontime-sync" in ASCII).
const MIGRATION_LOCK: i64 = 0x6f6e_7469_6d65_7379;

impl Store {
    /// Opens the store at `location`: a `postgres://` (or `postgresql://`) URL, a `sqlite:` URL,
    /// or else a path to a SQLite file (created if missing). Runs pending migrations.
    pub async fn open(location: &str) -> Result<Self, StoreError> {
        if location.starts_with("postgres://") || location.starts_with("postgresql://") {
            install_drivers();
            let pool = postgres::connect(location).await?;
            Self::migrated(pool, Engine::Postgres).await
        } else if location.starts_with("sqlite:") {
            install_drivers();
            let pool = sqlite::connect(location).await?;
            Self::migrated(pool, Engine::Sqlite).await
        } else if location.contains("://") {
            Err(StoreError::UnsupportedLocation)
        } else {
            Self::open_sqlite(Path::new(location)).await
        }
    }

    /// Opens (creating if missing) the SQLite file at `path`. Runs pending migrations.
    pub async fn open_sqlite(path: &Path) -> Result<Self, StoreError> {
        install_drivers();
        let pool = sqlite::open(path).await?;
        Self::migrated(pool, Engine::Sqlite).await
    }

    async fn migrated(pool: AnyPool, engine: Engine) -> Result<Self, StoreError> {
        let mut tx = pool.begin().await.map_err(StoreError::db("migration"))?;
        if engine == Engine::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(MIGRATION_LOCK)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::db("migration lock"))?;
        }
        migrations::run(&mut tx, engine).await?;
        tx.commit().await.map_err(StoreError::db("migration"))?;
        Ok(Self { pool, engine })
    }

    /// A pool on the SQLite file at `path` (created if missing) with the connection settings the
    /// store uses (WAL, `synchronous = NORMAL`, busy timeout, foreign keys) but without its
    /// schema: for tools and benchmarks that compare other writes with the store's.
    pub async fn sqlite_pool(path: &Path) -> Result<AnyPool, StoreError> {
        install_drivers();
        sqlite::open(path).await
    }

    /// The engine this store runs on.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The pool (for the outbox's queries).
    pub(super) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// An empty script of writes that [`Store::run_atomic`] runs as one transaction: on SQLite
    /// statements after a `BEGIN IMMEDIATE`, on Postgres one statement of data-modifying CTEs
    /// (so its parts must not read each other's effects, except through the CTE names `w0`,
    /// `w1`, … of the parts pushed before the last).
    pub(super) fn atomic_script(&self) -> Script {
        match self.engine {
            Engine::Sqlite => {
                let mut script = Script::new(Join::Statements);
                script.push(SQLITE_BEGIN.to_owned(), Vec::new());
                script
            }
            Engine::Postgres => Script::new(Join::Cte),
        }
    }

    /// Runs a script made by [`Store::atomic_script`] in one call into the driver (SQLite) or one
    /// round trip (Postgres), all or nothing; returns the rows it returned.
    pub(super) async fn run_atomic(
        &self,
        operation: &'static str,
        mut script: Script,
    ) -> Result<Vec<AnyRow>, StoreError> {
        match self.engine {
            Engine::Postgres => {
                let mut conn = self
                    .pool
                    .acquire()
                    .await
                    .map_err(StoreError::db(operation))?;
                script
                    .fetch_all(&mut conn)
                    .await
                    .map_err(StoreError::db(operation))
            }
            Engine::Sqlite => {
                script.push("COMMIT".to_owned(), Vec::new());
                let mut open = SqliteCommit::acquire(&self.pool, operation).await?;
                let result = script.fetch_all(&mut open.conn).await;
                open.finish(result.is_ok()).await;
                result.map_err(StoreError::db(operation))
            }
        }
    }

    /// The account's lease as it stands (its holder, fencing token and expiry; expired and
    /// released leases too: compare `expires_at` with the time), `None` if never taken. For
    /// status displays: a worker acts on [`EventStore::acquire_lease`] alone.
    pub async fn lease(&self, account: &str) -> Result<Option<Lease>, StoreError> {
        lease::current(&self.pool, account).await
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The commit's statements on `conn`. On Postgres `conn` is inside a transaction begun with
    /// [`POSTGRES_BEGIN`] and committed by the caller. On SQLite the transaction is part of the
    /// statements (see [`SqliteCommit`]): `BEGIN IMMEDIATE` goes first (with the lookups, or alone
    /// when a lease check or upgrades come before them) and `COMMIT` last, with the writes.
    async fn commit_in(
        conn: &mut AnyConnection,
        engine: Engine,
        mut commit: Commit,
    ) -> Result<CommitOutcome, StoreError> {
        let err = || StoreError::db("commit");
        let queued_at = commit.queued_at.unwrap_or_else(Utc::now).timestamp_micros();
        let mut begun = engine == Engine::Postgres;
        if !begun && (commit.fence.is_some() || !commit.upgrades.is_empty()) {
            sqlx::query(SQLITE_BEGIN)
                .execute(&mut *conn)
                .await
                .map_err(err())?;
            begun = true;
        }
        if let Some(fence) = &commit.fence {
            lease::check(conn, &commit.account, fence).await?;
        }
        let mut outcome = CommitOutcome::default();
        let upgrades = std::mem::take(&mut commit.upgrades);
        let mut unstored = Vec::new();
        for event in upgrades {
            match Self::upgrade(conn, &commit, event).await? {
                Upgrade::Done(stored) => outcome.upgraded.push(stored),
                Upgrade::AlreadyExact(id) => outcome.duplicates.push(id),
                Upgrade::NotStored(event) => unstored.push(event),
            }
        }
        if !unstored.is_empty() {
            unstored.append(&mut commit.events);
            commit.events = unstored;
        }

        // The lookups: the head, which event ids are stored, the subjects' last sequences. The
        // transaction holds the write lock already (SQLite: `BEGIN IMMEDIATE`; Postgres: the head
        // row, locked by [`POSTGRES_BEGIN`]): writers queue there, so positions follow commit
        // order and no other writer can store an event between the duplicate check and the
        // insert. On SQLite one call into the driver (with the `BEGIN` unless it ran already); on
        // Postgres one `SELECT … UNION ALL`, whose snapshot holds every earlier commit.
        let ids: Vec<String> = distinct(commit.events.iter().map(|e| e.event_id.as_str()));
        let subjects: Vec<String> = distinct(commit.events.iter().map(|e| e.subject.as_str()));
        let mut lookups = Script::new(match engine {
            Engine::Sqlite => Join::Statements,
            Engine::Postgres => Join::Union,
        });
        if !begun {
            lookups.push(SQLITE_BEGIN.to_owned(), Vec::new());
        }
        lookups.push(
            "SELECT CAST('h' AS TEXT) AS kind, CAST('' AS TEXT) AS name, position AS value
             FROM store_head WHERE id = 1"
                .to_owned(),
            Vec::new(),
        );
        for chunk in ids.chunks(ROWS_PER_STATEMENT) {
            let first = lookups
                .next_placeholder(conn, chunk.len())
                .await
                .map_err(err())?;
            lookups.push(
                format!(
                    "SELECT CAST('e' AS TEXT) AS kind, event_id AS name, CAST(0 AS BIGINT) AS value
                     FROM events WHERE event_id IN ({})",
                    placeholders(first, chunk.len())
                ),
                chunk.iter().cloned().map(Arg::Text).collect(),
            );
        }
        for chunk in subjects.chunks(ROWS_PER_STATEMENT) {
            let first = lookups
                .next_placeholder(conn, chunk.len() + 1)
                .await
                .map_err(err())?;
            let mut args = vec![Arg::Text(commit.account.clone())];
            args.extend(chunk.iter().cloned().map(Arg::Text));
            lookups.push(
                format!(
                    "SELECT CAST('s' AS TEXT) AS kind, subject AS name, MAX(sequence) AS value
                     FROM events WHERE account = ${first} AND subject IN ({}) GROUP BY subject",
                    placeholders(first + 1, chunk.len())
                ),
                args,
            );
        }
        let mut head = None;
        let mut known: HashSet<String> = HashSet::new();
        let mut last_sequences: HashMap<String, i64> = HashMap::new();
        for row in lookups.fetch_all(conn).await.map_err(err())? {
            let kind: String = row.try_get("kind").map_err(err())?;
            let name: String = row.try_get("name").map_err(err())?;
            let value: i64 = row.try_get("value").map_err(err())?;
            match kind.as_str() {
                "h" => head = Some(value),
                "e" => {
                    known.insert(name);
                }
                _ => {
                    last_sequences.insert(name, value);
                }
            }
        }
        let head = head.ok_or_else(|| StoreError::Database {
            operation: "commit",
            source: sqlx::Error::RowNotFound,
        })?;

        let mut fresh = Vec::new();
        for event in std::mem::take(&mut commit.events) {
            // Stored before, or earlier in this commit.
            if known.insert(event.event_id.as_str().to_owned()) {
                fresh.push(event);
            } else {
                outcome.duplicates.push(event.event_id);
            }
        }

        // One script of writes: events, outbox, head, cursors. None reads what another
        // writes (cursor updates are netted first, see `save_cursors`), so on Postgres they are
        // one statement of data-modifying CTEs.
        let mut writes = Script::new(match engine {
            Engine::Sqlite => Join::Statements,
            Engine::Postgres => Join::Cte,
        });
        let mut position = head;
        let mut rows = Vec::with_capacity(fresh.len());
        // The subjects this commit adds to, with their new last sequences.
        let mut sequences: HashMap<String, i64> = HashMap::new();
        for mut event in fresh {
            let sequence = sequences
                .entry(event.subject.clone())
                .or_insert_with(|| last_sequences.get(&event.subject).copied().unwrap_or(0));
            *sequence += 1;
            position += 1;
            event.sequence = Some(*sequence as u64);
            let payload = serde_json::to_string(&event).map_err(|e| StoreError::Corrupt {
                position: position as Position,
                reason: e.to_string(),
            })?;
            rows.push((position, event, payload));
        }
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let first = writes
                .next_placeholder(conn, chunk.len() * 8)
                .await
                .map_err(err())?;
            let mut args = Vec::with_capacity(chunk.len() * 8);
            for (position, event, payload) in chunk {
                args.extend([
                    Arg::Int(*position),
                    Arg::Text(event.event_id.as_str().to_owned()),
                    Arg::Text(commit.account.clone()),
                    Arg::Text(event.subject.clone()),
                    Arg::Int(event.sequence.map_or(0, |s| s as i64)),
                    Arg::Static(event.event_type.as_str()),
                    Arg::Int(event.occurred_at.timestamp_micros()),
                    Arg::Text(payload.clone()),
                ]);
            }
            writes.push(
                format!(
                    "INSERT INTO events (position, event_id, account, subject, sequence, event_type, occurred_at_us, payload) VALUES {}",
                    tuples(first, chunk.len(), 8)
                ),
                args,
            );
            for destination in &commit.destinations {
                let first = writes
                    .next_placeholder(conn, chunk.len() * 4)
                    .await
                    .map_err(err())?;
                writes.push(
                    format!(
                        "INSERT INTO outbox (destination, position, subject, queued_at_us) VALUES {}",
                        tuples(first, chunk.len(), 4)
                    ),
                    chunk
                        .iter()
                        .flat_map(|(position, event, _)| {
                            [
                                Arg::Text(destination.clone()),
                                Arg::Int(*position),
                                Arg::Text(event.subject.clone()),
                                Arg::Int(queued_at),
                            ]
                        })
                        .collect(),
                );
            }
        }
        if position != head {
            let first = writes.next_placeholder(conn, 1).await.map_err(err())?;
            writes.push(
                format!("UPDATE store_head SET position = ${first} WHERE id = 1"),
                vec![Arg::Int(position)],
            );
        }
        Self::save_cursors(conn, &mut writes, &commit).await?;
        if engine == Engine::Sqlite {
            writes.push("COMMIT".to_owned(), Vec::new());
        }
        writes.execute(conn).await.map_err(err())?;
        outcome.stored = rows
            .into_iter()
            .map(|(position, event, _)| StoredEvent {
                position: position as Position,
                event,
            })
            .collect();
        Ok(outcome)
    }

    /// Replaces the stored provisional row of `event` (same id) in place.
    async fn upgrade(
        conn: &mut AnyConnection,
        commit: &Commit,
        mut event: Event,
    ) -> Result<Upgrade, StoreError> {
        let err = || StoreError::db("upgrade");
        let row: Option<(i64, i64, String)> = sqlx::query_as(
            "SELECT position, sequence, payload FROM events WHERE event_id = $1 AND account = $2",
        )
        .bind(event.event_id.as_str().to_owned())
        .bind(commit.account.clone())
        .fetch_optional(&mut *conn)
        .await
        .map_err(err())?;
        let Some((position, sequence, payload)) = row else {
            return Ok(Upgrade::NotStored(event));
        };
        let stored: Event = serde_json::from_str(&payload).map_err(|e| StoreError::Corrupt {
            position: position as Position,
            reason: e.to_string(),
        })?;
        if stored.time_precision == TimePrecision::Exact || stored.subject != event.subject {
            return Ok(Upgrade::AlreadyExact(event.event_id));
        }
        event.sequence = Some(sequence as u64);
        let payload = serde_json::to_string(&event).map_err(|e| StoreError::Corrupt {
            position: position as Position,
            reason: e.to_string(),
        })?;
        sqlx::query(
            "UPDATE events SET event_type = $1, occurred_at_us = $2, payload = $3 WHERE position = $4",
        )
        .bind(event.event_type.as_str())
        .bind(event.occurred_at.timestamp_micros())
        .bind(payload)
        .bind(position)
        .execute(&mut *conn)
        .await
        .map_err(err())?;
        let queued_at = commit.queued_at.unwrap_or_else(Utc::now).timestamp_micros();
        // Still waiting: stays queued once, but a claim on it is released, so a dispatcher
        // sending the old content cannot complete it (see `outbox`).
        for destination in &commit.destinations {
            sqlx::query(
                "INSERT INTO outbox (destination, position, subject, queued_at_us)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (destination, position) DO UPDATE
                   SET claimed_by = NULL, claim_until_us = NULL",
            )
            .bind(destination.clone())
            .bind(position)
            .bind(event.subject.clone())
            .bind(queued_at)
            .execute(&mut *conn)
            .await
            .map_err(err())?;
        }
        Ok(Upgrade::Done(StoredEvent {
            position: position as Position,
            event,
        }))
    }

    /// Adds the commit's cursor updates and removals to `script`, netted ([`net_cursors`]):
    /// one multi-row upsert and one `DELETE`, touching each cursor once.
    async fn save_cursors(
        conn: &mut AnyConnection,
        script: &mut Script,
        commit: &Commit,
    ) -> Result<(), StoreError> {
        let err = || StoreError::db("commit");
        let (sets, clears) = net_cursors(commit);
        for chunk in sets.chunks(ROWS_PER_STATEMENT) {
            let first = script
                .next_placeholder(conn, chunk.len() * 3)
                .await
                .map_err(err())?;
            script.push(
                format!(
                    "INSERT INTO cursors (account, name, value) VALUES {}
                     ON CONFLICT (account, name) DO UPDATE SET value = excluded.value",
                    tuples(first, chunk.len(), 3)
                ),
                chunk
                    .iter()
                    .flat_map(|(name, value)| {
                        [
                            Arg::Text(commit.account.clone()),
                            Arg::Text((*name).to_owned()),
                            Arg::Text(value.clone()),
                        ]
                    })
                    .collect(),
            );
        }
        for chunk in clears.chunks(ROWS_PER_STATEMENT) {
            let count = 1 + chunk
                .iter()
                .map(|(_, v)| 1 + usize::from(v.is_some()))
                .sum::<usize>();
            let first = script.next_placeholder(conn, count).await.map_err(err())?;
            let mut args = vec![Arg::Text(commit.account.clone())];
            let mut terms = Vec::with_capacity(chunk.len());
            let mut next = first + 1;
            for (name, value) in chunk {
                args.push(Arg::Text((*name).to_owned()));
                match value {
                    // Only while the value is the one read: an entry rewritten since stays.
                    Some(value) => {
                        terms.push(format!("(name = ${next} AND value = ${})", next + 1));
                        args.push(Arg::Text(value.clone()));
                        next += 2;
                    }
                    None => {
                        terms.push(format!("name = ${next}"));
                        next += 1;
                    }
                }
            }
            script.push(
                format!(
                    "DELETE FROM cursors WHERE account = ${first} AND ({})",
                    terms.join(" OR ")
                ),
                args,
            );
        }
        Ok(())
    }

    async fn read_events<'q>(
        &self,
        query: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
        operation: &'static str,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = query
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::db(operation))?;
        rows.iter().map(stored_event).collect()
    }
}

/// A cursor to set: name, value (JSON text).
type CursorSet<'a> = (&'a str, String);
/// A cursor to delete: name, and the value (JSON text) it must still hold, if any.
type CursorClear<'a> = (&'a str, Option<String>);

/// The net effect of a commit's cursor updates ([`Commit::cursors`], in order) followed by its
/// removals ([`Commit::cleared`], in order), as writes that touch each cursor once: the value
/// to set per name (the last one given), and the names to delete, each with the value it must
/// still hold (`None`: delete whatever it holds, because this commit set it to the value a
/// removal names).
fn net_cursors(commit: &Commit) -> (Vec<CursorSet<'_>>, Vec<CursorClear<'_>>) {
    // Name → the value set (`None` once a removal took it out again), in first-seen order.
    let mut sets: Vec<(&str, Option<String>)> = Vec::new();
    let mut set_at: HashMap<&str, usize> = HashMap::new();
    for (name, value) in &commit.cursors {
        let value = Some(value.to_string());
        match set_at.get(name.as_str()) {
            Some(&at) => sets[at].1 = value,
            None => {
                set_at.insert(name, sets.len());
                sets.push((name, value));
            }
        }
    }
    let mut clears: Vec<(&str, Option<String>)> = Vec::new();
    for (name, value) in &commit.cleared {
        let value = value.to_string();
        match set_at.get(name.as_str()) {
            // Set by this commit: removed when the removal names the value just set.
            Some(&at) => {
                if sets[at].1.as_deref() == Some(value.as_str()) {
                    sets[at].1 = None;
                    clears.push((name, None));
                }
            }
            None => clears.push((name, Some(value))),
        }
    }
    let sets = sets
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name, v)))
        .collect();
    (sets, clears)
}

/// What happened to one upgrade.
enum Upgrade {
    Done(StoredEvent),
    AlreadyExact(crate::event::EventId),
    NotStored(Event),
}

/// Rows per multi-row statement: 500 rows of 8 columns stay far below both engines' parameter
/// limits (SQLite 32,766, Postgres 65,535).
const ROWS_PER_STATEMENT: usize = 500;

/// `$first, $first+1, ...`: `count` numbered placeholders.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `($first, $first+1), ($first+2, $first+3), ...`: `rows` tuples of `columns` numbered
/// placeholders.
fn tuples(first: usize, rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|row| format!("({})", placeholders(first + row * columns, columns)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The distinct values of `items`, in first-seen order (so the SQL text of a commit depends
/// only on its contents).
fn distinct<'a>(items: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut seen = HashSet::new();
    items
        .filter(|item| seen.insert(*item))
        .map(str::to_owned)
        .collect()
}

fn install_drivers() {
    // Idempotent: later calls are no-ops.
    sqlx::any::install_default_drivers();
}

pub(super) fn stored_event(row: &AnyRow) -> Result<StoredEvent, StoreError> {
    let position: i64 = row
        .try_get("position")
        .map_err(StoreError::db("read event"))?;
    let position = position as Position;
    let payload: String = row
        .try_get("payload")
        .map_err(StoreError::db("read event"))?;
    let event: Event = serde_json::from_str(&payload).map_err(|e| StoreError::Corrupt {
        position,
        reason: e.to_string(),
    })?;
    Ok(StoredEvent { position, event })
}

fn limit(limit: u32) -> i64 {
    i64::from(limit)
}

impl EventStore for Store {
    async fn commit(&self, commit: Commit) -> Result<CommitOutcome, StoreError> {
        if let Some(event) = commit
            .events
            .iter()
            .chain(&commit.upgrades)
            .find(|e| e.account != commit.account)
        {
            return Err(StoreError::AccountMismatch {
                event_id: event.event_id.clone(),
                expected: commit.account.clone(),
                found: event.account.clone(),
            });
        }
        match self.engine {
            Engine::Postgres => {
                let mut tx = self
                    .pool
                    .begin_with(POSTGRES_BEGIN)
                    .await
                    .map_err(StoreError::db("commit"))?;
                // On error `tx` is dropped and rolled back: nothing of the commit remains.
                let outcome = Self::commit_in(&mut tx, Engine::Postgres, commit).await?;
                tx.commit().await.map_err(StoreError::db("commit"))?;
                Ok(outcome)
            }
            Engine::Sqlite => {
                let conn = self
                    .pool
                    .acquire()
                    .await
                    .map_err(StoreError::db("commit"))?;
                let mut open = SqliteCommit { conn, open: true };
                let result = Self::commit_in(&mut open.conn, Engine::Sqlite, commit).await;
                open.finish(result.is_ok()).await;
                result
            }
        }
    }

    async fn timeline(&self, account: &str, subject: &str) -> Result<Vec<StoredEvent>, StoreError> {
        self.read_events(
            sqlx::query(
                "SELECT position, payload FROM events WHERE account = $1 AND subject = $2 ORDER BY sequence",
            )
            .bind(account.to_owned())
            .bind(subject.to_owned()),
            "timeline",
        )
        .await
    }

    async fn events_after(
        &self,
        after: Position,
        limit_: u32,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.read_events(
            sqlx::query(
                "SELECT position, payload FROM events WHERE position > $1 ORDER BY position LIMIT $2",
            )
            .bind(after as i64)
            .bind(limit(limit_)),
            "events after a cursor",
        )
        .await
    }

    async fn query(&self, query: &EventQuery) -> Result<Vec<StoredEvent>, StoreError> {
        self.read_events(
            sqlx::query(
                "SELECT position, payload FROM events
                 WHERE position > $1
                   AND ($2 IS NULL OR account = $2)
                   AND ($3 IS NULL OR event_type = $3)
                   AND ($4 IS NULL OR occurred_at_us >= $4)
                   AND ($5 IS NULL OR occurred_at_us < $5)
                 ORDER BY position LIMIT $6",
            )
            .bind(query.after as i64)
            .bind(query.account.clone())
            .bind(query.event_type.map(|t| t.as_str().to_owned()))
            .bind(query.from.map(|t| t.timestamp_micros()))
            .bind(query.to.map(|t| t.timestamp_micros()))
            .bind(limit(query.limit)),
            "query",
        )
        .await
    }

    async fn cursor(&self, account: &str, name: &str) -> Result<Option<Value>, StoreError> {
        let text: Option<String> =
            sqlx::query_scalar("SELECT value FROM cursors WHERE account = $1 AND name = $2")
                .bind(account.to_owned())
                .bind(name.to_owned())
                .fetch_optional(&self.pool)
                .await
                .map_err(StoreError::db("cursor"))?;
        text.map(|t| {
            serde_json::from_str(&t).map_err(|e| StoreError::Corrupt {
                position: 0,
                reason: format!("cursor {name:?}: {e}"),
            })
        })
        .transpose()
    }

    async fn cursors(
        &self,
        account: &str,
        prefix: &str,
        limit_: u32,
    ) -> Result<Vec<(String, Value)>, StoreError> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT name, value FROM cursors
             WHERE account = $1 AND substr(name, 1, CAST($2 AS INTEGER)) = $3
             ORDER BY name LIMIT $4",
        )
        .bind(account.to_owned())
        .bind(prefix.chars().count() as i64)
        .bind(prefix.to_owned())
        .bind(limit(limit_))
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::db("cursors"))?;
        rows.into_iter()
            .map(|(name, text)| {
                let value = serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
                    position: 0,
                    reason: format!("cursor {name:?}: {e}"),
                })?;
                Ok((name, value))
            })
            .collect()
    }

    async fn acquire_lease(
        &self,
        account: &str,
        worker: &str,
        ttl: TimeDelta,
        now: DateTime<Utc>,
    ) -> Result<Option<Lease>, StoreError> {
        lease::acquire(&self.pool, account, worker, ttl, now).await
    }

    async fn renew_lease(
        &self,
        lease: &Lease,
        ttl: TimeDelta,
        now: DateTime<Utc>,
    ) -> Result<Lease, StoreError> {
        lease::renew(&self.pool, lease, ttl, now).await
    }

    async fn release_lease(&self, lease: &Lease) -> Result<(), StoreError> {
        lease::release(&self.pool, lease).await
    }

    async fn pending_deliveries(
        &self,
        destination: &str,
        limit_: u32,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.read_events(
            sqlx::query(
                "SELECT e.position AS position, e.payload AS payload
                 FROM outbox o JOIN events e ON e.position = o.position
                 WHERE o.destination = $1 ORDER BY o.position LIMIT $2",
            )
            .bind(destination.to_owned())
            .bind(limit(limit_)),
            "pending deliveries",
        )
        .await
    }

    async fn last_position(&self) -> Result<Position, StoreError> {
        let head: i64 = sqlx::query_scalar("SELECT position FROM store_head WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::db("last position"))?;
        Ok(head as Position)
    }

    async fn locate_order(
        &self,
        account: Option<&str>,
        order: &ontime::OrderRef,
    ) -> Result<Vec<OrderSubject>, StoreError> {
        let err = StoreError::db("locate order");
        match order {
            ontime::OrderRef::Id(id) => {
                let rows: Vec<(String, String)> = sqlx::query_as(
                    "SELECT DISTINCT account, subject FROM events
                     WHERE subject = $1 AND ($2 IS NULL OR account = $2) ORDER BY account",
                )
                .bind(Event::order_subject(*id))
                .bind(account.map(str::to_owned))
                .fetch_all(&self.pool)
                .await
                .map_err(err)?;
                Ok(rows
                    .into_iter()
                    .map(|(account, subject)| OrderSubject { account, subject })
                    .collect())
            }
            ontime::OrderRef::TrackingNumber(tracking_number) => {
                // A coarse match on the payload's JSON text (the field as serde_json writes it;
                // SQLite's LIKE ignores ASCII case), then the exact comparison on the event.
                let json =
                    serde_json::to_string(tracking_number).map_err(|e| StoreError::Corrupt {
                        position: 0,
                        reason: e.to_string(),
                    })?;
                let pattern = format!("%\"tracking_number\":{}%", like_escape(&json));
                let rows = self
                    .read_events(
                        sqlx::query(
                            "SELECT position, payload FROM events
                             WHERE ($1 IS NULL OR account = $1) AND payload LIKE $2 ESCAPE '!'",
                        )
                        .bind(account.map(str::to_owned))
                        .bind(pattern),
                        "locate order",
                    )
                    .await?;
                let found: std::collections::BTreeSet<OrderSubject> = rows
                    .into_iter()
                    .filter(|s| {
                        s.event
                            .order
                            .as_ref()
                            .and_then(|o| o.tracking_number.as_deref())
                            == Some(tracking_number.as_str())
                    })
                    .map(|s| OrderSubject {
                        account: s.event.account,
                        subject: s.event.subject,
                    })
                    .collect();
                Ok(found.into_iter().collect())
            }
        }
    }
}

/// `text` as a literal inside a `LIKE … ESCAPE '!'` pattern.
fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '!' | '%' | '_') {
            out.push('!');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cursor_updates_are_netted_in_order() {
        let commit = Commit::new("a")
            .cursor("x", json!(1))
            .cursor("y", json!(2))
            .cursor("x", json!(3))
            .clear("y", json!(2))
            .clear("y", json!(2))
            .clear("x", json!(1))
            .clear("z", json!(4))
            .clear("z", json!(5));
        let (sets, clears) = net_cursors(&commit);
        assert_eq!(sets, [("x", "3".to_owned())]);
        assert_eq!(
            clears,
            [
                ("y", None),
                ("z", Some("4".to_owned())),
                ("z", Some("5".to_owned()))
            ]
        );
    }
}
