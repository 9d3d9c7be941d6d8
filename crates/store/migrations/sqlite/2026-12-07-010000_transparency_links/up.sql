-- Transparency links (issue 17): a sending school's system asks for a link
-- to the student's own page. Only hashes of the token (>= 128 random bits)
-- and of the 6-digit code are kept, both keyed HMACs under the broker's
-- secret, so a copy of the database opens no page and the code cannot be
-- found by trying the million possibilities offline. The student is the
-- broker's pseudonym, never the student number.
CREATE TABLE transparency_links (
    id              TEXT    NOT NULL PRIMARY KEY,
    -- The vo school that issued it (and alone may revoke it).
    school          TEXT    NOT NULL REFERENCES institutions (brin),
    student         TEXT    NOT NULL,
    token_hash      TEXT    NOT NULL UNIQUE,
    code_hash       TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    expires_at      BIGINT  NOT NULL,
    revoked_at      BIGINT,
    -- Wrong codes since the last right one; at the limit the link locks.
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_at       BIGINT,
    -- The last time the right code was given.
    opened_at       BIGINT
);

CREATE INDEX transparency_links_student ON transparency_links (student);
CREATE INDEX transparency_links_expires ON transparency_links (expires_at);

-- Sessions on the student's page, as the console's: the cookie carries a
-- random id, the table only its SHA-256.
CREATE TABLE transparency_sessions (
    id_hash      TEXT   NOT NULL PRIMARY KEY,
    link_id      TEXT   NOT NULL REFERENCES transparency_links (id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);

CREATE INDEX transparency_sessions_link ON transparency_sessions (link_id);

-- How to reach an institution's privacy officer (the student's page names
-- it for objection, correction and erasure); NULL: not given.
ALTER TABLE institutions ADD COLUMN privacy_contact TEXT;
