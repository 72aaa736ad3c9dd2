"""JSON lines in and out: ``.jsonl``, ``.jsonl.gz``, ``.jsonl.zst``; atomic outputs; bad lines reported.

Readers stream (memory stays flat in corpus size). Writers write to a temporary name in
the destination folder and rename on success, so a file that exists is a complete file.
"""

from __future__ import annotations

import gzip
import io
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fimkit.errors import FimkitError, require

SUFFIXES = (".jsonl", ".jsonl.gz", ".jsonl.zst", ".json.gz", ".json.zst", ".json")


class BadRecordError(FimkitError):
    """A line that is not a JSON object with the fields a stage needs (carries file:line)."""

    def __init__(self, path: str | Path, line: int, reason: str):
        self.path, self.line, self.reason = str(path), line, reason
        super().__init__(f"{path}:{line}: {reason}")

    def __reduce__(self):  # survives the trip back from a worker process
        return (BadRecordError, (self.path, self.line, self.reason))


def is_jsonl(path: str | Path) -> bool:
    return str(path).endswith(SUFFIXES)


def _zstd():
    return require("zstandard", extra="data", purpose="reading and writing .zst files")


@contextmanager
def open_text(path: str | Path, mode: str = "r"):
    """Open a possibly compressed text file by its suffix ('r' or 'w', UTF-8)."""
    path = str(path)
    if path.endswith(".gz"):
        with gzip.open(path, mode + "t", encoding="utf-8", newline="\n") as fh:
            yield fh
    elif path.endswith(".zst"):
        zstd = _zstd()
        if mode == "r":
            with open(path, "rb") as raw, zstd.ZstdDecompressor().stream_reader(raw) as reader:
                yield io.TextIOWrapper(reader, encoding="utf-8", newline="\n")
        else:
            with open(path, "wb") as raw, zstd.ZstdCompressor(level=3).stream_writer(raw) as writer:
                text = io.TextIOWrapper(writer, encoding="utf-8", newline="\n", write_through=True)
                yield text
                text.flush()
    else:
        with open(path, mode, encoding="utf-8", newline="\n") as fh:
            yield fh


@dataclass(frozen=True)
class Line:
    """One line of a JSON lines file: the parsed object, or the reason it could not be parsed."""

    path: str
    number: int  # 1-based, as editors count
    raw: str
    record: dict | None
    error: str | None = None


def read_lines(path: str | Path) -> Iterator[Line]:
    """Every non-blank line of a JSON lines file, parsed; never raises for a bad line."""
    path = str(path)
    try:
        with open_text(path) as fh:
            for number, raw in enumerate(fh, start=1):
                if not raw.strip():
                    continue
                try:
                    obj = json.loads(raw)
                except ValueError as exc:
                    yield Line(path, number, raw, None, f"not valid JSON ({exc.msg} at column {exc.colno})")
                    continue
                if not isinstance(obj, dict):
                    yield Line(path, number, raw, None, f"expected a JSON object, found {type(obj).__name__}")
                    continue
                yield Line(path, number, raw, obj)
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise FimkitError(f"{path}: cannot read ({exc}); is it a complete, UTF-8 JSON lines file?") from exc
    except Exception as exc:  # zstandard raises its own ZstdError for corrupt frames
        if type(exc).__name__ == "ZstdError":
            raise FimkitError(f"{path}: corrupt .zst data ({exc})") from exc
        raise


def dumps(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


@contextmanager
def atomic_output(path: str | Path):
    """Yield a temporary path beside ``path``; rename it to ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A hidden name that keeps the real suffix, so open_text still picks the right compression.
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextmanager
def write_jsonl(path: str | Path):
    """A writer for JSON lines that appears at ``path`` only when complete. Yields ``write(record)``."""
    with atomic_output(path) as tmp, open_text(tmp, "w") as fh:
        yield lambda record: fh.write(dumps(record) + "\n")
