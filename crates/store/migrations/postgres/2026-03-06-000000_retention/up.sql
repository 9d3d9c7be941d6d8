-- Storage limitation and erasure (GDPR art. 5(1)(e), art. 17). PostgreSQL
-- flavour; same tables as the SQLite migration.
--
-- The consent and inspection ledger stays append-only for everyone except
-- the purge and the erasure, which lift the protection deliberately and
-- narrowly: a DELETE passes the ledger's trigger only while a row naming the
-- table exists in `deletion_permits`. The store's purge and erasure insert
-- that row at the start of their own transaction and remove it before they
-- commit (doorstroom_store::retention::with_permit), so no other transaction
-- ever sees a permit (READ COMMITTED does not show uncommitted rows). UPDATE
-- and TRUNCATE stay refused. The audit tables are NOT covered: a permit can
-- only name the two ledger tables (CHECK), and the audit triggers do not
-- consult it.
CREATE TABLE deletion_permits (
    table_name TEXT NOT NULL PRIMARY KEY CHECK (table_name IN ('consent_events', 'inspections'))
);

CREATE OR REPLACE FUNCTION ledger_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM deletion_permits WHERE table_name = TG_TABLE_NAME) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$;

-- When the last application of a student at an institution was deleted
-- (by the purge): the start of the ledger's retention period for that
-- student at that institution (`consent_after_application_gone`). A
-- bookkeeping row keyed by the pseudonym; the purge removes it once the
-- period has passed and no ledger record of the pair is left, and an
-- erasure removes it with the rest.
CREATE TABLE applications_gone (
    student     TEXT   NOT NULL,
    institution TEXT   NOT NULL,
    gone_at     BIGINT NOT NULL,
    PRIMARY KEY (student, institution)
);

-- The purge's look-ups.
CREATE INDEX packages_submitted ON packages (submitted_at, id);
CREATE INDEX applications_created ON applications (created_at, id);
CREATE INDEX inspections_school_student ON inspections (school, student);
