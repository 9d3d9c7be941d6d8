DROP TABLE IF EXISTS audit_checkpoints;
DROP TABLE IF EXISTS audit_hashes;
DROP FUNCTION IF EXISTS audit_merkle_append_only();
