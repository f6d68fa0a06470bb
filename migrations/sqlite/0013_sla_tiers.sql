-- SLA tiers. An agency's tier configuration (names, targets, dispatch effects, the default tier, the at-risk
-- lead) is kept whole as JSON, as the last `sla_tiers_set` event carried it; without a row the defaults apply.
CREATE TABLE sla_settings (
    agency_id  BIGINT PRIMARY KEY REFERENCES agencies(id),
    body       TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- A client's tier, set by the agency (`client_tier_set`). Clients without a row have the default tier.
CREATE TABLE clients (
    agency_id  BIGINT NOT NULL REFERENCES agencies(id),
    client_ref TEXT NOT NULL,
    tier       TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (agency_id, client_ref)
);

-- An order's SLA, fixed at posting from its client's tier: the target (staffed by `target_at`), when an
-- unstaffed order is flagged at risk (`alert_at`), and what happened. `due_at` is the SLA timer's next
-- instant (the alert, then the target), NULL once the order is staffed, has missed its target or is cancelled.
CREATE TABLE order_sla (
    order_id   BIGINT PRIMARY KEY REFERENCES orders(id),
    agency_id  BIGINT NOT NULL,
    client_ref TEXT NOT NULL,
    tier       TEXT NOT NULL,
    posted_at  BIGINT NOT NULL,
    target_at  BIGINT NOT NULL,
    alert_at   BIGINT NOT NULL,
    alerted_at BIGINT,
    staffed_at BIGINT,
    missed_at  BIGINT,
    due_at     BIGINT
);
CREATE INDEX order_sla_due ON order_sla (due_at, order_id);
CREATE INDEX order_sla_agency_posted ON order_sla (agency_id, posted_at);
