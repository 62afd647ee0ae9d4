//! Checks of `openapi/ontime.json` itself: its wire formats agree with the lenient parsers, the
//! simulator accepts what the spec allows, and every example decodes into the generated types.

mod examples;
mod formats;
mod simulator;

use serde_json::Value;

/// The spec, parsed.
pub fn spec() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi/ontime.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("the spec is JSON")
}

/// The one `pattern` every schema with `format: {format}` carries (panics if they differ).
pub fn pattern_of(spec: &Value, format: &str) -> String {
    fn walk(value: &Value, format: &str, out: &mut std::collections::BTreeSet<String>) {
        match value {
            Value::Object(map) => {
                if map.get("format").and_then(Value::as_str) == Some(format) {
                    out.insert(
                        map.get("pattern")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                    );
                }
                map.values().for_each(|v| walk(v, format, out));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, format, out)),
            _ => {}
        }
    }
    let mut found = std::collections::BTreeSet::new();
    walk(spec, format, &mut found);
    assert_eq!(found.len(), 1, "`format: {format}` patterns: {found:?}");
    found.pop_first().expect("one pattern")
}
