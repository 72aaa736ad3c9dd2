"""The exact requests the README's editor set-ups make, answered by `fimkit serve`'s app."""

import json

import pytest
from fastapi.testclient import TestClient
from infer.fakes import ScriptedEngine

from fimkit.serve.app import ServerConfig, create_app

PREFIX, SUFFIX = "def add(a, b):\n    return ", "\n\nprint(add(1, 2))\n"


@pytest.fixture
def served():
    engine = ScriptedEngine([("a + b", -0.1), ("\n", -0.1), ("print(add(1, 2))", -0.1)])
    with TestClient(create_app(engine, ServerConfig()), base_url="http://localhost") as client:
        yield client, engine


def _ndjson(response) -> str:
    return "".join(json.loads(line)["response"] for line in response.text.splitlines() if line)


def test_continue_ollama_provider_with_suffix(served):
    client, engine = served
    body = {"model": "qwen2.5-coder:1.5b-base", "prompt": PREFIX, "suffix": SUFFIX, "raw": True, "stream": True,
            "keep_alive": 1800, "options": {"temperature": 0.01, "num_predict": 256, "num_ctx": 8096,
                                            "stop": ["<|endoftext|>", "<|fim_pad|>", "\n\n"]}}
    assert _ndjson(client.post("/api/generate", json=body)) == "a + b"
    # The code typed on the cursor's line goes after the middle sentinel, its indentation stays in the prefix.
    assert engine.prompts[-1] == f"<|fim_prefix|>def add(a, b):\n    <|fim_suffix|>{SUFFIX}<|fim_middle|>return"


def test_continue_template_prompt_qwen(served):
    client, engine = served
    body = {"model": "qwen2.5-coder:1.5b-base", "raw": True, "stream": True,
            "prompt": f"<|fim_prefix|>{PREFIX}<|fim_suffix|>{SUFFIX}<|fim_middle|>", "options": {"num_predict": 128}}
    assert _ndjson(client.post("/api/generate", json=body)) == "a + b"


def test_twinny_codellama_template(served):
    client, engine = served
    body = {"model": "codellama:7b-code", "prompt": f"<PRE> {PREFIX} <SUF>{SUFFIX} <MID>", "stream": True,
            "keep_alive": "5m", "options": {"temperature": 0.2, "num_predict": 512}}
    assert _ndjson(client.post("/api/generate", json=body)) == "a + b"
    assert engine.prompts[-1].startswith("<|fim_prefix|>def add(a, b):\n    <|fim_suffix|>")


def test_llama_vscode_infill(served):
    client, engine = served
    body = {"id_slot": 0, "input_prefix": "def add(a, b):\n", "input_suffix": SUFFIX, "prompt": "    return ",
            "input_extra": [{"text": "def sub(a, b):\n    return a - b\n", "filename": "ops.py"}], "n_predict": 128,
            "top_k": 40, "top_p": 0.99, "stream": False, "n_indent": 4, "samplers": ["top_k", "top_p", "infill"],
            "cache_prompt": True, "t_max_prompt_ms": 500, "t_max_predict_ms": 1000}
    reply = client.post("/infill", json=body).json()
    assert reply["content"] == "a + b" and "timings" in reply and reply["stop"] is True
    assert "<|file_sep|>ops.py\n" in engine.prompts[-1]


def test_fimkit_vscode_extension_openai_body(served):
    client, _ = served
    body = {"prompt": PREFIX, "suffix": SUFFIX, "max_tokens": 64, "temperature": 0, "stream": False,
            "language": "python", "filename": "/work/add.py"}
    assert client.post("/v1/completions", json=body).json()["choices"][0]["text"] == "a + b"


def test_fimkit_lsp_openai_body(served):
    client, _ = served
    body = {"prompt": PREFIX, "suffix": SUFFIX, "max_tokens": 64, "temperature": 0}
    assert client.post("/v1/completions", json=body).json()["choices"][0]["text"] == "a + b"
