-- The client view: links that let an event organizer follow the orders of its own `client_ref`, read-only.
-- Only the hash of a link's token is kept.
CREATE TABLE client_links (
    id         INTEGER PRIMARY KEY,
    agency_id  BIGINT NOT NULL REFERENCES agencies(id),
    client_ref TEXT NOT NULL,
    label      TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX client_links_by_agency ON client_links (agency_id, id);
-- Photo reports from the venue: one row a photo; the image is on disk (`stored = 'disk'`, the file named by the
-- id) or in `data` (`stored = 'database'`). A photo past the retention period, or of a deleted worker, keeps
-- its row without the image (`deleted_at`).
CREATE TABLE photos (
    id            INTEGER PRIMARY KEY,
    agency_id     BIGINT NOT NULL,
    order_id      BIGINT NOT NULL REFERENCES orders(id),
    assignment_id BIGINT NOT NULL REFERENCES assignments(id),
    worker_id     BIGINT NOT NULL,
    content_type  TEXT NOT NULL,
    bytes         BIGINT NOT NULL,
    sha256        TEXT NOT NULL,
    caption       TEXT NOT NULL,
    taken_at      BIGINT NOT NULL,
    stored        TEXT NOT NULL,
    data          BLOB,
    deleted_at    BIGINT
);
CREATE INDEX photos_by_assignment ON photos (assignment_id, id);
CREATE INDEX photos_by_order ON photos (order_id, id);
CREATE INDEX photos_by_worker ON photos (worker_id);
CREATE INDEX photos_by_age ON photos (taken_at);
