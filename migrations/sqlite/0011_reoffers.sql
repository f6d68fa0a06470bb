-- Asking again: an expired shift offer whose worker may be asked once more, after the configured pause, once the
-- order has run out of candidates. `reask` is 1 once the pause has passed for it on an order at risk (the worker
-- is then a candidate again, unless they were offered the order more than once).
ALTER TABLE offers ADD COLUMN reask BIGINT NOT NULL DEFAULT 0;
