//! The one integration-test binary of ontime-sync.

mod config;
mod dispatch;
mod drivers;
mod events;
mod fixtures;
mod inbound;
mod nats;
mod outbox;
mod policy;
mod poll;
mod recall;
mod reconcile;
mod runner;
mod schema;
mod signature;
mod store;
/// The simulated-day harness, shared with the `sync_day` benchmark (which uses all of it).
#[allow(dead_code)]
#[path = "../../../ontime-bench/src/sync_sim.rs"]
mod sync_sim;
mod worker;
