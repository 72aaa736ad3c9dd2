"""What users did with completions: the telemetry database ``fimkit serve`` writes, read back as data.

The server records each completion it returns (``completions``), what the editor reported about it
(``events``: view, accept, partial, dismiss) and, unless turned off, the code around the cursor
and the text (``contexts``: the prefix's last and the suffix's first few thousand characters; the
file stays on this machine, under $FIMKIT_HOME). This module owns that schema, so the server that
writes it and ``fimkit adapt`` that learns from it agree on it:
- ``accepted_completions``: the completions a user accepted whole, as holes (prefix, middle,
  suffix): real cursors and the middles people wanted;
- ``accept_rates``: per model and language, completions shown and accepted, so a report can put
  the accept rate of the base beside the adapted model's once it has been served.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from urllib.parse import quote

from fimkit.errors import FimkitError
from fimkit.fileio import regular_file

SCHEMA = """
CREATE TABLE IF NOT EXISTS completions (
    id TEXT PRIMARY KEY, created REAL, endpoint TEXT, model TEXT, mid_line INTEGER, language TEXT,
    chars INTEGER, latency_ms REAL, arm TEXT, experiment TEXT);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, created REAL, type TEXT, completion_id TEXT, choice_index INTEGER,
    elapsed_ms REAL, mid_line INTEGER, accepted_chars INTEGER, language TEXT, raw TEXT);
CREATE INDEX IF NOT EXISTS events_completion ON events (completion_id);
CREATE TABLE IF NOT EXISTS contexts (id TEXT PRIMARY KEY, prefix TEXT, suffix TEXT, text TEXT, filename TEXT);
"""
PREFIX_CHARS = 4000  # kept of the prefix, nearest the cursor: what a 1k-token prompt sees of it
SUFFIX_CHARS = 2000
TEXT_CHARS = 4000


MAX_CONTEXTS = 20_000  # contexts of completions never accepted beyond the newest these many are dropped
PRUNE_EVERY = 500  # completions recorded between two prunings


def prune_contexts(db: sqlite3.Connection) -> None:
    """Keep the contexts table bounded (~6 kB a row): accepted ones stay, the others only while recent."""
    db.execute("DELETE FROM contexts WHERE rowid <= (SELECT rowid FROM contexts ORDER BY rowid DESC LIMIT 1 OFFSET ?) "
               "AND id NOT IN (SELECT completion_id FROM events WHERE type = 'accept' AND completion_id IS NOT NULL)",
               (MAX_CONTEXTS,))


def bounded_context(prefix: str, suffix: str, text: str, filename: str | None) -> tuple[str, str, str, str | None]:
    """What is stored of one completion's context (the parts a prompt would use)."""
    return prefix[-PREFIX_CHARS:], suffix[:SUFFIX_CHARS], text[:TEXT_CHARS], (filename or None) and filename[:500]


def open_readonly(path: str | Path) -> sqlite3.Connection:
    p = Path(path).expanduser()
    if not p.exists():
        raise FimkitError(f"{p}: no telemetry database; fimkit serve writes one at $FIMKIT_HOME/telemetry.sqlite "
                          "while editors send /v1/events")
    regular_file(p, "telemetry database")  # SQLite opening a FIFO would wait for a writer forever
    try:
        db = sqlite3.connect(f"file:{quote(str(p.resolve()))}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error as exc:
        raise FimkitError(f"{p}: not a fimkit telemetry database ({exc})") from exc
    try:
        db.executescript("SELECT 1 FROM completions LIMIT 1; SELECT 1 FROM events LIMIT 1;")
    except sqlite3.Error as exc:
        db.close()
        raise FimkitError(f"{p}: not a fimkit telemetry database ({exc})") from exc
    return db


def accepted_completions(path: str | Path) -> list[dict]:
    """Accepted, non-empty completions whose context was kept, oldest first, one per completion."""
    with closing(open_readonly(path)) as db:
        try:  # the context kept is the first choice's: an accepted other choice (n > 1) is not its text
            rows = db.execute(
                "SELECT c.id, c.model, c.language, x.prefix, x.suffix, x.text, x.filename FROM completions c "
                "JOIN contexts x ON x.id = c.id WHERE c.id IN (SELECT completion_id FROM events WHERE type = 'accept' "
                "AND COALESCE(choice_index, 0) = 0) ORDER BY c.created").fetchall()
        except sqlite3.OperationalError:  # written before contexts were kept
            return []
    return [{"id": i, "model": m, "language": lang, "prefix": p or "", "suffix": s or "", "middle": t,
             "source": f"accepted/{i}", "filename": f}
            for i, m, lang, p, s, t, f in rows if isinstance(t, str) and t.strip()]


def accept_rates(path: str | Path) -> dict[str, dict[str, dict]]:
    """{model: {language: {"shown", "accepted", "accept_rate"}}}: completions shown (a view or an
    accept event: some clients report only accepts) and accepted."""
    with closing(open_readonly(path)) as db:
        rows = db.execute(
            "SELECT c.model, COALESCE(c.language, '?'), COUNT(DISTINCT c.id), "
            "COUNT(DISTINCT CASE WHEN e.type = 'accept' THEN c.id END) FROM events e "
            "JOIN completions c ON c.id = e.completion_id WHERE e.type IN ('view', 'accept') "
            "GROUP BY c.model, COALESCE(c.language, '?')").fetchall()
    out: dict[str, dict[str, dict]] = {}
    for model, language, shown, accepted in rows:
        out.setdefault(str(model), {})[str(language)] = {"shown": shown, "accepted": accepted}
    for languages in out.values():
        for entry in languages.values():
            entry["accept_rate"] = round(entry["accepted"] / entry["shown"], 4) if entry["shown"] else None
    return out
