#!/usr/bin/env bash
# Checks openapi/ontime.json with tools from outside the Rust workspace; exits non-zero on any
# problem:
#   1. Redocly CLI lint (openapi/redocly.yaml: Redocly's recommended rules, every one an error);
#   2. openapi-spec-validator, and every `example` in the spec against its schema
#      (openapi-schema-validator's strict OpenAPI 3.0 validator, format checks on);
#   3. Pydantic models generated from the spec by datamodel-code-generator decode records of every
#      type fetched from the simulator (which also get the strict validator).
#
# Installs pinned tools under target/: a Python venv (target/spec-conformance/venv) and an npm
# prefix (target/redocly). Builds and starts ontime-mock on 127.0.0.1 and stops it on exit.
# Environment: SPEC_ORDERS (orders the simulator seeds, default 200).
set -euo pipefail
cd "$(dirname "$0")/.."

REDOCLY_VERSION="2.77.0"
DMCG_VERSION="0.89.0"
VALIDATOR_VERSION="0.9.0"
ORDERS="${SPEC_ORDERS:-200}"
KEY="spec-conformance-7c1d5e2a-4b3f-4e6d-8a9b-0c1d2e3f4a5b"
WORK="target/spec-conformance"
VENV="$WORK/venv"
SPEC="openapi/ontime.json"
mkdir -p "$WORK" target/redocly

step() { printf '\n-- %s\n' "$*"; }

if ! "$VENV/bin/python" - "$DMCG_VERSION" "$VALIDATOR_VERSION" 2>/dev/null <<'PY'
import sys
from importlib.metadata import version
want = {"datamodel-code-generator": sys.argv[1], "openapi-spec-validator": sys.argv[2],
        "openapi-schema-validator": sys.argv[2]}
sys.exit(any(version(name) != v for name, v in want.items()))
PY
then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    "datamodel-code-generator==$DMCG_VERSION" \
    "openapi-spec-validator==$VALIDATOR_VERSION" "openapi-schema-validator==$VALIDATOR_VERSION"
fi
REDOCLY="target/redocly/node_modules/.bin/redocly"
if [ ! -x "$REDOCLY" ] || [ "$("$REDOCLY" --version 2>/dev/null | tail -n1)" != "$REDOCLY_VERSION" ]; then
  npm install --silent --no-audit --no-fund --prefix target/redocly "@redocly/cli@$REDOCLY_VERSION"
fi

step "Redocly lint ($REDOCLY_VERSION, openapi/redocly.yaml)"
"$REDOCLY" lint "$SPEC" --config openapi/redocly.yaml --format summary 2>&1 \
  | grep -v '[║╔╚]' | sed '/^$/d'

step "openapi-spec-validator and the spec's examples"
"$VENV/bin/python" scripts/spec_conformance.py examples "$SPEC"

step "Pydantic models (datamodel-code-generator $DMCG_VERSION) decode the simulator's records"
# `--type-mappings string+byte=binary`: by default `format: byte` becomes Pydantic's Base64Str
# (base64 of UTF-8 text), which refuses binary files such as the PNG attachments OnTime stores;
# this mapping gives Base64Bytes (any bytes), which is what the format means.
"$VENV/bin/datamodel-codegen" --input "$SPEC" --input-file-type openapi \
  --output-model-type pydantic_v2.BaseModel --target-python-version 3.11 --formatters builtin \
  --type-mappings "string+byte=binary" \
  --output "$WORK/models.py" 2>"$WORK/datamodel-codegen.log" \
  || { cat "$WORK/datamodel-codegen.log"; exit 1; }
echo "generated $WORK/models.py ($(grep -c '^class ' "$WORK/models.py") classes)"

cargo build --quiet -p ontime-mock --bin ontime-mock
MOCK_LOG="$WORK/mock.log"
"${CARGO_TARGET_DIR:-target}/debug/ontime-mock" --port 0 --seed 42 --orders "$ORDERS" \
  --api-key "$KEY" --clock-start 2024-05-15T10:30:00 \
  --daily-quota 100000000 --monthly-quota 100000000 >"$MOCK_LOG" 2>&1 &
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
echo "ontime-mock at $BASE ($ORDERS orders)"
"$VENV/bin/python" scripts/spec_conformance.py records "$SPEC" "$WORK/models.py" "$BASE" "$KEY"
