-- Doorstroom store, PostgreSQL flavour. Same tables and columns as the
-- SQLite migration: timestamps are UTC unix milliseconds (BIGINT) and
-- enumerations their wire spelling (TEXT), so that one diesel schema and one
-- query set serve both backends.

CREATE TABLE institutions (
    brin        TEXT    NOT NULL PRIMARY KEY,
    oin         TEXT    UNIQUE,
    name        TEXT    NOT NULL,
    sector      TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);

CREATE TABLE institution_keys (
    kid         TEXT    NOT NULL PRIMARY KEY,
    brin        TEXT    NOT NULL REFERENCES institutions (brin),
    key_use     TEXT    NOT NULL,
    alg         TEXT    NOT NULL,
    jwk         TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    not_after   BIGINT  NOT NULL,
    created_at  BIGINT  NOT NULL,
    retired_at  BIGINT,
    revoked_at  BIGINT
);
CREATE INDEX institution_keys_brin ON institution_keys (brin, created_at, kid);

-- A binding is revoked exactly when revoked_at is set.
CREATE TABLE client_certificates (
    fingerprint TEXT    NOT NULL PRIMARY KEY,
    brin        TEXT    NOT NULL REFERENCES institutions (brin),
    subject     TEXT    NOT NULL,
    not_after   BIGINT  NOT NULL,
    created_at  BIGINT  NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX client_certificates_brin ON client_certificates (brin, created_at);

CREATE TABLE staff_accounts (
    id            TEXT    NOT NULL PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    brin          TEXT    REFERENCES institutions (brin),
    password_hash TEXT    NOT NULL,
    totp_secret   TEXT,
    status        TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);
CREATE INDEX staff_accounts_brin ON staff_accounts (brin);

CREATE TABLE login_failures (
    id     BIGSERIAL NOT NULL PRIMARY KEY,
    scope  TEXT      NOT NULL,
    "key"  TEXT      NOT NULL,
    at     BIGINT    NOT NULL
);
CREATE INDEX login_failures_scope_key_at ON login_failures (scope, "key", at);
CREATE INDEX login_failures_at ON login_failures (at);

-- The audit log. `seq` is assigned by the store as max(seq)+1 inside the
-- writing transaction, under LOCK TABLE audit_events IN SHARE ROW EXCLUSIVE
-- MODE, so it is gapless and in commit order even with several broker nodes:
-- it is the leaf index (plus one) of the Merkle log, whose leaves are the
-- bytes of `entry` (the event's canonical JSON). No sequence: a sequence
-- would leave gaps on rollback.
CREATE TABLE audit_events (
    seq               BIGINT  NOT NULL PRIMARY KEY CHECK (seq >= 1),
    time              BIGINT  NOT NULL,
    actor_kind        TEXT    NOT NULL,
    actor_institution TEXT,
    actor_id          TEXT,
    on_behalf_of      TEXT,
    action_crud       TEXT    NOT NULL,
    action_name       TEXT    NOT NULL,
    resource_kind     TEXT    NOT NULL,
    resource_id       TEXT,
    data_subject      TEXT,
    purpose           TEXT    NOT NULL,
    outcome           TEXT    NOT NULL,
    reason            TEXT,
    request_id        TEXT,
    entry             TEXT    NOT NULL
);
CREATE INDEX audit_events_data_subject ON audit_events (data_subject, seq);
CREATE INDEX audit_events_actor_institution ON audit_events (actor_institution, seq);
CREATE INDEX audit_events_time ON audit_events (time);

-- Append-only: a Merkle log cannot survive rewritten or deleted leaves.
CREATE FUNCTION audit_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END
$$;
CREATE TRIGGER audit_events_no_update_delete BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
