"""Serving speed on the embedded Gemma-3-270m: fimkit serve against llama-cpp-python called directly.

    .venv/bin/python benchmarks/bench_serve.py            # all three parts (~5 minutes on 2 cores)
    .venv/bin/python benchmarks/bench_serve.py --parts a  # one part

(a) server overhead: p50/p95 latency of POST /v1/completions (HTTP, JSON, budget, shaping, parse
    check, logprobs) against llama-cpp-python's create_completion on the same prompts, asked for the
    same number of tokens the server generated. Target <= 1.10x.
(b) typing replay: a real file typed character by character, a single-line completion requested
    after every burst of 3 characters, against a server with KV-cache reuse and one without.
    Targets: >= 3x faster p50 with reuse; p50 < 300 ms.
(c) 8 concurrent clients for 60 s: errors, throughput and p95.
Each server is a real `fimkit serve` process on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import socket
import statistics
import subprocess
import sys
import textwrap as _sample_module  # a real file of the standard library to complete and to type
import threading
import time
import urllib.request
from pathlib import Path

from common import print_table

from fimkit.eval.metrics import percentile as pct

SOURCE = Path(inspect.getfile(_sample_module)).read_text()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, *extra: str, telemetry_home: str | None = None, env: dict | None = None):
        """``telemetry_home``: serve with telemetry on, its database under this $FIMKIT_HOME (else off).
        ``env``: the server's environment (default: this one's), e.g. PYTHONPATH of another release."""
        self.port = free_port()
        env = dict(env or os.environ)
        if telemetry_home:
            env["FIMKIT_HOME"] = telemetry_home
            home = os.environ.get("FIMKIT_HOME") or os.path.expanduser("~/.cache/fimkit")
            os.makedirs(telemetry_home, exist_ok=True)
            if not os.path.exists(os.path.join(telemetry_home, "models")):  # reuse the assembled model
                os.symlink(os.path.join(home, "models"), os.path.join(telemetry_home, "models"))
        flags = [] if telemetry_home else ["--no-telemetry"]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fimkit", "serve", "--port", str(self.port), *flags, *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 900  # vLLM on a CPU: importing, profiling and compiling take minutes
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.base + "/health", timeout=1)
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(self.proc.stderr.read()) from None
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def post(self, path: str, body: dict) -> tuple[float, dict]:
        req = urllib.request.Request(self.base + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
        start = time.perf_counter()
        with urllib.request.urlopen(req, timeout=120) as r:
            data = json.loads(r.read())
        return (time.perf_counter() - start) * 1000, data

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def holes(n: int) -> list[tuple[str, str]]:
    """End-of-line holes at statements of the sample file: the prefix ends mid-statement, no blanks."""
    lines = SOURCE.split("\n")
    out = []
    for i, line in enumerate(lines):
        stripped = line.strip()
        if i > 40 and "=" in stripped and not stripped.startswith(("#", "def", "class")) and len(stripped) > 20:
            cut = line.index("=") + 1
            prefix = "\n".join(lines[:i]) + "\n" + line[:cut]
            out.append((prefix, line[cut:] + "\n" + "\n".join(lines[i + 1 : i + 30])))
        if len(out) == n:
            break
    return out


def part_a(n: int) -> list[tuple[str, str, str]]:
    import llama_cpp

    from fimkit.models import resolve_model

    path = resolve_model("gemma-3-270m").path
    server = Server("--n-ctx", "2048")
    cases = holes(n)
    server_ms, direct_ms, tokens = [], [], []
    llm = llama_cpp.Llama(model_path=str(path), n_ctx=2048, n_threads=os.cpu_count(), verbose=False)
    try:
        for prefix, suffix in cases:
            # Same prompt, cold cache on both sides: each hole has a different prefix end, and the shared
            # beginning of the file is cached on both sides alike after the first request.
            ms, data = server.post("/v1/completions", {"prompt": prefix, "suffix": suffix, "max_tokens": 32})
            k = max(1, data["usage"]["completion_tokens"])
            start = time.perf_counter()
            llm.create_completion(prefix, max_tokens=k, temperature=0.0, top_k=1)
            direct_ms.append((time.perf_counter() - start) * 1000)
            server_ms.append(ms)
            tokens.append(k)
    finally:
        server.close()
    ratio50 = statistics.median(server_ms) / statistics.median(direct_ms)
    ratio95 = pct(server_ms, 95) / pct(direct_ms, 95)
    return [
        ("(a) llama-cpp-python direct, p50 / p95", f"{statistics.median(direct_ms):.0f} / {pct(direct_ms, 95):.0f} ms", "1.00x"),
        ("(a) fimkit serve /v1/completions, p50 / p95", f"{statistics.median(server_ms):.0f} / {pct(server_ms, 95):.0f} ms",
         f"{ratio50:.2f}x / {ratio95:.2f}x (target <= 1.10x); {len(cases)} prompts, {statistics.mean(tokens):.1f} tokens each"),
    ]


def typing_bursts(burst: int = 3, lines: int = 6):
    """Type lines 60.. of the sample file, asking for a completion after every ``burst`` characters."""
    src = SOURCE.split("\n")
    start_line = 60
    base_prefix = "\n".join(src[:start_line]) + "\n"
    suffix_after = "\n" + "\n".join(src[start_line + lines : start_line + lines + 20]) + "\n"
    typed = ""
    for line in src[start_line : start_line + lines]:
        for i in range(burst, len(line) + 1, burst):
            yield base_prefix + typed + line[:i], suffix_after
        typed += line + "\n"


def part_b() -> list[tuple[str, str, str]]:
    rows, p50s = [], {}
    for label, flags in (("with KV-cache reuse", ()), ("without (every prompt from scratch)", ("--no-cache-reuse",))):
        server = Server("--n-ctx", "2048", *flags)
        lat = []
        try:
            for prefix, suffix in typing_bursts():
                ms, _ = server.post("/complete", {"prefix": prefix, "suffix": suffix, "max_tokens": 24, "single_line": True})
                lat.append(ms)
        finally:
            server.close()
        p50s[label] = statistics.median(lat)
        rows.append((f"(b) typing replay {label}, p50 / p95", f"{statistics.median(lat):.0f} / {pct(lat, 95):.0f} ms",
                     f"{len(lat)} requests, single-line"))
    speedup = p50s["without (every prompt from scratch)"] / p50s["with KV-cache reuse"]
    rows.append(("(b) cache reuse speed-up (p50)", f"{speedup:.1f}x", "target >= 3x; p50 target < 300 ms"))
    return rows


def part_c(clients: int = 8, seconds: float = 60.0) -> list[tuple[str, str, str]]:
    server = Server("--n-ctx", "2048", "--max-queue", "16")
    cases = holes(40)
    lat, errors = [], []
    lock = threading.Lock()
    stop_at = time.time() + seconds

    def client(k: int):
        i = k
        while time.time() < stop_at:
            prefix, suffix = cases[i % len(cases)]
            i += clients
            try:
                ms, _ = server.post("/v1/completions", {"prompt": prefix, "suffix": suffix, "max_tokens": 24})
                with lock:
                    lat.append(ms)
            except Exception as exc:  # noqa: BLE001 - counted, reported
                with lock:
                    errors.append(repr(exc))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    start = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.time() - start
    server.close()
    return [(f"(c) {clients} concurrent clients, {seconds:.0f} s", f"{len(lat) / elapsed:.2f} req/s, p50 {statistics.median(lat):.0f} ms, "
             f"p95 {pct(lat, 95):.0f} ms", f"{len(errors)} errors of {len(lat) + len(errors)} requests")]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", default="abc")
    ap.add_argument("--prompts", type=int, default=30)
    ap.add_argument("--seconds", type=float, default=60.0)
    args = ap.parse_args()
    rows = []
    if "a" in args.parts:
        rows += part_a(args.prompts)
    if "b" in args.parts:
        rows += part_b()
    if "c" in args.parts:
        rows += part_c(seconds=args.seconds)
    print(f"\nembedded gemma-3-270m Q4_K_M, llama-cpp-python, {os.cpu_count()} CPUs\n")
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
