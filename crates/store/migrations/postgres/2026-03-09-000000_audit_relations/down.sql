DROP INDEX applications_student;
DROP TABLE audit_event_relations;
DROP FUNCTION audit_event_relations_append_only();
