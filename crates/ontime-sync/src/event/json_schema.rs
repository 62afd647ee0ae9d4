//! Schemas of the event fields whose types know no JSON Schema (typed IDs, chrono date-times,
//! event ids), for `#[schemars(schema_with = ...)]` (feature `schema`).

use schemars::r#gen::SchemaGenerator;
use schemars::schema::{InstanceType, Schema, SchemaObject, StringValidation};

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
