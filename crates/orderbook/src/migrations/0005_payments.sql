-- Taxes, payments, refunds and the payment window.

-- A product's own tax rate in basis points (NULL: its category's, else the store default).
ALTER TABLE products ADD COLUMN tax_rate_bp INTEGER;

-- Each line's tax as sold (tillbook_protocol::tax): rate, its share of the order discount,
-- its tax; and how many of its units were refunded since.
ALTER TABLE order_lines ADD COLUMN tax_rate_bp INTEGER NOT NULL DEFAULT 0;
ALTER TABLE order_lines ADD COLUMN order_discount_q INTEGER NOT NULL DEFAULT 0;
ALTER TABLE order_lines ADD COLUMN tax_q INTEGER NOT NULL DEFAULT 0;
ALTER TABLE order_lines ADD COLUMN refunded_qty INTEGER NOT NULL DEFAULT 0;

-- NULL tax_mode: sold before taxes (untaxed). paid_q / refunded_q: sums of the approved
-- payments and of the refunds, kept in the transaction that records each. pay_by: the end
-- of the payment window (NULL: none, e.g. orders sold before payments existed).
ALTER TABLE orders ADD COLUMN tax_mode TEXT;
ALTER TABLE orders ADD COLUMN tax_q INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN paid_q INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN refunded_q INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN pay_by TEXT;
CREATE INDEX orders_pay_by ON orders(pay_by) WHERE pay_by IS NOT NULL;

-- Per-rate breakdown of an order, as sent in order.committed.
CREATE TABLE order_taxes (
    order_ref TEXT NOT NULL REFERENCES orders(order_ref),
    rate_bp   INTEGER NOT NULL,
    base_q    INTEGER NOT NULL,
    tax_q     INTEGER NOT NULL,
    gross_q   INTEGER NOT NULL,
    PRIMARY KEY (order_ref, rate_bp)
) STRICT;

-- Every payment attempt, approved or declined (events::PaymentRecorded). `via_backend`: the
-- card went through the book's payment backend (its refunds go back through it); 0 for cash,
-- other methods and cards taken on an external terminal (refunded there by the cashier).
CREATE TABLE payments (
    payment_id    TEXT PRIMARY KEY,
    order_ref     TEXT NOT NULL REFERENCES orders(order_ref),
    method        TEXT NOT NULL,
    outcome       TEXT NOT NULL CHECK (outcome IN ('approved', 'declined')),
    decline_code  TEXT,
    amount_q      INTEGER NOT NULL CHECK (amount_q > 0),
    tendered_q    INTEGER NOT NULL CHECK (tendered_q >= 0),
    change_q      INTEGER NOT NULL DEFAULT 0 CHECK (change_q >= 0),
    rounding_q    INTEGER NOT NULL DEFAULT 0,
    fee_q         INTEGER NOT NULL DEFAULT 0 CHECK (fee_q >= 0),
    refunded_q    INTEGER NOT NULL DEFAULT 0 CHECK (refunded_q >= 0),
    card_last4    TEXT,
    reference     TEXT,
    business_date TEXT NOT NULL,
    at            TEXT NOT NULL,
    actor         TEXT NOT NULL,
    shift_id      TEXT,
    via_backend   INTEGER NOT NULL DEFAULT 0,
    outbox_seq    INTEGER,
    CHECK (refunded_q <= amount_q)
) STRICT;
CREATE INDEX payments_order ON payments(order_ref, at);
CREATE INDEX payments_date ON payments(business_date, method);

-- Refunds (events::RefundRecorded): `request` is the canonical request the key was first
-- used with, so a reused key with another request is refused.
CREATE TABLE refunds (
    refund_id       TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    order_ref       TEXT NOT NULL REFERENCES orders(order_ref),
    amount_q        INTEGER NOT NULL CHECK (amount_q > 0),
    restock         INTEGER NOT NULL DEFAULT 0,
    reason          TEXT,
    request         TEXT NOT NULL,
    business_date   TEXT NOT NULL,
    at              TEXT NOT NULL,
    actor           TEXT NOT NULL,
    shift_id        TEXT,
    outbox_seq      INTEGER
) STRICT;
CREATE INDEX refunds_order ON refunds(order_ref, at);

CREATE TABLE refund_tenders (
    refund_id  TEXT NOT NULL REFERENCES refunds(refund_id),
    payment_id TEXT NOT NULL REFERENCES payments(payment_id),
    method     TEXT NOT NULL,
    amount_q   INTEGER NOT NULL CHECK (amount_q > 0),
    reference  TEXT,
    PRIMARY KEY (refund_id, payment_id)
) STRICT;

CREATE TABLE refund_lines (
    refund_id TEXT NOT NULL REFERENCES refunds(refund_id),
    line_no   INTEGER NOT NULL,
    qty       INTEGER NOT NULL CHECK (qty > 0),
    amount_q  INTEGER NOT NULL CHECK (amount_q >= 0),
    PRIMARY KEY (refund_id, line_no)
) STRICT;
