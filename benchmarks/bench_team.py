"""Serving a team: N typists at once against `fimkit serve` with the in-process engine (one request at a
time), the llama-server engine (parallel slots, continuous batching) and the vLLM engine (continuous
batching, paged KV cache, prefix caching; its CPU build here, `make vllm`), on the same cores.

    .venv/bin/python benchmarks/bench_team.py                         # N = 1, 4, 8, 16 (~12 minutes, 2 cores)
    .venv/bin/python benchmarks/bench_team.py --typists 8 --seconds 40

Each typist types function bodies of real files fimkit did not write (the installed markdown_it and fsspec,
npm's lib/ when present; benchmarks/bench_typing.py picks them) at a steady pace (--ms-per-char), sending a
request as the VS Code extension does (/v1/completions with prompt, suffix, language and file) at every word
boundary and every 4 characters. It waits for the answer (a user looking at the suggestion) except for one
request in three, which it abandons after 0-300 ms because it typed on: the client closes the connection,
as editors cancel. Which requests are abandoned is decided before they are sent, so the latency of the
answered ones is not cut short by it. Reported per engine and N: completions/s (answers received), p50/p95
latency of those, requests abandoned, and tokens the server generated for abandoned requests (cancelled work,
fimkit_cancelled_tokens_total). Every server is a real `fimkit serve` process on the default model (--model,
default auto: Qwen2.5-Coder 0.5B here; vLLM serves its GGUF dequantized, computing in bf16 on this CPU).
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_serve import Server  # noqa: E402
from bench_typing import bodies  # noqa: E402
from common import print_table  # noqa: E402

from fimkit.eval.metrics import percentile as pct  # noqa: E402

ENGINES = {
    "in-process": (),
    "llama-server": ("--backend", "llama-server"),
    "vllm": ("--backend", "vllm"),
}


def requests_of(body, every: int = 4):
    """(prefix, suffix, language, path, characters typed before it) for each request typing ``body`` sends."""
    language, rel, text, start, end = body
    pos = start + len(text[start:end]) - len(text[start:end].lstrip(" \t"))
    since = 0
    while pos < end:
        before = text[pos - 1]
        if since and (not (before.isalnum() or before == "_") or since % every == 0 or before == "\n"):
            yield text[:pos], text[end:], language, rel, since
            since = 0
        pos += 1
        since += 1


def metric(server: Server, name: str) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " "))


def run(engine: str, typists: int, seconds: float, ms_per_char: float, parallel: int, seed: int = 0,
        engine_args: str = "", vllm_args: str = "") -> dict:
    extra = ENGINES[engine]
    if engine in ("llama-server", "vllm"):
        extra += ("--parallel", str(parallel or max(8, typists)))
        flags = vllm_args if engine == "vllm" else engine_args
        extra += ("--engine-args", flags) if flags else ()
    server = Server("--max-queue", "256", *extra)
    work = bodies("report", 40)
    lat, abandoned, errors = [], [0], []
    lock = threading.Lock()
    stop_at = [0.0]

    def typist(k: int):
        rng = random.Random(seed * 1000 + k)
        mine = work[k % len(work):] + work[: k % len(work)]
        while True:
            for body in mine:
                for prefix, suffix, language, rel, typed in requests_of(body):
                    time.sleep(typed * ms_per_char / 1000)
                    if time.time() > stop_at[0]:
                        return
                    give_up = rng.random() < 1 / 3
                    payload = json.dumps({"prompt": prefix, "suffix": suffix, "max_tokens": 64, "language": language,
                                          "filename": rel}).encode()
                    conn = http.client.HTTPConnection("127.0.0.1", server.port,
                                                      timeout=rng.uniform(0, 0.3) if give_up else 300)
                    t0 = time.perf_counter()
                    try:
                        conn.request("POST", "/v1/completions", payload, {"Content-Type": "application/json",
                                                                          "X-Fimkit-User": f"typist{k}"})
                        resp = conn.getresponse()
                        data = resp.read()
                        ms = (time.perf_counter() - t0) * 1000
                        with lock:
                            if resp.status == 200:
                                lat.append(ms)
                            else:
                                errors.append(f"{resp.status} {data[:100]!r}")
                    except TimeoutError:
                        with lock:
                            abandoned[0] += 1
                    except OSError as exc:
                        with lock:
                            errors.append(repr(exc))
                    finally:
                        conn.close()

    # warm-up: one request, so that loading and the first prompt are not in the measurement
    prefix, suffix, language, rel, _ = next(requests_of(work[0]))
    server.post("/v1/completions", {"prompt": prefix, "suffix": suffix, "max_tokens": 8})
    cancelled_before = metric(server, "fimkit_cancelled_tokens_total")
    start = time.time()
    stop_at[0] = start + seconds
    threads = [threading.Thread(target=typist, args=(k,)) for k in range(typists)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.time() - start
    time.sleep(1.0)  # abandoned generations finish stopping and are counted
    wasted = metric(server, "fimkit_cancelled_tokens_total") - cancelled_before
    server.close()
    return {"engine": engine, "typists": typists, "completions_per_s": len(lat) / elapsed, "answered": len(lat),
            "p50_ms": statistics.median(lat) if lat else None, "p95_ms": pct(lat, 95) if lat else None,
            "abandoned": abandoned[0], "cancelled_tokens": wasted, "errors": len(errors), "error_sample": errors[:3]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--typists", default="1,4,8,16", help="comma-separated numbers of typists")
    ap.add_argument("--seconds", type=float, default=40.0, help="measured time per engine and number of typists")
    ap.add_argument("--ms-per-char", type=float, default=120.0, help="typing pace (120 ms: about 100 words a minute)")
    ap.add_argument("--parallel", type=int, default=0, help="llama-server slots, vLLM sequences (default: the number of typists, "
                    "at least 8: a typist that shares a slot finds its prompt evicted)")
    ap.add_argument("--engine-args", default="", help="more llama-server flags (fimkit serve --engine-args)")
    ap.add_argument("--vllm-args", default="", help="more vLLM flags (fimkit serve --backend vllm --engine-args)")
    ap.add_argument("--engines", default=",".join(ENGINES))
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    results = []
    for n in (int(x) for x in args.typists.split(",")):
        for engine in args.engines.split(","):
            r = run(engine, n, args.seconds, args.ms_per_char, args.parallel, engine_args=args.engine_args,
                    vllm_args=args.vllm_args)
            results.append(r)
            print(json.dumps(r), file=sys.stderr)
    rows = []
    for n in sorted({r["typists"] for r in results}):
        by = {r["engine"]: r for r in results if r["typists"] == n}
        for engine, r in by.items():
            note = f"{r['abandoned']} abandoned, {r['cancelled_tokens']:.0f} tokens generated for them, {r['errors']} errors"
            p50 = f"{r['p50_ms']:.0f}" if r["p50_ms"] is not None else "-"
            p95 = f"{r['p95_ms']:.0f}" if r["p95_ms"] is not None else "-"
            rows.append((f"{n} typists, {engine}", f"{r['completions_per_s']:.2f} completions/s, p50 {p50} ms, "
                         f"p95 {p95} ms", note))
        for over, under in (("llama-server", "in-process"), ("vllm", "llama-server")):
            if {over, under} <= set(by) and by[under]["completions_per_s"]:
                a, b = by[under], by[over]
                p95 = f"{b['p95_ms'] / a['p95_ms']:.2f}x" if a["p95_ms"] and b["p95_ms"] else "-"
                rows.append((f"{n} typists, {over} / {under}",
                             f"{b['completions_per_s'] / a['completions_per_s']:.2f}x completions/s, p95 {p95}", ""))
    print_table(rows)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
