DROP TABLE IF EXISTS audit_checkpoints;
DROP TABLE IF EXISTS audit_hashes;
