-- The agency's events feed reads its own events in log order; a worker's feed reads the events naming the
-- worker (`worker_id`, set from the event's `worker` field when it is appended).
CREATE INDEX events_by_agency ON events (agency_id, seq);
ALTER TABLE events ADD COLUMN worker_id BIGINT;
CREATE INDEX events_by_worker ON events (worker_id, seq);
CREATE INDEX assignments_by_agency ON assignments (agency_id, id);
