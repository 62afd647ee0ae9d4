//! Parsers for argument values (GUIDs, dates, statuses) and the ways to name an order.

use std::str::FromStr;

use clap::Args;
use ontime::{OnTimeDateTime, OrderId, OrderRef, StatusLevel, index};

use crate::enums::{self, Unknown};
use crate::error::CliError;

/// A typed GUID (`OrderId`, `CustomerId`, ...), with the identifier type's own message.
pub fn id<T>(text: &str) -> Result<T, String>
where
    T: FromStr<Err = ontime::IdParseError>,
{
    text.parse::<T>().map_err(|e| e.to_string())
}

const DATE_FORMS: &str = "use a date such as 2026-11-24, a local time such as 2026-11-24T15:00:00 \
                          (the account's time zone), or a time with offset such as \
                          2026-11-24T15:00:00Z or 2026-11-24T15:00:00-05:00";

/// A date or date-time as OnTime takes it: `2026-11-24`, `2026-11-24T15:00:00` (account-local),
/// or with an offset.
pub fn date(text: &str) -> Result<OnTimeDateTime, String> {
    let trimmed = text.trim();
    OnTimeDateTime::parse(trimmed).map_err(|e| {
        let reason = e.reason();
        if reason.starts_with("expected") {
            format!("{trimmed:?} is not a date: {DATE_FORMS}")
        } else {
            format!("{trimmed:?} is not a date ({reason}): {DATE_FORMS}")
        }
    })
}

/// A date or date-time that ends a range (`--submitted-to`, `--created-to`, `--to`, ...). A
/// bare date covers that whole day: it becomes the day's last instant, `23:59:59.9999999` (the
/// finest time OnTime stores, and its range ends are inclusive), so `--submitted-to 2026-11-30`
/// includes orders submitted at 23:59 that day. A date with a time is taken as written.
pub fn date_to(text: &str) -> Result<OnTimeDateTime, String> {
    let parsed = date(text)?;
    let trimmed = text.trim();
    let date_only = !trimmed.contains(['T', 't', ' ']);
    if !date_only {
        return Ok(parsed);
    }
    let end = parsed
        .naive_local()
        .date()
        .and_hms_nano_opt(23, 59, 59, 999_999_900)
        .ok_or_else(|| format!("{trimmed:?} has no end of day"))?;
    Ok(OnTimeDateTime::naive(end))
}

/// Refuses a range whose start is after its end (`--submitted-from` later than
/// `--submitted-to`), which would match nothing. Two account-local times compare as written,
/// two times with offsets as instants; a local time and one with an offset cannot be compared
/// without the account's time zone, so that pair is left to the server.
pub fn check_range(
    from_flag: &str,
    from: Option<OnTimeDateTime>,
    to_flag: &str,
    to: Option<OnTimeDateTime>,
) -> Result<(), CliError> {
    let (Some(from), Some(to)) = (from, to) else {
        return Ok(());
    };
    let after = match (from.to_fixed(), to.to_fixed()) {
        (Some(a), Some(b)) => a > b,
        (None, None) => from.naive_local() > to.naive_local(),
        _ => false,
    };
    if after {
        return Err(CliError::usage(format!(
            "{from_flag} {from} is after {to_flag} {to}: the range is empty"
        )));
    }
    Ok(())
}

/// When records were created and last modified: the time ranges customer and user finders
/// take, checked the same way.
#[derive(Args, Debug, Clone, Default)]
pub struct ChangeRanges {
    /// Created at or after this time
    #[arg(long, value_name = "DATE", value_parser = date)]
    pub created_from: Option<OnTimeDateTime>,
    /// Created at or before this time (a bare date: through the end of that day)
    #[arg(long, value_name = "DATE", value_parser = date_to)]
    pub created_to: Option<OnTimeDateTime>,
    /// Modified at or after this time
    #[arg(long, value_name = "DATE", value_parser = date)]
    pub modified_from: Option<OnTimeDateTime>,
    /// Modified at or before this time (a bare date: through the end of that day)
    #[arg(long, value_name = "DATE", value_parser = date_to)]
    pub modified_to: Option<OnTimeDateTime>,
}

impl ChangeRanges {
    /// The bounds `[created_from, created_to, modified_from, modified_to]`, once neither range
    /// ends before it starts (else a usage error).
    pub fn checked(&self) -> Result<[Option<OnTimeDateTime>; 4], CliError> {
        check_range(
            "--created-from",
            self.created_from,
            "--created-to",
            self.created_to,
        )?;
        check_range(
            "--modified-from",
            self.modified_from,
            "--modified-to",
            self.modified_to,
        )?;
        Ok([
            self.created_from,
            self.created_to,
            self.modified_from,
            self.modified_to,
        ])
    }
}

/// Any text value that names or filters something (a tracking number, a name, a filter value):
/// empty or whitespace-only text is refused, because OnTime and the simulator take an empty
/// filter as no filter at all, so `--customer-name ""` would match every order.
pub fn non_blank(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        return Err("the value is empty; give a non-blank value".into());
    }
    Ok(text.to_string())
}

/// The valid status names, for messages.
pub fn status_names() -> String {
    enums::names(&index::STATUS_LEVEL)
}

/// A status level by name (any case; `assigned-in-route` and `AssignedInRoute` both work) or by
/// code (0-9). Unlike the library, which keeps values it does not know, the command line
/// rejects them: a typo should not reach the server.
pub fn status(text: &str) -> Result<StatusLevel, String> {
    let trimmed = text.trim();
    match enums::typed(&index::STATUS_LEVEL, trimmed) {
        Ok((code, _)) => Ok(StatusLevel::from(code)),
        Err(Unknown::Code(code)) => Err(format!(
            "unknown status code {code}: valid codes are 0-9 ({})",
            codes()
        )),
        Err(Unknown::Name { closest }) => {
            let suggestion = closest
                .map(|name| format!(" (did you mean {name}?)"))
                .unwrap_or_default();
            Err(format!(
                "unknown status {trimmed:?}{suggestion}; valid statuses are {} (any case), or their codes 0-9",
                status_names()
            ))
        }
    }
}

fn codes() -> String {
    let pairs: Vec<String> = index::STATUS_LEVEL
        .values
        .iter()
        .map(|(code, name)| format!("{code}={name}"))
        .collect();
    pairs.join(", ")
}

/// Edit distance (Levenshtein, counted in `char`s), for "did you mean".
pub use strsim::levenshtein;

/// One order named on the command line: a GUID, or with `-t` a tracking number.
#[derive(Args, Debug, Clone)]
pub struct OrderArg {
    /// The order's ID (a GUID), or its tracking number with -t
    #[arg(value_name = "ORDER", value_parser = non_blank)]
    pub order: String,
    /// Take ORDER as a tracking number instead of an ID
    #[arg(short = 't', long = "tracking-number")]
    pub by_tracking_number: bool,
}

impl OrderArg {
    /// The order as the facade takes it; a malformed GUID is a usage error.
    pub fn to_ref(&self) -> Result<OrderRef, CliError> {
        order_ref(&self.order, self.by_tracking_number)
    }

    /// How to name the order in messages.
    pub fn describe(&self) -> String {
        describe(&self.order, self.by_tracking_number)
    }
}

pub fn order_ref(text: &str, by_tracking_number: bool) -> Result<OrderRef, CliError> {
    if by_tracking_number {
        let tn = text.trim();
        if tn.is_empty() {
            return Err(CliError::usage("the tracking number is empty"));
        }
        return Ok(OrderRef::TrackingNumber(tn.to_string()));
    }
    text.parse::<OrderId>().map(OrderRef::Id).map_err(|e| {
        CliError::usage(e.to_string()).with_hint(format!(
            "to name an order by tracking number, add -t (for example: -t {})",
            text.trim()
        ))
    })
}

pub fn describe(text: &str, by_tracking_number: bool) -> String {
    if by_tracking_number {
        format!("order with tracking number {}", text.trim())
    } else {
        format!("order {}", text.trim())
    }
}

/// `Field=value` for `orders update --set`.
pub fn assignment(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((field, value)) if !field.trim().is_empty() => {
            Ok((field.trim().to_string(), value.to_string()))
        }
        _ => Err(format!(
            "{text:?} is not FIELD=VALUE (for example Comments=\"Leave at reception\")"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_by_name_code_or_spelling_variant() {
        assert_eq!(status("delivered"), Ok(StatusLevel::Delivered));
        assert_eq!(status("DELIVERED"), Ok(StatusLevel::Delivered));
        assert_eq!(
            status("assigned-in-route"),
            Ok(StatusLevel::AssignedInRoute)
        );
        assert_eq!(
            status("assigned in route"),
            Ok(StatusLevel::AssignedInRoute)
        );
        assert_eq!(status("3"), Ok(StatusLevel::Delivered));
        let err = status("delivred").unwrap_err();
        assert!(err.contains("did you mean Delivered?"), "{err}");
        assert!(err.contains("Quoted"), "{err}");
        assert!(status("12").unwrap_err().contains("valid codes are 0-9"));
        assert!(status("zzzzzzzzz").is_err());
    }

    #[test]
    fn dates_in_the_documented_forms() {
        assert_eq!(
            date("2026-11-24").unwrap().to_string(),
            "2026-11-24T00:00:00"
        );
        assert_eq!(
            date("2026-11-24T15:00:00").unwrap().to_string(),
            "2026-11-24T15:00:00"
        );
        assert_eq!(
            date("2026-11-24T15:00:00-05:00").unwrap().to_string(),
            "2026-11-24T15:00:00-05:00"
        );
        let err = date("yesterday").unwrap_err();
        assert!(err.starts_with("\"yesterday\" is not a date: use"), "{err}");
        let err = date("2026-02-30").unwrap_err();
        assert!(err.contains("(no such date)"), "{err}");
    }

    #[test]
    fn a_bare_date_ends_at_the_end_of_its_day() {
        assert_eq!(
            date_to("2026-11-30").unwrap().to_string(),
            "2026-11-30T23:59:59.9999999"
        );
        assert_eq!(
            date_to(" 2026-11-30T10:00:00 ").unwrap().to_string(),
            "2026-11-30T10:00:00"
        );
        assert_eq!(
            date_to("2026-11-30T00:00:00Z").unwrap().to_string(),
            "2026-11-30T00:00:00Z"
        );
        assert!(date_to("2026-11-31").is_err());
    }

    #[test]
    fn ranges_must_not_end_before_they_start() {
        let d = |t: &str| Some(date(t).unwrap());
        let check = |a, b| check_range("--from", a, "--to", b);
        assert!(check(d("2026-11-30"), d("2026-11-01")).is_err());
        assert!(check(d("2026-11-30"), date_to("2026-11-30").ok()).is_ok());
        // Instants compare across offsets: 10:00+02:00 is 08:00Z.
        assert!(check(d("2026-11-30T10:00:00+02:00"), d("2026-11-30T09:00:00Z")).is_ok());
        assert!(check(d("2026-11-30T10:00:00Z"), d("2026-11-30T09:00:00Z")).is_err());
        // A local time and an instant cannot be compared without the account's zone.
        assert!(check(d("2026-11-30T10:00:00"), d("2026-11-30T09:00:00Z")).is_ok());
        assert!(check(None, d("2026-11-01")).is_ok());
        let err = check(d("2026-11-30"), d("2026-11-01")).unwrap_err();
        assert_eq!(err.exit, crate::error::Exit::Usage);
        assert!(
            err.message
                .contains("--from 2026-11-30T00:00:00 is after --to")
        );
    }

    #[test]
    fn blank_values_are_refused() {
        assert!(non_blank("").is_err());
        assert!(non_blank(" \t ").is_err());
        assert_eq!(non_blank(" Vesigo ").as_deref(), Ok(" Vesigo "));
    }

    #[test]
    fn orders_by_guid_or_tracking_number() {
        let id = "44bc0a1d-ef24-49b5-a0cb-54181ce5dbcf";
        assert!(matches!(order_ref(id, false), Ok(OrderRef::Id(_))));
        assert_eq!(
            order_ref("1009214", true).unwrap(),
            OrderRef::TrackingNumber("1009214".into())
        );
        let err = order_ref("1009214", false).unwrap_err();
        assert!(err.message.contains("is not a valid Order identifier"));
        assert!(err.hint.unwrap().contains("-t 1009214"));
    }

    #[test]
    fn assignments_and_distance() {
        assert_eq!(
            assignment("Comments=a=b"),
            Ok(("Comments".into(), "a=b".into()))
        );
        assert!(assignment("Comments").is_err());
        assert_eq!(levenshtein("delivred", "delivered"), 1);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("é", "e"), 1);
    }
}
