-- Sessionize raw page views: a new session starts when a visitor has been
-- idle for more than 30 minutes. The pattern is "flag the boundaries, then
-- turn the flags into ids with a running sum".
WITH ordered_views AS (
    SELECT
        visitor_id,
        viewed_at,
        page_path,
        lag(viewed_at) OVER (PARTITION BY visitor_id ORDER BY viewed_at) AS prev_viewed_at
    FROM page_views
    WHERE viewed_at >= now() - INTERVAL '7 days'
),
flagged AS (
    SELECT
        *,
        CASE WHEN prev_viewed_at IS NULL
               OR viewed_at - prev_viewed_at > INTERVAL '30 minutes' THEN 1 ELSE 0
        END AS is_new_session
    FROM ordered_views
),
sessionized AS (
    SELECT
        *,
        -- Running sum of boundary flags yields a per-visitor session number.
        sum(is_new_session) OVER (
            PARTITION BY visitor_id
            ORDER BY viewed_at
            ROWS UNBOUNDED PRECEDING
        ) AS session_no
    FROM flagged
)
SELECT
    visitor_id,
    session_no,
    min(viewed_at) AS session_start,
    count(*)       AS page_count,
    EXTRACT(EPOCH FROM max(viewed_at) - min(viewed_at)) AS duration_seconds,
    -- Landing and exit pages help diagnose where sessions begin and end.
    (array_agg(page_path ORDER BY viewed_at))[1]      AS landing_page,
    (array_agg(page_path ORDER BY viewed_at DESC))[1] AS exit_page
FROM sessionized
GROUP BY visitor_id, session_no
ORDER BY visitor_id, session_no;

-- Bounce rate by landing page: share of sessions with a single page view.
WITH s AS (
    SELECT visitor_id, page_path, viewed_at,
        sum(CASE WHEN viewed_at - coalesce(prev_at, viewed_at - INTERVAL '1 hour')
                      > INTERVAL '30 minutes' THEN 1 ELSE 0 END)
            OVER (PARTITION BY visitor_id ORDER BY viewed_at ROWS UNBOUNDED PRECEDING) AS session_no
    FROM (
        SELECT visitor_id, page_path, viewed_at,
               lag(viewed_at) OVER (PARTITION BY visitor_id ORDER BY viewed_at) AS prev_at
        FROM page_views
    ) AS v
)
SELECT landing_page,
       count(*) AS sessions,
       round(100.0 * count(*) FILTER (WHERE views = 1) / count(*), 1) AS bounce_rate_pct
FROM (
    SELECT visitor_id, session_no, count(*) AS views,
           (array_agg(page_path ORDER BY viewed_at))[1] AS landing_page
    FROM s
    GROUP BY visitor_id, session_no
) AS per_session
GROUP BY landing_page
ORDER BY sessions DESC
LIMIT 20;
