-- Monthly recurring revenue (MRR) movements per account.
-- invoices_monthly holds one row per account per billed month with the
-- normalised monthly amount (annual plans already divided by 12).
WITH months AS (
    SELECT m::date AS month
    FROM generate_series(DATE '2023-01-01', DATE '2024-12-01', INTERVAL '1 month') AS m
),
grid AS (
    -- Cross join gives every account a row for every month, so that a month
    -- without an invoice shows up as zero MRR instead of disappearing.
    SELECT a.account_id, months.month, coalesce(i.mrr, 0) AS mrr
    FROM billing_accounts AS a
    CROSS JOIN months
    LEFT JOIN invoices_monthly AS i
           ON i.account_id = a.account_id
          AND i.billing_month = months.month
),
movements AS (
    SELECT
        account_id,
        month,
        mrr,
        lag(mrr, 1, 0) OVER (PARTITION BY account_id ORDER BY month) AS prev_mrr
    FROM grid
)
SELECT
    month,
    sum(mrr) AS total_mrr,
    sum(mrr) FILTER (WHERE prev_mrr = 0 AND mrr > 0)          AS new_mrr,
    sum(mrr - prev_mrr) FILTER (WHERE prev_mrr > 0 AND mrr > prev_mrr) AS expansion_mrr,
    sum(prev_mrr - mrr) FILTER (WHERE mrr > 0 AND mrr < prev_mrr)      AS contraction_mrr,
    sum(prev_mrr) FILTER (WHERE prev_mrr > 0 AND mrr = 0)     AS churned_mrr,
    count(*) FILTER (WHERE prev_mrr > 0 AND mrr = 0)          AS churned_accounts
FROM movements
GROUP BY month
ORDER BY month;

-- Net revenue retention over a trailing 12 months: how much MRR from
-- accounts paying a year ago is still being paid today.
WITH base AS (
    SELECT account_id, mrr AS mrr_then
    FROM invoices_monthly
    WHERE billing_month = DATE '2023-12-01'
),
now_mrr AS (
    SELECT account_id, mrr AS mrr_now
    FROM invoices_monthly
    WHERE billing_month = DATE '2024-12-01'
)
SELECT
    sum(base.mrr_then) AS starting_mrr,
    sum(coalesce(now_mrr.mrr_now, 0)) AS retained_mrr,
    round(100.0 * sum(coalesce(now_mrr.mrr_now, 0)) / NULLIF(sum(base.mrr_then), 0), 1) AS nrr_pct
FROM base
LEFT JOIN now_mrr ON now_mrr.account_id = base.account_id;
