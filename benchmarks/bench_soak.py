"""Soak and chaos: does a hostile share of traffic hurt the live users of `fimkit serve`?

    .venv/bin/python benchmarks/bench_soak.py                     # 3 min baseline + 10 min chaos
    .venv/bin/python benchmarks/bench_soak.py --minutes 2 --baseline-minutes 1

One real `fimkit serve --backend llama-server` process on the embedded Gemma-3-270m (127.0.0.1,
telemetry on, a bounded queue, 4 slots), with a LoRA adapter that a routes file gives two repositories
(a zero adapter made here for the base, so answers are the base's) and repository context from a
hostile workspace: a copy of a real package (textwrap's
standard-library folder files) plus a link to a file outside it, a file name that is not UTF-8, a
link loop and a link to the folder itself, each holding a canary string no reply may contain.
Four clients each loop: a live completion (a hole in a real standard-library file, timed, with
the workspace's context), then, in the chaos phase only, one hostile action drawn in turn from: a
request abandoned after 50-500 ms (plain or streaming), a hostile body (lone surrogates, deep
nesting, huge numbers, NaN, wrong types, a 1.5 MB prefix, text/plain, a foreign Origin), and
telemetry events (valid and invalid). Also in the chaos phase: another process takes an exclusive
lock on the telemetry database for 5 s every 20 s, and `fimkit complete --lora` is run against a
garbage, an empty, a truncated adapter and the base model itself every 30 s (each must exit 2 with
one line). Since issue 35, live clients name their repository and user from the whole of Unicode
(percent-encoded UTF-8, as the VS Code extension sends them), and the chaos phase adds the surfaces of
``soak_surfaces``: direct calls to the engine without its key (each must be refused), the routes
file rewritten hostilely every few seconds (aliases, bad UTF-8, a key twice, a password file, a file
over the cap, a FIFO), a second server in front of an engine that stalls (each request must end 504
at its deadline), and `fimkit lsp` fed hostile frames (each followed by a completion that must be
answered). The baseline phase runs the same clients with the same live requests and nothing else.

Reported: requests served, 5xx count (goal 0), live latency p50/p95 in both phases and their ratio
(goal <= 1.2x), live latency while the telemetry database is locked against while it is not, canary
leaks (goal 0), bad adapters refused cleanly, the new surfaces' counts (engine calls answered without
the key, goal 0; stalled requests that did not end 504; LSP completions lost after a hostile frame,
goal 0; routes errors counted, the table kept), and the server's RSS at the start and end of the chaos
phase (goal within 10%).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import textwrap as _textwrap
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import soak_surfaces as surfaces
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


CANARY = "CANARY_6d1f"  # text only the hostile parts of the workspace hold


def hostile_workspace(root: Path) -> Path:
    """A workspace of real code with hostile parts, each holding the canary: a link out of it, a name
    that is not UTF-8, a link loop, a link to itself."""
    ws, outside = root / "ws", root / "outside"
    ws.mkdir(parents=True)
    outside.mkdir()
    lib = Path(_textwrap.__file__).parent
    for name in ("textwrap.py", "shlex.py", "string.py", "difflib.py", "csv.py"):
        shutil.copy(lib / name, ws / name)
    (outside / "creds.py").write_text(f'def {CANARY}_token():\n    return "{CANARY}"\n')
    os.symlink(outside / "creds.py", ws / "leak.py")
    os.symlink(outside, ws / "outside_dir")
    with open(os.path.join(os.fsencode(ws), b"odd\xff.py"), "wb") as fh:
        fh.write(f"def {CANARY}_odd():\n    return 1\n".encode())
    os.symlink("loop_b.py", ws / "loop_a.py")
    os.symlink("loop_a.py", ws / "loop_b.py")
    os.symlink(".", ws / "self")
    return ws


def zero_adapter(base: Path, out: Path, rank: int = 8) -> Path:
    """A LoRA adapter for ``base`` whose matrices are zero: served, it exercises the adapter path and
    leaves every answer as the base's."""
    import gguf
    import numpy as np

    from fimkit.models.gguf_meta import read_gguf_header

    header = read_gguf_header(base, decode_arrays=frozenset())
    writer = gguf.GGUFWriter(str(out), header.architecture)
    writer.add_string("general.type", "adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", float(rank))
    for t in header.tensors:
        if t.name.endswith(("attn_q.weight", "attn_v.weight")):
            n_in, n_out = t.shape
            writer.add_tensor(f"{t.name}.lora_a", np.zeros((rank, n_in), np.float32))
            writer.add_tensor(f"{t.name}.lora_b", np.zeros((n_out, rank), np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out


def bad_adapters(good: Path, base: Path, root: Path) -> list[Path]:
    made = {"garbage.gguf": os.urandom(4096), "empty.gguf": b"", "base-as-adapter.gguf": base.read_bytes(),
            "truncated.gguf": good.read_bytes()[: good.stat().st_size // 2]}
    for name, data in made.items():
        (root / name).write_bytes(data)
    return [root / name for name in made]


class Tally:
    def __init__(self):
        self.counts = surfaces.Counts()  # the third round's surfaces
        self.lock = threading.Lock()
        self.live_ms: list[float] = []
        self.live_locked_ms: list[float] = []  # live completions that overlapped a telemetry lock
        self.statuses: dict[int, int] = {}
        self.leaks = 0
        self.adapter_runs: dict[str, int] = {}

    def status(self, code: int) -> None:
        with self.lock:
            self.statuses[code] = self.statuses.get(code, 0) + 1


def _request(base: str, path: str, data: bytes, ctype: str, headers: dict | None = None, timeout: float = 300,
             body: list | None = None):
    req = urllib.request.Request(base + path, data, {"Content-Type": ctype, **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            if body is not None:
                body.append(raw)
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


class LockWindows:
    """When another process held the telemetry database locked (monotonic start, end)."""

    def __init__(self):
        self.windows: list[tuple[float, float]] = []

    def overlaps(self, start: float, end: float) -> bool:
        return any(a < end and start < (b or float("inf")) for a, b in self.windows)


def client(server: Server, tally: Tally, tasks, until: float, hostile: bool, seed: int, ws: Path,
           locks: LockWindows) -> None:
    rng = random.Random(seed)
    turn = 0
    while time.time() < until:
        prefix, suffix = tasks[rng.randrange(len(tasks))]
        body = {"prompt": prefix, "suffix": suffix, "max_tokens": 24, "filename": str(ws / "main.py"),
                "language": "python", "show_context": True}
        start = time.perf_counter()
        reply: list[bytes] = []
        code = _request(server.base, "/v1/completions", json.dumps(body).encode(), "application/json", body=reply,
                        headers=surfaces.identity(rng))
        tally.status(code)
        if code == 200:
            end = time.perf_counter()
            with tally.lock:
                (tally.live_locked_ms if locks.overlaps(start, end) else tally.live_ms).append((end - start) * 1000)
                tally.leaks += CANARY.encode() in reply[0]
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


def lock_telemetry(db: Path, locks: LockWindows, until: float, every_s: float = 20.0, hold_s: float = 5.0,
                   first_after_s: float | None = None) -> None:
    """Another process's exclusive lock on the telemetry database, ``hold_s`` of every ``every_s``."""
    time.sleep(every_s / 2 if first_after_s is None else first_after_s)
    while time.time() + hold_s < until:
        con = sqlite3.connect(db, timeout=30, isolation_level=None)
        con.execute("BEGIN EXCLUSIVE")
        locks.windows.append((time.perf_counter(), None))
        time.sleep(hold_s)
        locks.windows[-1] = (locks.windows[-1][0], time.perf_counter())
        con.close()
        time.sleep(every_s - hold_s)


def try_bad_adapters(adapters: list[Path], tally: Tally, until: float, every_s: float = 30.0) -> None:
    """`fimkit complete --lora BAD`, each bad kind in turn: exit 2 with one line, never a crash."""
    turn = 0
    while time.time() < until:
        bad = adapters[turn % len(adapters)]
        turn += 1
        run = subprocess.run([sys.executable, "-m", "fimkit", "complete", "-", "--lora", str(bad)],
                             input='{"prefix": "x = "}', capture_output=True, text=True, timeout=300)
        clean = run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1
        key = "refused in one line" if clean else f"exit {run.returncode}"
        with tally.lock:
            tally.adapter_runs[key] = tally.adapter_runs.get(key, 0) + 1
        time.sleep(every_s)


def phase(server: Server, tasks, minutes: float, hostile: bool, ws: Path, db: Path, adapters: list[Path], *,
          locked: bool = False, routes: Path | None = None, stalled: Server | None = None) -> Tally:
    """Four clients for ``minutes``; ``hostile``: the chaos share; ``locked``: nothing hostile, but the
    telemetry database locked by another process the whole time (its writer must not slow anyone)."""
    tally = Tally()
    locks = LockWindows()
    until = time.time() + minutes * 60
    threads = [threading.Thread(target=client, args=(server, tally, tasks, until, hostile, i, ws, locks))
               for i in range(4)]
    if locked:
        threads.append(threading.Thread(target=lock_telemetry, args=(db, locks, until),
                                        kwargs={"every_s": 60.0, "hold_s": 59.0, "first_after_s": 0.0}))
    if hostile:
        threads += [threading.Thread(target=lock_telemetry, args=(db, locks, until)),
                    threading.Thread(target=try_bad_adapters, args=(adapters, tally, until)),
                    threading.Thread(target=surfaces.rewrite_routes, args=(routes, server.base, tally.counts, until)),
                    threading.Thread(target=surfaces.probe_engine, args=(server.proc.pid, tally.counts, until)),
                    threading.Thread(target=surfaces.hit_stalled, args=(stalled.base, tally.counts, until, 3.0)),
                    threading.Thread(target=surfaces.lsp_frames, args=(server.base, tally.counts, until))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return tally


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10.0, help="length of the chaos phase")
    ap.add_argument("--baseline-minutes", type=float, default=3.0, help="length of the phase without hostile traffic")
    ap.add_argument("--locked-minutes", type=float, default=3.0, help="length of the phase with the telemetry "
                    "database locked (and nothing else hostile)")
    args = ap.parse_args()
    from fimkit.models import resolve_model

    tasks = holes(60)
    home = tempfile.mkdtemp(prefix="fimkit-soak-")
    scratch = Path(tempfile.mkdtemp(prefix="fimkit-soak-files-"))
    ws = hostile_workspace(scratch)
    base_model = resolve_model("gemma-3-270m").path
    adapter = zero_adapter(base_model, scratch / "zero-lora.gguf")
    adapters = bad_adapters(adapter, base_model, scratch)
    db = Path(home) / "telemetry.sqlite"
    routes = scratch / "routes.yaml"
    routes.write_text(surfaces.valid_routes())
    server = Server("--model", str(base_model), "--backend", "llama-server", "--parallel", "4", "--max-queue", "8",
                    "--max-request-bytes", "4000000", "--adapter", f"zero={adapter}", "--routes", str(routes),
                    "--workspace", str(ws), telemetry_home=home)
    stall_engine = surfaces.StalledEngine(comments=True)
    stalled = Server("--backend", "openai", "--base-url", stall_engine.url, "--model", "remote", "--fim-format",
                     "fimkit:psm", "--request-timeout", "3")
    try:
        server.post("/v1/completions", {"prompt": "x = ", "max_tokens": 1})  # loads the model
        print(f"baseline: 4 clients, {args.baseline_minutes} min, live completions only", flush=True)
        base = phase(server, tasks, args.baseline_minutes, False, ws, db, adapters)
        print(f"telemetry locked: 4 clients, {args.locked_minutes} min, live completions only, the telemetry "
              "database held by another process's exclusive lock", flush=True)
        locked = phase(server, tasks, args.locked_minutes, False, ws, db, adapters, locked=True)
        rss_start = rss_mb(server.proc.pid)
        print(f"chaos: 4 clients, {args.minutes} min, live completions plus hostile traffic", flush=True)
        chaos = phase(server, tasks, args.minutes, True, ws, db, adapters, routes=routes, stalled=stalled)
        rss_end = rss_mb(server.proc.pid)
        health: list[bytes] = []
        alive = _request(server.base, "/health", None, "application/json", timeout=10, body=health) == 200
        stats_ok = _request(server.base, "/v1/stats", None, "application/json", timeout=10) == 200
        router = json.loads(health[0]).get("routes", {}) if health else {}
    finally:
        server.close()
        stalled.close()
        stall_engine.close()
    c = chaos.counts
    served = sum(n for code, n in chaos.statuses.items() if code < 500)
    errors = sum(n for code, n in chaos.statuses.items() if code >= 500)
    everything = chaos.live_ms + chaos.live_locked_ms
    b50, b95, c50, c95 = (pct(base.live_ms, 50), pct(base.live_ms, 95), pct(everything, 50), pct(everything, 95))
    l50, l95 = (pct(chaos.live_locked_ms, 50), pct(chaos.live_locked_ms, 95)) if chaos.live_locked_ms else (0, 0)
    during = locked.live_locked_ms + locked.live_ms
    k50, k95 = pct(during, 50), pct(during, 95)
    print_table([
        ("requests answered in the chaos phase (all kinds)", f"{served + errors}",
         "statuses: " + ", ".join(f"{k}: {v}" for k, v in sorted(chaos.statuses.items()))),
        ("5xx answers", f"{errors}", "goal 0"),
        ("live completions, baseline / locked / chaos",
         f"{len(base.live_ms)} / {len(during)} / {len(chaos.live_ms) + len(chaos.live_locked_ms)}", ""),
        ("live latency p50, baseline -> chaos", f"{b50:.0f} -> {c50:.0f} ms", f"ratio {c50 / b50:.2f}x (goal <= 1.2x)"),
        ("live latency p95, baseline -> chaos", f"{b95:.0f} -> {c95:.0f} ms", f"ratio {c95 / b95:.2f}x (goal <= 1.2x)"),
        ("live latency, baseline -> telemetry database locked", f"p50 {b50:.0f} -> {k50:.0f} ms, p95 {b95:.0f} -> "
         f"{k95:.0f} ms", f"ratio {k50 / b50:.2f}x / {k95 / b95:.2f}x; {len(locked.live_locked_ms)} completions "
         f"under the lock, {locked.statuses.get(200, 0)} x 200"),
        ("live latency in chaos, under a lock / not", f"p50 {l50:.0f} / {pct(chaos.live_ms, 50):.0f} ms, p95 "
         f"{l95:.0f} / {pct(chaos.live_ms, 95):.0f} ms",
         f"{len(chaos.live_locked_ms)} of {len(chaos.live_locked_ms) + len(chaos.live_ms)} overlapped a 5 s lock"),
        ("canary leaks from the hostile workspace", f"{base.leaks + locked.leaks + chaos.leaks}", "goal 0"),
        ("fimkit complete --lora with bad adapters", ", ".join(f"{k}: {v}" for k, v in chaos.adapter_runs.items()),
         "garbage, empty, truncated, the base model"),
        ("engine called directly without its key", ", ".join(f"{k}: {v}" for k, v in sorted(c.seen.items())
                                                              if k.startswith("engine")), "goal: every one 401"),
        ("routes file rewritten hostilely", f"{c.get('routes: hostile version kept out')} of "
         f"{c.get('routes rewrites (hostile)')} kept out, the table before kept",
         f"server counted {router.get('errors')} errors, {router.get('reloads')} reloads; "
         + (", ".join(f"{k}: {v}" for k, v in c.seen.items() if "NOT" in k) or "none let in")),
        ("requests to a server in front of a stalled engine", ", ".join(
            f"{k.split(': ', 1)[1]}: {v}" for k, v in sorted(c.seen.items()) if k.startswith("stalled engine: ")
            and "seconds" not in k), f"goal: all 504 at the 3 s deadline; {c.get('stalled engine: seconds waited')} "
                                     "s waited in all"),
        ("fimkit lsp after hostile frames", f"{c.get('lsp answered after one')} of {c.get('lsp hostile frames')} "
         "completions answered", "alive at the end" if c.get("lsp alive at the end") else "DIED"),
        ("server RSS, chaos start -> end", f"{rss_start:.0f} -> {rss_end:.0f} MB",
         f"{(rss_end / rss_start - 1) * 100:+.1f}% (goal within 10%)"),
        ("server still healthy at the end", "yes" if alive else "NO", "/v1/stats " + ("200" if stats_ok else "FAILED")),
    ])


if __name__ == "__main__":
    main()
