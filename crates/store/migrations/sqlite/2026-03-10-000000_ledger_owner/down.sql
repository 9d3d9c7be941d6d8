-- Drops the owner of consent events again (the table rebuilt without
-- `school`; rows, `n` and the AUTOINCREMENT counter kept).
DROP TRIGGER consent_events_no_update;
DROP TRIGGER consent_events_no_delete;

CREATE TABLE consent_events_unowned (
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
INSERT INTO consent_events_unowned (
    n, id, student, recipient, section, kind, purpose, at, given_by, student_under_16,
    method, evidence_ref, notice_version, valid_until, recorded_by, receipt
)
SELECT n, id, student, recipient, section, kind, purpose, at, given_by, student_under_16,
       method, evidence_ref, notice_version, valid_until, recorded_by, receipt
FROM consent_events ORDER BY n;

DELETE FROM sqlite_sequence WHERE name = 'consent_events_unowned';
INSERT INTO sqlite_sequence (name, seq)
SELECT 'consent_events_unowned', seq FROM sqlite_sequence WHERE name = 'consent_events';

DROP TABLE consent_events;
ALTER TABLE consent_events_unowned RENAME TO consent_events;

CREATE INDEX consent_events_student ON consent_events (student, recipient, section, n);
CREATE INDEX consent_events_recipient ON consent_events (recipient);

CREATE TRIGGER consent_events_no_update BEFORE UPDATE ON consent_events
BEGIN
    SELECT RAISE(ABORT, 'consent_events is append-only');
END;
CREATE TRIGGER consent_events_no_delete BEFORE DELETE ON consent_events
WHEN NOT EXISTS (SELECT 1 FROM deletion_permits WHERE table_name = 'consent_events')
BEGIN
    SELECT RAISE(ABORT, 'consent_events is append-only');
END;
