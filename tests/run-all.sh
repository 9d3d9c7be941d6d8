#!/usr/bin/env bash
# The one test command of Doorstroom: system packages, a PostgreSQL to test
# against, formatting, lints, every test of the workspace, and the API and
# package format tried from outside: a client written in Python from the
# documents alone, and the broker's conformance to its OpenAPI document
# (schemathesis).
#
#   tests/run-all.sh [extra args for `cargo test --workspace`]
#
# The PostgreSQL tests use $DOORSTROOM_TEST_PG_URL. When it is not set, the
# local PostgreSQL 15 cluster is started and a `doorstroom_test` role is made
# for them. PostgreSQL tests are never skipped: if no server can be reached,
# this script fails.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# chromium and chromium-driver: the browser tests of the web console
# (tests/tests/browser) and of the intake desk (tests/tests/desk) drive
# Debian's headless Chromium through chromedriver.
# npm (Debian's package, unless a Node.js installation already provides the
# command): the student's page's browser test installs axe-core, pinned,
# with it and runs it in the page through WebDriver
# (tests/tests/browser/mijn.rs).
# python3 and python3-venv: the vendor client (tests/vendor-client) and the
# conformance step (schemathesis) run in virtual environments of their own,
# installed from PyPI; curl: the vendor client's readiness probe.
PACKAGES=(pkg-config libssl-dev libpq-dev postgresql-15 chromium chromium-driver python3 python3-venv curl)
PG_HOST=127.0.0.1
PG_PORT=5432
PG_ROLE=doorstroom_test
PG_PASSWORD=doorstroom_test

step() { printf '\n==> %s\n' "$*"; }
die() {
    printf '\nrun-all: %s\n' "$*" >&2
    exit 1
}

# Runs a command as root (directly, or through sudo when we are not root).
as_root() {
    if [[ $(id -u) -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root (or sudo) to run: $*"
    fi
}

# Runs a command as the postgres superuser, from a directory it can read.
as_postgres() {
    if [[ $(id -u) -eq 0 ]]; then
        (cd / && runuser -u postgres -- "$@")
    else
        (cd / && sudo -u postgres -- "$@")
    fi
}

# --- (a) system packages -----------------------------------------------------
step "system packages: ${PACKAGES[*]}"
missing=()
for pkg in "${PACKAGES[@]}"; do
    if ! dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed'; then
        missing+=("$pkg")
    fi
done
if ! command -v npm >/dev/null 2>&1; then
    missing+=(npm)
fi
if ((${#missing[@]} > 0)); then
    echo "installing: ${missing[*]}"
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
else
    echo "all present"
fi

# --- (b) PostgreSQL ------------------------------------------------------------
step "PostgreSQL for the tests"
if [[ -n ${DOORSTROOM_TEST_PG_URL:-} ]]; then
    echo "using DOORSTROOM_TEST_PG_URL from the environment (local cluster left alone)"
else
    if ! pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; then
        echo "starting cluster 15/main"
        as_root pg_ctlcluster 15 main start ||
            echo "pg_ctlcluster 15 main start failed; waiting in case it is starting anyway" >&2
    fi
    ready=false
    for _ in $(seq 1 30); do
        if pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; then
            ready=true
            break
        fi
        sleep 1
    done
    if [[ $ready != true ]]; then
        die "PostgreSQL is not accepting connections on $PG_HOST:$PG_PORT after 30 s.
Start it by hand (pg_ctlcluster 15 main start; see /var/log/postgresql/) or set
DOORSTROOM_TEST_PG_URL to a server the tests may use. The PostgreSQL tests are
not skipped, so the run stops here."
    fi
    echo "PostgreSQL is up on $PG_HOST:$PG_PORT"

    exists="$(as_postgres psql -p "$PG_PORT" -v ON_ERROR_STOP=1 -tAc \
        "SELECT 1 FROM pg_roles WHERE rolname = '$PG_ROLE'")" ||
        die "cannot query PostgreSQL as the postgres superuser"
    if [[ $exists == 1 ]]; then
        echo "role $PG_ROLE exists"
    else
        as_postgres psql -p "$PG_PORT" -v ON_ERROR_STOP=1 -tAc \
            "CREATE ROLE $PG_ROLE LOGIN CREATEDB PASSWORD '$PG_PASSWORD'" >/dev/null ||
            die "cannot create role $PG_ROLE"
        echo "role $PG_ROLE created"
    fi
    # sslmode=disable: on loopback TLS protects nothing, and with it every
    # pooled connection holds OpenSSL state that OpenSSL's exit handler
    # frees while the test process's pool threads may still use it (a
    # test binary crashed with SIGSEGV after all its tests had passed).
    export DOORSTROOM_TEST_PG_URL="postgres://$PG_ROLE:$PG_PASSWORD@$PG_HOST:$PG_PORT/postgres?sslmode=disable"
fi
# Prove that the tests can log in with the URL they will be given.
psql "$DOORSTROOM_TEST_PG_URL" -v ON_ERROR_STOP=1 -tAc 'SELECT 1' >/dev/null ||
    die "cannot log in with DOORSTROOM_TEST_PG_URL (user, password, pg_hba.conf?)"
echo "DOORSTROOM_TEST_PG_URL works: ${DOORSTROOM_TEST_PG_URL%%://*}://…@${DOORSTROOM_TEST_PG_URL#*@}"

# --- disk ----------------------------------------------------------------------
# A run from nothing fills its target directory with about 5 GB (5.2 GB
# at its peak, measured 2026-12-07: debug builds with line tables only,
# Cargo.toml; clippy's and the tests' artifacts; the Python environments);
# it asks for 6. Incremental compilation's state
# would only add to it (2.6 GB when it was measured), and this script
# builds everything once, so it is off unless asked for. A run that would
# run out of disk stops here with a clear reason, not in the linker.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
target_dir="${CARGO_TARGET_DIR:-$ROOT/target}"
mkdir -p "$target_dir"
need_gb=6
have_gb=$(($(du -sk "$target_dir" | cut -f1) / 1024 / 1024))
free_gb=$(($(df --output=avail -k "$target_dir" | tail -n 1) / 1024 / 1024))
step "disk: ${free_gb} GB free, target directory ${have_gb} GB of the ~${need_gb} GB a full run fills"
if ((free_gb + have_gb < need_gb)); then
    die "only ${free_gb} GB free under $target_dir, and a run needs about $((need_gb - have_gb)) GB more.
Free some disk (old target directories: cargo clean) and run again."
fi

# --- (c) formatting ------------------------------------------------------------
step "cargo fmt --all -- --check"
cargo fmt --all -- --check

# --- (d) lints ------------------------------------------------------------------
step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

# --- (e) tests ------------------------------------------------------------------
step "cargo test --workspace $*"
cargo test --workspace "$@"

echo "browser test screenshots: $target_dir/browser-artifacts/"

# The broker binary the two steps below start, fresh, on each backend:
# the one `cargo test` built for the CLI's integration tests. Built on its
# own only when the test step did not build it, or a source is newer than it
# (extra args that narrowed the test step): `cargo build -p doorstroom-cli`
# resolves features apart from the workspace's tests and compiles a second
# copy of many dependencies (a minute and 1 GB).
BROKER_BIN="$target_dir/debug/doorstroom"
if [[ ! -x $BROKER_BIN ]] ||
    [[ -n $(find crates Cargo.toml Cargo.lock -type f -newer "$BROKER_BIN" -print -quit) ]]; then
    cargo build -p doorstroom-cli --bin doorstroom
fi

# --- (f) a client in another language, from the documents alone ----------------
step "vendor client (Python, written from openapi/ and certs/README.md) on SQLite and PostgreSQL"
bash tests/vendor-client/run.sh "$BROKER_BIN"

# --- (g) conformance to the OpenAPI document ----------------------------------
# schemathesis (`--checks all`, fixed seed, bounded examples) against a fresh
# broker on SQLite and on PostgreSQL, once per kind of caller; 0 failures or
# the run fails. Details: tests/conformance/run.sh. Output of each run:
# ${CARGO_TARGET_DIR:-target}/conformance/<backend>-<identity>/output.txt.
step "conformance: schemathesis against the broker, SQLite and PostgreSQL"
bash tests/conformance/run.sh "$BROKER_BIN"
step "all checks passed"
