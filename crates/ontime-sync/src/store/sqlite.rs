//! Opening the SQLite engine: one file, WAL journal, a busy timeout so writers queue instead of
//! failing, `synchronous = NORMAL` (durable across process crashes; WAL keeps it consistent
//! across power loss).

use std::path::Path;

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};

use super::StoreError;

/// Pool size: SQLite has one writer at a time; a few connections let reads run beside it.
const CONNECTIONS: u32 = 4;

/// Opens (creating if missing) the SQLite file at `path`, with the store's connection settings.
pub(super) async fn open(path: &Path) -> Result<AnyPool, StoreError> {
    let path = path.to_str().ok_or(StoreError::UnsupportedLocation)?;
    let encoded: String = path
        .chars()
        .map(|c| match c {
            '%' | '?' | '#' | ' ' => format!("%{:02X}", c as u32),
            c => c.to_string(),
        })
        .collect();
    connect(&format!("sqlite://{encoded}?mode=rwc")).await
}

/// Opens a `sqlite:` URL as sqlx understands it.
pub(super) async fn connect(url: &str) -> Result<AnyPool, StoreError> {
    AnyPoolOptions::new()
        .max_connections(CONNECTIONS)
        .after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute("PRAGMA journal_mode = WAL").await?;
                conn.execute("PRAGMA synchronous = NORMAL").await?;
                conn.execute("PRAGMA busy_timeout = 30000").await?;
                conn.execute("PRAGMA foreign_keys = ON").await?;
                Ok(())
            })
        })
        .connect(url)
        .await
        .map_err(StoreError::db("open (sqlite)"))
}
