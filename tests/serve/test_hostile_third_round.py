"""The third hostile probe (issue 35): routes files that are not what they seem, names from the whole of
Unicode, engines that stall or describe themselves wrongly, telemetry that would skew an experiment,
and what /health says and to whom. Each test here failed before its fix; the language server's are in
tests/editor/test_lsp_hostile.py, the engine's door and lifetime in tests/serve/test_engine_third_round.py."""

import json
import os
import socket
import sqlite3
import threading
import time
import urllib.parse

import pytest
from infer.fakes import ScriptedEngine
from serve.test_hostile import client_for

from fimkit.cli import main
from fimkit.errors import FimkitError
from fimkit.serve import routing
from fimkit.serve.routing import Router, header_name

pytest.importorskip("httpx")

ARMS = ("shop", "pay")
CANARY = "CANARY_9b2c"


def _write(path, text: str | bytes) -> None:
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def _in_thread(fn, timeout: float = 15.0):
    """``fn()``'s result or exception, or an AssertionError when it has not returned within ``timeout``
    (a liveness bound: without the fixes these calls blocked for ever)."""
    out = {}

    def run():
        try:
            out["value"] = fn()
        except BaseException as exc:  # noqa: BLE001
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"still blocked after {timeout} s"
    if "error" in out:
        raise out["error"]
    return out.get("value")


# -- 4, 5, 6, 10, 16: the routes file -------------------------------------------------------------------
def _laughs(levels: int = 6) -> str:
    """A "billion laughs" under ``default:`` (10**levels strings once its aliases are expanded)."""
    parts = ["&a0 [" + ", ".join(["lol"] * 10) + "]"]
    parts += [f"&a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return f"default: [{', '.join(parts)}, *a{levels - 1}]\n"


def test_yaml_aliases_are_refused_before_they_expand(tmp_path):
    path = tmp_path / "routes.yaml"
    _write(path, _laughs())
    with pytest.raises(FimkitError, match=r"aliases \(\*name\) are not accepted") as err:
        Router(str(path), ARMS)
    assert len(str(err.value)) < 300 and "lol" not in str(err.value)


def test_a_key_given_twice_is_refused(tmp_path):
    path = tmp_path / "routes.yaml"
    _write(path, "default: nosuch\ndefault: base\n")
    with pytest.raises(FimkitError, match="'default' is given twice"):
        Router(str(path), ARMS)


@pytest.mark.parametrize("text", [
    f"root:$6${CANARY}$hash:19000:0:99999:7::: here\ndaemon:*:19000: x\n",  # keys that are lines of a file
    f"repositories: {{shop: $6${CANARY}}}\n",
    f"default: [{CANARY}\n",  # not YAML: PyYAML's message quotes the line
    f"default: '{CANARY}' '{CANARY}'\n",
    f"experiments: [{{name: '{CANARY} x', arms: {{base: 1, shop: 1}}}}, {{name: '{CANARY} x', arms: {{base: 1}}}}]\n",
])
def test_errors_name_the_file_and_the_problem_never_its_contents(tmp_path, text):
    path = tmp_path / "shadow"
    _write(path, text)
    with pytest.raises(FimkitError) as err:
        Router(str(path), ARMS)
    message = str(err.value)
    assert CANARY not in message and str(path) in message and "\n" not in message, message


@pytest.mark.parametrize("make", ["fifo", "device", "folder", "too large", "not utf-8"])
def test_a_routes_file_that_is_not_a_small_text_file_is_one_line_at_start_and_never_blocks(tmp_path, make):
    path = tmp_path / "routes.yaml"
    if make == "fifo":
        os.mkfifo(path)
    elif make == "device":
        path = "/dev/zero"
    elif make == "folder":
        path.mkdir()
    elif make == "too large":
        _write(path, "repositories:\n" + "".join(f"  repo{i}: shop\n" for i in range(60_000)))
    else:
        _write(path, b"default: base\nrepositories: {caf\xe9: shop}\n")
    try:
        with pytest.raises(FimkitError) as err:
            _in_thread(lambda: Router(str(path), ARMS))
    finally:
        if make == "fifo":
            _release(path)
    expected = {"fifo": "not a regular file (a FIFO)", "device": "not a regular file (a device)",
                "folder": "not a regular file (a folder)", "too large": "over the 1,000,000-byte limit",
                "not utf-8": "not UTF-8 text (invalid byte at offset 32)"}[make]
    assert expected in str(err.value) and "\n" not in str(err.value)


def _release(fifo) -> None:
    """Let a reader blocked on ``fifo`` go (there must be none; without the fix there was one)."""
    try:
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:  # no reader: nothing to release
        pass


def test_a_bad_rewrite_keeps_the_table_counts_the_error_and_never_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(routing, "CHECK_EVERY_S", float("inf"))
    path = tmp_path / "routes.yaml"
    _write(path, "repositories: {shop: shop}\n")
    router = Router(str(path), ARMS)
    for bad in (b"repositories: {shop: pay}\n\xff\xfe\n", _laughs().encode(), b"default: pay\ndefault: shop\n"):
        _write(path, bad)
        assert _in_thread(router.refresh) is False
        assert router.route("shop", "u").arm == "shop"
    assert router.errors == 3
    path.unlink()
    os.mkfifo(path)
    assert _in_thread(router.refresh) is False and router.errors == 4
    assert router.route("shop", "u").arm == "shop"


def test_a_request_never_waits_for_the_routes_file(tmp_path, monkeypatch):
    """Reading a changed file is a background thread's job: a request routes with the table it has
    even while a reading is stuck (a 50 MB table stalled every endpoint for 18 s)."""
    monkeypatch.setattr(routing, "CHECK_EVERY_S", 0.0)
    path = tmp_path / "routes.yaml"
    _write(path, "repositories: {shop: shop}\n")
    router = Router(str(path), ARMS)
    release, reading = threading.Event(), threading.Event()
    original = router._read

    def stuck():
        reading.set()
        release.wait(30)
        return original()

    monkeypatch.setattr(router, "_read", stuck)
    _write(path, "repositories: {shop: pay}\n")
    try:
        assert _in_thread(lambda: router.route("shop", "u")).arm == "shop"
        assert reading.wait(10)  # the reading started, in another thread
        assert _in_thread(lambda: router.route("shop", "u")).arm == "shop"  # and nobody waits for it
    finally:
        release.set()


def test_health_shows_a_routes_edit_at_once(tmp_path):
    path = tmp_path / "routes.yaml"
    _write(path, "default: base\n")
    c, _ = client_for(routes=str(path))
    with c:
        assert c.get("/health").json()["routes"]["rollback"] is None
        _write(path, "default: base\nrollback: base\n")
        assert c.get("/health").json()["routes"]["rollback"] == "base"  # no completion needed to see it


# -- 8: names from the whole of Unicode ---------------------------------------------------------------
NAMES = ["项目", "café", "🚀-rocket", "github.com/acme/shop", "naïve repo", "100%"]


@pytest.mark.parametrize("name", NAMES)
def test_percent_encoded_utf8_names_are_decoded(name):
    sent = urllib.parse.quote(name, safe="")  # what encodeURIComponent sends
    assert header_name(sent, "X-Fimkit-Repository") == name
    raw = name.encode("utf-8").decode("latin-1")  # raw UTF-8 bytes (curl), as the server reads them
    assert header_name(raw, "X-Fimkit-Repository") == name.strip()


@pytest.mark.parametrize("value", ["%FF%FE", "caf\xe9", "a%00b", "%E9%A1", "x" * 2401])
def test_names_that_are_not_utf8_or_not_printable_are_a_400(value):
    with pytest.raises(FimkitError, match="header X-Fimkit-Repository"):
        header_name(value, "X-Fimkit-Repository")


class AdapterEngine(ScriptedEngine):
    adapters = ("cafe_adapter", "project_adapter")

    def __init__(self):
        super().__init__([("a", -0.1)])
        self.chosen = []

    def _produce(self, gen, prompt, params, cancel):
        self.chosen.append(params.adapter)
        yield from super()._produce(gen, prompt, params, cancel)


def test_non_latin_repositories_reach_their_adapters(tmp_path):
    path = tmp_path / "routes.yaml"
    _write(path, "repositories:\n  café: cafe_adapter\n  项目: project_adapter\ndefault: base\n")
    engine = AdapterEngine()
    c, _ = client_for(engine, routes=str(path))
    with c:
        for repo in ("café", "项目", "🚀"):
            r = c.post("/complete", json={"prefix": "x = ", "max_tokens": 2},
                       headers={"X-Fimkit-Repository": urllib.parse.quote(repo, safe=""),
                                "X-Fimkit-User": urllib.parse.quote("José 山田", safe="")})
            assert r.status_code == 200, r.text
        bad = c.post("/complete", json={"prefix": "x = "}, headers={"X-Fimkit-Repository": "%FF"})
        assert bad.status_code == 400 and "X-Fimkit-Repository" in bad.json()["error"]["message"]
    assert engine.chosen == ["cafe_adapter", "project_adapter", None]


# -- 7: an engine that stalls ---------------------------------------------------------------------------
class StallingServer:
    """Accepts a completion request, then says nothing (``mode`` "silent") or only SSE keep-alive comments
    (``mode`` "comments"), for ever."""

    def __init__(self, mode: str):
        self.mode, self.sock = mode, socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"
        self.connections = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(conn)
            threading.Thread(target=self._talk, args=(conn,), daemon=True).start()

    def _talk(self, conn):
        try:
            conn.recv(65536)
            if self.mode == "comments":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n")
            while True:
                time.sleep(0.1)
                if self.mode == "comments":
                    conn.sendall(b": keep-alive\n\n")
        except OSError:
            return

    def hung_up(self) -> int:
        """How many of its connections the client has closed."""
        closed = 0
        for conn in self.connections:
            conn.setblocking(False)
            try:
                while conn.recv(65536):  # the rest of the request, then the end of the stream
                    pass
                closed += 1
            except BlockingIOError:  # still open
                pass
            except OSError:
                closed += 1
        return closed

    def close(self):
        self.sock.close()
        for conn in self.connections:
            conn.close()


def _remote(url, timeout=60.0):
    from fimkit.formats import FimFormat
    from fimkit.infer.engines.remote import OpenAIEngine

    return OpenAIEngine(url, "remote", fim_format=FimFormat.parse_spec("fimkit:psm"), timeout=timeout)


@pytest.mark.parametrize("mode", ["silent", "comments"])
def test_a_stalled_engine_gets_504_at_the_requests_deadline_and_is_hung_up(mode):
    stall = StallingServer(mode)

    def serve_one():
        c, _ = client_for(_remote(stall.url), request_timeout_s=1.0)
        with c:  # leaving it stops the server: a call still blocked would hold that up too
            return c.post("/complete", json={"prefix": "x = ", "max_tokens": 8})

    try:
        r = _in_thread(serve_one, timeout=30)
        assert r.status_code == 504 and "--request-timeout" in r.json()["error"]["message"]
        assert stall.hung_up() == 1  # the call was abandoned, not left holding a slot
    finally:
        stall.close()


def test_a_stream_of_keep_alives_alone_ends_without_a_deadline():
    from fimkit.errors import BackendError
    from fimkit.infer.engines.contract import SamplingParams

    stall = StallingServer("comments")
    try:
        engine = _remote(stall.url, timeout=1.0)
        with pytest.raises(BackendError, match="no event for 1 s"):
            _in_thread(lambda: list(engine.generate("x = ", SamplingParams(max_tokens=4))), timeout=30)
    finally:
        stall.close()


# -- 9: telemetry bounded by what was shown -------------------------------------------------------------
def test_accepted_characters_are_capped_at_what_was_shown_and_intervals_stay_at_or_above_zero(tmp_path):
    from fimkit.serve.telemetry import Telemetry

    tel = Telemetry(tmp_path / "t.sqlite")
    try:
        for i, (chars, latency) in enumerate([(0, 1.0), (5, 1.0), (5, 900.0), (3, 2.0)]):
            tel.record_completion(f"c{i}", endpoint="/complete", model="m", mid_line=False, language=None,
                                  chars=chars, latency_ms=latency, arm="shop", experiment=None)
        tel.flush()
        tel.record_event({"type": "accept", "completion_id": "c0", "accepted_chars": 100_000_000})
        tel.record_event({"type": "partial", "completion_id": "c1", "accepted_chars": 99_999})
        tel.record_event({"type": "accept", "completion_id": "c2"})
        tel.record_event({"type": "view", "completion_id": "c3"})
        arm = tel.stats()["by_arm"]["shop"]
    finally:
        tel.close()
    assert arm["chars_accepted_per_shown"] == round((0 + 5 + 5 + 0) / 4, 2)
    assert arm["chars_95"][0] >= 0 and arm["latency_95"][0] >= 0


# -- 11: fimkit stats on what is not fimkit's -------------------------------------------------------------
def _telemetry_db(path, rows: int = 3000):
    from fimkit.data.usage import SCHEMA

    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA)
        for i in range(rows):
            db.execute("INSERT INTO completions (id, created, endpoint, model, mid_line, chars, latency_ms, arm) "
                       "VALUES (?, 0, '/complete', 'm', 0, 4, 10.0, ?)", (f"c{i}" + "x" * 200, "base"))
            db.execute("INSERT INTO events (created, type, completion_id) VALUES (0, 'accept', ?)", (f"c{i}" + "x" * 200,))
        db.execute("INSERT INTO completions (id, arm, experiment, chars) VALUES ('blob', ?, ?, ?)",
                   (b"\xff\x00arm", b"\x00exp", b"4"))
        db.execute("INSERT INTO events (created, type, completion_id) VALUES (0, 'accept', 'blob')")


def test_stats_skip_rows_of_the_wrong_type_on_the_command_line_and_the_server(tmp_path, capsys):
    db = tmp_path / "t.sqlite"
    _telemetry_db(db, rows=5)
    assert main(["stats", "--db", str(db), "--json"]) == 0
    assert list(json.loads(capsys.readouterr().out)["by_arm"]) == ["base"]
    c, _ = client_for(telemetry_path=str(db))
    with c:
        r = c.get("/v1/stats")
    assert r.status_code == 200 and list(r.json()["by_arm"]) == ["base"]


def test_stats_on_a_damaged_database_is_one_line(tmp_path, capsys):
    db = tmp_path / "t.sqlite"
    _telemetry_db(db)
    size = db.stat().st_size
    with open(db, "r+b") as fh:  # the first pages intact (it opens), the rest garbage
        fh.seek(size // 2)
        fh.write(os.urandom(size - size // 2))
    assert main(["stats", "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize("reply", [b"[1, 2, 3]", b'{"by_arm": {"base": 7}}', b'"text"', b'{"experiments": [1]}'])
def test_stats_from_a_server_that_is_not_fimkit_is_one_line(reply, capsys):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *a):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        assert main(["stats", "--server", f"http://127.0.0.1:{httpd.server_address[1]}"]) == 2
    finally:
        httpd.shutdown()
    err = capsys.readouterr().err
    assert "not the per-arm statistics" in err and len(err.strip().splitlines()) == 1


# -- 14: /health tells the truth, and configuration stays behind the key ----------------------------------
class Process:
    def __init__(self, state):
        self.state, self.restarts = state, 1


@pytest.mark.parametrize("state, status", [("loading", "loading"), ("restarting", "engine restarting"), ("ok", "ok")])
def test_health_says_loading_while_a_restarted_engine_loads(state, status):
    engine = ScriptedEngine()
    engine.process = Process(state)
    c, _ = client_for(engine)
    with c:
        assert c.get("/health").json()["status"] == status


def test_health_without_the_key_says_only_whether_the_server_is_up(tmp_path):
    path = tmp_path / "secret-routes.yaml"
    _write(path, "experiments: [{name: secret-experiment, arms: {base: 1, shop: 1}}]\n")

    class Engine(ScriptedEngine):
        adapters = ("shop",)

    c, _ = client_for(Engine(), routes=str(path), api_key="k")
    with c:
        anonymous = c.get("/health")
        keyed = c.get("/health", headers={"Authorization": "Bearer k"})
    assert anonymous.status_code == 200 and anonymous.json() == {"status": "ok"}
    assert keyed.json()["routes"]["file"] == str(path) and keyed.json()["adapters"] == ["shop"]
    assert "secret" not in anonymous.text


# -- 16: an adapter that is not a file --------------------------------------------------------------------
@pytest.mark.parametrize("ref, needle", [("/dev/zero", "not a regular file (a device)"),
                                         ("{fifo}", "not a regular file (a FIFO)")])
def test_an_adapter_that_is_not_a_regular_file_says_so(ref, needle, tmp_path):
    from fimkit.models.adapter import find_adapter

    os.mkfifo(tmp_path / "fifo.gguf")
    with pytest.raises(FimkitError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        _in_thread(lambda: find_adapter(ref.format(fifo=tmp_path / "fifo.gguf")))


# -- 2: flags fimkit owns -----------------------------------------------------------------------------------
@pytest.mark.parametrize("args", ["--host 0.0.0.0", "--port=9999", "--api-key x", "--n-gpu-layers 99 -m other.gguf",
                                  "--path /", "--props", "-np 64"])
def test_engine_args_that_decide_who_reaches_the_engine_are_refused_in_one_line(args, capsys):
    assert main(["serve", "--port", "0", "--backend", "llama-server", "--model", "/nowhere/m.gguf",
                 f"--engine-args={args}"]) == 2
    err = capsys.readouterr().err
    assert "is fimkit's to set" in err and len(err.strip().splitlines()) == 1


def test_engine_flags_from_the_environment_are_not_passed_on(monkeypatch):
    from fimkit.infer.engines.server_process import engine_env

    monkeypatch.setenv("LLAMA_ARG_HOST", "0.0.0.0")
    monkeypatch.setenv("LLAMA_API_KEY", "everyone-knows")
    monkeypatch.setenv("LLAMA_ARG_API_KEY_FILE", "/tmp/keys")
    env = engine_env("per-start-key")
    assert "LLAMA_ARG_HOST" not in env and "LLAMA_ARG_API_KEY_FILE" not in env
    assert env["LLAMA_API_KEY"] == "per-start-key"


def test_a_bug_is_answered_as_one_json_line_not_plain_text():
    from fastapi.testclient import TestClient

    from fimkit.serve.app import create_app
    from fimkit.serve.config import ServerConfig

    class Broken(ScriptedEngine):
        def _produce(self, gen, prompt, params, cancel):
            raise RuntimeError(f"internal detail {CANARY}")
            yield

    c = TestClient(create_app(Broken(), ServerConfig()), base_url="http://localhost", raise_server_exceptions=False)
    with c:
        r = c.post("/complete", json={"prefix": "x = "})
    assert r.status_code == 500 and r.headers["content-type"].startswith("application/json")
    assert "RuntimeError" in r.json()["error"]["message"] and CANARY not in r.text
