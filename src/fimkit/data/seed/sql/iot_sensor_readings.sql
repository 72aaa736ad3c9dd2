-- IoT telemetry: devices report temperature readings, sometimes twice
-- because of retries on flaky networks.
CREATE TABLE sensor_readings (
    reading_id   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id    INT NOT NULL REFERENCES devices (device_id),
    measured_at  TIMESTAMPTZ NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    temperature  NUMERIC(5, 2) NOT NULL,
    battery_pct  SMALLINT CHECK (battery_pct BETWEEN 0 AND 100)
);

CREATE INDEX idx_readings_device_time ON sensor_readings (device_id, measured_at);

-- Remove retry duplicates: keep the earliest-received copy of each
-- (device, measured_at) pair. ROW_NUMBER ranks the copies.
DELETE FROM sensor_readings
WHERE reading_id IN (
    SELECT reading_id
    FROM (
        SELECT reading_id,
               row_number() OVER (
                   PARTITION BY device_id, measured_at
                   ORDER BY received_at, reading_id
               ) AS copy_no
        FROM sensor_readings
    ) AS ranked
    WHERE copy_no > 1
);

-- 15-minute buckets per device with a rolling one-hour average
-- (the current bucket plus the three before it).
WITH buckets AS (
    SELECT
        device_id,
        date_bin(INTERVAL '15 minutes', measured_at, TIMESTAMPTZ '2024-01-01 00:00:00+00') AS bucket_start,
        avg(temperature) AS avg_temp,
        max(temperature) AS max_temp,
        count(*)         AS samples
    FROM sensor_readings
    WHERE measured_at >= now() - INTERVAL '1 day'
    GROUP BY 1, 2
)
SELECT
    device_id,
    bucket_start,
    round(avg_temp, 2) AS avg_temp,
    max_temp,
    samples,
    round(avg(avg_temp) OVER (
        PARTITION BY device_id
        ORDER BY bucket_start
        ROWS BETWEEN 3 PRECEDING AND CURRENT ROW
    ), 2) AS rolling_1h_avg,
    -- Flag buckets that jump more than 5 degrees from the previous one.
    abs(avg_temp - lag(avg_temp) OVER (PARTITION BY device_id ORDER BY bucket_start)) > 5 AS sudden_jump
FROM buckets
ORDER BY device_id, bucket_start;
