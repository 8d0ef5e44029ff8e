-- 0003, PostgreSQL flavour (plain SQL): taxes, payments and refunds. Existing rows keep
-- their data: the new columns default to untaxed (tax_mode NULL), unpaid and unrefunded.
-- Like 0002, the new tables carry the store and no foreign keys (the service checks references).

-- An order's tax mode (NULL: sold before taxes) and tax; the sums of its approved payments
-- and of its refunds, kept in the transaction that records each.
ALTER TABLE orders ADD COLUMN tax_mode TEXT;
ALTER TABLE orders ADD COLUMN tax_q BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN paid_q BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN refunded_q BIGINT NOT NULL DEFAULT 0;

-- Each line's tax as sold (tillbook_protocol::tax): its rate, its share of the order
-- discount, its tax; and how many of its units were refunded since.
ALTER TABLE order_lines ADD COLUMN tax_rate_bp BIGINT NOT NULL DEFAULT 0;
ALTER TABLE order_lines ADD COLUMN order_discount_q BIGINT NOT NULL DEFAULT 0;
ALTER TABLE order_lines ADD COLUMN tax_q BIGINT NOT NULL DEFAULT 0;
ALTER TABLE order_lines ADD COLUMN refunded_qty BIGINT NOT NULL DEFAULT 0;
-- Copied from the order when it is committed, for the daily report: the order's business
-- date, and the line's gross (what the customer pays for it: total − its share of the order
-- discount, + its tax when prices exclude tax; what a refund of every unit gives back).
ALTER TABLE order_lines ADD COLUMN business_date TEXT NOT NULL DEFAULT '';
ALTER TABLE order_lines ADD COLUMN gross_q BIGINT NOT NULL DEFAULT 0;
-- 1 once the line's order is cancelled (set by the cancelling move): the report's taxes leave
-- out cancelled orders by reading one index range, without a join.
ALTER TABLE order_lines ADD COLUMN order_cancelled BIGINT NOT NULL DEFAULT 0;
UPDATE order_lines SET gross_q = total_q,
    business_date = COALESCE((SELECT o.business_date FROM orders o
                              WHERE o.order_id = order_lines.order_id), ''),
    order_cancelled = COALESCE((SELECT 1 FROM orders o
                                WHERE o.order_id = order_lines.order_id AND o.status = 'cancelled'), 0);

-- Every payment attempt, approved or declined (events::PaymentRecorded). `terminal_id` and
-- `event_id`: the terminal that pushed it and its event.
CREATE TABLE payments (
    payment_id    TEXT PRIMARY KEY,
    store_id      BIGINT NOT NULL,
    order_id      TEXT NOT NULL,
    terminal_id   TEXT NOT NULL,
    event_id      TEXT NOT NULL,
    method        TEXT NOT NULL,
    outcome       TEXT NOT NULL CHECK (outcome IN ('approved', 'declined')),
    decline_code  TEXT,
    currency      TEXT NOT NULL,
    amount_q      BIGINT NOT NULL CHECK (amount_q > 0),
    tendered_q    BIGINT NOT NULL,
    change_q      BIGINT NOT NULL DEFAULT 0 CHECK (change_q >= 0),
    rounding_q    BIGINT NOT NULL DEFAULT 0,
    fee_q         BIGINT NOT NULL DEFAULT 0 CHECK (fee_q >= 0),
    refunded_q    BIGINT NOT NULL DEFAULT 0 CHECK (refunded_q >= 0),
    card_last4    TEXT,
    reference     TEXT,
    business_date TEXT NOT NULL,
    at            TEXT NOT NULL,
    actor         TEXT NOT NULL,
    shift_id      TEXT,
    CHECK (refunded_q <= amount_q)
);
CREATE INDEX payments_order ON payments (order_id, at);
-- The daily report's tenders, fees, declines and per-terminal tenders: one range of this
-- index, never the table.
CREATE INDEX payments_day ON payments (store_id, business_date, outcome, method, terminal_id,
                                       amount_q, change_q, rounding_q, fee_q);

-- Refunds (events::RefundRecorded). The idempotency key is unique per order: the same key
-- gives the same refund.
CREATE TABLE refunds (
    refund_id       TEXT PRIMARY KEY,
    store_id        BIGINT NOT NULL,
    order_id        TEXT NOT NULL,
    terminal_id     TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    currency        TEXT NOT NULL,
    amount_q        BIGINT NOT NULL CHECK (amount_q > 0),
    restock         BIGINT NOT NULL DEFAULT 0,
    reason          TEXT,
    business_date   TEXT NOT NULL,
    at              TEXT NOT NULL,
    actor           TEXT NOT NULL,
    shift_id        TEXT,
    UNIQUE (store_id, order_id, idempotency_key)
);
CREATE INDEX refunds_order ON refunds (order_id, at);
CREATE INDEX refunds_day ON refunds (store_id, business_date, terminal_id, amount_q);

CREATE TABLE refund_tenders (
    store_id   BIGINT NOT NULL,
    refund_id  TEXT NOT NULL,
    payment_id TEXT NOT NULL,
    method     TEXT NOT NULL,
    amount_q   BIGINT NOT NULL CHECK (amount_q > 0),
    reference  TEXT,
    PRIMARY KEY (refund_id, payment_id)
);

CREATE TABLE refund_lines (
    store_id  BIGINT NOT NULL,
    refund_id TEXT NOT NULL,
    line_no   BIGINT NOT NULL,
    qty       BIGINT NOT NULL CHECK (qty > 0),
    amount_q  BIGINT NOT NULL CHECK (amount_q >= 0),
    PRIMARY KEY (refund_id, line_no)
);

-- The daily report's sales, per-terminal figures and cancellations: a store's orders of one
-- business date, one range of this index.
-- `line_discount_q`: the sum of the order's line discounts (so the report's discounts need
-- no line).
ALTER TABLE orders ADD COLUMN line_discount_q BIGINT NOT NULL DEFAULT 0;
UPDATE orders SET line_discount_q = COALESCE((SELECT SUM(l.discount_q) FROM order_lines l
                                              WHERE l.order_id = orders.order_id), 0);
CREATE INDEX orders_day ON orders (store_id, business_date, status, terminal_id, total_q,
                                   tax_q, discount_q, line_discount_q);
-- The daily report's taxes: a store's lines of one business date by rate, one range.
CREATE INDEX order_lines_day ON order_lines (store_id, business_date, order_cancelled, tax_rate_bp,
                                             gross_q, tax_q);
