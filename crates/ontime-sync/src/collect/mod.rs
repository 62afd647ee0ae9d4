//! The collector's sources and the budget they share.
//!
//! - [`drivers`]: per driver, availability changes and position history windows.
//! - [`governor`]: one per account; how many OnTime calls may be spent, and when.
//! - [`exact`]: the exact fetch every order source shares: an order's history and record (two
//!   calls at most) made into events with drivers, tracking numbers and items.
//! - [`poll`]: the polling source: per status level, the finder's ID set, diffed against the
//!   previous poll; the orders that moved get one exact fetch (or a provisional observed
//!   event when the budget says not now).
//! - [`inbound`] (feature `inbound`): the endpoint OnTime's workflow notifications call; the
//!   orders they name are queued durably and fetched like poll-moved orders.
//! - [`reconcile`]: the slow reconcile of active orders, for what a poll cannot see (a new label
//!   within a level, a hand-over between drivers).

/// The `config`, `set_fence` and `set_destinations` methods of a source whose `config` field
/// has `fence` and `destinations` (a worker re-fences its sources on every lease it takes).
macro_rules! routing {
    ($config:ty) => {
        /// The configuration.
        pub fn config(&self) -> &$config {
            &self.config
        }

        /// Makes later commits under `fence` (`None`: unfenced).
        pub fn set_fence(&mut self, fence: Option<crate::store::Fence>) {
            self.config.fence = fence;
        }

        /// Queues later events for `destinations`.
        pub fn set_destinations(&mut self, destinations: Vec<String>) {
            self.config.destinations = destinations;
        }
    };
}

pub mod drivers;
pub mod exact;
pub mod governor;
#[cfg(feature = "inbound")]
pub mod inbound;
pub mod poll;
pub mod reconcile;

pub use drivers::{DriverConfig, DriverCursor, DriverReport, Drivers};
pub use governor::{Advice, Clock, Governor, Plan, SystemClock, TooManyAtOnce};
pub use poll::{PollBatch, PollConfig, PollCursor, PollReport, Poller};
pub use reconcile::{Known, ReconcileConfig, ReconcileCursor, ReconcileReport, Reconciler};

use ontime::StatusLevel;

use crate::store::{EventStore, StoreError};

/// The levels an order is at before it is finished: Dispatched, Assigned, AssignedInRoute,
/// Stored, UnassignedStored.
fn active_levels() -> Vec<StatusLevel> {
    vec![
        StatusLevel::Dispatched,
        StatusLevel::Assigned,
        StatusLevel::AssignedInRoute,
        StatusLevel::Stored,
        StatusLevel::UnassignedStored,
    ]
}

/// Why a collection step (a poll, a driver round, a drain) stopped. What it committed before
/// stays committed; what it did not is redone by the next step from the stored cursors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CollectError {
    /// An OnTime call failed.
    #[error("OnTime call failed: {0}")]
    OnTime(#[from] ontime::Error),
    /// The store failed (or refused: [`StoreError::LeaseLost`]).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored cursor is not one this source wrote (or a new one would not serialise).
    #[error("cursor {name:?} is unreadable: {source}")]
    Cursor {
        /// The cursor's name.
        name: String,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
}

impl CollectError {
    fn cursor(name: &str, source: serde_json::Error) -> Self {
        Self::Cursor {
            name: name.to_owned(),
            source,
        }
    }
}

/// The cursor `name` of `account` as the source that wrote it reads it; the default (a first
/// run) when none is stored.
async fn load_cursor<T: serde::de::DeserializeOwned + Default>(
    store: &impl EventStore,
    account: &str,
    name: &str,
) -> Result<T, CollectError> {
    match store.cursor(account, name).await? {
        Some(value) => {
            serde_json::from_value(value).map_err(|source| CollectError::cursor(name, source))
        }
        None => Ok(T::default()),
    }
}
