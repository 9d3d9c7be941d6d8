#!/usr/bin/env bash
# The conformance step: schemathesis against a fresh broker on SQLite and on
# PostgreSQL, once per kind of caller (tests/conformance/conformance.py).
#
#   tests/conformance/run.sh BROKER_BINARY [conformance.py options]
#
# schemathesis lives in a virtual environment of its own, made from
# requirements.txt under the cargo target directory and reused while the
# requirements stay the same.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="${CARGO_TARGET_DIR:-$ROOT/target}/conformance-venv"

if [[ ! -x $VENV/bin/st ]] || ! cmp -s "$HERE/requirements.txt" "$VENV/requirements.txt"; then
    echo "making $VENV"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"
    cp "$HERE/requirements.txt" "$VENV/requirements.txt"
fi

exec "$VENV/bin/python" "$HERE/conformance.py" --st "$VENV/bin/st" "$@"
