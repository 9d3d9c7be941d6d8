DROP INDEX consent_events_school_student;
ALTER TABLE consent_events DROP COLUMN school;
