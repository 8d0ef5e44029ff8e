-- The order book, version 1.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT;

CREATE TABLE products (
    sku            TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    price_q        INTEGER NOT NULL CHECK (price_q >= 0),
    currency       TEXT NOT NULL,
    category       TEXT,
    active         INTEGER NOT NULL DEFAULT 1,
    parent_sku     TEXT,
    variant        TEXT,
    is_unique      INTEGER NOT NULL DEFAULT 0,
    sold_by        TEXT,
    oversell       TEXT NOT NULL DEFAULT 'allow' CHECK (oversell IN ('allow', 'warn', 'block')),
    updated_at     TEXT NOT NULL
) STRICT;
CREATE INDEX products_name ON products(name);

CREATE TABLE barcodes (
    code TEXT PRIMARY KEY,
    sku  TEXT NOT NULL REFERENCES products(sku) ON DELETE CASCADE
) STRICT;
CREATE INDEX barcodes_sku ON barcodes(sku);

CREATE TABLE channels (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    flow        TEXT NOT NULL,
    pricing     TEXT NOT NULL CHECK (pricing IN ('internal', 'external', 'mixed')),
    edit_policy TEXT NOT NULL CHECK (edit_policy IN ('free', 'append_only'))
) STRICT;

CREATE TABLE sessions (
    session_key      TEXT PRIMARY KEY,
    channel          TEXT NOT NULL REFERENCES channels(code),
    handle           TEXT,
    state            TEXT NOT NULL CHECK (state IN ('open', 'committed', 'abandoned')),
    note             TEXT,
    discount_q       INTEGER NOT NULL DEFAULT 0 CHECK (discount_q >= 0),
    revision         INTEGER NOT NULL DEFAULT 0,
    checked_revision INTEGER,
    next_line        INTEGER NOT NULL DEFAULT 1,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    order_ref        TEXT
) STRICT;
CREATE UNIQUE INDEX sessions_open_handle ON sessions(handle)
    WHERE state = 'open' AND handle IS NOT NULL;
CREATE INDEX sessions_state ON sessions(state);

CREATE TABLE session_lines (
    session_key  TEXT NOT NULL REFERENCES sessions(session_key),
    line_id      TEXT NOT NULL,
    position     INTEGER NOT NULL,
    sku          TEXT NOT NULL,
    name         TEXT NOT NULL,
    unit_price_q INTEGER NOT NULL CHECK (unit_price_q >= 0),
    price_source TEXT NOT NULL CHECK (price_source IN ('catalog', 'caller')),
    qty          INTEGER NOT NULL CHECK (qty > 0),
    discount_q   INTEGER NOT NULL DEFAULT 0 CHECK (discount_q >= 0),
    flags        TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (session_key, line_id)
) STRICT;
CREATE INDEX session_lines_session ON session_lines(session_key, position);

CREATE TABLE stock_holds (
    session_key TEXT NOT NULL,
    line_id     TEXT NOT NULL,
    sku         TEXT NOT NULL,
    location    TEXT NOT NULL,
    qty         INTEGER NOT NULL CHECK (qty > 0),
    expires_at  TEXT NOT NULL,
    PRIMARY KEY (session_key, line_id),
    FOREIGN KEY (session_key, line_id) REFERENCES session_lines(session_key, line_id) ON DELETE CASCADE
) STRICT;
CREATE INDEX stock_holds_sku ON stock_holds(sku, location, expires_at);

CREATE TABLE stock_ledger (
    id         INTEGER PRIMARY KEY,
    delta_id   TEXT NOT NULL UNIQUE,
    sku        TEXT NOT NULL,
    location   TEXT NOT NULL,
    delta      INTEGER NOT NULL,
    reason     TEXT NOT NULL,
    source     TEXT NOT NULL,
    at         TEXT NOT NULL,
    outbox_seq INTEGER
) STRICT;
CREATE INDEX stock_ledger_sku ON stock_ledger(sku, location);

CREATE TABLE orders (
    order_ref       TEXT PRIMARY KEY,
    ref_seq         INTEGER NOT NULL UNIQUE,
    session_key     TEXT NOT NULL UNIQUE,
    idempotency_key TEXT NOT NULL UNIQUE,
    channel         TEXT NOT NULL,
    status          TEXT NOT NULL,
    currency        TEXT NOT NULL,
    subtotal_q      INTEGER NOT NULL,
    discount_q      INTEGER NOT NULL,
    total_q         INTEGER NOT NULL,
    item_count      INTEGER NOT NULL,
    handle          TEXT,
    note            TEXT,
    business_date   TEXT NOT NULL,
    committed_at    TEXT NOT NULL
) STRICT;
CREATE INDEX orders_status ON orders(status);

CREATE TABLE order_lines (
    order_ref      TEXT NOT NULL REFERENCES orders(order_ref),
    line_no        INTEGER NOT NULL,
    sku            TEXT NOT NULL,
    name           TEXT NOT NULL,
    unit_price_q   INTEGER NOT NULL,
    qty            INTEGER NOT NULL,
    discount_q     INTEGER NOT NULL,
    total_q        INTEGER NOT NULL,
    is_unique      INTEGER NOT NULL,
    product_active INTEGER NOT NULL,
    item_status    TEXT,
    PRIMARY KEY (order_ref, line_no)
) STRICT;

CREATE TABLE order_events (
    id          INTEGER PRIMARY KEY,
    order_ref   TEXT NOT NULL REFERENCES orders(order_ref),
    kind        TEXT NOT NULL,
    line_no     INTEGER,
    from_status TEXT,
    to_status   TEXT NOT NULL,
    actor       TEXT NOT NULL,
    reason      TEXT,
    at          TEXT NOT NULL,
    outbox_seq  INTEGER
) STRICT;
CREATE INDEX order_events_order ON order_events(order_ref, id);

CREATE TABLE outbox (
    seq          INTEGER PRIMARY KEY,
    event_id     TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    payload_hash TEXT NOT NULL,
    order_ref    TEXT,
    created_at   TEXT NOT NULL,
    state        TEXT NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'sent', 'applied', 'rejected')),
    reason       TEXT,
    acked_at     TEXT
) STRICT;
CREATE INDEX outbox_order ON outbox(order_ref);
CREATE INDEX outbox_state ON outbox(state, seq);
