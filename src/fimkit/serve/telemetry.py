"""Telemetry: what editors did with the completions, in SQLite under ``$FIMKIT_HOME``.

The server records every completion it returns (id, whether the cursor was mid-line, the
language) so that an event only needs the completion id; clients that know better may send
``mid_line`` themselves. ``stats`` answers the seed's question: the accept rate mid-buffer
versus at the end of a line.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

from fimkit.errors import FimkitError

EVENT_TYPES = {
    "view": "view", "shown": "view", "show": "view",
    "accept": "accept", "accepted": "accept", "select": "accept",
    "partial": "partial", "partial_accept": "partial", "accept_word": "partial", "accept_line": "partial",
    "dismiss": "dismiss", "dismissed": "dismiss", "reject": "dismiss", "rejected": "dismiss",
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS completions (
    id TEXT PRIMARY KEY, created REAL, endpoint TEXT, model TEXT, mid_line INTEGER, language TEXT,
    chars INTEGER, latency_ms REAL);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, created REAL, type TEXT, completion_id TEXT, choice_index INTEGER,
    elapsed_ms REAL, mid_line INTEGER, accepted_chars INTEGER, language TEXT, raw TEXT);
CREATE INDEX IF NOT EXISTS events_completion ON events (completion_id);
"""


class Telemetry:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            with self._connect() as db:
                db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise FimkitError(f"{self.path}: not a usable telemetry database ({exc}); move it away or pass --no-telemetry") from exc

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=5)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def record_completion(self, completion_id: str, *, endpoint: str, model: str, mid_line: bool,
                          language: str | None, chars: int, latency_ms: float) -> None:
        with self._lock, self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO completions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (completion_id, time.time(), endpoint, model, int(mid_line), language, chars, latency_ms),
            )

    def record_event(self, event: dict) -> str:
        kind = EVENT_TYPES.get(str(event.get("type", "")).lower())
        if kind is None:
            raise FimkitError(f"unknown event type {event.get('type')!r}; use one of: {', '.join(sorted(set(EVENT_TYPES)))}")
        completion_id = event.get("completion_id")
        mid_line = event.get("mid_line")
        if mid_line is None and completion_id:
            with self._lock, self._connect() as db:
                row = db.execute("SELECT mid_line FROM completions WHERE id = ?", (completion_id,)).fetchone()
            mid_line = bool(row[0]) if row else None
        with self._lock, self._connect() as db:
            db.execute(
                "INSERT INTO events (created, type, completion_id, choice_index, elapsed_ms, mid_line, accepted_chars,"
                " language, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (time.time(), kind, completion_id, event.get("choice_index"), event.get("elapsed"),
                 None if mid_line is None else int(bool(mid_line)), event.get("accepted_chars"),
                 event.get("language"), json.dumps(event)[:4000]),
            )
        return kind

    def stats(self) -> dict:
        with self._lock, self._connect() as db:
            rows = db.execute("SELECT type, mid_line, COUNT(*), AVG(elapsed_ms) FROM events GROUP BY type, mid_line").fetchall()
            served = db.execute("SELECT COUNT(*), AVG(latency_ms) FROM completions").fetchone()

        def count(kind: str, where=None) -> int:
            return sum(n for t, m, n, _ in rows if t == kind and (where is None or m == where))

        def rate(where=None) -> dict:
            views = count("view", where)
            accepted, partial = count("accept", where), count("partial", where)
            return {
                "shown": views, "accepted": accepted, "partially_accepted": partial, "dismissed": count("dismiss", where),
                "accept_rate": round(accepted / views, 4) if views else None,
                "accept_rate_with_partial": round((accepted + partial) / views, 4) if views else None,
            }

        elapsed = [avg for t, _, _, avg in rows if t == "accept" and avg is not None]
        return {
            "completions_served": served[0], "mean_latency_ms": round(served[1], 1) if served[1] is not None else None,
            "overall": rate(), "mid_line": rate(1), "end_of_line": rate(0),
            "mean_ms_to_accept": round(sum(elapsed) / len(elapsed), 1) if elapsed else None,
        }
