"""Telemetry: what editors did with the completions, in SQLite under ``$FIMKIT_HOME``.

The server records every completion it returns (id, whether the cursor was mid-line, the
language) so that an event only needs the completion id; clients that know better may send
``mid_line`` themselves. ``stats`` answers the seed's question: the accept rate mid-buffer
versus at the end of a line.

Telemetry is best effort and never delays a completion: events are validated (``Event``: strict
types, bounded, finite values) on the request, then every write goes to one background writer
through a bounded queue; when the database is slow or locked by another process, the queue fills
and further rows are dropped and counted (``/metrics``) instead of making requests wait out
SQLite's busy timeout one after another. A database that cannot be opened turns telemetry off with
one warning, and ``stats`` reads through its own short-timeout connection (503 when the file is
locked), counts each served completion once per outcome (duplicate events and ids this server
never served do not count), and ignores values no valid event could have stored.
"""

from __future__ import annotations

import json
import logging
import math
import queue
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fimkit.data.usage import PRUNE_EVERY, SCHEMA, bounded_context, prune_contexts
from fimkit.errors import FimkitError
from fimkit.eval.arms import ArmOutcomes, compare, control_first
from fimkit.fileio import regular_file

MAX_MS = 86_400_000.0  # a day: any larger time is not a measurement


class Event(BaseModel):
    """One client event. Unknown fields are kept in ``raw`` only."""

    # strict: ``true`` is not the number 1, ``"1"`` is not a boolean
    model_config = ConfigDict(extra="allow", allow_inf_nan=False, strict=True)
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


QUEUE_ROWS = 1000  # rows waiting for the writer; past this they are dropped and counted
WRITE_TIMEOUT_S = 2.0  # the writer's busy timeout: it waits, no request does
READ_TIMEOUT_S = 0.5  # /v1/stats waits this long for a locked database, then answers 503


class Telemetry:
    def __init__(self, path: str | Path, *, queue_rows: int = QUEUE_ROWS):
        self.path = Path(path)
        self.errors = 0  # writes or reads that failed since start (shown in /metrics)
        self.dropped = 0  # rows dropped because the writer was behind (shown in /metrics)
        self.contexts_kept = 0
        if self.path.exists():
            regular_file(self.path, "telemetry database")  # a FIFO or device there would block or feed SQLite
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(self._connect(WRITE_TIMEOUT_S)) as db, db:
                db.executescript(SCHEMA)
                _add_columns(db)
        except (sqlite3.Error, OSError) as exc:
            raise FimkitError(f"{self.path}: not a usable telemetry database ({exc}); move it away or pass --no-telemetry") from exc
        self._queue: queue.Queue = queue.Queue(maxsize=queue_rows)
        self._writer = threading.Thread(target=self._write_loop, name="fimkit-telemetry", daemon=True)
        self._writer.start()

    @classmethod
    def open_or_off(cls, path: str | Path, warn=log.warning) -> Telemetry | None:
        """The telemetry store, or None (telemetry off, said once) when the file cannot be used: a
        read-only or damaged database must not keep the server from serving completions."""
        try:
            return cls(path)
        except FimkitError as exc:
            warn(f"telemetry is off: {exc}")
            return None

    def _connect(self, timeout: float) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=timeout, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    # -- the request side: validate, queue, never wait -----------------------------------------------
    def _put(self, item) -> bool:
        try:
            self._queue.put_nowait(item)
            return True
        except queue.Full:
            self.dropped += 1
            return False

    def record_completion(self, completion_id: str, *, endpoint: str, model: str, mid_line: bool,
                          language: str | None, chars: int, latency_ms: float,
                          context: tuple[str, str, str, str | None] | None = None, arm: str | None = None,
                          experiment: str | None = None) -> bool:
        """Queue one served completion; False (counted) when the writer is too far behind. ``context``
        (prefix, suffix, text, filename) is kept, bounded, for ``fimkit adapt --usage``; ``arm`` and
        ``experiment``: where the routing table sent it (``fimkit.serve.routing``)."""
        row = (completion_id, time.time(), endpoint, model, int(mid_line), (language or "")[:64] or None, chars,
               _finite(latency_ms), arm, experiment)
        return self._put(("completion", row, bounded_context(*context) if context is not None else None))

    def record_event(self, data: dict) -> str:
        """Validate one event and queue it; a FimkitError (HTTP 400/422) names what is wrong with it, and
        a writer too far behind to take it is an error of the server (HTTP 503), not of the client."""
        try:
            event = Event.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "event"
            raise FimkitError(f"field '{where}': {first['msg']}") from None
        kind = EVENT_TYPES.get(event.type.lower())
        if kind is None:
            raise FimkitError(f"unknown event type {event.type!r}; use one of: {', '.join(sorted(set(EVENT_TYPES)))}")
        row = (time.time(), kind, event.completion_id, event.choice_index, event.elapsed,
               None if event.mid_line is None else int(event.mid_line), event.accepted_chars, event.language,
               json.dumps(data)[:4000])
        if not self._put(("event", row, None)):
            raise TelemetryUnavailable("telemetry is behind (its database is slow or locked), so this event was "
                                       "dropped; completions are unaffected")
        return kind

    # -- the writer ----------------------------------------------------------------------------------
    def _write_loop(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                batch = [item]
                while len(batch) < 200:  # whatever else is waiting goes in the same transaction
                    try:
                        more = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if more is None:
                        self._queue.put(None)  # stop after this batch
                        self._queue.task_done()
                        break
                    batch.append(more)
                try:  # a connection per batch: a database file replaced or removed meanwhile is noticed
                    with closing(self._connect(WRITE_TIMEOUT_S)) as db, db:
                        for kind, row, extra in batch:
                            self._write(db, kind, row, extra)
                except (sqlite3.Error, OSError) as exc:
                    self.errors += len(batch)
                    log.warning("telemetry: could not store %d row(s): %s", len(batch), exc)
                finally:
                    for _ in batch[1:]:
                        self._queue.task_done()
            finally:
                self._queue.task_done()

    def _write(self, db: sqlite3.Connection, kind: str, row: tuple, context) -> None:
        if kind == "completion":
            db.execute("INSERT OR REPLACE INTO completions (id, created, endpoint, model, mid_line, language, chars, "
                       "latency_ms, arm, experiment) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
            if context is not None:
                db.execute("INSERT OR REPLACE INTO contexts VALUES (?, ?, ?, ?, ?)", (row[0], *context))
                self.contexts_kept += 1
                if self.contexts_kept % PRUNE_EVERY == 0:
                    prune_contexts(db)
            return
        created, kind, completion_id, choice, elapsed, mid_line, chars, language, raw = row
        if mid_line is None and completion_id:
            found = db.execute("SELECT mid_line FROM completions WHERE id = ?", (completion_id,)).fetchone()
            mid_line = found[0] if found else None
        db.execute("INSERT INTO events (created, type, completion_id, choice_index, elapsed_ms, mid_line, accepted_chars,"
                   " language, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (created, kind, completion_id, choice, elapsed, mid_line, chars, language, raw))

    def flush(self, timeout: float = 1.0) -> bool:
        """Wait (at most ``timeout`` seconds) until every queued row is written; True if it was."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued (for at most ``timeout`` seconds) and stop the writer."""
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            return
        self._writer.join(timeout)

    # -- reading -------------------------------------------------------------------------------------
    def stats(self, orders: dict[str, tuple[str, ...]] | None = None) -> dict:
        """Accept rates over the completions this server served: each completion counts once per outcome
        (a client that reports an accept three times accepted once), and a completion counts as shown
        when any event names it (some clients report only the outcome)."""
        self.flush(READ_TIMEOUT_S)  # what a client reported just before asking is counted
        # Only finite, plausible times are averaged: rows stored before events were validated may hold
        # anything, and one Infinity must not break the endpoint forever.
        bounded = f"CASE WHEN {{0}} BETWEEN 0 AND {MAX_MS} THEN {{0}} END"
        served_events = ("SELECT e.type AS type, e.completion_id AS id, e.elapsed_ms AS elapsed, "
                         "CASE WHEN COALESCE(e.mid_line, c.mid_line) IN (0, 1) THEN COALESCE(e.mid_line, c.mid_line) "
                         "END AS mid FROM events e JOIN completions c ON c.id = e.completion_id")
        try:
            with closing(self._connect(READ_TIMEOUT_S)) as db:
                rows = db.execute(f"WITH ev AS ({served_events}) SELECT type, mid, COUNT(DISTINCT id), "
                                  f"AVG({bounded.format('elapsed')}) FROM ev GROUP BY type, mid").fetchall()
                shown = dict(db.execute(f"WITH ev AS ({served_events}) SELECT mid, COUNT(DISTINCT id) FROM ev "
                                        "GROUP BY mid").fetchall())
                served = db.execute(f"SELECT COUNT(*), AVG({bounded.format('latency_ms')}) FROM completions").fetchone()
                ignored = db.execute("SELECT COUNT(*) FROM events WHERE completion_id IS NULL OR completion_id NOT IN "
                                     "(SELECT id FROM completions)").fetchone()[0]
                arms = arm_report(db, orders)
        except (sqlite3.Error, OSError) as exc:
            self.errors += 1
            busy = isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)
            raise TelemetryUnavailable(("the telemetry database is locked by another process; retry shortly" if busy
                                        else "telemetry could not be read") + f" ({exc})") from exc
        rows = [(t, m, n, _finite(avg)) for t, m, n, avg in rows]
        served = (served[0], _finite(served[1]))

        def count(kind: str, where=None) -> int:
            return sum(n for t, m, n, _ in rows if t == kind and (where is None or m == where))

        def rate(where=None) -> dict:
            views = sum(shown.values()) if where is None else shown.get(where, 0)
            accepted, partial = count("accept", where), count("partial", where)
            return {
                "shown": views, "accepted": accepted, "partially_accepted": partial, "dismissed": count("dismiss", where),
                "accept_rate": round(accepted / views, 4) if views else None,
                "accept_rate_with_partial": round(min(views, accepted + partial) / views, 4) if views else None,
            }

        elapsed = [avg for t, _, _, avg in rows if t == "accept" and avg is not None]
        return {
            "completions_served": served[0], "mean_latency_ms": round(served[1], 1) if served[1] is not None else None,
            "overall": rate(), "mid_line": rate(1), "end_of_line": rate(0),
            "mean_ms_to_accept": round(sum(elapsed) / len(elapsed), 1) if elapsed else None,
            "events_not_counted": ignored, "rows_dropped": self.dropped, **arms,
        }


def _add_columns(db: sqlite3.Connection) -> None:
    """Columns added since a database was made (CREATE TABLE IF NOT EXISTS keeps an old table as it is)."""
    have = {row[1] for row in db.execute("PRAGMA table_info(completions)")}
    for name in ("arm", "experiment"):
        if name not in have:
            db.execute(f"ALTER TABLE completions ADD COLUMN {name} TEXT")


def _number(column: str, low: float, high: float) -> str:
    """SQL for ``column`` when it holds a number in [low, high], else NULL: rows written by older
    versions, or by hand, may hold text, blobs or anything."""
    return f"CASE WHEN typeof({column}) IN ('integer', 'real') AND {column} BETWEEN {low} AND {high} THEN {column} END"


def arm_report(db: sqlite3.Connection, orders: dict[str, tuple[str, ...]] | None = None) -> dict:
    """Accept rate, characters accepted and latency per arm, over all routed traffic (``by_arm``) and per
    experiment with a verdict (``experiments``; ``orders`` gives each experiment's arms as its routes
    file lists them, the first being the control). A completion counts as shown when any event names
    it, as accepted once however often it is reported, with the characters its events say were taken,
    never more than it showed: these numbers decide experiments, and one client's claim of 10^8
    characters taken from an empty completion must not decide one. Arms and experiments are the text
    the server wrote; a row with anything else there (a blob) is not counted."""
    have = {row[1] for row in db.execute("PRAGMA table_info(completions)")}
    if "arm" not in have:
        return {"by_arm": {}, "experiments": {}}
    lat = _number("c.latency_ms", 0, MAX_MS)
    shown_chars = _number("c.chars", 0, 100_000_000)
    claimed = _number("e.accepted_chars", 0, 100_000_000)
    accepted = f"MIN(COALESCE({claimed}, {shown_chars}, 0), COALESCE({shown_chars}, 0))"  # none said: all of it
    partly = f"MIN(COALESCE({claimed}, 0), COALESCE({shown_chars}, 0))"
    text = "typeof(c.arm) = 'text' AND (c.experiment IS NULL OR typeof(c.experiment) = 'text')"
    shown = db.execute(
        "WITH per AS (SELECT c.id, c.arm, c.experiment, MAX(e.type = 'accept') AS acc, "
        f"MAX(CASE WHEN e.type = 'accept' THEN {accepted} WHEN e.type = 'partial' THEN {partly} ELSE 0 END) AS ch "
        f"FROM completions c JOIN events e ON e.completion_id = c.id WHERE {text} GROUP BY c.id) "
        "SELECT experiment, arm, COUNT(*), SUM(acc), SUM(COALESCE(ch, 0)), SUM(COALESCE(ch, 0) * COALESCE(ch, 0)) "
        "FROM per GROUP BY experiment, arm").fetchall()
    served = db.execute(f"SELECT experiment, arm, COUNT({lat}), SUM({lat}), SUM({lat} * {lat}) FROM completions c "
                        f"WHERE {text} GROUP BY experiment, arm").fetchall()
    groups: dict[tuple, ArmOutcomes] = {}

    def get(exp, arm) -> ArmOutcomes:
        return groups.setdefault((exp, arm), ArmOutcomes(arm))

    for exp, arm, n, k, ch, ch2 in shown:
        o = get(exp, arm)
        o.shown, o.accepted, o.chars, o.chars_sq = n, int(k or 0), float(ch or 0), float(ch2 or 0)
    for exp, arm, n, total, squares in served:
        o = get(exp, arm)
        o.served, o.latency, o.latency_sq = n, float(total or 0), float(squares or 0)
    by_arm: dict[str, ArmOutcomes] = {}
    for (_, arm), o in groups.items():
        t = by_arm.setdefault(arm, ArmOutcomes(arm))
        for f in ("shown", "accepted", "chars", "chars_sq", "served", "latency", "latency_sq"):
            setattr(t, f, getattr(t, f) + getattr(o, f))
    experiments = {}
    for exp in sorted({e for e, _ in groups if e is not None}):
        names = control_first([a for e, a in groups if e == exp], (orders or {}).get(exp, ()))
        experiments[exp] = compare([groups[(exp, a)] for a in names])
    return {"by_arm": {a: by_arm[a].summary() for a in control_first(by_arm)}, "experiments": experiments}
