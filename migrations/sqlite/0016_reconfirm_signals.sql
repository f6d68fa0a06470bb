-- Re-confirmation: a confirmed shift assignment asked to confirm again before its shift. `reconfirm_requested_at`
-- is when the request went out (timer kind 9), `reconfirm_deadline` when it must be answered by (timer kind 10),
-- `reconfirmed_at` when the worker confirmed, `reconfirm_missed_at` when the deadline passed unanswered.
ALTER TABLE assignments ADD COLUMN reconfirm_requested_at BIGINT;
ALTER TABLE assignments ADD COLUMN reconfirm_deadline BIGINT;
ALTER TABLE assignments ADD COLUMN reconfirmed_at BIGINT;
ALTER TABLE assignments ADD COLUMN reconfirm_missed_at BIGINT;
CREATE INDEX assignments_reconfirm_due ON assignments (reconfirm_deadline)
    WHERE reconfirm_deadline IS NOT NULL AND reconfirmed_at IS NULL AND reconfirm_missed_at IS NULL;

-- The agency's re-confirmation settings as the timers query them (the whole document stays in `body`):
-- `reconfirm_lead_ms` is null while re-confirmation is off; `reconfirm_since` is when it was last turned on
-- (a request whose moment came before that is never sent).
ALTER TABLE agency_settings ADD COLUMN reconfirm_lead_ms BIGINT;
ALTER TABLE agency_settings ADD COLUMN reconfirm_since BIGINT;

-- Pre-shift signals: the last position a worker's app sent for an assignment in the hours before its shift,
-- rounded to 3 decimals (about 100 m) before it is stored. A row lives only until the assignment or its order
-- ends; no event carries the coordinates.
CREATE TABLE shift_signals (
    id            INTEGER PRIMARY KEY,
    assignment_id BIGINT NOT NULL REFERENCES assignments(id),
    order_id      BIGINT NOT NULL REFERENCES orders(id),
    kind          TEXT NOT NULL,
    lat           DOUBLE PRECISION NOT NULL,
    lon           DOUBLE PRECISION NOT NULL,
    at            BIGINT NOT NULL
);
CREATE INDEX shift_signals_by_assignment ON shift_signals (assignment_id);
CREATE INDEX shift_signals_by_order ON shift_signals (order_id);
