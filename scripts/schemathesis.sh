#!/usr/bin/env bash
# Runs schemathesis against ontime-mock: every operation of openapi/ontime.json (as the mock
# serves it at /openapi.json) with response-conformance checks (status, content type, schema,
# headers), negative-data rejection (a request that violates the spec must get a 4xx) and
# positive-data acceptance (a request the spec allows must not be refused with a 400: the spec
# states every constraint the API enforces; scripts/schemathesis_hooks.py lists the three rules
# OpenAPI 3.0 cannot state). Exits non-zero on any failure.
#
# Installs schemathesis into target/schemathesis/venv (python3 -m venv + pip), builds and starts
# the mock on 127.0.0.1 with a fixed key, feeds schemathesis identifiers of seeded records (so
# get-by-id operations answer records, not only 404 faults), runs `st run`, stops the mock.
#
# Environment: ST_MAX_EXAMPLES (default 25 per operation), ST_SEED (default 1).
# One worker: schemathesis' workers are threads, and CPython 3.11 can fail with "AST constructor
# recursion depth mismatch" when threads parse source concurrently (hypothesis does, to report).
set -euo pipefail
cd "$(dirname "$0")/.."

ST_VERSION="4.32.5"
MAX_EXAMPLES="${ST_MAX_EXAMPLES:-25}"
SEED="${ST_SEED:-1}"
KEY="schemathesis-0d6f3c1e-6f0b-4d55-9a51-1c2b3d4e5f60"
WORK="target/schemathesis"
VENV="$WORK/venv"
mkdir -p "$WORK"

if [ ! -x "$VENV/bin/st" ] || ! "$VENV/bin/st" --version 2>/dev/null | grep -q "$ST_VERSION"; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$ST_VERSION"
fi
"$VENV/bin/st" --version

cargo build --quiet -p ontime-mock --bin ontime-mock
MOCK_LOG="$WORK/mock.log"
"${CARGO_TARGET_DIR:-target}/debug/ontime-mock" --port 0 --seed 42 --orders 300 --api-key "$KEY" \
  --clock-start 2024-05-15T10:30:00 --daily-quota 100000000 --monthly-quota 100000000 \
  >"$MOCK_LOG" 2>&1 &
MOCK_PID=$!
trap 'kill "$MOCK_PID" 2>/dev/null || true; wait "$MOCK_PID" 2>/dev/null || true' EXIT

BASE=""
for _ in $(seq 1 100); do
  BASE="$(sed -n 's/^ontime-mock listening on //p' "$MOCK_LOG" | head -n1)"
  [ -n "$BASE" ] && break
  if ! kill -0 "$MOCK_PID" 2>/dev/null; then
    echo "ontime-mock exited:"; cat "$MOCK_LOG"; exit 1
  fi
  sleep 0.1
done
[ -n "$BASE" ] || { echo "ontime-mock did not start"; cat "$MOCK_LOG"; exit 1; }
ORIGIN="${BASE%/sites/*}"
echo "ontime-mock at $BASE"

# Identifiers of seeded records, bound to the operations' parameters (80 % of the time; the rest
# stays random so not-found paths are exercised too).
"$VENV/bin/python" - "$BASE" "$KEY" "$WORK/schemathesis.toml" <<'PY'
import json
import sys
import urllib.parse
import urllib.request

base, key, out = sys.argv[1:4]


def get(path):
    req = urllib.request.Request(f"{base}/api/{urllib.parse.quote(path, safe='/?=&')}", headers={"Authorization": key})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.load(resp)


orders = get("orders")[:40]
records = [get(f"orders/{o}") for o in orders[:10]]
attachments = [a for o in orders for a in get(f"fileAttachments?orderID={o}")][:10]
dictionaries = {
    "orders": orders,
    "tracking": [r["TrackingNumber"] for r in records],
    "items": [i["ID"] for r in records for i in r.get("Items", [])][:20],
    "statuses": [s["ID"] for o in orders[:10] for s in get(f"orderStatusChanges/{o}")][:20],
    "attachments": attachments or orders[:1],
    "customers": get("customers")[:20],
    "contacts": get("contacts")[:20],
    "departments": get("departments")[:20] or get("customers")[:1],
    "locations": get("locations")[:20],
    "zones": get("zones"),
    "users": get("users")[:20],
    "vehicles": get("vehicles")[:20],
    "invoices": get("invoices")[:20] or get("customers")[:1],
    "payments": get("payments")[:20] or get("customers")[:1],
    "sessions": get("userSessions")[:20],
    "price_sets": ["Standard", "Rush", "Distance", "Economy", "Same Day Distance"],
    "price_modifiers": ["Signature Capture", "COD Fee", "Heavy Weight", "Sales Tax", "TAX"],
    "report_types": ["SL", "WB", "BOL", "POD", "INV"],
}
price_set_ids = [get(f"priceSetsByName/{n}")["ID"] for n in ["Standard", "Rush", "Distance"]]
modifier_ids = [get(f"priceModifiersByName/{n}")["ID"] for n in ["COD Fee", "Sales Tax"]]
dictionaries["price_set_ids"] = price_set_ids
dictionaries["price_modifier_ids"] = modifier_ids

bindings = {
    "contactsGet": {"path.id": "contacts"},
    "customersGet": {"path.id": "customers"},
    "departmentsGet": {"path.id": "departments"},
    "fileAttachmentsFind": {"query.orderID": "orders"},
    "fileAttachmentsGet": {"path.id": "attachments"},
    "invoicesGet": {"path.id": "invoices"},
    "itemsGet": {"path.id": "items"},
    "itemPost": {"body.OrderID": "orders"},
    "locationsGet": {"path.id": "locations"},
    "orderCodRequirement": {"query.id": "orders", "query.trackingNumber": "tracking"},
    "orderFileAttachmentDelete": {"path.id": "attachments"},
    "orderFileAttachmentPost": {"path.orderID": "orders"},
    "orderReport": {"query.id": "orders", "query.type": "report_types"},
    "orderSignature": {"query.id": "orders", "query.trackingNumber": "tracking"},
    "orderSignatureRequirement": {"query.id": "orders", "query.trackingNumber": "tracking"},
    "orderUpdatePrices": {"path.id": "orders"},
    "orderUpdateStatus": {"query.id": "orders", "query.trackingNumber": "tracking"},
    "orderStatusChanges": {"path.orderID": "orders"},
    "ordersGet": {"path.id": "orders"},
    "ordersFind": {"query.trackingNumber": "tracking", "query.customerName": "customers"},
    "paymentsGet": {"path.id": "payments"},
    "priceModifiersGet": {"path.id": "price_modifier_ids"},
    "priceModifiersByName": {"path.name": "price_modifiers"},
    "priceSetsGet": {"path.id": "price_set_ids"},
    "priceSetsByName": {"path.name": "price_sets"},
    "statusesGet": {"path.id": "statuses"},
    "userAvailability": {"path.userID": "users"},
    "userPositions": {"query.userId": "users"},
    "userPositionLatest": {"path.userID": "users"},
    "userUpdateAvailability": {"body.UserID": "users"},
    "userUpdatePosition": {"body.UserID": "users"},
    "userSessionsFind": {"query.userId": "users"},
    "userSessionsGet": {"path.id": "sessions"},
    "usersGet": {"path.id": "users"},
    "vehiclesGet": {"path.id": "vehicles"},
    "zonesGet": {"path.id": "zones"},
}
# `customerName` takes names, not ids.
dictionaries["customer_names"] = [get(f"customers/{c}")["Name"] for c in dictionaries["customers"][:5]]
bindings["ordersFind"]["query.customerName"] = "customer_names"


def toml_str(v):
    return json.dumps(str(v))


import os

lines = [
    "# Generated by scripts/schemathesis.sh from the running mock.",
    "",
    "[cache]",
    f"directory = {toml_str(os.path.join(os.path.dirname(os.path.abspath(out)), 'cache'))}",
    "",
]
for name, values in dictionaries.items():
    lines.append(f"[dictionaries.{name}]")
    lines.append("values = [" + ", ".join(toml_str(v) for v in values) + "]")
    lines.append("")
for op, params in bindings.items():
    lines.append("[[operations]]")
    lines.append(f"include-operation-id = {toml_str(op)}")
    lines.append("[operations.parameters]")
    for param, dictionary in params.items():
        lines.append(f'"{param}" = {{ dictionary = {toml_str(dictionary)}, probability = 0.8 }}')
    lines.append("")
with open(out, "w") as f:
    f.write("\n".join(lines))
print(f"wrote {out}: {len(dictionaries)} dictionaries, {len(bindings)} operation bindings")
PY

status=0
SCHEMATHESIS_HOOKS=schemathesis_hooks PYTHONPATH="scripts${PYTHONPATH:+:$PYTHONPATH}" \
  "$VENV/bin/st" --config-file "$WORK/schemathesis.toml" run "$ORIGIN/openapi.json" \
    --header "Authorization: $KEY" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance,negative_data_rejection,positive_data_acceptance_ontime \
    --max-examples "$MAX_EXAMPLES" \
    --seed "$SEED" \
    --workers 1 \
    --request-timeout 30 \
    --warnings off \
    --report junit --report-dir "$WORK/report" || status=$?
if [ "$status" -ne 0 ]; then
  echo "schemathesis found failures (exit $status); mock log: $MOCK_LOG"
fi
exit "$status"
