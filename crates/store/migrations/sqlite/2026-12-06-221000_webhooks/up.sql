-- Signed webhooks (issue 15, item 2): each institution may register one
-- HTTPS endpoint; every entry of its event feed written while the endpoint
-- exists gets a row in the outbox, in the same transaction as the entry
-- (so no entry is lost and none is sent that did not commit). A
-- background deliverer posts each entry, signed by the broker, until the
-- endpoint answers 2xx or the retry period is over. Ids, times, URLs and
-- outcomes only: no personal data.
CREATE TABLE webhook_endpoints (
    institution TEXT   NOT NULL PRIMARY KEY REFERENCES institutions (brin),
    url         TEXT   NOT NULL,
    -- PEM of the CA the endpoint's certificate must chain to; NULL: the
    -- public web PKI roots.
    ca_pem      TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE webhook_deliveries (
    -- The feed entry's id: the delivery's idempotency id.
    event_id        TEXT    NOT NULL PRIMARY KEY REFERENCES institution_events (id) ON DELETE CASCADE,
    institution     TEXT    NOT NULL REFERENCES institutions (brin),
    -- pending, delivered, failed (retry period over).
    state           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL,
    -- Not before this moment (backoff; while an attempt runs, its lease).
    next_attempt_at BIGINT  NOT NULL,
    last_attempt_at BIGINT,
    -- The last attempt's outcome: `http 503`, `timeout`, `redirect 302`, …
    last_outcome    TEXT,
    created_at      BIGINT  NOT NULL,
    delivered_at    BIGINT
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_institution ON webhook_deliveries (institution, created_at);
