-- The day of the intake conversation, reported with the status
-- intake_scheduled (ISO date, YYYY-MM-DD); NULL for every other status and
-- for a schedule reported without a day.
ALTER TABLE application_status_events ADD COLUMN intake_on TEXT;
