ALTER TABLE application_status_events DROP COLUMN intake_on;
