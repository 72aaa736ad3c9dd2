"""Files in and out: the one careful reader, and the one temp-name-then-rename writer.

Reading: every file an operator or a client names (a routes table, an adapter, a workspace's
sources, a telemetry database, a prefix file) goes through ``read_file`` / ``read_text_file``, or
``regular_file`` when another library opens it. A name may point anywhere: a FIFO blocks whoever
opens it until something writes, ``/dev/zero`` never ends, a 5 GB log fills memory. So only a
regular file is read (checked on the open descriptor, without blocking), only up to a size cap,
UTF-8 errors are one line that gives the byte offset, and no message ever quotes the contents (the
name may be ``/etc/shadow``; ``shown`` is how a message names a value from such a file). A YAML file
(``read_yaml_file``) is parsed strictly: no aliases, no key given twice. They are plain blocking
functions: an event loop calls them through ``asyncio.to_thread``.

Writing: every output fimkit writes (JSON lines, token shards, GGUF files, model folders,
checkpoints, assembled models, caches) goes through ``atomic_output``: the block writes a hidden
temporary name beside the target, and only a block that succeeds renames it into place. An
interrupted run leaves the previous file (or nothing), never a truncated one.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fimkit.errors import FileRefusedError, FimkitError

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a device"),
          (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"))


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a plain file")


def _refuse(what: str, path: Path, problem: str, reason: str) -> FileRefusedError:
    return FileRefusedError(f"{what} {path}: {problem}", reason)


def _stat_error(what: str, path: Path, exc: OSError) -> FileRefusedError:
    if isinstance(exc, FileNotFoundError):
        return _refuse(what, path, "no such file", "missing")
    if isinstance(exc, PermissionError):
        return _refuse(what, path, "permission denied", "unreadable")
    return _refuse(what, path, f"cannot read it ({exc.strerror or type(exc).__name__})", "unreadable")


def regular_file(path: str | Path, what: str = "file") -> Path:
    """``path`` (``~`` expanded) when it is a regular file, links followed; else a one-line
    FileRefusedError naming it and what it is instead. For files another library opens (SQLite, a
    GGUF reader): it is checked before anything opens it, so a FIFO never blocks the opener."""
    path = Path(path).expanduser()
    try:
        st = path.stat()
    except OSError as exc:
        raise _stat_error(what, path, exc) from None
    except ValueError:  # a NUL in the name
        raise _refuse(what, path, "not a usable file name", "unreadable") from None
    if not stat.S_ISREG(st.st_mode):
        raise _refuse(what, path, f"not a regular file ({_kind(st.st_mode)})", "not a regular file")
    return path


def read_file(path: str | Path, what: str = "file", *, max_bytes: int) -> bytes:
    """The bytes of the regular file ``path``, at most ``max_bytes``; a FileRefusedError (one line,
    never the contents) for anything else. The kind is checked before opening (opening some devices
    does something) and again on the open descriptor (the name may be swapped in between); the open
    does not block on a FIFO, and a file that grows past the cap while being read is refused too."""
    path = regular_file(path, what)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise _stat_error(what, path, exc) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _refuse(what, path, f"not a regular file ({_kind(st.st_mode)})", "not a regular file")
        if st.st_size > max_bytes:
            raise _refuse(what, path, f"{st.st_size:,} bytes, over the {max_bytes:,}-byte limit", "too large")
        chunks, size = [], 0
        while size <= max_bytes:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > max_bytes:
            raise _refuse(what, path, f"over the {max_bytes:,}-byte limit", "too large")
        return b"".join(chunks)
    except OSError as exc:
        raise _stat_error(what, path, exc) from None
    finally:
        os.close(fd)


def read_text_file(path: str | Path, what: str = "file", *, max_bytes: int) -> str:
    """``read_file`` decoded as UTF-8; invalid UTF-8 is one line that gives the offset, not the text."""
    data = read_file(path, what, max_bytes=max_bytes)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _refuse(what, Path(path).expanduser(), f"not UTF-8 text (invalid byte at offset {exc.start})",
                      "not UTF-8") from None


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


def read_yaml_file(path: str | Path, what: str = "file", *, max_bytes: int) -> dict:
    """``read_text_file`` parsed by ``parse_yaml_mapping``: an operator's YAML file, carefully."""
    return parse_yaml_mapping(read_text_file(path, what, max_bytes=max_bytes), f"{what} {Path(path).expanduser()}")


def parse_yaml_mapping(text: str, where: str) -> dict:
    """``text`` as a YAML mapping, read strictly: no aliases (a few hundred bytes of nested ones expand
    to gigabytes, the "billion laughs"), no key given twice (the second silently won), and an error
    that gives the problem and its line, never the text around it (a wrong file may hold secrets)."""
    import yaml

    try:
        data = yaml.load(text, Loader=_strict_loader()) or {}  # noqa: S506 - a SafeLoader, made stricter
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise FimkitError(f"{where}: not valid YAML: {str(exc.problem or exc.context)[:120]}{at}") from None
    except yaml.YAMLError as exc:
        raise FimkitError(f"{where}: not valid YAML ({type(exc).__name__})") from None
    except RecursionError:
        raise FimkitError(f"{where}: nested too deeply") from None
    if not isinstance(data, dict):
        raise FimkitError(f"{where}: expected a mapping at the top level")
    return data


def shown(value) -> str:
    """``value`` as an error message may show it: a short name or a number as it is, anything else only
    by its kind and size, so that a message about a wrong file never carries that file's contents."""
    if isinstance(value, bool) or value is None or (isinstance(value, (int, float)) and abs(value) < 1e15):
        return repr(value)
    if isinstance(value, str) and 0 < len(value) <= 64 and all(c.isalnum() or c in "._-/@+" for c in value):
        return repr(value)
    if isinstance(value, str):
        return f"a string of {len(value)} characters"
    return f"a {type(value).__name__}"


@functools.cache
def _strict_loader():
    import yaml

    class StrictLoader(yaml.SafeLoader):
        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                raise yaml.composer.ComposerError(None, None, "aliases (*name) are not accepted",
                                                  self.peek_event().start_mark)
            return super().compose_node(parent, index)

        def construct_mapping(self, node, deep=False):
            seen = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    twice = key in seen
                    seen.add(key)
                except TypeError:  # an unhashable key: SafeLoader refuses it itself
                    continue
                if twice:
                    raise yaml.constructor.ConstructorError(None, None, f"the key {shown(key)} is given twice",
                                                            key_node.start_mark)
            return super().construct_mapping(node, deep)

    return StrictLoader


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
