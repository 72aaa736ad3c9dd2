"""The one careful reader (``fimkit.fileio``): a regular file only, within its size cap, UTF-8 errors as one
line, the contents never in a message, and never blocked by what a name points at; and every place
that reads a file an operator or a client names uses it (routes: tests/serve/test_hostile_third_round.py)."""

import os
import threading

import pytest

from fimkit.errors import FileRefusedError
from fimkit.fileio import read_file, read_text_file, regular_file

SECRET = "CANARY_f11e"


def _bounded(fn, timeout=15.0):
    """``fn()`` in a thread, which must return (or raise) within ``timeout``: a FIFO blocked for ever."""
    out = {}

    def run():
        try:
            out["value"] = fn()
        except BaseException as exc:  # noqa: BLE001
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "blocked"
    if "error" in out:
        raise out["error"]
    return out["value"]


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe.py"
    os.mkfifo(path)
    yield path
    try:  # let go of a reader that would be blocked (none must be)
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:
        pass


def test_a_regular_file_is_read(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("héllo\n")
    assert read_text_file(path, "f", max_bytes=100) == "héllo\n"
    assert read_file(path, "f", max_bytes=7) == "héllo\n".encode()


@pytest.mark.parametrize("kind, reason, words", [
    ("fifo", "not a regular file", "not a regular file (a FIFO)"),
    ("device", "not a regular file", "not a regular file (a device)"),
    ("folder", "not a regular file", "not a regular file (a folder)"),
    ("missing", "missing", "no such file"),
    ("large", "too large", "over the 10-byte limit"),
    ("latin-1", "not UTF-8", "not UTF-8 text (invalid byte at offset 7)"),
])
def test_anything_else_is_one_line_that_names_it_and_never_quotes_it(kind, reason, words, tmp_path, fifo):
    path = {"fifo": fifo, "device": "/dev/zero", "folder": tmp_path, "missing": tmp_path / "nope"}.get(kind)
    if kind == "large":
        path = tmp_path / "big"
        path.write_text(SECRET * 3)
    elif kind == "latin-1":
        path = tmp_path / "latin"
        path.write_bytes(SECRET[:7].encode() + b"\xe9" + SECRET.encode())
    with pytest.raises(FileRefusedError) as err:
        _bounded(lambda: read_text_file(path, "--thing", max_bytes=10 if kind == "large" else 1000))
    message = str(err.value)
    assert err.value.reason == reason and words in message and message.startswith(f"--thing {path}")
    assert SECRET not in message and "\n" not in message


def test_regular_file_checks_without_opening(fifo):
    with pytest.raises(FileRefusedError, match="a FIFO"):
        _bounded(lambda: regular_file(fifo, "telemetry database"))


def test_a_workspace_with_a_fifo_and_a_device_link_is_indexed_without_blocking(tmp_path, fifo, monkeypatch):
    from fimkit.infer.context.workspace import WorkspaceIndex

    monkeypatch.setenv("FIMKIT_HOME", str(tmp_path / "home"))
    root = fifo.parent
    (root / "shapes.py").write_text("def make_box(w, h):\n    return (w, h)\n")
    index = WorkspaceIndex(root)
    stats = _bounded(index.refresh)
    assert stats.files == 1 and stats.dropped.get("not a regular file") == 1
    (root / "shapes.py").unlink()
    os.mkfifo(root / "shapes.py")  # swapped for a FIFO after it was indexed: its text is never waited for
    try:
        assert _bounded(lambda: index.text("shapes.py")) == ""
    finally:
        try:
            os.close(os.open(root / "shapes.py", os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass


def test_a_telemetry_path_that_is_not_a_file_turns_telemetry_off_and_stats_say_so(fifo, capsys):
    from fimkit.cli import main
    from fimkit.serve.telemetry import Telemetry

    warned = []
    assert _bounded(lambda: Telemetry.open_or_off(fifo, warn=warned.append)) is None
    assert "not a regular file (a FIFO)" in warned[0]
    assert _bounded(lambda: main(["stats", "--db", str(fifo)])) == 2
    err = capsys.readouterr().err
    assert "not a regular file (a FIFO)" in err and len(err.strip().splitlines()) == 1


def test_complete_refuses_a_prefix_file_that_is_not_a_file(fifo, capsys):
    from fimkit.cli import main

    assert _bounded(lambda: main(["complete", "--prefix-file", str(fifo)])) == 2
    err = capsys.readouterr().err
    assert "not a regular file (a FIFO)" in err and len(err.strip().splitlines()) == 1
