-- Every consent event has an owner: the sending school that recorded it
-- (`school`, like `inspections.school`). PostgreSQL flavour; same column as
-- the SQLite migration. Consent state is derived per owner: a package is
-- checked only against its sender's ledger, a withdrawal touches only the
-- withdrawing school's packages, and a school reads only its own records
-- (doorstroom_domain::authz, "The consent and inspection ledger").
--
-- Existing events are attributed, in this order, to
--   1. the institution of the client certificate that recorded them
--      (`recorded_by` is "system:<fingerprint>" and a fingerprint is bound
--      to exactly one institution, also after revocation): the school that
--      actually made the call, which is the fact the ownership rule needs;
--   2. otherwise the one sending school named in the student's
--      applications at the event's recipient (only when exactly one school
--      is named there).
-- An event that neither attributes makes this migration fail: guessing an
-- owner would let one school's consent count for another's package, so an
-- operator must decide such an event by hand.
ALTER TABLE consent_events ADD COLUMN school TEXT REFERENCES institutions (brin);

-- The backfill is the one UPDATE the ledger ever sees: the append-only
-- trigger is off for this statement only, inside this migration's
-- transaction.
ALTER TABLE consent_events DISABLE TRIGGER consent_events_no_update_delete;
UPDATE consent_events e SET school = COALESCE(
    (SELECT c.brin FROM client_certificates c WHERE 'system:' || c.fingerprint = e.recorded_by),
    (SELECT MIN(a.sending) FROM applications a
      WHERE a.student = e.student AND a.receiving = e.recipient AND a.sending IS NOT NULL
     HAVING COUNT(DISTINCT a.sending) = 1)
);
ALTER TABLE consent_events ENABLE TRIGGER consent_events_no_update_delete;

DO $$
DECLARE
    unattributed BIGINT;
BEGIN
    SELECT COUNT(*) INTO unattributed FROM consent_events WHERE school IS NULL;
    IF unattributed > 0 THEN
        RAISE EXCEPTION 'consent_events: % event(s) cannot be attributed to a recording school; decide their owner by hand', unattributed;
    END IF;
END
$$;
ALTER TABLE consent_events ALTER COLUMN school SET NOT NULL;

-- The owner's ledger of a student: what every decision reads.
CREATE INDEX consent_events_school_student ON consent_events (school, student, recipient, n);
