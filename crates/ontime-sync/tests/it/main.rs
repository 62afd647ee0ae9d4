//! The one integration-test binary of ontime-sync.

mod events;
mod fixtures;
mod poll;
mod schema;
mod store;
