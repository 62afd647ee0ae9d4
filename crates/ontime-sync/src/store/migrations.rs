//! The store's schema, versioned and embedded. Each migration is a list of statements that run
//! unchanged on SQLite and Postgres; `schema_migrations` records what ran. Migrations run in one
//! transaction on open (on Postgres under an advisory lock, so workers opening together do not
//! race).

use sqlx::{Any, Transaction};

use super::StoreError;

/// One schema version.
#[derive(Debug)]
pub struct Migration {
    /// The version, counting from 1.
    pub version: i64,
    /// What it does.
    pub name: &'static str,
    /// Its statements, valid on both engines.
    pub statements: &'static [&'static str],
}

/// Every migration, in version order. Never edit a released one: add the next.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "events, subjects, cursors, outbox",
        statements: &[
            "CREATE TABLE store_head (id BIGINT NOT NULL PRIMARY KEY, position BIGINT NOT NULL)",
            "INSERT INTO store_head (id, position) VALUES (1, 0)",
            "CREATE TABLE events (
            position BIGINT NOT NULL PRIMARY KEY,
            event_id TEXT NOT NULL UNIQUE,
            account TEXT NOT NULL,
            subject TEXT NOT NULL,
            sequence BIGINT NOT NULL,
            event_type TEXT NOT NULL,
            occurred_at_us BIGINT NOT NULL,
            payload TEXT NOT NULL,
            UNIQUE (account, subject, sequence)
        )",
            "CREATE INDEX events_by_type_time ON events (event_type, occurred_at_us)",
            "CREATE INDEX events_by_account_time ON events (account, occurred_at_us)",
            "CREATE TABLE subjects (
            account TEXT NOT NULL,
            subject TEXT NOT NULL,
            last_sequence BIGINT NOT NULL,
            PRIMARY KEY (account, subject)
        )",
            "CREATE TABLE cursors (
            account TEXT NOT NULL,
            name TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (account, name)
        )",
            "CREATE TABLE outbox (
            destination TEXT NOT NULL,
            position BIGINT NOT NULL REFERENCES events (position),
            attempts BIGINT NOT NULL DEFAULT 0,
            PRIMARY KEY (destination, position)
        )",
        ],
    },
    Migration {
        version: 2,
        name: "account leases with fencing tokens",
        statements: &["CREATE TABLE leases (
            account TEXT NOT NULL PRIMARY KEY,
            worker TEXT NOT NULL,
            token BIGINT NOT NULL,
            expires_at_us BIGINT NOT NULL
        )"],
    },
];

/// Brings the schema to the newest version inside `tx`.
pub(super) async fn run(tx: &mut Transaction<'_, Any>) -> Result<(), StoreError> {
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
            sqlx::query(statement)
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
}
