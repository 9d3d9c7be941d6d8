-- Storage limitation and erasure (GDPR art. 5(1)(e), art. 17). SQLite
-- flavour; same tables as the PostgreSQL migration.
--
-- The consent and inspection ledger stays append-only for everyone except
-- the purge and the erasure, which lift the protection deliberately and
-- narrowly: a DELETE passes the ledger's trigger only while a row naming the
-- table exists in `deletion_permits`. The store's purge and erasure insert
-- that row at the start of their own transaction and remove it before they
-- commit (doorstroom_store::retention::with_permit); SQLite serialises
-- writers, so no other transaction ever sees a permit. UPDATE stays
-- refused. The audit tables are NOT covered: a permit can only name the two
-- ledger tables (CHECK), and the audit triggers do not consult it.
CREATE TABLE deletion_permits (
    table_name TEXT NOT NULL PRIMARY KEY CHECK (table_name IN ('consent_events', 'inspections'))
);

DROP TRIGGER consent_events_no_delete;
CREATE TRIGGER consent_events_no_delete BEFORE DELETE ON consent_events
WHEN NOT EXISTS (SELECT 1 FROM deletion_permits WHERE table_name = 'consent_events')
BEGIN
    SELECT RAISE(ABORT, 'consent_events is append-only');
END;
DROP TRIGGER inspections_no_delete;
CREATE TRIGGER inspections_no_delete BEFORE DELETE ON inspections
WHEN NOT EXISTS (SELECT 1 FROM deletion_permits WHERE table_name = 'inspections')
BEGIN
    SELECT RAISE(ABORT, 'inspections is append-only');
END;

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
