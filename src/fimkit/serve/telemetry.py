"""Telemetry: what editors did with the completions, in SQLite under ``$FIMKIT_HOME``.

The server records every completion it returns (id, whether the cursor was mid-line, the
language) so that an event only needs the completion id; clients that know better may send
``mid_line`` themselves. ``stats`` answers the seed's question: the accept rate mid-buffer
versus at the end of a line.

Telemetry is best effort and isolated: events are validated (``Event``: bounded, finite values)
before storage, a database that cannot be opened turns telemetry off with one warning instead of
stopping the server, a write that fails is logged and counted (never fails a completion), and
``stats`` ignores values no valid event could have stored (rows written by older versions).
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
import threading
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fimkit.data.usage import PRUNE_EVERY, SCHEMA, bounded_context, prune_contexts
from fimkit.errors import FimkitError

MAX_MS = 86_400_000.0  # a day: any larger time is not a measurement


class Event(BaseModel):
    """One client event. Unknown fields are kept in ``raw`` only."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)
    type: str = Field(max_length=40)
    completion_id: str | None = Field(None, max_length=200)
    choice_index: int | None = Field(None, ge=0, le=1024)
    elapsed: float | None = Field(None, ge=0, le=MAX_MS)
    mid_line: bool | None = None
    accepted_chars: int | None = Field(None, ge=0, le=100_000_000)
    language: str | None = Field(None, max_length=64)


def _finite(value, limit: float = MAX_MS):
    return value if isinstance(value, (int, float)) and math.isfinite(value) and abs(value) <= limit else None

EVENT_TYPES = {
    "view": "view", "shown": "view", "show": "view",
    "accept": "accept", "accepted": "accept", "select": "accept",
    "partial": "partial", "partial_accept": "partial", "accept_word": "partial", "accept_line": "partial",
    "dismiss": "dismiss", "dismissed": "dismiss", "reject": "dismiss", "rejected": "dismiss",
}



log = logging.getLogger("fimkit.telemetry")


class TelemetryUnavailable(FimkitError):
    """The telemetry database failed while the server runs."""

    http_status = 503


class Telemetry:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.errors = 0  # writes that failed since start (shown in /metrics)
        self.contexts_kept = 0
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as db:
                db.executescript(SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise FimkitError(f"{self.path}: not a usable telemetry database ({exc}); move it away or pass --no-telemetry") from exc

    @classmethod
    def open_or_off(cls, path: str | Path, warn=log.warning) -> Telemetry | None:
        """The telemetry store, or None (telemetry off, said once) when the file cannot be used: a
        read-only or damaged database must not keep the server from serving completions."""
        try:
            return cls(path)
        except FimkitError as exc:
            warn(f"telemetry is off: {exc}")
            return None

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=5)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def record_completion(self, completion_id: str, *, endpoint: str, model: str, mid_line: bool,
                          language: str | None, chars: int, latency_ms: float,
                          context: tuple[str, str, str, str | None] | None = None) -> bool:
        """Best effort: False (logged and counted) when the database refused the row. ``context``
        (prefix, suffix, text, filename) is kept, bounded, for ``fimkit adapt --usage``."""
        try:
            with self._lock, self._connect() as db:
                db.execute(
                    "INSERT OR REPLACE INTO completions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (completion_id, time.time(), endpoint, model, int(mid_line), (language or "")[:64] or None,
                     chars, _finite(latency_ms)),
                )
                if context is not None:
                    db.execute("INSERT OR REPLACE INTO contexts VALUES (?, ?, ?, ?, ?)",
                               (completion_id, *bounded_context(*context)))
                    self.contexts_kept += 1
                    if self.contexts_kept % PRUNE_EVERY == 0:
                        prune_contexts(db)
            return True
        except (sqlite3.Error, OSError) as exc:
            self.errors += 1
            log.warning("telemetry: could not record completion %s: %s", completion_id, exc)
            return False

    def record_event(self, data: dict) -> str:
        """Validate and store one event; a FimkitError (HTTP 400/422) names what is wrong with it, and
        a database that fails is an error of the server (HTTP 503), not of the client."""
        try:
            event = Event.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "event"
            raise FimkitError(f"field '{where}': {first['msg']}") from None
        kind = EVENT_TYPES.get(event.type.lower())
        if kind is None:
            raise FimkitError(f"unknown event type {event.type!r}; use one of: {', '.join(sorted(set(EVENT_TYPES)))}")
        try:
            mid_line = event.mid_line
            with self._lock, self._connect() as db:
                if mid_line is None and event.completion_id:
                    row = db.execute("SELECT mid_line FROM completions WHERE id = ?", (event.completion_id,)).fetchone()
                    mid_line = bool(row[0]) if row else None
                db.execute(
                    "INSERT INTO events (created, type, completion_id, choice_index, elapsed_ms, mid_line, accepted_chars,"
                    " language, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (time.time(), kind, event.completion_id, event.choice_index, event.elapsed,
                     None if mid_line is None else int(mid_line), event.accepted_chars, event.language,
                     json.dumps(data)[:4000]),
                )
        except (sqlite3.Error, OSError) as exc:
            self.errors += 1
            raise TelemetryUnavailable(f"telemetry could not store the event ({exc}); completions are unaffected") from exc
        return kind

    def stats(self) -> dict:
        # Only finite, plausible times are averaged: rows stored before events were validated may hold
        # anything, and one Infinity must not break the endpoint forever.
        bounded = f"CASE WHEN {{0}} BETWEEN 0 AND {MAX_MS} THEN {{0}} END"
        try:
            with self._lock, self._connect() as db:
                rows = db.execute(f"SELECT type, mid_line, COUNT(*), AVG({bounded.format('elapsed_ms')}) FROM events "
                                  "GROUP BY type, mid_line").fetchall()
                served = db.execute(f"SELECT COUNT(*), AVG({bounded.format('latency_ms')}) FROM completions").fetchone()
        except (sqlite3.Error, OSError) as exc:
            self.errors += 1
            raise TelemetryUnavailable(f"telemetry could not be read ({exc})") from exc
        rows = [(t, m if m in (0, 1) else None, n, _finite(avg)) for t, m, n, avg in rows]
        served = (served[0], _finite(served[1]))

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
