-- Orders and workers carry a version, raised by every change to the row: the ETag of `GET` and the
-- precondition of `PATCH` with `If-Match`.
ALTER TABLE orders ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE workers ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
