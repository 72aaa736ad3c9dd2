-- Music streaming: top-N tracks per genre by plays in the last 28 days.
-- A "qualified" play is one that lasted at least 30 seconds.
WITH plays AS (
    SELECT t.track_id, t.title, t.genre, count(*) AS play_count
    FROM stream_events AS e
    JOIN tracks AS t ON t.track_id = e.track_id
    WHERE e.started_at >= now() - INTERVAL '28 days'
      AND e.ms_played >= 30000
    GROUP BY t.track_id, t.title, t.genre
),
ranked AS (
    SELECT
        *,
        -- RANK leaves gaps after ties; DENSE_RANK would not. ROW_NUMBER would
        -- break ties arbitrarily, so RANK keeps tied tracks together.
        rank() OVER (PARTITION BY genre ORDER BY play_count DESC) AS genre_rank,
        round(100.0 * play_count / sum(play_count) OVER (PARTITION BY genre), 2) AS genre_share_pct
    FROM plays
)
SELECT genre, genre_rank, title, play_count, genre_share_pct
FROM ranked
WHERE genre_rank <= 5
ORDER BY genre, genre_rank, title;

-- Each listener's most played artist. ROW_NUMBER picks exactly one row
-- per listener; the artist_id tie-breaker makes the result deterministic.
SELECT listener_id, artist_id, plays
FROM (
    SELECT
        e.listener_id,
        t.artist_id,
        count(*) AS plays,
        row_number() OVER (
            PARTITION BY e.listener_id
            ORDER BY count(*) DESC, t.artist_id
        ) AS rn
    FROM stream_events AS e
    JOIN tracks AS t ON t.track_id = e.track_id
    GROUP BY e.listener_id, t.artist_id
) AS per_artist
WHERE rn = 1;

-- The same "latest per group" idea with DISTINCT ON: the newest release
-- for every artist, PostgreSQL's compact alternative to ROW_NUMBER.
SELECT DISTINCT ON (artist_id) artist_id, album_id, album_title, released_on
FROM albums
ORDER BY artist_id, released_on DESC, album_id DESC;
