-- Every consent event has an owner: the sending school that recorded it
-- (`school`, like `inspections.school`). SQLite flavour; same column as the
-- PostgreSQL migration. Consent state is derived per owner: a package is
-- checked only against its sender's ledger, a withdrawal touches only the
-- withdrawing school's packages, and a school reads only its own records
-- (doorstroom_domain::authz, "The consent and inspection ledger").
--
-- Existing events are attributed, in this order, to
--   1. the institution of the client certificate that recorded them
--      (`recorded_by` is "system:<fingerprint>" and a fingerprint is bound
--      to exactly one institution, also after revocation): the school that
--      actually made the call, which is the fact the ownership rule needs;
--   2. otherwise the one sending school named in the student's
--      applications at the event's recipient (only when exactly one school
--      is named there).
-- An event that neither attributes makes this migration fail (NOT NULL):
-- guessing an owner would let one school's consent count for another's
-- package, so an operator must decide such an event by hand.
--
-- SQLite cannot add a NOT NULL column with a foreign key to a table that
-- has rows, so the table is rebuilt (same rows, same `n`, and the
-- AUTOINCREMENT counter carried over so no number is ever reused) and its
-- indexes and append-only triggers are created again.
DROP TRIGGER consent_events_no_update;
DROP TRIGGER consent_events_no_delete;

CREATE TABLE consent_events_owned (
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
    receipt           TEXT    NOT NULL,
    school            TEXT    NOT NULL REFERENCES institutions (brin)
);

INSERT INTO consent_events_owned (
    n, id, student, recipient, section, kind, purpose, at, given_by, student_under_16,
    method, evidence_ref, notice_version, valid_until, recorded_by, receipt, school
)
SELECT
    e.n, e.id, e.student, e.recipient, e.section, e.kind, e.purpose, e.at, e.given_by, e.student_under_16,
    e.method, e.evidence_ref, e.notice_version, e.valid_until, e.recorded_by, e.receipt,
    COALESCE(
        (SELECT c.brin FROM client_certificates c WHERE 'system:' || c.fingerprint = e.recorded_by),
        (SELECT MIN(a.sending) FROM applications a
          WHERE a.student = e.student AND a.receiving = e.recipient AND a.sending IS NOT NULL
         HAVING COUNT(DISTINCT a.sending) = 1)
    )
FROM consent_events e
ORDER BY e.n;

DELETE FROM sqlite_sequence WHERE name = 'consent_events_owned';
INSERT INTO sqlite_sequence (name, seq)
SELECT 'consent_events_owned', seq FROM sqlite_sequence WHERE name = 'consent_events';

DROP TABLE consent_events;
ALTER TABLE consent_events_owned RENAME TO consent_events;

CREATE INDEX consent_events_student ON consent_events (student, recipient, section, n);
CREATE INDEX consent_events_recipient ON consent_events (recipient);
-- The owner's ledger of a student: what every decision reads.
CREATE INDEX consent_events_school_student ON consent_events (school, student, recipient, n);

CREATE TRIGGER consent_events_no_update BEFORE UPDATE ON consent_events
BEGIN
    SELECT RAISE(ABORT, 'consent_events is append-only');
END;
CREATE TRIGGER consent_events_no_delete BEFORE DELETE ON consent_events
WHEN NOT EXISTS (SELECT 1 FROM deletion_permits WHERE table_name = 'consent_events')
BEGIN
    SELECT RAISE(ABORT, 'consent_events is append-only');
END;
