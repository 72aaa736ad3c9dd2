"""A handful of small context managers that show up in most codebases."""
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def working_directory(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Temporarily chdir into ``path``; the previous cwd is restored even on error."""
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield Path(path)
    finally:
        os.chdir(previous)


@contextmanager
def env_vars(**overrides: str | None) -> Iterator[None]:
    """Set (or with None, unset) environment variables for the duration of the block."""
    saved = {key: os.environ.get(key) for key in overrides}
    try:
        for key, value in overrides.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield
    finally:
        # Restore the exact prior state, including "was not set at all".
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


class Stopwatch:
    """Measure a block's duration; usable as ``with Stopwatch("load") as sw:``."""

    def __init__(self, label: str = "block", report: bool = True) -> None:
        self.label = label
        self.report = report
        self.elapsed: float = 0.0

    def __enter__(self) -> "Stopwatch":
        self._start = time.perf_counter()
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        self.elapsed = time.perf_counter() - self._start
        if self.report:
            status = "failed" if exc_type else "ok"
            print(f"[{self.label}] {status} in {self.elapsed * 1000:.1f} ms")
        # Returning False lets any exception propagate to the caller.
        return False


if __name__ == "__main__":
    with Stopwatch("demo"), env_vars(APP_MODE="test", HOME=None), working_directory("/"):
        print(os.getcwd(), os.environ.get("APP_MODE"), os.environ.get("HOME"))
    print(os.environ.get("APP_MODE"), bool(os.environ.get("HOME")))
