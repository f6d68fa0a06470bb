-- Series: one order repeated on several days. Each shift is an order of its own (`orders.series_id`); the
-- series keeps the body it was posted with (the repeat rule included) and the zone its local times live in
-- (an IANA name, or the first start's fixed offset such as `+01:00`).
CREATE TABLE series (
    id         BIGSERIAL PRIMARY KEY,
    agency_id  BIGINT NOT NULL REFERENCES agencies(id),
    body       TEXT NOT NULL,
    zone       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX series_by_agency ON series (agency_id, id);

ALTER TABLE orders ADD COLUMN series_id BIGINT REFERENCES series(id);
CREATE INDEX orders_by_series ON orders (series_id, start_at);
