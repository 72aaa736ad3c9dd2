"""`fimkit serve` as a real process on a real (tiny) GGUF through llama.cpp, spoken to over HTTP."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from fimkit.cli import main

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url, body, key=None):
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    req = urllib.request.Request(url, json.dumps(body).encode(), headers)
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


@pytest.fixture(scope="module")
def server(tiny_fim_gguf, tmp_path_factory):
    port = _free_port()
    env = dict(os.environ, FIMKIT_HOME=str(tmp_path_factory.mktemp("home")), FIMKIT_API_KEY="k")
    proc = subprocess.Popen([sys.executable, "-m", "fimkit", "serve", "--model", str(tiny_fim_gguf), "--port", str(port),
                             "--n-ctx", "256"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(base + "/health", timeout=1)
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read()) from None
            time.sleep(0.1)
    yield base
    proc.terminate()
    proc.wait(timeout=10)


def test_real_llama_cpp_behind_every_api(server):
    keyed = urllib.request.Request(server + "/health", headers={"Authorization": "Bearer k"})
    health = json.loads(urllib.request.urlopen(keyed).read())  # what it runs: behind the key
    assert health["mode"] == "fim" and health["backend"] == "llama-cpp"
    seed = _post(server + "/complete", {"prefix": "def add(a, b):\n    return ", "suffix": "\n", "max_tokens": 8}, "k")
    assert seed["success"] is True and isinstance(seed["completion"], str)
    oa = _post(server + "/v1/completions", {"prompt": "x = ", "suffix": "\n", "max_tokens": 8}, "k")
    assert oa["usage"]["completion_tokens"] >= 1  # llama.cpp generated tokens (a random model: any text)
    inf = _post(server + "/infill", {"input_prefix": "x = ", "input_suffix": "\n", "n_predict": 8}, "k")
    assert inf["timings"]["predicted_n"] >= 1 and inf["tokens_evaluated"] > 0


def test_auth_is_enforced(server):
    with pytest.raises(urllib.error.HTTPError) as err:
        _post(server + "/complete", {"prefix": "x"})
    assert err.value.code == 401


def test_openai_backend_talks_to_a_remote_server(server, tiny_fim_gguf):
    """The openai backend renders the FIM prompt itself; here the remote is a fimkit server."""
    from fimkit.formats import FimFormat
    from fimkit.infer.complete import run_completion
    from fimkit.infer.engines.contract import CompletionRequest, SamplingParams
    from fimkit.infer.engines.remote import OpenAIEngine

    engine = OpenAIEngine(server + "/v1", "tiny", fim_format=FimFormat.parse_spec("fimkit:psm"), api_key="k")
    result = run_completion(engine, CompletionRequest("x = ", "\n", sampling=SamplingParams(max_tokens=8)))
    assert result.stats.predicted_tokens >= 0 and isinstance(result.text, str)


def test_non_loopback_bind_needs_an_api_key(monkeypatch, capsys):
    monkeypatch.delenv("FIMKIT_API_KEY", raising=False)
    assert main(["serve", "--host", "0.0.0.0", "--api-key", ""]) == 2
    assert "--api-key" in capsys.readouterr().err


def test_complete_cli_prints_only_the_middle(tiny_fim_gguf, tmp_path):
    src = tmp_path / "a.py"
    src.write_text("def f():\n    return 1\n")
    out = subprocess.run([sys.executable, "-m", "fimkit", "complete", str(src), "--line", "2", "--col", "12",
                          "--model", str(tiny_fim_gguf), "--max-tokens", "4", "--json"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["fim_format"] == "fimkit:psm" and data["completion_tokens"] >= 1
    bad = subprocess.run([sys.executable, "-m", "fimkit", "complete", str(src), "--line", "9", "--col", "1",
                          "--model", str(tiny_fim_gguf)], capture_output=True, text=True)
    assert bad.returncode == 2 and "outside" in bad.stderr and "Traceback" not in bad.stderr


def test_complete_and_index_cli_with_a_workspace(tiny_fim_gguf, tmp_path):
    """`fimkit index` shows what the index holds; `fimkit complete --workspace` uses it and --json lists it."""
    import os

    env = {**os.environ, "FIMKIT_HOME": str(tmp_path / "home")}
    root = tmp_path / "proj"
    root.mkdir()
    (root / "shapes.py").write_text("def make_box(width, height, *, depth=1):\n    return (width, height)\n")
    (root / "main.py").write_text("from shapes import make_box\n\nbox = make_box(\n")
    index = subprocess.run([sys.executable, "-m", "fimkit", "index", str(root), "--lookup", "make_box"],
                           capture_output=True, text=True, env=env)
    assert index.returncode == 0 and "2 files" in index.stderr, index.stderr
    assert "shapes.py:1: function\ndef make_box(width, height, *, depth=1): ..." in index.stdout
    out = subprocess.run([sys.executable, "-m", "fimkit", "complete", str(root / "main.py"), "--line", "3", "--col", "16",
                          "--model", str(tiny_fim_gguf), "--fim-format", "prefix-only", "--max-tokens", "2",
                          "--workspace", str(root), "--json"], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    context = json.loads(out.stdout)["context"]
    assert context[0] == {"path": "shapes.py", "text": "def make_box(width, height, *, depth=1): ..."}
