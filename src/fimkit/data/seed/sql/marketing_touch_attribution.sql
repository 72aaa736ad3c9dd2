-- Marketing attribution: credit each conversion to the campaigns the
-- customer touched in the 30 days before converting.
WITH touches AS (
    SELECT cv.conversion_id, cv.revenue, t.campaign_id,
           row_number() OVER (PARTITION BY cv.conversion_id ORDER BY t.touched_at, t.touch_id) AS touch_no,
           count(*) OVER (PARTITION BY cv.conversion_id) AS touch_count
    FROM conversions AS cv
    JOIN ad_touches AS t
      ON t.customer_id = cv.customer_id
     AND t.touched_at <= cv.converted_at
     AND t.touched_at >  cv.converted_at - INTERVAL '30 days'
)
-- Compare three models side by side. Linear splits revenue evenly across
-- every touch; first/last give the whole amount to a single touch.
SELECT
    c.campaign_id,
    c.campaign_name,
    round(sum(t.revenue / t.touch_count), 2) AS linear_revenue,
    coalesce(sum(t.revenue) FILTER (WHERE t.touch_no = 1), 0) AS first_touch_revenue,
    coalesce(sum(t.revenue) FILTER (WHERE t.touch_no = t.touch_count), 0) AS last_touch_revenue
FROM touches AS t
JOIN campaigns AS c ON c.campaign_id = t.campaign_id
GROUP BY c.campaign_id, c.campaign_name
ORDER BY linear_revenue DESC;

-- One row per conversion describing the journey. LAST_VALUE needs an
-- explicit full frame: the default frame ends at the current row and
-- would simply return the current row's campaign.
SELECT DISTINCT
    cv.conversion_id,
    first_value(t.campaign_id) OVER w AS first_campaign,
    last_value(t.campaign_id)  OVER w AS last_campaign,
    count(*) OVER w                   AS touches
FROM conversions AS cv
JOIN ad_touches AS t
  ON t.customer_id = cv.customer_id
 AND t.touched_at <= cv.converted_at
 AND t.touched_at >  cv.converted_at - INTERVAL '30 days'
WINDOW w AS (
    PARTITION BY cv.conversion_id
    ORDER BY t.touched_at, t.touch_id
    ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
);

-- Weekly cost per last-touch conversion. Spend and conversions are
-- aggregated separately before joining, so conversions cannot fan out
-- and inflate the spend total.
WITH weekly_spend AS (
    SELECT campaign_id, date_trunc('week', spend_date)::date AS week_start, sum(spend_amount) AS spend
    FROM campaign_daily_spend
    GROUP BY campaign_id, date_trunc('week', spend_date)::date
),
weekly_conv AS (
    SELECT last_touch_campaign_id AS campaign_id,
           date_trunc('week', converted_at)::date AS week_start, count(*) AS conversions
    FROM conversions
    GROUP BY last_touch_campaign_id, date_trunc('week', converted_at)::date
)
SELECT s.campaign_id, s.week_start, s.spend,
       coalesce(c.conversions, 0) AS conversions,
       round(s.spend / NULLIF(c.conversions, 0), 2) AS cost_per_conversion
FROM weekly_spend AS s
LEFT JOIN weekly_conv AS c ON c.campaign_id = s.campaign_id AND c.week_start = s.week_start
ORDER BY s.campaign_id, s.week_start;
