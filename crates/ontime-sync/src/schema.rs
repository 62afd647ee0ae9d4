//! JSON Schema of the event wire form (feature `schema`), written into `schemas/` by
//! `cargo xtask codegen` and compared by `cargo xtask codegen --check`.

use schemars::JsonSchema;
use schemars::r#gen::{SchemaGenerator, SchemaSettings};
use schemars::schema::{InstanceType, Schema, SchemaObject, StringValidation};

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

fn string_with(format: Option<&str>, pattern: Option<&str>) -> Schema {
    SchemaObject {
        instance_type: Some(InstanceType::String.into()),
        format: format.map(str::to_owned),
        string: pattern.map(|p| {
            Box::new(StringValidation {
                pattern: Some(p.to_owned()),
                ..StringValidation::default()
            })
        }),
        ..SchemaObject::default()
    }
    .into()
}

pub(crate) fn guid(_: &mut SchemaGenerator) -> Schema {
    string_with(Some("uuid"), None)
}

pub(crate) fn optional_guid(generator: &mut SchemaGenerator) -> Schema {
    guid(generator)
}

pub(crate) fn date_time(_: &mut SchemaGenerator) -> Schema {
    string_with(Some("date-time"), None)
}

pub(crate) fn event_id(_: &mut SchemaGenerator) -> Schema {
    string_with(None, Some("^evt_[a-z2-7]{32}$"))
}

// Keep the derive in use even if the root type changes.
const _: fn() = || {
    fn assert_schema<T: JsonSchema>() {}
    assert_schema::<Event>();
};
