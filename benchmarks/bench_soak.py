"""Soak and chaos: does a hostile share of traffic hurt the live users of `fimkit serve`?

    .venv/bin/python benchmarks/bench_soak.py                     # 3 min baseline + 10 min chaos
    .venv/bin/python benchmarks/bench_soak.py --minutes 2 --baseline-minutes 1

One real `fimkit serve` process on the embedded Gemma-3-270m (127.0.0.1, telemetry on, a bounded
queue). Four clients each loop: a live completion (a hole in a real standard-library file, timed),
then, in the chaos phase only, one hostile action drawn in turn from: a request abandoned after
50-500 ms (plain or streaming), a hostile body (lone surrogates, deep nesting, huge numbers, NaN,
wrong types, a 1.5 MB prefix, text/plain, a foreign Origin), and telemetry events (valid and
invalid). The baseline phase runs the same clients with the same live requests and no hostile share.

Reported: requests served, 5xx count (goal 0), live latency p50/p95 in both phases and their ratio
(goal <= 1.2x), and the server's RSS at the start and end of the chaos phase (goal: flat).
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import tempfile
import threading
import time
import urllib.error
import urllib.request

from bench_serve import Server, holes
from common import print_table

from fimkit.eval.metrics import percentile as pct

HOSTILE_BODIES = [
    ("/complete", b'{"prefix": "x\\ud800 = "}', "application/json"),
    ("/complete", b"[" * 50_000, "application/json"),
    ("/complete", b'{"prefix": "x", "max_tokens": ' + b"9" * 5000 + b"}", "application/json"),
    ("/v1/completions", b'{"prompt": "x", "min_confidence": NaN}', "application/json"),
    ("/infill", b'{"input_prefix": 12, "input_extra": "no"}', "application/json"),
    ("/v1/completions", json.dumps({"segments": {"prefix": None}, "n": "two"}).encode(), "application/json"),
    ("/complete", json.dumps({"prefix": "x = 1\n" * 250_000, "max_tokens": 4}).encode(), "application/json"),
    ("/complete", b'{"prefix": "x = "}', "text/plain"),
    ("/api/generate", b'{"prompt": {"a": [1, 2]}}', "application/json"),
]
EVENTS = [{"type": "accept", "elapsed": 420}, {"type": "view"}, {"type": "accept", "elapsed": {"x": 1}},
          {"type": "dismiss", "choice_index": [1]}, {"type": "accept", "accepted_chars": 2**70}]


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.live_ms: list[float] = []
        self.statuses: dict[int, int] = {}

    def status(self, code: int) -> None:
        with self.lock:
            self.statuses[code] = self.statuses.get(code, 0) + 1


def _request(base: str, path: str, data: bytes, ctype: str, headers: dict | None = None, timeout: float = 300):
    req = urllib.request.Request(base + path, data, {"Content-Type": ctype, **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            r.read()
            return r.status
    except urllib.error.HTTPError as exc:
        exc.read()
        return exc.code


def _abandon(port: int, body: dict, after: float, stream: bool) -> None:
    raw = json.dumps({**body, "stream": stream}).encode()
    path = "/v1/completions" if stream else "/complete"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {len(raw)}\r\n\r\n".encode() + raw)
        time.sleep(after)


def client(server: Server, tally: Tally, tasks, until: float, hostile: bool, seed: int) -> None:
    rng = random.Random(seed)
    turn = 0
    while time.time() < until:
        prefix, suffix = tasks[rng.randrange(len(tasks))]
        body = {"prompt": prefix, "suffix": suffix, "max_tokens": 24}
        start = time.perf_counter()
        code = _request(server.base, "/v1/completions", json.dumps(body).encode(), "application/json")
        tally.status(code)
        if code == 200:
            with tally.lock:
                tally.live_ms.append((time.perf_counter() - start) * 1000)
        if not hostile:
            continue
        kind = turn % 4
        turn += 1
        if kind == 0:
            _abandon(server.port, {"prompt": prefix, "suffix": suffix, "max_tokens": 64}, rng.uniform(0.05, 0.5),
                     stream=rng.random() < 0.5)
        elif kind == 1:
            path, raw, ctype = HOSTILE_BODIES[rng.randrange(len(HOSTILE_BODIES))]
            tally.status(_request(server.base, path, raw, ctype))
        elif kind == 2:
            event = EVENTS[rng.randrange(len(EVENTS))]
            tally.status(_request(server.base, "/v1/events", json.dumps(event).encode(), "application/json"))
        else:
            tally.status(_request(server.base, "/complete", b'{"prefix": "x = "}', "application/json",
                                  {"Origin": "https://evil.example"}))


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def phase(server: Server, tasks, minutes: float, hostile: bool) -> Tally:
    tally = Tally()
    until = time.time() + minutes * 60
    threads = [threading.Thread(target=client, args=(server, tally, tasks, until, hostile, i)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return tally


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10.0, help="length of the chaos phase")
    ap.add_argument("--baseline-minutes", type=float, default=3.0, help="length of the phase without hostile traffic")
    args = ap.parse_args()
    tasks = holes(60)
    home = tempfile.mkdtemp(prefix="fimkit-soak-")
    server = Server("--max-queue", "8", "--max-request-bytes", "4000000", telemetry_home=home)
    try:
        server.post("/v1/completions", {"prompt": "x = ", "max_tokens": 1})  # loads the model
        print(f"baseline: 4 clients, {args.baseline_minutes} min, live completions only", flush=True)
        base = phase(server, tasks, args.baseline_minutes, hostile=False)
        rss_start = rss_mb(server.proc.pid)
        print(f"chaos: 4 clients, {args.minutes} min, live completions plus hostile traffic", flush=True)
        chaos = phase(server, tasks, args.minutes, hostile=True)
        rss_end = rss_mb(server.proc.pid)
        alive = _request(server.base, "/health", None, "application/json", timeout=10) == 200
        stats_ok = _request(server.base, "/v1/stats", None, "application/json", timeout=10) == 200
    finally:
        server.close()
    served = sum(n for code, n in chaos.statuses.items() if code < 500)
    errors = sum(n for code, n in chaos.statuses.items() if code >= 500)
    b50, b95, c50, c95 = (pct(base.live_ms, 50), pct(base.live_ms, 95), pct(chaos.live_ms, 50), pct(chaos.live_ms, 95))
    print_table([
        ("requests answered in the chaos phase (all kinds)", f"{served + errors}",
         "statuses: " + ", ".join(f"{k}: {v}" for k, v in sorted(chaos.statuses.items()))),
        ("5xx answers", f"{errors}", "goal 0"),
        ("live completions, baseline / chaos", f"{len(base.live_ms)} / {len(chaos.live_ms)}", ""),
        ("live latency p50, baseline -> chaos", f"{b50:.0f} -> {c50:.0f} ms", f"ratio {c50 / b50:.2f}x (goal <= 1.2x)"),
        ("live latency p95, baseline -> chaos", f"{b95:.0f} -> {c95:.0f} ms", f"ratio {c95 / b95:.2f}x (goal <= 1.2x)"),
        ("server RSS, chaos start -> end", f"{rss_start:.0f} -> {rss_end:.0f} MB", "goal: flat"),
        ("server still healthy at the end", "yes" if alive else "NO", "/v1/stats " + ("200" if stats_ok else "FAILED")),
    ])


if __name__ == "__main__":
    main()
