//! Query strings, faults and response bodies the way the OnTime (ASP.NET Web API) service does
//! them.

use bytes::Bytes;
use chrono::{FixedOffset, NaiveDateTime};
use ontime_raw::lenient::OnTimeDateTime;
use serde::Serialize;
use uuid::Uuid;

/// Decodes a path segment's `%XX` escapes (invalid escapes are kept as written; `+` stays `+`).
pub(crate) fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// A fault: status and the `{"Message": ..., "MessageDetail": ...}` body.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ApiError {
    pub status: u16,
    pub message: String,
    pub detail: Option<String>,
}

impl ApiError {
    pub(crate) fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            detail: None,
        }
    }

    pub(crate) fn bad_request(detail: impl Into<String>) -> Self {
        Self {
            status: 400,
            message: "The request is invalid.".to_owned(),
            detail: Some(detail.into()),
        }
    }

    pub(crate) fn not_found(what: &str, id: impl std::fmt::Display) -> Self {
        Self::new(404, format!("{what} {id} was not found."))
    }

    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, message)
    }

    pub(crate) fn body(&self) -> Bytes {
        #[derive(Serialize)]
        struct Fault<'a> {
            #[serde(rename = "Message")]
            message: &'a str,
            #[serde(rename = "MessageDetail", skip_serializing_if = "Option::is_none")]
            detail: Option<&'a str>,
        }
        Bytes::from(
            serde_json::to_vec(&Fault {
                message: &self.message,
                detail: self.detail.as_deref(),
            })
            .unwrap_or_default(),
        )
    }
}

/// A parsed query string: names compare case-insensitively (as ASP.NET binds them), the first
/// value of a repeated name wins, and an empty value counts as absent.
#[derive(Debug, Default)]
pub(crate) struct Query {
    pairs: Vec<(String, String)>,
    /// The account's UTC offset: dates that carry an offset are converted to it.
    offset: Option<FixedOffset>,
}

/// The account-local wall-clock time of `d`: values written with an offset (or `Z`) are
/// converted to the account's offset; values without one already are account-local.
pub(crate) fn account_local(d: &OnTimeDateTime, offset: Option<FixedOffset>) -> NaiveDateTime {
    match (d.to_fixed(), offset) {
        (Some(at), Some(account)) if !d.is_unset() => at.with_timezone(&account).naive_local(),
        _ => d.naive_local(),
    }
}

/// The names of the spec's `ontime-date-time` properties (the same in every schema that has them).
fn date_time_properties() -> &'static std::collections::HashSet<String> {
    static NAMES: std::sync::LazyLock<std::collections::HashSet<String>> =
        std::sync::LazyLock::new(|| {
            let spec: serde_json::Value = serde_json::from_str(crate::SPEC).unwrap_or_default();
            let mut names = std::collections::HashSet::new();
            if let Some(schemas) = spec["components"]["schemas"].as_object() {
                for schema in schemas.values() {
                    for (name, property) in schema["properties"].as_object().into_iter().flatten() {
                        if property["format"] == "ontime-date-time" {
                            names.insert(name.clone());
                        }
                    }
                }
            }
            names
        });
    &NAMES
}

/// Rewrites every date-time property of a request body that carries an offset as account-local
/// time without offset, the way OnTime stores and returns date-times.
pub(crate) fn localise_dates(value: &mut serde_json::Value, offset: FixedOffset) {
    match value {
        serde_json::Value::Object(map) => {
            for (name, field) in map.iter_mut() {
                if let serde_json::Value::String(text) = field
                    && date_time_properties().contains(name)
                    && let Ok(d) = text.parse::<OnTimeDateTime>()
                    && d.to_fixed().is_some()
                {
                    *text = OnTimeDateTime::naive(account_local(&d, Some(offset))).to_string();
                } else {
                    localise_dates(field, offset);
                }
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                localise_dates(item, offset);
            }
        }
        _ => {}
    }
}

impl Query {
    pub(crate) fn parse(raw: Option<&str>) -> Self {
        // `application/x-www-form-urlencoded`: `+` is a space, invalid escapes stay as written.
        let pairs = form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Self {
            pairs,
            offset: None,
        }
    }

    /// Dates with an offset are read as account-local time at `offset`.
    pub(crate) fn in_account_offset(mut self, offset: FixedOffset) -> Self {
        self.offset = Some(offset);
        self
    }

    /// The value of `name`, if present and not empty.
    pub(crate) fn str(&self, name: &str) -> Option<&str> {
        self.typed(name).filter(|v| !v.is_empty())
    }

    /// The value of a typed parameter (GUID, date, number, boolean, enum), if present. Unlike
    /// [`str`](Self::str), a parameter given with an empty value is returned (as `""`), so that
    /// it fails to parse: a blank typed filter is a client bug worth a 400, not "no filter".
    fn typed(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn uuid(&self, name: &str) -> Result<Option<Uuid>, ApiError> {
        self.typed(name)
            .map(|v| {
                parse_guid(v).ok_or_else(|| {
                    ApiError::bad_request(format!("The value '{v}' is not valid for {name}."))
                })
            })
            .transpose()
    }

    pub(crate) fn date(&self, name: &str) -> Result<Option<NaiveDateTime>, ApiError> {
        self.typed(name)
            .map(|v| {
                v.parse::<OnTimeDateTime>()
                    .map(|d| account_local(&d, self.offset))
                    .map_err(|e| {
                        ApiError::bad_request(format!(
                            "The value '{v}' is not valid for {name}: {e}."
                        ))
                    })
            })
            .transpose()
    }

    pub(crate) fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        self.typed(name)
            .map(|v| match v.to_ascii_lowercase().as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(ApiError::bad_request(format!(
                    "The value '{v}' is not valid for {name}."
                ))),
            })
            .transpose()
    }

    pub(crate) fn f64(&self, name: &str) -> Result<Option<f64>, ApiError> {
        self.typed(name)
            .map(|v| {
                v.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .ok_or_else(|| {
                        ApiError::bad_request(format!("The value '{v}' is not valid for {name}."))
                    })
            })
            .transpose()
    }

    /// An enum value: a known name (any case) or a known integer code. Anything else is a 400.
    /// (.NET would cast an unknown integer code to the enum and match nothing; refusing it
    /// here points a client at its mistake, and keeps to the values the spec allows.)
    pub(crate) fn enumeration<T>(&self, name: &str) -> Result<Option<T>, ApiError>
    where
        T: std::str::FromStr + ontime_raw::lenient::LenientEnum,
    {
        self.typed(name)
            .map(|v| match v.parse::<T>() {
                Ok(e) if !e.is_unknown() => Ok(e),
                _ => Err(ApiError::bad_request(format!(
                    "The value '{v}' is not valid for {name}."
                ))),
            })
            .transpose()
    }
}

/// Parses a GUID in the forms .NET accepts (`D`, `N`, `B`, `P`).
pub(crate) fn parse_guid(s: &str) -> Option<Uuid> {
    let s = s.trim();
    let inner = s
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .or_else(|| s.strip_prefix('(').and_then(|s| s.strip_suffix(')')))
        .unwrap_or(s);
    if inner.len() != 36 && inner.len() != 32 {
        return None;
    }
    Uuid::parse_str(inner).ok()
}

/// A successful response body.
pub(crate) enum Reply {
    /// JSON with this status.
    Json(u16, Bytes),
    /// Other bytes with a content type.
    Bytes(u16, &'static str, Bytes),
}

impl Reply {
    pub(crate) fn json<T: Serialize + ?Sized>(status: u16, value: &T) -> Result<Self, ApiError> {
        serde_json::to_vec(value)
            .map(|v| Self::Json(status, Bytes::from(v)))
            .map_err(|e| ApiError::new(500, format!("An error has occurred: {e}")))
    }

    pub(crate) fn ok<T: Serialize + ?Sized>(value: &T) -> Result<Self, ApiError> {
        Self::json(200, value)
    }

    pub(crate) fn created<T: Serialize + ?Sized>(value: &T) -> Result<Self, ApiError> {
        Self::json(201, value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parsing() {
        let q = Query::parse(Some(
            "customerName=Vesigo%20Studios&City=Dallas+TX&empty=&x",
        ));
        assert_eq!(q.str("customername"), Some("Vesigo Studios"));
        assert_eq!(q.str("city"), Some("Dallas TX"));
        assert_eq!(q.str("empty"), None);
        assert_eq!(q.str("x"), None);
        assert_eq!(percent_decode("Rush%20Delivery%zz%2"), "Rush Delivery%zz%2");
        // A path keeps `+`; a query reads it as a space and `%2B` as `+`.
        assert_eq!(percent_decode("a+b%2Bc"), "a+b+c");
        let q = Query::parse(Some("&&name=a+b%2Bc&note=x=y%zz&bad=%FF&"));
        assert_eq!(q.str("name"), Some("a b+c"));
        assert_eq!(q.str("note"), Some("x=y%zz"));
        assert_eq!(q.str("bad"), Some("\u{FFFD}"));
        assert_eq!(percent_decode("%C3%A9%FF"), "\u{e9}\u{FFFD}");
        assert!(Query::parse(Some("id=nope")).uuid("id").is_err());
        assert!(parse_guid("{6f9619ff-8b86-d011-b42d-00c04fc964ff}").is_some());
    }
}
