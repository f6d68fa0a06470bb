-- Side effects that must follow: the distance a check-out was recorded at, the strike a worker's own
-- cancellation counts for (by its notice), and how the agency resolved a review.
ALTER TABLE assignments ADD COLUMN check_out_distance_m DOUBLE PRECISION;
ALTER TABLE assignments ADD COLUMN strike_weight DOUBLE PRECISION;
ALTER TABLE reviews ADD COLUMN outcome TEXT;
ALTER TABLE reviews ADD COLUMN note TEXT;
ALTER TABLE reviews ADD COLUMN resolved_at BIGINT;
