-- Warehouse stock levels, keyed by (warehouse, sku).
CREATE TABLE stock_levels (
    warehouse_id  INT NOT NULL,
    sku           VARCHAR(32) NOT NULL,
    on_hand       INT NOT NULL DEFAULT 0 CHECK (on_hand >= 0),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (warehouse_id, sku)
);

-- Seed rows for a newly opened warehouse. ON CONFLICT DO NOTHING makes the
-- script safe to re-run: rows that already exist are left untouched.
INSERT INTO stock_levels (warehouse_id, sku, on_hand)
SELECT 42, p.sku, 0
FROM products AS p
WHERE p.is_active
ON CONFLICT DO NOTHING;

-- Apply a batch of stock counts from a staging table in one statement.
-- MERGE updates existing rows, inserts new ones, and removes SKUs that were
-- counted as zero and are discontinued.
MERGE INTO stock_levels AS s
USING (
    SELECT c.warehouse_id, c.sku, c.counted_qty, p.is_active
    FROM staging_stock_counts AS c
    JOIN products AS p ON p.sku = c.sku
) AS src
ON s.warehouse_id = src.warehouse_id AND s.sku = src.sku
WHEN MATCHED AND src.counted_qty = 0 AND NOT src.is_active THEN
    DELETE
WHEN MATCHED THEN
    UPDATE SET on_hand = src.counted_qty, updated_at = now()
WHEN NOT MATCHED AND src.is_active THEN
    INSERT (warehouse_id, sku, on_hand) VALUES (src.warehouse_id, src.sku, src.counted_qty);

-- Record a goods receipt: bump existing stock, or create the row if missing.
-- The writable CTE updates first; the insert only fires when nothing matched.
WITH receipt AS (
    SELECT 42 AS warehouse_id, 'SKU-10017' AS sku, 120 AS qty
),
bumped AS (
    UPDATE stock_levels AS s
    SET on_hand = s.on_hand + receipt.qty, updated_at = now()
    FROM receipt
    WHERE s.warehouse_id = receipt.warehouse_id AND s.sku = receipt.sku
    RETURNING s.sku
)
INSERT INTO stock_levels (warehouse_id, sku, on_hand)
SELECT warehouse_id, sku, qty
FROM receipt
WHERE NOT EXISTS (SELECT 1 FROM bumped);
