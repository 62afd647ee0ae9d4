"""Schemathesis hooks for ontime-mock (loaded through SCHEMATHESIS_HOOKS).

OnTime writes date-times without a UTC offset (`2019-04-08T15:00:00`, account-local time), as
`openapi/ontime.json` documents for `format: date-time`. RFC 3339, which JSON Schema's built-in
`date-time` check follows, requires an offset, so the built-in check would reject every
date-time the real API sends. These hooks teach both sides of the run OnTime's wire formats
instead of switching format validation off:

* response validation checks `date-time` with OnTime's grammar (the one
  `ontime_raw::lenient::OnTimeDateTime` parses: an optional offset, seconds and fraction
  optional) and checks `timespan` (.NET TimeSpan, `[-][d.]hh:mm:ss[.fffffff]`) strictly;
  `uuid` and every other format keep their standard checks;
* generation produces valid `timespan` strings (no generic strategy exists for that format).
"""

import re

import schemathesis
from hypothesis import strategies as st
from schemathesis.core import jsonschema as st_jsonschema

_DATE_TIME = re.compile(
    r"^(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"
    r"(?:[Tt ](?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.\d+)?)?)?"
    r"(?:[Zz]|[+-]\d{2}(?::?\d{2}(?::\d{2})?)?)?$"
)
_TIMESPAN = re.compile(r"^-?(?:\d{1,8}\.)?(?:[01]?\d|2[0-3]):[0-5]?\d:[0-5]?\d(?:\.\d{1,7})?$")


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


def ontime_date_time(value: object) -> bool:
    """Whether `value` is a date-time as OnTime writes it (offset optional)."""
    if not isinstance(value, str):
        return True
    m = _DATE_TIME.match(value)
    if m is None:
        return False
    year, month, day = int(m["year"]), int(m["month"]), int(m["day"])
    if not (1 <= month <= 12 and 1 <= day <= _days_in_month(year, month)):
        return False
    if m["hour"] is not None:
        if int(m["hour"]) > 23 or int(m["minute"]) > 59:
            return False
        if m["second"] is not None and int(m["second"]) > 60:
            return False
    return True


def dotnet_timespan(value: object) -> bool:
    """Whether `value` is a .NET TimeSpan in its constant format."""
    return not isinstance(value, str) or _TIMESPAN.match(value) is not None


# Response validation of OpenAPI 3.0 uses Draft 4 validators with these supplemental formats;
# entries here replace the built-in check of the same name.
st_jsonschema.DRAFT4_SUPPLEMENTAL_FORMATS["date-time"] = ontime_date_time
st_jsonschema.DRAFT4_SUPPLEMENTAL_FORMATS["timespan"] = dotnet_timespan

schemathesis.openapi.format(
    "timespan",
    st.from_regex(r"\A-?(?:[1-9]\d{0,3}\.)?(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,7})?\Z"),
)
