//! The spec's `pattern`s for `ontime-date-time` and `timespan` accept the same strings as
//! `OnTimeDateTime::parse` and `TimeSpan`'s parser, compared on a grid of samples that walks every
//! field across and past its limits.

use ontime_raw::lenient::{OnTimeDateTime, TimeSpan};
use regex::Regex;

use super::{pattern_of, spec};

fn date_samples() -> Vec<String> {
    let years = [
        "0000", "0001", "1900", "1999", "2000", "2023", "2024", "2100", "2400", "9999",
    ];
    let mut out = Vec::new();
    for year in years {
        for month in 0..=13 {
            for day in 0..=32 {
                out.push(format!("{year}-{month:02}-{day:02}"));
            }
        }
    }
    // Malformed dates: wrong widths, separators, signs, non-ASCII digits.
    out.extend(
        [
            "",
            "2024",
            "2024-1-01",
            "2024-01-1",
            "20240101",
            "2024/01/01",
            "12024-01-01",
            "024-01-01",
            "2024-01-01-",
            "2024-01-001",
            "+2024-01-01",
            "-2024-01-01",
            "+12024-01-01",
            "-0001-12-31",
            "٢٠٢٤-01-01",
            "2024-٠1-01",
            " 2024-01-01",
        ]
        .map(str::to_owned),
    );
    out
}

fn time_samples() -> Vec<String> {
    let mut times = Vec::new();
    for hour in ["00", "09", "19", "23", "24", "9", "099"] {
        for minute in ["00", "59", "60", "5"] {
            times.push(format!("{hour}:{minute}"));
            for second in ["00", "59", "60", "61", "7"] {
                times.push(format!("{hour}:{minute}:{second}"));
            }
        }
    }
    for fraction in [".", ".1", ".1234567", ".123456789012", ".x", ".٣"] {
        times.push(format!("15:00:00{fraction}"));
        times.push(format!("15:00{fraction}"));
    }
    let offsets = [
        "",
        "Z",
        "z",
        "+00:00",
        "-05:00",
        "+05:30",
        "+0530",
        "+05",
        "-23:59",
        "+24:00",
        "+05:60",
        "+05:30:15",
        "+05:30:60",
        "+0530:15",
        "+5:30",
        "+05:3",
        "UTC",
        "+05:30Z",
        " Z",
    ];
    let mut out = Vec::new();
    for sep in ["T", "t", " ", "_"] {
        for time in &times {
            out.push(format!("2024-02-29{sep}{time}"));
        }
    }
    for offset in offsets {
        out.push(format!("2019-04-08T15:00:00{offset}"));
        out.push(format!("2019-04-08T15:00:00.1234567{offset}"));
        out.push(format!("2019-04-08T15:00{offset}"));
        out.push(format!("2019-04-08{offset}"));
    }
    out
}

#[test]
fn date_time_pattern_accepts_exactly_what_the_lenient_parser_accepts() {
    let pattern = pattern_of(&spec(), "ontime-date-time");
    let regex = Regex::new(&pattern).expect("the pattern compiles");
    let samples: Vec<String> = date_samples().into_iter().chain(time_samples()).collect();
    let mut disagree = Vec::new();
    let mut accepted = 0;
    for sample in &samples {
        let by_pattern = regex.is_match(sample);
        let by_parser = OnTimeDateTime::parse(sample).is_ok();
        accepted += usize::from(by_parser);
        // Signed (extended) years: the Rust type writes and reads them for values outside
        // 0000-9999, which OnTime (.NET DateTime) never sends; the spec leaves them out.
        let documented_difference = by_parser && !by_pattern && sample.starts_with(['+', '-']);
        if by_pattern != by_parser && !documented_difference {
            disagree.push(format!(
                "{sample:?}: pattern {by_pattern}, parser {by_parser}"
            ));
        }
    }
    assert!(
        disagree.is_empty(),
        "{} disagreements:\n{}",
        disagree.len(),
        disagree.join("\n")
    );
    // The grid exercises both sides, including leap days (2024, 2000, 2400, 0000) and not (1900, 2100).
    assert!(
        accepted > 1000 && accepted < samples.len() - 1000,
        "{accepted} of {}",
        samples.len()
    );
    for leap in ["2024-02-29", "2000-02-29", "2400-02-29", "0000-02-29"] {
        assert!(regex.is_match(leap), "{leap}");
    }
    for not_leap in ["2023-02-29", "1900-02-29", "2100-02-29"] {
        assert!(!regex.is_match(not_leap), "{not_leap}");
    }
    assert!(OnTimeDateTime::parse("+10000-01-01T00:00:00").is_ok());
    assert!(!regex.is_match("+10000-01-01T00:00:00"));
}

#[test]
fn timespan_pattern_accepts_only_what_the_parser_accepts() {
    let pattern = pattern_of(&spec(), "timespan");
    let regex = Regex::new(&pattern).expect("the pattern compiles");
    let mut samples = Vec::new();
    for sign in ["", "-", "+"] {
        for days in [
            "",
            "0.",
            "1.",
            "12.",
            "9999999.",
            "10675198.",
            "00000001.",
            "x.",
        ] {
            for hours in ["0", "00", "09", "23", "24", "123"] {
                for rest in [
                    ":00:00",
                    ":59:59",
                    ":60:00",
                    ":00:60",
                    ":5:7",
                    ":00",
                    ":00:00.1",
                    ":00:00.1234567",
                    ":00:00.12345678",
                    ":00:00.",
                    ":00:00:00",
                ] {
                    samples.push(format!("{sign}{days}{hours}{rest}"));
                }
            }
        }
    }
    samples.extend(["", "09:00:00 ", "٠9:00:00", "1.02:03:04"].map(str::to_owned));
    let mut disagree = Vec::new();
    for sample in &samples {
        let by_pattern = regex.is_match(sample);
        let by_parser = sample.parse::<TimeSpan>().is_ok();
        // The pattern allows up to 7 day digits (9,999,999 days, inside TimeSpan's range); the
        // parser also reads longer, zero-padded day counts up to TimeSpan.MaxValue.
        let long_days = sample
            .trim_start_matches('-')
            .split_once('.')
            .is_some_and(|(d, _)| d.len() > 7 && !d.contains(':'));
        if by_pattern && !by_parser || (by_parser && !by_pattern && !long_days) {
            disagree.push(format!(
                "{sample:?}: pattern {by_pattern}, parser {by_parser}"
            ));
        }
    }
    assert!(
        disagree.is_empty(),
        "{} disagreements:\n{}",
        disagree.len(),
        disagree.join("\n")
    );
    assert!(regex.is_match("1.02:03:04") && regex.is_match("-00:30:00.5000000"));
}
