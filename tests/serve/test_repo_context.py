"""Repository context on every API: client chunks and the server's workspace reach the prompt, the
reply can list them, and hostile values are refused naming the field."""

import json
import time

import pytest
from fastapi.testclient import TestClient
from infer.fakes import ScriptedEngine

from fimkit.serve.app import ServerConfig, create_app

pytest.importorskip("httpx")
pytest.importorskip("bm25s")

CHUNK = {"filename": "util.py", "text": "def helper(a, b):\n    return a * b\n"}
BODIES = {
    "/v1/completions": {"prompt": "x = ", "suffix": "\n", "input_extra": [CHUNK]},
    "/infill": {"input_prefix": "x = ", "input_suffix": "\n", "input_extra": [CHUNK]},
    "/api/generate": {"model": "m", "prompt": "x = ", "suffix": "\n", "stream": False, "input_extra": [CHUNK]},
    "/complete": {"prefix": "x = ", "suffix": "\n", "input_extra": [CHUNK]},
}


def client_for(**config):
    """A prefix-only model, whose prompt shows client chunks only when repository context is on."""
    engine = ScriptedEngine([("1", -0.1), ("\n", -0.1)], fim_format="prefix-only")
    return TestClient(create_app(engine, ServerConfig(**config)), base_url="http://localhost"), engine


@pytest.mark.parametrize("path", list(BODIES))
def test_client_chunks_reach_a_prefix_only_prompt_as_preceding_files(path, tmp_path, monkeypatch):
    monkeypatch.setenv("FIMKIT_HOME", str(tmp_path / "home"))
    c, engine = client_for(workspace=str(tmp_path))
    with c:
        r = c.post(path, json={**BODIES[path], "show_context": True, "filename": "app.py", "language": "python"})
        assert r.status_code == 200, r.text
        assert engine.prompts[-1] == "# util.py\ndef helper(a, b):\n    return a * b\n\n# app.py\nx ="
        assert r.json()["fimkit"]["context"] == [{"path": "util.py", "text": CHUNK["text"]}]
        plain = c.post(path, json=BODIES[path]).json()
        assert "context" not in plain.get("fimkit", {})  # only when asked
    off, engine = client_for()  # no --workspace: a prefix-only prompt stays the file alone
    with off:
        r = off.post(path, json={**BODIES[path], "show_context": True})
        assert engine.prompts[-1] == "x =" and r.json()["fimkit"]["context"] == []


def test_tabby_declarations_snippets_and_clipboard_are_context_in_that_order(tmp_path, monkeypatch):
    monkeypatch.setenv("FIMKIT_HOME", str(tmp_path / "home"))
    c, engine = client_for(workspace=str(tmp_path))
    with c:
        segments = {"prefix": "x = ", "suffix": "\n", "filepath": "app.py", "clipboard": "COPIED = 1",
                    "declarations": [{"filepath": "decl.py", "body": "def declared(): ..."}],
                    "relevant_snippets_from_changed_files": [{"filepath": "chg.py", "body": "changed = 2",
                                                              "score": 0.5}]}
        r = c.post("/v1/completions", json={"segments": segments, "show_context": True})
        assert [ch["path"] for ch in r.json()["fimkit"]["context"]] == ["decl.py", "chg.py", "clipboard"]
        assert engine.prompts[-1].startswith("# clipboard\nCOPIED = 1\n\n# chg.py")  # most relevant last


def test_the_servers_workspace_gives_definitions_on_every_api(tmp_path, monkeypatch):
    monkeypatch.setenv("FIMKIT_HOME", str(tmp_path / "home"))
    root = tmp_path / "proj"
    root.mkdir()
    (root / "shapes.py").write_text("def make_box(width, height, *, depth=1):\n    return (width, height)\n")
    c, engine = client_for(workspace=str(root))
    with c:
        body = {"prompt": "box = make_box(", "suffix": "\n", "filename": str(root / "main.py"),
                "language": "python", "show_context": True}
        for _ in range(100):  # the index is built in the background at start
            context = c.post("/v1/completions", json=body).json()["fimkit"]["context"]
            if context:
                break
            time.sleep(0.05)
        # First the definition's stub; then the most similar chunk (here the same function, whole).
        assert context[0] == {"path": "shapes.py", "text": "def make_box(width, height, *, depth=1): ..."}
        assert engine.prompts[-1].startswith("# shapes.py\n")
        assert "# main.py\nbox = make_box(" in engine.prompts[-1]  # the path relative to the workspace


@pytest.mark.parametrize("path", list(BODIES))
@pytest.mark.parametrize(("value", "where"), [
    ("not a list", "input_extra"), ([{"filename": "a.py", "text": 5}], "input_extra.0.text"),
    ([{"filename": ["x"], "text": "y"}], "input_extra.0.filename"), ([[1, 2]], "input_extra.0"),
    ([{"filename": "a.py", "text": "y"}] * 65, "input_extra"), ([{"text": "\ud800"}], "input_extra.0.text"),
    ([{"text": {"deep": [{"deeper": "x"}]}}], "input_extra.0.text"),
])
def test_hostile_input_extra_is_a_4xx_naming_the_field(path, value, where):
    c, _ = client_for()
    with c:
        body = json.dumps({**BODIES[path], "input_extra": value})  # json.dumps escapes a lone surrogate
        r = c.post(path, content=body.encode(), headers={"content-type": "application/json"})
        assert 400 <= r.status_code < 500 and where in r.json()["error"]["message"], r.text


def test_huge_client_chunks_cost_only_what_the_window_holds(tmp_path, monkeypatch):
    monkeypatch.setenv("FIMKIT_HOME", str(tmp_path / "home"))
    c, engine = client_for(max_request_bytes=8_000_000, workspace=str(tmp_path))
    with c:
        chunks = [{"filename": f"f{i}.py", "text": f"v{i} = 1\n" * 100_000} for i in range(8)]
        started = time.perf_counter()
        r = c.post("/v1/completions", json={"prompt": "x = ", "suffix": "\n", "input_extra": chunks})
        assert r.status_code == 200 and time.perf_counter() - started < 30
        assert len(engine.prompts[-1]) < 2048 * 16  # nothing beyond the window reached the prompt


@pytest.mark.parametrize("value", ["yes", 1.5, None, [True]])
def test_show_context_must_be_a_boolean(value):
    c, _ = client_for()
    with c:
        r = c.post("/complete", json={"prefix": "x = ", "show_context": value})
        assert r.status_code == 422 and "show_context" in r.json()["error"]["message"]
