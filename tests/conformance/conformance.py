#!/usr/bin/env python3
"""Conformance of the broker to its OpenAPI document, as a vendor would test it.

Runs schemathesis (`st run openapi/openapi.json --checks all`) against a
fresh development broker on SQLite and on PostgreSQL, once for each kind of
caller: anonymous, a vo school system and an mbo school system (client
certificates), and a privacy officer, a broker admin and an intaker (bearer
tokens from a real login with password and TOTP). Prints one line per run and
exits non-zero when any run reports a failure or does not complete.

    conformance.py --st PATH/TO/st BROKER_BINARY

PostgreSQL is never skipped: DOORSTROOM_TEST_PG_URL must name a server where
the role may create databases; each run gets a database of its own, dropped
afterwards.

Only the standard library is used here, so the script itself needs no
virtual environment; `run.sh` makes the one schemathesis lives in.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DOCUMENT = ROOT / "openapi" / "openapi.json"
# The configuration of every run; an identity's run adds the files it
# names (see IDENTITIES), so that an exclusion that holds for one kind of
# caller only is made for that caller only.
SHARED_CONFIG = HERE / "schemathesis.toml"
HOOKS = HERE / "hooks.py"

# A fixed seed: the same requests on every run, so that a failure found in
# CI is found again on a laptop (`st replay` the test case id).
SEED = 1


@dataclass(frozen=True)
class Identity:
    name: str
    # A school system: the BRIN whose development client certificate is used.
    certificate_of: str | None = None
    # A staff member: the username from data/dev-accounts.txt.
    username: str | None = None
    # A school system: the intaker it acts for (`X-On-Behalf-Of`), as a
    # vendor's system would, having looked up its id with its certificate.
    acts_for: str | None = None
    # Configuration files added to schemathesis.toml for this run.
    configs: tuple[str, ...] = ()


IDENTITIES = [
    Identity("anonymous"),
    Identity("vo-system", certificate_of="07AB", configs=("client-certificate.toml", "vo-system.toml")),
    Identity("mbo-system", certificate_of="25LX", acts_for="intaker.25lx", configs=("client-certificate.toml",)),
    Identity("privacy-officer", username="fg.25lx"),
    Identity("broker-admin", username="admin"),
    Identity("intaker", username="intaker.25lx"),
]


def log(message: str) -> None:
    print(message, flush=True)


class Broker:
    """A development broker in a directory of its own (`serve --dev`)."""

    def __init__(self, binary: Path, directory: Path, port: int, database_url: str | None):
        self.binary = binary
        self.directory = directory
        self.port = port
        self.base_url = f"https://localhost:{port}"
        self.database_url = database_url
        self.process: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["DOORSTROOM__SERVER__BIND"] = f"127.0.0.1:{self.port}"
        env["DOORSTROOM__SERVER__SHUTDOWN_TIMEOUT_SECS"] = "5"
        env["DOORSTROOM__LOG__FILTER"] = "warn"
        # A long poll (`GET /v1/events?wait=`) with nothing new waits up to
        # this long; schemathesis gives up on a request after 10 s and tries
        # `wait` across its whole range. The long poll itself is tested in
        # the e2e suite (tests/tests/e2e/events.rs).
        env["DOORSTROOM__EVENTS__MAX_WAIT_SECS"] = "1"
        if self.database_url is not None:
            env["DOORSTROOM__DATABASE__URL"] = self.database_url
        return env

    def start(self) -> None:
        if self.directory.exists():
            shutil.rmtree(self.directory)
        (self.directory / "config").mkdir(parents=True)
        shutil.copy(ROOT / "config" / "default.toml", self.directory / "config" / "default.toml")
        with open(self.directory / "broker.log", "wb") as out:
            self.process = subprocess.Popen(
                [str(self.binary), "serve", "--dev"],
                cwd=self.directory,
                env=self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_until_ready()

    def tls(self, certificate_of: str | None = None) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca))
        if certificate_of is not None:
            context.load_cert_chain(*self.client_certificate(certificate_of))
        return context

    @property
    def ca(self) -> Path:
        return self.directory / "certs" / "dev" / "ca.pem"

    def client_certificate(self, brin: str) -> tuple[str, str]:
        folder = self.directory / "certs" / "dev" / brin
        return str(folder / "client.pem"), str(folder / "client.key")

    def wait_until_ready(self) -> None:
        # The first start generates the development PKI and runs the
        # migrations: allow it a minute on a busy machine.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"the broker exited with {self.process.returncode}; see {self.directory}/broker.log")
            if self.ca.exists():
                try:
                    with urllib.request.urlopen(f"{self.base_url}/readyz", context=self.tls(), timeout=5) as answer:
                        if answer.status == 200:
                            return
                except (urllib.error.URLError, ConnectionError, ssl.SSLError, TimeoutError):
                    pass
            time.sleep(0.5)
        raise RuntimeError(f"the broker was not ready within 60 s; see {self.directory}/broker.log")

    def accounts(self) -> dict[str, tuple[str, str]]:
        """username → (password, TOTP secret) from data/dev-accounts.txt."""
        accounts = {}
        pattern = re.compile(r"^\s*(\S+)\s+\S+\s+password\s+(\S+)\s+totp secret\s+(\S+)\s*$")
        for line in (self.directory / "data" / "dev-accounts.txt").read_text().splitlines():
            found = pattern.match(line)
            if found:
                accounts[found.group(1)] = (found.group(2), found.group(3))
        return accounts

    def log_in(self, username: str) -> str:
        password, secret = self.accounts()[username]
        code = subprocess.run(
            [str(self.binary), "totp", secret], cwd=self.directory, check=True, capture_output=True, text=True
        ).stdout.strip()
        body = json.dumps({"username": username, "password": password, "totp": code}).encode()
        request = urllib.request.Request(
            f"{self.base_url}/v1/auth/login",
            data=body,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, context=self.tls(), timeout=30) as answer:
            return json.load(answer)["access_token"]

    def intaker_id(self, brin: str, username: str) -> str:
        """The staff id of `username`, as the school system of `brin` learns it."""
        context = self.tls(certificate_of=brin)
        with urllib.request.urlopen(f"{self.base_url}/v1/institutions/{brin}/intakers", context=context) as answer:
            for intaker in json.load(answer):
                if intaker["username"] == username:
                    return intaker["id"]
        raise RuntimeError(f"{brin} has no intaker {username}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class Result:
    backend: str
    identity: str
    cases: int
    failures: int
    seconds: float
    exit_code: int
    output: Path

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.failures == 0 and self.cases > 0

    def line(self) -> str:
        verdict = "ok" if self.ok else "FAILED"
        return (
            f"conformance {verdict:6} backend={self.backend:8} identity={self.identity:15} "
            f"cases={self.cases:5} failures={self.failures:3} seconds={self.seconds:6.1f}"
        )


def summary_numbers(output: str) -> tuple[int, int]:
    """(test cases generated, failures) from schemathesis' summary."""
    generated = re.search(r"(\d+) generated", output)
    cases = int(generated.group(1)) if generated else 0
    # The closing line: "=== 3 failures, 1 error, 2 warnings in 60.1s ===",
    # or "No issues found" when there is nothing to count.
    closing = [line for line in output.splitlines() if line.startswith("===")]
    failures = 0
    if closing:
        for count, _ in re.findall(r"(\d+) (failures?|errors?)\b", closing[-1]):
            failures += int(count)
    return cases, failures


def run_schemathesis(
    args: argparse.Namespace, broker: Broker, backend: str, identity: Identity, token: str | None, work: Path
) -> Result:
    run_dir = work / f"{backend}-{identity.name}"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    config = SHARED_CONFIG.read_text()
    for extra in identity.configs:
        config += "\n" + (HERE / extra).read_text()
    (run_dir / "schemathesis.toml").write_text(config)
    command = [
        str(args.st),
        "--config-file",
        str(run_dir / "schemathesis.toml"),
        "run",
        str(DOCUMENT),
        "--url",
        broker.base_url,
        "--seed",
        str(SEED),
        "--max-examples",
        str(args.max_examples),
        "--tls-verify",
        str(broker.ca),
        "--no-color",
        "--report",
        "junit",
        "--report-dir",
        str(run_dir),
    ]
    if identity.certificate_of is not None:
        cert, key = broker.client_certificate(identity.certificate_of)
        command += ["--request-cert", cert, "--request-cert-key", key]
    if token is not None:
        command += ["--header", f"Authorization: Bearer {token}"]
    if identity.acts_for is not None and identity.certificate_of is not None:
        intaker = broker.intaker_id(identity.certificate_of, identity.acts_for)
        command += ["--header", f"X-On-Behalf-Of: {intaker}"]
    command += args.st_arg
    output_path = run_dir / "output.txt"
    started = time.monotonic()
    with open(output_path, "w") as out:
        # Run from the run's directory: schemathesis keeps its example
        # database and state there, not in the repository.
        finished = subprocess.run(
            command,
            cwd=run_dir,
            stdout=out,
            stderr=subprocess.STDOUT,
            # No bytecode cache of hooks.py in the repository.
            env={**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS), "PYTHONDONTWRITEBYTECODE": "1"},
        )
    seconds = time.monotonic() - started
    cases, failures = summary_numbers(output_path.read_text(errors="replace"))
    return Result(backend, identity.name, cases, failures, seconds, finished.returncode, output_path)


def postgres_database(admin_url: str) -> tuple[str, str]:
    """A fresh database on the server of `admin_url`: (name, its URL)."""
    name = f"doorstroom_conformance_{uuid.uuid4().hex[:12]}"
    subprocess.run(
        ["psql", admin_url, "-v", "ON_ERROR_STOP=1", "-qtAc", f'CREATE DATABASE "{name}"'],
        check=True,
    )
    parts = urllib.parse.urlsplit(admin_url)
    return name, urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


def drop_postgres_database(admin_url: str, name: str) -> None:
    subprocess.run(
        ["psql", admin_url, "-v", "ON_ERROR_STOP=1", "-qtAc", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'],
        check=False,
    )


def free_port() -> int:
    """A port nothing listens on now (a fixed one collides with a second run
    on the same machine, or with a broker a killed run left behind)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_backend(args: argparse.Namespace, backend: str, work: Path) -> list[Result]:
    database: str | None = None
    database_url: str | None = None
    pg_url = os.environ.get("DOORSTROOM_TEST_PG_URL", "")
    if backend == "postgres":
        if not pg_url:
            raise RuntimeError("DOORSTROOM_TEST_PG_URL is not set; the PostgreSQL runs are not skipped")
        database, database_url = postgres_database(pg_url)
    broker = Broker(args.binary, work / f"broker-{backend}", args.port or free_port(), database_url)
    results = []
    try:
        broker.start()
        # All logins first: the runs that follow send failed logins of their
        # own, which count towards the per-address limit. A token lasts 15
        # minutes, longer than the six runs of one backend take.
        tokens = {i.username: broker.log_in(i.username) for i in IDENTITIES if i.username is not None}
        for identity in IDENTITIES:
            if args.identity and identity.name not in args.identity:
                continue
            token = tokens.get(identity.username) if identity.username else None
            result = run_schemathesis(args, broker, backend, identity, token, work)
            log(result.line())
            if not result.ok:
                log(f"  schemathesis output: {result.output}")
            results.append(result)
            if broker.process is not None and broker.process.poll() is not None:
                raise RuntimeError(f"the broker died during the {identity.name} run; see {broker.directory}/broker.log")
    finally:
        broker.stop()
        if database is not None:
            drop_postgres_database(pg_url, database)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary", type=Path, help="the built doorstroom binary")
    parser.add_argument("--st", type=Path, required=True, help="the schemathesis command (st)")
    parser.add_argument("--port", type=int, default=0, help="the brokers' port; default: a free one")
    parser.add_argument("--max-examples", type=int, default=10)
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgres"], help="default: both")
    parser.add_argument("--identity", action="append", choices=[i.name for i in IDENTITIES], help="default: all")
    parser.add_argument(
        "--st-arg",
        action="append",
        default=[],
        help="an extra argument for `st run` (e.g. --st-arg=--include-name='POST /v1/staff' when chasing a failure)",
    )
    parser.add_argument(
        "--work",
        type=Path,
        default=Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "conformance",
        help="brokers, schemathesis output and reports",
    )
    args = parser.parse_args()
    # CI stops a run that takes too long with SIGTERM: leave through the
    # `finally` blocks, so the broker is stopped and its database dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    args.binary = args.binary.resolve()
    args.work = args.work.resolve()
    args.work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    results: list[Result] = []
    try:
        for backend in args.backend or ["sqlite", "postgres"]:
            results += run_backend(args, backend, args.work)
    except (RuntimeError, subprocess.CalledProcessError, urllib.error.URLError, OSError) as err:
        log(f"conformance: {err}")
        return 1
    total = time.monotonic() - started
    failed = [r for r in results if not r.ok]
    log(
        f"conformance total: runs={len(results)} cases={sum(r.cases for r in results)} "
        f"failures={sum(r.failures for r in results)} failed_runs={len(failed)} seconds={total:.1f}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
