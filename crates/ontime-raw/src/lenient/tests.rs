use std::time::Duration;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

use super::*;
use serde_json::{Value, json};

fn dt(s: &str) -> OnTimeDateTime {
    match s.parse() {
        Ok(v) => v,
        Err(e) => panic!("{s:?} should parse: {e}"),
    }
}

fn ts(s: &str) -> TimeSpan {
    match s.parse() {
        Ok(v) => v,
        Err(e) => panic!("{s:?} should parse: {e}"),
    }
}

fn naive(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, n: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, mo, d)
        .and_then(|d| d.and_hms_nano_opt(h, mi, s, n))
        .expect("valid test date")
}

// --- OnTimeDateTime -------------------------------------------------

#[test]
fn date_time_canonical_forms_round_trip_byte_for_byte() {
    for s in [
        "2019-04-08T15:00:00",
        "2021-09-10T14:00:00+00:00",
        "2019-04-08T15:00:00.1234567",
        "2019-04-08T15:00:00Z",
        "2019-04-08T15:00:00.5-05:30",
        "2019-04-08T15:00:00.123456789+14:00",
        "0001-01-01T00:00:00",
        "9999-12-31T23:59:59.9999999",
    ] {
        assert_eq!(dt(s).to_string(), s);
        let json = serde_json::to_string(&dt(s)).expect("serialize");
        assert_eq!(json, format!("\"{s}\""));
        let back: OnTimeDateTime = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, dt(s));
    }
}

#[test]
fn date_time_offsets_are_kept_as_written() {
    let no_offset = dt("2019-04-08T15:00:00");
    assert_eq!(no_offset.offset(), DateTimeOffset::Unspecified);
    assert_eq!(no_offset.naive_local(), naive(2019, 4, 8, 15, 0, 0, 0));
    assert_eq!(no_offset.to_fixed(), None);

    let z = dt("2019-04-08T15:00:00Z");
    assert_eq!(z.offset(), DateTimeOffset::Utc);
    let plus_zero = dt("2019-04-08T15:00:00+00:00");
    assert_eq!(
        plus_zero.offset(),
        DateTimeOffset::Fixed(FixedOffset::east_opt(0).expect("offset"))
    );
    assert_ne!(z, plus_zero);
    assert_eq!(z.to_fixed(), plus_zero.to_fixed());

    let minus_five = dt("2019-04-08T15:00:00-05:00");
    let fixed = minus_five.to_fixed().expect("has offset");
    assert_eq!(fixed.naive_utc(), naive(2019, 4, 8, 20, 0, 0, 0));
    assert_eq!(OnTimeDateTime::from(fixed), minus_five);
}

#[test]
fn date_time_lenient_forms() {
    assert_eq!(dt("2019-04-08"), dt("2019-04-08T00:00:00"));
    assert_eq!(dt("2019-04-08").to_string(), "2019-04-08T00:00:00");
    assert_eq!(dt("2019-04-08T15:00"), dt("2019-04-08T15:00:00"));
    assert_eq!(dt("2019-04-08 15:00:00z"), dt("2019-04-08T15:00:00Z"));
    assert_eq!(
        dt("2019-04-08T15:00:00+0530"),
        dt("2019-04-08T15:00:00+05:30")
    );
    assert_eq!(
        dt("2019-04-08T15:00:00-05"),
        dt("2019-04-08T15:00:00-05:00")
    );
    assert_eq!(
        dt("2019-04-08T15:00:00.1000000").to_string(),
        "2019-04-08T15:00:00.1"
    );
    assert_eq!(
        dt("2019-04-08T15:00:00.0000000").to_string(),
        "2019-04-08T15:00:00"
    );
    assert_eq!(
        dt("2019-04-08T15:00:00.12345678912").naive_local(),
        naive(2019, 4, 8, 15, 0, 0, 123_456_789)
    );
    // Leap seconds (representable in chrono) are accepted and kept.
    assert_eq!(dt("2016-12-31T23:59:60").to_string(), "2016-12-31T23:59:60");
    assert_eq!(
        dt("2016-12-31T23:59:60.5Z").to_string(),
        "2016-12-31T23:59:60.5Z"
    );
}

#[test]
fn date_time_unset() {
    let min = dt("0001-01-01T00:00:00");
    assert!(min.is_unset());
    assert_eq!(min, OnTimeDateTime::unset());
    assert_eq!(OnTimeDateTime::default(), OnTimeDateTime::UNSET);
    assert!(dt("0001-01-01T00:00:00+00:00").is_unset());
    assert!(!dt("0001-01-01T00:00:01").is_unset());
    assert!(!dt("2019-04-08T15:00:00").is_unset());
}

#[test]
fn date_time_extended_years_round_trip() {
    for value in [
        OnTimeDateTime::naive(NaiveDateTime::MAX),
        OnTimeDateTime::naive(NaiveDateTime::MIN),
        OnTimeDateTime::naive(naive(-1, 1, 1, 0, 0, 0, 0)),
        OnTimeDateTime::naive(naive(10000, 1, 1, 0, 0, 0, 0)),
    ] {
        assert_eq!(dt(&value.to_string()), value, "{value}");
    }
    assert_eq!(
        OnTimeDateTime::naive(naive(-1, 1, 1, 0, 0, 0, 0)).to_string(),
        "-0001-01-01T00:00:00"
    );
    assert_eq!(
        OnTimeDateTime::naive(naive(10000, 1, 1, 0, 0, 0, 0)).to_string(),
        "+10000-01-01T00:00:00"
    );
}

#[test]
fn date_time_constructors_and_order() {
    let utc = DateTime::<Utc>::from_naive_utc_and_offset(naive(2020, 1, 1, 0, 0, 0, 0), Utc);
    let v = OnTimeDateTime::from(utc);
    assert_eq!(v.to_string(), "2020-01-01T00:00:00Z");
    assert_eq!(OnTimeDateTime::from_utc(utc), v);
    assert_eq!(
        OnTimeDateTime::from(naive(2020, 1, 1, 0, 0, 0, 0)).to_string(),
        "2020-01-01T00:00:00"
    );
    // Wall-clock ordering, not instants.
    assert!(dt("2020-01-01T10:00:00+02:00") > dt("2020-01-01T09:00:00Z"));
    assert!(dt("2020-01-01T09:00:00") < dt("2020-01-01T09:00:00Z"));
    assert!(dt("2020-01-01T09:00:00Z") < dt("2020-01-01T09:00:00-01:00"));
    // A DateTime whose local time is past chrono's range saturates.
    let edge = DateTime::from_naive_utc_and_offset(
        NaiveDateTime::MAX,
        FixedOffset::east_opt(3600).expect("offset"),
    );
    assert_eq!(
        OnTimeDateTime::with_offset(edge).naive_local(),
        NaiveDateTime::MAX
    );
}

#[test]
fn date_time_rejects_garbage_naming_the_input() {
    for bad in [
        "",
        "garbage",
        "2019-04-08T",
        "2019-04-08T25:00:00",
        "2019-02-30T00:00:00",
        "2019-04-08T15:00:00+24:00",
        "2019-04-08T15:00:00.",
        "2019-04-08T15:00:00 ",
        "2019-4-8",
        "20190408",
        "2019-04-08T15:00:00Zjunk",
        "2019-04-08T15:00:61",
        "+9999999-01-01",
    ] {
        let err = OnTimeDateTime::parse(bad).expect_err(bad);
        assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
        assert_eq!(err.input(), bad);
        let json = serde_json::to_string(bad).expect("json");
        let err = serde_json::from_str::<OnTimeDateTime>(&json).expect_err(bad);
        assert!(err.to_string().contains(bad), "{err}");
    }
    assert!(serde_json::from_value::<OnTimeDateTime>(json!(20190408)).is_err());
    let long = "x".repeat(500);
    let err = OnTimeDateTime::parse(&long).expect_err("long");
    assert!(err.to_string().len() < 300);
}

// --- TimeSpan -------------------------------------------------------

#[test]
fn time_span_wire_forms() {
    let cases = [
        ("00:00:00", 0),
        ("09:00:00", 9 * 3600 * TimeSpan::TICKS_PER_SECOND),
        (
            "1.02:03:04",
            (86_400 + 2 * 3600 + 3 * 60 + 4) * TimeSpan::TICKS_PER_SECOND,
        ),
        ("-00:30:00", -30 * 60 * TimeSpan::TICKS_PER_SECOND),
        ("00:00:01.5000000", 15_000_000),
        ("00:00:00.0000001", 1),
        ("-10675199.02:48:05.4775808", i64::MIN),
        ("10675199.02:48:05.4775807", i64::MAX),
    ];
    for (s, ticks) in cases {
        let span = ts(s);
        assert_eq!(span.ticks(), ticks, "{s}");
        assert_eq!(span.to_string(), s);
        let json = serde_json::to_value(span).expect("serialize");
        assert_eq!(json, Value::String(s.to_owned()));
        assert_eq!(
            serde_json::from_value::<TimeSpan>(json).expect("deserialize"),
            span
        );
    }
    assert_eq!(ts("00:00:01.5"), ts("00:00:01.5000000"));
    assert_eq!(ts("9:0:0"), ts("09:00:00"));
    assert_eq!(ts("-00:00:00"), TimeSpan::ZERO);
    assert_eq!(ts("0.01:00:00").to_string(), "01:00:00");
}

#[test]
fn time_span_rejects_bad_input_naming_it() {
    for bad in [
        "",
        "-",
        "abc",
        "24:00:00",
        "00:60:00",
        "00:00:60",
        "1.24:00:00",
        "00:00",
        "00:00:00.",
        "00:00:00.12345678",
        "10675199.02:48:05.4775808",
        "-10675199.02:48:05.4775809",
        "99999999999999999999.00:00:00",
        "+01:00:00",
        " 01:00:00",
        "1.2.03:00:00",
        "001:00:00",
    ] {
        let err = TimeSpan::parse(bad).expect_err(bad);
        assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
        let json = serde_json::to_string(bad).expect("json");
        let err = serde_json::from_str::<TimeSpan>(&json).expect_err(bad);
        assert!(err.to_string().contains(bad), "{err}");
    }
}

#[test]
fn time_span_conversions() {
    assert_eq!(TimeSpan::from_secs(90).to_string(), "00:01:30");
    assert_eq!(TimeSpan::from_secs(i64::MAX), TimeSpan::MAX);
    assert_eq!(TimeSpan::from_secs(i64::MIN), TimeSpan::MIN);
    assert_eq!(TimeSpan::checked_from_secs(i64::MAX), None);
    assert_eq!(
        TimeSpan::from_std(Duration::from_millis(1500)),
        Some(TimeSpan::from_ticks(15_000_000))
    );
    assert_eq!(TimeSpan::from_std(Duration::MAX), None);
    assert_eq!(TimeSpan::from_ticks(-1).to_std(), None);
    assert!(TimeSpan::from_ticks(-1).is_negative());
    assert_eq!(
        TimeSpan::from_ticks(15_000_001).to_std(),
        Some(Duration::new(1, 500_000_100))
    );
    assert_eq!(
        TimeSpan::MAX.to_std().and_then(TimeSpan::from_std),
        Some(TimeSpan::MAX)
    );
    assert!(TimeSpan::from_secs(-1) < TimeSpan::ZERO);
}

// --- Enums ----------------------------------------------------------

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Order {
    #[serde(rename = "Level")]
    level: StatusLevel,
}

#[test]
fn enum_decodes_code_name_and_digits() {
    for wire in [
        json!({"Level": 3}),
        json!({"Level": "Delivered"}),
        json!({"Level": "delivered"}),
        json!({"Level": "DELIVERED"}),
        json!({"Level": "3"}),
    ] {
        let order: Order = serde_json::from_value(wire.clone()).expect("decode");
        assert_eq!(order.level, StatusLevel::Delivered, "{wire}");
        assert_eq!(
            serde_json::to_value(&order).expect("encode"),
            json!({"Level": 3})
        );
    }
}

#[test]
fn enum_unknown_values_survive_round_trip() {
    for wire in [
        json!(42),
        json!(-1),
        json!("Teleported"),
        json!(""),
        json!("3.0"),
    ] {
        let level: StatusLevel = serde_json::from_value(wire.clone()).expect("decode");
        assert!(level.is_unknown(), "{wire}");
        assert_eq!(serde_json::to_value(&level).expect("encode"), wire);
    }
    let level: StatusLevel = serde_json::from_value(json!(42)).expect("decode");
    assert_eq!(level, StatusLevel::Unknown(UnknownEnumValue::Code(42)));
    assert_eq!(level.code(), Some(42));
    assert_eq!(level.name(), None);
    assert_eq!(level.to_string(), "42");
    let level: StatusLevel = serde_json::from_value(json!("Teleported")).expect("decode");
    assert_eq!(
        level,
        StatusLevel::Unknown(UnknownEnumValue::Name("Teleported".to_owned()))
    );
    assert_eq!(level.code(), None);
    assert_eq!(level.to_string(), "Teleported");
    // A string of digits is a code, even an unknown one; it is then written as a number.
    let level: StatusLevel = serde_json::from_value(json!("42")).expect("decode");
    assert_eq!(level, StatusLevel::Unknown(UnknownEnumValue::Code(42)));
}

#[test]
fn enum_rejects_non_scalar_wire_values() {
    for wire in [
        json!(true),
        json!(3.5),
        json!(null),
        json!({}),
        json!([3]),
        json!(u64::MAX),
    ] {
        let err = serde_json::from_value::<StatusLevel>(wire.clone()).expect_err("reject");
        assert!(err.to_string().contains("StatusLevel"), "{wire}: {err}");
    }
}

#[test]
fn enum_helpers() {
    assert_eq!(StatusLevel::default(), StatusLevel::None);
    assert_eq!(PriceModifierType::default(), PriceModifierType::Other);
    assert_eq!(LogInType::default(), LogInType::Undefined);
    assert_eq!(SignatureType::default(), SignatureType::Collection);
    assert_eq!(StatusLevel::ALL.len(), 10);
    assert_eq!(PriceModifierInput::ALL.len(), 16);
    for (i, v) in PriceModifierInput::ALL.iter().enumerate() {
        assert_eq!(v.code(), i64::try_from(i).ok());
        assert!(!v.is_unknown());
    }
    assert_eq!(StatusLevel::Delivered.name(), Some("Delivered"));
    assert_eq!(StatusLevel::Delivered.to_string(), "Delivered");
    assert_eq!(StatusLevel::from(3), StatusLevel::Delivered);
    assert_eq!("delivered".parse(), Ok(StatusLevel::Delivered));
    assert_eq!("3".parse(), Ok(StatusLevel::Delivered));
    assert_eq!(
        "Teleported".parse(),
        Ok(StatusLevel::Unknown(UnknownEnumValue::Name(
            "Teleported".to_owned()
        )))
    );
    let err = "".parse::<StatusLevel>().expect_err("empty");
    assert!(err.to_string().contains("StatusLevel"), "{err}");
    for v in StatusLevel::ALL {
        assert_eq!(v.to_string().parse().as_ref(), Ok(v));
    }
}

#[test]
fn unknown_enum_value_serde() {
    assert_eq!("7".parse(), Ok(UnknownEnumValue::Code(7)));
    assert_eq!("x".parse(), Ok(UnknownEnumValue::Name("x".to_owned())));
    assert!("".parse::<UnknownEnumValue>().is_err());
    for wire in [json!(7), json!("x")] {
        let raw: UnknownEnumValue = serde_json::from_value(wire.clone()).expect("decode");
        assert_eq!(serde_json::to_value(&raw).expect("encode"), wire);
    }
}
