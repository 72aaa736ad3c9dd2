-- Monthly revenue with running totals and month-over-month change.
-- Only paid or shipped orders count as revenue.
WITH monthly AS (
    SELECT
        date_trunc('month', o.placed_at)::date AS month,
        sum(oi.quantity * oi.unit_price)       AS revenue
    FROM orders AS o
    JOIN order_items AS oi ON oi.order_id = o.order_id
    WHERE o.status IN ('paid', 'shipped')
    GROUP BY date_trunc('month', o.placed_at)::date
)
SELECT
    month,
    revenue,
    -- Year-to-date total resets each calendar year.
    sum(revenue) OVER (
        PARTITION BY date_trunc('year', month)
        ORDER BY month
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS revenue_ytd,
    lag(revenue) OVER (ORDER BY month) AS prev_month_revenue,
    -- NULLIF guards against division by zero for months with no prior revenue.
    round(100.0 * (revenue - lag(revenue) OVER (ORDER BY month))
          / NULLIF(lag(revenue) OVER (ORDER BY month), 0), 1) AS mom_pct
FROM monthly
ORDER BY month;

-- Daily revenue smoothed with a trailing 7-row moving average.
-- ROWS framing counts rows, so days with no sales should be filled first.
WITH days AS (
    SELECT d::date AS sale_date
    FROM generate_series(DATE '2024-01-01', DATE '2024-12-31', INTERVAL '1 day') AS d
),
daily AS (
    SELECT o.placed_at::date AS sale_date, sum(oi.quantity * oi.unit_price) AS revenue
    FROM orders AS o
    JOIN order_items AS oi ON oi.order_id = o.order_id
    WHERE o.status IN ('paid', 'shipped')
    GROUP BY o.placed_at::date
)
SELECT
    days.sale_date,
    coalesce(daily.revenue, 0) AS revenue,
    round(avg(coalesce(daily.revenue, 0)) OVER (
        ORDER BY days.sale_date
        ROWS BETWEEN 6 PRECEDING AND CURRENT ROW
    ), 2) AS revenue_7d_avg
FROM days
LEFT JOIN daily ON daily.sale_date = days.sale_date
ORDER BY days.sale_date;
