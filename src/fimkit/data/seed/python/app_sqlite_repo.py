"""Repository class hiding SQLite access for a customer-notes feature."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterator

SCHEMA = """
CREATE TABLE IF NOT EXISTS notes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    created_at  TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_notes_customer ON notes(customer_id, created_at);
"""


@dataclass(frozen=True)
class Note:
    id: int
    customer_id: str
    body: str
    created_at: datetime


class NoteRepository:
    def __init__(self, path: str = ":memory:") -> None:
        self._conn = sqlite3.connect(path)
        self._conn.row_factory = sqlite3.Row
        # Foreign keys are off by default in SQLite; enable them defensively.
        self._conn.execute("PRAGMA foreign_keys = ON")
        self._conn.executescript(SCHEMA)

    @staticmethod
    def _to_note(row: sqlite3.Row) -> Note:
        return Note(row["id"], row["customer_id"], row["body"],
                    datetime.fromisoformat(row["created_at"]))

    def add(self, customer_id: str, body: str) -> Note:
        created = datetime.now(timezone.utc)
        # "with conn" commits on success and rolls back if the block raises.
        with self._conn:
            cur = self._conn.execute(
                "INSERT INTO notes (customer_id, body, created_at) VALUES (?, ?, ?)",
                (customer_id, body, created.isoformat()),
            )
        return Note(cur.lastrowid, customer_id, body, created)

    def get(self, note_id: int) -> Note | None:
        row = self._conn.execute("SELECT * FROM notes WHERE id = ?", (note_id,)).fetchone()
        return self._to_note(row) if row else None

    def for_customer(self, customer_id: str, limit: int = 50) -> Iterator[Note]:
        rows = self._conn.execute(
            "SELECT * FROM notes WHERE customer_id = ? ORDER BY created_at DESC LIMIT ?",
            (customer_id, limit),
        )
        return (self._to_note(r) for r in rows)

    def search(self, text: str) -> list[Note]:
        # Escape LIKE wildcards so user input is matched literally.
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self._conn.execute(
            "SELECT * FROM notes WHERE body LIKE ? ESCAPE '\\' ORDER BY id", (pattern,))
        return [self._to_note(r) for r in rows]

    def delete(self, note_id: int) -> bool:
        with self._conn:
            cur = self._conn.execute("DELETE FROM notes WHERE id = ?", (note_id,))
        return cur.rowcount == 1

    def close(self) -> None:
        self._conn.close()


if __name__ == "__main__":
    repo = NoteRepository()
    repo.add("cus_1", "Asked about 100% refund")
    repo.add("cus_1", "Upgraded plan")
    print([n.body for n in repo.search("100%")])
    print([n.body for n in repo.for_customer("cus_1")])
