//! Hand-written wire types that the generated OnTime 360 client refers to.
//!
//! OnTime 360 is a .NET service serialised with Json.NET, and its wire format
//! does not fit the usual RFC 3339 / integer-only conventions that generated
//! code assumes. This module holds the types that bridge the gap:
//!
//! * [`OnTimeDateTime`] — a date-time that may or may not carry an offset
//!   (`"2019-04-08T15:00:00"` is account-local time, `"…Z"` and `"…+00:00"`
//!   are absolute) and that remembers *how* the offset was written, so values
//!   are written back exactly as the API sent them.
//! * [`TimeSpan`] — a .NET `TimeSpan` in its constant (`"c"`) string form,
//!   e.g. `"1.02:03:04"` or `"-00:30:00"`, stored as 100-ns ticks.
//! * Lenient enums ([`StatusLevel`], [`PricingMethod`], [`PriceModifierType`],
//!   [`PriceModifierInput`], [`CompensationRole`], [`CompensationType`],
//!   [`LogInType`], [`SignatureType`]) that decode from an integer code or a
//!   name, keep values this crate does not know in
//!   [`Unknown`](StatusLevel::Unknown) and write them back unchanged.
//!
//! Every type implements `Display`/`FromStr` (used for query and path
//! parameters) with the same text as its JSON form, and none of the parsers
//! panic on any input.

#![warn(missing_docs)]

use std::cmp::Ordering;
use std::fmt::{self, Write as _};
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// Longest prefix of a rejected input that is quoted in a [`ParseError`].
const MAX_QUOTED_INPUT: usize = 100;

/// Error returned when a string is not a valid [`OnTimeDateTime`],
/// [`TimeSpan`] or lenient enum value.
///
/// The message names the rejected input (its first 100 characters) and says
/// what was expected, e.g.
/// `invalid OnTime date-time "yesterday": expected YYYY-MM-DD[THH:MM[:SS[.fffffff]]][Z|±hh:mm]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ParseError {
    what: &'static str,
    input: String,
    reason: &'static str,
}

impl ParseError {
    fn new(what: &'static str, input: &str, reason: &'static str) -> Self {
        let input = match input.char_indices().nth(MAX_QUOTED_INPUT) {
            Some((cut, _)) => {
                let mut s = input.get(..cut).unwrap_or_default().to_owned();
                s.push('…');
                s
            }
            None => input.to_owned(),
        };
        Self {
            what,
            input,
            reason,
        }
    }

    /// The rejected input (truncated to its first 100 characters, followed
    /// by `…` if it was longer).
    pub fn input(&self) -> &str {
        &self.input
    }

    /// Why the input was rejected.
    pub fn reason(&self) -> &str {
        self.reason
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {} {:?}: {}", self.what, self.input, self.reason)
    }
}

impl std::error::Error for ParseError {}

// ---------------------------------------------------------------------------
// A tiny byte cursor shared by the parsers
// ---------------------------------------------------------------------------

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(s: &'a str) -> Self {
        Self {
            bytes: s.as_bytes(),
            pos: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    /// Consumes `b` if it is the next byte.
    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Consumes the run of ASCII digits at the cursor and returns it.
    fn digit_run(&mut self) -> &'a [u8] {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.bytes.get(start..self.pos).unwrap_or_default()
    }

    /// Consumes between `min` and `max` (at most 9) digits and returns their
    /// value.
    fn number(&mut self, min: usize, max: usize) -> Option<u32> {
        let run = self.digit_run();
        if run.len() < min || run.len() > max.min(9) {
            return None;
        }
        u32::try_from(digits_value(run)).ok()
    }

    /// Consumes exactly two digits (even if more follow) and returns their
    /// value.
    fn two_digits(&mut self) -> Option<u32> {
        let pair = self.bytes.get(self.pos..self.pos + 2)?;
        if !pair.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.pos += 2;
        u32::try_from(digits_value(pair)).ok()
    }
}

/// Value of a run of ASCII digits; callers keep runs short enough to fit.
fn digits_value(run: &[u8]) -> u64 {
    run.iter().fold(0u64, |acc, d| {
        acc.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    })
}

// ---------------------------------------------------------------------------
// OnTimeDateTime
// ---------------------------------------------------------------------------

/// How the offset of an [`OnTimeDateTime`] was written on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DateTimeOffset {
    /// No offset: the value is a wall-clock time in the OnTime account's
    /// local time zone (the usual case, e.g. `"2019-04-08T15:00:00"`).
    Unspecified,
    /// UTC written as `Z` (e.g. `"2019-04-08T15:00:00Z"`).
    Utc,
    /// A numeric offset such as `+00:00` or `-05:00`. `+00:00` is kept
    /// distinct from [`DateTimeOffset::Utc`] so it is written back the same
    /// way.
    Fixed(FixedOffset),
}

impl DateTimeOffset {
    /// Sort key: unspecified < `Z` < numeric offsets by their value.
    fn sort_key(&self) -> (u8, i32) {
        match self {
            Self::Unspecified => (0, 0),
            Self::Utc => (1, 0),
            Self::Fixed(off) => (2, off.local_minus_utc()),
        }
    }

    /// The offset as a [`FixedOffset`], or `None` when it is unspecified.
    pub fn fixed(&self) -> Option<FixedOffset> {
        match self {
            Self::Unspecified => None,
            Self::Utc => FixedOffset::east_opt(0),
            Self::Fixed(off) => Some(*off),
        }
    }
}

impl PartialOrd for DateTimeOffset {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for DateTimeOffset {
    /// Orders [`Unspecified`](Self::Unspecified) before [`Utc`](Self::Utc)
    /// before [`Fixed`](Self::Fixed) offsets, which are ordered by their
    /// number of seconds east of UTC.
    fn cmp(&self, other: &Self) -> Ordering {
        self.sort_key().cmp(&other.sort_key())
    }
}

/// A date-time as OnTime 360 writes it: a wall-clock value plus the offset
/// exactly as it appeared (none, `Z`, or `±hh:mm`).
///
/// # Accepted forms
///
/// * `2019-04-08T15:00:00` — no offset, account-local time (the usual form);
/// * `2019-04-08T15:00:00Z`, `2021-09-10T14:00:00+00:00`, `…-05:00`
///   (also `±hhmm`, `±hh` and `±hh:mm:ss`);
/// * a fraction of any length after the seconds, e.g.
///   `2019-04-08T15:00:00.1234567` (digits past the ninth are dropped);
/// * seconds may be omitted (`2019-04-08T15:00`), and a date on its own
///   (`2019-04-08`) means midnight;
/// * `t`/space are accepted for the `T` separator and `z` for `Z`;
/// * `0001-01-01T00:00:00` (the .NET `DateTime.MinValue`) parses like any
///   other value; [`is_unset`](Self::is_unset) tells it apart.
///
/// # Written form
///
/// `YYYY-MM-DDTHH:MM:SS`, then `.` and the fraction only if it is nonzero
/// (trailing zeros trimmed, up to 9 digits, so nothing is lost), then the
/// offset as it was given: nothing, `Z`, or `±hh:mm`. This is the form
/// Json.NET uses, so `"2019-04-08T15:00:00"`, `"2021-09-10T14:00:00+00:00"`
/// and `"2019-04-08T15:00:00.1234567"` are written back byte for byte.
/// Years outside `0000..=9999` (never sent by the API) are written with a
/// sign, e.g. `+10000-01-01T00:00:00`, and parse back.
///
/// # Ordering
///
/// `Ord` compares the **wall-clock** value first and the offset second; it
/// does not convert to a common instant. `10:00+02:00` sorts after
/// `09:00Z` although it is the earlier instant. Use
/// [`to_fixed`](Self::to_fixed) to compare instants.
///
/// # Example
///
/// ```
/// use ontime_raw::lenient::{DateTimeOffset, OnTimeDateTime};
///
/// let local: OnTimeDateTime = serde_json::from_str("\"2019-04-08T15:00:00\"").unwrap();
/// assert_eq!(local.offset(), DateTimeOffset::Unspecified);
/// assert_eq!(local.to_fixed(), None);
/// assert_eq!(serde_json::to_string(&local).unwrap(), "\"2019-04-08T15:00:00\"");
///
/// let utc: OnTimeDateTime = "2021-09-10T14:00:00+00:00".parse().unwrap();
/// assert_eq!(utc.to_string(), "2021-09-10T14:00:00+00:00");
/// assert!("0001-01-01T00:00:00".parse::<OnTimeDateTime>().unwrap().is_unset());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OnTimeDateTime {
    naive: NaiveDateTime,
    offset: DateTimeOffset,
}

const DATE_TIME_WHAT: &str = "OnTime date-time";
const DATE_TIME_EXPECTED: &str = "expected YYYY-MM-DD[THH:MM[:SS[.fffffff]]][Z|±hh:mm]";

impl OnTimeDateTime {
    /// `0001-01-01T00:00:00` without offset: the .NET `DateTime.MinValue`
    /// that OnTime uses to mean "no date set".
    pub const UNSET: Self = {
        let naive = match NaiveDate::from_ymd_opt(1, 1, 1) {
            Some(date) => date.and_time(NaiveTime::MIN),
            // Unreachable: the date is valid; evaluated at compile time.
            None => NaiveDateTime::MIN,
        };
        Self {
            naive,
            offset: DateTimeOffset::Unspecified,
        }
    };

    /// A wall-clock value without offset (account-local time).
    pub const fn naive(naive: NaiveDateTime) -> Self {
        Self {
            naive,
            offset: DateTimeOffset::Unspecified,
        }
    }

    /// A UTC instant, written with a `Z` suffix.
    pub fn from_utc(utc: DateTime<Utc>) -> Self {
        Self {
            naive: utc.naive_utc(),
            offset: DateTimeOffset::Utc,
        }
    }

    /// An instant with a numeric offset, written as `±hh:mm`.
    ///
    /// The stored wall-clock value is the local time at that offset. For the
    /// few `DateTime`s within a day of chrono's representable range whose
    /// local time does not fit in a [`NaiveDateTime`], the wall-clock value
    /// saturates at [`NaiveDateTime::MIN`]/[`NaiveDateTime::MAX`].
    pub fn with_offset(dt: DateTime<FixedOffset>) -> Self {
        let offset = *dt.offset();
        let naive =
            dt.naive_utc()
                .checked_add_offset(offset)
                .unwrap_or(if offset.local_minus_utc() >= 0 {
                    NaiveDateTime::MAX
                } else {
                    NaiveDateTime::MIN
                });
        Self {
            naive,
            offset: DateTimeOffset::Fixed(offset),
        }
    }

    /// The `0001-01-01T00:00:00` "no date set" value; see [`Self::UNSET`].
    pub const fn unset() -> Self {
        Self::UNSET
    }

    /// The wall-clock date and time as written, ignoring the offset.
    pub const fn naive_local(&self) -> NaiveDateTime {
        self.naive
    }

    /// How the offset was written.
    pub const fn offset(&self) -> DateTimeOffset {
        self.offset
    }

    /// The value as an instant with offset (`Z` becomes `+00:00`), or `None`
    /// if no offset was given (account-local time) or the instant is outside
    /// chrono's range.
    pub fn to_fixed(&self) -> Option<DateTime<FixedOffset>> {
        let offset = self.offset.fixed()?;
        let utc = self.naive.checked_sub_offset(offset)?;
        Some(DateTime::from_naive_utc_and_offset(utc, offset))
    }

    /// Whether the wall-clock value is `0001-01-01T00:00:00`, the .NET
    /// `DateTime.MinValue` (or `DateTimeOffset.MinValue`) that OnTime sends
    /// for "no date set". The offset is not considered.
    pub fn is_unset(&self) -> bool {
        self.naive == Self::UNSET.naive
    }

    /// Parses any of the accepted forms (see the type documentation).
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        parse_date_time(s).map_err(|reason| ParseError::new(DATE_TIME_WHAT, s, reason))
    }
}

impl Default for OnTimeDateTime {
    /// [`OnTimeDateTime::UNSET`], like .NET's `default(DateTime)`.
    fn default() -> Self {
        Self::UNSET
    }
}

impl PartialOrd for OnTimeDateTime {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for OnTimeDateTime {
    /// Compares wall-clock values, then offsets (see the type docs); this is
    /// not a comparison of instants.
    fn cmp(&self, other: &Self) -> Ordering {
        self.naive
            .cmp(&other.naive)
            .then_with(|| self.offset.cmp(&other.offset))
    }
}

impl From<NaiveDateTime> for OnTimeDateTime {
    fn from(naive: NaiveDateTime) -> Self {
        Self::naive(naive)
    }
}

impl From<DateTime<Utc>> for OnTimeDateTime {
    fn from(utc: DateTime<Utc>) -> Self {
        Self::from_utc(utc)
    }
}

impl From<DateTime<FixedOffset>> for OnTimeDateTime {
    fn from(dt: DateTime<FixedOffset>) -> Self {
        Self::with_offset(dt)
    }
}

fn parse_date_time(s: &str) -> Result<OnTimeDateTime, &'static str> {
    let mut c = Cursor::new(s);

    // Year: exactly four digits, or a sign and 4..=6 digits (extended years,
    // only produced when writing values outside 0000..=9999).
    let negative_year = c.eat(b'-');
    let signed_year = negative_year || c.eat(b'+');
    let year_digits = if signed_year { 4..=6 } else { 4..=4 };
    let year = c
        .number(*year_digits.start(), *year_digits.end())
        .ok_or(DATE_TIME_EXPECTED)?;
    let year = i32::try_from(year).map_err(|_| "year out of range")?;
    let year = if negative_year { -year } else { year };
    if !c.eat(b'-') {
        return Err(DATE_TIME_EXPECTED);
    }
    let month = c.number(2, 2).ok_or(DATE_TIME_EXPECTED)?;
    if !c.eat(b'-') {
        return Err(DATE_TIME_EXPECTED);
    }
    let day = c.number(2, 2).ok_or(DATE_TIME_EXPECTED)?;
    let date = NaiveDate::from_ymd_opt(year, month, day).ok_or("no such date")?;

    if c.at_end() {
        return Ok(OnTimeDateTime::naive(date.and_time(NaiveTime::MIN)));
    }
    if !(c.eat(b'T') || c.eat(b't') || c.eat(b' ')) {
        return Err(DATE_TIME_EXPECTED);
    }

    let hour = c.number(2, 2).ok_or(DATE_TIME_EXPECTED)?;
    if !c.eat(b':') {
        return Err(DATE_TIME_EXPECTED);
    }
    let minute = c.number(2, 2).ok_or(DATE_TIME_EXPECTED)?;
    let mut second = 0;
    let mut nano = 0u32;
    if c.eat(b':') {
        second = c.number(2, 2).ok_or(DATE_TIME_EXPECTED)?;
        if c.eat(b'.') {
            let run = c.digit_run();
            if run.is_empty() {
                return Err("expected digits after the decimal point");
            }
            // Keep nanosecond precision; further digits are dropped.
            let kept = run.get(..9).unwrap_or(run);
            let scale = 10u32.pow(9 - kept.len() as u32);
            nano = u32::try_from(digits_value(kept))
                .ok()
                .and_then(|v| v.checked_mul(scale))
                .ok_or("fraction out of range")?;
        }
    }
    if hour > 23 {
        return Err("hour out of range (00-23)");
    }
    if minute > 59 {
        return Err("minute out of range (00-59)");
    }
    if second > 60 {
        return Err("second out of range (00-59, or 60 for a leap second)");
    }
    // A leap second (":60") is represented by chrono as second 59 with a
    // nanosecond count of one second or more.
    let (second, nano) = if second == 60 {
        (59, nano + 1_000_000_000)
    } else {
        (second, nano)
    };
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nano).ok_or("invalid time")?;

    let offset = if c.at_end() {
        DateTimeOffset::Unspecified
    } else if c.eat(b'Z') || c.eat(b'z') {
        DateTimeOffset::Utc
    } else {
        let negative = c.eat(b'-');
        if !negative && !c.eat(b'+') {
            return Err(DATE_TIME_EXPECTED);
        }
        let hours = c.two_digits().ok_or("expected offset ±hh:mm")?;
        let mut minutes = 0;
        let mut seconds = 0;
        if !c.at_end() {
            let colon = c.eat(b':');
            minutes = c.two_digits().ok_or("expected offset ±hh:mm")?;
            if colon && c.eat(b':') {
                seconds = c.two_digits().ok_or("expected offset ±hh:mm")?;
            }
        }
        if hours > 23 || minutes > 59 || seconds > 59 {
            return Err("offset out of range");
        }
        let secs = i32::try_from(hours * 3600 + minutes * 60 + seconds)
            .map_err(|_| "offset out of range")?;
        let secs = if negative { -secs } else { secs };
        DateTimeOffset::Fixed(FixedOffset::east_opt(secs).ok_or("offset out of range")?)
    };

    if !c.at_end() {
        return Err("unexpected characters after the date-time");
    }
    Ok(OnTimeDateTime {
        naive: date.and_time(time),
        offset,
    })
}

impl fmt::Display for OnTimeDateTime {
    /// Writes the wire form (see the type documentation).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let date = self.naive.date();
        let time = self.naive.time();
        let year = date.year();
        if (0..=9999).contains(&year) {
            write!(f, "{year:04}")?;
        } else {
            write!(f, "{year:+05}")?;
        }
        let (mut second, mut nano) = (time.second(), time.nanosecond());
        if nano >= 1_000_000_000 {
            second += 1;
            nano -= 1_000_000_000;
        }
        write!(
            f,
            "-{:02}-{:02}T{:02}:{:02}:{:02}",
            date.month(),
            date.day(),
            time.hour(),
            time.minute(),
            second
        )?;
        if nano != 0 {
            let mut frac = nano;
            let mut width = 9;
            while frac % 10 == 0 {
                frac /= 10;
                width -= 1;
            }
            write!(f, ".{frac:0width$}")?;
        }
        match self.offset {
            DateTimeOffset::Unspecified => Ok(()),
            DateTimeOffset::Utc => f.write_char('Z'),
            DateTimeOffset::Fixed(off) => {
                let secs = off.local_minus_utc();
                let sign = if secs < 0 { '-' } else { '+' };
                let secs = secs.unsigned_abs();
                write!(f, "{sign}{:02}:{:02}", secs / 3600, secs / 60 % 60)?;
                if secs % 60 != 0 {
                    write!(f, ":{:02}", secs % 60)?;
                }
                Ok(())
            }
        }
    }
}

impl FromStr for OnTimeDateTime {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for OnTimeDateTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for OnTimeDateTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DateTimeVisitor;

        impl Visitor<'_> for DateTimeVisitor {
            type Value = OnTimeDateTime;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an OnTime date-time string such as \"2019-04-08T15:00:00\"")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                OnTimeDateTime::parse(v).map_err(E::custom)
            }
        }

        deserializer.deserialize_str(DateTimeVisitor)
    }
}

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

// ---------------------------------------------------------------------------
// Lenient enums
// ---------------------------------------------------------------------------

/// An enum value that this version of the crate does not know, kept exactly
/// as it was received so that it can be written back unchanged.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum UnknownEnumValue {
    /// An integer code, written back as a JSON number.
    Code(i64),
    /// A name (any string that is neither a known name nor an integer),
    /// written back as the same JSON string.
    Name(String),
}

impl fmt::Display for UnknownEnumValue {
    /// Writes the code or the name verbatim.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Code(code) => write!(f, "{code}"),
            Self::Name(name) => f.write_str(name),
        }
    }
}

impl FromStr for UnknownEnumValue {
    type Err = ParseError;

    /// An integer becomes [`Code`](Self::Code), anything else but the empty
    /// string becomes [`Name`](Self::Name).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(ParseError::new("enum value", s, "empty string"));
        }
        Ok(match parse_enum_code(s) {
            Some(code) => Self::Code(code),
            None => Self::Name(s.to_owned()),
        })
    }
}

impl Serialize for UnknownEnumValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Code(code) => serializer.serialize_i64(*code),
            Self::Name(name) => serializer.serialize_str(name),
        }
    }
}

impl<'de> Deserialize<'de> for UnknownEnumValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RawVisitor;

        impl Visitor<'_> for RawVisitor {
            type Value = UnknownEnumValue;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an enum code (integer) or name (string)")
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(UnknownEnumValue::Code(v))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                i64::try_from(v)
                    .map(UnknownEnumValue::Code)
                    .map_err(|_| E::custom(format_args!("enum code {v} is out of range")))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(match parse_enum_code(v) {
                    Some(code) => UnknownEnumValue::Code(code),
                    None => UnknownEnumValue::Name(v.to_owned()),
                })
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(match parse_enum_code(&v) {
                    Some(code) => UnknownEnumValue::Code(code),
                    None => UnknownEnumValue::Name(v),
                })
            }
        }

        deserializer.deserialize_any(RawVisitor)
    }
}

/// An enum code written as a string: optional sign, then ASCII digits, with
/// surrounding ASCII whitespace ignored. `None` if not an `i64`.
fn parse_enum_code(s: &str) -> Option<i64> {
    let t = s.trim_ascii();
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

/// What every int-or-name enum of the API offers, for code that works on any of them (the
/// simulator's check of posted values, lookups by name). Each enum also has these as inherent
/// methods, so using one enum needs no import.
pub trait LenientEnum: Sized + Clone + fmt::Debug + fmt::Display + 'static {
    /// The enum's name in the spec (`StatusLevel`).
    const NAME: &'static str;
    /// All known variants (everything except `Unknown`), in code order.
    fn all() -> &'static [Self];
    /// The integer code: the known code, an unknown code as received, or `None` for an unknown
    /// name.
    fn code(&self) -> Option<i64>;
    /// The variant name for known variants, `None` for `Unknown`.
    fn name(&self) -> Option<&'static str>;
    /// Whether this is a value this crate does not know.
    fn is_unknown(&self) -> bool;
    /// The known variant with this code, if any.
    fn from_known_code(code: i64) -> Option<Self>;
    /// The known variant with this name (ASCII case-insensitive), if any.
    fn from_known_name(name: &str) -> Option<Self>;
}

/// Defines an enum that is an integer code on the wire, also accepts its
/// names, and keeps unknown codes and names in an `Unknown` variant.
///
/// ```text
/// lenient_enum! {
///     /// Docs for the enum.
///     pub enum Name {
///         /// Docs for the variant.
///         Variant = 0,
///     }
/// }
/// ```
///
/// The first variant should be code 0: `Default` returns the code-0 value.
macro_rules! lenient_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident = $code:literal
            ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        ///
        /// On the wire this is an integer code; names are accepted too
        /// (ASCII case-insensitive), as are integers written as strings.
        /// Known variants are written as their code. Codes and names this
        /// crate does not know decode to `Unknown` and are written back
        /// exactly as received.
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        $vis enum $name {
            $(
                $(#[$vmeta])*
                #[doc = ""]
                #[doc = concat!("Wire code `", stringify!($code), "`.")]
                $variant,
            )+
            /// A code or name this version of the crate does not know,
            /// kept as received. Decoding never produces this for a known
            /// code or name.
            Unknown(UnknownEnumValue),
        }

        impl $name {
            /// All known variants (everything except `Unknown`), in code
            /// order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The known variant with this code, if any.
            pub const fn from_known_code(code: i64) -> Option<Self> {
                match code {
                    $($code => Some(Self::$variant),)+
                    _ => None,
                }
            }

            /// The known variant with this name (ASCII case-insensitive,
            /// surrounding ASCII whitespace ignored), if any.
            pub fn from_known_name(name: &str) -> Option<Self> {
                let name = name.trim_ascii();
                $(
                    if name.eq_ignore_ascii_case(stringify!($variant)) {
                        return Some(Self::$variant);
                    }
                )+
                None
            }

            /// Decodes a string from the wire: a known name, an integer
            /// (known or unknown code), or else an unknown name kept
            /// verbatim.
            fn from_wire_str(s: &str) -> Self {
                if let Some(known) = Self::from_known_name(s) {
                    return known;
                }
                match parse_enum_code(s) {
                    Some(code) => Self::from(code),
                    None => Self::Unknown(UnknownEnumValue::Name(s.to_owned())),
                }
            }

            /// The integer code: the known code, an unknown code as
            /// received, or `None` for an unknown name.
            pub fn code(&self) -> Option<i64> {
                match self {
                    $(Self::$variant => Some($code),)+
                    Self::Unknown(UnknownEnumValue::Code(code)) => Some(*code),
                    Self::Unknown(UnknownEnumValue::Name(_)) => None,
                }
            }

            /// The variant name for known variants, `None` for `Unknown`.
            pub fn name(&self) -> Option<&'static str> {
                match self {
                    $(Self::$variant => Some(stringify!($variant)),)+
                    Self::Unknown(_) => None,
                }
            }

            /// Whether this is a value this crate does not know.
            pub fn is_unknown(&self) -> bool {
                matches!(self, Self::Unknown(_))
            }
        }

        impl LenientEnum for $name {
            const NAME: &'static str = stringify!($name);

            fn all() -> &'static [Self] {
                Self::ALL
            }

            fn code(&self) -> Option<i64> {
                $name::code(self)
            }

            fn name(&self) -> Option<&'static str> {
                $name::name(self)
            }

            fn is_unknown(&self) -> bool {
                $name::is_unknown(self)
            }

            fn from_known_code(code: i64) -> Option<Self> {
                $name::from_known_code(code)
            }

            fn from_known_name(name: &str) -> Option<Self> {
                $name::from_known_name(name)
            }
        }

        impl Default for $name {
            /// The code-0 variant.
            fn default() -> Self {
                Self::from(0)
            }
        }

        impl From<i64> for $name {
            /// The known variant with this code, or `Unknown(Code(code))`.
            fn from(code: i64) -> Self {
                Self::from_known_code(code)
                    .unwrap_or(Self::Unknown(UnknownEnumValue::Code(code)))
            }
        }

        impl fmt::Display for $name {
            /// Writes the name of a known variant, or an unknown code or
            /// name verbatim.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    $(Self::$variant => f.write_str(stringify!($variant)),)+
                    Self::Unknown(raw) => fmt::Display::fmt(raw, f),
                }
            }
        }

        impl FromStr for $name {
            type Err = ParseError;

            /// Accepts a name (ASCII case-insensitive) or an integer code.
            /// Any other non-empty string becomes `Unknown(Name(..))`; only
            /// the empty string is an error.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                if s.is_empty() {
                    return Err(ParseError::new(stringify!($name), s, "empty string"));
                }
                Ok(Self::from_wire_str(s))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    $(Self::$variant => serializer.serialize_i64($code),)+
                    Self::Unknown(raw) => raw.serialize(serializer),
                }
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct EnumVisitor;

                impl Visitor<'_> for EnumVisitor {
                    type Value = $name;

                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str(concat!(
                            "a ",
                            stringify!($name),
                            " code (integer) or name (string)"
                        ))
                    }

                    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                        Ok($name::from(v))
                    }

                    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                        i64::try_from(v).map($name::from).map_err(|_| {
                            E::custom(format_args!(
                                concat!(stringify!($name), " code {} is out of range"),
                                v
                            ))
                        })
                    }

                    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                        Ok($name::from_wire_str(v))
                    }
                }

                deserializer.deserialize_any(EnumVisitor)
            }
        }
    };
}

lenient_enum! {
    /// Status level of an order (`Level`).
    ///
    /// # Example
    ///
    /// ```
    /// use ontime_raw::lenient::{StatusLevel, UnknownEnumValue};
    ///
    /// let level: StatusLevel = serde_json::from_str("\"delivered\"").unwrap();
    /// assert_eq!(level, StatusLevel::Delivered);
    /// assert_eq!(serde_json::to_string(&level).unwrap(), "3");
    ///
    /// let future: StatusLevel = serde_json::from_str("42").unwrap();
    /// assert_eq!(future, StatusLevel::Unknown(UnknownEnumValue::Code(42)));
    /// assert_eq!(serde_json::to_string(&future).unwrap(), "42");
    /// ```
    pub enum StatusLevel {
        /// No status.
        None = 0,
        /// Dispatched, not yet assigned to a driver.
        Dispatched = 1,
        /// Assigned to a driver who is in route.
        AssignedInRoute = 2,
        /// Delivered.
        Delivered = 3,
        /// Cancelled.
        Cancelled = 4,
        /// Cancelled, but still billable.
        CancelledBillable = 5,
        /// Assigned to a driver.
        Assigned = 6,
        /// Stored (held in storage).
        Stored = 7,
        /// Stored and not assigned to a driver.
        UnassignedStored = 8,
        /// A quote, not yet an order.
        Quoted = 9,
    }
}

lenient_enum! {
    /// How the base price of a price set is calculated.
    pub enum PricingMethod {
        /// No pricing method.
        None = 0,
        /// Price looked up from collection zone to delivery zone.
        ZoneToZone = 1,
        /// Price based on distance.
        Distance = 2,
        /// A flat rate.
        FlatRate = 3,
    }
}

lenient_enum! {
    /// Kind of a price modifier.
    pub enum PriceModifierType {
        /// Any other modifier.
        Other = 0,
        /// Charge for signature capture.
        SignatureCapture = 1,
        /// Charge for cash on delivery.
        CashOnDelivery = 2,
        /// Distance-based base price.
        DistanceBasePrice = 3,
        /// An ad-hoc charge.
        AdHocCharge = 4,
        /// Tax.
        Tax = 5,
    }
}

lenient_enum! {
    /// The input a price modifier is calculated from.
    pub enum PriceModifierInput {
        /// No input.
        None = 0,
        /// Weight.
        Weight = 1,
        /// Quantity.
        Quantity = 2,
        /// Mileage.
        Mileage = 3,
        /// Dimensions.
        Dimensions = 4,
        /// A custom value.
        Custom = 5,
        /// Declared value.
        DeclaredValue = 6,
        /// Base price.
        BasePrice = 7,
        /// Height.
        Height = 8,
        /// Width.
        Width = 9,
        /// Depth.
        Depth = 10,
        /// A zone lookup table.
        ZoneLookupTable = 11,
        /// Duration of the collection.
        CollectionDuration = 12,
        /// Duration of the delivery.
        DeliveryDuration = 13,
        /// Vehicle type.
        VehicleType = 14,
        /// Package type.
        PackageType = 15,
    }
}

lenient_enum! {
    /// Role a compensation applies to.
    pub enum CompensationRole {
        /// No role.
        None = 0,
        /// A dispatcher.
        Dispatcher = 1,
        /// A driver.
        Driver = 2,
    }
}

lenient_enum! {
    /// Unit of a compensation.
    pub enum CompensationType {
        /// No compensation.
        None = 0,
        /// Paid in money.
        Money = 1,
        /// Paid in time.
        Time = 2,
    }
}

lenient_enum! {
    /// Kind of user that logged in.
    pub enum LogInType {
        /// Undefined.
        Undefined = 0,
        /// A dispatcher.
        Dispatcher = 1,
        /// A driver.
        Driver = 2,
    }
}

lenient_enum! {
    /// Whether a signature was taken at collection or at delivery.
    pub enum SignatureType {
        /// Signature taken at collection.
        Collection = 0,
        /// Signature taken at delivery.
        Delivery = 1,
    }
}

#[cfg(test)]
mod tests {
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
}
