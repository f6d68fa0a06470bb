-- Webhooks: an agency's endpoints, each a reader of the log with its own cursor, and the deliveries it owes.
CREATE TABLE webhooks (
    id            INTEGER PRIMARY KEY,
    agency_id     BIGINT NOT NULL REFERENCES agencies(id),
    url           TEXT NOT NULL,
    -- A JSON array of event kinds, or ["*"].
    events        TEXT NOT NULL,
    -- The signing secret as is: it must be usable to sign, so it cannot be only hashed.
    secret        TEXT NOT NULL,
    -- active | paused | disabled
    status        TEXT NOT NULL,
    -- The last log position whose events are scheduled as deliveries.
    log_cursor    BIGINT NOT NULL,
    -- Consecutive failed attempts, and when the first of them was made (engine clock, unix ms).
    failures      BIGINT NOT NULL DEFAULT 0,
    failing_since BIGINT,
    disabled_at   BIGINT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX webhooks_by_agency ON webhooks (agency_id, id);

CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY,
    webhook_id       BIGINT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    -- The event's position in the log, which is also the id a receiver deduplicates on.
    seq              BIGINT NOT NULL,
    event_at         BIGINT NOT NULL,
    kind             TEXT NOT NULL,
    -- The order the event concerns (`ord_…`), or '' for events without one: deliveries of one lane go in log order.
    lane             TEXT NOT NULL,
    -- pending | delivered | failed (given up)
    status           TEXT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    first_attempt_at BIGINT,
    last_attempt_at  BIGINT,
    last_status_code BIGINT,
    last_error       TEXT,
    delivered_at     BIGINT,
    UNIQUE (webhook_id, seq)
);
CREATE INDEX webhook_deliveries_lanes ON webhook_deliveries (webhook_id, status, lane, seq);
