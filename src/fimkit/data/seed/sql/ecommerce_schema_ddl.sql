-- Core e-commerce schema: customers place orders made of line items.
-- Money is stored as NUMERIC to avoid floating point rounding surprises.
CREATE TABLE customers (
    customer_id  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email        TEXT NOT NULL,
    full_name    TEXT NOT NULL,
    country_code CHAR(2) NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Emails are compared case-insensitively, so uniqueness is enforced on lower(email).
CREATE UNIQUE INDEX uq_customers_email ON customers (lower(email));

CREATE TABLE products (
    product_id  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sku         VARCHAR(32) NOT NULL UNIQUE,
    title       TEXT NOT NULL,
    unit_price  NUMERIC(10, 2) NOT NULL CHECK (unit_price >= 0),
    is_active   BOOLEAN NOT NULL DEFAULT true
);

CREATE TABLE orders (
    order_id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id  BIGINT NOT NULL REFERENCES customers (customer_id),
    status       TEXT NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'paid', 'shipped', 'cancelled', 'refunded')),
    placed_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    shipped_at   TIMESTAMPTZ,
    -- An order cannot ship before it was placed.
    CONSTRAINT chk_orders_ship_after_place CHECK (shipped_at IS NULL OR shipped_at >= placed_at)
);

-- Most lookups are "recent orders for a customer", so index in that order.
CREATE INDEX idx_orders_customer_placed ON orders (customer_id, placed_at DESC);

CREATE TABLE order_items (
    order_id    BIGINT NOT NULL REFERENCES orders (order_id) ON DELETE CASCADE,
    line_no     SMALLINT NOT NULL,
    product_id  BIGINT NOT NULL REFERENCES products (product_id),
    quantity    INT NOT NULL CHECK (quantity > 0),
    -- Price is copied at purchase time so later catalogue changes do not rewrite history.
    unit_price  NUMERIC(10, 2) NOT NULL CHECK (unit_price >= 0),
    PRIMARY KEY (order_id, line_no)
);

-- Supports "which orders contained product X" without scanning every line item.
CREATE INDEX idx_order_items_product ON order_items (product_id);
