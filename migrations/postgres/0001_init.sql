-- crewcall schema, PostgreSQL. Times are unix milliseconds (UTC).

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE agencies (
    id           BIGSERIAL PRIMARY KEY,
    name         TEXT NOT NULL,
    api_key_hash TEXT NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL
);

CREATE TABLE workers (
    id                  BIGSERIAL PRIMARY KEY,
    agency_id           BIGINT NOT NULL REFERENCES agencies(id),
    external_ref        TEXT NOT NULL,
    profile             TEXT NOT NULL,
    status              TEXT NOT NULL,
    app_token_hash      TEXT UNIQUE,
    completed_shifts    BIGINT NOT NULL DEFAULT 0,
    no_shows            BIGINT NOT NULL DEFAULT 0,
    late_arrivals       BIGINT NOT NULL DEFAULT 0,
    cancellations       BIGINT NOT NULL DEFAULT 0,
    cancellation_weight DOUBLE PRECISION NOT NULL DEFAULT 0,
    rating_sum          BIGINT NOT NULL DEFAULT 0,
    rating_count        BIGINT NOT NULL DEFAULT 0,
    deleted_at          BIGINT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    UNIQUE (agency_id, external_ref)
);

CREATE TABLE orders (
    id         BIGSERIAL PRIMARY KEY,
    agency_id  BIGINT NOT NULL REFERENCES agencies(id),
    client_ref TEXT NOT NULL,
    body       TEXT NOT NULL,
    start_at   BIGINT NOT NULL,
    end_at     BIGINT NOT NULL,
    status     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX orders_by_agency ON orders (agency_id, id);
CREATE INDEX orders_by_status ON orders (status, start_at);

CREATE TABLE offers (
    id         BIGSERIAL PRIMARY KEY,
    order_id   BIGINT NOT NULL REFERENCES orders(id),
    agency_id  BIGINT NOT NULL,
    worker_id  BIGINT NOT NULL REFERENCES workers(id),
    role_idx   BIGINT NOT NULL,
    kind       TEXT NOT NULL,
    status     TEXT NOT NULL,
    urgent     BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    decided_at BIGINT
);
CREATE INDEX offers_by_order ON offers (order_id, status);
CREATE INDEX offers_by_worker ON offers (worker_id, status);
CREATE INDEX offers_pending_expiry ON offers (expires_at) WHERE status = 'pending';

CREATE TABLE assignments (
    id             BIGSERIAL PRIMARY KEY,
    order_id       BIGINT NOT NULL REFERENCES orders(id),
    agency_id      BIGINT NOT NULL,
    worker_id      BIGINT NOT NULL REFERENCES workers(id),
    role_idx       BIGINT NOT NULL,
    kind           TEXT NOT NULL,
    status         TEXT NOT NULL,
    start_at       BIGINT NOT NULL,
    end_at         BIGINT NOT NULL,
    guard_start    BIGINT NOT NULL,
    guard_end      BIGINT NOT NULL,
    offer_id       BIGINT,
    replaces       BIGINT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    checked_in_at  BIGINT,
    checked_out_at BIGINT,
    late_minutes   BIGINT,
    distance_m     DOUBLE PRECISION,
    worked_minutes BIGINT,
    check_in       TEXT,
    check_out      TEXT
);
CREATE INDEX assignments_by_order ON assignments (order_id, status);
CREATE INDEX assignments_by_worker ON assignments (worker_id, status, guard_start);

CREATE TABLE ratings (
    assignment_id BIGINT PRIMARY KEY REFERENCES assignments(id),
    agency_id     BIGINT NOT NULL,
    worker_id     BIGINT NOT NULL,
    stars         BIGINT NOT NULL,
    comment       TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE TABLE reviews (
    id            BIGSERIAL PRIMARY KEY,
    agency_id     BIGINT NOT NULL,
    assignment_id BIGINT NOT NULL,
    worker_id     BIGINT NOT NULL,
    stars         BIGINT NOT NULL,
    status        TEXT NOT NULL,
    due_at        BIGINT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX reviews_by_agency ON reviews (agency_id, status, id);

CREATE TABLE client_relations (
    agency_id  BIGINT NOT NULL,
    client_ref TEXT NOT NULL,
    worker_id  BIGINT NOT NULL,
    favourite  BIGINT NOT NULL DEFAULT 0,
    blocked    BIGINT NOT NULL DEFAULT 0,
    completed  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (agency_id, client_ref, worker_id)
);

CREATE TABLE on_call (
    id        BIGSERIAL PRIMARY KEY,
    agency_id BIGINT NOT NULL,
    worker_id BIGINT NOT NULL REFERENCES workers(id),
    start_at  BIGINT NOT NULL,
    end_at    BIGINT NOT NULL,
    lat       DOUBLE PRECISION NOT NULL,
    lon       DOUBLE PRECISION NOT NULL,
    radius_km DOUBLE PRECISION NOT NULL
);
CREATE INDEX on_call_by_worker ON on_call (worker_id, end_at);

CREATE TABLE events (
    seq       BIGSERIAL PRIMARY KEY,
    at        BIGINT NOT NULL,
    agency_id BIGINT,
    kind      TEXT NOT NULL,
    payload   TEXT NOT NULL
);

CREATE TABLE idempotency (
    token_hash   TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    state        TEXT NOT NULL,
    status       BIGINT,
    body         TEXT,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (token_hash, key)
);

-- Invariant 1, enforced by the database: two live assignments of one worker never come closer than the rest gap
-- (each assignment's guard range is its shift widened by half the gap on both sides).
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE assignments ADD CONSTRAINT assignments_no_overlap
    EXCLUDE USING gist (worker_id WITH =, int8range(guard_start, guard_end) WITH &&)
    WHERE (status IN ('confirmed', 'checked_in', 'standby'));
