"""The third round's hostile surfaces for bench_soak.py (issue 35), one actor each.

- names from the whole of Unicode: honest clients send their repository and user percent-encoded
  (项目, café, an emoji...), as fimkit's VS Code extension does; the routes file sends two of them
  to an adapter;
- the engine's door: another local process calls the llama-server child directly, without its key
  (a greedy /completion, /slots, /props, /metrics, /lora-adapters): every answer must be 401;
- the routes file rewritten hostilely while clients run: a billion laughs, invalid UTF-8, a key given
  twice, a line of a password file, a file over the size cap, a FIFO; each kept out, the table restored;
- an engine that stalls: a second fimkit server whose --base-url engine accepts and never answers (or
  only sends keep-alives): each request must end 504 at its deadline, never hang;
- hostile language-server frames: `fimkit lsp --server` fed a terabyte Content-Length, a short frame,
  an HTTP request, changes to unopened documents, then a real completion, which must be answered.
Each actor loops until ``until`` and counts what it saw in a ``Counts``.
"""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

NAMES = ["项目", "café", "🚀 rockets", "shop", "github.com/acme/pay", "naïve-repo"]
USERS = ["José", "山田", "ann", "Zoë 🙂"]
ADAPTED = {"项目": "zero", "café": "zero"}  # repositories the routes file sends to the (zero) adapter


class Counts:
    def __init__(self):
        self.lock = threading.Lock()
        self.seen: dict[str, int] = {}

    def add(self, key: str, n: int = 1) -> None:
        with self.lock:
            self.seen[key] = self.seen.get(key, 0) + n

    def get(self, key: str) -> int:
        return self.seen.get(key, 0)


def identity(rng) -> dict[str, str]:
    """An honest client's headers: percent-encoded UTF-8, as encodeURIComponent gives."""
    return {"X-Fimkit-Repository": urllib.parse.quote(rng.choice(NAMES), safe=""),
            "X-Fimkit-User": urllib.parse.quote(rng.choice(USERS), safe="")}


def valid_routes() -> str:
    return "repositories:\n" + "".join(f"  {json.dumps(n)}: {a}\n" for n, a in ADAPTED.items()) + "default: base\n"


def _laughs(levels: int = 9) -> str:
    parts = ["&a0 [" + ", ".join(["lol"] * 10) + "]"]
    parts += [f"&a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return f"default: [{', '.join(parts)}, *a{levels - 1}]\n"


HOSTILE_ROUTES = {
    "billion laughs": _laughs().encode(),
    "not UTF-8": b"repositories: {caf\xe9: zero}\ndefault: base\n",
    "a key given twice": b"default: nosuch\ndefault: base\n",
    "a password file": b"root:$6$CANARY_routes$hash:19000:0:99999:7::: x\ndaemon:*:19000: y\n",
    "over the size cap": ("repositories:\n" + "".join(f"  repo{i}: zero\n" for i in range(80_000))).encode(),
}


def _router(base: str) -> dict:
    """The routing table's counters from /health (which reads a changed file first), or {} if it failed."""
    try:
        with urllib.request.urlopen(base + "/health", timeout=30) as r:
            return json.loads(r.read()).get("routes") or {}
    except (OSError, ValueError):
        return {}


def rewrite_routes(path: Path, base: str, counts: Counts, until: float, every_s: float = 4.0) -> None:
    """Every ``every_s``: one hostile version of the routes file (in place, or a FIFO swapped in), shown
    to the server (/health reads a changed file at once), then the valid table again."""
    kinds = [*HOSTILE_ROUTES, "a FIFO"]
    turn = 0
    while time.time() + every_s < until:
        kind = kinds[turn % len(kinds)]
        turn += 1
        before = _router(base).get("errors", 0)
        if kind == "a FIFO":
            fifo = path.with_name(".routes-fifo")
            fifo.unlink(missing_ok=True)
            os.mkfifo(fifo)
            os.replace(fifo, path)
        else:
            path.write_bytes(HOSTILE_ROUTES[kind])
        counts.add("routes rewrites (hostile)")
        after = _router(base)
        counts.add("routes: hostile version kept out" if after.get("errors", 0) > before and after.get("default")
                   == "base" and after.get("repositories") == len(ADAPTED) else f"routes: {kind} NOT kept out")
        time.sleep(1.0)
        tmp = path.with_name(".routes-valid")
        tmp.write_text(valid_routes())
        os.replace(tmp, path)
        time.sleep(every_s - 1.0)


def engine_port(server_pid: int) -> int | None:
    """The port of the llama-server that the fimkit process ``server_pid`` started."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmd = fh.read().decode(errors="replace").split("\0")
        except (OSError, ValueError, IndexError):
            continue
        if ppid == server_pid and cmd and cmd[0].endswith("llama-server") and "--port" in cmd:
            return int(cmd[cmd.index("--port") + 1])
    return None


def probe_engine(server_pid: int, counts: Counts, until: float, every_s: float = 2.0) -> None:
    """Direct calls to the engine, as any local process (or a web page posting text/plain) could make."""
    greedy = json.dumps({"prompt": "x", "n_predict": 100000, "ignore_eos": True}).encode()
    calls = [("/completion", greedy), ("/slots", None), ("/props", None), ("/metrics", None), ("/lora-adapters", None)]
    turn = 0
    while time.time() < until:
        port = engine_port(server_pid)
        if port is None:
            counts.add("engine not found")
            time.sleep(every_s)
            continue
        path, body = calls[turn % len(calls)]
        turn += 1
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", body, {"Content-Type": "text/plain"},
                                     method="POST" if body else "GET")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                r.read(1 << 16)
                counts.add("engine answered without its key")
        except urllib.error.HTTPError as exc:
            counts.add("engine refused (401)" if exc.code == 401 else f"engine answered {exc.code}")
        except OSError:
            counts.add("engine unreachable")
        time.sleep(every_s)


class StalledEngine:
    """A fake model server that accepts a completion and never answers (``comments``: only keep-alives)."""

    def __init__(self, comments: bool):
        self.comments, self.sock = comments, socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._talk, args=(conn,), daemon=True).start()

    def _talk(self, conn) -> None:
        with conn:
            try:
                conn.recv(65536)
                if self.comments:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n")
                while True:
                    time.sleep(0.2)
                    if self.comments:
                        conn.sendall(b": keep-alive\n\n")
            except OSError:
                return

    def close(self) -> None:
        self.sock.close()


def hit_stalled(base: str, counts: Counts, until: float, deadline_s: float, every_s: float = 3.0) -> None:
    """Requests to the server in front of a stalled engine: each must end at its deadline (504)."""
    body = json.dumps({"prefix": "x = ", "max_tokens": 8}).encode()
    while time.time() < until:
        start = time.monotonic()
        req = urllib.request.Request(base + "/complete", body, {"Content-Type": "application/json"})
        try:
            urllib.request.urlopen(req, timeout=deadline_s + 30).read()
            counts.add("stalled engine: 200")
        except urllib.error.HTTPError as exc:
            counts.add(f"stalled engine: {exc.code}")
        except OSError:
            counts.add("stalled engine: no answer within its deadline + 30 s")
        counts.add("stalled engine: seconds waited", round(time.monotonic() - start))
        time.sleep(every_s)


def _frame(message: dict) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


HOSTILE_FRAMES = [
    b"Content-Length: 1000000000000\r\n\r\n",
    b"Content-Length: 1e30\r\n\r\n",
    b"Content-Length: 9\r\n\r\n" + json.dumps({"jsonrpc": "2.0", "id": "short", "method": "shutdown"}).encode(),
    b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\nabcd",
    _frame({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
        "textDocument": {"uri": "file:///nowhere/x.py", "version": 9}, "contentChanges": [{"text": "x"}]}}),
    _frame({"jsonrpc": "2.0", "method": "textDocument/didSave", "params": {"textDocument": {"uri": "file:///etc/shadow"}}}),
    _frame({"jsonrpc": "2.0", "id": "secret", "method": "textDocument/completion", "params": {
        "textDocument": {"uri": "file:///etc/passwd"}, "position": {"line": 0, "character": 1}}}),
]


def _read_frames(stream, out: queue.Queue) -> None:
    while True:
        length = None
        while True:
            line = stream.readline()
            if not line:
                out.put(None)
                return
            if line == b"\r\n":
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        out.put(json.loads(stream.read(length)))


def lsp_frames(server_base: str, counts: Counts, until: float, every_s: float = 3.0) -> None:
    """`fimkit lsp --server` fed hostile frames, each followed by a real completion that must be answered."""
    proc = subprocess.Popen([sys.executable, "-m", "fimkit", "lsp", "--server", server_base, "--no-warm-up"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    replies: queue.Queue = queue.Queue()
    threading.Thread(target=_read_frames, args=(proc.stdout, replies), daemon=True).start()

    def ask(msg_id, method, params) -> dict | None:
        proc.stdin.write(_frame({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}))
        proc.stdin.flush()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                message = replies.get(timeout=1)
            except queue.Empty:
                continue
            if message is None:
                return None
            if message.get("id") == msg_id and "method" not in message:
                return message
        return None

    try:
        ask(0, "initialize", {"capabilities": {}, "processId": None})
        proc.stdin.write(_frame({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
            "uri": "file:///w/a.py", "languageId": "python", "version": 1, "text": "def add(a, b):\n    return \n"}}}))
        turn = 0
        while time.time() < until:
            proc.stdin.write(HOSTILE_FRAMES[turn % len(HOSTILE_FRAMES)] + b"\r\n")
            turn += 1
            reply = ask(turn, "textDocument/completion", {"textDocument": {"uri": "file:///w/a.py"},
                                                          "position": {"line": 1, "character": 11}})
            counts.add("lsp hostile frames")
            counts.add("lsp answered after one" if reply is not None and "result" in reply else "lsp lost")
            time.sleep(every_s)
        counts.add("lsp alive at the end" if proc.poll() is None else "lsp died")
    except OSError:
        counts.add("lsp died")
    finally:
        proc.kill()
        proc.wait()
