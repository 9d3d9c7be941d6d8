#!/usr/bin/env python3
"""A school-system vendor's client for the Doorstroom broker.

Written from the published documents only (openapi/openapi.json,
openapi/PACKAGE-FORMAT.md, certs/README.md, README.md), the way a vendor of a
school administration system would: `requests` for HTTPS with a client
certificate, pyca/`cryptography` for strict X.509, `jwcrypto` for JWS/JWE.
Section numbers (§) refer to PACKAGE-FORMAT.md.

    python doorstroom_vendor.py flow --url https://localhost:8443 \
        --ca certs/dev/ca.pem --certs certs/dev
    python doorstroom_vendor.py example      # reproduces §11.1 byte for byte

Every check that fails raises `Failure`; the CLI exits non-zero then.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import json
import random
import re
import socket
import ssl
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtensionOID
from jwcrypto import jwe as jwcrypto_jwe
from jwcrypto import jwk as jwcrypto_jwk
from jwcrypto import jws as jwcrypto_jws


class Failure(Exception):
    """A promise of the documents that the broker (or its data) did not keep."""


def require(condition: bool, what: str) -> None:
    if not condition:
        raise Failure(what)


# ---------------------------------------------------------------- §2 conventions

B64URL_CHARS = re.compile(r"^[A-Za-z0-9_-]+$")
UUID_FORM = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
BRIN_FORM = re.compile(r"^[0-9]{2}[A-Z]{2}$")
KID_FORM = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
JTI_FORM = re.compile(r"^[A-Za-z0-9._:-]{16,128}$")
SECTION_NAMES = ("personal_data", "support_needs", "career_portfolio", "remarks", "attachments")
MAX_TIME = 2**53 - 1


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """§2: no padding, no whitespace, only the URL-safe alphabet, no length ≡ 1
    (mod 4), no non-zero unused bits (checked by encoding the result again)."""
    require(bool(B64URL_CHARS.match(text)), "base64url: empty or outside A-Z a-z 0-9 - _")
    require(len(text) % 4 != 1, "base64url: impossible length")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    require(b64url_encode(data) == text, "base64url: non-zero unused bits")
    return data


def sha256_b64url(token: str) -> str:
    """§5.2: over the token's ASCII bytes as submitted, not decoded."""
    return b64url_encode(hashlib.sha256(token.encode("ascii")).digest())


def canonical_json(value: Any) -> bytes:
    """§5.1 (RFC 8785) for what an envelope holds (strings, integers, arrays,
    objects with ASCII names): sorted names, no whitespace, strings escaped as
    JSON.stringify does (Python's json does the same for these), integers plain."""

    def check(v: Any) -> None:
        if isinstance(v, bool) or v is None or isinstance(v, float):
            raise Failure("canonical JSON here holds only strings, integers, arrays and objects")
        if isinstance(v, int):
            require(abs(v) <= MAX_TIME, "integer beyond 2^53 - 1")
        elif isinstance(v, list):
            for item in v:
                check(item)
        elif isinstance(v, dict):
            for name, item in v.items():
                require(isinstance(name, str) and name.isascii(), "member names are ASCII")
                check(item)

    check(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def parse_json_strict(data: bytes, what: str) -> Any:
    """JSON with duplicate member names refused (a second parser could read
    them differently)."""

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        names = [name for name, _ in pairs]
        require(len(names) == len(set(names)), f"{what}: duplicate member")
        return dict(pairs)

    try:
        return json.loads(data.decode("utf-8"), object_pairs_hook=no_duplicates)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise Failure(f"{what}: not JSON ({error})") from error


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def split_compact(token: str, parts: int, what: str) -> list[str]:
    """§2: compact serialization, every part non-empty base64url."""
    require(isinstance(token, str) and token.isascii(), f"{what}: not an ASCII string")
    pieces = token.split(".")
    require(len(pieces) == parts, f"{what}: not {parts} parts")
    for piece in pieces:
        b64url_decode(piece)
    return pieces


def protected_header(token: str, parts: int, what: str) -> dict[str, Any]:
    header = parse_json_strict(b64url_decode(split_compact(token, parts, what)[0]), f"{what} header")
    require(isinstance(header, dict), f"{what}: header is not an object")
    return header


def rfc3339_utc(text: str, what: str) -> dt.datetime:
    require(isinstance(text, str) and text.endswith("Z"), f"{what}: not an RFC 3339 UTC time: {text!r}")
    try:
        return dt.datetime.fromisoformat(text[:-1] + "+00:00")
    except ValueError as error:
        raise Failure(f"{what}: not an RFC 3339 time: {text!r}") from error


def now_rfc3339(offset_seconds: int = 0) -> str:
    moment = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=offset_seconds)
    return moment.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------ strict X.509 (certs/README)


def read_every_extension(cert: x509.Certificate, what: str) -> None:
    """Accessing `extensions` parses every extension; a DER violation (such as
    an encoded DEFAULT `cA FALSE`) raises here in pyca/cryptography."""
    try:
        for extension in cert.extensions:
            _ = extension.value
        _ = cert.subject.rfc4514_string(), cert.issuer.rfc4514_string(), cert.serial_number
        _ = cert.not_valid_before_utc, cert.not_valid_after_utc, cert.public_key()
    except Exception as error:  # noqa: BLE001 - any parse error is the finding
        raise Failure(f"{what}: a strict parser cannot read it: {error}") from error


def basic_constraints(cert: x509.Certificate) -> x509.BasicConstraints | None:
    try:
        return cert.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS).value
    except x509.ExtensionNotFound:
        return None


def key_usage(cert: x509.Certificate, what: str) -> x509.KeyUsage:
    try:
        return cert.extensions.get_extension_for_oid(ExtensionOID.KEY_USAGE).value
    except x509.ExtensionNotFound as error:
        raise Failure(f"{what}: no keyUsage") from error


def check_leaf(cert: x509.Certificate, what: str) -> None:
    read_every_extension(cert, what)
    constraints = basic_constraints(cert)
    require(constraints is None or not constraints.ca, f"{what}: a leaf that claims to be a CA")


def check_ca(cert: x509.Certificate, what: str) -> None:
    read_every_extension(cert, what)
    constraints = basic_constraints(cert)
    require(constraints is not None and constraints.ca, f"{what}: a trust anchor without cA TRUE")
    usage = key_usage(cert, what)
    require(usage.key_cert_sign, f"{what}: CA without keyCertSign")


def load_pem_chain(path: Path) -> list[x509.Certificate]:
    data = path.read_bytes()
    blocks = re.findall(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----\s*", data, re.S)
    require(len(blocks) > 0, f"{path}: no certificate")
    try:
        return [x509.load_pem_x509_certificate(block) for block in blocks]
    except ValueError as error:
        raise Failure(f"{path}: a strict parser cannot read it: {error}") from error


def valid_at(cert: x509.Certificate, moment: dt.datetime) -> bool:
    return cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc


def check_issued_by(cert: x509.Certificate, issuer: x509.Certificate, what: str) -> None:
    try:
        cert.verify_directly_issued_by(issuer)
    except Exception as error:  # noqa: BLE001 - InvalidSignature, ValueError, TypeError
        raise Failure(f"{what}: not issued by the trust anchor: {error}") from error


@dataclass
class TrustedKey:
    jwk: jwcrypto_jwk.JWK
    kid: str
    alg: str
    use: str
    status: str


def trusted_jwk(published: dict[str, Any], anchors: list[x509.Certificate], use: str, what: str) -> TrustedKey:
    """§1/§6/§10.2: parse the x5c chain strictly, check it leads to one of our
    own trust anchors at our own clock's time, and that the leaf holds exactly
    the JWK's key. The broker is not trusted for any of this."""
    kid = published.get("kid")
    require(isinstance(kid, str) and bool(KID_FORM.match(kid)), f"{what}: bad kid")
    require(published.get("use") == use, f"{what} {kid}: use is not {use}")
    require(not any(m in published for m in ("d", "p", "q", "dp", "dq", "qi", "oth", "k")), f"{what}: private members")
    chain_b64 = published.get("x5c")
    require(isinstance(chain_b64, list) and len(chain_b64) >= 1, f"{what} {kid}: no x5c")
    chain = []
    for index, entry in enumerate(chain_b64):
        try:
            # x5c is standard base64 with padding (RFC 7517 §4.7)
            der = base64.b64decode(entry, validate=True)
            chain.append(x509.load_der_x509_certificate(der))
        except ValueError as error:
            raise Failure(f"{what} {kid}: x5c[{index}] a strict parser cannot read: {error}") from error
    now = dt.datetime.now(dt.timezone.utc)
    leaf = chain[0]
    check_leaf(leaf, f"{what} {kid} x5c[0]")
    for index, cert in enumerate(chain[1:], start=1):
        read_every_extension(cert, f"{what} {kid} x5c[{index}]")
    require(valid_at(leaf, now), f"{what} {kid}: leaf not valid now")
    usage = key_usage(leaf, f"{what} {kid}")
    if use == "sig":
        require(usage.digital_signature, f"{what} {kid}: signing leaf without digitalSignature")
    else:
        require(usage.key_agreement or usage.key_encipherment, f"{what} {kid}: encryption leaf without keyAgreement")
    require(all(valid_at(anchor, now) for anchor in anchors), f"{what}: a trust anchor is not valid now")
    # walk up the chain until a certificate our anchors issued (or is)
    anchored = False
    current = leaf
    for next_cert in [*chain[1:], None]:
        for anchor in anchors:
            if current.public_bytes(serialization.Encoding.DER) == anchor.public_bytes(serialization.Encoding.DER):
                anchored = True
            elif current.issuer == anchor.subject:
                check_issued_by(current, anchor, f"{what} {kid}")
                anchored = True
        if anchored or next_cert is None:
            break
        check_issued_by(current, next_cert, f"{what} {kid}")
        constraints = basic_constraints(next_cert)
        require(constraints is not None and constraints.ca, f"{what} {kid}: intermediate is not a CA")
        require(valid_at(next_cert, now), f"{what} {kid}: intermediate not valid now")
        current = next_cert
    require(anchored, f"{what} {kid}: x5c does not lead to our trust anchor")
    key = jwcrypto_jwk.JWK(**{m: v for m, v in published.items() if m not in ("x5c", "status")})
    leaf_spki = leaf.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    jwk_spki = key.get_op_key("verify" if use == "sig" else "wrapKey").public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    require(leaf_spki == jwk_spki, f"{what} {kid}: the leaf certificate does not hold the JWK's key")
    alg = published.get("alg")
    allowed = {"sig": ("ES256", "EdDSA"), "enc": ("ECDH-ES+A256KW", "RSA-OAEP-256")}[use]
    require(alg in allowed, f"{what} {kid}: alg {alg!r} not allowed for {use}")
    return TrustedKey(jwk=key, kid=kid, alg=alg, use=use, status=published.get("status", ""))


def private_jwk(path: Path) -> jwcrypto_jwk.JWK:
    material = json.loads(path.read_text())
    return jwcrypto_jwk.JWK(**{m: v for m, v in material.items() if m != "x5c"})


# ---------------------------------------------------------------- JOSE (§4, §5)


def sign_compact(payload: bytes, header: dict[str, Any], key: jwcrypto_jwk.JWK) -> str:
    token = jwcrypto_jws.JWS(payload)
    token.add_signature(key, alg=header["alg"], protected=json.dumps(header, separators=(",", ":")))
    return token.serialize(compact=True)


def verify_compact(token: str, key: TrustedKey, what: str) -> bytes:
    """The algorithm comes from the key, never from the header (§3)."""
    parsed = jwcrypto_jws.JWS()
    try:
        parsed.deserialize(token)
        parsed.allowed_algs = [key.alg]
        parsed.verify(key.jwk, alg=key.alg)
    except Exception as error:  # noqa: BLE001 - jwcrypto raises several kinds
        raise Failure(f"{what}: signature does not verify ({error})") from error
    return b64url_decode(token.split(".")[1])


def encrypt_compact(plaintext: bytes, header: dict[str, Any], key: jwcrypto_jwk.JWK) -> str:
    token = jwcrypto_jwe.JWE(plaintext, protected=json.dumps(header, separators=(",", ":")))
    token.add_recipient(key)
    return token.serialize(compact=True)


@dataclass
class Sealed:
    pid: str
    jti: str
    envelope: str
    sections: dict[str, str]

    def body(self) -> dict[str, Any]:
        return {"envelope": self.envelope, "sections": dict(self.sections)}


def seal(
    *,
    iss: str,
    aud: str,
    application: str,
    contents: dict[str, Any],
    sig_key: jwcrypto_jwk.JWK,
    enc_key: TrustedKey,
    pid: str | None = None,
    jti: str | None = None,
    iat: int | None = None,
) -> Sealed:
    """§6, steps 2-4."""
    pid = pid or str(uuid.uuid4())
    jti = jti or f"{iss}-{uuid.uuid4()}"
    iat = iat if iat is not None else int(time.time())
    sig_kid, sig_alg = sig_key.get("kid"), sig_key.get("alg")
    sections: dict[str, str] = {}
    for name, content in contents.items():
        require(name in SECTION_NAMES, f"unknown section {name}")
        claims = {"iss": iss, "aud": aud, "pid": pid, "sec": name, "iat": iat, "content": content}
        inner = sign_compact(
            json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode("utf-8"),
            {"alg": sig_alg, "kid": sig_kid, "typ": "doorstroom-section+jwt"},
            sig_key,
        )
        outer_header = {"alg": enc_key.alg, "enc": "A256GCM", "kid": enc_key.kid, "cty": "JWT", "sec": name, "pid": pid}
        token = encrypt_compact(inner.encode("ascii"), outer_header, enc_key.jwk)
        limit = 8 * 1024 * 1024 if name == "attachments" else 512 * 1024
        require(len(token) <= limit, f"section {name}: exceeds {limit} bytes")
        sections[name] = token
    payload = {
        "pid": pid,
        "iss": iss,
        "aud": aud,
        "application": application,
        "sections": [
            {"name": name, "size": len(sections[name]), "sha256": sha256_b64url(sections[name])}
            for name in sorted(sections)
        ],
        "iat": iat,
        "jti": jti,
    }
    envelope = sign_compact(
        canonical_json(payload), {"alg": sig_alg, "kid": sig_kid, "typ": "doorstroom-envelope+jwt"}, sig_key
    )
    require(len(envelope) <= 16 * 1024, "envelope: exceeds 16384 bytes")
    return Sealed(pid=pid, jti=jti, envelope=envelope, sections=sections)


ENVELOPE_MEMBERS = {"pid", "iss", "aud", "application", "sections", "iat", "jti"}


def peek_envelope(envelope: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """§9 step 2 / §10.2, unverified: the form, the closed header, the members."""
    require(len(envelope) <= 16 * 1024, "envelope: exceeds 16384 bytes")
    header = protected_header(envelope, 3, "envelope")
    require(set(header) == {"alg", "kid", "typ"}, f"envelope: header members {sorted(header)}")
    require(header["alg"] in ("ES256", "EdDSA"), "envelope: header alg")
    require(header["typ"] == "doorstroom-envelope+jwt", "envelope: header typ")
    require(isinstance(header["kid"], str) and bool(KID_FORM.match(header["kid"])), "envelope: header kid")
    payload_bytes = b64url_decode(envelope.split(".")[1])
    payload = parse_json_strict(payload_bytes, "envelope payload")
    require(isinstance(payload, dict) and set(payload) == ENVELOPE_MEMBERS, "envelope: payload members")
    require(canonical_json(payload) == payload_bytes, "envelope: payload is not canonical JSON")
    require(bool(UUID_FORM.match(payload["pid"])), "envelope: pid is not a UUID")
    require(bool(UUID_FORM.match(payload["application"])), "envelope: application is not a UUID")
    require(bool(BRIN_FORM.match(payload["iss"])) and bool(BRIN_FORM.match(payload["aud"])), "envelope: BRIN")
    require(is_int(payload["iat"]) and 0 <= payload["iat"] <= MAX_TIME, "envelope: iat")
    require(bool(JTI_FORM.match(payload["jti"])), "envelope: jti")
    names = [entry.get("name") for entry in payload["sections"]]
    require(len(names) >= 1 and names == sorted(set(names)), "envelope: sections must be sorted by name, each once")
    for entry in payload["sections"]:
        require(set(entry) == {"name", "size", "sha256"} and entry["name"] in SECTION_NAMES, "envelope: section entry")
        require(is_int(entry["size"]) and entry["size"] >= 1, "envelope: section size")
        require(isinstance(entry["sha256"], str) and len(entry["sha256"]) == 43, "envelope: section sha256")
        b64url_decode(entry["sha256"])
    return header, payload


def open_section(
    name: str,
    token: str,
    envelope: dict[str, Any],
    envelope_kid: str,
    sender_key: TrustedKey,
    own_keys: dict[str, jwcrypto_jwk.JWK],
) -> Any:
    """§10 step 4, in its order; returns the section's content."""
    entries = {entry["name"]: entry for entry in envelope["sections"]}
    require(name in entries, f"section {name}: not listed in the envelope")
    require(len(token) == entries[name]["size"], f"section {name}: size does not match the envelope")
    require(sha256_b64url(token) == entries[name]["sha256"], f"section {name}: sha256 does not match the envelope")
    header = protected_header(token, 5, f"section {name}")
    expected = {"alg", "enc", "kid", "cty", "sec", "pid"} | ({"epk"} if header.get("alg") == "ECDH-ES+A256KW" else set())
    require(set(header) == expected, f"section {name}: header members {sorted(header)}")
    require(header["enc"] == "A256GCM" and header["cty"] == "JWT", f"section {name}: enc/cty")
    require(header["sec"] == name, f"section {name}: protected header `sec` does not name this section")
    require(header["pid"] == envelope["pid"], f"section {name}: protected header `pid` does not match the envelope")
    own = own_keys.get(header["kid"])
    require(own is not None, f"section {name}: protected header `kid` is not one of our decryption keys")
    require(header["alg"] == own.get("alg"), f"section {name}: alg is not our key's algorithm")
    decrypter = jwcrypto_jwe.JWE()
    try:
        decrypter.allowed_algs = [own.get("alg"), "A256GCM"]
        decrypter.deserialize(token, key=own)
    except Exception as error:  # noqa: BLE001
        raise Failure(f"section {name}: does not decrypt with the recipient key ({error})") from error
    inner = decrypter.payload.decode("ascii")
    inner_header = protected_header(inner, 3, f"section {name} inner")
    require(set(inner_header) == {"alg", "kid", "typ"}, f"section {name}: inner header members")
    require(inner_header["typ"] == "doorstroom-section+jwt", f"section {name}: inner typ")
    require(inner_header["kid"] == envelope_kid, f"section {name}: inner kid is not the envelope's kid")
    require(inner_header["alg"] == sender_key.alg, f"section {name}: inner alg is not the sender key's")
    claims = parse_json_strict(verify_compact(inner, sender_key, f"section {name}: inner"), f"section {name} claims")
    require(isinstance(claims, dict) and set(claims) == {"iss", "aud", "pid", "sec", "iat", "content"}, f"section {name}: claims")
    for claim in ("iss", "aud", "pid"):
        require(claims[claim] == envelope[claim], f"section {name}: inner `{claim}` does not match the envelope")
    require(claims["sec"] == name and is_int(claims["iat"]), f"section {name}: inner sec/iat")
    return claims["content"]


# --------------------------------------------------------------------- the API


class Problem(Failure):
    pass


class Api:
    """One identity at the broker: a school system (client certificate)."""

    def __init__(self, url: str, ca: Path, cert_dir: Path | None, name: str) -> None:
        self.url = url.rstrip("/")
        self.name = name
        self.session = requests.Session()
        # requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override a session's
        # `verify`; trust exactly the CA we were given, and no proxy settings
        self.session.trust_env = False
        self.session.verify = str(ca)
        if cert_dir is not None:
            self.session.cert = (str(cert_dir / "client.pem"), str(cert_dir / "client.key"))
        self.requests = 0
        self.token: str | None = None

    def login(self, username: str, password: str, totp_secret: str) -> dict[str, Any]:
        """README: staff log in with password and the current TOTP code
        (RFC 6238, SHA-1, 6 digits, 30 s) and get a bearer token."""
        answer = self.json("POST", "/v1/auth/login", 200, body={
            "username": username, "password": password, "totp": pyotp.TOTP(totp_secret).now()})
        require(answer["token_type"] == "Bearer" and is_int(answer["expires_in"]) and 0 < answer["expires_in"] <= 900,
                f"login answer {sorted(answer)}")
        rfc3339_utc(answer["expires_at"], "expires_at")
        self.token = answer["access_token"]
        return answer

    def call(self, method: str, path: str, expect: int, *, body: Any = None, headers: dict[str, str] | None = None,
             raw: bytes | None = None) -> requests.Response:
        send_headers = dict(headers or {})
        if self.token is not None:
            send_headers["authorization"] = f"Bearer {self.token}"
        data = raw
        if body is not None:
            data = json.dumps(body).encode("utf-8")
        if data is not None:
            send_headers["content-type"] = "application/json"
        response = self.session.request(method, self.url + path, data=data, headers=send_headers, timeout=30)
        self.requests += 1
        if response.status_code >= 400:
            media = response.headers.get("content-type", "")
            require(media.startswith("application/problem+json"),
                    f"{self.name} {method} {path}: {response.status_code} not problem+json ({media})")
            problem = response.json()
            require({"type", "title", "status", "detail"} <= set(problem) and problem["status"] == response.status_code,
                    f"{self.name} {method} {path}: malformed problem {problem}")
            # RFC 9457 `instance`: this occurrence, the request's own id
            require(problem.get("instance") == f"urn:uuid:{response.headers.get('x-request-id')}",
                    f"{self.name} {method} {path}: instance {problem.get('instance')!r} is not the X-Request-Id")
        if response.status_code != expect:
            raise Problem(f"{self.name} {method} {path}: expected {expect}, got {response.status_code}: {response.text[:500]}")
        return response

    def json(self, method: str, path: str, expect: int, **kwargs: Any) -> Any:
        response = self.call(method, path, expect, **kwargs)
        media = response.headers.get("content-type", "")
        require(media.split(";")[0].strip() in ("application/json", "application/jwk-set+json"),
                f"{self.name} {method} {path}: content type {media}")
        return response.json()

    def refused(self, method: str, path: str, status: int, pointer: str | None = None, detail: str | None = None,
                **kwargs: Any) -> dict[str, Any]:
        problem = self.call(method, path, status, **kwargs).json()
        if pointer is not None:
            require(problem.get("pointer") == pointer,
                    f"{self.name} {method} {path}: pointer {problem.get('pointer')!r}, expected {pointer!r} ({problem['detail']})")
        if detail is not None:
            require(detail in problem["detail"], f"{self.name} {method} {path}: detail {problem['detail']!r}")
        return problem


def refusal_bytes(response: requests.Response) -> bytes:
    """A problem's bytes with its `instance` (the request's own id, new on
    every request) blanked: two refusals that must look alike are equal in
    every other byte."""
    return response.content.replace(response.json()["instance"].encode(), b"urn:uuid:")


def without_instance(problem: dict[str, Any]) -> dict[str, Any]:
    return {member: value for member, value in problem.items() if member != "instance"}


# ------------------------------------------------------------------ the flow


def random_bsn(rng: random.Random) -> str:
    """A number passing the BSN 11-proef (openapi.json, StudentNumber):
    9*d1 + 8*d2 + ... + 2*d8 - d9 ≡ 0 (mod 11), not all zeros."""
    while True:
        digits = [rng.randrange(10) for _ in range(8)]
        check = sum((9 - i) * d for i, d in enumerate(digits)) % 11
        if check < 10 and any(digits):
            return "".join(map(str, digits)) + str(check)


def log(message: str) -> None:
    print(f"  ok  {message}", flush=True)


def strict_certificate_checks(ca: Path, certs: Path, url: str) -> tuple[list[x509.Certificate], int]:
    """Every PEM under the dev certificates this client uses, every x5c in the
    JWK files, and the broker's TLS server chain as it arrives."""
    anchors = load_pem_chain(ca)
    for anchor in anchors:
        check_ca(anchor, str(ca))
    count = len(anchors)
    for pem in sorted(certs.rglob("*.pem")):
        chain = load_pem_chain(pem)
        for index, cert in enumerate(chain):
            constraints = (read_every_extension(cert, f"{pem}[{index}]"), basic_constraints(cert))[1]
            if constraints is None or not constraints.ca:
                check_leaf(cert, f"{pem}[{index}]")
            count += 1
    for jwk_file in sorted(certs.rglob("*.jwk")):
        material = json.loads(jwk_file.read_text())
        for index, entry in enumerate(material.get("x5c", [])):
            cert = x509.load_der_x509_certificate(base64.b64decode(entry, validate=True))
            (check_leaf if index == 0 else check_ca)(cert, f"{jwk_file} x5c[{index}]")
            count += 1
    for brin in ("07AB", "25LX"):
        leaf = load_pem_chain(certs / brin / "client.pem")[0]
        check_issued_by(leaf, anchors[0], f"{brin}/client.pem")
        eku = leaf.extensions.get_extension_for_oid(ExtensionOID.EXTENDED_KEY_USAGE).value
        require(x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH in eku, f"{brin}/client.pem: no clientAuth")
        ou = leaf.subject.get_attributes_for_oid(x509.oid.NameOID.ORGANIZATIONAL_UNIT_NAME)
        require([a.value for a in ou] == [brin], f"{brin}/client.pem: OU is not the BRIN")
        oin = leaf.subject.get_attributes_for_oid(x509.oid.NameOID.SERIAL_NUMBER)
        require(len(oin) == 1 and re.fullmatch(r"[0-9]{20}", str(oin[0].value)) is not None,
                f"{brin}/client.pem: serialNumber is not a 20-digit OIN")
        fingerprint = hashlib.sha256(
            leaf.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        ).hexdigest()
        written = (certs / brin / "client.fingerprint").read_text().strip()
        require(fingerprint == written.lower(), f"{brin}/client.fingerprint is not the SPKI SHA-256")
    # the broker's server chain, as the TLS handshake delivers it
    host, port = url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)
    context = ssl.create_default_context(cafile=str(ca))
    with socket.create_connection((host, int(port)), timeout=10) as raw_socket:
        with context.wrap_socket(raw_socket, server_hostname=host) as tls:
            server_der = tls.getpeercert(binary_form=True)
    server = x509.load_der_x509_certificate(server_der)
    check_leaf(server, "broker TLS certificate")
    check_issued_by(server, anchors[0], "broker TLS certificate")
    return anchors, count + 1


def check_receipt(receipt: dict[str, Any], sealed: Sealed, broker_keys: dict[str, Any], aud: str,
                  application: str) -> None:
    """§9.1: the JSON answer and the signed receipt, each claim with its type."""
    require(set(receipt) >= {"package_id", "received_at", "receipt", "delete_after"}, f"receipt members {sorted(receipt)}")
    require(receipt["package_id"] == sealed.pid, "receipt: package_id is not the envelope's pid")
    received_at = rfc3339_utc(receipt["received_at"], "receipt received_at")
    delete_after = rfc3339_utc(receipt["delete_after"], "receipt delete_after")
    require(delete_after > received_at, "receipt: delete_after not after received_at")
    token = receipt["receipt"]
    header = protected_header(token, 3, "receipt")
    require(header.get("alg") == "EdDSA" and header.get("typ") == "doorstroom-receipt+jwt", f"receipt header {header}")
    require(header.get("kid") in broker_keys, "receipt: kid is not a key at /v1/broker/jwks")
    broker = broker_keys[header["kid"]]
    claims = parse_json_strict(verify_compact(token, broker, "receipt"), "receipt claims")
    require(isinstance(claims, dict) and set(claims) == {
        "pid", "jti", "iss", "aud", "application", "envelope_sha256", "sections", "received_at"},
        f"receipt claims {sorted(claims)}")
    require(isinstance(claims["pid"], str) and claims["pid"] == sealed.pid, "receipt: pid")
    require(isinstance(claims["jti"], str) and claims["jti"] == sealed.jti, "receipt: jti")
    require(claims["iss"] == "07AB" and claims["aud"] == aud, "receipt: iss/aud")
    require(claims["application"] == application, "receipt: application")
    require(isinstance(claims["envelope_sha256"], str) and len(claims["envelope_sha256"]) == 43,
            "receipt: envelope_sha256 is not 43 characters")
    require(claims["envelope_sha256"] == sha256_b64url(sealed.envelope), "receipt: envelope_sha256 is not our envelope's")
    require(isinstance(claims["sections"], list) and all(isinstance(s, str) for s in claims["sections"]),
            "receipt: sections is not a list of names")
    require(claims["sections"] == sorted(sealed.sections), "receipt: sections are not the envelope's, in its order")
    require(is_int(claims["received_at"]), "receipt: received_at is not an integer")
    require(claims["received_at"] == int(received_at.timestamp()), "receipt: the two received_at differ")


def broker_signing_keys(api: Api) -> dict[str, TrustedKey]:
    """§9.1 names GET /v1/broker/jwks. These keys carry no x5c: the only
    anchor for them is the TLS connection to the broker (checked against --ca)."""
    keys = {}
    for published in api.json("GET", "/v1/broker/jwks", 200)["keys"]:
        require(published.get("kty") == "OKP" and published.get("crv") == "Ed25519", "broker key is not Ed25519")
        require(published.get("use") == "sig" and published.get("alg") == "EdDSA", "broker key use/alg")
        jwk = jwcrypto_jwk.JWK(**published)
        keys[published["kid"]] = TrustedKey(jwk=jwk, kid=published["kid"], alg="EdDSA", use="sig", status="active")
    require(len(keys) > 0, "no broker key published")
    return keys


def institution_key(api: Api, brin: str, use: str, anchors: list[x509.Certificate], kid: str | None = None) -> TrustedKey:
    """§6 step 1 (kid None: the first active key that passes the checks) or
    §10.2 (kid given: that key, active or retired)."""
    response = api.call("GET", f"/v1/institutions/{brin}/jwks", 200)
    require(response.headers.get("content-type", "").startswith("application/jwk-set+json"), "JWKS content type")
    keys = response.json()["keys"]
    for published in keys:
        # every x5c received is parsed strictly, whether or not it is used
        require(published.get("status") in ("active", "retired"), f"{brin} JWKS: status {published.get('status')!r}")
        for index, entry in enumerate(published.get("x5c", [])):
            try:
                cert = x509.load_der_x509_certificate(base64.b64decode(entry, validate=True))
            except ValueError as error:
                raise Failure(f"{brin} JWKS x5c[{index}]: a strict parser cannot read it: {error}") from error
            (check_leaf if index == 0 else read_every_extension)(cert, f"{brin} JWKS {published.get('kid')} x5c[{index}]")
    for published in keys:
        if published.get("use") != use:
            continue
        if kid is None and published.get("status") != "active":
            continue
        if kid is not None and (published.get("kid") != kid or published.get("status") not in ("active", "retired")):
            continue
        try:
            return trusted_jwk(published, anchors, use, f"{brin} JWKS")
        except Failure as failure:
            if kid is not None:
                raise
            # §6 lets a sender skip a key that fails the checks; against the
            # development broker every published key must pass, so a skipped
            # key is a failure of the flow, not a note
            raise Failure(f"{brin} {published.get('kid')}: a published key fails the checks: {failure}") from failure
    raise Failure(f"{brin}: no trusted {use} key" + (f" {kid}" if kid else ""))


def tamper(token: str) -> str:
    """Flip one character in the ciphertext part: same size, other digest."""
    parts = token.split(".")
    ciphertext = parts[3]
    replacement = "A" if ciphertext[0] != "A" else "B"
    parts[3] = replacement + ciphertext[1:]
    return ".".join(parts)


def dev_account(accounts: Path, username: str) -> tuple[str, str]:
    """A line of data/dev-accounts.txt: `username role password <pw> totp secret <base32>`."""
    for line in accounts.read_text().splitlines():
        fields = line.split()
        if fields and fields[0] == username and "password" in fields and "secret" in fields:
            return fields[fields.index("password") + 1], fields[fields.index("secret") + 1]
    raise Failure(f"{accounts}: no account {username}")


def flow(url: str, ca: Path, certs: Path, anchor_path: Path, seed: int | None, accounts: Path | None) -> int:
    started = time.monotonic()
    rng = random.Random(seed)
    anchors, checked = strict_certificate_checks(ca, certs, url)
    anchors = load_pem_chain(anchor_path)
    log(f"strict X.509: {checked} certificates parsed, every extension read, leaves are no CA")

    vo = Api(url, ca, certs / "07AB", "vo 07AB")
    mbo = Api(url, ca, certs / "25LX", "mbo 25LX")
    anonymous = Api(url, ca, None, "anonymous")
    for api, brin in ((vo, "07AB"), (mbo, "25LX")):
        me = api.json("GET", "/v1/whoami", 200)
        require(me["kind"] == "system" and me["institution"] == brin, f"whoami {me}")
    anonymous.refused("GET", "/v1/whoami", 401)
    log("whoami: 07AB and 25LX are systems; no certificate is 401 problem+json")

    # the mbo registers the application
    student = {"type": "bsn", "number": random_bsn(rng)}
    registration = {
        "student_number": student,
        "programme": {"name": "Verzorgende IG", "crebo": "25491"},
        "school_year": "2027-2028",
        "applied_on": "2027-03-01",
        "sending_school": "07AB",
    }
    application = mbo.json("POST", "/v1/applications", 201, body=registration)
    require(bool(UUID_FORM.match(application["id"])) and application["status"] == "registered", f"application {application}")
    require(application["receiving"] == "25LX" and application["sending"] == "07AB", "application parties")
    require("student_number" not in json.dumps(application) and student["number"] not in json.dumps(application),
            "the student number came back")
    again = mbo.json("POST", "/v1/applications", 200, body=registration)
    require(again["id"] == application["id"], "registering again is not the first registration")
    bad_number = dict(registration, student_number={"type": "bsn", "number": student["number"][:8] + str((int(student["number"][8]) + 1) % 10)})
    mbo.refused("POST", "/v1/applications", 422, body=bad_number)
    application_id = application["id"]
    log(f"register: 201 {application_id}, again 200 same id, a failing 11-proef 422")

    # the vo finds it
    found = vo.json("POST", "/v1/applications/search", 200, body={"student_number": student})
    require([a["id"] for a in found] == [application_id], f"search found {found}")
    log("vo finds the application by student number")

    # keys: the mbo's encryption key from the broker, checked against our anchor
    enc_key = institution_key(anonymous, "25LX", "enc", anchors)
    sig_key = private_jwk(certs / "07AB" / "sign.jwk")
    published_sig = institution_key(anonymous, "07AB", "sig", anchors, kid=sig_key.get("kid"))
    require(published_sig.status == "active", "our own signing key is not active at the broker")
    wrong_enc = institution_key(anonymous, "27GH", "enc", anchors)
    broker_keys = broker_signing_keys(anonymous)
    log(f"JWKS: 25LX enc {enc_key.kid} ({enc_key.alg}) chain checked; broker key(s) {sorted(broker_keys)}")

    contents = {
        "personal_data": {"name": "Sam de Vries", "date_of_birth": "2010-05-04", "note": "é ü — 漢字"},
        "support_needs": {"needs": ["extra tijd bij toetsen"], "contact": "mentor"},
        "remarks": {"by": "student", "text": "Ik wil graag verpleegkunde doen."},
    }

    def seal_now(sections: dict[str, Any], **kwargs: Any) -> Sealed:
        return seal(iss="07AB", aud="25LX", application=application_id, contents=sections, sig_key=sig_key,
                    enc_key=kwargs.pop("enc", enc_key), **kwargs)

    # §9 step 11: no inspection recorded yet
    early = seal_now({"personal_data": contents["personal_data"]})
    vo.refused("POST", "/v1/packages", 422, pointer="/envelope", detail="inspection", body=early.body())
    log("submit before the inspection: 422 at /envelope")

    inspection = vo.json("POST", "/v1/inspections", 201, body={
        "student_number": student, "inspected_at": now_rfc3339(-120), "inspected_by": "student", "remarks_added": True})
    require(inspection["school"] == "07AB", f"inspection {inspection}")
    log("inspection recorded")

    # §9 step 12: support_needs without consent
    no_consent = seal_now({"personal_data": contents["personal_data"], "support_needs": contents["support_needs"]})
    vo.refused("POST", "/v1/packages", 422, pointer="/sections/support_needs", body=no_consent.body())
    log("support_needs before consent: 422 at /sections/support_needs")

    consent = vo.json("POST", "/v1/consents", 201, body={
        "student_number": student, "date_of_birth": "2010-05-04", "recipient": "25LX",
        "sections": ["support_needs"], "given_by": "student", "method": "paper_form",
        "evidence_ref": "FORM-2027-118", "notice_version": "2026-1"})
    require(consent["event"] == "given" and consent["sections"] == ["support_needs"], f"consent {consent}")
    consent_header = protected_header(consent["receipt"], 3, "consent receipt")
    require(consent_header.get("typ") == "doorstroom-consent-receipt+jwt" and consent_header.get("kid") in broker_keys,
            f"consent receipt header {consent_header}")
    consent_claims = parse_json_strict(
        verify_compact(consent["receipt"], broker_keys[consent_header["kid"]], "consent receipt"), "consent claims")
    # exactly the claims of PACKAGE-FORMAT.md §9.3, with their types
    documented = {"receipt_id": str, "version": str, "subject": str, "controller": str, "recipient": str,
                  "purpose": str, "sections": list, "lawful_basis": dict, "event": str, "time": int,
                  "given_by": str, "student_under_16": bool, "method": str, "notice_version": str,
                  "valid_until": (int, type(None))}
    require(isinstance(consent_claims, dict) and set(documented) == set(consent_claims),
            f"consent receipt claims {sorted(consent_claims)}")
    require(all(isinstance(consent_claims[k], t) and not (t is int and isinstance(consent_claims[k], bool))
                for k, t in documented.items()), f"consent receipt claim types {consent_claims}")
    require(consent_claims["version"] == "ISO/IEC TS 27560:2023"
            and consent_claims["student_under_16"] is False and consent_claims["valid_until"] is None
            and set(consent_claims["lawful_basis"]) == {"support_needs"}
            and consent_claims["time"] == int(rfc3339_utc(consent["recorded_at"], "recorded_at").timestamp()),
            f"consent receipt claims {consent_claims}")
    require(consent_claims["receipt_id"] == consent["receipt_id"] and consent_claims["controller"] == "07AB"
            and consent_claims["recipient"] == "25LX" and consent_claims["sections"] == ["support_needs"]
            and consent_claims["event"] == "given", f"consent receipt claims {consent_claims}")
    require(student["number"] not in json.dumps(consent_claims), "the student number is in the consent receipt")
    log("consent for support_needs recorded; its receipt verifies with the broker's key")

    # refusals the format promises
    tampered = seal_now(contents)
    body = tampered.body()
    body["sections"]["support_needs"] = tamper(body["sections"]["support_needs"])
    vo.refused("POST", "/v1/packages", 422, pointer="/sections/support_needs", detail="sha256", body=body)
    for_other = seal_now({"remarks": contents["remarks"]}, enc=wrong_enc)
    vo.refused("POST", "/v1/packages", 422, pointer="/sections/remarks", body=for_other.body())
    portfolio = seal_now({"career_portfolio": {"items": []}})
    vo.refused("POST", "/v1/packages", 422, pointer="/sections/career_portfolio", body=portfolio.body())
    missing = seal_now(contents).body()
    del missing["sections"]["remarks"]
    vo.refused("POST", "/v1/packages", 422, pointer="/sections/remarks", body=missing)
    spaced = seal_now({"remarks": contents["remarks"]})
    header_b64, payload_b64, _ = spaced.envelope.split(".")
    loose = json.dumps(json.loads(b64url_decode(payload_b64)), indent=1).encode()
    loose_envelope = sign_compact(loose, json.loads(b64url_decode(header_b64)), sig_key)
    vo.refused("POST", "/v1/packages", 422, pointer="/envelope", detail="canonical",
               body={"envelope": loose_envelope, "sections": spaced.sections})
    stale = seal_now({"remarks": contents["remarks"]}, iat=int(time.time()) - 8 * 24 * 3600)
    vo.refused("POST", "/v1/packages", 422, pointer="/envelope", body=stale.body())
    mbo.refused("POST", "/v1/packages", 404, body=seal_now({"remarks": contents["remarks"]}).body())
    vo.refused("POST", "/v1/packages", 400, raw=b"{not json")
    vo.refused("POST", "/v1/packages", 422, pointer="/sections",
               raw=('{"envelope":"%s","sections":{"hobbies":"a.b.c.d.e"}}' % spaced.envelope).encode())
    log("refused: tampered section, foreign key, no consent, missing section, non-canonical, stale iat, "
        "an mbo sending, not JSON, unknown section name")

    # the real package
    sealed = seal_now(contents)
    response = vo.call("POST", "/v1/packages", 201, body=sealed.body())
    receipt = response.json()
    check_receipt(receipt, sealed, broker_keys, "25LX", application_id)
    log(f"submitted {sealed.pid}: 201; receipt signature and claim types as §9.1")
    resubmitted = vo.call("POST", "/v1/packages", 200, body=sealed.body())
    require(resubmitted.json() == receipt, "an identical resubmission did not answer the first receipt")
    replay = seal_now({"remarks": contents["remarks"]}, jti=sealed.jti)
    vo.refused("POST", "/v1/packages", 409, body=replay.body())
    log("identical resubmission: 200 with the first receipt; the jti re-sealed: 409")

    # the mbo side, acting for an intaker (§9.2)
    intakers = mbo.json("GET", "/v1/institutions/25LX/intakers", 200)
    require(len(intakers) >= 1 and all(bool(UUID_FORM.match(i["id"])) for i in intakers), f"intakers {intakers}")
    require([i["username"] for i in intakers] == sorted(i["username"] for i in intakers), "intakers not sorted")
    intaker = intakers[0]["id"]
    not_found = vo.refused("GET", "/v1/institutions/25LX/intakers", 404)
    unknown = mbo.refused("GET", "/v1/institutions/99ZZ/intakers", 404)
    require(without_instance(not_found) == without_instance(unknown), "the intakers' 404s differ")
    acting = {"X-On-Behalf-Of": intaker}
    mbo.refused("GET", f"/v1/packages/{sealed.pid}", 400)
    mbo.refused("GET", f"/v1/packages/{sealed.pid}", 400, headers={"X-On-Behalf-Of": "not-a-uuid"})
    stranger = {"X-On-Behalf-Of": str(uuid.uuid4())}
    mbo.refused("GET", f"/v1/packages/{sealed.pid}", 422, pointer="/headers/x-on-behalf-of", headers=stranger)
    mbo.refused("POST", f"/v1/packages/{sealed.pid}/acknowledge", 422, pointer="/headers/x-on-behalf-of",
                headers=stranger)
    mbo.refused("GET", "/v1/inbox", 422, pointer="/headers/x-on-behalf-of", headers=stranger)
    mbo.refused("GET", "/v1/inbox", 400)
    missing_package = refusal_bytes(mbo.call("GET", f"/v1/packages/{uuid.uuid4()}", 404, headers=acting))
    foreign = refusal_bytes(vo.call("GET", f"/v1/packages/{sealed.pid}", 404, headers=acting))
    require(missing_package == foreign, "'not found' and 'not yours' differ")
    log(f"intaker {intaker} learnt from /intakers; no header 400, a stranger 422, another's package = missing 404")

    inbox = mbo.json("GET", "/v1/inbox", 200, headers=acting)
    entry = next((e for e in inbox if e["package_id"] == sealed.pid), None)
    require(entry is not None, "the package is not in the inbox")
    require(entry["application_id"] == application_id and entry["sender"] == "07AB", f"inbox entry {entry}")
    require(sorted(s["section"] for s in entry["sections"]) == sorted(contents), "inbox sections")
    log("inbox lists the package")

    pulled = mbo.json("GET", f"/v1/packages/{sealed.pid}", 200, headers=acting)
    require(pulled["package_id"] == sealed.pid and pulled["application_id"] == application_id, "pulled ids")
    require(pulled["envelope"] == sealed.envelope, "the envelope is not as submitted")
    require(pulled["withheld"] == [], f"withheld {pulled['withheld']}")
    # §10: verify as a receiver who trusts nothing the broker says
    envelope_header, _ = peek_envelope(pulled["envelope"])
    require(envelope_header["kid"] and protected_header(pulled["envelope"], 3, "envelope").get("kid"), "kid")
    envelope_iss = parse_json_strict(b64url_decode(pulled["envelope"].split(".")[1]), "envelope")["iss"]
    sender = institution_key(anonymous, envelope_iss, "sig", anchors, kid=envelope_header["kid"])
    require(envelope_header["alg"] == sender.alg, "envelope alg is not the sender key's")
    envelope = parse_json_strict(verify_compact(pulled["envelope"], sender, "envelope"), "envelope payload")
    require(envelope["aud"] == "25LX" and envelope["application"] == application_id, "envelope aud/application")
    own_keys = {key.get("kid"): key for key in [private_jwk(certs / "25LX" / "enc.jwk")]}
    opened = {name: open_section(name, token, envelope, envelope_header["kid"], sender, own_keys)
              for name, token in pulled["sections"].items()}
    require(opened == contents, "the decrypted sections differ from what was sent")
    log(f"pulled, envelope and {len(opened)} sections verified and decrypted; plaintext equals what was sent")

    staff = Api(url, ca, None, "intaker token")
    if accounts is not None:
        username = next(i["username"] for i in intakers if i["id"] == intaker)
        staff.login(username, *dev_account(accounts, username))
        me = staff.json("GET", "/v1/whoami", 200)
        require(me["kind"] == "staff" and me["staff_id"] == intaker and me["institution"] == "25LX", f"whoami {me}")
        require(any(e["package_id"] == sealed.pid for e in staff.json("GET", "/v1/inbox", 200)), "token inbox")
        again = staff.json("GET", f"/v1/packages/{sealed.pid}", 200)
        require(again["envelope"] == sealed.envelope and again["sections"] == pulled["sections"], "token pull differs")
        foreign_token = refusal_bytes(staff.call("GET", f"/v1/packages/{uuid.uuid4()}", 404))
        require(foreign_token == missing_package, "the intaker's 404 differs from the system's")
        log(f"intaker {username} logged in (password + TOTP): whoami, inbox and the same package with a token")

    acknowledgement = mbo.json("POST", f"/v1/packages/{sealed.pid}/acknowledge", 200, headers=acting)
    require(acknowledgement["package_id"] == sealed.pid, "acknowledgement package_id")
    rfc3339_utc(acknowledgement["acknowledged_at"], "acknowledged_at")
    first = acknowledgement["acknowledged_at"]
    require(mbo.json("POST", f"/v1/packages/{sealed.pid}/acknowledge", 200, headers=acting)["acknowledged_at"] == first,
            "a second acknowledgement changed the first")
    log("acknowledged (idempotent)")

    mbo.json("POST", f"/v1/applications/{application_id}/status", 200, body={"status": "received"})
    detail = mbo.json("POST", f"/v1/applications/{application_id}/status", 200, body={"status": "intake_scheduled"})
    require(detail["status"] == "intake_scheduled", f"status {detail['status']}")
    mbo.refused("POST", f"/v1/applications/{application_id}/status", 409, body={"status": "registered"})
    seen = vo.json("GET", f"/v1/applications/{application_id}", 200)
    require(seen["status"] == "intake_scheduled", f"the vo sees {seen['status']}")
    history = [event["status"] for event in seen["history"]]
    require(history[-2:] == ["received", "intake_scheduled"], f"history {history}")
    require([p["package_id"] for p in seen["packages"]] == [sealed.pid], f"packages {seen['packages']}")
    log(f"status received → intake_scheduled reported; the vo reads it back ({' → '.join(history)})")

    total = vo.requests + mbo.requests + anonymous.requests + staff.requests
    print(f"PASS: {total} requests, {time.monotonic() - started:.1f} s", flush=True)
    return 0


# ------------------------------------------------------- §11.1 worked example

EXAMPLE_SIG = {"kty": "OKP", "crv": "Ed25519", "kid": "07AB-sig-example", "use": "sig", "alg": "EdDSA",
               "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}
EXAMPLE_ENC = {"kty": "EC", "crv": "P-256", "kid": "25LX-enc-example", "use": "enc", "alg": "ECDH-ES+A256KW",
               "x": "Ze2loSV3wrroKUN_4zhwGhCqo3Xhu1td4QjeQ5wIVR0", "y": "HlLtdXARY_f55A3fnzQbPcm6hgr34Mp8p-nuzQCE0Zw",
               "d": "r_kHyZ-a06rmxM3yESK84r1otSg-aQcVStkRhA-iCM8"}


def example(document: Path) -> int:
    """Reproduce §11.1 from the values the document gives (read from it, so a
    change of the document is checked too)."""
    text = document.read_text()
    section = text.split("### 11.1", 1)[1]
    fences = re.findall(r"^[ ]*```([a-z]*)\n(.*?)\n[ ]*```", section, re.S | re.M)
    blocks = [body.strip() for language, body in fences if language == ""]
    keys = [body for language, body in fences if language == "json"][0].splitlines()
    sig = json.loads(keys[0])
    enc = json.loads(keys[1])
    require(sig == EXAMPLE_SIG and enc == EXAMPLE_ENC, "§11.1 keys")
    token = blocks[0].strip()
    envelope_expected = blocks[2].strip()
    inner_expected = blocks[3].strip()
    sig_key = jwcrypto_jwk.JWK(**sig)
    require(len(token) == 1012, "§11.1: token size")
    payload = {"pid": "0f8e5a4c-3b2d-4e1f-9a8b-7c6d5e4f3a2b", "iss": "07AB", "aud": "25LX",
               "application": "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a", "iat": 1742036400,
               "jti": "07AB-20250315-example",
               "sections": [{"name": "remarks", "size": len(token), "sha256": sha256_b64url(token)}]}
    require(canonical_json(payload).decode() == blocks[1].strip(), "§11.1: canonical payload")
    # the header bytes are given exactly (member order included)
    header_bytes = b'{"typ":"doorstroom-envelope+jwt","kid":"07AB-sig-example","alg":"EdDSA"}'
    signing_input = b64url_encode(header_bytes) + "." + b64url_encode(canonical_json(payload))
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    private = Ed25519PrivateKey.from_private_bytes(b64url_decode(sig["d"]))
    envelope = signing_input + "." + b64url_encode(private.sign(signing_input.encode("ascii")))
    require(envelope == envelope_expected, "§11.1: the envelope is not reproduced byte for byte")
    public_sig = TrustedKey(jwk=jwcrypto_jwk.JWK(**{m: v for m, v in sig.items() if m != "d"}), kid=sig["kid"],
                            alg="EdDSA", use="sig", status="active")
    header, parsed = peek_envelope(envelope)
    verify_compact(envelope, public_sig, "§11.1 envelope")
    decrypter = jwcrypto_jwe.JWE()
    decrypter.deserialize(token, key=jwcrypto_jwk.JWK(**enc))
    require(decrypter.payload.decode() == inner_expected, "§11.1: the inner token differs")
    content = open_section("remarks", token, parsed, header["kid"], public_sig, {enc["kid"]: jwcrypto_jwk.JWK(**enc)})
    require(content == {"by": "student", "text": "Ik wil graag verpleegkunde doen."}, "§11.1: content")
    # §5.2 worked digest
    require(sha256_b64url("eyJhbGciOiJFQ0RILUVTK0EyNTZLVyJ9.AAAA.BBBB.CCCC.DDDD")
            == "N1xpeAfgJc2WYnEORuCiRjmiBsV4FGjyjRIX28OU-Rw", "§5.2 digest example")
    print("PASS: §11.1 reproduced byte for byte; §5.2 digest example matches", flush=True)
    return 0


def must_refuse(what: str, action: Any, because: str = "") -> None:
    """`action` must fail with a message that contains `because`."""
    try:
        action()
    except Failure as failure:
        require(because in str(failure), f"self-check: {what} was refused for another reason: {failure}")
        return
    raise Failure(f"self-check: {what} was not refused")


def selfcheck() -> int:
    """Offline: the client's own checks refuse what they must, so that a
    passing flow means something. Throwaway CAs and keys, made here."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    now = dt.datetime.now(dt.timezone.utc)

    def certificate(subject: str, key: Any, issuer: str, issuer_key: Any, *, ca: bool | None,
                    raw_constraints: bytes | None = None, usage: str = "sig") -> x509.Certificate:
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, subject)]))
                   .issuer_name(x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, issuer)]))
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30)))
        if raw_constraints is not None:
            builder = builder.add_extension(
                x509.UnrecognizedExtension(ExtensionOID.BASIC_CONSTRAINTS, raw_constraints), critical=False)
        elif ca is not None:
            builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=usage == "sig", content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=usage == "enc", key_cert_sign=usage == "ca",
            crl_sign=usage == "ca", encipher_only=False, decipher_only=False), critical=True)
        return builder.sign(issuer_key, hashes.SHA256())

    def der_b64(cert: x509.Certificate) -> str:
        return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode("ascii")

    ca_key, other_ca_key, leaf_key, stray_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(4))
    ca = certificate("Self-check CA", ca_key, "Self-check CA", ca_key, ca=True, usage="ca")
    other_ca = certificate("Other CA", other_ca_key, "Other CA", other_ca_key, ca=True, usage="ca")
    leaf = certificate("07AB sig key", leaf_key, "Self-check CA", ca_key, ca=None)
    check_ca(ca, "self-check CA")
    check_leaf(leaf, "self-check leaf")

    # an encoded DEFAULT `cA FALSE` (what the old dev PKI wrote) and a leaf claiming cA TRUE
    default_false = certificate("leaf", leaf_key, "Self-check CA", ca_key, ca=None, raw_constraints=b"\x30\x03\x01\x01\x00")
    reparsed = x509.load_der_x509_certificate(default_false.public_bytes(serialization.Encoding.DER))
    must_refuse("a leaf with an encoded cA FALSE", lambda: check_leaf(reparsed, "leaf"), "strict parser")
    must_refuse("a leaf that claims cA TRUE",
                lambda: check_leaf(certificate("leaf", leaf_key, "Self-check CA", ca_key, ca=True), "leaf"), "claims to be a CA")

    public = jwcrypto_jwk.JWK.from_pyca(leaf_key.public_key()).export_public(as_dict=True)
    published = dict(public, kid="07AB-sig-selfcheck", use="sig", alg="ES256", status="active",
                     x5c=[der_b64(leaf), der_b64(ca)])
    trusted_jwk(published, [ca], "sig", "self-check")  # the positive control
    must_refuse("an x5c chain to a CA that is not ours", lambda: trusted_jwk(published, [other_ca], "sig", "self-check"),
                "does not lead to our trust anchor")
    stray = jwcrypto_jwk.JWK.from_pyca(stray_key.public_key()).export_public(as_dict=True)
    must_refuse("a leaf that does not hold the JWK's key",
                lambda: trusted_jwk(dict(published, x=stray["x"], y=stray["y"]), [ca], "sig", "self-check"), "does not hold")
    must_refuse("a signing key published as an encryption key", lambda: trusted_jwk(published, [ca], "enc", "self-check"),
                "use is not enc")
    forged = certificate("07AB sig key", leaf_key, "Self-check CA", other_ca_key, ca=None)
    must_refuse("a leaf signed by another key under our CA's name",
                lambda: trusted_jwk(dict(published, x5c=[der_b64(forged)]), [ca], "sig", "self-check"), "not issued by")
    must_refuse("a private member in a published key", lambda: trusted_jwk(dict(published, d="AAAA"), [ca], "sig", "s"), "private members")

    for bad in ("QQ==", "QR", "Q", "Q Q", "", "Q+/A"):
        must_refuse(f"base64url {bad!r}", lambda bad=bad: b64url_decode(bad), "base64url")

    # the §11.1 material: tampering anywhere is refused
    sig_key = jwcrypto_jwk.JWK(**EXAMPLE_SIG)
    enc_key = jwcrypto_jwk.JWK(**EXAMPLE_ENC)
    sender = TrustedKey(jwk=jwcrypto_jwk.JWK(**{m: v for m, v in EXAMPLE_SIG.items() if m != "d"}), kid=EXAMPLE_SIG["kid"],
                        alg="EdDSA", use="sig", status="active")
    recipient = TrustedKey(jwk=jwcrypto_jwk.JWK(**{m: v for m, v in EXAMPLE_ENC.items() if m != "d"}),
                           kid=EXAMPLE_ENC["kid"], alg="ECDH-ES+A256KW", use="enc", status="active")
    content = {"by": "student", "text": "Ik wil graag verpleegkunde doen."}
    sealed = seal(iss="07AB", aud="25LX", application=str(uuid.uuid4()), contents={"remarks": content},
                  sig_key=sig_key, enc_key=recipient)
    header, envelope = peek_envelope(sealed.envelope)
    verify_compact(sealed.envelope, sender, "envelope")
    own = {EXAMPLE_ENC["kid"]: enc_key}
    require(open_section("remarks", sealed.sections["remarks"], envelope, header["kid"], sender, own) == content,
            "self-check: the section does not open")
    must_refuse("a tampered section", lambda: open_section("remarks", tamper(sealed.sections["remarks"]), envelope,
                                                            header["kid"], sender, own), "sha256 does not match")
    must_refuse("a section of another package", lambda: open_section(
        "remarks", sealed.sections["remarks"], dict(envelope, sections=[dict(envelope["sections"][0], name="remarks")],
                                                    pid=str(uuid.uuid4())), header["kid"], sender, own), "`pid` does not match")
    must_refuse("a section for a key we do not hold",
                lambda: open_section("remarks", sealed.sections["remarks"], envelope, header["kid"], sender, {}), "not one of our decryption keys")
    head, payload, signature = sealed.envelope.split(".")
    loose = b64url_encode(json.dumps(envelope, indent=1).encode())
    must_refuse("a non-canonical envelope", lambda: peek_envelope(f"{head}.{loose}.{signature}"), "not canonical")
    flipped = payload[:-1] + ("A" if payload[-1] != "A" else "B")
    must_refuse("an envelope whose payload changed", lambda: verify_compact(f"{head}.{flipped}.{signature}", sender, "e"),
                "does not verify")
    print("PASS: self-check: every refusal of the client's own checks bites", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("flow", help="register → inspect → consent → send → pull → decrypt → acknowledge → status")
    run.add_argument("--url", required=True, help="e.g. https://localhost:8443")
    run.add_argument("--ca", type=Path, required=True, help="CA of the broker's TLS certificate")
    run.add_argument("--certs", type=Path, required=True, help="folder with 07AB/ and 25LX/ (client.pem, client.key, *.jwk)")
    run.add_argument("--trust-anchor", type=Path, help="JOSE trust anchor for x5c chains (default: --ca)")
    run.add_argument("--seed", type=int, help="seed for the student number")
    run.add_argument("--accounts", type=Path,
                     help="data/dev-accounts.txt: the intaker also logs in (password + TOTP) and pulls with a token")
    commands.add_parser("selfcheck", help="offline: the client's own checks refuse what they must")
    worked = commands.add_parser("example", help="reproduce PACKAGE-FORMAT.md §11.1")
    worked.add_argument("--document", type=Path,
                        default=Path(__file__).resolve().parents[2] / "openapi" / "PACKAGE-FORMAT.md")
    args = parser.parse_args(argv)
    try:
        if args.command == "flow":
            return flow(args.url, args.ca, args.certs, args.trust_anchor or args.ca, args.seed, args.accounts)
        if args.command == "selfcheck":
            return selfcheck()
        return example(args.document)
    except Failure as failure:
        print(f"FAIL: {failure}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
