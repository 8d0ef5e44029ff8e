-- Staff, permissions, cash-drawer shifts, and who did what.

-- Staff members: pulled from the back office (`origin = 'server'`) or created at this till
-- (`'local'`: the default cashier, the demo manager, staff added before enrolment). A PIN is
-- only ever kept as its argon2id PHC hash; NULL: no PIN (the default cashier cannot sign in,
-- it acts whenever nobody is signed in).
CREATE TABLE staff (
    staff_id   TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('cashier', 'manager')),
    pin_hash   TEXT,
    active     INTEGER NOT NULL DEFAULT 1,
    origin     TEXT NOT NULL CHECK (origin IN ('local', 'server')),
    updated_at TEXT NOT NULL
) STRICT;

-- Wrong PINs at this till (sign-in and approvals alike): consecutive failures, and until when
-- PINs are refused after too many (book clock, fmt_time). One row; a success resets it.
CREATE TABLE pin_attempts (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    failures     INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT
) STRICT;
INSERT INTO pin_attempts(id) VALUES (1);

-- Cash-drawer shifts. At most one is open. `figures` is the Z-report (ShiftFigures JSON)
-- written when the shift closes; opened_by / closed_by are staff names as recorded.
CREATE TABLE shifts (
    shift_id        TEXT PRIMARY KEY,
    status          TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    currency        TEXT NOT NULL,
    float_q         INTEGER NOT NULL CHECK (float_q >= 0),
    business_date   TEXT NOT NULL,
    opened_at       TEXT NOT NULL,
    opened_by       TEXT NOT NULL,
    opened_staff_id TEXT,
    closed_at       TEXT,
    closed_by       TEXT,
    closed_staff_id TEXT,
    approved_by     TEXT,
    counted_q       INTEGER,
    expected_q      INTEGER,
    difference_q    INTEGER,
    figures         TEXT
) STRICT;
CREATE UNIQUE INDEX shifts_one_open ON shifts(status) WHERE status = 'open';
CREATE INDEX shifts_opened ON shifts(opened_at);

-- Cash in, cash out and no-sale drawer openings of a shift (events::CashMoved).
CREATE TABLE cash_movements (
    movement_id TEXT PRIMARY KEY,
    shift_id    TEXT NOT NULL REFERENCES shifts(shift_id),
    kind        TEXT NOT NULL CHECK (kind IN ('in', 'out', 'no_sale')),
    amount_q    INTEGER NOT NULL CHECK (amount_q >= 0),
    reason      TEXT NOT NULL,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    staff_id    TEXT,
    approved_by TEXT,
    outbox_seq  INTEGER
) STRICT;
CREATE INDEX cash_movements_shift ON cash_movements(shift_id, at, movement_id);

-- Who sold it, in which shift; who approved it by PIN (large discount).
ALTER TABLE orders ADD COLUMN shift_id TEXT;
ALTER TABLE orders ADD COLUMN staff_id TEXT;
ALTER TABLE orders ADD COLUMN actor TEXT;
ALTER TABLE orders ADD COLUMN approved_by TEXT;
-- The shift open when it was cancelled: a cancellation counts in that shift's figures only.
ALTER TABLE orders ADD COLUMN cancelled_shift_id TEXT;
-- The shift figures: one range of this covering index per shift (orders, first/last
-- reference, and the orders whose lines and taxes are summed).
CREATE INDEX orders_shift ON orders(shift_id, committed_at, order_ref, status, cancelled_shift_id, total_q, discount_q, tax_q, tax_mode)
    WHERE shift_id IS NOT NULL;

-- The product's category when sold (shift reports group by it).
ALTER TABLE order_lines ADD COLUMN category TEXT;

ALTER TABLE payments ADD COLUMN staff_id TEXT;
CREATE INDEX payments_shift ON payments(shift_id, method, outcome, amount_q, rounding_q, fee_q)
    WHERE shift_id IS NOT NULL;

ALTER TABLE refunds ADD COLUMN staff_id TEXT;
ALTER TABLE refunds ADD COLUMN approved_by TEXT;
CREATE INDEX refunds_shift ON refunds(shift_id, refund_id, amount_q) WHERE shift_id IS NOT NULL;

ALTER TABLE order_events ADD COLUMN staff_id TEXT;
ALTER TABLE order_events ADD COLUMN approved_by TEXT;

-- A large order discount approved while the basket was built: by whom, and the revision the
-- session had right after (a later change needs the approval again at commit).
ALTER TABLE sessions ADD COLUMN discount_approved_by TEXT;
ALTER TABLE sessions ADD COLUMN discount_approved_rev INTEGER;
