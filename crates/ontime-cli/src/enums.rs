//! The CLI's one enum vocabulary: the spec's int-or-name enums (`ontime::index::ENUMS`, the
//! same code/name pairs as the facade's `LenientEnum` types), named in output and checked in
//! input.

use ontime::index;
use serde_json::Value;

/// The name of an enum value given as a code or a name; `None` for values the spec does not
/// list.
pub fn enum_name(kind: &index::Enum, value: &Value) -> Option<&'static str> {
    match value {
        Value::Number(n) => n.as_i64().and_then(|code| name_of_code(kind, code)),
        Value::String(text) => known_value(kind, text).map(|(_, name)| name),
        _ => None,
    }
}

fn name_of_code(kind: &index::Enum, code: i64) -> Option<&'static str> {
    kind.values
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, n)| *n)
}

/// A known value of `kind` written as a name (any case) or a code, as `(code, name)`.
fn known_value(kind: &index::Enum, text: &str) -> Option<(i64, &'static str)> {
    let text = text.trim();
    match text.parse::<i64>() {
        Ok(code) => name_of_code(kind, code).map(|name| (code, name)),
        Err(_) => kind
            .values
            .iter()
            .find(|(_, name)| name.eq_ignore_ascii_case(text))
            .copied(),
    }
}

/// What an enum is called in messages: `StatusLevel` is "status level".
fn enum_words(kind: &index::Enum) -> String {
    let mut words = String::new();
    for c in kind.name.chars() {
        if c.is_ascii_uppercase() && !words.is_empty() {
            words.push(' ');
        }
        words.push(c.to_ascii_lowercase());
    }
    words
}

/// A value for an enum field typed by a user: a known name (any case) or a known code, as the
/// code's JSON number. Anything else is refused with the valid names: the library keeps values
/// it does not know (the server may know them), but a typo should not reach the server.
pub fn known_enum(kind: &index::Enum, raw: &str) -> Result<Value, String> {
    if let Some((code, _)) = known_value(kind, raw) {
        return Ok(Value::from(code));
    }
    let names: Vec<&str> = kind.values.iter().map(|(_, name)| *name).collect();
    let codes: Vec<String> = kind
        .values
        .iter()
        .map(|(code, _)| code.to_string())
        .collect();
    Err(format!(
        "{:?} is not a known {}: valid values are {} (any case), or their codes {}",
        raw.trim(),
        enum_words(kind),
        names.join(", "),
        codes.join(", "),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn enums_by_the_spec_index() {
        let kind = &index::LOG_IN_TYPE;
        let first = kind.values[0];
        assert_eq!(known_enum(kind, &first.0.to_string()), Ok(json!(first.0)));
        assert_eq!(
            known_enum(kind, &format!(" {} ", first.1.to_uppercase())),
            Ok(json!(first.0))
        );
        let err = known_enum(kind, "nope").unwrap_err();
        assert!(
            err.starts_with("\"nope\" is not a known log in type: valid values are "),
            "{err}"
        );
        assert!(err.contains(first.1), "{err}");
        assert!(known_enum(kind, "12345").is_err());
        assert_eq!(
            enum_name(&index::STATUS_LEVEL, &json!("delivered")),
            Some("Delivered")
        );
        assert_eq!(
            enum_name(&index::STATUS_LEVEL, &json!(3)),
            Some("Delivered")
        );
        assert_eq!(enum_name(&index::STATUS_LEVEL, &json!("Teleported")), None);
    }
}
