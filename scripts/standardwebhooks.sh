#!/usr/bin/env bash
# Installs the Standard Webhooks reference library for Python (`standardwebhooks` on PyPI, pinned)
# into a venv under the target directory, for ontime-sync's cross-check test
# (tests/it/signature.rs: what we sign must verify with the library receivers use).
#
# Idempotent: a venv that already imports the pinned version is left alone (a second run takes
# well under a second). Prints the interpreter as `ONTIME_STANDARDWEBHOOKS_PYTHON=<path>`; the
# test finds the venv there by itself (<target>/standardwebhooks/venv), or takes that variable.
set -euo pipefail
cd "$(dirname "$0")/.."

SW_VERSION="1.1.0"
TARGET="${CARGO_TARGET_DIR:-target}"
VENV="$TARGET/standardwebhooks/venv"
PY="$VENV/bin/python"

installed() {
  [ -x "$PY" ] && "$PY" - "$SW_VERSION" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
from standardwebhooks.webhooks import Webhook  # noqa: F401 (the import is the check)
sys.exit(0 if version("standardwebhooks") == sys.argv[1] else 1)
PY
}

if ! installed; then
  mkdir -p "$(dirname "$VENV")"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "standardwebhooks==$SW_VERSION"
  installed || { echo "standardwebhooks $SW_VERSION did not install into $VENV" >&2; exit 1; }
fi
echo "ONTIME_STANDARDWEBHOOKS_PYTHON=$(cd "$(dirname "$PY")" && pwd)/$(basename "$PY")"
