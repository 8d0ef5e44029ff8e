-- Unique items reserved at another till: the server's word (`Change::UniqueItem.reserved`),
-- pulled. `reserved_by` is the other till's terminal id, `reserved_until` (fmt_time) the end
-- of its basket's hold by that till's report; the item counts as reserved here while
-- `reserved_until` is after the book's clock. Both NULL when no other till holds it (a
-- reservation by this book's own terminal id is never stored: its own holds are local).
ALTER TABLE products ADD COLUMN reserved_by TEXT;
ALTER TABLE products ADD COLUMN reserved_until TEXT;
