//! The facade's integration tests, one binary (each file under `tests/` would be a separate
//! binary to link): wire mechanics against scripted servers, the exact requests each call
//! sends, the shapes lookups return, and every record type and action against the simulator.

mod common;
mod mechanics;
mod requests;
mod shapes;
mod simulator;
