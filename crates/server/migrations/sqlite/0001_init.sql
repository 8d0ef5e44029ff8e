-- Tillbook server schema, SQLite flavour. Booleans are 0/1, times are RFC 3339 UTC text.

CREATE TABLE terminals (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    code_hash        TEXT NOT NULL UNIQUE,
    token_hash       TEXT UNIQUE,
    created_at       TEXT NOT NULL,
    enrolled_at      TEXT,
    revoked_at       TEXT,
    last_applied_seq BIGINT NOT NULL DEFAULT 0,
    last_seen_at     TEXT,
    rejected_count   BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE inbox (
    terminal_id  TEXT NOT NULL REFERENCES terminals (id),
    seq          BIGINT NOT NULL,
    event_id     TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    payload_hash TEXT NOT NULL,
    outcome      TEXT NOT NULL CHECK (outcome IN ('applied', 'rejected')),
    reason       TEXT,
    received_at  TEXT NOT NULL,
    PRIMARY KEY (terminal_id, seq)
);
CREATE INDEX inbox_rejected ON inbox (received_at) WHERE outcome = 'rejected';

CREATE TABLE products (
    sku        TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    price_q    BIGINT NOT NULL,
    body       TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE orders (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    order_ref     TEXT NOT NULL UNIQUE,
    terminal_id   TEXT NOT NULL REFERENCES terminals (id),
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
    received_at   TEXT NOT NULL
);

CREATE TABLE order_lines (
    order_ref    TEXT NOT NULL REFERENCES orders (order_ref),
    line_no      BIGINT NOT NULL,
    sku          TEXT NOT NULL,
    name         TEXT NOT NULL,
    unit_price_q BIGINT NOT NULL,
    qty          BIGINT NOT NULL,
    discount_q   BIGINT NOT NULL,
    total_q      BIGINT NOT NULL,
    is_unique    BIGINT NOT NULL,
    status       TEXT,
    PRIMARY KEY (order_ref, line_no)
);
CREATE INDEX order_lines_unique_sku ON order_lines (sku) WHERE is_unique = 1;

CREATE TABLE order_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    order_ref   TEXT NOT NULL REFERENCES orders (order_ref),
    event_id    TEXT NOT NULL,
    kind        TEXT NOT NULL,
    line_no     BIGINT,
    from_status TEXT,
    to_status   TEXT,
    actor       TEXT NOT NULL,
    at          TEXT NOT NULL,
    reason      TEXT
);
CREATE INDEX order_events_order ON order_events (order_ref, id);

CREATE TABLE stock_ledger (
    delta_id    TEXT PRIMARY KEY,
    sku         TEXT NOT NULL,
    location    TEXT NOT NULL,
    delta       BIGINT NOT NULL,
    reason      TEXT NOT NULL,
    source      TEXT NOT NULL,
    at          TEXT NOT NULL,
    terminal_id TEXT,
    event_id    TEXT,
    recorded_at TEXT NOT NULL
);
CREATE INDEX stock_ledger_key ON stock_ledger (sku, location);

CREATE TABLE stock_levels (
    sku      TEXT NOT NULL,
    location TEXT NOT NULL,
    on_hand  BIGINT NOT NULL,
    PRIMARY KEY (sku, location)
);

CREATE TABLE changes (
    change_key TEXT PRIMARY KEY,
    version    BIGINT NOT NULL UNIQUE,
    body       TEXT NOT NULL
);

CREATE TABLE changelog_head (
    id      BIGINT PRIMARY KEY,
    version BIGINT NOT NULL,
    floor   BIGINT NOT NULL
);
INSERT INTO changelog_head (id, version, floor) VALUES (1, 0, 0);
