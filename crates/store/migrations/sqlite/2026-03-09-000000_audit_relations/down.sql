DROP INDEX applications_student;
DROP TABLE audit_event_relations;
