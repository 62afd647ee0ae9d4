//! `cargo xtask codegen [--check]`: validate `openapi/ontime.json`, generate the raw client with
//! progenitor, format it with prettyplease, and write it to (or compare it with)
//! `crates/ontime-raw/src/generated.rs`.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use openapiv3::OpenAPI;
use progenitor::{GenerationSettings, Generator, InterfaceStyle, TagStyle, TypeImpl};
use schemars::schema::{InstanceType, SchemaObject};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Path of the spec, relative to the workspace root.
pub const SPEC_PATH: &str = "openapi/ontime.json";
/// Path of the generated file, relative to the workspace root.
pub const GENERATED_PATH: &str = "crates/ontime-raw/src/generated.rs";

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

/// What `run` should do with the generated text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Overwrite the checked-in file.
    Write,
    /// Compare with the checked-in file and fail with a diff when they differ.
    Check,
}

/// Validates the spec, generates the client and writes or checks it. Returns a one-line summary.
pub fn run(mode: Mode) -> Result<String> {
    let root = crate::workspace_root();
    let spec_text = std::fs::read_to_string(root.join(SPEC_PATH))
        .with_context(|| format!("reading {SPEC_PATH}"))?;
    let generated = generate(&spec_text, &root.join("Cargo.lock"))?;
    let target = root.join(GENERATED_PATH);
    match mode {
        Mode::Write => {
            std::fs::write(&target, &generated)
                .with_context(|| format!("writing {GENERATED_PATH}"))?;
            Ok(format!(
                "wrote {GENERATED_PATH} ({} lines)",
                generated.lines().count()
            ))
        }
        Mode::Check => {
            let current = std::fs::read_to_string(&target).unwrap_or_default();
            // Git may check files out with CRLF line ends on some machines.
            let current = current.replace("\r\n", "\n");
            if current == generated {
                Ok(format!("{GENERATED_PATH} is up to date with {SPEC_PATH}"))
            } else {
                bail!(
                    "{GENERATED_PATH} is stale relative to {SPEC_PATH}:\n{}\nrun `cargo xtask codegen` and commit the result",
                    short_diff(&current, &generated)
                )
            }
        }
    }
}

/// Validates `spec_text` and returns the formatted generated source.
pub fn generate(spec_text: &str, lockfile: &Path) -> Result<String> {
    let json: Value = serde_json::from_str(spec_text).context("openapi/ontime.json is not JSON")?;
    let problems = validate(&json);
    if !problems.is_empty() {
        bail!(
            "openapi/ontime.json has {} problem(s):\n  {}",
            problems.len(),
            problems.join("\n  ")
        );
    }
    let spec: OpenAPI = serde_json::from_value(normalise(json))
        .context("openapi/ontime.json is not an OpenAPI 3.0 document")?;
    let mut generator = Generator::new(&settings());
    let tokens = generator
        .generate_tokens(&spec)
        .map_err(|e| anyhow!("progenitor could not generate the client: {e}"))?;
    let file = syn::parse2::<syn::File>(tokens).context("progenitor produced invalid Rust")?;
    let body = progenitor_impl::space_out_items(prettyplease::unparse(&file))
        .map_err(|e| anyhow!("formatting the generated client: {e}"))?;
    let body = default_extra_in_builders(&body)?;
    Ok(format!("{}{body}", header(spec_text, lockfile)))
}

/// typify gives the flattened `extra` map (fields the spec does not list) no builder default, so
/// every `types::X::builder()` would fail with "no value supplied for extra" unless the caller
/// set it, and an operation whose optional body was left unset could not be sent at all. An
/// empty map is the right default: nothing unknown to keep.
fn default_extra_in_builders(source: &str) -> Result<String> {
    const MISSING: &str = r#"extra: Err("no value supplied for extra".to_string()),"#;
    const EMPTY: &str = "extra: Ok(Default::default()),";
    if !source.contains(MISSING) {
        bail!("typify's builder output changed: update default_extra_in_builders in xtask");
    }
    Ok(source.replace(MISSING, EMPTY))
}

/// Adapts the spec to progenitor's limits without changing what it says.
///
/// progenitor counts a `default` response as a success response, so next to a typed `200`/`201`
/// it would see two success types and refuse the operation. The spec's `default` means "any other
/// fault", so for the generator it becomes the `5XX` range (same fault schema). A `4XX` range is
/// not added: progenitor matches ranges before exact codes and would shadow the listed 4xx codes.
pub fn normalise(mut spec: Value) -> Value {
    let Some(paths) = spec.get_mut("paths").and_then(Value::as_object_mut) else {
        return spec;
    };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for op in item.values_mut() {
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

fn settings() -> GenerationSettings {
    let mut settings = GenerationSettings::new();
    settings
        .with_interface(InterfaceStyle::Builder)
        .with_tag(TagStyle::Merged)
        // Per-client hooks (auth header, response observer): implemented by hand in
        // crates/ontime-raw/src/hooks.rs.
        .with_inner_type(
            "crate::hooks::Hooks"
                .parse::<proc_macro2::TokenStream>()
                .expect("a path"),
        )
        .with_derive("PartialEq")
        .with_map_type("::std::collections::BTreeMap")
        .with_conversion(
            string_format("date-time"),
            "crate::lenient::OnTimeDateTime",
            [TypeImpl::Display, TypeImpl::FromStr].into_iter(),
        )
        .with_conversion(
            string_format("timespan"),
            "crate::lenient::TimeSpan",
            [TypeImpl::Display, TypeImpl::FromStr].into_iter(),
        );
    for name in LENIENT_ENUMS {
        settings.with_replacement(
            name,
            format!("crate::lenient::{name}"),
            [TypeImpl::Display, TypeImpl::FromStr, TypeImpl::Default].into_iter(),
        );
    }
    settings
}

fn string_format(format: &str) -> SchemaObject {
    SchemaObject {
        instance_type: Some(InstanceType::String.into()),
        format: Some(format.to_string()),
        ..Default::default()
    }
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
    problems
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

fn header(spec_text: &str, lockfile: &Path) -> String {
    let digest = Sha256::digest(spec_text.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    let lock = std::fs::read_to_string(lockfile).unwrap_or_default();
    let tools = ["progenitor-impl", "typify-impl", "prettyplease"]
        .iter()
        .map(|name| format!("{name} {}", locked_version(&lock, name).unwrap_or("?")))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "// @generated by `cargo xtask codegen` from {SPEC_PATH}; do not edit by hand.\n\
         // Tools: {tools}.\n\
         // Spec sha256: {hex}\n\n"
    )
}

/// The version Cargo.lock records for `name` (first match).
fn locked_version<'a>(lock: &'a str, name: &str) -> Option<&'a str> {
    let needle = format!("name = \"{name}\"");
    let mut lines = lock.lines();
    lines.find(|line| *line == needle)?;
    lines
        .next()?
        .strip_prefix("version = \"")?
        .strip_suffix('"')
}

fn short_diff(old: &str, new: &str) -> String {
    let diff = similar::TextDiff::from_lines(old, new);
    let text = diff
        .unified_diff()
        .context_radius(2)
        .header("checked in", "generated")
        .to_string();
    const MAX_LINES: usize = 60;
    let total = text.lines().count();
    let mut shown: String = text.lines().take(MAX_LINES).collect::<Vec<_>>().join("\n");
    if total > MAX_LINES {
        let _ = write!(shown, "\n... ({} more diff lines)", total - MAX_LINES);
    }
    shown
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
    fn locked_version_reads_cargo_lock_entries() {
        let lock = "[[package]]\nname = \"prettyplease\"\nversion = \"0.2.37\"\n";
        assert_eq!(locked_version(lock, "prettyplease"), Some("0.2.37"));
        assert_eq!(locked_version(lock, "syn"), None);
    }

    #[test]
    fn short_diff_names_the_changed_lines() {
        let diff = short_diff("a\nb\n", "a\nc\n");
        assert!(diff.contains("-b") && diff.contains("+c"), "{diff}");
    }
}
