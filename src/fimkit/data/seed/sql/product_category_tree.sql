-- Product categories form a tree (e.g. Home > Kitchen > Cookware).
CREATE TABLE categories (
    category_id  INT PRIMARY KEY,
    parent_id    INT REFERENCES categories (category_id) ON DELETE RESTRICT,
    name         TEXT NOT NULL,
    -- Sibling names must be unique so breadcrumbs are unambiguous.
    UNIQUE (parent_id, name)
);

-- Build breadcrumb paths and find each category's top-level root.
WITH RECURSIVE tree AS (
    SELECT category_id, parent_id, name,
           name::text AS breadcrumb,
           category_id AS root_id,
           1 AS level
    FROM categories
    WHERE parent_id IS NULL
    UNION ALL
    SELECT c.category_id, c.parent_id, c.name,
           tree.breadcrumb || ' / ' || c.name,
           tree.root_id,
           tree.level + 1
    FROM categories AS c
    JOIN tree ON c.parent_id = tree.category_id
)
SELECT category_id, breadcrumb, root_id, level
FROM tree
ORDER BY breadcrumb;

-- Roll sales up the tree: revenue of a category includes all subcategories.
-- The recursive part maps every category to itself and all its ancestors.
WITH RECURSIVE ancestry AS (
    SELECT category_id, category_id AS ancestor_id
    FROM categories
    UNION ALL
    SELECT a.category_id, c.parent_id
    FROM ancestry AS a
    JOIN categories AS c ON c.category_id = a.ancestor_id
    WHERE c.parent_id IS NOT NULL
),
category_sales AS (
    SELECT p.category_id, sum(oi.quantity * oi.unit_price) AS revenue
    FROM order_items AS oi
    JOIN catalog_products AS p ON p.product_id = oi.product_id
    GROUP BY p.category_id
)
SELECT anc.category_id, anc.name, coalesce(sum(cs.revenue), 0) AS rolled_up_revenue
FROM ancestry AS a
JOIN categories AS anc ON anc.category_id = a.ancestor_id
LEFT JOIN category_sales AS cs ON cs.category_id = a.category_id
GROUP BY anc.category_id, anc.name
ORDER BY rolled_up_revenue DESC;
