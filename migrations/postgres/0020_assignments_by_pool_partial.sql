-- Only a pool's floaters carry `pool_id`; every other assignment (nearly all of them) held an entry keyed by
-- NULL that no query reads: every lookup is `pool_id = …` or `pool_id IS NOT NULL`, which the partial index
-- serves. Each booking now writes one index entry fewer.
DROP INDEX assignments_by_pool;
CREATE INDEX assignments_by_pool ON assignments (pool_id, status) WHERE pool_id IS NOT NULL;
