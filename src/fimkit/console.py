"""Keeping a long command's screen to fimkit's own lines: what the libraries print goes to a log file.

llama.cpp logs from C straight to file descriptor 2 (a hundred lines per quantization), and torch,
transformers and peft print deprecation warnings; interleaved with a pipeline's progress they bury
it. ``library_output_to(path)`` points descriptor 2 at ``path`` and routes Python warnings and the
libraries' loggers there too, while ``sys.stderr`` (fimkit's messages, tqdm's progress bars) keeps
writing to the terminal.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LIBRARY_LOGGERS = ("transformers", "accelerate", "peft", "torch", "huggingface_hub", "datasets")


@contextmanager
def library_output_to(path: str | Path) -> Iterator[Path]:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved_fd = os.dup(2)
    terminal = os.fdopen(os.dup(saved_fd), "w", buffering=1, encoding=sys.stderr.encoding or "utf-8",
                         errors="replace")
    log_file = open(path, "a", buffering=1, encoding="utf-8", errors="replace")
    old_stderr, old_showwarning = sys.stderr, warnings.showwarning
    handler = logging.StreamHandler(log_file)
    saved_loggers = []
    try:
        os.dup2(log_file.fileno(), 2)
        sys.stderr = terminal
        warnings.showwarning = lambda message, category, filename, lineno, file=None, line=None: log_file.write(
            warnings.formatwarning(message, category, filename, lineno, line))
        for name in LIBRARY_LOGGERS:
            logger = logging.getLogger(name)
            saved_loggers.append((logger, logger.handlers[:], logger.propagate))
            logger.handlers = [handler]
            logger.propagate = False
        _quiet_transformers(handler)
        yield path
    finally:
        sys.stderr.flush()
        os.dup2(saved_fd, 2)
        os.close(saved_fd)
        sys.stderr, warnings.showwarning = old_stderr, old_showwarning
        for logger, handlers, propagate in saved_loggers:
            logger.handlers, logger.propagate = handlers, propagate
        terminal.close()
        log_file.close()


def _quiet_transformers(handler: logging.Handler) -> None:
    """transformers keeps its own default handler on the stream it found at import; point it here."""
    module = sys.modules.get("transformers.utils.logging")
    if module is None:
        try:
            import transformers.utils.logging as module  # noqa: PLC0415 - only when transformers is installed
        except ImportError:
            return
    module.disable_default_handler()
    module.add_handler(handler)
