-- Sync state: enrolment, acknowledgements and the server's last stock snapshot.

CREATE TABLE sync_state (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    server_url      TEXT,
    token           TEXT,
    terminal_name   TEXT,
    -- Local outbox seq that wire seq 0 stands for: wire seq = seq - seq_base.
    seq_base        INTEGER NOT NULL DEFAULT 0,
    -- Highest local seq the server has acknowledged (applied or rejected).
    acked_seq       INTEGER NOT NULL DEFAULT 0,
    pull_cursor     INTEGER,
    last_success_at TEXT,
    last_error      TEXT,
    last_error_at   TEXT,
    -- Set when syncing must stop until the terminal is enrolled again.
    halted          TEXT
) STRICT;
INSERT INTO sync_state(id) VALUES (1);

-- The server's on-hand per SKU, and the highest wire seq of ours it had applied when it
-- answered: local deltas after that seq are added on top (rule 9).
CREATE TABLE server_stock (
    sku        TEXT NOT NULL,
    location   TEXT NOT NULL,
    on_hand    INTEGER NOT NULL,
    as_of_seq  INTEGER NOT NULL,
    PRIMARY KEY (sku, location)
) STRICT;
