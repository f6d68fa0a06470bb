-- A worker's live assignments that meet a shift's guard range (the overlap check of every booking) are read from
-- the index alone: `guard_end` joins the key, so the check no longer reads each earlier assignment's row. A worker
-- booked on many days had every booking before the new shift's end read from the table.
DROP INDEX assignments_by_worker;
CREATE INDEX assignments_by_worker ON assignments (worker_id, status, guard_start, guard_end);
