//! The driver source: availability changes and position history, per driver.
//!
//! Each collection round, for every configured driver, through the [`Governor`]:
//!
//! - **Availability** (one call, `users().availability`): when `IsAvailable` or `CurrentStatus`
//!   differs from the state stored in the driver's cursor (or no state is stored yet), a
//!   `driver.availability_changed` event. Its time is OnTime's `LastStatusChange` when given
//!   (precision exact; the id is keyed on that time and the new state, so seeing the same
//!   change again yields the same id); without it, the round's `now` (precision observed, the
//!   id keyed on `now`: deterministic for a replay of the same round, not across rounds).
//! - **Positions** (one call, `users().positions` over a window): when
//!   [`DriverConfig::position_interval`] has passed since the end of the last window, the
//!   positions from that end (the first time: [`DriverConfig::first_window`] back) to `now`,
//!   each a `driver.position` event with the id over (account, driver, timestamp, latitude,
//!   longitude): the window's ends are inclusive, so a position on the boundary is seen twice
//!   and stored once. Positions without a timestamp or coordinates, or with coordinates that are
//!   no place on Earth, are logged and skipped.
//!
//! A driver's events and its new cursor (`{prefix}{driver}`) are committed in one transaction,
//! events in time order, so the per-driver sequence follows the times within a round. A driver
//! whose calls the governor does not allow now keeps its cursor and is tried the next round.
//!
//! # Limits
//!
//! - A poll sees the availability now, not its path: changes that end where they started
//!   between two rounds are invisible.
//! - A position reported late, with a timestamp before the window's start, is missed.

use chrono::{DateTime, Offset, TimeDelta, Utc};
use ontime::{OnTimeDateTime, PositionFilter, UserId};
use serde::{Deserialize, Serialize};

use super::CollectError;
use super::governor::Governor;
use crate::event::{AccountConfig, Event, TimePrecision, availability_event, position_event};
use crate::store::{Commit, EventStore, Fence};

/// Which drivers are watched, how often their positions are fetched, where events go.
#[derive(Clone, Debug, PartialEq)]
pub struct DriverConfig {
    /// The drivers watched.
    pub drivers: Vec<UserId>,
    /// The least time between two position windows of a driver.
    pub position_interval: TimeDelta,
    /// How far back the first window of a driver reaches.
    pub first_window: TimeDelta,
    /// The prefix of the per-driver cursor names.
    pub cursor_prefix: String,
    /// Destinations whose outbox gets the new events.
    pub destinations: Vec<String>,
    /// The lease the commits are made under (many workers: see [`crate::store::lease`]); a
    /// commit whose lease was taken over fails with
    /// [`StoreError::LeaseLost`](crate::store::StoreError::LeaseLost) and writes nothing.
    pub fence: Option<Fence>,
}

impl DriverConfig {
    /// `drivers`, positions every 5 minutes, the first window 1 hour back, cursors `driver/…`.
    pub fn new(drivers: Vec<UserId>) -> Self {
        Self {
            drivers,
            position_interval: TimeDelta::minutes(5),
            first_window: TimeDelta::hours(1),
            cursor_prefix: "driver/".to_owned(),
            destinations: Vec::new(),
            fence: None,
        }
    }
}

/// What is remembered of one driver between rounds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriverCursor {
    /// `IsAvailable` at the last availability call (`None`: not known yet).
    pub available: Option<bool>,
    /// `CurrentStatus` at the last availability call.
    pub status: Option<String>,
    /// Whether an availability was seen at all.
    pub seen: bool,
    /// The end of the last position window.
    pub positions_until: Option<DateTime<Utc>>,
}

/// What a round did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DriverReport {
    /// Drivers whose availability changed (an event was offered).
    pub availability_changed: Vec<UserId>,
    /// Positions offered (stored or already stored).
    pub positions: usize,
    /// Positions skipped (no time, no coordinates, or no place on Earth).
    pub skipped: usize,
    /// Events newly stored.
    pub stored: usize,
    /// OnTime calls spent.
    pub calls: u64,
    /// Drivers with a call the governor did not allow now.
    pub deferred: Vec<UserId>,
}

/// The driver source of one account (see the [module documentation](self)).
#[derive(Clone, Debug)]
pub struct Drivers<S> {
    client: ontime::Client,
    store: S,
    account: AccountConfig,
    config: DriverConfig,
}

impl<S: EventStore> Drivers<S> {
    /// The driver source of `account`.
    pub fn new(
        client: ontime::Client,
        store: S,
        account: AccountConfig,
        config: DriverConfig,
    ) -> Self {
        Self {
            client,
            store,
            account,
            config,
        }
    }

    routing!(DriverConfig);

    /// One round over every configured driver.
    pub async fn collect(
        &self,
        governor: &mut Governor,
        now: DateTime<Utc>,
    ) -> Result<DriverReport, CollectError> {
        let mut report = DriverReport::default();
        for driver in &self.config.drivers {
            self.driver(*driver, governor, now, &mut report).await?;
        }
        // What the server says is left (others may use the account too) paces the next round.
        governor.observe(&self.client.quota(), now);
        Ok(report)
    }

    async fn driver(
        &self,
        driver: UserId,
        governor: &mut Governor,
        now: DateTime<Utc>,
        report: &mut DriverReport,
    ) -> Result<(), CollectError> {
        let account = &self.account.account;
        let name = format!("{}{driver}", self.config.cursor_prefix);
        let before: DriverCursor = super::load_cursor(&self.store, account, &name).await?;
        let mut cursor = before.clone();
        let mut events = Vec::new();
        let mut deferred = false;

        if governor.try_acquire(1, now) {
            report.calls += 1;
            match self.client.users().availability(driver).await {
                Ok(now_state) => {
                    let changed = !before.seen
                        || now_state.is_available != before.available
                        || now_state.current_status != before.status;
                    if changed && let Some(available) = now_state.is_available {
                        events.push(availability(
                            &self.account,
                            driver,
                            available,
                            &now_state,
                            now,
                        ));
                        report.availability_changed.push(driver);
                    }
                    cursor.seen = true;
                    cursor.available = now_state.is_available;
                    cursor.status = now_state.current_status;
                }
                // No availability recorded for this driver: nothing to report.
                Err(ontime::Error::NotFound { .. }) => {}
                Err(error) => return Err(error.into()),
            }
        } else {
            deferred = true;
        }

        let due = before
            .positions_until
            .is_none_or(|until| now - until >= self.config.position_interval);
        if due {
            if governor.try_acquire(1, now) {
                report.calls += 1;
                let from = before
                    .positions_until
                    .unwrap_or(now - self.config.first_window);
                let local = |at: DateTime<Utc>| {
                    OnTimeDateTime::from(at.with_timezone(&self.account.time_zone).naive_local())
                };
                let filter = PositionFilter::new()
                    .user(driver)
                    .from(local(from))
                    .to(local(now));
                for position in self.client.users().positions(filter).await? {
                    let (Some(at), Some(lat), Some(lon)) =
                        (position.timestamp, position.latitude, position.longitude)
                    else {
                        tracing::warn!(%driver, "position without time or coordinates skipped");
                        report.skipped += 1;
                        continue;
                    };
                    match position_event(&self.account, driver, lat, lon, at, now) {
                        Ok(event) => {
                            events.push(event);
                            report.positions += 1;
                        }
                        Err(error) => {
                            tracing::warn!(%driver, %error, "position skipped");
                            report.skipped += 1;
                        }
                    }
                }
                cursor.positions_until = Some(now);
            } else {
                deferred = true;
            }
        }
        if deferred {
            report.deferred.push(driver);
        }
        if cursor == before && events.is_empty() {
            return Ok(());
        }
        events.sort_by_key(|e| e.occurred_at);
        let mut commit = Commit::new(account.clone()).events(events);
        commit.destinations = self.config.destinations.clone();
        commit.fence = self.config.fence.clone();
        let value =
            serde_json::to_value(&cursor).map_err(|source| CollectError::cursor(&name, source))?;
        let outcome = self.store.commit(commit.cursor(name, value)).await?;
        report.stored += outcome.stored.len();
        Ok(())
    }
}

/// `driver.availability_changed` for a driver whose availability is now `state` (and
/// `available`): at OnTime's `LastStatusChange` when given (exact), else at `now` in the
/// account's zone (observed).
fn availability(
    account: &AccountConfig,
    driver: UserId,
    available: bool,
    state: &ontime::types::UserAvailability,
    now: DateTime<Utc>,
) -> Event {
    let (at, precision) = match state.last_status_change.filter(|t| !t.is_unset()) {
        Some(at) => (at, TimePrecision::Exact),
        None => {
            let local = now.with_timezone(&account.time_zone);
            let at = OnTimeDateTime::from(local.with_timezone(&local.offset().fix()));
            (at, TimePrecision::Observed)
        }
    };
    let status = state.current_status.clone();
    Event {
        time_precision: precision,
        ..availability_event(account, driver, available, status, at, now)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn availability_is_exact_at_the_last_status_change_else_observed_now_in_the_zone() {
        let account = AccountConfig::new("acme", chrono_tz::America::Chicago);
        let driver = UserId::from(uuid::Uuid::from_u128(7));
        let now = Utc.with_ymd_and_hms(2026, 1, 15, 15, 0, 0).unwrap();
        let mut state: ontime::types::UserAvailability = serde_json::from_value(
            serde_json::json!({"IsAvailable": false, "CurrentStatus": "Lunch",
                               "LastStatusChange": "2026-01-15T08:55:00"}),
        )
        .unwrap();
        let exact = availability(&account, driver, false, &state, now);
        assert_eq!(exact.time_precision, TimePrecision::Exact);
        assert_eq!(exact.occurred_at.to_rfc3339(), "2026-01-15T08:55:00-06:00");
        let later = availability(&account, driver, false, &state, now + TimeDelta::hours(1));
        assert_eq!(
            later.event_id, exact.event_id,
            "the same change seen later: the same id"
        );
        assert_eq!(later.occurred_at, exact.occurred_at);

        state.last_status_change = None;
        let observed = availability(&account, driver, false, &state, now);
        assert_eq!(observed.time_precision, TimePrecision::Observed);
        assert_eq!(
            observed.occurred_at.to_rfc3339(),
            "2026-01-15T09:00:00-06:00"
        );
        assert_ne!(observed.event_id, exact.event_id);
    }
}
