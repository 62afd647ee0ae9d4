//! The simulator's integration tests, one binary (each file under `tests/` would be a separate
//! binary to link): behaviour of every operation, the `ontime-mock` executable, fault injection,
//! the operation table against the spec, and hardening against hostile clients.

mod activity;
mod behaviour;
mod binary;
mod common;
mod faults;
mod operations;
mod security;
