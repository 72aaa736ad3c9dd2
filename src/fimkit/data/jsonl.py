"""JSON lines in and out: ``.jsonl``, ``.jsonl.gz``, ``.jsonl.zst``; atomic outputs; bad lines reported.

Readers stream (memory stays flat in corpus size). Writers write to a temporary name in
the destination folder and rename on success, so a file that exists is a complete file.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fimkit.errors import FimkitError, require
from fimkit.fileio import atomic_output

SUFFIXES = (".jsonl", ".jsonl.gz", ".jsonl.zst", ".json.gz", ".json.zst", ".json")

try:  # orjson parses and writes JSON lines 2-5x faster; the standard library covers what it refuses
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson ships with the data extra
    _orjson = None


def loads(raw: bytes | str):
    if _orjson is not None:
        try:
            return _orjson.loads(raw)
        except _orjson.JSONDecodeError:
            pass  # NaN, huge integers...: let the standard library decide
    return json.loads(raw)


def dumps_bytes(record: dict) -> bytes:
    if _orjson is not None:
        try:
            return _orjson.dumps(record)
        except TypeError:
            pass
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


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
def open_binary(path: str | Path, mode: str = "r"):
    """Open a possibly compressed file by its suffix, as bytes ('r' or 'w')."""
    path = str(path)
    if path.endswith(".gz"):
        with gzip.open(path, mode + "b") as fh:
            yield fh
    elif path.endswith(".zst"):
        zstd = _zstd()
        if mode == "r":
            with open(path, "rb") as raw, zstd.ZstdDecompressor().stream_reader(raw) as reader:
                yield io.BufferedReader(reader, 1 << 20)
        else:
            with open(path, "wb") as raw, zstd.ZstdCompressor(level=3).stream_writer(raw) as writer:
                yield writer
    else:
        with open(path, mode + "b", buffering=1 << 20) as fh:
            yield fh


@dataclass(slots=True)
class Line:
    """One line of a JSON lines file: the parsed object, or the reason it could not be parsed."""

    path: str
    number: int  # 1-based, as editors count
    raw: bytes
    record: dict | None
    error: str | None = None


def read_lines(path: str | Path) -> Iterator[Line]:
    """Every non-blank line of a JSON lines file, parsed; never raises for a bad line."""
    path = str(path)
    try:
        with open_binary(path) as fh:
            for number, raw in enumerate(fh, start=1):
                if raw.isspace():  # blank lines are not records
                    continue
                try:
                    obj = loads(raw)
                except ValueError as exc:
                    reason = f"not valid JSON ({exc.msg} at column {exc.colno})" if hasattr(exc, "colno") else f"not valid JSON ({exc})"
                    yield Line(path, number, raw, None, reason)
                    continue
                if not isinstance(obj, dict):
                    yield Line(path, number, raw, None, f"expected a JSON object, found {type(obj).__name__}")
                    continue
                yield Line(path, number, raw, obj)
    except (OSError, EOFError) as exc:
        raise FimkitError(f"{path}: cannot read ({exc}); is it a complete JSON lines file?") from exc
    except Exception as exc:  # zstandard raises its own ZstdError for corrupt frames
        if type(exc).__name__ == "ZstdError":
            raise FimkitError(f"{path}: corrupt .zst data ({exc})") from exc
        raise


@contextmanager
def write_jsonl(path: str | Path):
    """A writer for JSON lines that appears at ``path`` only when complete. Yields ``write(record)``."""
    with atomic_output(path) as tmp, open_binary(tmp, "w") as fh:
        yield lambda record: fh.write(dumps_bytes(record) + b"\n")
