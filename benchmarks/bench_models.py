"""What a user gets from the default model, whole: every hole kind through `fimkit serve` as a plain
OpenAI client asks, the previous release against this one, and the raw model beside them (issue 34).

    .venv/bin/python benchmarks/bench_models.py holes              # ~40 min on 2 cores
    .venv/bin/python benchmarks/bench_models.py holes --model qwen2.5-coder-1.5b --per-kind 15
    .venv/bin/python benchmarks/bench_models.py replay --replay-models auto,qwen2.5-coder-1.5b
    .venv/bin/python benchmarks/bench_models.py humaneval --benchmark humaneval-single --replay-models auto
    .venv/bin/python benchmarks/bench_models.py backends --backends llama-cpp,vllm --per-kind 20

Holes come from the reported split of benchmarks/bench_profile.py (markdown_it, fsspec, npm's lib/; the
tuning split is never scored here): line, typed (cursor mid-line), call arguments, condition, 2-4 line
blocks, per language. Each side is a real `fimkit serve` process answering `POST /v1/completions` with
``{"prompt", "suffix", "max_tokens"}`` and nothing else (no language, no file name, no fimkit field),
which is what Continue, a Tabby or an OpenAI client sends:

- before: the previous release (a git worktree of ``--before``) with its defaults (Gemma-3-270m);
- after: this checkout with its defaults (``--model auto``, or ``--model``);
- raw: the same model with no fimkit at all: a PSM prompt of the whole prefix and suffix, greedy, its
  tokens up to its end token (one-line holes: the first line), through llama-cpp-python.

Scores: exact match, edit similarity (1 - Levenshtein / max length) and whether the whole file with the
middle in it parses, paired per hole with 95% bootstrap intervals of the differences.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench_profile import KINDS, ONE_LINE, holes, score
from bench_serve import Server

from fimkit.eval.metrics import paired_difference_ci

OUT = Path("reports/models")


def ask_server(server: Server, task, max_tokens: int) -> tuple[str, float]:
    body = {"prompt": task.prefix, "suffix": task.suffix, "max_tokens": max_tokens}
    req = urllib.request.Request(server.base + "/v1/completions", json.dumps(body).encode(),
                                 {"Content-Type": "application/json"})
    start = time.perf_counter()
    with urllib.request.urlopen(req, timeout=600) as r:
        text = json.loads(r.read())["choices"][0]["text"]
    return text, (time.perf_counter() - start) * 1000


def worktree(rev: str) -> Path:
    path = Path(f"/tmp/fimkit-{rev}")
    if not path.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(path), rev], check=True, capture_output=True)
    return path


def run_server_side(name: str, tasks, flags: tuple[str, ...], src: Path | None) -> dict[str, dict]:
    """Every hole through one server; cached in OUT/<name>.jsonl so an interrupted run resumes."""
    from tqdm import tqdm

    path = OUT / f"{name}.jsonl"
    done = {r["id"]: r for r in map(json.loads, path.open())} if path.is_file() else {}
    todo = [t for t in tasks if t.id not in done]
    if todo:
        env = {**os.environ, "PYTHONPATH": str(src)} if src else None
        server = Server(*flags, env=env)
        try:
            with open(path, "a") as fh:
                for task in tqdm(todo, desc=name):
                    text, ms = ask_server(server, task, 128 if task.kind == "block" else 64)
                    row = {"id": task.id, "text": text, "ms": round(ms, 1)}
                    fh.write(json.dumps(row) + "\n")
                    fh.flush()
                    done[task.id] = row
        finally:
            server.close()
    return done


def run_raw(model: str, tasks) -> dict[str, dict]:
    """The model with nothing of fimkit: PSM of the whole prefix and suffix, greedy, to its end token."""
    from tqdm import tqdm

    from fimkit.infer.engines.llama_cpp import LlamaCppEngine
    from fimkit.models import resolve_model

    path = OUT / f"raw-{model}.jsonl"
    done = {r["id"]: r for r in map(json.loads, path.open())} if path.is_file() else {}
    todo = [t for t in tasks if t.id not in done]
    if todo:
        engine = LlamaCppEngine(resolve_model(model), n_ctx=8192)
        llm = engine.llm
        family = engine.fim_format.family
        ends = {llm.tokenize(s.encode(), add_bos=False, special=True)[0] for s in family.stop_strings()}
        ends.add(llm.token_eos())
        with open(path, "a") as fh:
            for task in tqdm(todo, desc=f"raw {model}"):
                ids = ([llm.tokenize(family.prefix.encode(), add_bos=False, special=True)[0]]
                       + llm.tokenize(task.prefix.encode(), add_bos=False, special=False)
                       + [llm.tokenize(family.suffix.encode(), add_bos=False, special=True)[0]]
                       + llm.tokenize(task.suffix.encode(), add_bos=False, special=False)
                       + [llm.tokenize(family.middle.encode(), add_bos=False, special=True)[0]])[-8000:]
                out = []
                start = time.perf_counter()
                for tok in llm.generate(ids, temp=0, top_k=1):
                    if tok in ends or len(out) >= (128 if task.kind == "block" else 64):
                        break
                    out.append(tok)
                    if task.kind in ONE_LINE and b"\n" in llm.detokenize([tok]):  # its first line is complete?
                        seen = llm.detokenize(out).decode("utf-8", "replace")
                        if "\n" in (seen.lstrip("\n") if task.prefix.endswith("\n") else seen):
                            break
                text = llm.detokenize(out).decode("utf-8", "replace")
                if task.kind in ONE_LINE:
                    body = text.lstrip("\n") if task.prefix.endswith("\n") else text
                    text = body.split("\n", 1)[0] + ("\n" if task.prefix.endswith("\n") and "\n" in body else "")
                row = {"id": task.id, "text": text, "ms": round((time.perf_counter() - start) * 1000, 1)}
                fh.write(json.dumps(row) + "\n")
                fh.flush()
                done[task.id] = row
        engine.close()
    return done


def report(tasks, sides: dict[str, dict[str, dict]], base: str) -> None:
    names = list(sides)
    print(f"\n## every hole kind through fimkit serve as a plain OpenAI client asks ({len(tasks)} holes, reported "
          f"split); paired 95% intervals against {base}")
    print("| holes | metric | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    for kind in (*KINDS, "all"):
        mine = [t for t in tasks if (kind == "all" or t.kind == kind) and all(t.id in s for s in sides.values())]
        if not mine:
            continue
        for metric in ("exact", "edit_sim", "parses"):
            vals = {n: [score(t, sides[n][t.id]["text"])[metric] for t in mine] for n in names}
            if any(v is None for vs in vals.values() for v in vs):
                continue
            cells = []
            for n in names:
                mean = sum(vals[n]) / len(vals[n])
                cell = f"{mean:.3f}"
                if n != base:
                    lo, hi = paired_difference_ci(vals[n], vals[base])
                    cell += f" ({lo:+.3f} to {hi:+.3f})"
                cells.append(cell)
            print(f"| {kind} ({len(mine)}) | {metric} | " + " | ".join(cells) + " |")
    for n in names:
        ms = sorted(r["ms"] for r in sides[n].values())
        print(f"{n}: latency p50 {ms[len(ms) // 2]:.0f} ms, p95 {ms[int(len(ms) * 0.95)]:.0f} ms per hole")


def part_holes(args) -> None:
    tasks = holes("report", args.per_kind)
    OUT.mkdir(parents=True, exist_ok=True)
    sides = {}
    if args.before:
        sides[f"before ({args.before})"] = run_server_side(f"before-{args.before}", tasks, (), worktree(args.before) / "src")
    label = args.model or "auto"
    flags = ("--model", args.model) if args.model else ()
    sides[f"after ({label})"] = run_server_side(f"after-{label}", tasks, flags, None)
    if args.raw:
        from fimkit.models import resolve_model

        model = resolve_model(args.model or "auto").name
        sides[f"raw {model}"] = run_raw(model, tasks)
    report(tasks, sides, next(iter(sides)))


def part_backends(args) -> None:
    """The same holes through `fimkit serve` on each ``--backends`` engine, same model, same defaults
    (healing included), paired against the first (issue 36: vLLM within 2 points of in-process)."""
    kinds = args.kinds.split(",")
    tasks = [t for t in holes("report", args.per_kind) if t.kind in kinds]
    OUT.mkdir(parents=True, exist_ok=True)
    label = args.model or "auto"
    flags = ("--model", args.model) if args.model else ()
    sides = {}
    for backend in args.backends.split(","):
        extra = ("--backend", backend) + (("--engine-args", args.engine_args) if args.engine_args and backend == "vllm" else ())
        sides[backend] = run_server_side(f"backend-{backend}-{label}", tasks, flags + extra, None)
    report(tasks, sides, next(iter(sides)))


def part_replay(args) -> None:
    """Typing function bodies through a real server as the VS Code extension asks (bench_typing.replay:
    a request at every word boundary and every 4th character, a suggestion accepted when it is what
    the user types next): the previous release with its defaults against this one's, and any --model."""
    from bench_typing import bodies, http_asker, replay, summarize_replay, typed_chars

    picked = bodies("report", args.bodies)
    chars = sum(typed_chars(b) for b in picked)
    sides = []
    if args.before:
        sides.append((f"before ({args.before}, its default model)", (), worktree(args.before) / "src", {}))
    for model in args.replay_models.split(","):
        flags = () if model == "auto" else ("--model", model)
        sides.append((f"after ({model})", flags, None, {"early_reply": True}))
    rows, per_body = [], {}
    for name, flags, src, extra in sides:
        env = {**os.environ, "PYTHONPATH": str(src)} if src else None
        server = Server(*flags, env=env)
        try:
            health = json.loads(urllib.request.urlopen(server.base + "/health", timeout=10).read())
            by_body = [replay(http_asker(server.base, extra=extra), body) for body in picked]
        finally:
            server.close()
        asks = [a for b in by_body for a in b]
        s = summarize_replay(asks, chars)
        per_body[name] = [(sum(a.saved for a in b if a.right), typed_chars(body), sum(a.right for a in b),
                           sum(bool(a.shown.strip()) for a in b)) for b, body in zip(by_body, picked)]
        rows.append((name, health.get("model"), s))
        print(f"{name} [{health.get('model')}]: {s['right']} of {s['shown']} shown right ({100 * s['precision']:.1f}%), "
              f"{s['requests']} requests; {100 * s['saved_share']:.1f}% of {chars} characters saved; p50 "
              f"{s['p50_ms']:.0f} ms, p95 {s['p95_ms']:.0f} ms", flush=True)
    print(f"\n## typing replay: {len(picked)} function bodies of the reported split, through fimkit serve")
    print("| server | model | shown right | characters saved | latency p50 / p95 |")
    print("|---|---|---|---|---|")
    for name, model, s in rows:
        print(f"| {name} | {model} | {s['right']} of {s['shown']} ({100 * s['precision']:.1f}%) | "
              f"{100 * s['saved_share']:.1f}% | {s['p50_ms']:.0f} / {s['p95_ms']:.0f} ms |")
    if args.before and len(rows) > 1:
        from bench_typing import body_ratio_ci

        base = rows[0][0]
        for name, _, s in rows[1:]:
            lo, hi = body_ratio_ci(per_body[name], per_body[base], 0, 1)
            ratio = s["saved_share"] / max(rows[0][2]["saved_share"], 1e-9)
            print(f"characters saved, {name} / {base}: {ratio:.2f}x (95% interval over bodies: {lo:.2f}x to {hi:.2f}x)")
    (OUT / "replay.json").write_text(json.dumps({"rows": rows, "per_body": per_body}, indent=2))


def run_eval_side(name: str, src: Path | None, flags: list[str]) -> Path:
    """``fimkit eval`` of one release (``src``: its source tree; None: this checkout), resumable."""
    out = OUT / name
    env = {**os.environ, "PYTHONPATH": str(src)} if src else dict(os.environ)
    subprocess.run([sys.executable, "-m", "fimkit", "eval", *flags, "--output", str(out)], check=True, env=env)
    return out


def raw_humaneval(model: str, args) -> dict[str, dict]:
    """The raw model on the same HumanEval tasks, executed in fimkit's sandbox: PSM of the task's whole
    prefix and suffix, greedy, to its end token (single-line: the first non-blank line)."""
    from dataclasses import replace

    from fimkit.eval.metrics import edit_similarity, exact_match
    from fimkit.eval.sandbox import Sandbox
    from fimkit.eval.tasks import load_tasks
    from fimkit.models import resolve_model

    tasks = load_tasks(args.benchmark, limit=args.limit, seed=0)
    kind = "line" if args.benchmark == "humaneval-single" else "block"
    named = [replace(t, id=f"{args.benchmark}/{t.id}", kind=kind) for t in tasks]
    middles = run_raw(resolve_model(model).name, named)
    sandbox, out = Sandbox(), {}
    for task in tasks:
        text = middles[f"{args.benchmark}/{task.id}"]["text"]
        out[task.id] = {"passed": sandbox.run(sandbox.program(task.program(text))).passed,
                        "exact": exact_match(text, task.middle), "edit_sim": edit_similarity(text, task.middle)}
    return out


def part_humaneval(args) -> None:
    """HumanEval-Infilling (single-line, random-span-light...) through ``fimkit eval``: the previous release
    with its defaults (and with the FIM model, the issue's "through today's pipeline") against this one's
    defaults and each --model, on the same seeded tasks, executed; pass@1 with 95% intervals and the
    paired difference."""
    import json as _json

    from fimkit.eval.metrics import bootstrap_ci

    common = ["--benchmark", args.benchmark] + (["--limit", str(args.limit)] if args.limit else [])
    sides: dict[str, Path] = {}
    if args.before:
        src = worktree(args.before) / "src"
        sides[f"before ({args.before}, its default)"] = run_eval_side(f"{args.benchmark}-before", src, common)
        from fimkit.models import resolve_model

        qwen = str(resolve_model("qwen2.5-coder-0.5b").path)
        sides[f"before ({args.before}), Qwen 0.5B"] = run_eval_side(f"{args.benchmark}-before-qwen", src,
                                                                     common + ["--model", qwen, "--mode", "auto"])
    for model in args.replay_models.split(","):
        sides[f"after ({model})"] = run_eval_side(f"{args.benchmark}-after-{model}", None, common + ["--model", model])
    rows = {}
    for name, folder in sides.items():
        rows[name] = {r["task_id"]: r for r in map(_json.loads, (folder / "results.jsonl").open())}
    if args.raw:
        for model in args.replay_models.split(","):
            rows[f"raw {model}"] = raw_humaneval(model, args)
    ids = sorted(set.intersection(*(set(r) for r in rows.values())))
    base = next(iter(rows))
    print(f"\n## {args.benchmark} ({len(ids)} tasks, executed), paired against {base}")
    print("| side | pass@1 (95% CI) | exact match | edit similarity | difference in pass@1 (95% CI) |")
    print("|---|---|---|---|---|")
    for name, r in rows.items():
        passed = [float(r[i]["passed"]) for i in ids]
        lo, hi = bootstrap_ci(passed)
        em = sum(r[i]["exact"] for i in ids) / len(ids)
        es = sum(r[i]["edit_sim"] for i in ids) / len(ids)
        diff = ""
        if name != base:
            ref = [float(rows[base][i]["passed"]) for i in ids]
            dlo, dhi = paired_difference_ci(passed, ref)
            diff = f"{100 * (sum(passed) - sum(ref)) / len(ids):+.1f} ({100 * dlo:+.1f} to {100 * dhi:+.1f}) pts"
        print(f"| {name} | {100 * sum(passed) / len(ids):.1f}% ({100 * lo:.1f}-{100 * hi:.1f}) | {100 * em:.1f}% | "
              f"{es:.3f} | {diff} |")
    for model in args.replay_models.split(",") if args.raw else ():  # the pipeline against the raw model
        ours, raw = rows[f"after ({model})"], rows[f"raw {model}"]
        for key in ("passed", "exact"):
            a, r = [float(ours[i][key]) for i in ids], [float(raw[i][key]) for i in ids]
            dlo, dhi = paired_difference_ci(a, r)
            print(f"{key}, after ({model}) - raw: {100 * (sum(a) - sum(r)) / len(ids):+.1f} pts "
                  f"(95% CI {100 * dlo:+.1f} to {100 * dhi:+.1f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("part", choices=("holes", "replay", "humaneval", "backends"))
    ap.add_argument("--backends", default="llama-cpp,vllm", help="backends: the engines compared, the first the base")
    ap.add_argument("--kinds", default=",".join(KINDS), help="backends: which hole kinds")
    ap.add_argument("--engine-args", default="", help="backends: vllm's --engine-args")
    ap.add_argument("--benchmark", default="humaneval-single", help="humaneval: which HumanEval-Infilling set")
    ap.add_argument("--limit", type=int, help="humaneval: a seeded sample of this many tasks")
    ap.add_argument("--model", help="the model this checkout serves (default: auto)")
    ap.add_argument("--before", default="d553649", help="the previous release (empty: leave it out)")
    ap.add_argument("--raw", action=argparse.BooleanOptionalAction, default=True, help="score the raw model too")
    ap.add_argument("--per-kind", type=int, default=30, help="holes of each kind per language")
    ap.add_argument("--bodies", type=int, default=3, help="replay: function bodies per language")
    ap.add_argument("--replay-models", default="auto", help="replay, humaneval: this checkout's models, "
                    "comma-separated")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    {"holes": part_holes, "replay": part_replay, "humaneval": part_humaneval, "backends": part_backends}[args.part](args)


if __name__ == "__main__":
    sys.exit(main())
