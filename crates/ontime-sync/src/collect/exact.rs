//! The exact fetch of one order, shared by every source (poll, inbound, reconcile): its status
//! history and its record, made into events with OnTime's times, drivers, tracking numbers and
//! items, and sorted against what the store holds.
//!
//! # Calls: at most two
//!
//! 1. The status history (`client.orders().timeline`), always.
//! 2. The order record (`client.orders().get`: `TrackingNumber`, `Items` with their own
//!    tracking numbers, `DriverCurrentlyAssigned`), unless the caller already holds it (the
//!    reconcile source fetched it to see whether anything changed) or it cannot matter (below).
//!
//! The governor must allow every call the fetch may need *before* the first one is made
//! ([`Governor::can_acquire`]); each call is then taken as it is made, so the governor's count
//! is the number of calls really spent.
//!
//! # Drivers per step: "the assigned driver when observed"
//!
//! OnTime's history names no driver. A step the store already holds (its status event is
//! stored, not provisional) keeps the driver its stored event recorded as actor, whatever the
//! record says now: a re-fetch never rewrites who did what. A step seen for the first time gets
//! the driver the record shows *now*, except at the levels where nobody is assigned (None,
//! Dispatched, UnassignedStored, Quoted), which get none. So when several changes with different
//! drivers happen between two fetches (A assigned, then B, both before the next fetch), every
//! new step gets the last driver (B): the actor is the driver assigned when the change was
//! observed, not necessarily when it was made, and a hand-over that happened and was undone
//! between two fetches is invisible. The more often an order is fetched (notifications, the
//! reconcile source), the closer the actor is to the truth. A driver change that left no status
//! entry yields no event; the next entry carries the new driver.
//!
//! The history is fetched first and the record second: a change made between the two calls
//! may give a new step the driver of that later change.
//!
//! # Skipping the record
//!
//! The record is not fetched when the history holds no new step (the order was fetched before:
//! a notification for a change a poll already stored costs one call), or when every new step
//! is at a level where nobody is assigned and that puts no parcel in anyone's hands (None,
//! Dispatched, Quoted; types other than delivered, picked up, in transit, transferred) **and**
//! a stored event already carries the order's tracking number. Such steps have no actor and no
//! custody events, and their tracking number is known: the record would change nothing.
//!
//! # History only (a short budget)
//!
//! A fetcher made with `history_only` never fetches the record: one call per order. The new
//! steps then get no driver (the actor stays unknown for good: a re-fetch keeps the stored
//! driver), no custody events, and only the tracking number a stored event already carries.
//! The poll uses it when the budget cannot cover two calls per change (see [`super::poll`]).
//!
//! # Items
//!
//! Custody events are derived for the new steps only, for the items the record lists now (each
//! with its own tracking number). Steps already stored get nothing new: an item added later is
//! not claimed to have been picked up with the others before it existed.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use ontime::types::Order;
use ontime::{OrderId, StatusId, UserId};

use super::governor::Governor;
use crate::event::{
    AccountConfig, Actor, Event, EventId, EventType, ItemRef, OrderSource, Reconciled, StatusStep,
    TimePrecision, derive_order_events, derive_status_events, is_provisional, reconcile,
};
use crate::store::{EventStore, StoreError};

/// What an exact fetch came to.
#[derive(Debug)]
pub(crate) enum Exact {
    /// The governor could not allow the calls the fetch may need: nothing was called.
    NoBudget,
    /// OnTime answered "not found": the order was deleted. No events.
    Gone {
        /// Calls spent (1 or 2).
        calls: u64,
    },
    /// The order's events, sorted against the stored ones.
    Derived {
        /// New events and upgrades of provisional ones.
        sorted: Reconciled,
        /// Calls spent (1 or 2).
        calls: u64,
    },
}

/// OnTime level codes where no driver is assigned.
const NONE: i64 = 0;
const DISPATCHED: i64 = 1;
const UNASSIGNED_STORED: i64 = 8;
const QUOTED: i64 = 9;

/// Whether nobody is assigned at `level`.
fn driverless(level: Option<i64>) -> bool {
    matches!(level, Some(NONE | DISPATCHED | UNASSIGNED_STORED | QUOTED))
}

/// What a source reaches OnTime and the store with, for exact fetches.
pub(crate) struct Fetcher<'a, S> {
    pub(crate) client: &'a ontime::Client,
    pub(crate) store: &'a S,
    pub(crate) account: &'a AccountConfig,
    /// Fetch the history alone, never the record (a short budget: one call per order). New
    /// steps then carry no driver and no custody events, and keep the stored tracking number.
    pub(crate) history_only: bool,
}

impl<S: EventStore> Fetcher<'_, S> {
    /// The order's stored events, in sequence order.
    pub(crate) async fn stored(&self, order: OrderId) -> Result<Vec<Event>, StoreError> {
        let subject = Event::order_subject(order);
        let stored = self.store.timeline(&self.account.account, &subject).await?;
        Ok(stored.into_iter().map(|s| s.event).collect())
    }

    /// Fetches `order`'s history (and its record unless `record` is given or it cannot
    /// matter), derives its events and sorts them against `stored` (the order's stored
    /// events, [`stored`](Self::stored)). See the [module documentation](self).
    pub(crate) async fn exact(
        &self,
        order: OrderId,
        record: Option<&Order>,
        stored: &[Event],
        governor: &mut Governor,
        now: DateTime<Utc>,
    ) -> Result<Exact, ontime::Error> {
        let (client, account) = (self.client, self.account);
        let most = if record.is_some() || self.history_only {
            1
        } else {
            2
        };
        if !governor.can_acquire(most, now) || !governor.try_acquire(1, now) {
            return Ok(Exact::NoBudget);
        }
        let mut calls = 1;
        let history = match client.orders().timeline(order).await {
            Ok(history) => history,
            Err(ontime::Error::NotFound { .. }) => return Ok(Exact::Gone { calls }),
            Err(error) => return Err(error),
        };
        let known = StoredSteps::new(stored);
        let tracking_stored = stored
            .iter()
            .find_map(|e| e.order.as_ref().and_then(|o| o.tracking_number.clone()));

        // Which steps are stored (and with which driver), from their ids: ids never depend on
        // drivers, so a derivation with the stored drivers alone names every step.
        let mut steps: Vec<StatusStep> = history
            .into_iter()
            .map(|status| StatusStep {
                status,
                driver: None,
                observed_at: now,
            })
            .collect();
        let mut source = OrderSource {
            order_id: order,
            tracking_number: tracking_stored.clone(),
            items: Vec::new(),
            steps: steps.clone(),
        };
        let mut kept: Vec<Option<Option<UserId>>> = Vec::with_capacity(steps.len());
        for event in derive_status_events(account, &source) {
            let driver = known.driver_of(&event);
            if let Some(driver) = driver {
                // Later steps are classified against the stored drivers.
                source.steps[kept.len()].driver = driver;
            }
            kept.push(driver);
        }
        let preview = derive_status_events(account, &source);
        let new_steps: Vec<&Event> = preview
            .iter()
            .zip(&kept)
            .filter(|(_, kept)| kept.is_none())
            .map(|(event, _)| event)
            .collect();
        if new_steps.is_empty() {
            return Ok(Exact::Derived {
                sorted: Reconciled::default(),
                calls,
            });
        }
        let needs_record = tracking_stored.is_none() || !new_steps.iter().all(|e| record_moot(e));

        let fetched;
        let record = match record {
            Some(record) => Some(record),
            None if needs_record && !self.history_only => {
                if !governor.try_acquire(1, now) {
                    // Not reached (both calls were allowed above); without the record the drivers
                    // would be stored wrong for good, so nothing is derived.
                    return Ok(Exact::NoBudget);
                }
                calls += 1;
                fetched = match client.orders().get(order).await {
                    Ok(record) => record,
                    Err(ontime::Error::NotFound { .. }) => return Ok(Exact::Gone { calls }),
                    Err(error) => return Err(error),
                };
                Some(&fetched)
            }
            None => None,
        };

        let driver_now = record.and_then(|r| r.driver_currently_assigned);
        for (step, kept) in steps.iter_mut().zip(&kept) {
            step.driver = match kept {
                Some(driver) => *driver,
                None if driverless(step.status.level.as_ref().and_then(|l| l.code())) => None,
                None => driver_now,
            };
        }
        let source = OrderSource {
            order_id: order,
            tracking_number: record
                .and_then(|r| r.tracking_number.clone())
                .or(tracking_stored),
            items: record
                .and_then(|r| r.items.as_ref())
                .map(|items| items.iter().filter_map(ItemRef::from_item).collect())
                .unwrap_or_default(),
            steps,
        };
        // Only the new steps' events (status and custody): the stored ones are in the store.
        let mut step = None::<usize>;
        let derived: Vec<Event> = derive_order_events(account, &source)
            .into_iter()
            .filter(|event| {
                if event.custody.is_none() {
                    step = Some(step.map_or(0, |s| s + 1));
                }
                step.is_some_and(|s| kept.get(s).is_some_and(Option::is_none))
            })
            .collect();
        Ok(Exact::Derived {
            sorted: reconcile(derived, stored),
            calls,
        })
    }
}

/// Whether the record cannot change what a new step yields: a level where nobody is assigned,
/// and a type that moves no parcel.
fn record_moot(event: &Event) -> bool {
    let level = event.ontime.as_ref().and_then(|o| o.level_code);
    matches!(level, Some(NONE | DISPATCHED | QUOTED))
        && !matches!(
            event.event_type,
            EventType::OrderDelivered
                | EventType::OrderPickedUp
                | EventType::OrderInTransit
                | EventType::OrderTransferred
        )
}

/// The drivers the store recorded for an order's status entries (exact status events only:
/// a provisional event names no entry and no driver).
pub(crate) struct StoredSteps {
    by_id: HashMap<EventId, Option<UserId>>,
    by_status: HashMap<StatusId, Option<UserId>>,
    by_anonymous: HashMap<(Option<i64>, i64), Option<UserId>>,
}

impl StoredSteps {
    /// The stored status events of one order's `stored` events.
    pub(crate) fn new(stored: &[Event]) -> Self {
        let mut steps = Self {
            by_id: HashMap::new(),
            by_status: HashMap::new(),
            by_anonymous: HashMap::new(),
        };
        for event in stored {
            let Some(ontime) = event
                .ontime
                .as_ref()
                .filter(|_| event.custody.is_none() && event.order.is_some())
            else {
                continue;
            };
            if is_provisional(event) {
                continue;
            }
            let driver = event.actor.as_ref().map(|Actor::Driver { id }| *id);
            steps.by_id.insert(event.event_id.clone(), driver);
            match ontime.status_id {
                Some(id) => {
                    steps.by_status.insert(id, driver);
                }
                None if event.time_precision == TimePrecision::Exact => {
                    let key = (ontime.level_code, event.occurred_at.timestamp_micros());
                    steps.by_anonymous.insert(key, driver);
                }
                None => {}
            }
        }
        steps
    }

    /// `Some(driver)` when the entry `event` was derived from is stored (the driver its stored
    /// event recorded), `None` when it is new.
    pub(crate) fn driver_of(&self, event: &Event) -> Option<Option<UserId>> {
        if let Some(driver) = self.by_id.get(&event.event_id) {
            return Some(*driver);
        }
        let ontime = event.ontime.as_ref()?;
        match ontime.status_id {
            Some(id) => self.by_status.get(&id).copied(),
            None => self
                .by_anonymous
                .get(&(ontime.level_code, event.occurred_at.timestamp_micros()))
                .copied(),
        }
    }

    /// `Some(driver)` when the status entry `status` is stored (with the driver recorded).
    pub(crate) fn driver_of_status(&self, status: StatusId) -> Option<Option<UserId>> {
        self.by_status.get(&status).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(id: &str, level: i64, at: &str) -> ontime::types::Status {
        serde_json::from_value(serde_json::json!({"ID": id, "Level": level, "Timestamp": at}))
            .unwrap()
    }

    #[test]
    fn stored_steps_are_found_by_id_by_status_entry_and_anonymous_ones_by_level_and_time() {
        let account = AccountConfig::new("acme", chrono_tz::UTC);
        let order = OrderId::new_random();
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let driver = UserId::from(uuid::Uuid::from_u128(7));
        let source = |steps: &[ontime::types::Status], driver: Option<UserId>| OrderSource {
            order_id: order,
            tracking_number: None,
            items: Vec::new(),
            steps: steps
                .iter()
                .map(|status| StatusStep {
                    status: status.clone(),
                    driver,
                    observed_at: now,
                })
                .collect(),
        };
        let nil = "00000000-0000-0000-0000-000000000000";
        let assigned = status(
            "3f2c1a7e-0000-4000-8000-000000000001",
            6,
            "2026-01-15T09:00:00",
        );
        let anonymous = status(nil, 2, "2026-01-15T09:30:00");
        let stored = derive_status_events(
            &account,
            &source(&[assigned.clone(), anonymous.clone()], Some(driver)),
        );
        let steps = StoredSteps::new(&stored);
        assert_eq!(
            steps.driver_of_status(assigned.id.unwrap()),
            Some(Some(driver))
        );
        for event in derive_status_events(
            &account,
            &source(&[assigned.clone(), anonymous.clone()], None),
        ) {
            assert_eq!(steps.driver_of(&event), Some(Some(driver)), "same ids");
        }
        // An earlier entry arrives late: the anonymous entry's position (part of its id)
        // changes, its level and time do not.
        let late = status(
            "3f2c1a7e-0000-4000-8000-000000000002",
            1,
            "2026-01-15T08:00:00",
        );
        let longer = derive_status_events(&account, &source(&[late, assigned, anonymous], None));
        assert_ne!(longer[2].event_id, stored[1].event_id);
        assert_eq!(steps.driver_of(&longer[0]), None, "new");
        assert_eq!(steps.driver_of(&longer[2]), Some(Some(driver)));
    }

    #[test]
    fn the_record_is_moot_only_for_driverless_levels_that_move_no_parcel() {
        let account = AccountConfig::new("acme", chrono_tz::UTC);
        let order = OrderId::new_random();
        let event = |level: i64, label: &str| {
            let mut status = status(
                "3f2c1a7e-0000-4000-8000-000000000001",
                level,
                "2026-01-15T09:00:00",
            );
            status.name = Some(label.to_owned());
            let source = OrderSource {
                order_id: order,
                tracking_number: None,
                items: Vec::new(),
                steps: vec![StatusStep {
                    status,
                    driver: None,
                    observed_at: DateTime::<Utc>::UNIX_EPOCH,
                }],
            };
            derive_status_events(&account, &source).remove(0)
        };
        assert!(record_moot(&event(1, "Submitted")));
        assert!(record_moot(&event(0, "Entered")));
        assert!(
            !record_moot(&event(1, "Picked up")),
            "a label that moves parcels"
        );
        assert!(!record_moot(&event(6, "Assigned")), "a driver is assigned");
        assert!(
            !record_moot(&event(8, "Unassigned")),
            "storage holds the parcels"
        );
        assert!(
            !record_moot(&event(4, "Canceled")),
            "the actor is the assigned driver"
        );
    }
}
