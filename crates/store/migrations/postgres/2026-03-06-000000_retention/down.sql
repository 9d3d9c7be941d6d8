DROP INDEX inspections_school_student;
DROP INDEX applications_created;
DROP INDEX packages_submitted;
DROP TABLE applications_gone;
CREATE OR REPLACE FUNCTION ledger_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$;
DROP TABLE deletion_permits;
