-- Monthly cohort retention for a SaaS product.
-- A user's cohort is the month of signup; they are "retained" in a later
-- month if they recorded at least one activity event in that month.
WITH cohorts AS (
    SELECT user_id, date_trunc('month', signed_up_at)::date AS cohort_month
    FROM app_users
),
activity AS (
    -- DISTINCT collapses many events per user per month into one row.
    SELECT DISTINCT user_id, date_trunc('month', occurred_at)::date AS active_month
    FROM activity_events
),
cohort_activity AS (
    SELECT
        c.cohort_month,
        c.user_id,
        (EXTRACT(YEAR FROM a.active_month) - EXTRACT(YEAR FROM c.cohort_month)) * 12
          + (EXTRACT(MONTH FROM a.active_month) - EXTRACT(MONTH FROM c.cohort_month)) AS month_offset
    FROM cohorts AS c
    JOIN activity AS a
      ON a.user_id = c.user_id
     AND a.active_month >= c.cohort_month
),
cohort_sizes AS (
    SELECT cohort_month, count(*) AS cohort_size
    FROM cohorts
    GROUP BY cohort_month
)
SELECT
    ca.cohort_month,
    cs.cohort_size,
    ca.month_offset,
    count(DISTINCT ca.user_id) AS active_users,
    round(100.0 * count(DISTINCT ca.user_id) / cs.cohort_size, 1) AS retention_pct
FROM cohort_activity AS ca
JOIN cohort_sizes AS cs ON cs.cohort_month = ca.cohort_month
GROUP BY ca.cohort_month, cs.cohort_size, ca.month_offset
ORDER BY ca.cohort_month, ca.month_offset;

-- The same data pivoted into the classic triangle: one row per cohort,
-- one column per month offset. FILTER keeps each column's logic explicit.
WITH user_months AS (
    SELECT u.user_id,
           date_trunc('month', u.signed_up_at)::date AS cohort_month,
           date_trunc('month', e.occurred_at)::date AS active_month
    FROM app_users AS u
    JOIN activity_events AS e ON e.user_id = u.user_id
)
SELECT
    cohort_month,
    count(DISTINCT user_id) FILTER (WHERE active_month = cohort_month)                          AS m0,
    count(DISTINCT user_id) FILTER (WHERE active_month = cohort_month + INTERVAL '1 month')  AS m1,
    count(DISTINCT user_id) FILTER (WHERE active_month = cohort_month + INTERVAL '2 months') AS m2,
    count(DISTINCT user_id) FILTER (WHERE active_month = cohort_month + INTERVAL '3 months') AS m3
FROM user_months
GROUP BY cohort_month
ORDER BY cohort_month;
