-- The confirmed shift assignments not yet asked to confirm again, by agency and start: the head of the
-- re-confirmation requests (timer kind 9) is, per agency, the first of them by start (the agency's lead is the
-- same for all), read from this index instead of from every open order's assignments.
CREATE INDEX assignments_reconfirm_ask ON assignments (agency_id, start_at, id)
    WHERE status = 'confirmed' AND kind = 'shift' AND reconfirm_requested_at IS NULL;
