//! Every `example` in the spec decodes into the generated type of its schema and survives a
//! round trip, every record schema and every operation has one, and a record example names only
//! properties its schema lists. (`scripts/spec-conformance.sh` also validates each example
//! against its schema with a strict OpenAPI 3.0 validator.)

use ontime_raw::{ids, lenient, types};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use super::spec;

/// The keys of a JSON object whose values are not null.
fn present_keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default();
    keys.sort();
    keys
}

/// Decodes `example` as `T`, encodes it, decodes again: the two values are equal and no
/// non-null member of an object was lost.
fn round_trip<T>(example: &Value) -> Result<(), String>
where
    T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug,
{
    let first: T = serde_json::from_value(example.clone()).map_err(|e| e.to_string())?;
    let encoded = serde_json::to_value(&first).map_err(|e| e.to_string())?;
    let second: T = serde_json::from_value(encoded.clone()).map_err(|e| e.to_string())?;
    if first != second {
        return Err("decode → encode → decode changed the value".into());
    }
    if present_keys(example) != present_keys(&encoded) {
        return Err(format!(
            "members changed: {:?} became {:?}",
            present_keys(example),
            present_keys(&encoded)
        ));
    }
    Ok(())
}

/// Decodes `example` into the generated type named by the component schema `name`.
fn decode_named(name: &str, example: &Value) -> Result<(), String> {
    macro_rules! by_name {
        ($($schema:ident => $ty:ty),* $(,)?) => {
            match name {
                $(stringify!($schema) => round_trip::<$ty>(example),)*
                other => Err(format!("no generated type is known for schema {other}")),
            }
        };
    }
    by_name! {
        CompensationRole => lenient::CompensationRole,
        CompensationType => lenient::CompensationType,
        Contact => types::Contact,
        ContactId => ids::ContactId,
        Customer => types::Customer,
        CustomerId => ids::CustomerId,
        Department => types::Department,
        DepartmentId => ids::DepartmentId,
        Fault => types::Fault,
        FileAttachment => types::FileAttachment,
        FileAttachmentId => ids::FileAttachmentId,
        GuidList => Vec<Uuid>,
        Invoice => types::Invoice,
        InvoiceId => ids::InvoiceId,
        Item => types::Item,
        ItemId => ids::ItemId,
        Location => types::Location,
        LocationId => ids::LocationId,
        LogInType => lenient::LogInType,
        OptionalGuid => Option<Uuid>,
        Order => types::Order,
        OrderId => ids::OrderId,
        Payment => types::Payment,
        PaymentId => ids::PaymentId,
        PriceModifier => types::PriceModifier,
        PriceModifierId => ids::PriceModifierId,
        PriceModifierInput => lenient::PriceModifierInput,
        PriceModifierType => lenient::PriceModifierType,
        PriceSet => types::PriceSet,
        PriceSetId => ids::PriceSetId,
        PricingMethod => lenient::PricingMethod,
        SignatureType => lenient::SignatureType,
        Status => types::Status,
        StatusId => ids::StatusId,
        StatusLevel => lenient::StatusLevel,
        TimeWindow => types::TimeWindow,
        User => types::User,
        UserId => ids::UserId,
        UserAvailability => types::UserAvailability,
        UserDefinedField => types::UserDefinedField,
        UserMiscCompensation => types::UserMiscCompensation,
        UserMiscCompensationId => ids::UserMiscCompensationId,
        UserPosition => types::UserPosition,
        UserSession => types::UserSession,
        UserSessionId => ids::UserSessionId,
        Vehicle => types::Vehicle,
        VehicleId => ids::VehicleId,
        VehicleType => types::VehicleType,
        Zone => types::Zone,
        ZoneId => ids::ZoneId,
    }
}

/// The component a schema refers to: `$ref`, or the record of `allOf: [{$ref}, constraints]`.
fn referenced(schema: &Value) -> Option<&str> {
    schema
        .get("$ref")
        .or_else(|| schema.pointer("/allOf/0/$ref"))
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
}

/// Decodes `example` into the Rust type the generated client uses for `schema`.
fn decode(schema: &Value, example: &Value) -> Result<(), String> {
    if let Some(name) = referenced(schema) {
        return decode_named(name, example);
    }
    match (
        schema.get("type").and_then(Value::as_str),
        schema.get("format").and_then(Value::as_str),
    ) {
        (Some("boolean"), _) => round_trip::<bool>(example),
        (Some("number"), _) => round_trip::<f64>(example),
        (Some("string"), Some("uuid")) => round_trip::<Uuid>(example),
        (Some("string"), Some("ontime-date-time")) => {
            round_trip::<lenient::OnTimeDateTime>(example)
        }
        (Some("string"), _) => round_trip::<String>(example),
        (Some("array"), _) => {
            let items = example.as_array().ok_or("not an array")?;
            if items.is_empty() {
                return Err("an empty array shows nothing".into());
            }
            items
                .iter()
                .try_for_each(|item| decode(&schema["items"], item))
        }
        other => Err(format!(
            "no Rust type is known for a schema of type/format {other:?}"
        )),
    }
}

/// Running totals of the examples test.
#[derive(Default)]
struct Tally {
    checked: usize,
    failures: Vec<String>,
}

impl Tally {
    fn record(&mut self, where_: String, outcome: Result<(), String>) {
        self.checked += 1;
        if let Err(e) = outcome {
            self.failures.push(format!("{where_}: {e}"));
        }
    }
}

#[test]
fn every_example_decodes_into_the_generated_type_of_its_schema() {
    let spec = spec();
    let mut tally = Tally::default();

    let schemas = spec["components"]["schemas"].as_object().expect("schemas");
    for (name, schema) in schemas {
        let is_record = schema["type"] == "object";
        match schema.get("example") {
            Some(example) => {
                tally.record(format!("schema {name}"), decode_named(name, example));
                if is_record {
                    let listed = schema["properties"].as_object().expect("properties");
                    for key in present_keys(example) {
                        if !listed.contains_key(&key) {
                            tally
                                .failures
                                .push(format!("schema {name}: the example has unlisted {key}"));
                        }
                    }
                }
            }
            None if is_record => tally
                .failures
                .push(format!("record schema {name} has no example")),
            None => {}
        }
    }

    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let where_ = format!("{} {path}", method.to_uppercase());
            let before = tally.checked;
            for param in op["parameters"].as_array().into_iter().flatten() {
                if let Some(example) = param.get("example") {
                    tally.record(
                        format!("{where_} parameter {}", param["name"]),
                        decode(&param["schema"], example),
                    );
                }
            }
            let bodies = op
                .pointer("/requestBody/content")
                .and_then(Value::as_object);
            for (media_type, media) in bodies.into_iter().flatten() {
                if let Some(example) = media.get("example") {
                    tally.record(
                        format!("{where_} request {media_type}"),
                        decode(&media["schema"], example),
                    );
                }
            }
            for (code, response) in op["responses"].as_object().expect("responses") {
                let content = response.get("content").and_then(Value::as_object);
                for (media_type, media) in content.into_iter().flatten() {
                    if let Some(example) = media.get("example") {
                        tally.record(
                            format!("{where_} {code} {media_type}"),
                            decode(&media["schema"], example),
                        );
                    }
                }
            }
            if tally.checked == before {
                tally.failures.push(format!("{where_} has no example"));
            }
        }
    }
    assert!(
        tally.failures.is_empty(),
        "{} problems:\n{}",
        tally.failures.len(),
        tally.failures.join("\n")
    );
    assert!(tally.checked > 100, "only {} examples", tally.checked);
}
