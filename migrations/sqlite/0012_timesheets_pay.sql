-- Time and money. An agency's pay settings (timezone, currency, week, dispute window, overtime, night premium,
-- late-cancellation terms) as the JSON document the API shows; absent: the defaults.
CREATE TABLE agency_settings (
    agency_id  BIGINT PRIMARY KEY REFERENCES agencies(id),
    body       TEXT NOT NULL,
    version    BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- One timesheet per completed shift assignment. Rates are frozen at submission in the agency's minor units
-- (NULL: the role carries none). `original` holds the recorded times and minutes as first submitted, once
-- corrected; `corrections` the JSON list of corrections with their reasons. `settlement_week` is the pay run
-- (`2026-W48`) that settled it, set when that week closes.
CREATE TABLE timesheets (
    id              INTEGER PRIMARY KEY,
    agency_id       BIGINT NOT NULL REFERENCES agencies(id),
    assignment_id   BIGINT NOT NULL UNIQUE REFERENCES assignments(id),
    order_id        BIGINT NOT NULL,
    worker_id       BIGINT NOT NULL,
    client_ref      TEXT NOT NULL,
    role_name       TEXT NOT NULL,
    start_at        BIGINT NOT NULL,
    end_at          BIGINT NOT NULL,
    checked_in_at   BIGINT,
    checked_out_at  BIGINT,
    break_minutes   BIGINT NOT NULL,
    worked_minutes  BIGINT NOT NULL,
    rate_minor      BIGINT,
    bill_rate_minor BIGINT,
    status          TEXT NOT NULL,
    dispute_until   BIGINT NOT NULL,
    disputed_at     BIGINT,
    dispute_reason  TEXT,
    approved_at     BIGINT,
    approved_by     TEXT,
    resolution      TEXT,
    original        TEXT,
    corrections     TEXT NOT NULL,
    settlement_week TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX timesheets_by_agency ON timesheets (agency_id, start_at, id);
CREATE INDEX timesheets_by_worker ON timesheets (worker_id, start_at);
CREATE INDEX timesheets_due ON timesheets (status, dispute_until);

-- A confirmed shift cancelled by the client or the agency with less than the agreed notice: what the worker is
-- owed and what the client is charged, in minor units, fixed at the cancellation.
CREATE TABLE late_cancellations (
    id                 INTEGER PRIMARY KEY,
    agency_id          BIGINT NOT NULL REFERENCES agencies(id),
    assignment_id      BIGINT NOT NULL UNIQUE REFERENCES assignments(id),
    order_id           BIGINT NOT NULL,
    worker_id          BIGINT NOT NULL,
    client_ref         TEXT NOT NULL,
    role_name          TEXT NOT NULL,
    start_at           BIGINT NOT NULL,
    end_at             BIGINT NOT NULL,
    cancelled_at       BIGINT NOT NULL,
    reason             TEXT NOT NULL,
    planned_minutes    BIGINT NOT NULL,
    compensation_minor BIGINT NOT NULL,
    fee_minor          BIGINT NOT NULL,
    settlement_week    TEXT
);
CREATE INDEX late_cancellations_by_agency ON late_cancellations (agency_id, start_at);

-- A week's pay run once closed: frozen (`snapshot`: the run as answered at closing) with its payout date.
CREATE TABLE settlements (
    agency_id   BIGINT NOT NULL REFERENCES agencies(id),
    week        TEXT NOT NULL,
    status      TEXT NOT NULL,
    payout_date TEXT NOT NULL,
    snapshot    TEXT NOT NULL,
    closed_at   BIGINT NOT NULL,
    paid_at     BIGINT,
    PRIMARY KEY (agency_id, week)
);
