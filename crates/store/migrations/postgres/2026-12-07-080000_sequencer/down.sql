DROP INDEX institution_events_waiting;
DROP SEQUENCE institution_events_unnumbered;
DROP TABLE audit_pending;
