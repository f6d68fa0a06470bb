-- Side effects that must follow: the distance a check-out was recorded at, the strike a worker's own
-- cancellation counts for (by its notice), how the agency resolved a review, and whom an urgent offer replaces.
ALTER TABLE assignments ADD COLUMN check_out_distance_m DOUBLE PRECISION;
ALTER TABLE assignments ADD COLUMN strike_weight DOUBLE PRECISION;
ALTER TABLE reviews ADD COLUMN outcome TEXT;
ALTER TABLE reviews ADD COLUMN note TEXT;
ALTER TABLE reviews ADD COLUMN resolved_at BIGINT;
-- When an unresolved review passed its due time (the `review_overdue` timer fires once), and the timer's index.
ALTER TABLE reviews ADD COLUMN overdue_at BIGINT;
CREATE INDEX reviews_due ON reviews (due_at) WHERE status = 'open' AND overdue_at IS NULL;
-- The assignment an urgent replacement offer replaces (carried on to the assignment it creates).
ALTER TABLE offers ADD COLUMN replaces BIGINT;
