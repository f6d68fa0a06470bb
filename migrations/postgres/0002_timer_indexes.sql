-- crewcall schema 2: the heads of the timer queues are index lookups, not scans.
CREATE INDEX assignments_confirmed_by_start ON assignments (start_at, id) WHERE status = 'confirmed' AND kind = 'shift';
CREATE INDEX orders_by_status_end ON orders (status, end_at);
