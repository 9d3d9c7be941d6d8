DROP INDEX institution_events_waiting;
ALTER TABLE institution_events ALTER COLUMN seq DROP DEFAULT;
DROP SEQUENCE institution_events_unnumbered;
DROP TABLE audit_pending;
