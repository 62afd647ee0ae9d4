//! The collector's sources and the budget they share.
//!
//! - [`drivers`]: per driver, availability changes and position history windows.
//! - [`governor`]: one per account; how many OnTime calls may be spent, and when.
//! - [`poll`]: the polling source: per status level, the finder's ID set, diffed against the
//!   previous poll; the orders that moved get one history fetch (or a provisional observed
//!   event when the budget says not now).
//! - [`inbound`] (feature `inbound`): the endpoint OnTime's workflow notifications call; the
//!   orders they name are queued durably and fetched like poll-moved orders.

pub mod drivers;
pub mod governor;
#[cfg(feature = "inbound")]
pub mod inbound;
pub mod poll;

pub use drivers::{DriverConfig, DriverCursor, DriverError, DriverReport, Drivers};
pub use governor::{Advice, Clock, Governor, Plan, SystemClock, TooManyAtOnce};
pub use poll::{PollBatch, PollConfig, PollCursor, PollError, PollReport, Poller};
