//! User actions: sign-in check, availability and positions.

use chrono::SubsecRound;
use ontime_raw::index::Operation;
use ontime_raw::lenient::DateTimeOffset;
use ontime_raw::types::{self, UserAvailability, UserPosition};

use crate::actions::{Probe, applied, send_resolved};
use crate::error::found;
use crate::filters::PositionFilter;
use crate::resource::Resource;
use crate::retry::Idempotency;
use crate::{Error, Result};
use ontime_raw::ids::*;

/// Whether a stored position is the one `sent` reported.
fn is_position_of(stored: &UserPosition, sent: &UserPosition) -> bool {
    let close = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() < 1e-9,
        (None, _) => true,
        (Some(_), None) => false,
    };
    stored.user_id == sent.user_id
        && close(sent.latitude, stored.latitude)
        && close(sent.longitude, stored.longitude)
        && sent
            .timestamp
            // A time with an offset may be stored converted to account-local time: match it
            // only when it was sent as a wall-clock value.
            .filter(|t| t.offset() == DateTimeOffset::Unspecified)
            .is_none_or(|t| {
                stored.timestamp.is_some_and(|s| {
                    s.naive_local().trunc_subsecs(0) == t.naive_local().trunc_subsecs(0)
                })
            })
}

impl Resource<types::User> {
    /// Checks a user's sign-in name and password: the user's identifier, or `None` when they
    /// match no user.
    pub async fn authenticate(&self, user_name: &str, password: &str) -> Result<Option<UserId>> {
        let raw = self.client.raw();
        let id = self
            .client
            .call(
                Operation::UsersAuthenticate,
                Idempotency::Idempotent,
                || {
                    raw.users_authenticate()
                        .user_name(user_name)
                        .password(password)
                        .send()
                },
            )
            .await?;
        Ok(id.map(UserId::from))
    }

    /// Whether the user is available as a driver now.
    pub async fn availability(&self, user: UserId) -> Result<UserAvailability> {
        let raw = self.client.raw();
        self.client
            .call(Operation::UserAvailability, Idempotency::Idempotent, || {
                raw.user_availability().user_id(user.as_uuid()).send()
            })
            .await
    }

    /// Records a user's availability. OnTime's `false` (not applied) is [`Error::BadRequest`].
    pub async fn update_availability(&self, availability: UserAvailability) -> Result<()> {
        let raw = self.client.raw();
        self.client
            .call(
                Operation::UserUpdateAvailability,
                Idempotency::Idempotent,
                || {
                    raw.user_update_availability()
                        .body(availability.clone())
                        .send()
                },
            )
            .await
            .and_then(|answer| {
                applied(Operation::UserUpdateAvailability, answer, || {
                    "the availability change".to_string()
                })
            })
    }

    /// Reported positions matching `filter`, oldest first (sorted by timestamp here; equal or
    /// missing timestamps keep the server's order, those without one first).
    pub async fn positions(&self, filter: PositionFilter) -> Result<Vec<UserPosition>> {
        filter.check(Operation::UserPositions)?;
        let raw = self.client.raw();
        let mut positions = self
            .client
            .call(Operation::UserPositions, Idempotency::Idempotent, || {
                filter.apply(raw.user_positions()).send()
            })
            .await?;
        positions.sort_by_key(|p| p.timestamp);
        Ok(positions)
    }

    /// The user's most recent position, or `None` when none was reported.
    pub async fn latest_position(&self, user: UserId) -> Result<Option<UserPosition>> {
        let raw = self.client.raw();
        let result = self
            .client
            .call(
                Operation::UserPositionLatest,
                Idempotency::Idempotent,
                || raw.user_position_latest().user_id(user.as_uuid()).send(),
            )
            .await;
        found(result)
    }

    /// Reports a position (the body's `UserID` names the user).
    ///
    /// A blind repeat would record it twice. Before sending, this counts the user's stored
    /// positions with the same coordinates (and time, when one is given without offset): one
    /// more read. When the answer is lost it counts again: one more means applied (`Ok`); none
    /// more after a dropped connection or a failing gateway means not applied, and the report
    /// is sent once more; otherwise the result is [`Error::OutcomeUnknown`].
    pub async fn report_position(&self, position: UserPosition) -> Result<()> {
        let Some(user) = position.user_id else {
            return Err(Error::InvalidRequest {
                operation: Operation::UserUpdatePosition,
                message: "the position needs the user's ID (UserID)".into(),
            });
        };
        let filter = || {
            let mut filter = PositionFilter::new().user(user);
            if let Some(t) = position
                .timestamp
                .filter(|t| t.offset() == DateTimeOffset::Unspecified)
            {
                filter = filter.from(t).to(t);
            }
            filter
        };
        let count = |stored: Vec<UserPosition>| {
            stored
                .iter()
                .filter(|p| is_position_of(p, &position))
                .count()
        };
        let before = count(self.positions(filter()).await?);
        let raw = self.client.raw();
        let sent = || {
            format!(
                "user {user}: position {:?}, {:?}{}",
                position.latitude,
                position.longitude,
                position
                    .timestamp
                    .map(|t| format!(" at {t}"))
                    .unwrap_or_default()
            )
        };
        let answer = send_resolved(
            Operation::UserUpdatePosition,
            sent,
            || {
                self.client.call(
                    Operation::UserUpdatePosition,
                    Idempotency::NonIdempotent,
                    || raw.user_update_position().body(position.clone()).send(),
                )
            },
            || async {
                let after = count(self.positions(filter()).await?);
                Ok(if after > before {
                    Probe::Applied(true)
                } else {
                    Probe::NotApplied
                })
            },
        )
        .await?;
        applied(Operation::UserUpdatePosition, answer, || {
            format!("the position report of user {user}")
        })
    }
}
