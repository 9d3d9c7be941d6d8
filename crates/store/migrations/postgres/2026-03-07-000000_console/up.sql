-- Web console sessions. Only a SHA-256 of the random session id is kept,
-- so a copy of the database does not log anyone in.
CREATE TABLE console_sessions (
    id_hash TEXT PRIMARY KEY NOT NULL,
    staff_id TEXT NOT NULL REFERENCES staff_accounts (id),
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX console_sessions_last_seen ON console_sessions (last_seen_at);
