-- The agency's events feed reads its own events in log order.
CREATE INDEX events_by_agency ON events (agency_id, seq);
CREATE INDEX assignments_by_agency ON assignments (agency_id, id);
