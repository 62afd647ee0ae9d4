//! Rendering one value: table and CSV cells, the one-record detail view, dates and sizes.

use serde_json::Value;

use crate::enums::enum_name;
use crate::fields::{Field, Fmt};
use crate::views::View;

/// Follows `path` into a JSON value.
pub fn lookup<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| v.get(key))
}

/// An enum value by name; a value the spec does not list verbatim.
fn enum_cell(kind: &ontime::index::Enum, value: &Value) -> String {
    match enum_name(kind, value) {
        Some(name) => name.to_string(),
        None => plain(value),
    }
}

/// A scalar as plain text (strings without quotes).
pub fn plain(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A date-time shortened for tables: `2026-11-24T15:00:00` becomes `2026-11-24 15:00`; an
/// offset is kept (`2026-11-24 15:00Z`); the .NET "no date" value becomes empty.
pub fn short_date(text: &str) -> String {
    if text.starts_with("0001-01-01") {
        return String::new();
    }
    let Ok(dt) = ontime::OnTimeDateTime::parse(text) else {
        return text.to_string();
    };
    let mut out = dt.naive_local().format("%Y-%m-%d %H:%M").to_string();
    match dt.offset() {
        ontime::DateTimeOffset::Unspecified => {}
        ontime::DateTimeOffset::Utc => out.push('Z'),
        ontime::DateTimeOffset::Fixed(offset) => out.push_str(&offset.to_string()),
    }
    out
}

/// A date-time for the detail view: `2026-11-24 15:00:07` (offset kept).
pub fn long_date(text: &str) -> String {
    match ontime::OnTimeDateTime::parse(text) {
        Ok(dt) if !dt.is_unset() => text.replacen('T', " ", 1),
        Ok(_) => String::new(),
        Err(_) => text.to_string(),
    }
}

/// Roughly how many bytes a base64 text decodes to.
pub fn base64_len(text: &str) -> usize {
    let text = text.trim();
    let padding = text.bytes().rev().take_while(|b| *b == b'=').count();
    (text.len() / 4 * 3).saturating_sub(padding)
}

/// Human size: `812 B`, `12.4 KiB`, `3.1 MiB`.
pub fn human_size(bytes: usize) -> String {
    const KIB: f64 = 1024.0;
    let b = bytes as f64;
    if b < KIB {
        format!("{bytes} B")
    } else if b < KIB * KIB {
        format!("{:.1} KiB", b / KIB)
    } else {
        format!("{:.1} MiB", b / KIB / KIB)
    }
}

/// A value as shown in a table cell.
pub fn table_cell(value: Option<&Value>, fmt: Fmt) -> String {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return String::new();
    };
    match fmt {
        Fmt::Date => value
            .as_str()
            .map(short_date)
            .unwrap_or_else(|| plain(value)),
        Fmt::Money => match value.as_f64() {
            Some(n) => format!("{n:.2}"),
            None => plain(value),
        },
        Fmt::Bool => match value.as_bool() {
            Some(true) => "yes".into(),
            Some(false) => "no".into(),
            None => plain(value),
        },
        Fmt::Enum(kind) => enum_cell(kind, value),
        Fmt::Bytes => value
            .as_str()
            .map(|s| human_size(base64_len(s)))
            .unwrap_or_default(),
        Fmt::Array => value
            .as_array()
            .map(|a| a.len().to_string())
            .unwrap_or_else(|| plain(value)),
        Fmt::Object(_) => match value {
            Value::Object(map) => map.get("Name").map(plain).unwrap_or_else(|| "{…}".into()),
            other => plain(other),
        },
        Fmt::Text | Fmt::Id | Fmt::Num => one_line(&plain(value)),
    }
}

/// A value as written in a CSV cell: wire text, enums by name.
pub fn csv_cell(value: Option<&Value>, fmt: Fmt) -> String {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return String::new();
    };
    match fmt {
        Fmt::Enum(kind) => enum_cell(kind, value),
        _ => plain(value),
    }
}

/// Line breaks and tabs become spaces, so one value stays on one table line.
pub fn one_line(text: &str) -> String {
    if text.contains(['\n', '\r', '\t']) {
        text.split(['\n', '\r', '\t'])
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        text.to_string()
    }
}

/// The rows of the one-record detail view: every field that has a value, embedded records
/// flattened one level (`CollectionLocation.City`), lists counted.
pub fn detail_rows(view: &View, record: &Value) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    let Value::Object(map) = record else {
        rows.push(("Value".into(), plain(record)));
        return rows;
    };
    let known = view.fields.iter().map(|(name, fmt)| (*name, Some(*fmt)));
    let extra = map
        .keys()
        .filter(|k| view.field(k).is_none())
        .map(|k| (k.as_str(), None));
    for (name, fmt) in known.chain(extra) {
        let Some(value) = map.get(name).filter(|v| !v.is_null()) else {
            continue;
        };
        push_detail(&mut rows, name.to_string(), value, fmt, true);
    }
    rows
}

fn push_detail(
    rows: &mut Vec<(String, String)>,
    name: String,
    value: &Value,
    fmt: Option<Fmt>,
    top: bool,
) {
    match (value, fmt) {
        (Value::Null, _) => {}
        (Value::Object(map), fmt) if top => {
            let sub: &[Field] = match fmt {
                Some(Fmt::Object(fields)) => fields,
                _ => &[],
            };
            for (key, v) in map {
                let sub_fmt = sub.iter().find(|(n, _)| n == key).map(|(_, f)| *f);
                push_detail(rows, format!("{name}.{key}"), v, sub_fmt, false);
            }
        }
        (value @ Value::Object(_), _) => {
            rows.push((name, table_cell(Some(value), Fmt::Object(&[]))))
        }
        (Value::Array(items), _) => {
            let shown = if items.is_empty() {
                "none".to_string()
            } else if items.len() <= 3 && items.iter().all(|v| v.is_string()) {
                items.iter().map(plain).collect::<Vec<_>>().join(", ")
            } else if items.len() == 1 {
                "1 entry".to_string()
            } else {
                format!("{} entries", items.len())
            };
            rows.push((name, shown));
        }
        // Dates to the second: a detail view has room for them.
        (Value::String(text), Some(Fmt::Date)) => rows.push((name, long_date(text))),
        (value, Some(fmt)) => rows.push((name, table_cell(Some(value), fmt))),
        (value, None) => rows.push((name, one_line(&plain(value)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::ORDER;
    use ontime::index;
    use serde_json::json;

    #[test]
    fn cells_render_by_kind() {
        assert_eq!(
            table_cell(Some(&json!("2026-11-24T15:00:00")), Fmt::Date),
            "2026-11-24 15:00"
        );
        assert_eq!(
            table_cell(Some(&json!("2026-11-24T15:00:00-05:00")), Fmt::Date),
            "2026-11-24 15:00-05:00"
        );
        assert_eq!(
            table_cell(Some(&json!("0001-01-01T00:00:00")), Fmt::Date),
            ""
        );
        assert_eq!(table_cell(Some(&json!(42.5)), Fmt::Money), "42.50");
        assert_eq!(
            table_cell(Some(&json!(3)), Fmt::Enum(&index::STATUS_LEVEL)),
            "Delivered"
        );
        assert_eq!(
            table_cell(Some(&json!(42)), Fmt::Enum(&index::STATUS_LEVEL)),
            "42"
        );
        assert_eq!(table_cell(Some(&json!(true)), Fmt::Bool), "yes");
        assert_eq!(table_cell(Some(&json!("aGVsbG8=")), Fmt::Bytes), "5 B");
        assert_eq!(table_cell(Some(&json!([1, 2])), Fmt::Array), "2");
        assert_eq!(table_cell(None, Fmt::Text), "");
        assert_eq!(table_cell(Some(&json!("a\nb")), Fmt::Text), "a b");
        assert_eq!(
            csv_cell(Some(&json!(6)), Fmt::Enum(&index::STATUS_LEVEL)),
            "Assigned"
        );
    }

    #[test]
    fn detail_flattens_one_level_and_names_enums() {
        let order = json!({
            "ID": "44bc0a1d-ef24-49b5-a0cb-54181ce5dbcf",
            "StatusLevel": 3,
            "Status": {"Level": 3, "Name": "Delivered"},
            "Items": [{}, {}],
            "Comments": null,
            "Future": "kept"
        });
        let rows = detail_rows(&ORDER, &order);
        let shown: Vec<_> = rows.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(
            shown,
            [
                "ID=44bc0a1d-ef24-49b5-a0cb-54181ce5dbcf",
                "StatusLevel=Delivered",
                "Status.Level=Delivered",
                "Status.Name=Delivered",
                "Items=2 entries",
                "Future=kept"
            ]
        );
    }
}
