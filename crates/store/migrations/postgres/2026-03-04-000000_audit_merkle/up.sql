-- The audit log as a Merkle tree (RFC 9162 hashing, leaf i = audit_events
-- seq i+1). `audit_hashes` holds the tree's stored hashes in the tlog
-- "stored hash index" order (Crosby and Wallach; golang.org/x/mod/sumdb/tlog):
-- appending leaf n adds its leaf hash and the hashes of the subtrees it
-- completes. They are written in the same transaction as the event, under
-- the audit_events table lock that serialises appenders.
-- Events that exist before this migration are hashed by the store the first
-- time it opens the database (see merkle::backfill).
CREATE TABLE audit_hashes (
    idx  BIGINT NOT NULL PRIMARY KEY CHECK (idx >= 0),
    hash BYTEA  NOT NULL CHECK (octet_length(hash) = 32)
);

-- Tree heads the broker has signed: `signed_note` is the C2SP
-- tlog-checkpoint in a signed note; `root` the tree hash at `size`.
CREATE TABLE audit_checkpoints (
    size        BIGINT NOT NULL PRIMARY KEY CHECK (size >= 0),
    root        BYTEA  NOT NULL CHECK (octet_length(root) = 32),
    signed_note TEXT   NOT NULL,
    created_at  BIGINT NOT NULL
);

-- Append-only, like audit_events.
CREATE FUNCTION audit_merkle_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$;
CREATE TRIGGER audit_hashes_no_update_delete BEFORE UPDATE OR DELETE ON audit_hashes
    FOR EACH ROW EXECUTE FUNCTION audit_merkle_append_only();
CREATE TRIGGER audit_hashes_no_truncate BEFORE TRUNCATE ON audit_hashes
    FOR EACH STATEMENT EXECUTE FUNCTION audit_merkle_append_only();
CREATE TRIGGER audit_checkpoints_no_update_delete BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_merkle_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_merkle_append_only();
