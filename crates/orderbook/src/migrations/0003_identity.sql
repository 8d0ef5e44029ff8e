-- Order identity, counts as baselines, stores, the two pull cursors.

-- The order's global identity (UUIDv7 minted at commit). Rows written before this version are
-- backfilled by the book when it opens (see db::backfill), so the column is nullable here.
ALTER TABLE orders ADD COLUMN order_id TEXT;
CREATE UNIQUE INDEX orders_order_id ON orders(order_id);

-- For reason = count: the quantity counted at `at` (a baseline, not a movement). NULL for
-- every other movement, and for counts written before this version (they stay deltas).
ALTER TABLE stock_ledger ADD COLUMN counted INTEGER;
CREATE INDEX stock_ledger_counts ON stock_ledger(sku, location, at) WHERE counted IS NOT NULL;

-- The store change log's cursor (`pull_cursor` is the chain's). Protocol 2 reads two logs:
-- the old single cursor means nothing there, so the next pull takes a full snapshot.
ALTER TABLE sync_state ADD COLUMN pull_cursor_store INTEGER;
UPDATE sync_state SET pull_cursor = NULL;
