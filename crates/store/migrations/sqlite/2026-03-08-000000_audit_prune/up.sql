-- Pruning the audit log after its retention period (GDPR art. 5(1)(e)).
-- SQLite flavour; same tables as the PostgreSQL migration.
--
-- `audit_prunes` records each prune: after it, the events with seq below
-- `pruned_below` are gone on purpose (the highest `pruned_below` is the
-- boundary). Below the boundary a missing event is expected; from it on, any
-- gap is tampering (doorstroom_store::merkle::verify_log). Append-only.
--
-- `audit_events` stays append-only except for one narrow door: a DELETE
-- passes its trigger only while a row in `audit_prune_permits` lies above
-- the event's seq AND the event lies within the latest checkpoint (so a
-- signature still pins what it was). The store's prune inserts the permit
-- at the start of its own transaction and removes it before it commits
-- (doorstroom_store::retention::prune_audit); SQLite serialises writers, so
-- no other transaction ever sees a permit. UPDATE stays refused, and
-- `audit_hashes` and `audit_checkpoints` stay fully append-only: the tree
-- and every proof remain computable after a prune.
CREATE TABLE audit_prunes (
    pruned_below BIGINT NOT NULL PRIMARY KEY CHECK (pruned_below >= 2),
    pruned_at    BIGINT NOT NULL
);
CREATE TRIGGER audit_prunes_no_update BEFORE UPDATE ON audit_prunes
BEGIN
    SELECT RAISE(ABORT, 'audit_prunes is append-only');
END;
CREATE TRIGGER audit_prunes_no_delete BEFORE DELETE ON audit_prunes
BEGIN
    SELECT RAISE(ABORT, 'audit_prunes is append-only');
END;

CREATE TABLE audit_prune_permits (
    below BIGINT NOT NULL PRIMARY KEY CHECK (below >= 2)
);

DROP TRIGGER audit_events_no_delete;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
WHEN NOT (
    EXISTS (SELECT 1 FROM audit_prune_permits WHERE OLD.seq < below)
    AND OLD.seq <= (SELECT coalesce(max(size), 0) FROM audit_checkpoints)
)
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
