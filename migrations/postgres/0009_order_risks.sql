-- Orders at risk: candidates ran out before the order was full. One row an order while it is at risk; the
-- row goes when the order is covered again.
CREATE TABLE order_risks (
    order_id   BIGINT PRIMARY KEY REFERENCES orders(id),
    since      BIGINT NOT NULL,
    reason     TEXT NOT NULL,
    open_slots BIGINT NOT NULL
);
