-- Numbering after commit (issue 14; PostgreSQL only, see
-- `crates/store/src/sequencer.rs`). A write no longer takes the audit
-- log's tail lock and holds it to its COMMIT, which made every audited
-- write on every node wait for the one before it to flush its WAL.
-- Instead it commits its audit events here and its feed entries with a
-- placeholder number, and right after its commit, before it answers, the
-- events waiting are numbered under the tail lock in one short
-- transaction per batch, usually for many writes at once.
--
-- An audit event waiting for its sequence number: the exact entry the
-- Merkle leaf will hash (`AuditEvent::canonical_json`) and the
-- institutions it is related to (BRINs separated by spaces; empty for
-- none). `id` gives the order in which they are numbered. Rows live
-- here for milliseconds; a crash leaves them for the next write, or the
-- next start, to number.
CREATE TABLE audit_pending (
    id      BIGSERIAL PRIMARY KEY,
    entry   TEXT NOT NULL,
    parties TEXT NOT NULL
);

-- A feed entry waiting for its number carries `seq = -nextval(…)` of
-- this sequence: below every number a reader asks for, so that no reader
-- and no webhook sees it before it is numbered. The column's default, so
-- that the entry's INSERT draws it (no round trip of its own).
CREATE SEQUENCE institution_events_unnumbered;
ALTER TABLE institution_events ALTER COLUMN seq SET DEFAULT -nextval('institution_events_unnumbered');
CREATE INDEX institution_events_waiting ON institution_events (seq) WHERE seq < 0;
