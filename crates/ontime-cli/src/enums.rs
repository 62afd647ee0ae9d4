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

/// A name as users may type it: case, spaces, dashes and underscores do not count.
fn squash(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, ' ' | '-' | '_'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Why a typed value is not one of an enum's.
#[derive(Debug, PartialEq, Eq)]
pub enum Unknown {
    /// A number that is not one of the codes.
    Code(i64),
    /// A name that is not one of the names, and the closest name (within three edits).
    Name { closest: Option<&'static str> },
}

/// A value of `kind` as a user types it: a name (any case, spaces, dashes and underscores
/// ignored: `assigned-in-route` is `AssignedInRoute`) or a code, as `(code, name)`.
pub fn typed(kind: &index::Enum, text: &str) -> Result<(i64, &'static str), Unknown> {
    let text = text.trim();
    if let Ok(code) = text.parse::<i64>() {
        return name_of_code(kind, code)
            .map(|name| (code, name))
            .ok_or(Unknown::Code(code));
    }
    let wanted = squash(text);
    if let Some(known) = kind.values.iter().find(|(_, name)| squash(name) == wanted) {
        return Ok(*known);
    }
    let closest = kind
        .values
        .iter()
        .map(|(_, name)| (strsim::levenshtein(&squash(name), &wanted), *name))
        .filter(|(distance, _)| *distance <= 3)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name);
    Err(Unknown::Name { closest })
}

/// The names of `kind`, for messages: `None, Dispatched, …`.
pub fn names(kind: &index::Enum) -> String {
    let names: Vec<&str> = kind.values.iter().map(|(_, name)| *name).collect();
    names.join(", ")
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
    if let Ok((code, _)) = typed(kind, raw) {
        return Ok(Value::from(code));
    }
    let codes: Vec<String> = kind
        .values
        .iter()
        .map(|(code, _)| code.to_string())
        .collect();
    Err(format!(
        "{:?} is not a known {}: valid values are {} (any case), or their codes {}",
        raw.trim(),
        enum_words(kind),
        names(kind),
        codes.join(", "),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The index's code/name pairs, which the CLI reads, are the facade's `LenientEnum`
    /// types' (`args::status` turns a code from the index into a `StatusLevel`).
    fn agrees<E: ontime::LenientEnum>() {
        let kind = index::enumeration(E::NAME).expect("the enum is in the index");
        let typed: Vec<(i64, &str)> = E::all()
            .iter()
            .map(|v| (v.code().expect("a code"), v.name().expect("a name")))
            .collect();
        assert_eq!(kind.values, typed.as_slice(), "{}", E::NAME);
    }

    #[test]
    fn the_index_and_the_lenient_types_agree() {
        use ontime::*;
        agrees::<CompensationRole>();
        agrees::<CompensationType>();
        agrees::<LogInType>();
        agrees::<PriceModifierInput>();
        agrees::<PriceModifierType>();
        agrees::<PricingMethod>();
        agrees::<SignatureType>();
        agrees::<StatusLevel>();
        assert_eq!(
            index::ENUMS.len(),
            8,
            "an enum added to the spec is checked here too"
        );
    }

    #[test]
    fn typed_names_ignore_case_spaces_and_dashes() {
        let kind = &index::STATUS_LEVEL;
        assert_eq!(typed(kind, "assigned-in-route"), Ok((2, "AssignedInRoute")));
        assert_eq!(
            typed(kind, " Assigned In_Route "),
            Ok((2, "AssignedInRoute"))
        );
        assert_eq!(typed(kind, "3"), Ok((3, "Delivered")));
        assert_eq!(typed(kind, "42"), Err(Unknown::Code(42)));
        let closest = Some("Delivered");
        assert_eq!(typed(kind, "delivred"), Err(Unknown::Name { closest }));
        assert_eq!(
            typed(kind, "zzzzzzzzz"),
            Err(Unknown::Name { closest: None })
        );
    }

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
