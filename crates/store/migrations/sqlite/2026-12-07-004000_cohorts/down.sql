DROP TABLE cohort_members;
