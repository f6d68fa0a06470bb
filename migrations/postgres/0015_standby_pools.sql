-- Pooled standby: an agency's on-call pool for an area (an H3 cell), a block of the day and a skill signature,
-- shared by the roles of pooled orders there. A floater is a standby assignment held for the pool (`assignments.pool_id`),
-- booked for the pool's window; its `order_id` is the pool's anchor (its first order), which the schema needs,
-- but it belongs to the pool: the orders' own views leave it out.
CREATE TABLE standby_pools (
    id           BIGSERIAL PRIMARY KEY,
    agency_id    BIGINT NOT NULL REFERENCES agencies(id),
    cell         TEXT NOT NULL,
    block_start  BIGINT NOT NULL,
    skills       TEXT NOT NULL,
    anchor_order BIGINT NOT NULL REFERENCES orders(id),
    start_at     BIGINT NOT NULL,
    end_at       BIGINT NOT NULL,
    release_at   BIGINT NOT NULL,
    target       DOUBLE PRECISION NOT NULL,
    wanted       BIGINT NOT NULL,
    status       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE UNIQUE INDEX standby_pools_by_key ON standby_pools (agency_id, cell, block_start, skills);
CREATE INDEX standby_pools_by_agency ON standby_pools (agency_id, start_at, id);
CREATE INDEX standby_pools_by_release ON standby_pools (status, release_at);

-- Each role of a pooled order is in the pool of its own skill signature.
CREATE TABLE standby_pool_orders (
    order_id BIGINT NOT NULL REFERENCES orders(id),
    role_idx BIGINT NOT NULL,
    pool_id  BIGINT NOT NULL REFERENCES standby_pools(id),
    PRIMARY KEY (order_id, role_idx)
);
CREATE INDEX standby_pool_orders_by_pool ON standby_pool_orders (pool_id, order_id, role_idx);

ALTER TABLE assignments ADD COLUMN pool_id BIGINT REFERENCES standby_pools(id);
CREATE INDEX assignments_by_pool ON assignments (pool_id, status);
