-- RFM segmentation: score customers on Recency, Frequency and Monetary value
-- over the last two years, each on a 1-5 scale using NTILE.
WITH customer_stats AS (
    SELECT
        o.customer_id,
        CURRENT_DATE - max(o.placed_at)::date AS days_since_last_order,
        count(DISTINCT o.order_id)            AS order_count,
        sum(oi.quantity * oi.unit_price)      AS total_spent
    FROM orders AS o
    JOIN order_items AS oi ON oi.order_id = o.order_id
    WHERE o.status IN ('paid', 'shipped')
      AND o.placed_at >= CURRENT_DATE - INTERVAL '2 years'
    GROUP BY o.customer_id
),
scored AS (
    SELECT
        customer_id,
        days_since_last_order,
        order_count,
        total_spent,
        -- Recent buyers should score high, so recency is ordered descending.
        ntile(5) OVER (ORDER BY days_since_last_order DESC) AS r_score,
        ntile(5) OVER (ORDER BY order_count)                AS f_score,
        ntile(5) OVER (ORDER BY total_spent)                AS m_score
    FROM customer_stats
)
SELECT
    customer_id,
    r_score, f_score, m_score,
    CASE
        WHEN r_score >= 4 AND f_score >= 4 AND m_score >= 4 THEN 'champions'
        WHEN r_score >= 3 AND f_score >= 3                  THEN 'loyal'
        WHEN r_score >= 4 AND f_score <= 2                  THEN 'new_or_promising'
        WHEN r_score <= 2 AND f_score >= 3                  THEN 'at_risk'
        WHEN r_score <= 2                                   THEN 'hibernating'
        ELSE 'needs_attention'
    END AS segment
FROM scored
ORDER BY r_score DESC, f_score DESC, m_score DESC;

-- Registered customers who have never placed an order of any kind,
-- found with an anti-join; good candidates for an activation email.
SELECT c.customer_id, c.email, c.created_at
FROM customers AS c
WHERE NOT EXISTS (
    SELECT 1 FROM orders AS o WHERE o.customer_id = c.customer_id
)
  AND c.created_at < now() - INTERVAL '14 days'
ORDER BY c.created_at;
