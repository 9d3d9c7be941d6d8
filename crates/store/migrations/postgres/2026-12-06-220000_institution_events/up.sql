-- The event feed of each institution (GET /v1/events): what happened that
-- concerns it, as ids and times only. No student, pseudonym or student
-- number is ever stored here: a school system reads the record an entry
-- points to through the policy and the audit log like any other read.
--
-- `seq` is gap-free per institution from 1: it is allocated from the
-- institution's head row (bumped with UPDATE … RETURNING) inside the write
-- transaction of the change, after the audit log's tail lock, so entries of
-- one institution commit in `seq` order on any number of broker nodes.
CREATE TABLE institution_event_heads (
    institution TEXT   NOT NULL PRIMARY KEY REFERENCES institutions (brin),
    seq         BIGINT NOT NULL
);

CREATE TABLE institution_events (
    institution    TEXT   NOT NULL REFERENCES institutions (brin),
    seq            BIGINT NOT NULL,
    -- A UUID: the entry's own id (the idempotency id of a webhook delivery).
    id             TEXT   NOT NULL UNIQUE,
    kind           TEXT   NOT NULL,
    package_id     TEXT,
    application_id TEXT,
    -- The section's name for `section.withdrawn` (a name, never content).
    section        TEXT,
    occurred_at    BIGINT NOT NULL,
    PRIMARY KEY (institution, seq)
);

-- The purge deletes entries older than `[retention] events_days`.
CREATE INDEX institution_events_occurred_at ON institution_events (occurred_at);

-- The packages whose coming deletion was announced in the feed
-- (`package.expiring`, once per package): the purge announces a package a
-- week before its rules delete it. Goes with the package.
CREATE TABLE package_expiry_notices (
    package_id  TEXT   NOT NULL PRIMARY KEY REFERENCES packages (id) ON DELETE CASCADE,
    noticed_at  BIGINT NOT NULL
);
