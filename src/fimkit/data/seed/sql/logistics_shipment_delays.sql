-- Logistics: shipments move through scan events (picked_up, in_transit,
-- out_for_delivery, delivered). Promised dates come from the carrier's quote.

-- On-time delivery rate per carrier and lane for the last quarter.
-- Only delivered shipments are judged; in-flight ones are excluded.
SELECT
    c.carrier_name,
    s.origin_hub || ' -> ' || s.destination_hub AS lane,
    count(*) AS delivered,
    count(*) FILTER (WHERE d.delivered_at::date <= s.promised_date) AS on_time,
    round(100.0 * count(*) FILTER (WHERE d.delivered_at::date <= s.promised_date)
          / count(*), 1) AS on_time_pct,
    round(avg(d.delivered_at::date - s.promised_date)
          FILTER (WHERE d.delivered_at::date > s.promised_date), 1) AS avg_days_late
FROM shipments AS s
JOIN carriers AS c ON c.carrier_id = s.carrier_id
JOIN (
    SELECT shipment_id, min(scanned_at) AS delivered_at
    FROM scan_events
    WHERE event_type = 'delivered'
    GROUP BY shipment_id
) AS d ON d.shipment_id = s.shipment_id
WHERE s.shipped_on >= CURRENT_DATE - 90
GROUP BY c.carrier_name, s.origin_hub, s.destination_hub
HAVING count(*) >= 30
ORDER BY on_time_pct;

-- Stuck shipments: picked up more than 5 days ago with no scan at all in
-- the last 48 hours and no delivery scan. NOT EXISTS is an anti-join that
-- stays correct even when the subquery would return NULLs.
SELECT s.shipment_id, s.tracking_number, s.carrier_id, s.shipped_on
FROM shipments AS s
WHERE s.shipped_on < CURRENT_DATE - 5
  AND NOT EXISTS (
      SELECT 1 FROM scan_events AS e
      WHERE e.shipment_id = s.shipment_id
        AND e.event_type = 'delivered'
  )
  AND NOT EXISTS (
      SELECT 1 FROM scan_events AS e
      WHERE e.shipment_id = s.shipment_id
        AND e.scanned_at >= now() - INTERVAL '48 hours'
  )
ORDER BY s.shipped_on;

-- Dwell time at each hub: gap between consecutive scans of the same parcel.
-- LEAD looks at the next scan to measure how long the parcel sat still.
SELECT hub_code,
       count(*) AS stops,
       round(avg(EXTRACT(EPOCH FROM next_scan_at - scanned_at) / 3600)::numeric, 1) AS avg_dwell_hours
FROM (
    SELECT shipment_id, hub_code, scanned_at,
           lead(scanned_at) OVER (PARTITION BY shipment_id ORDER BY scanned_at) AS next_scan_at
    FROM scan_events
) AS hops
WHERE next_scan_at IS NOT NULL
GROUP BY hub_code
ORDER BY avg_dwell_hours DESC;
