//! Status changes: the order's timeline and [`update_status`](Resource::update_status).

use ontime_raw::index::Operation;
use ontime_raw::lenient::{OnTimeDateTime, StatusLevel};
use ontime_raw::types::{Order, Status};

use super::OrderRef;
use crate::actions::{Probe, send_resolved};
use crate::resource::Resource;
use crate::retry::Idempotency;
use crate::{Error, Result};
use ontime_raw::ids::*;

/// A new status for [`update_status`](Resource::update_status).
#[derive(Clone, Debug, PartialEq)]
pub struct StatusChange {
    level: StatusLevel,
    label: Option<String>,
    at: Option<OnTimeDateTime>,
    record: Option<Status>,
}

impl StatusChange {
    /// Change to `level`, now, with no label.
    pub fn new(level: StatusLevel) -> Self {
        Self {
            level,
            label: None,
            at: None,
            record: None,
        }
    }
    /// Records this label with the change.
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }
    /// Records the change as having happened at this time (default: now, per the server).
    pub fn at(mut self, at: impl Into<OnTimeDateTime>) -> Self {
        self.at = Some(at.into());
        self
    }
    /// Sends this `Status` record as the request body, for details of the change beyond level,
    /// label and time (such as a description). Without it the body is an empty record.
    pub fn record(mut self, record: Status) -> Self {
        self.record = Some(record);
        self
    }
}

/// Whether a timeline entry is the one `change` makes.
fn is_entry_of(status: &Status, change: &StatusChange) -> bool {
    let record = change.record.as_ref();
    let level = Some(&change.level);
    let level_ok = status.level.as_ref() == level;
    let label = change
        .label
        .as_ref()
        .or_else(|| record.and_then(|r| r.name.as_ref()));
    let label_ok = label.is_none_or(|l| status.name.as_ref() == Some(l));
    let description = record.and_then(|r| r.description.as_ref());
    let description_ok = description.is_none_or(|d| status.description.as_ref() == Some(d));
    level_ok && label_ok && description_ok
}

impl Resource<Order> {
    /// Every status the order has had, oldest first (sorted by timestamp here, whatever order
    /// the server lists them in; entries with equal or missing timestamps keep the server's
    /// order, those without a timestamp first).
    pub async fn timeline(&self, order: OrderId) -> Result<Vec<Status>> {
        let raw = self.client.raw();
        let mut statuses = self
            .client
            .call(
                Operation::OrderStatusChanges,
                Idempotency::Idempotent,
                || raw.order_status_changes().order_id(order.as_uuid()).send(),
            )
            .await?;
        statuses.sort_by_key(|s| s.timestamp);
        Ok(statuses)
    }

    /// Sets a new status (appended to the order's timeline). The order is named by ID or by
    /// tracking number (resolved first, see [`resolve`](Self::resolve)); the change is sent by
    /// ID.
    ///
    /// A repeat would append a second entry, so this is never retried blindly. Before sending,
    /// it counts the timeline entries that look like this change (same level, label and
    /// description): one more read. When the answer is lost (cut off, malformed, timed out,
    /// connection dropped) it reads the timeline again: one entry more means applied (`Ok`);
    /// none more after a dropped connection or a failing gateway means not applied, and the
    /// change is sent once more; otherwise the result is [`Error::OutcomeUnknown`]. An identical
    /// change someone else makes in the same moment cannot be told apart from this one.
    ///
    /// ```
    /// use ontime::{StatusChange, StatusLevel};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let simulator = ontime_mock::OnTimeMock::builder().seed(3).orders(5).start().await?;
    /// # let client = ontime::Client::builder().base_url(simulator.base_url()).api_key(simulator.api_key()).build()?;
    /// let orders = client.orders();
    /// let id = orders
    ///     .update_status("1000002", StatusChange::new(StatusLevel::AssignedInRoute).label("Van 4"))
    ///     .await?; // the order's ID
    /// let timeline = orders.timeline(id).await?; // oldest first
    /// assert_eq!(timeline.last().and_then(|s| s.level.clone()), Some(StatusLevel::AssignedInRoute));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn update_status(
        &self,
        order: impl Into<OrderRef>,
        change: StatusChange,
    ) -> Result<OrderId> {
        let id = self.resolve(order).await?;
        let count =
            |timeline: Vec<Status>| timeline.iter().filter(|s| is_entry_of(s, &change)).count();
        let before = count(self.timeline(id).await?);
        let raw = self.client.raw();
        let sent = || {
            let mut text = format!("order {id}: status {:?}", change.level);
            if let Some(label) = &change.label {
                text.push_str(&format!(" labelled {label:?}"));
            }
            if let Some(at) = &change.at {
                text.push_str(&format!(" at {at}"));
            }
            text
        };
        let changed = send_resolved(
            Operation::OrderUpdateStatus,
            sent,
            || {
                self.client.call(
                    Operation::OrderUpdateStatus,
                    Idempotency::NonIdempotent,
                    || {
                        let mut b = raw
                            .order_update_status()
                            .id(id.as_uuid())
                            .detail(change.level.clone());
                        if let Some(label) = &change.label {
                            b = b.label(label.clone());
                        }
                        if let Some(at) = change.at {
                            b = b.date(at);
                        }
                        if let Some(record) = &change.record {
                            b = b.body(record.clone());
                        }
                        b.send()
                    },
                )
            },
            || async {
                let after = count(self.timeline(id).await?);
                Ok(if after > before {
                    Probe::Applied(true)
                } else {
                    Probe::NotApplied
                })
            },
        )
        .await?;
        if !changed {
            return Err(Error::BadRequest {
                operation: Operation::OrderUpdateStatus,
                message: Some(format!(
                    "OnTime answered false: the status of order {id} was not changed"
                )),
            });
        }
        Ok(id)
    }
}
