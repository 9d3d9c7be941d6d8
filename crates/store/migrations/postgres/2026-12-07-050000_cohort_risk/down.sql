ALTER TABLE institution_events DROP COLUMN risk_since;
ALTER TABLE institution_events DROP COLUMN risk_reason;
ALTER TABLE institution_events DROP COLUMN risk_reference;
ALTER TABLE institution_events DROP COLUMN risk_school_year;
ALTER TABLE cohort_members DROP COLUMN risk_since;
ALTER TABLE cohort_members DROP COLUMN risk_reason;
