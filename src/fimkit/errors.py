"""Domain exceptions.

Library code raises these; only the edges (the CLI, the HTTP server) turn them
into a one-line message, an exit code or an HTTP status. Every message should
say what is wrong *and* how to fix it.
"""

from __future__ import annotations


class FimkitError(Exception):
    """Base class for errors a user can act on. Exit code 2 at the CLI."""

    exit_code = 2
    # The status the HTTP server answers with: by default the request asked for something that
    # cannot be done (a model without FIM tokens in a FIM mode...), which is the client's to fix.
    http_status = 400


class BadRequestError(FimkitError):
    """A request that cannot be served as sent (HTTP 400 at the server's edge)."""

    http_status = 400


class ServerBusyError(FimkitError):
    """More work is waiting than the server accepts (HTTP 503 with Retry-After)."""

    http_status = 503


class BackendError(FimkitError):
    """The model backend (a remote server) failed to answer properly (HTTP 502)."""

    http_status = 502


class BackendUnavailableError(BackendError):
    """The model backend cannot be reached at all (HTTP 503)."""

    http_status = 503


class UnknownFormatError(FimkitError):
    """A FIM family or layout name that the registry does not know."""


class ModelNotFoundError(FimkitError):
    """A model reference that resolves to nothing on this machine."""


class ChecksumError(FimkitError):
    """A file whose sha256 does not match what it must be (corrupt or truncated)."""


class CorruptFileError(FimkitError):
    """A file that is not what its name says (a truncated GGUF, a bad header)."""


class FileRefusedError(FimkitError):
    """A file an operator or a client named that fimkit will not read: missing, not a regular file (a
    FIFO would block, a device never ends), over its size limit, or not UTF-8 text. ``reason`` is the
    short why ("not a regular file", "too large"...), for callers that count instead of failing."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


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
