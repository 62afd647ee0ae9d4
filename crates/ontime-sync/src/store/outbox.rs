//! The delivery outbox: what each destination still has to receive, claimed by dispatchers.
//!
//! A commit queues each new (or upgraded) event for every destination it names. A dispatcher
//! [claims](DeliveryStore::claim_deliveries) due deliveries for a while (its claim runs out at
//! `claim_until`: a dispatcher killed mid-delivery leaves claims that others take over once they
//! expire), sends them, and records the result: [completed](DeliveryStore::complete_delivery)
//! (the row leaves the outbox), [retried](DeliveryStore::retry_delivery) later, or
//! [dead-lettered](DeliveryStore::dead_letter) after the last attempt. On Postgres claims use
//! `FOR UPDATE SKIP LOCKED`, so several dispatchers share one outbox without waiting on each
//! other.
//!
//! **Per-subject order.** An ordered claim takes only the oldest undelivered event of each
//! (destination, subject): an order's later event is never sent before an earlier one was
//! delivered or dead-lettered. Any earlier row of the subject still in the outbox holds the
//! later ones back, whether it is claimed, waiting for a retry, or waiting for a disabled
//! destination; a dead letter does not.
//!
//! # How [`Store`] keeps it
//!
//! Each row of the `outbox` table is one (destination, position) with the event's subject, the
//! attempts made, when it was queued and when it is due (`next_attempt_at`), the claim
//! (`claimed_by`, `claim_until`) and the last failure. Times are passed in (`now`, as leases
//! take them) and stored as microseconds. A commit queues its rows due at once, whatever clock
//! the dispatchers claim with (queue time: [`Commit::at`](super::Commit::at), else the system
//! clock); the queueing is part of the commit's multi-row writes, no extra round trip.
//!
//! - **Claims.** Postgres: one statement, its own short transaction, that locks up to `limit`
//!   claimable rows with `FOR UPDATE SKIP LOCKED` (rows another claimer holds are passed over,
//!   not waited for), marks them claimed and returns them with their events: concurrent
//!   dispatchers get disjoint claims in one round trip each. SQLite: `BEGIN IMMEDIATE` (the
//!   write lock: claimers queue there) with the read, then the marks with the `COMMIT`: two
//!   calls into the driver.
//! - **Results.** A complete removes the row whoever holds the claim now (the event was
//!   delivered: a dispatcher that re-claimed it after this claim expired delivers it once more
//!   at most, and its own complete finds nothing), but not a row whose claim was released
//!   since. A retry or dead letter applies only while the row is still under the claim it
//!   names (worker and `claim_until`): a late failure report of an expired claim does not undo
//!   another dispatcher's claim. Either way the destination's
//!   record (failure streak, last error, last success) is updated in the same transaction.
//! - **Queued again while claimed.** An upgrade of a provisional event (its content replaced
//!   in place) or a [redelivery](DeliveryStore::redeliver) of a row still waiting releases its
//!   claim: the dispatcher holding it may be sending the old content, and its complete must
//!   not remove the row before the new content (or the requested redelivery) went out. Once
//!   another dispatcher re-claimed the row, that one sends the current content whatever the
//!   first one's complete does.
//! - **Destinations** get their row in `destinations` at their first result or when disabled;
//!   [`DeliveryStore::destination_health`] lists every destination with a row there, in the
//!   outbox or among the dead letters.

use std::future::Future;

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::script::{Arg, Join, Script};
use super::sql::{SQLITE_BEGIN, SqliteCommit, stored_event};
use super::{Engine, Position, Store, StoreError, StoredEvent};
use crate::event::EventId;

/// A delivery claimed by a dispatcher.
#[derive(Clone, Debug, PartialEq)]
pub struct Claim {
    /// The destination.
    pub destination: String,
    /// The event, as stored.
    pub stored: StoredEvent,
    /// Attempts made before this claim (0: never tried).
    pub attempts: u32,
    /// When it was queued (the first attempt was due).
    pub queued_at: DateTime<Utc>,
    /// The claiming dispatcher.
    pub worker: String,
    /// When the claim runs out.
    pub claim_until: DateTime<Utc>,
}

impl Claim {
    /// The event's global position.
    pub fn position(&self) -> Position {
        self.stored.position
    }
}

/// A destination's state.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DestinationHealth {
    /// The destination.
    pub destination: String,
    /// Deliveries waiting (claimed or not), dead letters excluded.
    pub backlog: u64,
    /// When the oldest waiting delivery was queued.
    pub oldest_queued_at: Option<DateTime<Utc>>,
    /// Dead letters held.
    pub dead_letters: u64,
    /// Since when every attempt failed (none since the last success); `None` when healthy.
    pub failing_since: Option<DateTime<Utc>>,
    /// The last failure's reason.
    pub last_error: Option<String>,
    /// The last successful delivery.
    pub last_success_at: Option<DateTime<Utc>>,
    /// When and why it was disabled; a disabled destination gets no claims, its deliveries wait.
    pub disabled: Option<(DateTime<Utc>, String)>,
}

/// Which deliveries to queue again.
#[derive(Clone, Debug, PartialEq)]
pub enum Redeliver {
    /// One event, to every destination in `destinations`; when empty, to every destination the
    /// store knows (one with a result or disabled: see
    /// [`DeliveryStore::destination_health`]) and every one it is queued for or dead-lettered
    /// at. (The outbox forgets a delivery once it is done, so "every destination it was ever
    /// queued for" is not known after delivery.)
    Event {
        /// The event.
        event_id: EventId,
        /// Restrict to these destinations.
        destinations: Vec<String>,
    },
    /// A destination's dead letters from `since` on (dead-lettered at or after it).
    FailedSince {
        /// The destination.
        destination: String,
        /// From when.
        since: DateTime<Utc>,
    },
}

/// The outbox's operations (implemented by [`Store`] on both engines).
pub trait DeliveryStore: Send + Sync {
    /// Claims for `worker` until `now + ttl` up to `limit` deliveries of `destination` that are
    /// due (`next_attempt_at <= now`), not claimed by a live claim and, when `ordered`, the
    /// oldest waiting of their subject. None while the destination is disabled. In position order.
    fn claim_deliveries(
        &self,
        destination: &str,
        worker: &str,
        limit: u32,
        ordered: bool,
        ttl: TimeDelta,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<Claim>, StoreError>> + Send;

    /// The delivery succeeded: removes it from the outbox, records the success (clears
    /// `failing_since`). Done also when the claim expired meanwhile (it was delivered), but
    /// not when the delivery was queued again since (an upgraded event, a redelivery: its
    /// claim was released, and it goes out again).
    fn complete_delivery(
        &self,
        claim: &Claim,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// [`DeliveryStore::complete_delivery`] for many claims at once (fewer transactions: one
    /// per thousand claims on [`Store`], whatever their destinations).
    fn complete_deliveries(
        &self,
        claims: &[Claim],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        async move {
            for claim in claims {
                self.complete_delivery(claim, now).await?;
            }
            Ok(())
        }
    }

    /// The attempt failed: one more attempt counted, due again at `next_attempt_at`, claim
    /// released, `reason` recorded, `failing_since` set if unset. The delivery is left alone
    /// when it is no longer under this claim (expired and claimed by another dispatcher, or
    /// done); the failure is recorded on the destination anyway.
    fn retry_delivery(
        &self,
        claim: &Claim,
        next_attempt_at: DateTime<Utc>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The last attempt failed: the delivery moves to the dead letters (attempts counting this
    /// one, `reason`, dead at `now`), and the failure is recorded as for a retry. Left alone
    /// when it is no longer under this claim, as for [`DeliveryStore::retry_delivery`].
    fn dead_letter(
        &self,
        claim: &Claim,
        reason: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Disables a destination (HTTP 410, or failing for too long); its deliveries stay queued.
    fn disable_destination(
        &self,
        destination: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Enables a destination again: its queued deliveries become due at once and its failure
    /// streak (`failing_since`) starts over.
    fn enable_destination(
        &self,
        destination: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Queues deliveries again, due at `now` with their attempts reset, and takes them out of
    /// the dead letters; returns how many were queued (an event still waiting for a
    /// destination counts once and is made due now; a claim on it is released, so the
    /// delivery goes out again even if the claim's holder is sending it right now). Deliveries to a
    /// disabled destination wait until it is enabled. [`StoreError::EventNotFound`] when
    /// [`Redeliver::Event`] names an id the store does not hold.
    fn redeliver(
        &self,
        what: &Redeliver,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// The state of every destination the store knows (queued to, dead-lettered at, disabled),
    /// in name order.
    fn destination_health(
        &self,
    ) -> impl Future<Output = Result<Vec<DestinationHealth>, StoreError>> + Send;
}

// ---------------------------------------------------------------------------------------------
// The implementation on both engines.

/// Micros since the epoch, as the store keeps times.
fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// A stored time back as a `DateTime`.
fn time(us: i64, what: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(us).ok_or_else(|| StoreError::Corrupt {
        position: 0,
        reason: format!("{what} out of range: {us}"),
    })
}

fn opt_time(us: Option<i64>, what: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    us.map(|us| time(us, what)).transpose()
}

/// The conditions a claimable row `o` meets (placeholders: `$d` destination, `$n` now; each
/// used once, in order, so SQLite binds them anonymously), and, when `ordered`, that no earlier
/// row of its subject waits for the destination.
fn claimable(first: usize, ordered: bool) -> (String, usize) {
    let (d1, n1, n2, d2) = (first, first + 1, first + 2, first + 3);
    let mut sql = format!(
        "o.destination = ${d1} AND o.next_attempt_at_us <= ${n1}
           AND (o.claim_until_us IS NULL OR o.claim_until_us <= ${n2})
           AND NOT EXISTS (SELECT 1 FROM destinations d
                           WHERE d.name = ${d2} AND d.disabled_at_us IS NOT NULL)"
    );
    let mut next = first + 4;
    if ordered {
        sql.push_str(&format!(
            "
           AND NOT EXISTS (SELECT 1 FROM outbox p
                           WHERE p.destination = ${next} AND p.subject = o.subject
                             AND p.position < o.position)"
        ));
        next += 1;
    }
    (sql, next)
}

fn claimable_args(destination: &str, now: i64, ordered: bool) -> Vec<Arg> {
    let mut args = vec![
        Arg::Text(destination.to_owned()),
        Arg::Int(now),
        Arg::Int(now),
        Arg::Text(destination.to_owned()),
    ];
    if ordered {
        args.push(Arg::Text(destination.to_owned()));
    }
    args
}

/// A claimed row (`position`, `attempts`, `queued_at_us`, `payload`) as a [`Claim`].
fn claim_from_row(
    row: &AnyRow,
    destination: &str,
    worker: &str,
    claim_until: DateTime<Utc>,
) -> Result<Claim, StoreError> {
    let err = StoreError::db("claim deliveries");
    let attempts: i64 = row.try_get("attempts").map_err(err)?;
    let queued_at: i64 = row
        .try_get("queued_at_us")
        .map_err(StoreError::db("claim deliveries"))?;
    Ok(Claim {
        destination: destination.to_owned(),
        stored: stored_event(row)?,
        attempts: u32::try_from(attempts.max(0)).unwrap_or(u32::MAX),
        queued_at: time(queued_at, "queued_at")?,
        worker: worker.to_owned(),
        claim_until,
    })
}

/// `destination = $k AND position = $k+1 AND claimed_by = $k+2 AND claim_until_us = $k+3`:
/// the row still under `claim` (not re-claimed since).
fn under_claim(first: usize, claim: &Claim) -> (String, Vec<Arg>) {
    (
        format!(
            "destination = ${} AND position = ${} AND claimed_by = ${} AND claim_until_us = ${}",
            first,
            first + 1,
            first + 2,
            first + 3
        ),
        vec![
            Arg::Text(claim.destination.clone()),
            Arg::Int(claim.position() as i64),
            Arg::Text(claim.worker.clone()),
            Arg::Int(micros(claim.claim_until)),
        ],
    )
}

/// Records a failed attempt at `destination`: `failing_since` set if unset, `last_error`.
fn push_failure(script: &mut Script, destination: &str, reason: &str, now: DateTime<Utc>) {
    let n = script.next();
    script.push(
        format!(
            "INSERT INTO destinations (name, failing_since_us, last_error) VALUES (${n}, ${}, ${})
             ON CONFLICT (name) DO UPDATE
               SET failing_since_us = COALESCE(destinations.failing_since_us, excluded.failing_since_us),
                   last_error = excluded.last_error",
            n + 1,
            n + 2
        ),
        vec![
            Arg::Text(destination.to_owned()),
            Arg::Int(micros(now)),
            Arg::Text(reason.to_owned()),
        ],
    );
}

impl Store {
    /// Completes up to [`COMPLETE_ROWS`] claims in one transaction.
    async fn complete_some(&self, claims: &[Claim], now: DateTime<Utc>) -> Result<(), StoreError> {
        let mut by_destination: Vec<(&str, Vec<i64>)> = Vec::new();
        for claim in claims {
            let position = claim.position() as i64;
            match by_destination
                .iter_mut()
                .find(|(d, _)| *d == claim.destination)
            {
                Some((_, positions)) => positions.push(position),
                None => by_destination.push((&claim.destination, vec![position])),
            }
        }
        if by_destination.is_empty() {
            return Ok(());
        }
        let mut script = self.atomic_script();
        for (destination, positions) in &by_destination {
            let n = script.next();
            let mut args = vec![Arg::Text((*destination).to_owned())];
            args.extend(positions.iter().copied().map(Arg::Int));
            script.push(
                format!(
                    "DELETE FROM outbox WHERE destination = ${n} AND position IN ({})
                       AND claimed_by IS NOT NULL",
                    (1..=positions.len())
                        .map(|i| format!("${}", n + i))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                args,
            );
            let n = script.next();
            script.push(
                format!(
                    "INSERT INTO destinations (name, last_success_at_us) VALUES (${n}, ${})
                     ON CONFLICT (name) DO UPDATE
                       SET last_success_at_us = excluded.last_success_at_us,
                           failing_since_us = NULL",
                    n + 1
                ),
                vec![Arg::Text((*destination).to_owned()), Arg::Int(micros(now))],
            );
        }
        self.run_atomic("complete delivery", script).await?;
        Ok(())
    }
}

impl DeliveryStore for Store {
    async fn claim_deliveries(
        &self,
        destination: &str,
        worker: &str,
        limit: u32,
        ordered: bool,
        ttl: TimeDelta,
        now: DateTime<Utc>,
    ) -> Result<Vec<Claim>, StoreError> {
        let err = || StoreError::db("claim deliveries");
        if limit == 0 {
            return Ok(Vec::new());
        }
        let claim_until = now + ttl;
        let rows = match self.engine() {
            Engine::Postgres => {
                // One statement, its own short transaction: lock the due rows nobody else has
                // locked (`SKIP LOCKED`: concurrent claimers take disjoint rows without waiting),
                // mark them claimed, return them with their events.
                let (cond, next) = claimable(1, ordered);
                let sql = format!(
                    "WITH picked AS (
                       SELECT o.position FROM outbox o WHERE {cond}
                       ORDER BY o.position LIMIT ${next}
                       FOR UPDATE SKIP LOCKED
                     ), claimed AS (
                       UPDATE outbox SET claimed_by = ${}, claim_until_us = ${}
                       FROM picked
                       WHERE outbox.destination = ${} AND outbox.position = picked.position
                       RETURNING outbox.position, outbox.attempts, outbox.queued_at_us
                     )
                     SELECT c.position AS position, c.attempts AS attempts,
                            c.queued_at_us AS queued_at_us, e.payload AS payload
                     FROM claimed c JOIN events e ON e.position = c.position
                     ORDER BY c.position",
                    next + 1,
                    next + 2,
                    next + 3
                );
                let mut args = claimable_args(destination, micros(now), ordered);
                args.extend([
                    Arg::Int(i64::from(limit)),
                    Arg::Text(worker.to_owned()),
                    Arg::Int(micros(claim_until)),
                    Arg::Text(destination.to_owned()),
                ]);
                let mut script = Script::new(Join::Union);
                script.push(sql, args);
                let mut conn = self.pool().acquire().await.map_err(err())?;
                script.fetch_all(&mut conn).await.map_err(err())?
            }
            Engine::Sqlite => {
                // Two calls into the driver: `BEGIN IMMEDIATE` (the write lock: claimers queue
                // here) with the read of the due rows, then the marks with the `COMMIT`.
                let mut open = SqliteCommit::acquire(self.pool(), "claim deliveries").await?;
                let result = async {
                    let mut read = Script::new(Join::Statements);
                    read.push(SQLITE_BEGIN.to_owned(), Vec::new());
                    let (cond, next) = claimable(1, ordered);
                    let mut args = claimable_args(destination, micros(now), ordered);
                    args.push(Arg::Int(i64::from(limit)));
                    read.push(
                        format!(
                            "SELECT o.position AS position, o.attempts AS attempts,
                                    o.queued_at_us AS queued_at_us, e.payload AS payload
                             FROM outbox o JOIN events e ON e.position = o.position
                             WHERE {cond}
                             ORDER BY o.position LIMIT ${next}"
                        ),
                        args,
                    );
                    let rows = read.fetch_all(&mut open.conn).await?;
                    let mut write = Script::new(Join::Statements);
                    if !rows.is_empty() {
                        let positions: Vec<i64> = rows
                            .iter()
                            .map(|row| row.try_get::<i64, _>("position"))
                            .collect::<Result<_, _>>()?;
                        let list: Vec<String> = (0..positions.len())
                            .map(|i| format!("${}", i + 4))
                            .collect();
                        let mut args = vec![
                            Arg::Text(worker.to_owned()),
                            Arg::Int(micros(claim_until)),
                            Arg::Text(destination.to_owned()),
                        ];
                        args.extend(positions.into_iter().map(Arg::Int));
                        write.push(
                            format!(
                                "UPDATE outbox SET claimed_by = $1, claim_until_us = $2
                                 WHERE destination = $3 AND position IN ({})",
                                list.join(", ")
                            ),
                            args,
                        );
                    }
                    write.push("COMMIT".to_owned(), Vec::new());
                    write.execute(&mut open.conn).await?;
                    Ok::<_, sqlx::Error>(rows)
                }
                .await;
                open.finish(result.is_ok()).await;
                result.map_err(err())?
            }
        };
        rows.iter()
            .map(|row| claim_from_row(row, destination, worker, claim_until))
            .collect()
    }

    async fn complete_delivery(&self, claim: &Claim, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.complete_deliveries(std::slice::from_ref(claim), now)
            .await
    }

    async fn complete_deliveries(
        &self,
        claims: &[Claim],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        // Per destination: one `DELETE` of its rows, one upsert of its success; a thousand
        // claims per transaction.
        for claims in claims.chunks(COMPLETE_ROWS) {
            self.complete_some(claims, now).await?;
        }
        Ok(())
    }

    async fn retry_delivery(
        &self,
        claim: &Claim,
        next_attempt_at: DateTime<Utc>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut script = self.atomic_script();
        let n = script.next();
        let (cond, cond_args) = under_claim(n + 2, claim);
        let mut args = vec![
            Arg::Int(micros(next_attempt_at)),
            Arg::Text(reason.to_owned()),
        ];
        args.extend(cond_args);
        script.push(
            format!(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at_us = ${n},
                   claimed_by = NULL, claim_until_us = NULL, last_error = ${}
                 WHERE {cond}",
                n + 1
            ),
            args,
        );
        push_failure(&mut script, &claim.destination, reason, now);
        self.run_atomic("retry delivery", script).await?;
        Ok(())
    }

    async fn dead_letter(
        &self,
        claim: &Claim,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        const UPSERT: &str = "ON CONFLICT (destination, position) DO UPDATE
               SET attempts = excluded.attempts, reason = excluded.reason,
                   dead_at_us = excluded.dead_at_us";
        let mut script = self.atomic_script();
        match self.engine() {
            Engine::Sqlite => {
                let n = script.next();
                let (cond, cond_args) = under_claim(n + 2, claim);
                let mut args = vec![Arg::Text(reason.to_owned()), Arg::Int(micros(now))];
                args.extend(cond_args);
                script.push(
                    format!(
                        "INSERT INTO dead_letters (destination, position, attempts, reason, dead_at_us)
                         SELECT destination, position, attempts + 1, ${n}, ${} FROM outbox
                         WHERE {cond} {UPSERT}",
                        n + 1
                    ),
                    args,
                );
                let (cond, args) = under_claim(script.next(), claim);
                script.push(format!("DELETE FROM outbox WHERE {cond}"), args);
                push_failure(&mut script, &claim.destination, reason, now);
            }
            Engine::Postgres => {
                // w0: the row taken out of the outbox; w1: the failure; last: the dead letter
                // made of w0.
                let (cond, args) = under_claim(script.next(), claim);
                script.push(
                    format!(
                        "DELETE FROM outbox WHERE {cond} RETURNING destination, position, attempts"
                    ),
                    args,
                );
                push_failure(&mut script, &claim.destination, reason, now);
                let n = script.next();
                script.push(
                    format!(
                        "INSERT INTO dead_letters (destination, position, attempts, reason, dead_at_us)
                         SELECT destination, position, attempts + 1, ${n}, ${} FROM w0 {UPSERT}",
                        n + 1
                    ),
                    vec![Arg::Text(reason.to_owned()), Arg::Int(micros(now))],
                );
            }
        }
        self.run_atomic("dead letter", script).await?;
        Ok(())
    }

    async fn disable_destination(
        &self,
        destination: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO destinations (name, disabled_at_us, disabled_reason) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE
               SET disabled_at_us = excluded.disabled_at_us,
                   disabled_reason = excluded.disabled_reason",
        )
        .bind(destination.to_owned())
        .bind(micros(now))
        .bind(reason.to_owned())
        .execute(self.pool())
        .await
        .map_err(StoreError::db("disable destination"))?;
        Ok(())
    }

    async fn enable_destination(
        &self,
        destination: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut script = self.atomic_script();
        let n = script.next();
        script.push(
            format!(
                "UPDATE destinations
                 SET disabled_at_us = NULL, disabled_reason = NULL, failing_since_us = NULL
                 WHERE name = ${n}"
            ),
            vec![Arg::Text(destination.to_owned())],
        );
        let n = script.next();
        script.push(
            format!(
                "UPDATE outbox SET next_attempt_at_us = ${n}
                 WHERE destination = ${} AND next_attempt_at_us > ${}",
                n + 1,
                n + 2
            ),
            vec![
                Arg::Int(micros(now)),
                Arg::Text(destination.to_owned()),
                Arg::Int(micros(now)),
            ],
        );
        self.run_atomic("enable destination", script).await?;
        Ok(())
    }

    async fn redeliver(&self, what: &Redeliver, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let err = || StoreError::db("redeliver");
        let mut tx = match self.engine() {
            Engine::Sqlite => self.pool().begin_with(SQLITE_BEGIN).await,
            Engine::Postgres => self.pool().begin().await,
        }
        .map_err(err())?;
        // Queued again (or, still waiting, made due now), attempts from zero.
        // A claim on it is released: see the module documentation.
        const REQUEUE: &str = "ON CONFLICT (destination, position) DO UPDATE
               SET next_attempt_at_us = excluded.next_attempt_at_us, attempts = 0,
                   claimed_by = NULL, claim_until_us = NULL";
        let queued = match what {
            Redeliver::Event {
                event_id,
                destinations,
            } => {
                let found: Option<(i64, String)> =
                    sqlx::query_as("SELECT position, subject FROM events WHERE event_id = $1")
                        .bind(event_id.as_str().to_owned())
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(err())?;
                let Some((position, subject)) = found else {
                    return Err(StoreError::EventNotFound {
                        event_id: event_id.clone(),
                    });
                };
                let destinations: Vec<String> = if destinations.is_empty() {
                    sqlx::query_scalar(
                        "SELECT name FROM destinations
                         UNION SELECT destination FROM outbox WHERE position = $1
                         UNION SELECT destination FROM dead_letters WHERE position = $2",
                    )
                    .bind(position)
                    .bind(position)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(err())?
                } else {
                    let mut unique = destinations.clone();
                    unique.sort();
                    unique.dedup();
                    unique
                };
                for destination in &destinations {
                    sqlx::query(&format!(
                        "INSERT INTO outbox
                           (destination, position, subject, queued_at_us, next_attempt_at_us, attempts)
                         VALUES ($1, $2, $3, $4, $5, 0) {REQUEUE}"
                    ))
                    .bind(destination.clone())
                    .bind(position)
                    .bind(subject.clone())
                    .bind(micros(now))
                    .bind(micros(now))
                    .execute(&mut *tx)
                    .await
                    .map_err(err())?;
                    sqlx::query(
                        "DELETE FROM dead_letters WHERE destination = $1 AND position = $2",
                    )
                    .bind(destination.clone())
                    .bind(position)
                    .execute(&mut *tx)
                    .await
                    .map_err(err())?;
                }
                destinations.len() as u64
            }
            Redeliver::FailedSince { destination, since } => {
                let queued = sqlx::query(&format!(
                    "INSERT INTO outbox
                       (destination, position, subject, queued_at_us, next_attempt_at_us, attempts)
                     SELECT d.destination, d.position, e.subject, $1, $2, 0
                     FROM dead_letters d JOIN events e ON e.position = d.position
                     WHERE d.destination = $3 AND d.dead_at_us >= $4 {REQUEUE}"
                ))
                .bind(micros(now))
                .bind(micros(now))
                .bind(destination.clone())
                .bind(micros(*since))
                .execute(&mut *tx)
                .await
                .map_err(err())?
                .rows_affected();
                sqlx::query("DELETE FROM dead_letters WHERE destination = $1 AND dead_at_us >= $2")
                    .bind(destination.clone())
                    .bind(micros(*since))
                    .execute(&mut *tx)
                    .await
                    .map_err(err())?;
                queued
            }
        };
        tx.commit().await.map_err(err())?;
        Ok(queued)
    }

    async fn destination_health(&self) -> Result<Vec<DestinationHealth>, StoreError> {
        let err = || StoreError::db("destination health");
        let rows = sqlx::query(
            "SELECT n.name AS name,
                    (SELECT COUNT(*) FROM outbox o WHERE o.destination = n.name) AS backlog,
                    (SELECT MIN(o.queued_at_us) FROM outbox o WHERE o.destination = n.name)
                      AS oldest_queued_at_us,
                    (SELECT COUNT(*) FROM dead_letters l WHERE l.destination = n.name)
                      AS dead_letters,
                    s.failing_since_us AS failing_since_us, s.last_error AS last_error,
                    s.last_success_at_us AS last_success_at_us,
                    s.disabled_at_us AS disabled_at_us, s.disabled_reason AS disabled_reason
             FROM (SELECT name FROM destinations
                   UNION SELECT destination FROM outbox
                   UNION SELECT destination FROM dead_letters) n
             LEFT JOIN destinations s ON s.name = n.name
             ORDER BY n.name",
        )
        .fetch_all(self.pool())
        .await
        .map_err(err())?;
        rows.iter()
            .map(|row| {
                let get_i = |c: &str| row.try_get::<Option<i64>, _>(c).map_err(err());
                let get_s = |c: &str| row.try_get::<Option<String>, _>(c).map_err(err());
                let disabled_at = opt_time(get_i("disabled_at_us")?, "disabled_at")?;
                Ok(DestinationHealth {
                    destination: row.try_get("name").map_err(err())?,
                    backlog: get_i("backlog")?.unwrap_or(0).max(0) as u64,
                    oldest_queued_at: opt_time(get_i("oldest_queued_at_us")?, "queued_at")?,
                    dead_letters: get_i("dead_letters")?.unwrap_or(0).max(0) as u64,
                    failing_since: opt_time(get_i("failing_since_us")?, "failing_since")?,
                    last_error: get_s("last_error")?,
                    last_success_at: opt_time(get_i("last_success_at_us")?, "last_success_at")?,
                    disabled: disabled_at
                        .map(|at| {
                            Ok::<_, StoreError>((at, get_s("disabled_reason")?.unwrap_or_default()))
                        })
                        .transpose()?,
                })
            })
            .collect()
    }
}

/// Claims per transaction of a batched complete.
const COMPLETE_ROWS: usize = 1000;
