//! The one integration-test binary of ontime-sync.

mod config;
mod drivers;
mod events;
mod fixtures;
mod inbound;
mod poll;
mod reconcile;
mod runner;
mod schema;
mod store;
mod worker;
