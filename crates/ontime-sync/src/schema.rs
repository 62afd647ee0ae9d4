//! JSON Schema of the event wire form (feature `schema`), written into `schemas/` by
//! `cargo xtask codegen` and compared by `cargo xtask codegen --check`.

use schemars::r#gen::{SchemaGenerator, SchemaSettings};

use crate::event::Event;

/// The file name of the event schema under `schemas/`.
pub const EVENT_SCHEMA_FILE: &str = "event.schema.json";

/// The JSON Schema (draft 2020-12) of [`Event`], its parts under `definitions`, as pretty JSON
/// ending in a newline. One file describes every event type: `type` is an enum of the dotted
/// names and the type-specific sections are optional objects.
pub fn event_schema_json() -> String {
    let settings = SchemaSettings::draft2019_09().with(|s| {
        s.meta_schema = Some("https://json-schema.org/draft/2020-12/schema".to_owned());
        s.option_add_null_type = false;
    });
    let mut schema = SchemaGenerator::new(settings).into_root_schema_for::<Event>();
    schema.schema.metadata().id =
        Some("https://github.com/ontime-rs/ontime-rs/schemas/event.schema.json".to_owned());
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
