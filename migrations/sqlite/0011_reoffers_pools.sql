-- Asking again: an expired shift offer whose worker may be asked once more, after the configured pause, once the
-- order has run out of candidates. `reask` is 1 once the pause has passed for it on an order at risk (the worker
-- is then a candidate again, unless they were offered the order more than once).
ALTER TABLE offers ADD COLUMN reask BIGINT NOT NULL DEFAULT 0;

-- Talent pools: an agency's named lists of workers. `workers` is the JSON array of worker ids (numbers); a
-- deleted pool keeps its row with `deleted_at`.
CREATE TABLE pools (
    id         INTEGER PRIMARY KEY,
    agency_id  BIGINT NOT NULL REFERENCES agencies(id),
    name       TEXT NOT NULL,
    workers    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT
);
CREATE INDEX pools_by_agency ON pools (agency_id, id);
