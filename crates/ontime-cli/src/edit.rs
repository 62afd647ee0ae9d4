//! Editing any record's fields by name (`--set FIELD=VALUE`, `--unset FIELD`) and checking a
//! record a user wrote against the spec. Which fields a record has, and their kinds, come from
//! its [`View`] (built from the spec index), so a field added to the spec can be set with no
//! edit here, for every record type.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::CliError;
use crate::views::{Field, Fmt, View};
use crate::{args, cells, enums};

/// The field editor of one record type.
pub struct Editor {
    /// The record's view: its fields and their kinds.
    pub view: &'static View,
    /// Fields this command does not change, each with the message that says why.
    pub refused: &'static [(&'static str, &'static str)],
    /// How to see the record's fields, for the hint on an unknown field.
    pub fields_hint: &'static str,
}

/// One change: a path into the record's JSON (`CollectionLocation.City`) and the new value as
/// typed (`None` clears the field).
#[derive(Clone, Debug)]
pub struct Change {
    pub path: Vec<String>,
    pub raw: Option<String>,
}

impl Editor {
    /// The canonical top-level field name for `name` (any case), or a usage error.
    pub fn field_name(&self, name: &str) -> Result<&'static str, CliError> {
        if let Some((field, _)) = self
            .view
            .fields
            .iter()
            .find(|(f, _)| f.eq_ignore_ascii_case(name))
        {
            return Ok(field);
        }
        let suggestion = did_you_mean(name, self.view.fields);
        Err(CliError::usage(format!(
            "{} have no field {name:?}{suggestion}",
            self.view.plural
        ))
        .with_hint(self.fields_hint))
    }

    /// The kind of the field at `path`, following an embedded record's fields one level
    /// (`CollectionLocation.City`); `None` for fields not described.
    pub fn field_fmt(&self, path: &[String]) -> Option<Fmt> {
        let mut fields: &[Field] = self.view.fields;
        let mut fmt = None;
        for key in path {
            fmt = fields
                .iter()
                .find(|(f, _)| f.eq_ignore_ascii_case(key))
                .map(|(_, fmt)| *fmt);
            fields = match fmt {
                Some(Fmt::Object(sub)) => sub,
                _ => &[],
            };
        }
        fmt
    }

    /// The changes `--set` and `--unset` ask for, checked against the record's fields: an
    /// unknown or refused field, or an enum value outside the spec's list, is a usage error.
    pub fn changes(
        &self,
        set: &[(String, String)],
        unset: &[String],
    ) -> Result<Vec<Change>, CliError> {
        let mut out = Vec::new();
        let named = set
            .iter()
            .map(|(f, v)| (f.as_str(), Some(v.clone())))
            .chain(unset.iter().map(|f| (f.as_str(), None)));
        for (field, raw) in named {
            let mut path: Vec<String> = field.split('.').map(|s| s.trim().to_string()).collect();
            if path.iter().any(String::is_empty) {
                return Err(CliError::usage(format!("{field:?} is not a field name")));
            }
            let top = self.field_name(&path[0])?;
            if let Some((_, why)) = self.refused.iter().find(|(name, _)| *name == top) {
                return Err(CliError::usage(*why));
            }
            path[0] = top.to_string();
            // An enum takes only the names and codes the spec lists (as its code).
            let raw = match (self.field_fmt(&path), raw) {
                (Some(Fmt::Enum(kind)), Some(raw)) => Some(
                    enums::known_enum(kind, &raw)
                        .map_err(|e| CliError::usage(format!("{field}={raw}: {e}")))?
                        .to_string(),
                ),
                (_, raw) => raw,
            };
            out.push(Change { path, raw });
        }
        if out.is_empty() {
            return Err(CliError::usage(
                "nothing to change: give --set FIELD=VALUE or --unset FIELD",
            ));
        }
        Ok(out)
    }

    /// Refuses what the spec says the record cannot hold, before it is posted: fields the
    /// record (and its embedded records) does not have, and enum values outside the spec's
    /// lists. The library keeps such values (a newer server may know them); what a user wrote
    /// is checked.
    pub fn check<R: Serialize>(&self, record: &R) -> Result<(), String> {
        let value = serde_json::to_value(record).map_err(|e| e.to_string())?;
        let Value::Object(map) = &value else {
            return Ok(());
        };
        let plural = self.view.plural;
        // A field named with a null value is still a field named: unknown ones are refused.
        for key in map.keys() {
            if self.view.field(key).is_none() {
                let suggestion = did_you_mean(key, self.view.fields);
                return Err(format!("{plural} have no field {key}{suggestion}"));
            }
        }
        for (key, value) in map {
            if let (Some(Fmt::Object(sub)), Value::Object(inner)) = (self.view.field(key), value) {
                // A map with free keys (no field list) is not checked.
                if sub.is_empty() {
                    continue;
                }
                if let Some(name) = inner.keys().find(|k| !sub.iter().any(|(f, _)| f == k)) {
                    let suggestion = did_you_mean(name, sub);
                    return Err(format!("{plural} have no field {key}.{name}{suggestion}"));
                }
            }
        }
        for (key, value) in map.iter().filter(|(_, v)| !v.is_null()) {
            let fields = match self.view.field(key) {
                Some(Fmt::Object(sub)) => sub
                    .iter()
                    .filter_map(|(name, fmt)| {
                        let inner = value.get(name).filter(|v| !v.is_null())?;
                        Some((format!("{key}.{name}"), *fmt, inner))
                    })
                    .collect(),
                Some(fmt) => vec![(key.clone(), fmt, value)],
                None => vec![],
            };
            for (field, fmt, value) in fields {
                if let Fmt::Enum(kind) = fmt {
                    enums::known_enum(kind, &cells::plain(value))
                        .map_err(|e| format!("{field}: {e}"))?;
                }
            }
        }
        Ok(())
    }
}

/// ` (did you mean X?)` for the field of `fields` closest to `name`, if one is close.
pub fn did_you_mean(name: &str, fields: &[Field]) -> String {
    fields
        .iter()
        .map(|(f, _)| {
            (
                args::levenshtein(&f.to_lowercase(), &name.to_lowercase()),
                f,
            )
        })
        .filter(|(d, _)| *d <= 3)
        .min_by_key(|(d, _)| *d)
        .map(|(_, f)| format!(" (did you mean {f}?)"))
        .unwrap_or_default()
}

fn set_path(target: &mut Value, path: &[String], value: Value) {
    let mut node = target;
    for key in &path[..path.len() - 1] {
        if !node.get(key).is_some_and(Value::is_object) {
            node[key.as_str()] = Value::Object(Default::default());
        }
        node = &mut node[key.as_str()];
    }
    node[path[path.len() - 1].as_str()] = value;
}

/// Applies the changes to a record of any type: each value as JSON if that fits the field,
/// else as text. Fields not named keep their values, unknown ones included.
pub fn apply<R: Serialize + DeserializeOwned>(record: &R, changes: &[Change]) -> Result<R, String> {
    let mut value = serde_json::to_value(record).map_err(|e| e.to_string())?;
    for change in changes {
        let Some(raw) = &change.raw else {
            set_path(&mut value, &change.path, Value::Null);
            continue;
        };
        let as_json = serde_json::from_str::<Value>(raw).ok();
        let mut last_error = None;
        for candidate in as_json.into_iter().chain([Value::String(raw.clone())]) {
            let mut trial = value.clone();
            set_path(&mut trial, &change.path, candidate);
            match serde_json::from_value::<R>(trial.clone()) {
                Ok(_) => {
                    value = trial;
                    last_error = None;
                    break;
                }
                Err(e) => last_error = Some(e.to_string()),
            }
        }
        if let Some(error) = last_error {
            return Err(format!("{}={raw}: {error}", change.path.join(".")));
        }
    }
    serde_json::from_value(value).map_err(|e| e.to_string())
}

/// An empty record of type `R`, to check changes against before any request.
pub fn empty<R: DeserializeOwned>() -> Result<R, CliError> {
    serde_json::from_str("{}").map_err(CliError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views;
    use ontime::index;
    use ontime::types::Customer;
    use serde_json::json;

    /// The editor is not tied to orders: customers (a second record type) work the same way.
    const CUSTOMERS: Editor = Editor {
        view: &views::CUSTOMER,
        refused: &[("ID", "a customer's ID cannot be changed")],
        fields_hint: "see the fields with `ontime customers get CUSTOMER -o json`",
    };

    fn set(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn customers_take_changes_by_field_name_and_enum_name() {
        let method = index::PRICING_METHOD.values[1];
        let changes = CUSTOMERS
            .changes(
                &set(&[
                    ("name", "Acme"),
                    ("PricingMethod", method.1),
                    ("Inactive", "true"),
                ]),
                &["Comments".into()],
            )
            .unwrap();
        assert_eq!(changes[0].path, ["Name"]);
        assert_eq!(changes[1].raw, Some(method.0.to_string()));
        let customer: Customer = serde_json::from_value(json!({
            "Name": "Old", "Comments": "gone", "City": "Boston", "Future": 1
        }))
        .unwrap();
        let changed: Customer = apply(&customer, &changes).unwrap();
        let changed = serde_json::to_value(changed).unwrap();
        assert_eq!(changed["Name"], "Acme");
        assert_eq!(changed["PricingMethod"], method.0);
        assert_eq!(changed["Inactive"], true);
        assert!(changed["Comments"].is_null());
        assert_eq!(changed["City"], "Boston");
        assert_eq!(changed["Future"], 1);
        let err = apply(
            &customer,
            &CUSTOMERS
                .changes(&set(&[("Inactive", "maybe")]), &[])
                .unwrap(),
        )
        .unwrap_err();
        assert!(err.starts_with("Inactive=maybe: "), "{err}");
    }

    #[test]
    fn customers_refuse_unknown_and_refused_fields_and_unknown_enums() {
        let err = CUSTOMERS.changes(&set(&[("Nmae", "x")]), &[]).unwrap_err();
        assert_eq!(
            err.message,
            "customers have no field \"Nmae\" (did you mean Name?)"
        );
        assert!(err.hint.unwrap().contains("customers get"));
        let err = CUSTOMERS.changes(&set(&[("id", "x")]), &[]).unwrap_err();
        assert_eq!(err.message, "a customer's ID cannot be changed");
        let err = CUSTOMERS
            .changes(&set(&[("PricingMethod", "Bartering")]), &[])
            .unwrap_err();
        assert!(
            err.message.contains("is not a known pricing method"),
            "{}",
            err.message
        );
        assert!(CUSTOMERS.changes(&[], &[]).is_err());
    }

    #[test]
    fn checks_walk_fields_embedded_records_and_enums() {
        let customer: Customer =
            serde_json::from_value(json!({"Name": "Acme", "Adress": null})).unwrap();
        let err = CUSTOMERS.check(&customer).unwrap_err();
        assert!(err.starts_with("customers have no field Adress"), "{err}");
        let customer: Customer =
            serde_json::from_value(json!({"Name": "Acme", "PricingMethod": 4242})).unwrap();
        let err = CUSTOMERS.check(&customer).unwrap_err();
        assert!(
            err.starts_with("PricingMethod: \"4242\" is not a known"),
            "{err}"
        );
        let customer: Customer = serde_json::from_value(json!({"Name": "Acme"})).unwrap();
        assert_eq!(CUSTOMERS.check(&customer), Ok(()));
    }
}
