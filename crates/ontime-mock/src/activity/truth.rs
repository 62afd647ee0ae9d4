//! The ground truth: every change the activity made, in the order it made them
//! ([`TruthChange`]), and the NDJSON file it can be appended to as it runs.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One change the activity made to the account, as the API shows it afterwards.
///
/// Serialised (one JSON object a line in the truth file) as
/// `{"seq":1,"at":"2024-05-15T10:31:07","change":{"kind":"order_status",...}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TruthChange {
    /// The change's number, from 1, without gaps, in the order the changes were made.
    pub seq: u64,
    /// When it happened: account-local, whole seconds, exactly as the API shows it (the status
    /// entry's `Timestamp`, the position's `Timestamp`, the availability's `LastStatusChange`).
    pub at: NaiveDateTime,
    /// What changed.
    pub change: Change,
}

/// What one [`TruthChange`] changed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Change {
    /// A new status entry of an order (`GET api/orderStatusChanges/{order}` lists it; the
    /// order's `Status`, `StatusLevel` and drivers were updated with it).
    OrderStatus {
        /// The order's ID.
        order: Uuid,
        /// The order's tracking number.
        tracking_number: String,
        /// The status entry's own `ID`.
        status_id: Uuid,
        /// The entry's `Level` (OnTime's code: 1 Dispatched, 2 AssignedInRoute, 3 Delivered,
        /// 4 Cancelled, 5 CancelledBillable, 6 Assigned, 8 UnassignedStored, ...).
        level: i64,
        /// The entry's `Name` (its label, e.g. "Picked Up" or "Attempted - Not Home").
        label: String,
        /// The order's `DriverCurrentlyAssigned` after the change.
        driver: Option<Uuid>,
        /// Which lifecycle step this was.
        step: Step,
    },
    /// A driver went on shift (`available`) or off it: `GET api/user/availability/{user}` shows
    /// `IsAvailable` = `available` and `LastStatusChange` = `at`.
    Availability {
        /// The driver's user ID.
        user: Uuid,
        /// The new `IsAvailable`.
        available: bool,
    },
    /// A driver reported a position: `GET api/user/position` lists it with `Timestamp` = `at`.
    Position {
        /// The driver's user ID.
        user: Uuid,
        /// `Latitude` (5 decimals, as stored).
        latitude: f64,
        /// `Longitude` (5 decimals, as stored).
        longitude: f64,
    },
}

/// The lifecycle step of an order status change.
///
/// Levels and labels the activity uses for each (the label is the entry's `Name`), and the
/// type `ontime-sync`'s mapping table gives such an entry (a transfer is recognised by the
/// driver changing, an unassignment by the driver going):
///
/// | Step | Level | Labels | ontime-sync type |
/// |---|---|---|---|
/// | `Created` | 1 | "Submitted" (the entry `POST api/order/post` makes) | `order.submitted` |
/// | `Assigned` | 6 | "Assigned" (also a reassignment after `Unassigned`) | `order.assigned` |
/// | `Unassigned` | 8 or 1 | "Unassigned", "Awaiting Driver" | `order.unassigned` |
/// | `PickedUp` | 2 | "Picked Up" | `order.picked_up` |
/// | `InTransit` | 2 | "In Transit", or "Out for Delivery" for a second attempt | `order.in_transit` |
/// | `Transferred` | 2 | "Transferred" (`DriverCurrentlyAssigned` changes) | `order.transferred` |
/// | `Delivered` | 3 | "Delivered" (with a delivery signature and a photo attachment) | `order.delivered` |
/// | `Exception` | 2 | "Attempted - Not Home", "Delivery Failed - Business Closed", "Refused by Recipient" | `order.exception` |
/// | `Exception` | 3 | "Returned to Sender" (the order ends returned, not delivered) | `order.exception` |
/// | `Cancelled` | 4 or 5 | "Canceled" before assignment, "Canceled (Billable)" after it | `order.cancelled` |
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// The order was created (its first status entry).
    Created,
    /// A driver was assigned.
    Assigned,
    /// The driver was taken off the order (it waits for another).
    Unassigned,
    /// The driver collected the items.
    PickedUp,
    /// On the way (a same-level label change after pickup, or a new attempt).
    InTransit,
    /// Another driver took the order over mid-route.
    Transferred,
    /// Delivered.
    Delivered,
    /// A failed attempt, or the final return to the sender.
    Exception,
    /// Cancelled before pickup.
    Cancelled,
}

impl Change {
    /// The order a status change is about.
    pub fn order(&self) -> Option<Uuid> {
        match self {
            Change::OrderStatus { order, .. } => Some(*order),
            _ => None,
        }
    }
}

/// Appends truth changes to an NDJSON file, one line each, flushed as written.
#[derive(Debug)]
pub(crate) struct TruthFile {
    path: PathBuf,
    file: File,
}

impl TruthFile {
    /// Opens (creates, or appends to) `path`.
    pub(crate) fn open(path: &Path) -> std::io::Result<Self> {
        let file = File::options().create(true).append(true).open(path)?;
        Ok(Self {
            path: path.to_owned(),
            file,
        })
    }

    /// Appends one change as a line (one write, so a reader never sees half a line unless
    /// the disk fills up).
    pub(crate) fn append(&mut self, change: &TruthChange) {
        let mut line = match serde_json::to_vec(change) {
            Ok(line) => line,
            Err(e) => {
                tracing::error!(error = %e, "cannot serialise a truth change");
                return;
            }
        };
        line.push(b'\n');
        if let Err(e) = self.file.write_all(&line).and_then(|()| self.file.flush()) {
            tracing::error!(path = %self.path.display(), error = %e, seq = change.seq,
                "cannot append to the truth file");
        }
    }
}
