//! `OnTimeDateTime`: date-times with or without a UTC offset, written back as they came.

use std::cmp::Ordering;
use std::fmt::{self, Write as _};
use std::str::FromStr;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::*;

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
