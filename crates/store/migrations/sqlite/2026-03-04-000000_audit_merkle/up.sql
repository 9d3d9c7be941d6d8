-- The audit log as a Merkle tree (RFC 9162 hashing, leaf i = audit_events
-- seq i+1). `audit_hashes` holds the tree's stored hashes in the tlog
-- "stored hash index" order (Crosby and Wallach; golang.org/x/mod/sumdb/tlog):
-- appending leaf n adds its leaf hash and the hashes of the subtrees it
-- completes. They are written in the same transaction as the event.
-- Events that exist before this migration are hashed by the store the first
-- time it opens the database (see merkle::backfill).
CREATE TABLE audit_hashes (
    idx  INTEGER NOT NULL PRIMARY KEY CHECK (idx >= 0),
    hash BLOB    NOT NULL CHECK (length(hash) = 32)
);

-- Tree heads the broker has signed: `signed_note` is the C2SP
-- tlog-checkpoint in a signed note; `root` the tree hash at `size`.
CREATE TABLE audit_checkpoints (
    size        INTEGER NOT NULL PRIMARY KEY CHECK (size >= 0),
    root        BLOB    NOT NULL CHECK (length(root) = 32),
    signed_note TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
);

-- Append-only, like audit_events.
CREATE TRIGGER audit_hashes_no_update BEFORE UPDATE ON audit_hashes
BEGIN
    SELECT RAISE(ABORT, 'audit_hashes is append-only');
END;
CREATE TRIGGER audit_hashes_no_delete BEFORE DELETE ON audit_hashes
BEGIN
    SELECT RAISE(ABORT, 'audit_hashes is append-only');
END;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'audit_checkpoints is append-only');
END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'audit_checkpoints is append-only');
END;
