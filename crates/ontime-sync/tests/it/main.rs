//! The one integration-test binary of ontime-sync.

mod drivers;
mod events;
mod fixtures;
mod inbound;
mod poll;
mod reconcile;
mod schema;
mod store;
