-- 0002, SQLite flavour: stores, global order identity, per-store stock and change logs.
-- Tables whose keys change are rebuilt (created anew, copied, dropped, renamed): SQLite
-- cannot alter a primary key. The new tables carry no foreign keys (the service checks
-- references; a distributed engine pays for each one).

-- Stores. The default store `main` takes every row that existed before.
CREATE TABLE stores (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    code       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL
);
INSERT INTO stores (code, name, created_at) VALUES ('main', 'Main store', strftime('%Y-%m-%dT%H:%M:%f000Z', 'now'));

-- Products stay chain-wide; the server's own judgement of one-of-a-kind items.
ALTER TABLE products ADD COLUMN is_unique BIGINT NOT NULL DEFAULT 0;
UPDATE products SET is_unique = 1 WHERE body LIKE '%"unique":true%';

-- Terminals belong to a store and carry a code unique within it.
CREATE TABLE terminals_new (
    id               TEXT PRIMARY KEY,
    store_id         BIGINT NOT NULL,
    terminal_code    TEXT NOT NULL,
    name             TEXT NOT NULL,
    code_hash        TEXT NOT NULL UNIQUE,
    token_hash       TEXT UNIQUE,
    created_at       TEXT NOT NULL,
    enrolled_at      TEXT,
    revoked_at       TEXT,
    last_applied_seq BIGINT NOT NULL DEFAULT 0,
    last_seen_at     TEXT,
    rejected_count   BIGINT NOT NULL DEFAULT 0,
    UNIQUE (store_id, terminal_code)
);
INSERT INTO terminals_new (id, store_id, terminal_code, name, code_hash, token_hash, created_at,
                           enrolled_at, revoked_at, last_applied_seq, last_seen_at, rejected_count)
SELECT t.id, (SELECT id FROM stores WHERE code = 'main'),
       'T' || CASE WHEN t.n < 10 THEN '0' ELSE '' END || CAST(t.n AS TEXT),
       t.name, t.code_hash, t.token_hash, t.created_at, t.enrolled_at, t.revoked_at,
       t.last_applied_seq, t.last_seen_at, t.rejected_count
FROM (SELECT terminals.*, row_number() OVER (ORDER BY created_at, id) AS n FROM terminals) t;

-- The inbox keeps a payload's hash (duplicates are checked against it) and the payload itself
-- only for rejected events (staff read it): an applied event lives on in the rows it wrote.
CREATE TABLE inbox_new (
    store_id     BIGINT NOT NULL,
    terminal_id  TEXT NOT NULL,
    seq          BIGINT NOT NULL,
    event_id     TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL,
    payload      TEXT,
    payload_hash TEXT NOT NULL,
    outcome      TEXT NOT NULL CHECK (outcome IN ('applied', 'rejected')),
    reason       TEXT,
    received_at  TEXT NOT NULL,
    PRIMARY KEY (terminal_id, seq),
    CHECK (outcome = 'applied' OR payload IS NOT NULL)
);
INSERT INTO inbox_new (store_id, terminal_id, seq, event_id, kind, payload, payload_hash, outcome,
                       reason, received_at)
SELECT (SELECT id FROM stores WHERE code = 'main'), terminal_id, seq, event_id, kind,
       CASE WHEN outcome = 'rejected' THEN payload END, payload_hash, outcome, reason,
       received_at
FROM inbox;

-- Orders are known by their global order_id (existing ones: their committing event's id) and
-- carry a per-store feed position (existing ones: their old id, in the order received).
-- `(order_ref, terminal_id)` is unique, reference first: a look-up by reference alone uses
-- it too. An order's `order.committed` event is not stored in `order_events`: the order row
-- holds what it says (event_id, committed_at, terminal_id, and `initial_status`, the status
-- it was committed in) and the back office synthesizes it.
CREATE TABLE orders_new (
    order_id      TEXT PRIMARY KEY,
    store_id      BIGINT NOT NULL,
    feed          BIGINT NOT NULL,
    order_ref     TEXT NOT NULL,
    terminal_id   TEXT NOT NULL,
    event_id      TEXT NOT NULL,
    channel       TEXT NOT NULL,
    status        TEXT NOT NULL,
    currency      TEXT NOT NULL,
    subtotal_q    BIGINT NOT NULL,
    discount_q    BIGINT NOT NULL,
    total_q       BIGINT NOT NULL,
    business_date TEXT NOT NULL,
    committed_at  TEXT NOT NULL,
    handle        TEXT,
    received_at   TEXT NOT NULL,
    initial_status TEXT NOT NULL,
    UNIQUE (order_ref, terminal_id),
    UNIQUE (store_id, feed)
);
INSERT INTO orders_new (order_id, store_id, feed, order_ref, terminal_id, event_id, channel, status,
                        currency, subtotal_q, discount_q, total_q, business_date, committed_at,
                        handle, received_at, initial_status)
SELECT o.event_id, (SELECT id FROM stores WHERE code = 'main'), o.id, o.order_ref, o.terminal_id,
       o.event_id, o.channel, o.status, o.currency, o.subtotal_q, o.discount_q, o.total_q,
       o.business_date, o.committed_at, o.handle, o.received_at,
       COALESCE((SELECT e.to_status FROM order_events e
                 WHERE e.order_ref = o.order_ref AND e.kind = 'order.committed'
                 ORDER BY e.id LIMIT 1), o.status)
FROM orders o;

CREATE TABLE order_lines_new (
    store_id     BIGINT NOT NULL,
    order_id     TEXT NOT NULL,
    line_no      BIGINT NOT NULL,
    sku          TEXT NOT NULL,
    name         TEXT NOT NULL,
    unit_price_q BIGINT NOT NULL,
    qty          BIGINT NOT NULL,
    discount_q   BIGINT NOT NULL,
    total_q      BIGINT NOT NULL,
    is_unique    BIGINT NOT NULL,
    status       TEXT,
    PRIMARY KEY (order_id, line_no)
);
INSERT INTO order_lines_new (store_id, order_id, line_no, sku, name, unit_price_q, qty, discount_q,
                             total_q, is_unique, status)
SELECT (SELECT id FROM stores WHERE code = 'main'), o.event_id, l.line_no, l.sku, l.name,
       l.unit_price_q, l.qty, l.discount_q, l.total_q,
       CASE WHEN EXISTS (SELECT 1 FROM products p WHERE p.sku = l.sku AND p.is_unique = 1)
            THEN 1 ELSE 0 END,
       l.status
FROM order_lines l JOIN orders o ON o.order_ref = l.order_ref;

CREATE TABLE order_events_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    store_id    BIGINT NOT NULL,
    order_id    TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    kind        TEXT NOT NULL,
    line_no     BIGINT,
    from_status TEXT,
    to_status   TEXT,
    actor       TEXT NOT NULL,
    at          TEXT NOT NULL,
    reason      TEXT
);
INSERT INTO order_events_new (id, store_id, order_id, event_id, kind, line_no, from_status,
                              to_status, actor, at, reason)
SELECT e.id, (SELECT id FROM stores WHERE code = 'main'), o.event_id, e.event_id, e.kind,
       e.line_no, e.from_status, e.to_status, e.actor, e.at, e.reason
FROM order_events e JOIN orders o ON o.order_ref = e.order_ref
WHERE e.kind <> 'order.committed';

-- The stock ledger per store. `order_at` is a movement's ordering time (the earlier of the
-- till's `at` and the server's receipt); `counted` is set on counts (a baseline). Counts
-- recorded before this migration were differences: they keep `counted` NULL and count as
-- deltas. One btree: the key `(store_id, sku, location, delta_id)` refuses a delta id
-- recorded twice for the same (store, sku, location) (a delta id is unique per key), and its
-- prefix serves the count rule's sum of one key's deltas after a new count (counts are rare).
CREATE TABLE stock_ledger_new (
    store_id    BIGINT NOT NULL,
    delta_id    TEXT NOT NULL,
    sku         TEXT NOT NULL,
    location    TEXT NOT NULL,
    delta       BIGINT NOT NULL,
    reason      TEXT NOT NULL,
    source      TEXT NOT NULL,
    at          TEXT NOT NULL,
    order_at    TEXT NOT NULL,
    counted     BIGINT,
    terminal_id TEXT,
    event_id    TEXT,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (store_id, sku, location, delta_id)
);
INSERT INTO stock_ledger_new (store_id, delta_id, sku, location, delta, reason, source, at,
                              order_at, counted, terminal_id, event_id, recorded_at)
SELECT (SELECT id FROM stores WHERE code = 'main'), delta_id, sku, location, delta, reason, source,
       at, CASE WHEN at < recorded_at THEN at ELSE recorded_at END, NULL, terminal_id, event_id,
       recorded_at
FROM stock_ledger;

CREATE TABLE stock_levels_new (
    store_id BIGINT NOT NULL,
    sku      TEXT NOT NULL,
    location TEXT NOT NULL,
    on_hand  BIGINT NOT NULL,
    count_at TEXT,
    count_id TEXT,
    PRIMARY KEY (store_id, sku, location)
);
INSERT INTO stock_levels_new (store_id, sku, location, on_hand, count_at, count_id)
SELECT (SELECT id FROM stores WHERE code = 'main'), sku, location, on_hand, NULL, NULL
FROM stock_levels;

-- Change logs per scope: `chain` (products, channels) and `store:<id>` (stock levels, unique
-- items), each with its own head row (version, compaction floor, and for a store the feed
-- counter of its orders).
CREATE TABLE changes_new (
    scope      TEXT NOT NULL,
    change_key TEXT NOT NULL,
    version    BIGINT NOT NULL,
    body       TEXT NOT NULL,
    PRIMARY KEY (scope, change_key),
    UNIQUE (scope, version)
);
INSERT INTO changes_new (scope, change_key, version, body)
SELECT CASE WHEN change_key LIKE 'stock:%'
            THEN 'store:' || CAST((SELECT id FROM stores WHERE code = 'main') AS TEXT)
            ELSE 'chain' END,
       change_key, version, body
FROM changes;

-- One-of-a-kind items held by open baskets, as each till reports them (`unique.hold`): a
-- row per store, SKU, terminal and basket; `until` is when the hold runs out (stored text,
-- sorts as time). A release or the terminal's sale of the SKU deletes the rows.
CREATE TABLE unique_holds (
    store_id    BIGINT NOT NULL,
    sku         TEXT NOT NULL,
    terminal_id TEXT NOT NULL,
    session_key TEXT NOT NULL,
    until       TEXT NOT NULL,
    PRIMARY KEY (store_id, sku, terminal_id, session_key)
);

CREATE TABLE log_heads (
    scope   TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    floor   BIGINT NOT NULL,
    feed    BIGINT NOT NULL DEFAULT 0
);
INSERT INTO log_heads (scope, version, floor, feed)
SELECT 'chain', version, floor, 0 FROM changelog_head WHERE id = 1;
INSERT INTO log_heads (scope, version, floor, feed)
SELECT 'store:' || CAST((SELECT id FROM stores WHERE code = 'main') AS TEXT), version, floor,
       (SELECT COALESCE(MAX(id), 0) FROM orders)
FROM changelog_head WHERE id = 1;

-- Children first, then their parents.
DROP TABLE order_events;
DROP TABLE order_lines;
DROP TABLE orders;
DROP TABLE inbox;
DROP TABLE terminals;
DROP TABLE stock_ledger;
DROP TABLE stock_levels;
DROP TABLE changes;
DROP TABLE changelog_head;

ALTER TABLE terminals_new RENAME TO terminals;
ALTER TABLE inbox_new RENAME TO inbox;
ALTER TABLE orders_new RENAME TO orders;
ALTER TABLE order_lines_new RENAME TO order_lines;
ALTER TABLE order_events_new RENAME TO order_events;
ALTER TABLE stock_ledger_new RENAME TO stock_ledger;
ALTER TABLE stock_levels_new RENAME TO stock_levels;
ALTER TABLE changes_new RENAME TO changes;

CREATE INDEX inbox_rejected ON inbox (store_id, received_at) WHERE outcome = 'rejected';
CREATE INDEX order_lines_unique_sku ON order_lines (sku, store_id) WHERE is_unique = 1;
CREATE INDEX order_events_order ON order_events (order_id, id);
CREATE INDEX terminals_store ON terminals (store_id);
