//! The store's schema, versioned and embedded. Each migration is a list of statements;
//! `schema_migrations` records what ran. Migrations run in one transaction on open (on Postgres
//! under an advisory lock, so workers opening together do not race).
//!
//! # One logical schema, engine-specific storage
//!
//! Both engines get the same tables, columns, keys and unique constraints; the statement texts
//! differ only where the storage of a key does ([`Statement::render`]):
//!
//! - `{int_key}`: an integer primary key. On SQLite `INTEGER PRIMARY KEY` (exactly that
//!   spelling), which makes the column the rowid: the table is its own key, one b-tree instead
//!   of a table plus a key index. On Postgres `BIGINT NOT NULL PRIMARY KEY`.
//! - `{keyed}`: after a table whose primary key is not an integer. On SQLite `WITHOUT ROWID`
//!   (the rows live in the key's b-tree: one tree written per row instead of two); on Postgres
//!   nothing.
//! - `{now_us}`: the database's clock in microseconds since the epoch (for rows a migration
//!   fills in: it has no `now` passed in).
//!
//! # Indexes
//!
//! Each index is written on every insert, so each one is there for a query the store runs:
//! `event_id` (the duplicate check), (subject, account, sequence) ([`EventStore::timeline`],
//! [`EventStore::locate_order`] by ID, a subject's last sequence), `position` (paging,
//! [`EventStore::events_after`], [`EventStore::query`]), the outbox's key (pending deliveries).
//!
//! There are no indexes by type and time or by account and time: [`EventStore::query`] pages in
//! position order with optional filters (`$2 IS NULL OR account = $2`), which SQLite's planner
//! never serves from such an index, and for which Postgres' custom plans use one only to fetch
//! and sort the whole filtered range on every page (worse than walking positions when an export
//! pages through a range). An index for filtered paging would lead with the filter and end with
//! the position, together with a query written to use it: add both when a workload needs them.
//!
//! The outbox (migration 3) has its key, (destination, position), and one index,
//! (destination, subject, position):
//!
//! - The key serves every claim (a destination's rows walked in position order, the due and
//!   unclaimed ones taken until the limit), complete, retry and dead letter (one row by key),
//!   and the backlog figures of [`DeliveryStore::destination_health`] (a range of the key).
//! - The index serves the ordered claim's test "no earlier row of this subject waits for this
//!   destination" (one probe per candidate: the subject's rows before the position). Without it
//!   the test would read every earlier row of the destination, quadratic in the backlog.
//!   Deriving it from the events' (subject, account, sequence) index instead would walk the
//!   subject's whole history per candidate (a driver's subject holds thousands of positions).
//! - No index on the due time: claims want position order (per-subject order, oldest first),
//!   and a healthy destination's rows are nearly all due, so walking the key costs about what
//!   the claim takes. Only a destination with a long backlog of rows waiting for a retry walks
//!   past them on every claim: an index leading with the due time would serve that case, at
//!   a write per queued row for everyone.
//! - `dead_letters` and `destinations` have their keys only: dead letters are read per
//!   destination (health, [`Redeliver::FailedSince`]: a range of the key), destinations by
//!   name.
//!
//! [`EventStore::timeline`]: super::EventStore::timeline
//! [`EventStore::locate_order`]: super::EventStore::locate_order
//! [`EventStore::events_after`]: super::EventStore::events_after
//! [`EventStore::query`]: super::EventStore::query
//! [`DeliveryStore::destination_health`]: super::outbox::DeliveryStore::destination_health
//! [`Redeliver::FailedSince`]: super::outbox::Redeliver::FailedSince
//!
//! The crate is unreleased (0.1 was never published), so migration 1 was changed in place to get
//! this layout rather than rebuilt by a later migration. Since then migrations are only added:
//! migration 3 adds the outbox's claim columns to the table migration 1 made (rows queued
//! before it get their subject from the event, the migration's time as queue time, and are due
//! at once). It also lost the `subjects` table (a
//! subject's last sequence is the largest in the unique (subject, account, sequence) index of
//! `events`, one index probe away, so the table only cost a write per subject and commit).

use std::borrow::Cow;

use sqlx::{Any, Transaction};

use super::{Engine, StoreError};

/// One schema version.
#[derive(Debug)]
pub struct Migration {
    /// The version, counting from 1.
    pub version: i64,
    /// What it does.
    pub name: &'static str,
    /// Its statements, in order.
    pub statements: &'static [Statement],
}

/// One statement of a migration: the same text on both engines, but for the storage words
/// [`Statement::render`] fills in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Statement(pub &'static str);

impl Statement {
    /// The text to run on `engine`, with `{int_key}` and `{keyed}` replaced by that engine's
    /// words (see the module documentation).
    pub fn render(self, engine: Engine) -> Cow<'static, str> {
        if !self.0.contains('{') {
            return Cow::Borrowed(self.0);
        }
        let (int_key, keyed, now_us) = match engine {
            Engine::Sqlite => (
                "INTEGER PRIMARY KEY",
                " WITHOUT ROWID",
                "CAST((julianday('now') - 2440587.5) * 86400000000.0 AS BIGINT)",
            ),
            Engine::Postgres => (
                "BIGINT NOT NULL PRIMARY KEY",
                "",
                "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT)",
            ),
        };
        Cow::Owned(
            self.0
                .replace("{int_key}", int_key)
                .replace("{keyed}", keyed)
                .replace("{now_us}", now_us),
        )
    }
}

/// Every migration, in version order. Never edit a released one: add the next.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "events, cursors, outbox",
        statements: &[
            Statement("CREATE TABLE store_head (id {int_key}, position BIGINT NOT NULL)"),
            Statement("INSERT INTO store_head (id, position) VALUES (1, 0)"),
            Statement(
                "CREATE TABLE events (
            position {int_key},
            event_id TEXT NOT NULL UNIQUE,
            account TEXT NOT NULL,
            subject TEXT NOT NULL,
            sequence BIGINT NOT NULL,
            event_type TEXT NOT NULL,
            occurred_at_us BIGINT NOT NULL,
            payload TEXT NOT NULL,
            UNIQUE (subject, account, sequence)
        )",
            ),
            Statement(
                "CREATE TABLE cursors (
            account TEXT NOT NULL,
            name TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (account, name)
        ){keyed}",
            ),
            Statement(
                "CREATE TABLE outbox (
            destination TEXT NOT NULL,
            position BIGINT NOT NULL REFERENCES events (position),
            attempts BIGINT NOT NULL DEFAULT 0,
            PRIMARY KEY (destination, position)
        ){keyed}",
            ),
        ],
    },
    Migration {
        version: 2,
        name: "account leases with fencing tokens",
        statements: &[Statement(
            "CREATE TABLE leases (
            account TEXT NOT NULL PRIMARY KEY,
            worker TEXT NOT NULL,
            token BIGINT NOT NULL,
            expires_at_us BIGINT NOT NULL
        ){keyed}",
        )],
    },
    Migration {
        version: 3,
        name: "delivery claims, dead letters, destinations",
        statements: &[
            Statement("ALTER TABLE outbox ADD COLUMN subject TEXT NOT NULL DEFAULT ''"),
            Statement("ALTER TABLE outbox ADD COLUMN queued_at_us BIGINT NOT NULL DEFAULT 0"),
            Statement("ALTER TABLE outbox ADD COLUMN next_attempt_at_us BIGINT NOT NULL DEFAULT 0"),
            Statement("ALTER TABLE outbox ADD COLUMN claimed_by TEXT"),
            Statement("ALTER TABLE outbox ADD COLUMN claim_until_us BIGINT"),
            Statement("ALTER TABLE outbox ADD COLUMN last_error TEXT"),
            // Rows queued before this version: their subject from the event, queued now, due now.
            Statement(
                "UPDATE outbox SET
            subject = (SELECT e.subject FROM events e WHERE e.position = outbox.position),
            queued_at_us = {now_us}",
            ),
            Statement("CREATE INDEX outbox_subject ON outbox (destination, subject, position)"),
            Statement(
                "CREATE TABLE dead_letters (
            destination TEXT NOT NULL,
            position BIGINT NOT NULL REFERENCES events (position),
            attempts BIGINT NOT NULL,
            reason TEXT NOT NULL,
            dead_at_us BIGINT NOT NULL,
            PRIMARY KEY (destination, position)
        ){keyed}",
            ),
            Statement(
                "CREATE TABLE destinations (
            name TEXT NOT NULL PRIMARY KEY,
            disabled_at_us BIGINT,
            disabled_reason TEXT,
            failing_since_us BIGINT,
            last_error TEXT,
            last_success_at_us BIGINT
        ){keyed}",
            ),
        ],
    },
];

/// Brings the schema to the newest version inside `tx`.
pub(super) async fn run(tx: &mut Transaction<'_, Any>, engine: Engine) -> Result<(), StoreError> {
    let err = StoreError::db("migration");
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT NOT NULL PRIMARY KEY, name TEXT NOT NULL)",
    )
    .execute(&mut **tx)
    .await
    .map_err(err)?;
    let current: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations")
        .fetch_one(&mut **tx)
        .await
        .map_err(StoreError::db("migration"))?;
    let current = current.unwrap_or(0);
    let known = MIGRATIONS.last().map_or(0, |m| m.version);
    if current > known {
        return Err(StoreError::SchemaTooNew {
            found: current,
            known,
        });
    }
    for migration in MIGRATIONS.iter().filter(|m| m.version > current) {
        for statement in migration.statements {
            sqlx::query(&statement.render(engine))
                .execute(&mut **tx)
                .await
                .map_err(StoreError::db("migration"))?;
        }
        sqlx::query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)")
            .bind(migration.version)
            .bind(migration.name)
            .execute(&mut **tx)
            .await
            .map_err(StoreError::db("migration"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_count_up_from_one() {
        for (index, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(migration.version, index as i64 + 1, "{}", migration.name);
        }
    }

    #[test]
    fn statements_render_per_engine() {
        let head = Statement("CREATE TABLE t (id {int_key}, k TEXT){keyed}");
        assert_eq!(
            head.render(Engine::Sqlite),
            "CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT) WITHOUT ROWID"
        );
        assert_eq!(
            head.render(Engine::Postgres),
            "CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, k TEXT)"
        );
        // No placeholder is left unreplaced in any migration.
        for migration in MIGRATIONS {
            for statement in migration.statements {
                for engine in [Engine::Sqlite, Engine::Postgres] {
                    let text = statement.render(engine);
                    assert!(!text.contains('{'), "{}: {text}", migration.name);
                }
            }
        }
    }
}
