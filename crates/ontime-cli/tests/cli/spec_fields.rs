//! The CLI's order fields follow the spec: every property of the `Order` schema in
//! `openapi/ontime.json` is a CSV column (when it is a scalar), shown by the detail view, and
//! accepted by `orders update --set/--unset`, with no list kept by hand in the CLI.

use serde_json::Value;

use crate::common::{Sim, order_ids};

/// The `Order` properties of the spec: (name, whether CSV writes it).
fn spec_order_fields() -> Vec<(String, bool)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi/ontime.json");
    let spec: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("the spec")).expect("JSON");
    let schemas = &spec["components"]["schemas"];
    let props = schemas["Order"]["properties"]
        .as_object()
        .expect("Order properties");
    props
        .iter()
        .map(|(name, schema)| {
            // Embedded records (a $ref to a schema with properties, possibly nullable), lists,
            // maps and base64 contents are not CSV cells; enums (a $ref to an int-or-name
            // schema) are.
            let reference = schema["$ref"]
                .as_str()
                .or_else(|| schema["anyOf"][0]["$ref"].as_str());
            let target = reference
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
                .map(|name| &schemas[name]);
            let structured = target.is_some_and(|t| t.get("properties").is_some())
                || matches!(schema["type"].as_str(), Some("array" | "object"))
                || schema["format"] == "byte";
            (name.clone(), !structured)
        })
        .collect()
}

#[test]
fn every_spec_order_field_is_in_csv_detail_and_set() {
    let fields = spec_order_fields();
    assert!(fields.len() > 50, "{fields:?}");
    let sim = Sim::start();
    let id = order_ids(&sim, 1).remove(0);

    // CSV: the header is exactly the spec's scalar fields.
    let csv = sim.run(&["orders", "get", &id, "-o", "csv"]);
    let header = csv.ok().lines().next().expect("a header line");
    let mut columns: Vec<&str> = header.split(',').collect();
    columns.sort_unstable();
    let mut scalars: Vec<&str> = fields
        .iter()
        .filter(|(_, scalar)| *scalar)
        .map(|(n, _)| n.as_str())
        .collect();
    scalars.sort_unstable();
    assert_eq!(columns, scalars);

    // --set/--unset: every field except those `orders update` refuses on purpose is accepted
    // by name. Clearing them all in one update shows each one is known.
    let protected = ["ID", "Status", "StatusLevel"];
    let mut args = vec!["orders", "update", id.as_str(), "-o", "json"];
    for (name, _) in &fields {
        if !protected.contains(&name.as_str()) {
            args.extend(["--unset", name.as_str()]);
        }
    }
    let cleared: Value = serde_json::from_str(sim.run(&args).ok()).expect("json");
    assert_eq!(cleared["ID"], id.as_str());
    assert!(cleared["Comments"].is_null(), "{cleared}");

    // Detail view: set a value in every text field of the spec and see each one shown under
    // its own name.
    let texts: Vec<&str> = fields
        .iter()
        .filter(|(name, scalar)| *scalar && !protected.contains(&name.as_str()))
        .map(|(n, _)| n.as_str())
        .filter(|n| {
            // Free-text fields only: other kinds need typed values.
            ["Comments", "Description", "RouteName", "ReferenceNumber"].contains(n)
                || n.ends_with("TrackingNumber") && *n != "TrackingNumber"
        })
        .collect();
    let mut args = vec!["orders".to_string(), "update".into(), id.clone()];
    for name in &texts {
        args.extend(["--set".into(), format!("{name}=v-{name}")]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    sim.run(&args).ok();
    let detail = sim.run(&["orders", "get", &id, "-o", "table"]);
    for name in &texts {
        assert!(
            detail
                .ok()
                .lines()
                .any(|l| l.starts_with(name) && l.contains(&format!("v-{name}"))),
            "{name} missing from the detail view:\n{}",
            detail.stdout
        );
    }
}
