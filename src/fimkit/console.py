"""Keeping a long command's screen to fimkit's own lines: what the libraries print goes to a log file.

llama.cpp logs a hundred lines per quantization (through llama-cpp-python's callback, which prints
to ``sys.stderr``, or from C straight to file descriptor 2), and torch, transformers and peft print
deprecation warnings; interleaved with a pipeline's progress they bury it. ``library_output_to(path)``
points descriptor 2, llama.cpp's log callback, Python warnings and the libraries' loggers at
``path``, while ``sys.stderr`` (fimkit's messages, tqdm's progress bars) keeps writing to the terminal.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
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
    llama_callback = None
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
        llama_callback = _route_llama_cpp(log_file)
        yield path
    finally:
        if llama_callback is not None:
            _restore_llama_cpp()
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


def _route_llama_cpp(log_file):
    """llama-cpp-python's log callback prints to whatever ``sys.stderr`` is when llama.cpp logs (here:
    the terminal); install one that writes to the log file. Returns it (it must stay referenced)."""
    if "llama_cpp" not in sys.modules:
        try:
            import llama_cpp  # noqa: F401 - loaded only to reach its log hook
        except ImportError:
            return None
    import ctypes

    import llama_cpp

    @llama_cpp.llama_log_callback
    def to_file(level, text, user_data):
        log_file.write(text.decode("utf-8", "replace"))

    llama_cpp.llama_log_set(to_file, ctypes.c_void_p(0))
    _KEEP.append(to_file)
    _ROUTED.append(to_file)
    return to_file


def _restore_llama_cpp() -> None:
    """Back to the callback of the enclosing block (blocks nest), else llama-cpp-python's own."""
    import ctypes

    import llama_cpp
    from llama_cpp import _logger

    if _ROUTED:
        _ROUTED.pop()
    llama_cpp.llama_log_set(_ROUTED[-1] if _ROUTED else _logger.llama_log_callback, ctypes.c_void_p(0))


@contextmanager
def held_library_output() -> Iterator[Path]:
    """What libraries print during one step (llama.cpp setting up a context) held in a temporary file,
    whose path is yielded: read it to show the lines only when the step fails."""
    with tempfile.TemporaryDirectory(prefix="fimkit-") as tmp, library_output_to(Path(tmp) / "output.log") as path:
        yield path


# ctypes callbacks must outlive every call llama.cpp may make to them, even after the block ends.
_KEEP: list = []
_ROUTED: list = []  # the callbacks of the blocks now open, innermost last
