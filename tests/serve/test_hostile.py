"""A hostile but fair client: every finding of the server review has a regression test here.
Each answer must be a 4xx naming the field (never a 5xx), and the server must keep answering."""

import json
import socket
import sqlite3
import threading
import time

import pytest
from fastapi.testclient import TestClient
from infer.fakes import ScriptedEngine

from fimkit.serve.app import create_app
from fimkit.serve.config import ServerConfig

ENDPOINTS = {
    "/complete": {"prefix": "x = ", "suffix": "\n"},
    "/v1/completions": {"prompt": "x = ", "suffix": "\n"},
    "/infill": {"input_prefix": "x = ", "input_suffix": "\n"},
    "/api/generate": {"prompt": "x = ", "suffix": "\n", "stream": False},
}
PREFIX_FIELD = {"/complete": "prefix", "/v1/completions": "prompt", "/infill": "input_prefix", "/api/generate": "prompt"}


def client_for(engine=None, **config):
    engine = engine or ScriptedEngine([("a", -0.1), (" +", -0.1), (" 1", -0.1), ("\n", -0.1)])
    return TestClient(create_app(engine, ServerConfig(**config)), base_url="http://localhost"), engine


@pytest.fixture
def client(tmp_path):
    c, engine = client_for(telemetry_path=str(tmp_path / "t.sqlite"))
    with c:
        yield c


def post_raw(c, path, raw: bytes):
    return c.post(path, content=raw, headers={"content-type": "application/json"})


# -- 4: what used to be a 500 ----------------------------------------------------------------------
@pytest.mark.parametrize("path", list(ENDPOINTS))
def test_a_lone_surrogate_is_a_422_naming_the_field(client, path):
    field = PREFIX_FIELD[path]
    r = post_raw(client, path, json.dumps({**ENDPOINTS[path], field: "x\ud800"}).encode())
    assert r.status_code == 422 and f"'{field}'" in r.json()["error"]["message"]


@pytest.mark.parametrize("raw, words", [(b"[" * 100_000, "nested too deeply"),
                                         (b'{"prefix": "x", "max_tokens": ' + b"9" * 5000 + b"}", "not valid JSON"),
                                         (b'{"prefix": "x", "min_confidence": NaN}', "NaN"),
                                         (b'{"prefix": "x", "temperature": Infinity}', "Infinity")])
def test_pathological_json_is_a_400(client, raw, words):
    r = post_raw(client, "/complete", raw)
    assert r.status_code == 400 and words in r.json()["error"]["message"]
    assert client.get("/health").status_code == 200


def test_json_errors_say_where_once(client):
    message = post_raw(client, "/complete", b'{"prefix": ').json()["error"]["message"]
    assert "at at" not in message and "line 1" in message


def test_unknown_paths_and_methods_answer_in_the_error_shape(client):
    r = client.get("/nope")
    assert r.status_code == 404 and "no endpoint /nope" in r.json()["error"]["message"]
    r = client.get("/complete")
    assert r.status_code == 405 and "error" in r.json()


@pytest.mark.parametrize("event, field", [({"type": "accept", "elapsed": {"a": 1}}, "elapsed"),
                                          ({"type": "accept", "choice_index": [1]}, "choice_index"),
                                          ({"type": "accept", "accepted_chars": 2**70}, "accepted_chars"),
                                          ({"type": ["accept"]}, "type")])
def test_telemetry_events_with_wrong_types_are_4xx(client, event, field):
    r = client.post("/v1/events", json=event)
    assert 400 <= r.status_code < 500 and f"'{field}'" in r.json()["error"]["message"]


def test_infinity_in_an_event_is_refused_and_stats_survive_old_bad_rows(tmp_path):
    db = tmp_path / "t.sqlite"
    c, _ = client_for(telemetry_path=str(db))
    with c:
        assert post_raw(c, "/v1/events", b'{"type": "accept", "elapsed": Infinity}').status_code == 400
        with sqlite3.connect(db) as con:  # a row an older version could have stored
            con.execute("INSERT INTO events (created, type, elapsed_ms, mid_line) VALUES (0, 'accept', ?, 7)",
                        (float("inf"),))
        r = c.get("/v1/stats")
        assert r.status_code == 200 and r.json()["mean_ms_to_accept"] is None


# -- 5: telemetry never breaks completions -----------------------------------------------------------
def test_a_garbage_database_at_start_turns_telemetry_off(tmp_path):
    db = tmp_path / "t.sqlite"
    db.write_bytes(b"this is not sqlite" * 100)
    c, _ = client_for(telemetry_path=str(db))
    with c:
        assert c.post("/complete", json={"prefix": "x = "}).status_code == 200
        assert c.get("/v1/stats").status_code == 404


def test_a_database_that_breaks_while_running_does_not_fail_completions(tmp_path):
    db = tmp_path / "t.sqlite"
    c, _ = client_for(telemetry_path=str(db))
    with c:
        assert c.post("/complete", json={"prefix": "x = "}).status_code == 200
        # The first row is written by the background writer: let it land before the database goes, or
        # it fails too (and its writer may even create the file again before the folder takes its place).
        assert c.app.state.service.telemetry.flush(5.0)
        for suffix in ("", "-wal", "-shm"):
            p = tmp_path / f"t.sqlite{suffix}"
            if p.exists():
                p.unlink()
        (tmp_path / "t.sqlite").mkdir()  # a folder where the database was: every write now fails
        r = c.post("/complete", json={"prefix": "x = "})
        assert r.status_code == 200 and r.json()["completion"]
        assert c.get("/v1/stats").status_code == 503
        # The completion's row is written by the background writer: wait for it to have failed.
        for _ in range(200):
            if "fimkit_telemetry_errors_total 2" in (text := c.get("/metrics").text):
                break
            time.sleep(0.05)
        assert "fimkit_telemetry_errors_total 2" in text


# -- 6: metrics stay bounded -------------------------------------------------------------------------
def test_rejected_requests_do_not_grow_metrics():
    c, _ = client_for(api_key="k")
    with c:
        for i in range(300):
            assert c.get(f"/scan/{i}").status_code == 401
        text = c.get("/metrics", headers={"authorization": "Bearer k"}).text
    assert "/scan/" not in text and 'endpoint="other",status="401"} 300' in text and len(text) < 20_000


# -- 7: the browser ------------------------------------------------------------------------------------
def test_a_web_page_cannot_drive_the_local_server(client):
    page = {"origin": "https://evil.example", "content-type": "application/json"}
    assert client.post("/complete", json={"prefix": "x"}, headers=page).status_code == 403
    plain = client.post("/complete", content=b'{"prefix": "x"}', headers={"content-type": "text/plain"})
    assert plain.status_code == 415 and "application/json" in plain.json()["error"]["message"]
    rebound = client.post("/complete", json={"prefix": "x"}, headers={"host": "evil.example:5000"})
    assert rebound.status_code == 403 and "Host" in rebound.json()["error"]["message"]
    assert client.post("/complete", json={"prefix": "x"}, headers={"host": "127.0.0.1:5000"}).status_code == 200


def test_an_allowed_origin_gets_its_preflight_before_auth():
    c, _ = client_for(api_key="k", cors_origins=("https://ok.example",))
    with c:
        pre = c.options("/v1/completions", headers={"origin": "https://ok.example",
                                                    "access-control-request-method": "POST",
                                                    "access-control-request-headers": "authorization,content-type"})
        assert pre.status_code == 204 and pre.headers["access-control-allow-origin"] == "https://ok.example"
        assert "authorization" in pre.headers["access-control-allow-headers"].lower()
        r = c.post("/complete", json={"prefix": "x = "},
                   headers={"origin": "https://ok.example", "authorization": "Bearer k"})
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://ok.example"
        assert c.post("/complete", json={"prefix": "x"}, headers={"origin": "https://ok.example"}).status_code == 401


def test_a_non_loopback_bind_with_a_key_accepts_any_host():
    c, _ = client_for(api_key="k", host="0.0.0.0")
    with c:
        r = c.post("/complete", json={"prefix": "x = "}, headers={"host": "build-box:5000", "authorization": "Bearer k"})
    assert r.status_code == 200


# -- 1: no key bypass ----------------------------------------------------------------------------------
def test_an_empty_host_is_refused_not_treated_as_loopback(capsys):
    from fimkit.cli import main

    assert main(["serve", "--host", ""]) == 2
    assert "--host is empty" in capsys.readouterr().err


# -- 10: smaller ones ---------------------------------------------------------------------------------
def test_tabby_null_prefix_is_empty_not_the_word_none(client):
    r = client.post("/v1/completions", json={"language": "python", "segments": {"prefix": None, "suffix": "\n"}})
    assert r.status_code == 200
    assert "None" not in client.app.state.service.engine.prompts[-1]


def test_zero_tokens_warms_up_without_generating_on_every_api(client):
    engine = client.app.state.service.engine
    before = engine.generated
    r = client.post("/infill", json={"input_prefix": "x = ", "input_suffix": "\n", "n_predict": 0})
    assert r.status_code == 200 and r.json()["content"] == "" and r.json()["tokens_predicted"] == 0
    r = client.post("/v1/completions", json={"prompt": "x = ", "max_tokens": 0})
    assert r.status_code == 200 and r.json()["choices"][0]["text"] == ""
    r = client.post("/api/generate", json={"model": "m", "prompt": "x = ", "suffix": "\n", "stream": False,
                                           "options": {"num_predict": 0}})
    assert r.status_code == 200 and r.json()["response"] == ""
    r = client.post("/complete", json={"prefix": "x = ", "suffix": "\n", "max_tokens": 0})
    assert r.status_code == 200 and r.json()["completion"] == ""
    assert engine.generated == before and engine.prompts[-1].endswith("<|fim_middle|>x =")


def test_openai_logprobs_are_token_texts_with_top_logprobs(client):
    r = client.post("/v1/completions", json={"prompt": "x = ", "suffix": "\n", "logprobs": 1}).json()
    lp = r["choices"][0]["logprobs"]
    assert lp["tokens"][:2] == ["a", " +"] and len(lp["top_logprobs"]) == len(lp["tokens"])
    assert all(isinstance(t, dict) for t in lp["top_logprobs"])


# -- 2: abandoned requests stop ----------------------------------------------------------------------
def _serve(engine, **config):
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(engine, ServerConfig(**config)), log_level="error"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.time() + 10
    while not server.started and time.time() < deadline:
        time.sleep(0.02)
    return server, thread, port


def _hang_up_after(port, body: dict, seconds: float):
    raw = json.dumps(body).encode()
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"POST /complete HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
              + f"Content-Length: {len(raw)}\r\n\r\n".encode() + raw)
    time.sleep(seconds)
    s.close()


def test_a_client_that_hangs_up_stops_its_generation_and_frees_the_queue():
    engine = ScriptedEngine([("x", -0.1)] * 200, delay=0.02)  # 4 s if it ran to the end
    server, thread, port = _serve(engine, max_queue=2)
    try:
        _hang_up_after(port, {"prefix": "a = ", "max_tokens": 200}, 0.3)
        time.sleep(0.5)
        assert engine.generated < 60  # stopped within a few tokens of the hang-up, not after 200
        for _ in range(3):  # queued ones too: each is dropped without running
            _hang_up_after(port, {"prefix": "b = ", "max_tokens": 200}, 0.05)
        import urllib.request

        time.sleep(0.5)
        req = urllib.request.Request(f"http://127.0.0.1:{port}/complete", json.dumps({"prefix": "c = ", "max_tokens": 3}).encode(),
                                     {"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        assert "fimkit_completions_cancelled_total" in metrics and engine.generated < 150
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# -- 3: work is bounded by what can be used ----------------------------------------------------------
class CountingEngine(ScriptedEngine):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.counted = 0

    def count_tokens(self, text):
        self.counted += len(text)
        return super().count_tokens(text)


@pytest.mark.parametrize("fim_format", ["fimkit:psm", "prefix-only"])
def test_a_huge_prefix_costs_what_the_window_can_hold(fim_format):
    engine = CountingEngine(fim_format=fim_format, n_ctx=2048)
    c, _ = client_for(engine, max_request_bytes=4_000_000)
    body = {"input_prefix": "x = 1\n" * 300_000, "input_suffix": "\ny = 2\n" * 50_000,
            "input_extra": [{"filename": f"f{i}.py", "text": "z = 3\n" * 20_000} for i in range(5)]}
    with c:
        assert c.post("/infill", json=body).status_code == 200
    window = 2048 * 16
    assert engine.counted < 12 * window  # not the 3.6 MB the client sent, nor a multiple of it


def test_a_request_past_its_deadline_is_stopped_and_answered_504():
    engine = ScriptedEngine([("x", -0.1)] * 100, delay=0.05)  # 5 s if it ran to the end
    c, _ = client_for(engine, request_timeout_s=0.5, min_shown_logprob=-100)  # uncut: it runs to its limit
    with c:
        start = time.time()
        r = c.post("/complete", json={"prefix": "a = ", "max_tokens": 100})
        assert r.status_code == 504 and "--request-timeout" in r.json()["error"]["message"]
        assert time.time() - start < 3 and engine.generated < 40
        assert c.post("/complete", json={"prefix": "a = ", "max_tokens": 2}).status_code == 200
