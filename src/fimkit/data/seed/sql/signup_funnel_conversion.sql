-- Four-step onboarding funnel: visit -> signup -> activate -> subscribe.
-- Each step only counts if it happened after the previous one, which
-- prevents out-of-order events from inflating conversion.
WITH step_times AS (
    SELECT
        visitor_id,
        min(occurred_at) FILTER (WHERE event_name = 'landing_view')       AS visited_at,
        min(occurred_at) FILTER (WHERE event_name = 'account_created')    AS signed_up_at,
        min(occurred_at) FILTER (WHERE event_name = 'first_project_made') AS activated_at,
        min(occurred_at) FILTER (WHERE event_name = 'plan_purchased')     AS subscribed_at
    FROM funnel_events
    WHERE occurred_at >= DATE '2024-06-01'
      AND occurred_at <  DATE '2024-07-01'
    GROUP BY visitor_id
),
ordered_steps AS (
    SELECT
        visitor_id,
        visited_at IS NOT NULL AS did_visit,
        signed_up_at > visited_at AS did_signup,
        activated_at > signed_up_at AND signed_up_at > visited_at AS did_activate,
        subscribed_at > activated_at AND activated_at > signed_up_at
            AND signed_up_at > visited_at AS did_subscribe
    FROM step_times
)
SELECT
    count(*) FILTER (WHERE did_visit)     AS visitors,
    count(*) FILTER (WHERE did_signup)    AS signups,
    count(*) FILTER (WHERE did_activate)  AS activated,
    count(*) FILTER (WHERE did_subscribe) AS subscribed,
    -- Step-to-step rates show where users drop off.
    round(100.0 * count(*) FILTER (WHERE did_signup)
          / NULLIF(count(*) FILTER (WHERE did_visit), 0), 2) AS visit_to_signup_pct,
    round(100.0 * count(*) FILTER (WHERE did_activate)
          / NULLIF(count(*) FILTER (WHERE did_signup), 0), 2) AS signup_to_activate_pct,
    round(100.0 * count(*) FILTER (WHERE did_subscribe)
          / NULLIF(count(*) FILTER (WHERE did_activate), 0), 2) AS activate_to_paid_pct
FROM ordered_steps;

-- Median time from signup to activation, split by acquisition channel.
SELECT
    v.channel,
    count(*) AS activated_users,
    percentile_cont(0.5) WITHIN GROUP (
        ORDER BY EXTRACT(EPOCH FROM f.activated_at - f.signed_up_at) / 3600.0
    ) AS median_hours_to_activate
FROM (
    SELECT
        visitor_id,
        min(occurred_at) FILTER (WHERE event_name = 'account_created')    AS signed_up_at,
        min(occurred_at) FILTER (WHERE event_name = 'first_project_made') AS activated_at
    FROM funnel_events
    GROUP BY visitor_id
) AS f
JOIN visitors AS v ON v.visitor_id = f.visitor_id
WHERE f.activated_at > f.signed_up_at
GROUP BY v.channel
HAVING count(*) >= 20
ORDER BY median_hours_to_activate;
