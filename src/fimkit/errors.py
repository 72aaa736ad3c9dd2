"""Domain exceptions.

Library code raises these; only the edges (the CLI, the HTTP server) turn them
into a one-line message, an exit code or an HTTP status. Every message should
say what is wrong *and* how to fix it.
"""

from __future__ import annotations


class FimkitError(Exception):
    """Base class for errors a user can act on. Exit code 2 at the CLI."""

    exit_code = 2


class UnknownFormatError(FimkitError):
    """A FIM family or layout name that the registry does not know."""


class ModelNotFoundError(FimkitError):
    """A model reference that resolves to nothing on this machine."""


class ChecksumError(FimkitError):
    """A file whose sha256 does not match what it must be (corrupt or truncated)."""


class CorruptFileError(FimkitError):
    """A file that is not what its name says (a truncated GGUF, a bad header)."""


class MissingDependencyError(FimkitError):
    """An optional package that this operation needs is not installed."""

    def __init__(self, package: str, extra: str, purpose: str):
        self.package = package
        self.extra = extra
        super().__init__(
            f"{purpose} needs the Python package '{package}', which is not installed; "
            f"install it with: pip install 'fimkit[{extra}]'  (or: make demo)"
        )


def require(module: str, *, package: str | None = None, extra: str, purpose: str):
    """Import an optional heavy module lazily, or raise a MissingDependencyError that says what to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(package or module, extra, purpose) from exc
