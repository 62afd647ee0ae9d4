//! Opening the Postgres engine: a pool over one database (and, through the URL's `options`
//! parameter, one schema), shared by many workers.

use std::time::Duration;

use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;

use super::StoreError;

/// Pool size per process.
const CONNECTIONS: u32 = 8;

/// Opens a `postgres://` URL.
pub(super) async fn connect(url: &str) -> Result<AnyPool, StoreError> {
    AnyPoolOptions::new()
        .max_connections(CONNECTIONS)
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await
        .map_err(StoreError::db("open (postgres)"))
}
