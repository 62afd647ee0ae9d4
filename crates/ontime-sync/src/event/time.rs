//! OnTime's offset-less local times, made explicit with the account's IANA time zone.

use chrono::{DateTime, Duration, FixedOffset, LocalResult, NaiveDateTime, Offset, TimeZone};
use chrono_tz::Tz;

/// How a wall-clock time was placed on the time line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocalTimeResolution {
    /// The wall-clock time exists exactly once in the zone.
    Unique,
    /// The wall-clock time occurs twice (the clock was set back): the earlier instant was taken.
    Fold,
    /// The wall-clock time does not exist (the clock was set forward): it was read with the
    /// offset in force just before the gap, so it lands as far after the gap as it was into it
    /// (02:30 in a 02:00 → 03:00 gap becomes 03:30).
    Gap,
}

/// The instant of the account-local wall-clock time `local` in `zone`, with its offset.
///
/// Deterministic for every input: a fold resolves to the earlier instant, a gap to the instant
/// given by the offset before the gap (see [`LocalTimeResolution`]).
pub fn resolve_local_time(
    local: NaiveDateTime,
    zone: Tz,
) -> (DateTime<FixedOffset>, LocalTimeResolution) {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(dt) => (fixed(dt), LocalTimeResolution::Unique),
        LocalResult::Ambiguous(earlier, _later) => (fixed(earlier), LocalTimeResolution::Fold),
        LocalResult::None => {
            // Find the offset in force before the gap: step back until a wall time exists.
            // Real gaps are at most a day long (Samoa skipped 2011-12-30), so 48 hours suffice.
            let offset = (1..=48 * 4)
                .find_map(|quarter| {
                    let before = local.checked_sub_signed(Duration::minutes(15 * quarter))?;
                    zone.from_local_datetime(&before)
                        .earliest()
                        .map(|dt| dt.offset().fix())
                })
                .unwrap_or_else(|| zone.offset_from_utc_datetime(&local).fix());
            let utc = local - Duration::seconds(i64::from(offset.local_minus_utc()));
            (
                fixed(zone.from_utc_datetime(&utc)),
                LocalTimeResolution::Gap,
            )
        }
    }
}

fn fixed(dt: DateTime<Tz>) -> DateTime<FixedOffset> {
    dt.with_timezone(&dt.offset().fix())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").unwrap()
    }

    #[test]
    fn ordinary_times_get_the_zones_offset() {
        let (dt, how) =
            resolve_local_time(local("2026-01-15T10:00:00"), chrono_tz::America::Chicago);
        assert_eq!(dt.to_rfc3339(), "2026-01-15T10:00:00-06:00");
        assert_eq!(how, LocalTimeResolution::Unique);
        let (dt, _) = resolve_local_time(local("2026-07-15T10:00:00"), chrono_tz::America::Chicago);
        assert_eq!(dt.to_rfc3339(), "2026-07-15T10:00:00-05:00");
    }

    #[test]
    fn a_fold_takes_the_earlier_instant() {
        // 2026-11-01 01:30 happens twice in Chicago (CDT, then CST).
        let (dt, how) =
            resolve_local_time(local("2026-11-01T01:30:00"), chrono_tz::America::Chicago);
        assert_eq!(dt.to_rfc3339(), "2026-11-01T01:30:00-05:00");
        assert_eq!(how, LocalTimeResolution::Fold);
    }

    #[test]
    fn a_gap_moves_forward_by_its_length() {
        // 2026-03-08 02:30 does not exist in Chicago (02:00 → 03:00).
        let (dt, how) =
            resolve_local_time(local("2026-03-08T02:30:00"), chrono_tz::America::Chicago);
        assert_eq!(dt.to_rfc3339(), "2026-03-08T03:30:00-05:00");
        assert_eq!(how, LocalTimeResolution::Gap);
        // Samoa skipped a whole day: 2011-12-30 did not exist.
        let (dt, how) = resolve_local_time(local("2011-12-30T12:00:00"), chrono_tz::Pacific::Apia);
        assert_eq!(how, LocalTimeResolution::Gap);
        assert_eq!(dt.to_rfc3339(), "2011-12-31T12:00:00+14:00");
    }
}
