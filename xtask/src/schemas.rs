//! JSON Schemas of ontime-sync's events, generated from its Rust types into `schemas/`: written
//! by `cargo xtask codegen`, compared by `cargo xtask codegen --check`.

use anyhow::Result;

use crate::codegen::{Mode, write_or_check};

/// The directory of the schemas, relative to the workspace root.
pub const SCHEMA_DIR: &str = "schemas";

/// Writes the schemas (`Mode::Write`) or fails with a short diff of each stale one
/// (`Mode::Check`).
pub fn run(mode: Mode) -> Result<String> {
    let outputs = [(
        format!("{SCHEMA_DIR}/{}", ontime_sync::schema::EVENT_SCHEMA_FILE),
        ontime_sync::schema::event_schema_json(),
    )];
    write_or_check(mode, &outputs, "ontime-sync's event types")
}
