//! Property tests for the hand-written wire types in `ontime_raw::lenient`.
//!
//! For every type, both generated values and generated wire strings must
//! survive decode → encode → decode unchanged, the encoder must write the
//! form the OnTime API uses, and no input string may panic a parser.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};
use ontime_raw::lenient::{
    CompensationRole, CompensationType, DateTimeOffset, LogInType, OnTimeDateTime,
    PriceModifierInput, PriceModifierType, PricingMethod, SignatureType, StatusLevel, TimeSpan,
    UnknownEnumValue,
};
use proptest::prelude::*;
use serde_json::Value;

/// JSON encode then decode.
fn json_round_trip<T>(value: &T) -> Result<T, TestCaseError>
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    let text = serde_json::to_string(value).map_err(|e| TestCaseError::fail(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))
}

/// Decode a JSON string value.
fn from_json_str<T: serde::de::DeserializeOwned>(s: &str) -> serde_json::Result<T> {
    serde_json::from_value(Value::String(s.to_owned()))
}

// ---------------------------------------------------------------------------
// OnTimeDateTime
// ---------------------------------------------------------------------------

fn nanos() -> impl Strategy<Value = u32> {
    prop_oneof![
        3 => Just(0u32),
        3 => (0u32..10_000_000).prop_map(|t| t * 100), // .NET tick precision
        2 => 0u32..1_000_000_000,
        1 => (0u32..1000).prop_map(|ms| ms * 1_000_000),
    ]
}

fn naive_date_time() -> impl Strategy<Value = NaiveDateTime> {
    let year = prop_oneof![
        4 => 1i32..=9999,
        1 => -262_143i32..=262_142, // chrono's whole range
    ];
    (
        year,
        1u32..=12,
        1u32..=31,
        0u32..24,
        0u32..60,
        0u32..60,
        nanos(),
        prop::bool::weighted(0.02),
    )
        .prop_filter_map("valid calendar date", |(y, mo, d, h, mi, s, n, leap)| {
            // chrono represents a leap second as second 59 + ≥1e9 ns.
            let (s, n) = if leap {
                (59, n + 1_000_000_000)
            } else {
                (s, n)
            };
            NaiveDate::from_ymd_opt(y, mo, d)?.and_hms_nano_opt(h, mi, s, n)
        })
}

fn offset() -> impl Strategy<Value = DateTimeOffset> {
    prop_oneof![
        3 => Just(DateTimeOffset::Unspecified),
        1 => Just(DateTimeOffset::Utc),
        1 => (-23i32..=23, 0i32..60).prop_filter_map("offset", |(h, m)| {
            let secs = h * 3600 + h.signum() * m * 60;
            FixedOffset::east_opt(secs).map(DateTimeOffset::Fixed)
        }),
        1 => (-86_399i32..=86_399)
            .prop_filter_map("offset", |s| FixedOffset::east_opt(s).map(DateTimeOffset::Fixed)),
    ]
}

fn build(naive: NaiveDateTime, offset: DateTimeOffset) -> Option<OnTimeDateTime> {
    match offset {
        DateTimeOffset::Unspecified => Some(OnTimeDateTime::naive(naive)),
        DateTimeOffset::Utc => Some(OnTimeDateTime::from_utc(
            DateTime::from_naive_utc_and_offset(naive, chrono::Utc),
        )),
        DateTimeOffset::Fixed(off) => {
            let utc = naive.checked_sub_offset(off)?;
            Some(OnTimeDateTime::with_offset(
                DateTime::from_naive_utc_and_offset(utc, off),
            ))
        }
    }
}

fn date_time() -> impl Strategy<Value = OnTimeDateTime> {
    (naive_date_time(), offset()).prop_filter_map("in range", |(n, o)| build(n, o))
}

/// Checks `YYYY-MM-DDTHH:MM:SS[.f{1,9}]` followed by exactly the expected
/// offset suffix, for years 0000..=9999.
fn check_date_time_shape(s: &str, value: &OnTimeDateTime) -> Result<(), TestCaseError> {
    let b = s.as_bytes();
    let digit_at = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    for i in [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18] {
        prop_assert!(digit_at(i), "{s}: expected digit at {i}");
    }
    for (i, c) in [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')] {
        prop_assert_eq!(b.get(i), Some(&c), "{}: expected {} at {}", s, c as char, i);
    }
    let mut rest = s.get(19..).unwrap_or_default();
    if let Some(frac) = rest.strip_prefix('.') {
        let len = frac.bytes().take_while(u8::is_ascii_digit).count();
        prop_assert!((1..=9).contains(&len), "{s}: fraction length {len}");
        prop_assert!(
            !frac[..len].ends_with('0'),
            "{s}: trailing zero in fraction"
        );
        rest = &frac[len..];
    }
    match value.offset() {
        DateTimeOffset::Unspecified => prop_assert_eq!(rest, "", "{}: offset written", s),
        DateTimeOffset::Utc => prop_assert_eq!(rest, "Z"),
        DateTimeOffset::Fixed(off) => {
            let secs = off.local_minus_utc();
            let sign = if secs < 0 { '-' } else { '+' };
            let a = secs.unsigned_abs();
            let mut want = format!("{sign}{:02}:{:02}", a / 3600, a / 60 % 60);
            if a % 60 != 0 {
                want.push_str(&format!(":{:02}", a % 60));
            }
            prop_assert_eq!(rest, want.as_str());
        }
    }
    Ok(())
}

/// Wire strings in the forms the API sends, plus whether the string is in
/// canonical form (so encoding must reproduce it byte for byte).
fn date_time_wire() -> impl Strategy<Value = (String, bool)> {
    let offset = prop_oneof![
        3 => Just(String::new()),
        1 => Just("Z".to_owned()),
        2 => (prop::bool::ANY, 0u32..=23, 0u32..=59).prop_map(|(neg, h, m)| {
            format!("{}{h:02}:{m:02}", if neg { '-' } else { '+' })
        }),
    ];
    (
        0i32..=9999,
        1u32..=12,
        1u32..=28,
        0u32..=23,
        0u32..=59,
        0u32..=59,
        prop::option::of("[0-9]{1,9}"),
        offset,
    )
        .prop_map(|(y, mo, d, h, mi, s, frac, off)| {
            let mut text = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}");
            let mut canonical = true;
            if let Some(frac) = frac {
                canonical &= !frac.ends_with('0');
                text.push('.');
                text.push_str(&frac);
            }
            canonical &= off != "-00:00";
            text.push_str(&off);
            (text, canonical)
        })
}

proptest! {
    #[test]
    fn date_time_value_round_trips(value in date_time()) {
        let text = value.to_string();
        prop_assert_eq!(OnTimeDateTime::parse(&text), Ok(value), "{}", text);
        prop_assert_eq!(json_round_trip(&value)?, value);
        prop_assert_eq!(serde_json::to_value(value).ok(), Some(Value::String(text.clone())));
        if (0..=9999).contains(&chrono::Datelike::year(&value.naive_local())) {
            check_date_time_shape(&text, &value)?;
        }
    }

    #[test]
    fn date_time_no_offset_written_when_none_given(naive in naive_date_time()) {
        let text = OnTimeDateTime::naive(naive).to_string();
        let time = text.split_once('T').map(|(_, t)| t).unwrap_or_default();
        prop_assert!(!time.contains(['Z', '+', '-']), "{}", text);
        prop_assert_eq!(OnTimeDateTime::parse(&text).map(|v| v.naive_local()), Ok(naive));
    }

    #[test]
    fn date_time_to_fixed_agrees_with_with_offset(value in date_time()) {
        match value.to_fixed() {
            None => prop_assert_eq!(value.offset(), DateTimeOffset::Unspecified),
            Some(fixed) => {
                prop_assert_eq!(fixed.naive_local(), value.naive_local());
                if let DateTimeOffset::Fixed(_) = value.offset() {
                    prop_assert_eq!(OnTimeDateTime::from(fixed), value);
                }
            }
        }
    }

    #[test]
    fn date_time_wire_strings_round_trip((text, canonical) in date_time_wire()) {
        let decoded = OnTimeDateTime::parse(&text);
        prop_assert!(decoded.is_ok(), "{}: {:?}", text, decoded);
        let decoded = decoded.map_err(|e| TestCaseError::fail(e.to_string()))?;
        let encoded = decoded.to_string();
        prop_assert_eq!(OnTimeDateTime::parse(&encoded), Ok(decoded));
        prop_assert_eq!(from_json_str::<OnTimeDateTime>(&text).ok(), Some(decoded));
        if canonical {
            prop_assert_eq!(encoded, text);
        }
    }

    #[test]
    fn date_time_date_only_is_midnight(y in 0i32..=9999, m in 1u32..=12, d in 1u32..=28) {
        let text = format!("{y:04}-{m:02}-{d:02}");
        let full = format!("{text}T00:00:00");
        prop_assert_eq!(OnTimeDateTime::parse(&text), OnTimeDateTime::parse(&full));
        prop_assert_eq!(OnTimeDateTime::parse(&text).map(|v| v.to_string()), Ok(full));
    }

    #[test]
    fn date_time_ordering_matches_equality(a in date_time(), b in date_time()) {
        prop_assert_eq!(a.cmp(&b) == std::cmp::Ordering::Equal, a == b);
        prop_assert_eq!(a.cmp(&b), b.cmp(&a).reverse());
        prop_assert_eq!(a.cmp(&a), std::cmp::Ordering::Equal);
    }

    #[test]
    fn date_time_parser_never_panics(
        text in prop_oneof![any::<String>(), "[-+0-9TtZz:. ]{0,40}"]
    ) {
        if let Ok(value) = OnTimeDateTime::parse(&text) {
            prop_assert_eq!(OnTimeDateTime::parse(&value.to_string()), Ok(value));
        }
        let _ = from_json_str::<OnTimeDateTime>(&text);
    }
}

// ---------------------------------------------------------------------------
// TimeSpan
// ---------------------------------------------------------------------------

const TICKS_PER_DAY: u64 = 86_400 * 10_000_000;

fn time_span() -> impl Strategy<Value = TimeSpan> {
    prop_oneof![
        any::<i64>(),
        -1_000_000_000_000i64..1_000_000_000_000, // about ±28 hours
        (-100_000i64..100_000).prop_map(|s| s * 10_000_000), // whole seconds
        Just(i64::MIN),
        Just(i64::MAX),
    ]
    .prop_map(TimeSpan::from_ticks)
}

/// Checks the .NET "c" form `[-][d.]hh:mm:ss[.fffffff]` for `span`.
fn check_time_span_shape(s: &str, span: TimeSpan) -> Result<(), TestCaseError> {
    let body = s.strip_prefix('-').unwrap_or(s);
    prop_assert_eq!(s.starts_with('-'), span.is_negative(), "{}: sign", s);
    let magnitude = span.ticks().unsigned_abs();
    let body = match body.split_once('.') {
        Some((days, rest)) if !days.contains(':') => {
            prop_assert!(magnitude >= TICKS_PER_DAY, "{}: day part for < 1 day", s);
            prop_assert!(days.bytes().all(|b| b.is_ascii_digit()) && !days.starts_with('0'));
            prop_assert_eq!(days.parse::<u64>().ok(), Some(magnitude / TICKS_PER_DAY));
            rest
        }
        _ => {
            prop_assert!(magnitude < TICKS_PER_DAY, "{}: missing day part", s);
            body
        }
    };
    let (hms, frac) = match body.split_once('.') {
        Some((hms, frac)) => (hms, Some(frac)),
        None => (body, None),
    };
    let fields: Vec<&str> = hms.split(':').collect();
    prop_assert_eq!(fields.len(), 3, "{}", s);
    for field in fields {
        prop_assert!(
            field.len() == 2 && field.bytes().all(|b| b.is_ascii_digit()),
            "{}",
            s
        );
    }
    match frac {
        Some(frac) => {
            prop_assert!(
                frac.len() == 7 && frac.bytes().all(|b| b.is_ascii_digit()),
                "{}",
                s
            );
            prop_assert!(
                !magnitude.is_multiple_of(10_000_000),
                "{}: zero fraction written",
                s
            );
        }
        None => prop_assert_eq!(magnitude % 10_000_000, 0, "{}: fraction dropped", s),
    }
    Ok(())
}

/// "c"-form wire strings, their expected tick count, and whether they are
/// canonical.
fn time_span_wire() -> impl Strategy<Value = (String, i64, bool)> {
    (
        prop::bool::ANY,
        prop::option::of(0i64..=10_675_198),
        0i64..=23,
        0i64..=59,
        0i64..=59,
        prop::option::of("[0-9]{1,7}"),
    )
        .prop_map(|(neg, days, h, m, s, frac)| {
            let mut text = String::new();
            if neg {
                text.push('-');
            }
            if let Some(d) = days {
                text.push_str(&format!("{d}."));
            }
            text.push_str(&format!("{h:02}:{m:02}:{s:02}"));
            let mut frac_ticks = 0;
            if let Some(f) = &frac {
                text.push('.');
                text.push_str(f);
                let padded = format!("{f:0<7}");
                frac_ticks = padded.parse::<i64>().unwrap_or(0);
            }
            let magnitude =
                (((days.unwrap_or(0) * 24 + h) * 60 + m) * 60 + s) * 10_000_000 + frac_ticks;
            let canonical = days != Some(0)
                && frac
                    .as_ref()
                    .is_none_or(|f| f.len() == 7 && frac_ticks != 0)
                && !(neg && magnitude == 0);
            (text, if neg { -magnitude } else { magnitude }, canonical)
        })
}

proptest! {
    #[test]
    fn time_span_value_round_trips(span in time_span()) {
        let text = span.to_string();
        prop_assert_eq!(TimeSpan::parse(&text), Ok(span), "{}", text);
        prop_assert_eq!(json_round_trip(&span)?, span);
        prop_assert_eq!(serde_json::to_value(span).ok(), Some(Value::String(text.clone())));
        check_time_span_shape(&text, span)?;
    }

    #[test]
    fn time_span_wire_strings_round_trip((text, ticks, canonical) in time_span_wire()) {
        let decoded = TimeSpan::parse(&text);
        prop_assert_eq!(decoded, Ok(TimeSpan::from_ticks(ticks)), "{}", text);
        let span = TimeSpan::from_ticks(ticks);
        let encoded = span.to_string();
        prop_assert_eq!(TimeSpan::parse(&encoded), Ok(span));
        prop_assert_eq!(from_json_str::<TimeSpan>(&text).ok(), Some(span));
        if canonical {
            prop_assert_eq!(encoded, text);
        }
    }

    #[test]
    fn time_span_std_conversions(span in time_span()) {
        match span.to_std() {
            None => prop_assert!(span.is_negative()),
            Some(d) => prop_assert_eq!(TimeSpan::from_std(d), Some(span)),
        }
    }

    #[test]
    fn time_span_from_secs_never_panics(secs in any::<i64>()) {
        let span = TimeSpan::from_secs(secs);
        match TimeSpan::checked_from_secs(secs) {
            Some(exact) => prop_assert_eq!(exact, span),
            None => prop_assert!(span == TimeSpan::MIN || span == TimeSpan::MAX),
        }
    }

    #[test]
    fn time_span_parser_never_panics(
        text in prop_oneof![any::<String>(), "-?[0-9]{0,20}[.:]?[0-9:.]{0,20}"]
    ) {
        if let Ok(span) = TimeSpan::parse(&text) {
            prop_assert_eq!(TimeSpan::parse(&span.to_string()), Ok(span));
        }
        let _ = from_json_str::<TimeSpan>(&text);
    }
}

// ---------------------------------------------------------------------------
// Lenient enums
// ---------------------------------------------------------------------------

/// Whether the decoder treats `s` as an integer code.
fn is_integer_like(s: &str) -> bool {
    s.trim_ascii().parse::<i64>().is_ok()
}

/// Randomises the ASCII case of `name` using `mask`.
fn mixed_case(name: &str, mask: &[bool]) -> String {
    name.chars()
        .zip(mask.iter().cycle())
        .map(|(c, upper)| {
            if *upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

macro_rules! enum_props {
    ($module:ident, $ty:ident) => {
        mod $module {
            use super::*;

            fn unknown_name() -> impl Strategy<Value = String> {
                prop_oneof![any::<String>(), "[A-Za-z][A-Za-z0-9 ]{0,20}"].prop_filter(
                    "not a known name or an integer",
                    |s| $ty::from_known_name(s).is_none() && !is_integer_like(s),
                )
            }

            fn value() -> impl Strategy<Value = $ty> {
                prop_oneof![
                    prop::sample::select($ty::ALL.to_vec()),
                    any::<i64>()
                        .prop_filter("unknown code", |n| $ty::from_known_code(*n).is_none())
                        .prop_map(|n| $ty::Unknown(UnknownEnumValue::Code(n))),
                    unknown_name().prop_map(|s| $ty::Unknown(UnknownEnumValue::Name(s))),
                ]
            }

            proptest! {
                #[test]
                fn value_round_trips(v in value()) {
                    prop_assert_eq!(json_round_trip(&v)?, v.clone());
                    let encoded = serde_json::to_value(&v)
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    match &v {
                        $ty::Unknown(UnknownEnumValue::Name(s)) => {
                            prop_assert_eq!(encoded, Value::String(s.clone()));
                        }
                        _ => {
                            // Known variants and unknown codes are integers.
                            let code = v.code();
                            prop_assert!(code.is_some());
                            prop_assert_eq!(encoded.as_i64(), code);
                        }
                    }
                    prop_assert_eq!(v.is_unknown(), v.name().is_none());
                    if !v.to_string().is_empty() {
                        prop_assert_eq!(v.to_string().parse::<$ty>(), Ok(v.clone()));
                    }
                }

                #[test]
                fn integers_decode_and_encode_unchanged(n in prop_oneof![any::<i64>(), -2i64..20]) {
                    let v: $ty = serde_json::from_value(Value::from(n))
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    prop_assert_eq!(v.code(), Some(n));
                    prop_assert_eq!(v.is_unknown(), $ty::from_known_code(n).is_none());
                    prop_assert_eq!(serde_json::to_value(&v).ok(), Some(Value::from(n)));
                    prop_assert_eq!(from_json_str::<$ty>(&n.to_string()).ok(), Some(v.clone()));
                    prop_assert_eq!(n.to_string().parse::<$ty>(), Ok(v.clone()));
                    prop_assert_eq!($ty::from(n), v);
                }

                #[test]
                fn names_decode_case_insensitively(
                    known in prop::sample::select($ty::ALL.to_vec()),
                    mask in prop::collection::vec(any::<bool>(), 1..8),
                ) {
                    let name = known.name().unwrap_or_default();
                    let wire = mixed_case(name, &mask);
                    let v: $ty = from_json_str(&wire)
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    prop_assert_eq!(&v, &known);
                    prop_assert_eq!(serde_json::to_value(&v).ok(), Some(Value::from(known.code())));
                    prop_assert_eq!(wire.parse::<$ty>(), Ok(known.clone()));
                    prop_assert_eq!(known.to_string(), name);
                }

                #[test]
                fn any_string_decodes_without_panic(s in any::<String>()) {
                    let v: $ty = from_json_str(&s)
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    if let $ty::Unknown(UnknownEnumValue::Name(name)) = &v {
                        prop_assert_eq!(name, &s);
                        prop_assert_eq!(serde_json::to_value(&v).ok(), Some(Value::String(s.clone())));
                    }
                    prop_assert_eq!(json_round_trip(&v)?, v.clone());
                    match s.parse::<$ty>() {
                        Ok(parsed) => prop_assert_eq!(parsed, v),
                        Err(_) => prop_assert!(s.is_empty()),
                    }
                }

                #[test]
                fn unknown_names_are_kept(s in unknown_name()) {
                    let v: $ty = from_json_str(&s)
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    prop_assert_eq!(&v, &$ty::Unknown(UnknownEnumValue::Name(s.clone())));
                    prop_assert_eq!(v.code(), None);
                }
            }

            #[test]
            fn default_is_code_zero() {
                assert_eq!($ty::default().code(), Some(0));
                assert!(!$ty::default().is_unknown());
            }

            #[test]
            fn rejects_non_scalar_json() {
                for wire in [
                    serde_json::json!(true),
                    serde_json::json!(1.5),
                    serde_json::json!({}),
                    serde_json::json!([]),
                    serde_json::json!(null),
                ] {
                    let err = serde_json::from_value::<$ty>(wire.clone());
                    assert!(err.is_err(), "{wire} decoded as {err:?}");
                }
            }
        }
    };
}

enum_props!(status_level, StatusLevel);
enum_props!(pricing_method, PricingMethod);
enum_props!(price_modifier_type, PriceModifierType);
enum_props!(price_modifier_input, PriceModifierInput);
enum_props!(compensation_role, CompensationRole);
enum_props!(compensation_type, CompensationType);
enum_props!(log_in_type, LogInType);
enum_props!(signature_type, SignatureType);
