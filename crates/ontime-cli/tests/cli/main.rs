//! Tests of the `ontime` binary: each starts the simulator in-process on 127.0.0.1 and runs the
//! built binary against it. Outputs are snapshotted under `tests/snapshots/`.

mod attachments;
mod common;
mod delivery_crash;
mod demo;
mod errors;
mod events;
mod exports;
mod help;
mod input;
mod mock_serve;
mod orders;
mod records;
mod spec_fields;
mod sync;
mod sync_crash;
mod transport;
mod webhook;
mod writes;
