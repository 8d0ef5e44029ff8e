-- 0004, SQLite flavour: staff, cash-drawer shifts and who did what. Existing rows keep their
-- data: old orders, payments, refunds and events belong to no shift and name no staff member
-- (NULL), old lines have no category. Like 0002 and 0003, the new tables carry the store
-- where they are per store and no foreign keys (the service checks references).

-- Staff members of the chain (chain-wide reference data, like products), managed in the back
-- office and pulled by every till through the chain's change log (`staff:<id>`). The PIN is
-- kept only as its argon2id PHC hash.
CREATE TABLE staff (
    staff_id   TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('cashier', 'manager')),
    pin_hash   TEXT NOT NULL,
    active     BIGINT NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- The currency a store sells in: a shift must open in it. Taken from the store's orders when
-- it has any, else fixed by its first shift.
ALTER TABLE stores ADD COLUMN currency TEXT;
UPDATE stores SET currency = (SELECT o.currency FROM orders o WHERE o.store_id = stores.id LIMIT 1);

-- Cash-drawer shifts as the tills report them (events::ShiftOpened, events::ShiftClosed).
-- `opened_by`/`closed_by` are staff ids (NULL: not given), `opened_actor`/`closed_actor` the
-- names the till recorded. The close keeps the till's Z-report as sent (`z_report`, JSON)
-- and its counted, expected and difference; the server computes its own figures from the
-- shift's rows whenever they are asked for.
CREATE TABLE shifts (
    shift_id       TEXT PRIMARY KEY,
    store_id       BIGINT NOT NULL,
    terminal_id    TEXT NOT NULL,
    event_id       TEXT NOT NULL,
    currency       TEXT NOT NULL,
    float_q        BIGINT NOT NULL CHECK (float_q >= 0),
    business_date  TEXT NOT NULL,
    opened_at      TEXT NOT NULL,
    opened_by      TEXT,
    opened_actor   TEXT NOT NULL,
    closed_at      TEXT,
    closed_by      TEXT,
    closed_actor   TEXT,
    approved_by    TEXT,
    close_event_id TEXT,
    z_report       TEXT,
    counted_q      BIGINT,
    expected_q     BIGINT,
    difference_q   BIGINT,
    received_at    TEXT NOT NULL,
    CHECK ((closed_at IS NULL) = (z_report IS NULL))
);
-- At most one open shift per terminal; the listing reads a store's shifts by date.
CREATE UNIQUE INDEX shifts_one_open ON shifts (terminal_id) WHERE closed_at IS NULL;
CREATE INDEX shifts_store ON shifts (store_id, business_date, terminal_id, opened_at);

-- Cash in, cash out and no-sale drawer openings (events::CashMoved).
CREATE TABLE cash_movements (
    movement_id TEXT PRIMARY KEY,
    store_id    BIGINT NOT NULL,
    shift_id    TEXT NOT NULL,
    terminal_id TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('in', 'out', 'no_sale')),
    currency    TEXT NOT NULL,
    amount_q    BIGINT NOT NULL CHECK (amount_q >= 0),
    reason      TEXT NOT NULL,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    staff_id    TEXT,
    approved_by TEXT
);
CREATE INDEX cash_movements_shift ON cash_movements (shift_id, at, movement_id);

-- Who sold it (the till's actor and staff id), who approved it by PIN, in which shift.
ALTER TABLE orders ADD COLUMN shift_id TEXT;
ALTER TABLE orders ADD COLUMN staff_id TEXT;
ALTER TABLE orders ADD COLUMN approved_by TEXT;
ALTER TABLE orders ADD COLUMN actor TEXT;
-- The shift open at the till when the order was cancelled (the figures of that shift only
-- leave it out).
ALTER TABLE orders ADD COLUMN cancelled_shift_id TEXT;
-- The shift figures: a shift's orders (sums, first and last reference), one range.
CREATE INDEX orders_shift ON orders (shift_id, committed_at, order_ref);

-- The product's category when sold (the shift figures group by it).
ALTER TABLE order_lines ADD COLUMN category TEXT;

ALTER TABLE payments ADD COLUMN staff_id TEXT;
CREATE INDEX payments_shift ON payments (shift_id, method, outcome);

ALTER TABLE refunds ADD COLUMN staff_id TEXT;
ALTER TABLE refunds ADD COLUMN approved_by TEXT;
CREATE INDEX refunds_shift ON refunds (shift_id);

ALTER TABLE order_events ADD COLUMN staff_id TEXT;
ALTER TABLE order_events ADD COLUMN approved_by TEXT;
