"""Write files atomically so readers never observe a partially written file."""
from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator


@contextmanager
def atomic_write(target: str | os.PathLike[str], mode: str = "w",
                 encoding: str | None = "utf-8", fsync: bool = True) -> Iterator[IO[Any]]:
    """Yield a temp file next to ``target`` and rename it into place on success.

    The temp file lives in the same directory because os.replace is only
    atomic within a single filesystem.
    """
    if "b" in mode:
        encoding = None
    path = Path(target)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, encoding=encoding) as fh:
            yield fh
            fh.flush()
            if fsync:
                # Without fsync a power loss can leave the renamed file empty.
                os.fsync(fh.fileno())
        if path.exists():
            # mkstemp creates 0600 files; keep the permissions the target already had.
            os.chmod(tmp_name, path.stat().st_mode & 0o7777)
        os.replace(tmp_name, path)
    except BaseException:
        # Clean up on any failure, including KeyboardInterrupt.
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise


def save_json(path: str | os.PathLike[str], data: Any) -> None:
    with atomic_write(path) as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
        fh.write("\n")


if __name__ == "__main__":
    out = Path(tempfile.gettempdir()) / "atomic_demo.json"
    save_json(out, {"version": 3, "features": ["search", "export"]})
    print(out.read_text())
    try:
        with atomic_write(out) as fh:
            fh.write("{broken")
            raise RuntimeError("simulated crash mid-write")
    except RuntimeError:
        pass
    print("still intact:", json.loads(out.read_text())["version"])
