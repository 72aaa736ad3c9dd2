-- Support desk reporting: first-response SLA and ticket volume by priority.
-- SLA targets live in a small lookup table so they can change without code.
CREATE TABLE sla_targets (
    priority             TEXT PRIMARY KEY CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    first_response_limit INTERVAL NOT NULL,
    resolution_limit     INTERVAL NOT NULL
);

-- First agent reply per ticket. The LEFT JOIN keeps tickets nobody has
-- answered yet; they count as breached once the limit has passed.
WITH first_reply AS (
    SELECT ticket_id, min(created_at) AS first_reply_at
    FROM ticket_messages
    WHERE author_role = 'agent'
    GROUP BY ticket_id
)
SELECT
    t.priority,
    count(*) AS tickets,
    count(*) FILTER (
        WHERE coalesce(fr.first_reply_at, now()) - t.opened_at > s.first_response_limit
    ) AS breached,
    round(100.0 * count(*) FILTER (
        WHERE coalesce(fr.first_reply_at, now()) - t.opened_at <= s.first_response_limit
    ) / count(*), 1) AS within_sla_pct,
    percentile_cont(0.9) WITHIN GROUP (
        ORDER BY EXTRACT(EPOCH FROM fr.first_reply_at - t.opened_at) / 60
    ) AS p90_minutes_to_reply
FROM tickets AS t
JOIN sla_targets AS s ON s.priority = t.priority
LEFT JOIN first_reply AS fr ON fr.ticket_id = t.ticket_id
WHERE t.opened_at >= now() - INTERVAL '30 days'
GROUP BY t.priority
ORDER BY t.priority;

-- Weekly ticket volume pivoted by channel with CASE, which works on any
-- database (FILTER is the PostgreSQL shorthand for the same thing).
SELECT
    date_trunc('week', opened_at)::date AS week_start,
    sum(CASE WHEN channel = 'email' THEN 1 ELSE 0 END) AS email,
    sum(CASE WHEN channel = 'chat'  THEN 1 ELSE 0 END) AS chat,
    sum(CASE WHEN channel = 'phone' THEN 1 ELSE 0 END) AS phone,
    count(*) AS total
FROM tickets
GROUP BY date_trunc('week', opened_at)::date
ORDER BY week_start;

-- Agents whose open backlog is unusually large compared to the team.
SELECT a.agent_id, a.display_name, count(t.ticket_id) AS open_tickets
FROM agents AS a
JOIN tickets AS t ON t.assignee_id = a.agent_id AND t.status IN ('open', 'pending')
GROUP BY a.agent_id, a.display_name
HAVING count(t.ticket_id) > 2 * (
    SELECT avg(n) FROM (
        SELECT count(*) AS n FROM tickets
        WHERE status IN ('open', 'pending') AND assignee_id IS NOT NULL
        GROUP BY assignee_id
    ) AS per_agent
)
ORDER BY open_tickets DESC;
