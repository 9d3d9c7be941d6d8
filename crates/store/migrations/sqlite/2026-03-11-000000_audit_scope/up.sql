-- A privacy officer's scope no longer widens afterwards (SQLite flavour;
-- same rule as the PostgreSQL migration).
--
-- Until now audit::append "caught up": when an institution became tied to a
-- student (an application, a package), every earlier event about the
-- student was related to it too, so an mbo that registered an application
-- for any student number saw another mbo's intake in its privacy officer's
-- search, export and art. 15 report. From now on an event is related only
-- to the parties of the record it is about, when it is written
-- (Resource::parties, audit::append_related).
--
-- What the catch-up added is removed here: a relation of an event to an
-- institution stays only if the institution had itself acted on the
-- student's file (a successful event about the student, for intake, in
-- which it was the actor) at or before that event: its first own tie.
-- Relations of older events were the catch-up's. The rows do not record
-- which statement wrote them, so this is the rule SQL can derive on both
-- backends; it cannot narrow the older relations further to the record an
-- event was about (the events written before this did not relate by
-- record and mostly name no record id), so events written after an
-- institution's first tie keep the relations they were written with. A
-- sending school named in an application that never acted on the student
-- itself loses its relations to the student's events: the safe side.
--
-- The relations are append-only; the trigger is lifted for this one
-- statement and put back as it was.
DROP TRIGGER audit_event_relations_no_delete;

DELETE FROM audit_event_relations
WHERE NOT EXISTS (
    SELECT 1
    FROM audit_events e
    JOIN audit_events own ON own.data_subject = e.data_subject AND own.seq <= e.seq
    WHERE e.seq = audit_event_relations.seq
      AND own.actor_institution = audit_event_relations.institution
      AND own.outcome = 'success'
      AND own.purpose = 'intake'
);

CREATE TRIGGER audit_event_relations_no_delete BEFORE DELETE ON audit_event_relations
WHEN EXISTS (SELECT 1 FROM audit_events WHERE seq = OLD.seq)
BEGIN
    SELECT RAISE(ABORT, 'audit_event_relations is append-only');
END;
