"""Writing files so that a reader never sees half of one: the one temp-name-then-rename helper.

Every output fimkit writes (JSON lines, token shards, GGUF files, model folders, checkpoints,
assembled models, caches) goes through ``atomic_output``: the block writes a hidden temporary
name beside the target, and only a block that succeeds renames it into place. An interrupted
run leaves the previous file (or nothing), never a truncated one.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


@contextmanager
def atomic_output(path: str | Path, *, replace_dir: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (the block creates a file or a folder there) and rename
    it to ``path`` if the block succeeds. The temporary name keeps the real suffix, so code that picks
    a compression by suffix still works. ``replace_dir``: an existing folder at ``path`` is replaced
    (a rename cannot land on a non-empty folder)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    _remove(tmp)
    try:
        yield tmp
        if replace_dir and path.is_dir():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        _remove(tmp)


def write_text(path: str | Path, text: str) -> Path:
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json(path: str | Path, data) -> Path:
    return write_text(path, json.dumps(data, indent=2) + "\n")
