#!/usr/bin/env bash
# Runs the vendor client (doorstroom_vendor.py, written from the documents
# alone) against a fresh development broker: once on SQLite, once on a fresh
# PostgreSQL database made from $DOORSTROOM_TEST_PG_URL and dropped after.
#
#   tests/vendor-client/run.sh path/to/doorstroom
#
# The virtual environment lives in ${CARGO_TARGET_DIR:-target}/vendor-client-venv
# and is reinstalled when requirements.txt changes. The broker listens on
# $VENDOR_CLIENT_PORT if set, else on a free port. Exits non-zero on any
# failure; PostgreSQL is never skipped (no $DOORSTROOM_TEST_PG_URL is a failure).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

die() {
    printf 'vendor-client: %s\n' "$*" >&2
    exit 1
}

[[ $# -eq 1 ]] || die "usage: $0 path/to/doorstroom"
BROKER="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
[[ -x "$BROKER" ]] || die "not an executable: $1"
[[ -n "${DOORSTROOM_TEST_PG_URL:-}" ]] || die "DOORSTROOM_TEST_PG_URL is not set (the PostgreSQL run is not optional)"

TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
[[ "$TARGET" = /* ]] || TARGET="$ROOT/$TARGET"
VENV="$TARGET/vendor-client-venv"
STAMP="$VENV/requirements.sha256"
WANT="$(sha256sum "$HERE/requirements.txt" | cut -d' ' -f1)"
if [[ ! -x "$VENV/bin/python" || "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]]; then
    echo "==> vendor client: virtual environment $VENV"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check --require-virtualenv -r "$HERE/requirements.txt"
    echo "$WANT" >"$STAMP"
fi
PYTHON="$VENV/bin/python"

free_port() {
    "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

BROKER_PID=""
WORKDIR=""
PG_DB=""
cleanup() {
    if [[ -n "$BROKER_PID" ]] && kill -0 "$BROKER_PID" 2>/dev/null; then
        kill -TERM "$BROKER_PID" 2>/dev/null || true
        wait "$BROKER_PID" 2>/dev/null || true
    fi
    BROKER_PID=""
    if [[ -n "$PG_DB" ]]; then
        psql "$DOORSTROOM_TEST_PG_URL" -q -v ON_ERROR_STOP=1 \
            -c "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null ||
            echo "vendor-client: could not drop database $PG_DB" >&2
        PG_DB=""
    fi
    if [[ -n "$WORKDIR" ]]; then
        rm -rf "$WORKDIR"
        WORKDIR=""
    fi
}
trap cleanup EXIT

# run_against NAME [DATABASE_URL]: a fresh broker in a fresh directory, the
# flow and the worked example, the broker stopped.
run_against() {
    local name="$1" database_url="${2:-}"
    local started=$SECONDS
    WORKDIR="$(mktemp -d "${TMPDIR:-/tmp}/doorstroom-vendor-client.XXXXXX")"
    mkdir "$WORKDIR/config"
    cp "$ROOT/config/default.toml" "$WORKDIR/config/default.toml"
    local port="${VENDOR_CLIENT_PORT:-$(free_port)}"
    local url="https://localhost:$port"
    echo "==> vendor client on $name ($url)"
    (
        cd "$WORKDIR"
        # only the settings made here: none of the caller's DOORSTROOM__ overrides
        while IFS= read -r variable; do unset "$variable"; done < <(compgen -e | grep '^DOORSTROOM__' || true)
        export DOORSTROOM__SERVER__BIND="127.0.0.1:$port"
        if [[ -n "$database_url" ]]; then
            export DOORSTROOM__DATABASE__URL="$database_url"
        fi
        exec "$BROKER" serve --dev
    ) >"$WORKDIR/broker.log" 2>&1 &
    BROKER_PID=$!

    # Up when /readyz answers 200 over TLS with the dev CA it wrote. A start
    # (migrations, dev PKI, argon2 for the demo accounts) takes seconds; give
    # up after two minutes or when the broker exits.
    local deadline=$((SECONDS + 120))
    until [[ -f "$WORKDIR/certs/dev/ca.pem" ]] &&
        curl -sf --cacert "$WORKDIR/certs/dev/ca.pem" "$url/readyz" >/dev/null 2>&1; do
        if ! kill -0 "$BROKER_PID" 2>/dev/null || ((SECONDS > deadline)); then
            tail -n 30 "$WORKDIR/broker.log" >&2 || true
            die "$name: the broker did not become ready"
        fi
        sleep 0.2
    done

    local status=0
    (cd "$WORKDIR" && "$PYTHON" "$HERE/doorstroom_vendor.py" flow \
        --url "$url" --ca certs/dev/ca.pem --certs certs/dev --accounts data/dev-accounts.txt) || status=$?
    if ((status == 0)); then
        "$PYTHON" "$HERE/doorstroom_vendor.py" example --document "$ROOT/openapi/PACKAGE-FORMAT.md" || status=$?
    fi
    if ((status != 0)); then
        echo "--- last lines of the broker's log ($name)" >&2
        tail -n 30 "$WORKDIR/broker.log" >&2 || true
        die "$name: the vendor client failed"
    fi
    cleanup
    echo "==> vendor client on $name: passed in $((SECONDS - started)) s"
}

echo "==> vendor client: self-check (offline)"
"$PYTHON" "$HERE/doorstroom_vendor.py" selfcheck || die "the client's own checks do not refuse what they must"

run_against SQLite

# A fresh database on the test server, dropped afterwards (also on failure).
PG_DB="doorstroom_vendor_$(date +%s)_$$"
psql "$DOORSTROOM_TEST_PG_URL" -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$PG_DB\"" >/dev/null ||
    die "could not create database $PG_DB on \$DOORSTROOM_TEST_PG_URL"
base="${DOORSTROOM_TEST_PG_URL%%\?*}"
query=""
[[ "$DOORSTROOM_TEST_PG_URL" == *\?* ]] && query="?${DOORSTROOM_TEST_PG_URL#*\?}"
run_against PostgreSQL "${base%/*}/$PG_DB$query"
