-- The safety net (issue 18): each vo school's leaving cohort for a school
-- year. Per student only what the net needs: the pseudonym (the student
-- number is turned into it at once and never stored) to find the student's
-- applications, and the school's own reference (opaque to the broker, e.g.
-- its internal student id) to answer with. Owned by the school; deleted
-- `cohort_days_after_enrolment_deadline` after the enrolment deadline of
-- its school year.
CREATE TABLE cohort_members (
    school      TEXT    NOT NULL REFERENCES institutions (brin),
    school_year INTEGER NOT NULL,
    reference   TEXT    NOT NULL,
    student     TEXT    NOT NULL,
    added_at    BIGINT  NOT NULL,
    PRIMARY KEY (school, school_year, reference),
    UNIQUE (school, school_year, student)
);
