"""Schemathesis hooks for ontime-mock (loaded through SCHEMATHESIS_HOOKS).

OnTime writes date-times without a UTC offset (`2019-04-08T15:00:00`, account-local time), so
`openapi/ontime.json` describes them as `format: ontime-date-time` with a `pattern` (see
`openapi/README.md`), and TimeSpans as `format: timespan` with a `pattern`. Schemathesis knows
neither format. These hooks teach both sides of the run OnTime's wire formats:

* response validation checks `ontime-date-time` with the grammar
  `ontime_raw::lenient::OnTimeDateTime` parses (offset optional, seconds and fraction optional,
  a real calendar date) and `timespan` (.NET TimeSpan, `[-][d.]hh:mm:ss[.fffffff]`); the
  schemas' `pattern`s are checked too; `uuid` and every other format keep their standard checks;
* generation draws both formats from the spec's own `pattern`s, so every generated value is one
  the spec allows.

Digits are matched with `[0-9]`: Python's `\\d` also matches non-ASCII digits (`٣`), which
neither the spec nor OnTime accepts.
"""

import json
import os
import re

import schemathesis
from hypothesis import strategies as st
from schemathesis.core import jsonschema as st_jsonschema

_DATE_TIME = re.compile(
    r"^(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})"
    r"(?:[Tt ](?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2})(?:\.[0-9]+)?)?"
    r"(?:[Zz]|[+-][0-9]{2}(?::?[0-9]{2}(?::[0-9]{2})?)?)?)?$"
)
_TIMESPAN = re.compile(
    r"^-?(?:[0-9]{1,8}\.)?(?:[01]?[0-9]|2[0-3]):[0-5]?[0-9]:[0-5]?[0-9](?:\.[0-9]{1,7})?$"
)


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


def _spec_pattern(format_name: str) -> str:
    """The `pattern` the spec gives every schema of `format_name`."""
    path = os.path.join(os.path.dirname(__file__), "..", "openapi", "ontime.json")
    with open(path, encoding="utf-8") as f:
        spec = json.load(f)
    found = set()

    def walk(node):
        if isinstance(node, dict):
            if node.get("format") == format_name and "pattern" in node:
                found.add(node["pattern"])
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(spec)
    if len(found) != 1:
        raise RuntimeError(f"expected one pattern for format {format_name}, found {found}")
    return found.pop()


# Response validation of OpenAPI 3.0 uses Draft 4 validators with these supplemental formats.
st_jsonschema.DRAFT4_SUPPLEMENTAL_FORMATS["ontime-date-time"] = ontime_date_time
st_jsonschema.DRAFT4_SUPPLEMENTAL_FORMATS["timespan"] = dotnet_timespan

schemathesis.openapi.format(
    "ontime-date-time", st.from_regex(_spec_pattern("ontime-date-time"), fullmatch=True)
)
schemathesis.openapi.format("timespan", st.from_regex(_spec_pattern("timespan"), fullmatch=True))


# Requests the spec allows but the API refuses for reasons OpenAPI 3.0 cannot state. Each entry
# is one rule, stated in the operation's description in the spec; everything else a schema-valid
# request gets refused for is a failure.
_ORDER_ACTIONS = {
    "POST /api/order/codRequirement",
    "GET /api/order/signature",
    "POST /api/order/signatureRequirement",
    "POST /api/order/updateStatus",
}
# The report types the simulator renders; the vendor's full list is not public, so the spec
# cannot enumerate them.
_REPORT_TYPES = {"SL", "WB", "BOL", "POD", "INV"}


def _exempt(case, response) -> bool:
    label = case.operation.label
    query = case.query or {}
    if label in _ORDER_ACTIONS:
        # "Give `id` or `trackingNumber`": one of two parameters, not expressible in 3.0.
        return response.status_code == 400 and not (query.get("id") or query.get("trackingNumber"))
    if label == "GET /api/order/report":
        return response.status_code == 400 and str(query.get("type", "")).strip().upper() not in _REPORT_TYPES
    if label == "POST /api/item/post":
        # An item belongs to one order for good; a post naming an existing item and another
        # order is refused. The spec cannot tie a body field to stored state.
        return response.status_code == 400 and "cannot move to another order" in response.text
    return False


@schemathesis.check
def positive_data_acceptance_ontime(ctx, response, case):
    """schemathesis' `positive_data_acceptance` (a request the spec allows is not refused), minus
    the refusals listed in `_exempt`."""
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    if _exempt(case, response):
        return None
    return positive_data_acceptance(ctx, response, case)
