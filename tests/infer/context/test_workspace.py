"""The workspace index and repository context, on small projects written here (the quality of
repository context is measured in the README, on real repositories)."""

import os
import time

import pytest

from fimkit.infer.context.budget import ContextBudget, fit_context
from fimkit.infer.context.outline import outline, words
from fimkit.infer.context.repository import RepoContext, render_preceding
from fimkit.infer.context.workspace import WorkspaceIndex

pytest.importorskip("bm25s")

GEOMETRY = '''"""Shapes."""
import math

UNIT = 1.0


class Point:
    x: float
    y: float = 0.0

    def distance_to(self, other: "Point") -> float:
        return math.hypot(self.x - other.x, self.y - other.y)


def make_point(x: float, y: float = 0.0, *, label: str | None = None) -> Point:
    """A point."""
    return Point(x, y)
'''

APP = '''from geometry import make_point


def main():
    origin = make_point(0.0)
    target = make_point(
'''


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.setenv("FIMKIT_HOME", str(tmp_path / "home"))
    root = tmp_path / "proj"
    root.mkdir()
    (root / "geometry.py").write_text(GEOMETRY)
    (root / "app.py").write_text(APP + "        3.0, 4.0)\n    return origin.distance_to(target)\n")
    (root / "notes.txt").write_text("not code")
    (root / ".gitignore").write_text("build/\n")
    (root / "build").mkdir()
    (root / "build" / "copy.py").write_text(GEOMETRY)
    return root


def test_outline_gives_signatures_fields_and_constants_not_bodies():
    chunks, symbols = outline(GEOMETRY, "python")
    by_name = {s.name: s for s in symbols}
    assert by_name["make_point"].stub == "def make_point(x: float, y: float = 0.0, *, label: str | None = None) -> Point: ..."
    assert by_name["Point"].stub.splitlines() == [
        "class Point:", "    x: float", "    y: float = 0.0",
        '    def distance_to(self, other: "Point") -> float: ...']
    assert by_name["distance_to"].kind == "method" and by_name["distance_to"].owner == "Point"
    assert by_name["UNIT"].stub == "UNIT = 1.0" and "math.hypot" not in "".join(s.stub for s in symbols)
    lines = GEOMETRY.split("\n")
    assert chunks[0].start == 0 and chunks[-1].end >= len(lines) - 1  # the chunks cover the file
    assert all(a.end <= b.start for a, b in zip(chunks, chunks[1:]))
    assert outline("x = 1\n" * 100, "sql")[1] == []  # no grammar for definitions: line windows only


def test_words_split_identifiers_and_drop_keywords():
    assert words("def getHTTPResponse(self, max_size): return") == [
        "gethttpresponse", "get", "http", "response", "max_size", "max", "size"]


def test_index_honours_gitignore_and_finds_definitions_and_similar_code(project):
    index = WorkspaceIndex.open(project)
    assert set(index.files) == {"geometry.py", "app.py"}  # build/ is ignored, notes.txt is not code
    [(path, sym)] = index.definitions("make_point")
    assert path == "geometry.py" and sym.kind == "function"
    found = index.search("math.hypot(self.x - other.x)", 1)
    assert found and found[0][0] == "geometry.py" and "hypot" in index.text(found[0][0], found[0][1])
    assert index.search("math.hypot(self.x - other.x)", 1, exclude="geometry.py") == []  # nothing else is alike


def test_reopening_reads_only_changed_files_and_survives_a_damaged_cache(project):
    WorkspaceIndex.open(project)
    again = WorkspaceIndex(project)
    again.load()
    assert again.refresh().read == 0
    (project / "geometry.py").write_text(GEOMETRY + "\n\ndef scale(p: Point, k: float) -> Point: ...\n")
    os.utime(project / "geometry.py", ns=(time.time_ns(), time.time_ns() + 10**9))
    stats = again.refresh()
    assert stats.read == 1 and again.definitions("scale")
    again.save()
    again.cache.write_bytes(b"garbage")
    broken = WorkspaceIndex(project)
    broken.load()
    assert broken.files == {} and broken.refresh().read == 2


def test_an_editor_buffer_replaces_the_file_at_once(project):
    index = WorkspaceIndex.open(project)
    version = index.version
    index.update(project / "geometry.py", GEOMETRY + "\ndef rotate(p: Point, angle: float) -> Point: ...\n")
    assert index.definitions("rotate") and index.version > version
    assert "def rotate" in index.text("geometry.py")
    index.update(project / "geometry.py", None)  # closed: the disk is right again
    assert "def rotate" not in index.text("geometry.py")
    index.update("/elsewhere/x.py", "def f(): pass\n")  # outside the workspace: ignored
    assert "x.py" not in index.files


def test_context_shows_the_called_functions_signature_from_another_file(project):
    context = RepoContext(WorkspaceIndex.open(project))
    chunks = context.gather(APP, "", str(project / "app.py"), "python")
    defs = [c for c in chunks if c.source == "definitions"]
    assert defs[0].path == "geometry.py" and defs[0].text.startswith("def make_point(x: float")
    assert all(c.path != "app.py" for c in chunks)  # the current file never comes from the index
    # The same block of the same file gives the same chunks: the prompt's beginning stays cached.
    assert context.gather(APP + "3.0", "", str(project / "app.py"), "python") == chunks


def test_definitions_below_the_cursor_come_from_the_request_not_the_index(project):
    prefix = "def caller():\n    return helper_below("
    suffix = ")\n\n\n" + "\n" * 70 + "def helper_below(a, b, *, strict=False):\n    return a\n"
    chunks = RepoContext().gather(prefix, suffix, "mod.py", "python")
    assert chunks[0].text == "def helper_below(a, b, *, strict=False): ..."


def test_client_chunks_are_kept_once_in_their_order():
    chunks = RepoContext().gather("x = 1\n", "", None, "python",
                                  (("a.py", "def alpha(): pass\n"), ("b.py", "def alpha(): pass\n"),
                                   ("c.py", "beta = 2\n"), ("d.py", "   ")))
    assert [(c.path, c.source) for c in chunks] == [("a.py", "client"), ("c.py", "client")]


def test_preceding_files_render_as_path_comments_most_relevant_last():
    text = render_preceding((("defs.py", "def f(): ..."), ("near.py", "y = 2")), "pkg/app.py", "python")
    assert text == "# near.py\ny = 2\n\n# defs.py\ndef f(): ...\n\n# pkg/app.py\n"
    assert render_preceding((("a.js", "let x"),), "b.js", "javascript") == "// a.js\nlet x\n\n// b.js\n"


def test_extra_first_gets_its_share_and_the_prefix_the_rest():
    prefix = "".join(f"line_{i} = {i}\n" for i in range(400))
    extra = tuple((f"f{i}.py", f"def f{i}(a, b): ...") for i in range(40))
    fitted = fit_context(prefix, "", extra, n_ctx=2048, max_tokens=64, count=lambda t: (len(t) + 3) // 4,
                         budget=ContextBudget(prompt_tokens=512, extra_share=0.25), use_suffix=False,
                         extra_first=True)
    used_extra = sum((len(f"{n}\n{t}") + 3) // 4 + 4 for n, t in fitted.extra)
    assert 0 < used_extra <= 0.25 * 496 and fitted.extra[0][0] == "f0.py"  # priority order kept
    assert (len(fitted.prefix) + 3) // 4 + used_extra <= 496
    assert (len(fitted.prefix) + 3) // 4 > used_extra  # the rest, less line rounding and the 16-line grid


def test_a_served_workspace_picks_up_files_changed_on_disk(project):
    context = RepoContext()
    context.open_later(str(project), refresh_s=0.1)
    for _ in range(100):
        if context.index is not None:
            break
        time.sleep(0.05)
    (project / "later.py").write_text("def added_later(path, *, mode='r'):\n    return open(path, mode)\n")
    for _ in range(100):
        if context.index.definitions("added_later"):
            break
        time.sleep(0.05)
    assert context.index.definitions("added_later")


def test_extra_on_top_leaves_the_prefix_its_budget_within_the_window():
    prefix = "".join(f"line_{i} = {i}\n" for i in range(400))
    extra = (("defs.py", "def helper(a, b): ..."),)
    count = lambda t: (len(t) + 3) // 4  # noqa: E731
    common = dict(n_ctx=2048, max_tokens=64, count=count, use_suffix=False, extra_first=True)
    without = fit_context(prefix, "", (), budget=ContextBudget(prompt_tokens=512), **common)
    taken = fit_context(prefix, "", extra, budget=ContextBudget(prompt_tokens=512), **common)
    on_top = fit_context(prefix, "", extra, budget=ContextBudget(prompt_tokens=512, extra_on_top=True), **common)
    assert on_top.extra == taken.extra == extra
    assert on_top.prefix == without.prefix and len(taken.prefix) <= len(without.prefix)
    tight = fit_context(prefix, "", extra, budget=ContextBudget(prompt_tokens=512, extra_on_top=True),
                        **{**common, "n_ctx": 540})  # no room on top: the window still holds
    assert count(tight.prefix) + 20 <= 540 - 64


# -- issue 27: hostile trees --------------------------------------------------------------------------
def _hostile_tree(tmp_path):
    """A workspace with a link out of it, a file name that is not UTF-8, looping links and a link to
    itself, next to one good file."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "creds.py").write_text('def secret_token():\n    return "hunter2"\n')
    root = tmp_path / "ws"
    root.mkdir()
    (root / "good.py").write_text("def helper(x):\n    return x + 1\n")
    os.symlink(elsewhere / "creds.py", root / "leak.py")
    os.symlink(elsewhere, root / "outside_dir")
    with open(os.path.join(os.fsencode(root), b"bad\xff.py"), "wb") as fh:
        fh.write(b"def weird_name():\n    return 42\n")
    os.symlink("loop_b.py", root / "loop_a.py")
    os.symlink("loop_a.py", root / "loop_b.py")
    os.symlink(".", root / "self")
    return root


def test_links_out_of_the_workspace_bad_names_and_loops_are_never_read(tmp_path, monkeypatch):
    monkeypatch.setenv("FIMKIT_HOME", str(tmp_path / "home"))
    root = _hostile_tree(tmp_path)
    index = WorkspaceIndex(root)
    stats = index.refresh()
    assert set(index.files) == {"good.py"}
    assert stats.dropped == {"link outside the workspace": 1, "file name not UTF-8": 1, "broken or looping link": 2}
    assert index.search("secret_token hunter2 weird_name", 3) == []
    assert index.text("leak.py") == "" and index.text("../elsewhere/creds.py") == ""
    # A file replaced by a link out of the workspace after it was indexed is not read either.
    (root / "good.py").unlink()
    os.symlink(tmp_path / "elsewhere" / "creds.py", root / "good.py")
    assert index.text("good.py") == ""
    context = RepoContext(index).gather("x = secret_token(", "\n", str(root / "main.py"), "python")
    assert all("hunter2" not in c.text for c in context)


def test_a_workspace_that_is_a_symlink_loop_is_a_clear_error(tmp_path):
    from fimkit.errors import FimkitError

    os.symlink("loop", tmp_path / "loop")
    with pytest.raises(FimkitError, match="not a folder"):
        WorkspaceIndex(tmp_path / "loop")


def test_unnamed_buffers_do_not_share_context(project):
    """Two requests without a file name once shared one cache entry: one user's context went to another."""
    context = RepoContext(WorkspaceIndex.open(project))
    mine = context.gather("from geometry import make_point\n\nmake_point(", "\n", None, "python")
    theirs = context.gather("import os\n\nos.path.join(", "\n", None, "python")
    assert any("make_point" in c.text for c in mine)
    assert not any("make_point" in c.text for c in theirs)
