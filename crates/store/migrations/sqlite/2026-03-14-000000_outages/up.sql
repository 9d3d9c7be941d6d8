-- The readiness probe's one row (GET /readyz): a write that commits, so
-- that "ready" means a write can succeed, not only that a read answers
-- (doorstroom_store::Store::probe_write). It holds no personal data.
CREATE TABLE readiness_probe (
    id        INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    probed_at BIGINT  NOT NULL
);
INSERT INTO readiness_probe (id, probed_at) VALUES (1, 0);
