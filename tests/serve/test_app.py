"""Endpoint shapes, streaming, cancellation, auth and bad input, against a scripted engine."""

import json
import threading
import time

import pytest
from fastapi.testclient import TestClient
from infer.fakes import ScriptedEngine

from fimkit.serve.app import ServerConfig, create_app

pytest.importorskip("httpx")


def client_for(engine=None, **config):
    engine = engine or ScriptedEngine([("a", -0.1), (" +", -0.1), (" 1", -0.1), ("\n", -0.1), ("print(x)", -0.1)])
    app = create_app(engine, ServerConfig(**config))
    return TestClient(app, base_url="http://localhost"), engine


@pytest.fixture
def client(tmp_path):
    c, engine = client_for(telemetry_path=str(tmp_path / "t.sqlite"))
    with c:
        yield c, engine


def test_seed_api(client):
    c, engine = client
    r = c.post("/complete", json={"prefix": "x = ", "suffix": "\nprint(x)\n"})
    assert r.status_code == 200
    body = r.json()
    assert body["completion"] == "a + 1" and body["success"] is True  # stopped before re-writing the suffix
    # The cursor's line goes after the middle sentinel (typing on it only appends), its trailing blank
    # held back for the model to write.
    assert engine.prompts[-1] == "<|fim_prefix|><|fim_suffix|>\nprint(x)\n<|fim_middle|>x ="


def test_openai_completions_shape_and_logprobs(client):
    c, _ = client
    r = c.post("/v1/completions", json={"model": "m", "prompt": "x = ", "suffix": "\nprint(x)\n", "max_tokens": 20, "logprobs": 1})
    body = r.json()
    assert body["object"] == "text_completion" and body["choices"][0]["text"] == "a + 1"
    assert body["choices"][0]["finish_reason"] == "stop" and body["usage"]["completion_tokens"] >= 3
    assert body["choices"][0]["logprobs"]["token_logprobs"][0] == -0.1


def test_openai_streaming_is_sse_and_matches_the_plain_reply(client):
    c, _ = client
    plain = c.post("/v1/completions", json={"prompt": "x = ", "suffix": "\nprint(x)\n"}).json()["choices"][0]["text"]
    with c.stream("POST", "/v1/completions", json={"prompt": "x = ", "suffix": "\nprint(x)\n", "stream": True}) as r:
        lines = [ln for ln in r.iter_lines() if ln]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(ln[6:]) for ln in lines[:-1]]
    assert "".join(ch["choices"][0]["text"] for ch in chunks) == plain
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_vllm_style_rendered_prompt_without_suffix(client):
    c, engine = client
    rendered = "<|fim_prefix|>def f():\n    x = <|fim_suffix|>\n    print(x)\n<|fim_middle|>"
    assert c.post("/v1/completions", json={"prompt": rendered}).json()["choices"][0]["text"] == "a + 1"
    # Parsed, and rendered again the way fimkit prompts: the same prefix and suffix, the code typed on
    # the cursor's line after the middle sentinel (its indentation stays in the prefix).
    assert engine.prompts[-1] == "<|fim_prefix|>def f():\n    <|fim_suffix|>\n    print(x)<|fim_middle|>x ="


def test_tabby_shape(client):
    c, _ = client
    r = c.post("/v1/completions", json={"language": "python", "segments": {"prefix": "x = ", "suffix": "\nprint(x)\n"}})
    assert r.json()["choices"] == [{"index": 0, "text": "a + 1"}] and r.json()["id"].startswith("cmpl-")


def test_llama_cpp_infill(client):
    c, engine = client
    r = c.post("/infill", json={"input_prefix": "def f():\n", "input_suffix": "\nprint(x)\n", "prompt": "    x = ",
                                "input_extra": [{"filename": "util.py", "text": "def g(): pass\n"}], "n_predict": 16})
    body = r.json()
    assert body["content"] == "a + 1" and body["stop"] is True and body["stop_type"] == "eos"
    assert set(body["timings"]) >= {"prompt_n", "prompt_ms", "predicted_n", "predicted_ms"}
    # Repo context first, after the file separator; the typed line follows the middle sentinel.
    assert engine.prompts[-1] == ("<|file_sep|>util.py\ndef g(): pass\n<|file_sep|><|fim_prefix|>def f():\n"
                                  "<|fim_suffix|>\nprint(x)\n<|fim_middle|>    x =")


def test_ollama_generate_streams_ndjson_by_default(client):
    c, _ = client
    with c.stream("POST", "/api/generate", json={"model": "any", "prompt": "x = ", "suffix": "\nprint(x)\n"}) as r:
        rows = [json.loads(ln) for ln in r.iter_lines() if ln]
    assert rows[-1]["done"] is True and rows[-1]["done_reason"] == "stop" and "eval_count" in rows[-1]
    assert "".join(row["response"] for row in rows) == "a + 1"
    r = c.post("/api/generate", json={"model": "any", "prompt": "x = ", "suffix": "\nprint(x)\n", "stream": False})
    assert r.json()["response"] == "a + 1" and r.json()["done"] is True


def test_ollama_raw_prompt_rendered_by_the_client(client):
    c, engine = client
    raw = "<fim_prefix>x = <fim_suffix>\nprint(x)\n<fim_middle>"  # a StarCoder template, as Continue sends it
    r = c.post("/api/generate", json={"model": "starcoder2:3b", "prompt": raw, "raw": True, "stream": False})
    assert r.json()["response"] == "a + 1"
    assert engine.prompts[-1].startswith("<|fim_prefix|><|fim_suffix|>\nprint(x)\n<|fim_middle|>x =")  # its own format


def test_models_tags_show_and_health_say_which_mode(client):
    c, _ = client
    assert c.get("/v1/models").json()["data"][0]["fimkit"]["mode"] == "fim"
    assert c.get("/api/tags").json()["models"][0]["name"] == "scripted-model"
    show = c.post("/api/show", json={"name": "scripted-model"}).json()
    assert "insert" in show["capabilities"] and ".Suffix" in show["template"] and show["fimkit"]["fim_format"] == "fimkit:psm"
    assert c.get("/health").json()["status"] == "ok"


def test_health_names_the_profile_and_why_auto_chose_the_model(fimkit_home, monkeypatch):
    import json
    from types import SimpleNamespace

    from fimkit.models import auto

    engine = ScriptedEngine(fim_format="qwen2.5-coder:psm")
    c, _ = client_for(engine)
    with c:
        health = c.get("/health").json()
    assert health["profile"] == "qwen2.5-coder" and health["model_choice"] is None  # a model named, not auto
    monkeypatch.delenv("FIMKIT_AUTO_MODEL")  # measured on this machine, not pinned
    auto.cache_path().parent.mkdir(parents=True, exist_ok=True)
    key = auto.machine_key(auto._installed())
    auto.cache_path().write_text(json.dumps({"model": "qwen2.5-coder-0.5b", "reason": "the best within the goal",
                                             "probes": [], "machine": key}))
    engine.model = SimpleNamespace(ref="auto")
    c, _ = client_for(engine)
    with c:
        assert c.get("/health").json()["model_choice"] == "auto: qwen2.5-coder-0.5b, the best within the goal"


def test_prefix_only_models_say_so():
    c, _ = client_for(ScriptedEngine(fim_format="prefix-only"))
    with c:
        assert c.get("/v1/models").json()["data"][0]["fimkit"]["mode"] == "prefix-only"
        assert c.post("/api/show", json={}).json()["template"] == "{{ .Prompt }}"


def test_telemetry_events_and_accept_rate_split(client):
    c, _ = client
    mid = c.post("/complete", json={"prefix": "f(", "suffix": ")\n"}).json()["id"]
    eol = c.post("/complete", json={"prefix": "x = ", "suffix": "\n"}).json()["id"]
    for cid in (mid, eol):
        assert c.post("/v1/events", json={"type": "view", "completion_id": cid}).json()["type"] == "view"
    c.post("/v1/events", json={"type": "select", "completion_id": eol, "elapsed": 420})
    c.post("/v1/events", json={"type": "dismiss", "completion_id": mid})
    stats = c.get("/v1/stats").json()
    assert stats["end_of_line"]["accept_rate"] == 1.0 and stats["mid_line"]["accept_rate"] == 0.0
    assert stats["overall"]["shown"] == 2 and stats["completions_served"] == 2
    assert c.post("/v1/events", json={"type": "teleport"}).status_code == 400


def test_metrics_are_prometheus_text(client):
    c, _ = client
    c.post("/complete", json={"prefix": "x = ", "suffix": "\n"})
    text = c.get("/metrics").text
    assert 'fimkit_requests_total{endpoint="/complete",status="200"} 1' in text
    assert "fimkit_request_seconds_bucket" in text and "fimkit_generated_tokens_total" in text


@pytest.mark.parametrize("kwargs,status,needle", [
    (dict(content=b"{not json"), 400, "not valid JSON"),
    (dict(content=b'{"prefix": "\xff\xfe"}'), 400, "not valid UTF-8"),
    (dict(content=b"[1, 2]"), 400, "JSON object"),
    (dict(json={"prefix": 5}), 422, "field 'prefix'"),
    (dict(json={"suffix": "x"}), 422, "field 'prefix'"),
    (dict(json={"prefix": "x", "max_tokens": -3}), 422, "max_tokens"),
    (dict(json={"prefix": "x", "temperature": "hot"}), 422, "temperature"),
    (dict(content=b"{" + b'"prefix": "' + b"a" * 3_000_000 + b'"}'), 413, "limit"),
])
def test_bad_input_is_a_clear_4xx(client, kwargs, status, needle):
    c, _ = client
    r = c.post("/complete", headers={"content-type": "application/json"}, **kwargs)
    assert r.status_code == status and needle in r.json()["error"]["message"]


def test_max_tokens_is_capped(tmp_path):
    engine = ScriptedEngine([("a", -0.1)] * 50)
    c, _ = client_for(engine, max_tokens_cap=5)
    with c:
        r = c.post("/v1/completions", json={"prompt": "x = ", "suffix": "\n", "max_tokens": 10_000})
        assert r.json()["usage"]["completion_tokens"] == 5


def test_auth_on_and_off():
    c, _ = client_for(api_key="s3cret")
    with c:
        assert c.post("/complete", json={"prefix": "x"}).status_code == 401
        assert c.post("/complete", json={"prefix": "x"}, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.post("/complete", json={"prefix": "x"}, headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert c.get("/health").status_code == 200  # liveness stays open
        assert c.get("/metrics").status_code == 401


def test_queue_full_is_503_with_retry_after():
    engine = ScriptedEngine([("a", -0.1)] * 20, delay=0.05)
    c, _ = client_for(engine, max_queue=1)
    results = []
    with c:
        def call(i):  # distinct requests: identical ones would share one generation
            results.append(c.post("/complete", json={"prefix": f"x{i} = ", "suffix": "\n"}).status_code)

        threads = [threading.Thread(target=call, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
            time.sleep(0.02)
        for t in threads:
            t.join()
        refused = c.post("/complete", json={"prefix": "x"})  # after the burst: accepted again
    assert results.count(200) >= 2 and 503 in results and refused.status_code == 200


def test_streaming_client_that_disconnects_stops_generation():
    lines = [piece for i in range(100) for piece in ((f"    v{i} = {i}", -0.1), ("\n", -0.1))]
    engine = ScriptedEngine(lines, delay=0.01)
    c, _ = client_for(engine)
    with c:
        with c.stream("POST", "/v1/completions", json={"prompt": "def f():\n    ", "suffix": "\n", "stream": True,
                                                       "max_tokens": 200}) as r:
            for _ in r.iter_lines():
                break  # read one chunk, then hang up
        deadline = time.time() + 5
        while engine.running.is_set() and time.time() < deadline:
            time.sleep(0.01)
        assert not engine.running.is_set()
    assert engine.generated < 200


def test_t_max_predict_ms_stops_once_a_line_is_complete():
    lines = [piece for i in range(50) for piece in ((f"    v{i} = {i}", -0.1), ("\n", -0.1))]
    # prefix-only: no one-statement rule, so only the time limit ends this run of statements
    c, engine = client_for(ScriptedEngine(lines, delay=0.01, fim_format="prefix-only"))
    with c:
        r = c.post("/infill", json={"input_prefix": "def f():\n", "input_suffix": "\n", "prompt": "    ",
                                    "n_predict": 100, "t_max_predict_ms": 50})
    body = r.json()
    assert body["stop_type"] == "limit" and 2 <= body["timings"]["predicted_n"] < 20
    assert body["content"].startswith("v0 = 0\n")


@pytest.mark.parametrize("spec", ["fimkit:psm", "fimkit:spm-paper", "codellama:psm", "starcoder:psm", "prefix-only"])
def test_api_show_template_is_the_exported_modelfiles(spec):
    from fimkit.formats import FimFormat
    from fimkit.formats.ollama import modelfile_text

    c, _ = client_for(ScriptedEngine(fim_format=spec))
    with c:
        template = c.post("/api/show", json={}).json()["template"]
    exported = modelfile_text("./m.gguf", FimFormat.parse_spec(spec))
    assert f'TEMPLATE """{template}"""' in exported


def test_every_dialect_records_telemetry(client):
    """Ollama and streamed /infill were once served without a telemetry row."""
    c, _ = client
    c.post("/api/generate", json={"prompt": "x = ", "suffix": "\n", "stream": False})
    with c.stream("POST", "/api/generate", json={"prompt": "x = ", "suffix": "\n"}) as r:
        list(r.iter_lines())
    with c.stream("POST", "/infill", json={"input_prefix": "x = ", "input_suffix": "\n", "stream": True}) as r:
        list(r.iter_lines())
    c.post("/infill", json={"input_prefix": "x = ", "input_suffix": "\n"})
    assert c.get("/v1/stats").json()["completions_served"] == 4


@pytest.mark.parametrize("error, status", [("BadRequestError", 400), ("ServerBusyError", 503),
                                            ("BackendError", 502), ("BackendUnavailableError", 503)])
def test_status_follows_the_kind_of_error(error, status):
    from fimkit import errors

    class Failing(ScriptedEngine):
        def _produce(self, gen, prompt, params, cancel):
            raise getattr(errors, error)("the backend says no")
            yield  # a generator, like every engine

    c, _ = client_for(Failing())
    with c:
        r = c.post("/complete", json={"prefix": "x = "})
    assert r.status_code == status and r.json()["error"]["message"] == "the backend says no"
    if status == 503:
        assert r.headers["retry-after"] == "1"


def test_an_unreachable_remote_model_is_503_not_the_clients_fault():
    from fimkit.formats import FimFormat
    from fimkit.infer.engines.remote import OpenAIEngine

    engine = OpenAIEngine("http://127.0.0.1:9/v1", "remote", fim_format=FimFormat.parse_spec("fimkit:psm"), timeout=2)
    c, _ = client_for(engine)
    with c:
        r = c.post("/v1/completions", json={"prompt": "x = ", "suffix": "\n"})
    assert r.status_code == 503 and "cannot reach the remote server" in r.json()["error"]["message"]


def test_the_server_cuts_unlikely_tails_for_its_editors_unless_a_request_says_otherwise():
    # Each piece costs -0.4: the profile's cut (-0.75) keeps one piece, -1.0 keeps two, null keeps all.
    pieces = [("a", -0.4), (" +", -0.4), (" 1", -0.4)]
    c, _ = client_for(ScriptedEngine(pieces))
    with c:
        def middle(**extra):
            r = c.post("/complete", json={"prefix": "x = ", "suffix": "\nprint(x)\n", **extra})
            assert r.status_code == 200, r.text
            return r.json()["completion"]

        assert middle() == "a + 1"  # a plain client gets the whole middle
        assert middle(early_reply=True) == "a"  # an editor that asks again after a partial accept: cut
        assert middle(early_reply=True, min_shown_logprob=-1.0) == "a +"
        assert middle(min_shown_logprob=-1.0) == "a +"  # any client may ask for a cut
        assert middle(early_reply=True, min_shown_logprob=None) == "a + 1"
        for value in (1.5, -1e308, "-1", True, [-1.0], {"v": -1}):
            bad = c.post("/complete", json={"prefix": "x = ", "min_shown_logprob": value})
            assert bad.status_code == 422 and "min_shown_logprob" in bad.text, (value, bad.text)
        nan = c.post("/complete", content=b'{"prefix": "x = ", "min_shown_logprob": NaN}',
                     headers={"content-type": "application/json"})
        assert nan.status_code == 400 and "NaN" in nan.text
        for value in ("bogus", 1, ["word"], {"word": 1}):
            bad = c.post("/v1/completions", json={"prompt": "x = ", "healing": value})
            assert bad.status_code == 422 and "healing" in bad.text, (value, bad.text)
        lone = c.post("/v1/completions", content=b'{"prompt": "x = ", "healing": "w\\ud800"}',
                      headers={"content-type": "application/json"})
        assert lone.status_code == 422 and "'healing'" in lone.text and "surrogate" in lone.text, lone.text


def test_openai_n_returns_the_ranked_candidates_best_first():
    from infer.fakes import BranchingEngine

    engine = BranchingEngine(["1", "2", "3"], {"1": -5.0, "2": -1.0, "3": -3.0})
    c, _ = client_for(engine, min_shown_logprob=-100)  # every candidate is unlikely: the cut would empty them
    with c:
        body = c.post("/v1/completions", json={"prompt": "x = ", "suffix": "\nprint(x)\n", "n": 3}).json()
        assert [ch["text"] for ch in body["choices"]] == ["2", "3", "1"]
        assert [ch["index"] for ch in body["choices"]] == [0, 1, 2] and body["usage"]["completion_tokens"] == 3
        assert c.post("/v1/completions", json={"prompt": "x = ", "n": 1}).json()["choices"][0]["text"] == "1"


def test_openai_n_on_a_backend_that_cannot_score_is_a_400_saying_so(client):
    c, _ = client
    r = c.post("/v1/completions", json={"prompt": "x = ", "suffix": "\n", "n": 2})
    assert r.status_code == 400 and "cannot rank candidates" in r.json()["error"]["message"]
    assert c.post("/v1/completions", json={"prompt": "x = ", "n": 9}).status_code == 422
