//! The spec's contract (the 62 operations, the enum, ID and format schemas that map onto
//! hand-written types), its validation, and the adaptations progenitor needs.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// The 62 operations of the OnTime REST API (method, path under `/sites/{company-id}`), as the
/// vendor's REST index lists them. The spec must describe exactly these.
pub const ENDPOINTS: [(&str, &str); 62] = [
    ("post", "/api/contact/post"),
    ("get", "/api/contacts"),
    ("get", "/api/contacts/{id}"),
    ("get", "/api/contacts/authenticate"),
    ("post", "/api/customer/post"),
    ("get", "/api/customers"),
    ("get", "/api/customers/{id}"),
    ("get", "/api/customers/authenticate"),
    ("post", "/api/department/post"),
    ("get", "/api/departments"),
    ("get", "/api/departments/{id}"),
    ("get", "/api/fileAttachments"),
    ("get", "/api/fileAttachments/{id}"),
    ("post", "/api/invoice/post"),
    ("get", "/api/invoices"),
    ("get", "/api/invoices/{id}"),
    ("post", "/api/item/post"),
    ("get", "/api/items/{id}"),
    ("post", "/api/location/post"),
    ("get", "/api/locations"),
    ("get", "/api/locations/{id}"),
    ("post", "/api/order/codRequirement"),
    ("delete", "/api/order/fileAttachment/delete/{id}"),
    ("post", "/api/order/fileAttachment/post/{orderID}"),
    ("post", "/api/order/getTotalCost"),
    ("post", "/api/order/post"),
    ("get", "/api/order/report"),
    ("get", "/api/order/signature"),
    ("post", "/api/order/signatureRequirement"),
    ("get", "/api/order/updatePrices/{id}"),
    ("post", "/api/order/updateStatus"),
    ("get", "/api/orders"),
    ("get", "/api/orders/{id}"),
    ("get", "/api/orderStatusChanges/{orderID}"),
    ("post", "/api/payment/post"),
    ("get", "/api/payments"),
    ("get", "/api/payments/{id}"),
    ("get", "/api/priceModifiers/{id}"),
    ("get", "/api/priceModifiersByName/{name}"),
    ("get", "/api/priceSets/{id}"),
    ("get", "/api/priceSetsByName/{name}"),
    ("get", "/api/statuses"),
    ("get", "/api/statuses/{id}"),
    ("get", "/api/user/availability/{userID}"),
    ("get", "/api/user/position"),
    ("get", "/api/user/position/{userID}"),
    ("post", "/api/user/updateAvailability"),
    ("post", "/api/user/updatePosition"),
    ("post", "/api/userMiscCompensation/post"),
    ("get", "/api/userMiscCompensations/{id}"),
    ("get", "/api/users"),
    ("get", "/api/users/{id}"),
    ("get", "/api/users/authenticate"),
    ("post", "/api/userSession/post"),
    ("get", "/api/userSessions"),
    ("get", "/api/userSessions/{id}"),
    ("post", "/api/vehicle/post"),
    ("get", "/api/vehicles"),
    ("get", "/api/vehicles/{id}"),
    ("post", "/api/zone/post"),
    ("get", "/api/zones"),
    ("get", "/api/zones/{id}"),
];

/// Enum schemas of the spec that map onto the int-or-name types of `ontime_raw::lenient`.
pub const LENIENT_ENUMS: [&str; 8] = [
    "CompensationRole",
    "CompensationType",
    "LogInType",
    "PriceModifierInput",
    "PriceModifierType",
    "PricingMethod",
    "SignatureType",
    "StatusLevel",
];

/// Named ID schemas of the spec (`OrderId`, ...: string/uuid) that map onto the typed
/// identifiers of `ontime_raw::ids`, so a record's `Customer` field is an `Option<CustomerId>`.
pub const ID_TYPES: [&str; 17] = [
    "ContactId",
    "CustomerId",
    "DepartmentId",
    "FileAttachmentId",
    "InvoiceId",
    "ItemId",
    "LocationId",
    "OrderId",
    "PaymentId",
    "PriceModifierId",
    "PriceSetId",
    "StatusId",
    "UserId",
    "UserMiscCompensationId",
    "UserSessionId",
    "VehicleId",
    "ZoneId",
];

/// The `format` of OnTime's date-times: ISO 8601 with the UTC offset optional (see
/// `openapi/README.md`). `date-time` is not used: it means RFC 3339, which requires an offset.
pub const DATE_TIME_FORMAT: &str = "ontime-date-time";
/// The `format` of .NET TimeSpan strings.
pub const TIMESPAN_FORMAT: &str = "timespan";
/// String formats that map onto hand-written types of `ontime_raw::lenient`. Each must carry the
/// same `pattern` wherever it appears, because typify matches a conversion on the whole schema.
pub const LENIENT_FORMATS: [(&str, &str); 2] = [
    (DATE_TIME_FORMAT, "crate::lenient::OnTimeDateTime"),
    (TIMESPAN_FORMAT, "crate::lenient::TimeSpan"),
];

/// Adapts the spec to progenitor's limits without changing the Rust types it stands for.
///
/// * progenitor counts a `default` response as a success response, so next to a typed
///   `200`/`201` it would see two success types and refuse the operation. The spec's `default`
///   means "any other fault", so for the generator it becomes the `5XX` range (same fault
///   schema). A `4XX` range is not added: progenitor matches ranges before exact codes and would
///   shadow the listed 4xx codes.
/// * A nullable reference is written `anyOf: [{$ref}, {null}]` in the spec (the form strict
///   OpenAPI 3.0 validators accept); typify turns that into an untagged enum, so for the
///   generator it becomes `allOf: [{$ref}]` + `nullable: true`, which typify maps to
///   `Option<T>`.
/// * A request body that is a record plus request-only constraints
///   (`allOf: [{$ref}, {required: […]}]`) stays the record type: a fetched record is what gets
///   posted back, and the server refuses a post that misses a required field.
/// * `minLength` on a parameter is dropped: typify would wrap the value in a new public type per
///   parameter (one of them holding a password, with a derived `Debug`); parameters stay plain
///   strings and the server refuses an empty one.
pub fn normalise(mut spec: Value) -> Value {
    nullable_refs_as_all_of(&mut spec);
    let Some(paths) = spec.get_mut("paths").and_then(Value::as_object_mut) else {
        return spec;
    };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for op in item.values_mut() {
            let params = op.get_mut("parameters").and_then(Value::as_array_mut);
            for param in params.into_iter().flatten() {
                if let Some(schema) = param.get_mut("schema").and_then(Value::as_object_mut) {
                    schema.remove("minLength");
                }
            }
            if let Some(content) = op
                .pointer_mut("/requestBody/content")
                .and_then(Value::as_object_mut)
            {
                for media in content.values_mut() {
                    if let Some(schema) = media.get_mut("schema") {
                        record_with_constraints_as_record(schema);
                    }
                }
            }
            let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
                continue;
            };
            if let Some(fault) = responses.remove("default") {
                responses.entry("5XX").or_insert(fault);
            }
        }
    }
    spec
}

/// Whether `schema` admits only JSON null (`nullable: true`, `enum: [null]`).
pub fn is_null_schema(schema: &Value) -> bool {
    schema.get("nullable") == Some(&Value::Bool(true))
        && schema.get("enum") == Some(&Value::Array(vec![Value::Null]))
}

/// `{anyOf: [X, null], …}` → `{allOf: [X], nullable: true, …}`, everywhere in `value`.
fn nullable_refs_as_all_of(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let rewrite = match map.get("anyOf").and_then(Value::as_array) {
                Some(options) if options.len() == 2 && is_null_schema(&options[1]) => {
                    Some(options[0].clone())
                }
                _ => None,
            };
            if let Some(inner) = rewrite {
                map.remove("anyOf");
                map.insert("allOf".into(), Value::Array(vec![inner]));
                map.insert("nullable".into(), Value::Bool(true));
            }
            map.values_mut().for_each(nullable_refs_as_all_of);
        }
        Value::Array(items) => items.iter_mut().for_each(nullable_refs_as_all_of),
        _ => {}
    }
}

/// `{allOf: [{$ref}, {type: object, required, properties}]}` → `{$ref}`.
fn record_with_constraints_as_record(schema: &mut Value) {
    let Some(parts) = schema.get("allOf").and_then(Value::as_array) else {
        return;
    };
    let [record, constraints] = parts.as_slice() else {
        return;
    };
    let only_constraints = constraints.as_object().is_some_and(|c| {
        c.keys()
            .all(|k| ["type", "required", "properties"].contains(&k.as_str()))
    });
    if record.get("$ref").is_some() && only_constraints {
        *schema = record.clone();
    }
}

/// Parses `spec_text` and fails with every problem [`validate`] finds.
pub(super) fn parse_valid(spec_text: &str) -> Result<Value> {
    let json: Value = serde_json::from_str(spec_text).context("openapi/ontime.json is not JSON")?;
    let problems = validate(&json);
    if !problems.is_empty() {
        bail!(
            "openapi/ontime.json has {} problem(s):\n  {}",
            problems.len(),
            problems.join("\n  ")
        );
    }
    Ok(json)
}

/// Checks what progenitor does not: every `$ref` resolves, the 62 endpoints are present and
/// nothing else, and every operation has an id, a summary and a description.
pub fn validate(spec: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    match spec.get("openapi").and_then(Value::as_str) {
        Some(v) if v.starts_with("3.0.") => {}
        other => problems.push(format!(
            "`openapi` must be 3.0.x (progenitor's limit), found {other:?}"
        )),
    }
    let mut refs = BTreeSet::new();
    collect_refs(spec, &mut refs);
    for reference in refs {
        let resolves = reference
            .strip_prefix('#')
            .and_then(|pointer| spec.pointer(pointer))
            .is_some();
        if !resolves {
            problems.push(format!("$ref {reference} does not resolve"));
        }
    }
    let empty = serde_json::Map::new();
    let paths = spec
        .get("paths")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let expected: BTreeSet<(String, String)> = ENDPOINTS
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    let mut found = BTreeSet::new();
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap_or(&empty) {
            if ![
                "get", "put", "post", "delete", "patch", "head", "options", "trace",
            ]
            .contains(&method.as_str())
            {
                continue;
            }
            let name = format!("{} {path}", method.to_uppercase());
            found.insert((method.clone(), path.clone()));
            for key in ["operationId", "summary", "description"] {
                if op
                    .get(key)
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    problems.push(format!("{name} has no {key}"));
                }
            }
        }
    }
    for (method, path) in expected.difference(&found) {
        problems.push(format!(
            "missing operation {} {path}",
            method.to_uppercase()
        ));
    }
    for (method, path) in found.difference(&expected) {
        problems.push(format!(
            "operation {} {path} is not in the OnTime endpoint list",
            method.to_uppercase()
        ));
    }
    let patterns = format_patterns(spec);
    for (format, _) in LENIENT_FORMATS {
        match patterns
            .get(format)
            .map(|set| set.iter().collect::<Vec<_>>())
        {
            Some(set) if set.len() == 1 && !set[0].is_empty() => {}
            Some(set) => problems.push(format!(
                "every `format: {format}` schema needs the same non-empty pattern, found {set:?}"
            )),
            None => {}
        }
    }
    schema_problems(spec, "#", &mut problems);
    problems
}

/// Schema-level rules: no `format: date-time` (RFC 3339 requires an offset OnTime does not
/// send), and `nullable` only next to `type` (OpenAPI 3.0 gives it no meaning elsewhere, and
/// strict validators then reject the null).
fn schema_problems(value: &Value, at: &str, problems: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if map.get("format").and_then(Value::as_str) == Some("date-time") {
                problems.push(format!(
                    "{at}: `format: date-time` requires a UTC offset; use `format: {DATE_TIME_FORMAT}`"
                ));
            }
            if map.get("nullable") == Some(&Value::Bool(true)) && !map.contains_key("type") {
                problems.push(format!(
                    "{at}: `nullable` without a `type` sibling; write anyOf: [{{$ref}}, {{null}}]"
                ));
            }
            for (key, child) in map {
                // `example` values are data, not schemas.
                if key != "example" && key != "examples" {
                    schema_problems(child, &format!("{at}/{key}"), problems);
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                schema_problems(child, &format!("{at}/{i}"), problems);
            }
        }
        _ => {}
    }
}

fn collect_refs(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.insert(r.clone());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// For each format of [`LENIENT_FORMATS`], the set of `pattern`s its schemas carry (a missing
/// pattern counts as the empty string).
pub(super) fn format_patterns(spec: &Value) -> BTreeMap<String, BTreeSet<String>> {
    fn walk(value: &Value, out: &mut BTreeMap<String, BTreeSet<String>>) {
        match value {
            Value::Object(map) => {
                if let Some(format) = map.get("format").and_then(Value::as_str)
                    && LENIENT_FORMATS.iter().any(|(f, _)| *f == format)
                {
                    let pattern = map.get("pattern").and_then(Value::as_str).unwrap_or("");
                    out.entry(format.to_string())
                        .or_default()
                        .insert(pattern.to_string());
                }
                map.values().for_each(|v| walk(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = BTreeMap::new();
    walk(spec, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_reports_missing_operations_and_dangling_refs() {
        let spec = serde_json::json!({
            "openapi": "3.1.0",
            "paths": {"/api/contacts": {"get": {"operationId": "x", "summary": "s",
                "responses": {"200": {"$ref": "#/components/responses/Nope"}}}}}
        });
        let problems = validate(&spec);
        assert!(problems.iter().any(|p| p.contains("3.0.x")));
        assert!(
            problems
                .iter()
                .any(|p| p.contains("#/components/responses/Nope"))
        );
        assert!(
            problems
                .iter()
                .any(|p| p == "GET /api/contacts has no description")
        );
        assert!(
            problems
                .iter()
                .any(|p| p == "missing operation GET /api/orders")
        );
        assert_eq!(
            problems
                .iter()
                .filter(|p| p.starts_with("missing operation"))
                .count(),
            61
        );
    }

    #[test]
    fn normalise_turns_default_into_the_server_error_range() {
        let spec = serde_json::json!({"paths": {"/a": {"get": {"responses": {
            "200": {"description": "ok"},
            "400": {"description": "bad"},
            "default": {"description": "fault"}
        }}}}});
        let responses = &normalise(spec)["paths"]["/a"]["get"]["responses"];
        let mut codes: Vec<&String> = responses.as_object().unwrap().keys().collect();
        codes.sort();
        assert_eq!(codes, ["200", "400", "5XX"]);
        assert_eq!(responses["5XX"]["description"], "fault");
    }

    #[test]
    fn normalise_maps_nullable_refs_and_constrained_bodies_onto_record_types() {
        let spec = serde_json::json!({"components": {"schemas": {"O": {"properties": {
            "D": {"description": "d", "anyOf": [
                {"$ref": "#/components/schemas/D"},
                {"type": "string", "nullable": true, "enum": [null]}
            ]},
            "E": {"anyOf": [{"$ref": "#/components/schemas/D"}, {"type": "string"}]}
        }}}},
        "paths": {"/a": {"post": {
            "parameters": [{"name": "p", "in": "query", "schema": {"type": "string", "minLength": 1}}],
            "requestBody": {"content": {"application/json": {"schema": {"allOf": [
                {"$ref": "#/components/schemas/Item"},
                {"type": "object", "required": ["OrderID"], "properties": {"OrderID": {"type": "string"}}}
            ]}}}},
            "responses": {}
        }}}});
        let out = normalise(spec);
        let props = &out["components"]["schemas"]["O"]["properties"];
        assert_eq!(
            props["D"],
            serde_json::json!({"description": "d", "nullable": true,
                "allOf": [{"$ref": "#/components/schemas/D"}]})
        );
        // An anyOf whose second option is not the null schema is left alone.
        assert!(props["E"].get("anyOf").is_some());
        assert_eq!(
            out["paths"]["/a"]["post"]["requestBody"]["content"]["application/json"]["schema"],
            serde_json::json!({"$ref": "#/components/schemas/Item"})
        );
        assert_eq!(
            out["paths"]["/a"]["post"]["parameters"][0]["schema"],
            serde_json::json!({"type": "string"})
        );
    }

    #[test]
    fn validation_rejects_rfc3339_date_times_bare_nullables_and_mixed_patterns() {
        let spec = serde_json::json!({"openapi": "3.0.3", "components": {"schemas": {"O": {
            "type": "object",
            "example": {"format": "date-time", "nullable": true},
            "properties": {
                "A": {"type": "string", "format": "date-time"},
                "B": {"allOf": [{"$ref": "#/components/schemas/O"}], "nullable": true},
                "C": {"type": "string", "format": "ontime-date-time", "pattern": "^x$"},
                "D": {"type": "string", "format": "ontime-date-time", "pattern": "^y$"},
                "E": {"type": "string", "format": "timespan", "pattern": "^t$"}
            }
        }}}});
        let problems = validate(&spec);
        let about = |needle: &str| problems.iter().filter(|p| p.contains(needle)).count();
        assert_eq!(
            about("properties/A: `format: date-time` requires"),
            1,
            "{problems:#?}"
        );
        assert_eq!(
            about("properties/B: `nullable` without a `type`"),
            1,
            "{problems:#?}"
        );
        assert_eq!(
            about("every `format: ontime-date-time` schema needs"),
            1,
            "{problems:#?}"
        );
        assert_eq!(about("`format: timespan`"), 0, "{problems:#?}");
        // Examples are data: their members are not checked as schemas.
        assert_eq!(about("/example"), 0, "{problems:#?}");
    }
}
