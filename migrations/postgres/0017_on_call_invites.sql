-- Invitations to join the on-call pool ahead of a forecast peak: one row per worker and peak (an area, a role
-- and a window). A peak is never invited twice for the same worker. `status` is `pending`, `accepted` or
-- `declined`; a pending invitation past `expires_at` reads as `expired` (judged by the server's clock on read
-- and on accept, no timer). `on_call_id` is the on-call window an acceptance made.
CREATE TABLE on_call_invites (
    id          BIGSERIAL PRIMARY KEY,
    agency_id   BIGINT NOT NULL REFERENCES agencies(id),
    worker_id   BIGINT NOT NULL REFERENCES workers(id),
    area        TEXT NOT NULL,
    role        TEXT NOT NULL,
    start_at    BIGINT NOT NULL,
    end_at      BIGINT NOT NULL,
    lat         DOUBLE PRECISION NOT NULL,
    lon         DOUBLE PRECISION NOT NULL,
    radius_km   DOUBLE PRECISION NOT NULL,
    expected    DOUBLE PRECISION NOT NULL,
    status      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    answered_at BIGINT,
    on_call_id  BIGINT
);
CREATE UNIQUE INDEX on_call_invites_once ON on_call_invites (agency_id, worker_id, area, role, start_at, end_at);
CREATE INDEX on_call_invites_by_worker ON on_call_invites (worker_id, status, expires_at);
CREATE INDEX on_call_invites_by_window ON on_call_invites (agency_id, start_at);
