//! Accounts leased to workers, with fencing tokens.
//!
//! Many workers share one Postgres store; each account is collected by one worker at a time. A
//! worker [acquires](super::EventStore::acquire_lease) an account's lease for a TTL, renews it
//! before it runs out, and puts the lease's [`Fence`] on every [`Commit`](super::Commit). Once a
//! lease has expired, another worker may take it over: the account's **fencing token** goes up
//! by one. A commit carrying an older token (a worker that stalled past its TTL and woke up) is
//! refused with [`StoreError::LeaseLost`] and writes nothing; its
//! renewals are refused the same way.
//!
//! The check is a row lock, not a read: right after taking the store's write lock (the head row
//! on Postgres, `BEGIN IMMEDIATE` on SQLite) and before anything else, the commit updates the
//! lease row (`SET token = token` where worker and token match), so a takeover waits for a
//! commit in flight, and a commit after a takeover finds no matching row.
//!
//! Times are passed in (the workers' clocks, as the collector's governor does):
//! workers must agree on the time to within a small part of the TTL. A worker past its expiry
//! that nobody took over yet can still commit: it is still the only writer. On SQLite (one
//! process) the same tables and queries apply; leases there only matter between tasks.

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::{AnyConnection, AnyPool};

use super::StoreError;

/// The proof a commit carries that its worker still holds the account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fence {
    /// The worker's name.
    pub worker: String,
    /// The lease's fencing token.
    pub token: i64,
}

/// A lease held: the account, the worker, its fencing token and when it runs out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The account.
    pub account: String,
    /// The worker holding it.
    pub worker: String,
    /// The fencing token: up by one at every takeover.
    pub token: i64,
    /// When it runs out unless renewed.
    pub expires_at: DateTime<Utc>,
}

impl Lease {
    /// The fence to put on commits made under this lease.
    pub fn fence(&self) -> Fence {
        Fence {
            worker: self.worker.clone(),
            token: self.token,
        }
    }
}

fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// Takes the lease when free, expired, or already this worker's (a new token then).
pub(super) async fn acquire(
    pool: &AnyPool,
    account: &str,
    worker: &str,
    ttl: TimeDelta,
    now: DateTime<Utc>,
) -> Result<Option<Lease>, StoreError> {
    let expires_at = now + ttl;
    let token: Option<i64> = sqlx::query_scalar(
        "INSERT INTO leases (account, worker, token, expires_at_us) VALUES ($1, $2, 1, $3)
         ON CONFLICT (account) DO UPDATE
           SET worker = excluded.worker, token = leases.token + 1,
               expires_at_us = excluded.expires_at_us
           WHERE leases.expires_at_us <= $4 OR leases.worker = excluded.worker
         RETURNING token",
    )
    .bind(account.to_owned())
    .bind(worker.to_owned())
    .bind(micros(expires_at))
    .bind(micros(now))
    .fetch_optional(pool)
    .await
    .map_err(StoreError::db("lease"))?;
    Ok(token.map(|token| Lease {
        account: account.to_owned(),
        worker: worker.to_owned(),
        token,
        expires_at,
    }))
}

/// Extends a lease still held (same worker and token) to `now + ttl`.
pub(super) async fn renew(
    pool: &AnyPool,
    lease: &Lease,
    ttl: TimeDelta,
    now: DateTime<Utc>,
) -> Result<Lease, StoreError> {
    let expires_at = now + ttl;
    let renewed = sqlx::query(
        "UPDATE leases SET expires_at_us = $1 WHERE account = $2 AND worker = $3 AND token = $4",
    )
    .bind(micros(expires_at))
    .bind(lease.account.clone())
    .bind(lease.worker.clone())
    .bind(lease.token)
    .execute(pool)
    .await
    .map_err(StoreError::db("lease"))?
    .rows_affected();
    if renewed == 0 {
        return Err(StoreError::LeaseLost {
            account: lease.account.clone(),
        });
    }
    Ok(Lease {
        expires_at,
        ..lease.clone()
    })
}

/// Lets a lease go at once (it expires now); a lease taken over meanwhile is left alone.
pub(super) async fn release(pool: &AnyPool, lease: &Lease) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE leases SET expires_at_us = $1 WHERE account = $2 AND worker = $3 AND token = $4",
    )
    .bind(i64::MIN)
    .bind(lease.account.clone())
    .bind(lease.worker.clone())
    .bind(lease.token)
    .execute(pool)
    .await
    .map_err(StoreError::db("lease"))?;
    Ok(())
}

/// The account's lease row as it is (held, expired or released), if it was ever taken.
pub(super) async fn current(pool: &AnyPool, account: &str) -> Result<Option<Lease>, StoreError> {
    use sqlx::Row;
    let row = sqlx::query("SELECT worker, token, expires_at_us FROM leases WHERE account = $1")
        .bind(account.to_owned())
        .fetch_optional(pool)
        .await
        .map_err(StoreError::db("lease"))?;
    row.map(|row| {
        let read = |e: sqlx::Error| StoreError::Database {
            operation: "lease",
            source: e,
        };
        let expires: i64 = row.try_get("expires_at_us").map_err(read)?;
        Ok(Lease {
            account: account.to_owned(),
            worker: row.try_get("worker").map_err(read)?,
            token: row.try_get("token").map_err(read)?,
            // A released lease expires at the earliest instant there is.
            expires_at: DateTime::from_timestamp_micros(expires)
                .unwrap_or(DateTime::<Utc>::MIN_UTC),
        })
    })
    .transpose()
}

/// Inside a commit: locks the account's lease row if `fence` still holds it, else refuses.
pub(super) async fn check(
    conn: &mut AnyConnection,
    account: &str,
    fence: &Fence,
) -> Result<(), StoreError> {
    let held = sqlx::query(
        "UPDATE leases SET token = token WHERE account = $1 AND worker = $2 AND token = $3",
    )
    .bind(account.to_owned())
    .bind(fence.worker.clone())
    .bind(fence.token)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::db("commit"))?
    .rows_affected();
    if held == 0 {
        return Err(StoreError::LeaseLost {
            account: account.to_owned(),
        });
    }
    Ok(())
}
