//! [`Store`]: the one set of queries, on either engine.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{Any, AnyPool, Row, Transaction};

use super::{
    Commit, CommitOutcome, EventQuery, EventStore, Lease, Position, StoreError, StoredEvent, lease,
    migrations, postgres, sqlite,
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
        migrations::run(&mut tx).await?;
        tx.commit().await.map_err(StoreError::db("migration"))?;
        Ok(Self { pool, engine })
    }

    /// The engine this store runs on.
    pub fn engine(&self) -> Engine {
        self.engine
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

    async fn commit_in(
        tx: &mut Transaction<'_, Any>,
        mut commit: Commit,
    ) -> Result<CommitOutcome, StoreError> {
        let err = || StoreError::db("commit");
        if let Some(fence) = &commit.fence {
            lease::check(tx, &commit.account, fence).await?;
        }
        // Lock the head first: writers queue here, so positions follow commit order, and no
        // other writer can store an event between the duplicate check below and the insert.
        let head: i64 = sqlx::query_scalar(
            "UPDATE store_head SET position = position WHERE id = 1 RETURNING position",
        )
        .fetch_one(&mut **tx)
        .await
        .map_err(err())?;

        let mut outcome = CommitOutcome::default();
        let upgrades = std::mem::take(&mut commit.upgrades);
        let mut unstored = Vec::new();
        for event in upgrades {
            match Self::upgrade(tx, &commit, event).await? {
                Upgrade::Done(stored) => outcome.upgraded.push(stored),
                Upgrade::AlreadyExact(id) => outcome.duplicates.push(id),
                Upgrade::NotStored(event) => unstored.push(event),
            }
        }
        if !unstored.is_empty() {
            unstored.append(&mut commit.events);
            commit.events = unstored;
        }

        let ids: Vec<String> = commit
            .events
            .iter()
            .map(|e| e.event_id.as_str().to_owned())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut known: HashSet<String> = HashSet::new();
        for chunk in ids.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "SELECT event_id FROM events WHERE event_id IN ({})",
                placeholders(1, chunk.len())
            );
            let mut query = sqlx::query_scalar::<_, String>(&sql);
            for id in chunk {
                query = query.bind(id.clone());
            }
            known.extend(query.fetch_all(&mut **tx).await.map_err(err())?);
        }

        let mut fresh = Vec::new();
        for event in std::mem::take(&mut commit.events) {
            // Stored before, or earlier in this commit.
            if known.insert(event.event_id.as_str().to_owned()) {
                fresh.push(event);
            } else {
                outcome.duplicates.push(event.event_id);
            }
        }
        if fresh.is_empty() {
            Self::save_cursors(tx, &commit).await?;
            return Ok(outcome);
        }

        let subjects: Vec<String> = fresh
            .iter()
            .map(|e| e.subject.clone())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut sequences: HashMap<String, i64> = HashMap::new();
        for chunk in subjects.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "SELECT subject, last_sequence FROM subjects WHERE account = $1 AND subject IN ({})",
                placeholders(2, chunk.len())
            );
            let mut query = sqlx::query_as::<_, (String, i64)>(&sql).bind(commit.account.clone());
            for subject in chunk {
                query = query.bind(subject.clone());
            }
            sequences.extend(query.fetch_all(&mut **tx).await.map_err(err())?);
        }

        let mut position = head;
        let mut rows = Vec::with_capacity(fresh.len());
        for mut event in fresh {
            let sequence = sequences.entry(event.subject.clone()).or_insert(0);
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
            let sql = format!(
                "INSERT INTO events (position, event_id, account, subject, sequence, event_type, occurred_at_us, payload) VALUES {}",
                tuples(chunk.len(), 8)
            );
            let mut query = sqlx::query(&sql);
            for (position, event, payload) in chunk {
                query = query
                    .bind(*position)
                    .bind(event.event_id.as_str().to_owned())
                    .bind(commit.account.clone())
                    .bind(event.subject.clone())
                    .bind(event.sequence.map_or(0, |s| s as i64))
                    .bind(event.event_type.as_str())
                    .bind(event.occurred_at.timestamp_micros())
                    .bind(payload.clone());
            }
            query.execute(&mut **tx).await.map_err(err())?;
            for destination in &commit.destinations {
                let sql = format!(
                    "INSERT INTO outbox (destination, position) VALUES {}",
                    tuples(chunk.len(), 2)
                );
                let mut query = sqlx::query(&sql);
                for (position, _, _) in chunk {
                    query = query.bind(destination.clone()).bind(*position);
                }
                query.execute(&mut **tx).await.map_err(err())?;
            }
        }

        let touched: Vec<(&String, &i64)> = sequences.iter().collect();
        for chunk in touched.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO subjects (account, subject, last_sequence) VALUES {}
                 ON CONFLICT (account, subject) DO UPDATE SET last_sequence = excluded.last_sequence",
                tuples(chunk.len(), 3)
            );
            let mut query = sqlx::query(&sql);
            for (subject, last) in chunk {
                query = query
                    .bind(commit.account.clone())
                    .bind((*subject).clone())
                    .bind(**last);
            }
            query.execute(&mut **tx).await.map_err(err())?;
        }
        sqlx::query("UPDATE store_head SET position = $1 WHERE id = 1")
            .bind(position)
            .execute(&mut **tx)
            .await
            .map_err(err())?;
        Self::save_cursors(tx, &commit).await?;
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
        tx: &mut Transaction<'_, Any>,
        commit: &Commit,
        mut event: Event,
    ) -> Result<Upgrade, StoreError> {
        let err = || StoreError::db("upgrade");
        let row: Option<(i64, i64, String)> = sqlx::query_as(
            "SELECT position, sequence, payload FROM events WHERE event_id = $1 AND account = $2",
        )
        .bind(event.event_id.as_str().to_owned())
        .bind(commit.account.clone())
        .fetch_optional(&mut **tx)
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
        .execute(&mut **tx)
        .await
        .map_err(err())?;
        for destination in &commit.destinations {
            sqlx::query(
                "INSERT INTO outbox (destination, position) VALUES ($1, $2)
                 ON CONFLICT (destination, position) DO NOTHING",
            )
            .bind(destination.clone())
            .bind(position)
            .execute(&mut **tx)
            .await
            .map_err(err())?;
        }
        Ok(Upgrade::Done(StoredEvent {
            position: position as Position,
            event,
        }))
    }

    async fn save_cursors(
        tx: &mut Transaction<'_, Any>,
        commit: &Commit,
    ) -> Result<(), StoreError> {
        const SET: &str = "INSERT INTO cursors (account, name, value) VALUES ($1, $2, $3)
             ON CONFLICT (account, name) DO UPDATE SET value = excluded.value";
        // Only while the value is the one read: an entry rewritten since stays.
        const CLEAR: &str = "DELETE FROM cursors WHERE account = $1 AND name = $2 AND value = $3";
        let set = commit.cursors.iter().map(|c| (SET, c));
        for (sql, (name, value)) in set.chain(commit.cleared.iter().map(|c| (CLEAR, c))) {
            sqlx::query(sql)
                .bind(commit.account.clone())
                .bind(name.clone())
                .bind(value.to_string())
                .execute(&mut **tx)
                .await
                .map_err(StoreError::db("commit"))?;
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

/// `($1, $2), ($3, $4), ...`: `rows` tuples of `columns` numbered placeholders.
fn tuples(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|row| format!("({})", placeholders(1 + row * columns, columns)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn install_drivers() {
    // Idempotent: later calls are no-ops.
    sqlx::any::install_default_drivers();
}

fn stored_event(row: &AnyRow) -> Result<StoredEvent, StoreError> {
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
        let mut tx = self.pool.begin().await.map_err(StoreError::db("commit"))?;
        // On error `tx` is dropped and rolled back: nothing of the commit remains.
        let outcome = Self::commit_in(&mut tx, commit).await?;
        tx.commit().await.map_err(StoreError::db("commit"))?;
        Ok(outcome)
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
}
