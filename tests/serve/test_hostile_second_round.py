"""The second hostile probe (issue 27): workspaces, telemetry, streams and fields. Each test here
failed before its fix; the CLI and adapter findings are tested in tests/test_cli.py and
tests/models/test_adapter.py."""

import json
import os
import sqlite3
import threading
import time
import urllib.request

import pytest
from infer.fakes import ScriptedEngine
from serve.test_hostile import _serve, client_for

pytest.importorskip("httpx")

PIECES = [("a", -0.1), (" +", -0.1), (" 1", -0.1), ("\n", -0.1)]


# -- 2: a workspace file whose name is not UTF-8 ------------------------------------------------------
@pytest.fixture
def bad_name_workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("FIMKIT_HOME", str(tmp_path / "home"))
    root = tmp_path / "ws"
    root.mkdir()
    with open(os.path.join(os.fsencode(root), b"odd\xff.py"), "wb") as fh:
        fh.write(b"def make_widget(size):\n    return size\n")
    (root / "shapes.py").write_text("def make_widget(size, colour):\n    return (size, colour)\n")
    return root


STREAMS = {
    "/v1/completions": ({"prompt": "w = make_widget(", "suffix": "\n", "stream": True}, "data: [DONE]"),
    "/api/generate": ({"prompt": "w = make_widget(", "suffix": "\n"}, '"done": true'),
    "/infill": ({"input_prefix": "w = make_widget(", "input_suffix": "\n", "stream": True}, '"stop": true'),
}


def test_a_non_utf8_file_name_in_the_workspace_never_breaks_a_completion(bad_name_workspace):
    c, engine = client_for(ScriptedEngine(PIECES, fim_format="prefix-only"), workspace=str(bad_name_workspace))
    body = {"prefix": "w = make_widget(", "suffix": "\n", "filename": str(bad_name_workspace / "main.py"),
            "language": "python", "show_context": True}
    with c:
        for _ in range(100):  # indexed in the background
            r = c.post("/complete", json=body)
            assert r.status_code == 200, r.text
            if r.json()["fimkit"]["context"]:
                break
            time.sleep(0.05)
        assert {x["path"] for x in r.json()["fimkit"]["context"]} == {"shapes.py"}
        tabby = {"segments": {"prefix": "w = make_widget(", "suffix": "\n", "filepath": body["filename"]}}
        assert c.post("/v1/completions", json=tabby).status_code == 200
        assert c.post("/infill", json={"input_prefix": "w = make_widget(", "filename": body["filename"]}).status_code == 200
        for path, (stream_body, end) in STREAMS.items():
            with c.stream("POST", path, json={**stream_body, "filename": body["filename"]}) as s:
                text = "".join(s.iter_text())
            assert s.status_code == 200 and end in text.replace("'", '"'), (path, text[-200:])


def test_a_stream_that_fails_says_so_in_its_own_framing():
    """A failure after the 200 went out once ended OpenAI and Ollama streams with nothing: no [DONE], no done."""

    class Failing(ScriptedEngine):
        def _produce(self, gen, prompt, params, cancel):
            yield from ()
            raise UnicodeEncodeError("utf-8", "\udcff", 0, 1, "surrogates not allowed")

    c, _ = client_for(Failing())
    with c:
        with c.stream("POST", "/v1/completions", json={"prompt": "x = ", "stream": True}) as s:
            events = [ln for ln in s.iter_lines() if ln]
        assert json.loads(events[-2][len("data: "):])["error"]["code"] == 500 and events[-1] == "data: [DONE]"
        with c.stream("POST", "/api/generate", json={"prompt": "x = "}) as s:
            last = json.loads([ln for ln in s.iter_lines() if ln][-1])
        assert last["done"] is True and "UnicodeEncodeError" in last["error"]
        assert c.get("/health").json()["status"] == "ok"


# -- 4: a locked telemetry database never delays a completion -----------------------------------------
def _lock(db_path):
    """Another process's exclusive lock on the telemetry database, until the returned connection closes."""
    con = sqlite3.connect(db_path, timeout=0, isolation_level=None)
    con.execute("BEGIN EXCLUSIVE")
    return con


def _rows(db_path) -> int:
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=0) as con:
        return con.execute("SELECT COUNT(*) FROM completions").fetchone()[0]


def test_completions_do_not_wait_for_a_locked_telemetry_database(tmp_path):
    db = tmp_path / "t.sqlite"
    c, _ = client_for(telemetry_path=str(db))
    with c:
        lock = _lock(db)
        try:
            replies = [c.post("/complete", json={"prefix": f"x{i} = ", "max_tokens": 1}) for i in range(6)]
            assert all(r.status_code == 200 for r in replies)
            # Before the fix each request waited out SQLite's 5 s busy timeout, then lost its row; now
            # the request is answered while the lock is still held, and the row is written after it.
            assert _rows(db) == 0
            assert c.get("/v1/stats").status_code == 200  # readers are not blocked in WAL mode
        finally:
            lock.close()
        assert c.get("/v1/stats").json()["completions_served"] == 6
        assert "fimkit_telemetry_dropped_total 0" in c.get("/metrics").text


def test_a_telemetry_writer_that_falls_behind_drops_and_counts(tmp_path):
    from fimkit.serve.telemetry import Telemetry

    db = tmp_path / "t.sqlite"
    tel = Telemetry(db, queue_rows=3)
    lock = _lock(db)
    try:
        kept = [tel.record_completion(f"c{i}", endpoint="/complete", model="m", mid_line=False, language=None,
                                      chars=1, latency_ms=1.0) for i in range(12)]
        assert not all(kept) and tel.dropped == kept.count(False) >= 8
    finally:
        lock.close()
    assert tel.flush(10)
    tel.close()


# -- 9: duplicate and unknown completion ids ----------------------------------------------------------
def test_stats_count_each_served_completion_once_per_outcome(tmp_path):
    c, _ = client_for(telemetry_path=str(tmp_path / "t.sqlite"))
    with c:
        for kind in ("view", "accept", "accept", "accept"):  # an id this server never served
            assert c.post("/v1/events", json={"type": kind, "completion_id": "cmpl-never-served"}).status_code == 200
        stats = c.get("/v1/stats").json()
        assert stats["overall"]["accept_rate"] is None and stats["events_not_counted"] == 4
        served = c.post("/complete", json={"prefix": "x = "}).json()["id"]
        for kind in ("view", "view", "accept", "accept", "accept"):
            c.post("/v1/events", json={"type": kind, "completion_id": served})
        overall = c.get("/v1/stats").json()["overall"]
        assert (overall["shown"], overall["accepted"], overall["accept_rate"]) == (1, 1, 1.0)


@pytest.mark.parametrize("event, field", [
    ({"type": "accept", "elapsed": True}, "elapsed"), ({"type": "accept", "choice_index": False}, "choice_index"),
    ({"type": "accept", "accepted_chars": True}, "accepted_chars"), ({"type": "accept", "mid_line": 1}, "mid_line"),
    ({"type": "accept", "elapsed": "12"}, "elapsed"),
])
def test_booleans_are_not_numbers_in_events(event, field, tmp_path):
    c, _ = client_for(telemetry_path=str(tmp_path / "t.sqlite"))
    with c:
        r = c.post("/v1/events", json=event)
    assert r.status_code == 400 and f"'{field}'" in r.json()["error"]["message"]


# -- 10: an abandoned stream is a cancelled request ---------------------------------------------------
def test_an_abandoned_stream_is_counted_as_cancelled_with_its_tokens():
    import http.client

    # 3 s in all; prefix-only, whose rules let a run of statements go on (a FIM profile's middle is one)
    engine = ScriptedEngine([(f"    v{i} = {i}\n", -0.1) for i in range(300)], delay=0.01, fim_format="prefix-only")
    server, thread, port = _serve(engine, max_queue=4)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("POST", "/v1/completions", json.dumps({"prompt": "def f():\n", "max_tokens": 300, "stream": True}),
                     {"Content-Type": "application/json"})
        reply = conn.getresponse()
        assert reply.status == 200
        reply.fp.readline()  # the first line's event: generation is under way
        conn.sock.shutdown(2)
        conn.close()
        for _ in range(100):
            metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
            if "fimkit_completions_cancelled_total 1" in metrics:
                break
            time.sleep(0.05)
        assert "fimkit_completions_cancelled_total 1" in metrics
        assert 'fimkit_requests_total{endpoint="/v1/completions",status="499"} 1' in metrics
        assert 'status="200"' not in metrics.split("fimkit_request_seconds")[0].split("/v1/completions")[1][:30]
        generated = int(next(ln.split()[-1] for ln in metrics.splitlines() if ln.startswith("fimkit_generated_tokens_total")))
        assert 0 < generated < 300 and engine.generated < 300
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# -- 11: Tabby's temperature has the range of every other dialect -------------------------------------
@pytest.mark.parametrize("value", [-5, 1e308, 2.5, True, "0.2"])
def test_tabby_temperature_out_of_range_is_a_422(value):
    c, _ = client_for()
    with c:
        r = c.post("/v1/completions", json={"segments": {"prefix": "x = "}, "temperature": value})
    assert r.status_code == 422 and "temperature" in r.json()["error"]["message"]


@pytest.mark.parametrize("path, body", [
    ("/complete", {"prefix": "x", "max_tokens": True}), ("/v1/completions", {"prompt": "x", "n": True}),
    ("/v1/completions", {"prompt": "x", "seed": 2**40}), ("/infill", {"input_prefix": "x", "n_predict": 1.5}),
    ("/api/generate", {"prompt": "x", "options": {"seed": -1}}), ("/infill", {"input_prefix": "x", "stream": "yes"}),
])
def test_numbers_and_booleans_are_taken_strictly_on_every_dialect(path, body):
    c, _ = client_for()
    with c:
        r = c.post(path, json=body)
    assert r.status_code == 422, r.text


def test_concurrent_requests_with_telemetry_locked_all_answer(tmp_path):
    """Six concurrent 1-token requests with the database locked were answered at 5, 10 ... 30 s."""
    db = tmp_path / "t.sqlite"
    engine = ScriptedEngine([("x", -0.1)])
    server, thread, port = _serve(engine, telemetry_path=str(db))
    lock = _lock(db)
    statuses = []

    def one(i):
        req = urllib.request.Request(f"http://127.0.0.1:{port}/complete",
                                     json.dumps({"prefix": f"x{i} = ", "max_tokens": 1}).encode(),
                                     {"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            statuses.append(resp.status)

    try:
        threads = [threading.Thread(target=one, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert statuses == [200] * 6 and _rows(db) == 0  # all answered while the lock held their rows back
    finally:
        lock.close()
    try:
        for _ in range(100):  # the writer stores them once the lock is gone; none is lost
            if _rows(db) == 6:
                break
            time.sleep(0.05)
        assert _rows(db) == 6
    finally:
        server.should_exit = True
        thread.join(timeout=10)
