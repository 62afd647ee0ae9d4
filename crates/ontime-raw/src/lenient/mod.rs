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

use std::fmt;

mod date_time;
mod enums;
#[cfg(test)]
mod tests;
mod time_span;

pub use date_time::*;
pub use enums::*;
pub use time_span::*;

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
