-- The safety net's event (issue 18): each cohort member's risk as the
-- broker last told the school (the reason's name and the day it began,
-- 'YYYY-MM-DD'; NULL: not at risk), so that the daily assessment tells the
-- school only when a student becomes at risk or the reason changes. Goes
-- with the member (the cohort's retention).
ALTER TABLE cohort_members ADD COLUMN risk_reason TEXT;
ALTER TABLE cohort_members ADD COLUMN risk_since TEXT;

-- A `student.at_risk` entry names the cohort's school year (its start
-- year), the school's own reference for the student, the reason and the
-- day; only on that school's own feed, and never the pseudonym. NULL for
-- every other kind of entry.
ALTER TABLE institution_events ADD COLUMN risk_school_year INTEGER;
ALTER TABLE institution_events ADD COLUMN risk_reference TEXT;
ALTER TABLE institution_events ADD COLUMN risk_reason TEXT;
ALTER TABLE institution_events ADD COLUMN risk_since TEXT;
