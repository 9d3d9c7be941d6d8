DROP INDEX inspections_school_student;
DROP INDEX applications_created;
DROP INDEX packages_submitted;
DROP TABLE applications_gone;
DROP TRIGGER consent_events_no_delete;
CREATE TRIGGER consent_events_no_delete BEFORE DELETE ON consent_events
BEGIN
    SELECT RAISE(ABORT, 'consent_events is append-only');
END;
DROP TRIGGER inspections_no_delete;
CREATE TRIGGER inspections_no_delete BEFORE DELETE ON inspections
BEGIN
    SELECT RAISE(ABORT, 'inspections is append-only');
END;
DROP TABLE deletion_permits;
