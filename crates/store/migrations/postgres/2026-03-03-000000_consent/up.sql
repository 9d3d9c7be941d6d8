-- The consent and inspection ledger. PostgreSQL flavour; same tables and
-- columns as the SQLite migration. Timestamps are UTC unix milliseconds,
-- enumerations their wire spelling, uuids lowercase hyphenated text.
--
-- Both tables are append-only: the current consent state is derived from
-- the events, never stored beside them, so an event is never rewritten or
-- removed. (Erasure of a student's data on request will lift this
-- deliberately, in its own migration.)

-- One consent event (given, withdrawn, expired) per student (the broker's
-- keyed pseudonym) x receiving institution x section. `id` is also the id of
-- the broker-signed receipt kept in `receipt`. `n` is the append order (on
-- SQLite it is the INTEGER PRIMARY KEY AUTOINCREMENT and `id` is UNIQUE NOT
-- NULL, since SQLite only autoincrements its primary key). `recorded_by`
-- describes the actor ("system:<fingerprint>", "staff:<uuid>"), never a
-- person's name. `student_under_16` is all the broker keeps of the date of
-- birth.
CREATE TABLE consent_events (
    n                 BIGSERIAL NOT NULL UNIQUE,
    id                TEXT    NOT NULL PRIMARY KEY,
    student           TEXT    NOT NULL,
    recipient         TEXT    NOT NULL REFERENCES institutions (brin),
    section           TEXT    NOT NULL,
    kind              TEXT    NOT NULL CHECK (kind IN ('given', 'withdrawn', 'expired')),
    purpose           TEXT    NOT NULL,
    at                BIGINT  NOT NULL,
    given_by          TEXT    NOT NULL CHECK (given_by IN ('student', 'parent', 'guardian')),
    student_under_16  BOOLEAN NOT NULL,
    method            TEXT    NOT NULL,
    evidence_ref      TEXT    NOT NULL,
    notice_version    TEXT    NOT NULL,
    valid_until       BIGINT,
    recorded_by       TEXT    NOT NULL,
    receipt           TEXT    NOT NULL
);
CREATE INDEX consent_events_student ON consent_events (student, recipient, section, n);
CREATE INDEX consent_events_recipient ON consent_events (recipient);

-- The student's and/or parents' inspection (inzage) of the dossier before it
-- goes, as recorded by the vo school (`school`). `inspected_by` is who
-- inspected (the caller's spelling: student, parent, guardian), never a
-- name; `at` is when they inspected, `recorded_at` when it was recorded.
CREATE TABLE inspections (
    id             TEXT    NOT NULL PRIMARY KEY,
    student        TEXT    NOT NULL,
    school         TEXT    NOT NULL REFERENCES institutions (brin),
    at             BIGINT  NOT NULL,
    inspected_by   TEXT    NOT NULL,
    remarks_added  BOOLEAN NOT NULL,
    recorded_at    BIGINT  NOT NULL,
    recorded_by    TEXT    NOT NULL
);
CREATE INDEX inspections_student ON inspections (student, at, id);
CREATE INDEX inspections_school ON inspections (school);

-- Append-only, like audit_events.
CREATE FUNCTION ledger_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$;
CREATE TRIGGER consent_events_no_update_delete BEFORE UPDATE OR DELETE ON consent_events
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER consent_events_no_truncate BEFORE TRUNCATE ON consent_events
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER inspections_no_update_delete BEFORE UPDATE OR DELETE ON inspections
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER inspections_no_truncate BEFORE TRUNCATE ON inspections
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
