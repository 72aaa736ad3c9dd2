"""The engine fimkit starts or talks to, against a hostile neighbour and a careless operator (issue 35):
only fimkit can use its llama-server, what a running one says about itself is checked, a stalled one
never holds fimkit up, and however fimkit ends, no llama-server outlives it. A real llama-server on a
tiny GGUF, a real `fimkit serve` process, real signals."""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from serve.test_hostile_third_round import StallingServer

from fimkit.errors import BackendUnavailableError, FimkitError
from fimkit.infer import CompletionRequest, run_completion
from fimkit.infer.config import EngineConfig
from fimkit.infer.engines.choice import load_engine
from fimkit.infer.engines.contract import SamplingParams
from fimkit.infer.engines.server_process import EngineProcess, find_binary

pytestmark = pytest.mark.slow

try:
    find_binary()
except FimkitError as exc:  # pragma: no cover - `make test` builds it first
    pytest.skip(f"no llama-server: {exc}", allow_module_level=True)


def _get(url, key=None, body=None):
    headers = {"Content-Type": "text/plain"}  # what a web page can send without a preflight
    if key:
        headers["Authorization"] = f"Bearer {key}"
    req = urllib.request.Request(url, body, headers, method="POST" if body else "GET")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


# -- 1: only fimkit reaches its engine ------------------------------------------------------------------
def test_the_engine_answers_only_fimkit(tiny_fim_gguf):
    engine = load_engine(EngineConfig(model=str(tiny_fim_gguf), backend="llama-server", n_ctx=256, parallel=2))
    try:
        url, key, pid = engine.url, engine.key, engine.process._proc.pid
        greedy = json.dumps({"prompt": "x", "n_predict": 100000, "ignore_eos": True}).encode()
        assert _get(url + "/completion", body=greedy) == 401  # a local process or a web page: refused
        for path in ("/props", "/slots", "/metrics", "/lora-adapters", "/v1/models"):
            assert _get(url + path) == 401, path
            assert _get(url + path, key=key) == 200, path
        assert _get(url + "/health") == 200  # liveness only
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            assert key.encode() not in fh.read()  # not on its command line, which every user can read
        req = CompletionRequest("def add(a, b):\n    return ", "\n", sampling=SamplingParams(max_tokens=4))
        assert run_completion(engine, req).stats.predicted_tokens >= 1  # fimkit's own requests carry the key
    finally:
        engine.close()


# -- 12: what a running server says about itself ---------------------------------------------------------
class FakeLlamaServer:
    """GET /props and /lora-adapters answer ``props`` / ``adapters``; POST /completion never answers."""

    def __init__(self, props, adapters=()):
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                data = json.dumps(props if self.path == "/props" else list(adapters)).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                while not outer.stopped.wait(0.1):
                    pass

            def log_message(self, *a):
                pass

        self.stopped = threading.Event()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self):
        self.stopped.set()
        self.httpd.shutdown()


@pytest.mark.parametrize("props, needle", [([1, 2, 3], "/props is not a JSON object"), ("text", "not a JSON object")])
def test_a_server_that_describes_itself_wrongly_is_one_line(tiny_fim_gguf, props, needle):
    fake = FakeLlamaServer(props)
    try:
        with pytest.raises(FimkitError, match=needle) as err:
            load_engine(EngineConfig(model=str(tiny_fim_gguf), backend="llama-server", base_url=fake.url))
        assert "\n" not in str(err.value)
    finally:
        fake.close()


def test_a_slot_count_past_the_limit_is_capped(tiny_fim_gguf):
    fake = FakeLlamaServer({"total_slots": 2000})
    try:
        engine = load_engine(EngineConfig(model=str(tiny_fim_gguf), backend="llama-server", base_url=fake.url))
        assert engine.parallel == 256
        engine.close()
    finally:
        fake.close()


def test_a_running_server_that_stalls_gets_504_at_the_deadline(tiny_fim_gguf):
    from serve.test_hostile import client_for

    fake = FakeLlamaServer({"total_slots": 1})
    try:
        engine = load_engine(EngineConfig(model=str(tiny_fim_gguf), backend="llama-server", base_url=fake.url))
        c, _ = client_for(engine, request_timeout_s=1.0)
        with c:
            r = c.post("/complete", json={"prefix": "x = ", "max_tokens": 4})
        assert r.status_code == 504
    finally:
        fake.close()


# -- 14: a restarted engine is "loading" until it answers -------------------------------------------------
def test_a_restarting_engine_says_loading_until_it_answers(tiny_fim_gguf, tmp_path, monkeypatch):
    seen = []
    original = EngineProcess._wait_ready

    def watched(self):
        seen.append(self.state)
        try:
            self.check()
        except BackendUnavailableError as exc:
            seen.append(str(exc))
        original(self)

    monkeypatch.setattr(EngineProcess, "_wait_ready", watched)
    process = EngineProcess(tiny_fim_gguf, n_ctx=256, parallel=1, log_path=tmp_path / "engine.log").start()
    try:
        assert process.state == "ok"
        os.kill(process._proc.pid, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while (process.restarts < 1 or process.state != "ok") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert process.state == "ok" and process.restarts == 1
    finally:
        process.stop()
    assert seen[0] == "loading" and seen[2] == "loading" and "is loading its model" in seen[3]


# -- 8b: no engine outlives fimkit -------------------------------------------------------------------------
def _engines(model) -> list[int]:
    """The pids of llama-servers started on ``model`` (a path no other test uses)."""
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as fh:
                    cmd = fh.read().split(b"\0")
            except OSError:
                continue
            if str(model).encode() in cmd and any(part.endswith(b"llama-server") for part in cmd[:1]):
                found.append(int(pid))
    return found


def _survivors(model, timeout=20.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while (left := _engines(model)) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in left:  # never leave one behind for the next test
        os.kill(pid, signal.SIGKILL)
    return left


def _end(proc, model) -> list[int]:
    """After a test, whatever happened in it: fimkit gone, and the engines that outlived it (killed)."""
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    return _survivors(model)


@pytest.fixture
def own_model(tiny_fim_gguf, tmp_path):
    model = tmp_path / f"engine-{uuid.uuid4().hex[:8]}.gguf"
    shutil.copy(tiny_fim_gguf, model)
    return model


def _start(model, tmp_path):
    env = dict(os.environ, FIMKIT_HOME=str(tmp_path / "home"))
    return subprocess.Popen([sys.executable, "-m", "fimkit", "serve", "--model", str(model), "--port", "0",
                             "--n-ctx", "256", "--backend", "llama-server", "--parallel", "4", "--no-telemetry"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _serving(proc) -> str:
    line = proc.stderr.readline()
    assert "serving" in line, line + proc.stderr.read()
    return line.strip().rsplit(" ", 1)[-1]


def _child_appears(model, proc, timeout=60.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _engines(model)
        if found:
            return found[0]
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.005)
    raise AssertionError("no llama-server started")


def _load(base, n=8):
    def one(i):
        body = json.dumps({"prompt": f"def f{i}(a):\n    return ", "max_tokens": 32}).encode()
        req = urllib.request.Request(base + "/v1/completions", body, {"Content-Type": "application/json"})
        try:
            urllib.request.urlopen(req, timeout=30).read()
        except OSError:
            pass  # the server went away mid-request: that is the point

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    return threads


@pytest.mark.parametrize("how", ["SIGTERM while serving", "SIGINT while serving", "SIGKILL while serving",
                                 "SIGTERM with the engine stuck", "SIGKILL with the engine stuck"])
def test_no_engine_survives_fimkit_once_serving(how, own_model, tmp_path):
    proc = _start(own_model, tmp_path)
    try:
        base = _serving(proc)
        _load(base)
        time.sleep(0.3)  # completions in flight
        if "stuck" in how:  # an engine that cannot react to SIGTERM: stopped (as a hung one would be)
            for pid in _engines(own_model):
                os.kill(pid, signal.SIGSTOP)
        proc.send_signal(getattr(signal, how.split()[0]))
        proc.wait(timeout=60)  # bounded: a stuck engine gets SIGKILL after a few seconds
    finally:
        left = _end(proc, own_model)
    assert left == [], how


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT", "SIGKILL", "SIGSEGV"])
def test_no_engine_survives_fimkit_ending_while_it_starts(how, own_model, tmp_path):
    """fimkit ends while its engine is still loading (held there: stopped before it answers), by a
    signal or a crash (SIGSEGV)."""
    proc = _start(own_model, tmp_path)
    try:
        child = _child_appears(own_model, proc)
        os.kill(child, signal.SIGSTOP)  # it never becomes ready: fimkit is still starting
        time.sleep(0.3)
        proc.send_signal(getattr(signal, how))
        proc.wait(timeout=60)
    finally:
        left = _end(proc, own_model)
    assert left == [], how


def test_shutdown_is_not_held_up_by_a_stalled_engine(tmp_path):
    """SIGTERM with a request waiting on a server that never answers: fimkit is gone in seconds, not
    at the request's deadline (it did not stop within 20 s)."""
    stall = StallingServer("comments")
    env = dict(os.environ, FIMKIT_HOME=str(tmp_path / "home"))
    proc = subprocess.Popen([sys.executable, "-m", "fimkit", "serve", "--backend", "openai", "--base-url", stall.url,
                             "--model", "remote", "--fim-format", "fimkit:psm", "--port", "0", "--no-telemetry",
                             "--request-timeout", "600"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    try:
        base = _serving(proc)
        _load(base, n=2)
        deadline = time.monotonic() + 20
        while len(stall.connections) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        stall.close()
