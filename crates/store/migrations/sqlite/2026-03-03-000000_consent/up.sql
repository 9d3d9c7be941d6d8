-- The consent and inspection ledger. SQLite flavour; same tables and columns
-- as the PostgreSQL migration. Timestamps are UTC unix milliseconds,
-- enumerations their wire spelling, uuids lowercase hyphenated text.
--
-- Both tables are append-only: the current consent state is derived from
-- the events, never stored beside them, so an event is never rewritten or
-- removed. (Erasure of a student's data on request will lift this
-- deliberately, in its own migration.)

-- One consent event (given, withdrawn, expired) per student (the broker's
-- keyed pseudonym) x receiving institution x section. `id` is also the id of
-- the broker-signed receipt kept in `receipt`. `n` is the append order:
-- SQLite only autoincrements an INTEGER PRIMARY KEY, so here `n` is the
-- primary key and `id` is UNIQUE NOT NULL (on PostgreSQL `id` is the
-- primary key and `n` a UNIQUE BIGSERIAL); AUTOINCREMENT never reuses a
-- number, even after rows are erased. `recorded_by` describes the actor
-- ("system:<fingerprint>", "staff:<uuid>"), never a person's name.
-- `student_under_16` is all the broker keeps of the date of birth.
CREATE TABLE consent_events (
    n                 INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    id                TEXT    NOT NULL UNIQUE,
    student           TEXT    NOT NULL,
    recipient         TEXT    NOT NULL REFERENCES institutions (brin),
    section           TEXT    NOT NULL,
    kind              TEXT    NOT NULL CHECK (kind IN ('given', 'withdrawn', 'expired')),
    purpose           TEXT    NOT NULL,
    at                BIGINT  NOT NULL,
    given_by          TEXT    NOT NULL CHECK (given_by IN ('student', 'parent', 'guardian')),
    student_under_16  INTEGER NOT NULL CHECK (student_under_16 IN (0, 1)),
    method            TEXT    NOT NULL,
    evidence_ref      TEXT    NOT NULL,
    notice_version    TEXT    NOT NULL,
    valid_until       BIGINT,
    recorded_by       TEXT    NOT NULL,
    receipt           TEXT    NOT NULL
);
CREATE INDEX consent_events_student ON consent_events (student, recipient, section, n);
CREATE INDEX consent_events_recipient ON consent_events (recipient);

CREATE TRIGGER consent_events_no_update BEFORE UPDATE ON consent_events
BEGIN
    SELECT RAISE(ABORT, 'consent_events is append-only');
END;
CREATE TRIGGER consent_events_no_delete BEFORE DELETE ON consent_events
BEGIN
    SELECT RAISE(ABORT, 'consent_events is append-only');
END;

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
    remarks_added  INTEGER NOT NULL CHECK (remarks_added IN (0, 1)),
    recorded_at    BIGINT  NOT NULL,
    recorded_by    TEXT    NOT NULL
);
CREATE INDEX inspections_student ON inspections (student, at, id);
CREATE INDEX inspections_school ON inspections (school);

CREATE TRIGGER inspections_no_update BEFORE UPDATE ON inspections
BEGIN
    SELECT RAISE(ABORT, 'inspections is append-only');
END;
CREATE TRIGGER inspections_no_delete BEFORE DELETE ON inspections
BEGIN
    SELECT RAISE(ABORT, 'inspections is append-only');
END;
