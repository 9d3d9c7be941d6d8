-- Which institutions each audit event is about, recorded when the event is
-- written (SQLite flavour; same table as the PostgreSQL migration).
--
-- An institution's privacy officer searches the events the institution
-- acted in and the events about students who applied there or were sent
-- by or to it (AuditQuery::related_to). The applications and packages that
-- tie a student to an institution are deleted by the purge and on erasure
-- long before the audit events go (5 years), so the tie is kept here, one
-- row per event and related institution, written by audit::append in the
-- same transaction as the event. No pseudonym: the event has it.
--
-- Not part of the Merkle leaf (that is audit_events.entry alone): a
-- relation is the broker's reading of its own tables at the time, not
-- something the actor did.
--
-- Append-only like the audit tables: UPDATE is refused, and so is DELETE
-- of a relation whose event still exists. The only way a row goes is with
-- its event (ON DELETE CASCADE, when pruning removes old audit events): the
-- cascade runs after the event row is gone, so the trigger lets it pass.
-- SQLite enforces the cascade because every connection sets
-- foreign_keys=ON.
CREATE TABLE audit_event_relations (
    seq         INTEGER NOT NULL REFERENCES audit_events (seq) ON DELETE CASCADE,
    institution TEXT    NOT NULL,
    PRIMARY KEY (institution, seq)
);
-- The cascade and audit::append look relations up by event.
CREATE INDEX audit_event_relations_seq ON audit_event_relations (seq);

CREATE TRIGGER audit_event_relations_no_update BEFORE UPDATE ON audit_event_relations
BEGIN
    SELECT RAISE(ABORT, 'audit_event_relations is append-only');
END;
CREATE TRIGGER audit_event_relations_no_delete BEFORE DELETE ON audit_event_relations
WHEN EXISTS (SELECT 1 FROM audit_events WHERE seq = OLD.seq)
BEGIN
    SELECT RAISE(ABORT, 'audit_event_relations is append-only');
END;

-- audit::append reads a student's applications on every event about them.
CREATE INDEX applications_student ON applications (student);

-- The events written before this migration: related as the search related
-- them until now, through the applications and packages still there.
INSERT INTO audit_event_relations (seq, institution)
SELECT e.seq, r.institution
FROM audit_events e
JOIN (
    SELECT student, receiving AS institution FROM applications
    UNION SELECT student, sending FROM applications WHERE sending IS NOT NULL
    UNION SELECT student, sender FROM packages
    UNION SELECT student, recipient FROM packages
) r ON r.student = e.data_subject;
