//! Workspace-level tests, one binary: they span the spec (`openapi/ontime.json`), the generated
//! client (`ontime-raw`) and the simulator (`ontime-mock`), so they belong to no single crate.
//! `operations` snapshots the exact request of every operation and checks that every response
//! decodes and round-trips; `records` round-trips real payload shapes; `errors` covers how faults
//! are reported; `spec` checks the spec itself.

mod errors;
mod operations;
mod records;
mod spec;
mod support;
