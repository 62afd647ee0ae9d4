//! `TimeSpan`: .NET TimeSpan strings.

use std::fmt::{self, Write as _};
use std::str::FromStr;
use std::time::Duration;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::*;

// ---------------------------------------------------------------------------
// TimeSpan
// ---------------------------------------------------------------------------

/// A .NET `TimeSpan`: a signed duration counted in 100-nanosecond ticks.
///
/// On the wire it is the .NET constant (`"c"`) format
/// `[-][d.]hh:mm:ss[.fffffff]`, e.g. `"09:00:00"`, `"1.02:03:04"`,
/// `"-00:30:00"`, `"00:00:01.5000000"`.
///
/// Parsing requires hours `0-23` and minutes/seconds `0-59` (one or two
/// digits each; like .NET, `"24:00:00"` is rejected — write `"1.00:00:00"`),
/// and at most 7 fraction digits. Writing always produces the canonical form:
/// two-digit fields, the day part only when nonzero, and exactly 7 fraction
/// digits only when the sub-second part is nonzero.
///
/// # Example
///
/// ```
/// use ontime_raw::lenient::TimeSpan;
///
/// let span: TimeSpan = "1.02:03:04".parse().unwrap();
/// assert_eq!(span, TimeSpan::from_secs(93_784));
/// assert_eq!(span.to_string(), "1.02:03:04");
/// assert_eq!(TimeSpan::from_ticks(15_000_000).to_string(), "00:00:01.5000000");
/// assert!("24:00:00".parse::<TimeSpan>().is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimeSpan {
    ticks: i64,
}

const TIME_SPAN_WHAT: &str = "TimeSpan";
const TIME_SPAN_EXPECTED: &str = "expected [-][d.]hh:mm:ss[.fffffff]";

impl TimeSpan {
    /// Ticks per second (one tick is 100 ns).
    pub const TICKS_PER_SECOND: i64 = 10_000_000;
    /// The zero-length span, `"00:00:00"`.
    pub const ZERO: Self = Self { ticks: 0 };
    /// The smallest span, `"-10675199.02:48:05.4775808"` (.NET
    /// `TimeSpan.MinValue`).
    pub const MIN: Self = Self { ticks: i64::MIN };
    /// The largest span, `"10675199.02:48:05.4775807"` (.NET
    /// `TimeSpan.MaxValue`).
    pub const MAX: Self = Self { ticks: i64::MAX };

    /// A span of `ticks` 100-nanosecond ticks.
    pub const fn from_ticks(ticks: i64) -> Self {
        Self { ticks }
    }

    /// The length in 100-nanosecond ticks (negative for negative spans).
    pub const fn ticks(&self) -> i64 {
        self.ticks
    }

    /// A span of whole seconds, saturating at [`Self::MIN`]/[`Self::MAX`]
    /// for spans beyond about ±29 000 years.
    pub const fn from_secs(secs: i64) -> Self {
        Self {
            ticks: secs.saturating_mul(Self::TICKS_PER_SECOND),
        }
    }

    /// A span of whole seconds, or `None` if it does not fit.
    pub const fn checked_from_secs(secs: i64) -> Option<Self> {
        match secs.checked_mul(Self::TICKS_PER_SECOND) {
            Some(ticks) => Some(Self { ticks }),
            None => None,
        }
    }

    /// Converts a [`Duration`], truncating to whole ticks (100 ns); `None`
    /// if it is longer than [`Self::MAX`].
    pub fn from_std(duration: Duration) -> Option<Self> {
        let secs = i64::try_from(duration.as_secs()).ok()?;
        let ticks = secs
            .checked_mul(Self::TICKS_PER_SECOND)?
            .checked_add(i64::from(duration.subsec_nanos() / 100))?;
        Some(Self { ticks })
    }

    /// Converts to a [`Duration`], or `None` if the span is negative.
    pub fn to_std(&self) -> Option<Duration> {
        let ticks = u64::try_from(self.ticks).ok()?;
        let per_sec = Self::TICKS_PER_SECOND.unsigned_abs();
        // The remainder is below 10^7, so the nanosecond count fits in u32.
        let nanos = u32::try_from(ticks % per_sec * 100).ok()?;
        Some(Duration::new(ticks / per_sec, nanos))
    }

    /// Whether the span is shorter than zero.
    pub const fn is_negative(&self) -> bool {
        self.ticks < 0
    }

    /// Parses the .NET constant format `[-][d.]hh:mm:ss[.fffffff]`.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        parse_time_span(s).map_err(|reason| ParseError::new(TIME_SPAN_WHAT, s, reason))
    }
}

impl From<TimeSpan> for i64 {
    /// The tick count.
    fn from(span: TimeSpan) -> Self {
        span.ticks
    }
}

fn parse_time_span(s: &str) -> Result<TimeSpan, &'static str> {
    let mut c = Cursor::new(s);
    let negative = c.eat(b'-');

    let first = c.digit_run();
    if first.is_empty() {
        return Err(TIME_SPAN_EXPECTED);
    }
    let (days, hours) = if c.eat(b'.') {
        // More than 8 digits cannot be a valid day count (max 10675199),
        // unless padded with zeros; 18 digits still fit in a u64.
        if first.len() > 18 {
            return Err("TimeSpan out of range");
        }
        (
            digits_value(first),
            c.number(1, 2).ok_or(TIME_SPAN_EXPECTED)?,
        )
    } else {
        if first.len() > 2 {
            return Err("hours out of range (00-23); use d.hh:mm:ss for longer spans");
        }
        (0, u32::try_from(digits_value(first)).unwrap_or(u32::MAX))
    };
    if !c.eat(b':') {
        return Err(TIME_SPAN_EXPECTED);
    }
    let minutes = c.number(1, 2).ok_or(TIME_SPAN_EXPECTED)?;
    if !c.eat(b':') {
        return Err(TIME_SPAN_EXPECTED);
    }
    let seconds = c.number(1, 2).ok_or(TIME_SPAN_EXPECTED)?;
    let mut fraction = 0;
    if c.eat(b'.') {
        let run = c.digit_run();
        if run.is_empty() {
            return Err("expected digits after the decimal point");
        }
        if run.len() > 7 {
            return Err("more than 7 fraction digits");
        }
        fraction = digits_value(run) * 10u64.pow(7 - run.len() as u32);
    }
    if !c.at_end() {
        return Err(TIME_SPAN_EXPECTED);
    }
    if hours > 23 {
        return Err("hours out of range (00-23); use d.hh:mm:ss for longer spans");
    }
    if minutes > 59 {
        return Err("minutes out of range (00-59)");
    }
    if seconds > 59 {
        return Err("seconds out of range (00-59)");
    }

    let secs = ((i128::from(days) * 24 + i128::from(hours)) * 60 + i128::from(minutes)) * 60
        + i128::from(seconds);
    let magnitude = secs * i128::from(TimeSpan::TICKS_PER_SECOND) + i128::from(fraction);
    let ticks = if negative { -magnitude } else { magnitude };
    i64::try_from(ticks)
        .map(TimeSpan::from_ticks)
        .map_err(|_| "TimeSpan out of range")
}

impl fmt::Display for TimeSpan {
    /// Writes the .NET constant format `[-][d.]hh:mm:ss[.fffffff]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let magnitude = self.ticks.unsigned_abs();
        let per_sec = Self::TICKS_PER_SECOND.unsigned_abs();
        let fraction = magnitude % per_sec;
        let secs = magnitude / per_sec;
        let days = secs / 86_400;
        if self.ticks < 0 {
            f.write_char('-')?;
        }
        if days != 0 {
            write!(f, "{days}.")?;
        }
        write!(
            f,
            "{:02}:{:02}:{:02}",
            secs / 3600 % 24,
            secs / 60 % 60,
            secs % 60
        )?;
        if fraction != 0 {
            write!(f, ".{fraction:07}")?;
        }
        Ok(())
    }
}

impl FromStr for TimeSpan {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for TimeSpan {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TimeSpan {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TimeSpanVisitor;

        impl Visitor<'_> for TimeSpanVisitor {
            type Value = TimeSpan;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a .NET TimeSpan string such as \"1.02:03:04\"")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                TimeSpan::parse(v).map_err(E::custom)
            }
        }

        deserializer.deserialize_str(TimeSpanVisitor)
    }
}
