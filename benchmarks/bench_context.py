"""How many prompt tokens a completion should get: quality against cold latency, on holes cut from a
real repository (embedded Gemma-3-270m, prefix-only, greedy, each hole cold: the KV cache is cleared
before every request, as when a user opens a file or jumps to a new place).

    .venv/bin/python benchmarks/bench_context.py --repo click --budgets 512,1024,1536,today
    .venv/bin/python benchmarks/bench_context.py --repo jinja2 --budgets today,1024 --per-kind 15

``--repo`` is an installed package (its source folder) or a path. Each budget is a contender on the
same holes; "today" is the previous release's rule (the whole 2,048-token window less the middle, the
prefix cut at any line). Prints exact match, edit similarity, "parses" and cold latency p50/p95 per
budget, with the paired 95% interval of the exact-match and edit-similarity difference against the
first budget, writes every row to ``--output``/rows.jsonl (rerun to resume) and, with ``--plot``, a
PNG of quality against cold latency.
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import time
from pathlib import Path

from common import print_table

from fimkit.eval.holes import HoleConfig, cut_holes
from fimkit.eval.metrics import edit_similarity, exact_match, paired_difference_ci, percentile
from fimkit.infer import CompletionRequest, ContextBudget, SamplingParams, run_completion
from fimkit.infer.config import EngineConfig
from fimkit.infer.engines.choice import load_engine
from fimkit.syntax import error_count

KINDS = ("line", "arguments", "condition", "block")


def repo_path(name: str) -> str:
    if Path(name).exists():
        return name
    return str(Path(importlib.import_module(name).__file__).parent)


def pick_tasks(repo: str, per_kind: int, seed: int):
    tasks = cut_holes(repo_path(repo), HoleConfig(seed=seed, per_file=len(KINDS), languages=("python",)))
    return [t for kind in KINDS for t in [t for t in tasks if t.kind == kind][:per_kind]]


def budget_for(label: str, max_tokens: int) -> ContextBudget:
    if label == "today":  # the previous rule: the whole 2,048 window less the middle, no alignment
        return ContextBudget(prompt_tokens=2048 - max_tokens, align_lines=1, reserve=16)
    return ContextBudget(prompt_tokens=int(label))


def run_one(engine, task, label: str) -> dict:
    single = "\n" not in task.middle.strip("\n")
    max_tokens = 64 if single else 256
    request = CompletionRequest(task.prefix, task.suffix, language=task.language,
                                sampling=SamplingParams(max_tokens=max_tokens))
    engine.llm.reset()  # cold: nothing of this prompt is cached
    start = time.perf_counter()
    result = run_completion(engine, request, budget=budget_for(label, max_tokens))
    ms = (time.perf_counter() - start) * 1000
    errors = error_count(task.prefix + result.text + task.suffix, task.language)
    return {"task": task.id, "kind": task.kind, "budget": label, "ms": round(ms, 1),
            "prompt_tokens": result.stats.prompt_tokens, "exact": exact_match(result.text, task.middle),
            "es": round(edit_similarity(result.text, task.middle), 4), "parses": errors == 0, "text": result.text}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repo", default="click")
    ap.add_argument("--budgets", default="512,1024,1536,today", help="comma-separated; the first is the reference")
    ap.add_argument("--per-kind", type=int, default=12)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--output", default="reports/bench-context")
    ap.add_argument("--plot", help="write a PNG of exact match and edit similarity against cold p50 here")
    args = ap.parse_args()
    labels = args.budgets.split(",")
    tasks = pick_tasks(args.repo, args.per_kind, args.seed)
    out = Path(args.output) / args.repo.replace("/", "_")
    out.mkdir(parents=True, exist_ok=True)
    rows_path = out / "rows.jsonl"
    done = {}
    if rows_path.exists():
        for line in rows_path.read_text().splitlines():
            r = json.loads(line)
            done[(r["task"], r["budget"])] = r
    biggest = max(2048 if lab == "today" else int(lab) for lab in labels)
    engine = load_engine(EngineConfig(n_ctx=biggest + 256, threads=args.threads, cache_reuse=False))
    print(f"{len(tasks)} holes from {args.repo} ({', '.join(KINDS)}), budgets {labels}", flush=True)
    with open(rows_path, "a") as fh:
        for i, task in enumerate(tasks):
            for label in labels:
                if (task.id, label) not in done:
                    done[(task.id, label)] = row = run_one(engine, task, label)
                    fh.write(json.dumps(row) + "\n")
                    fh.flush()
            print(f"  {i + 1}/{len(tasks)} {task.kind}", flush=True)
    engine.close()

    ids = [t.id for t in tasks]
    ref = labels[0]
    table, points = [], []
    for label in labels:
        rows = [done[(t, label)] for t in ids]
        base = [done[(t, ref)] for t in ids]
        ms = [r["ms"] for r in rows]
        em = statistics.mean(r["exact"] for r in rows)
        es = statistics.mean(r["es"] for r in rows)
        lo, hi = paired_difference_ci([float(r["exact"]) for r in rows], [float(b["exact"]) for b in base])
        elo, ehi = paired_difference_ci([r["es"] for r in rows], [b["es"] for b in base])
        per_kind = " ".join(
            f"{k} {statistics.mean(r['exact'] for r in rows if r['kind'] == k):.0%}/"
            f"{statistics.mean(r['es'] for r in rows if r['kind'] == k):.2f}" for k in KINDS)
        table.append((
            label, f"EM {em:.1%} ES {es:.3f} parses {statistics.mean(r['parses'] for r in rows):.0%}; "
            f"cold p50 {statistics.median(ms) / 1000:.2f} s p95 {percentile(ms, 95) / 1000:.2f} s; "
            f"prompt {statistics.mean(r['prompt_tokens'] for r in rows):.0f} tok",
            f"vs {ref}: EM {lo:+.3f}..{hi:+.3f}, ES {elo:+.3f}..{ehi:+.3f}; {per_kind}"))
        points.append((label, statistics.median(ms) / 1000, em, es))
    print_table(table, ("budget", "quality and cold latency", "paired 95% interval; per kind EM/ES"))
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 3.6))
        points.sort(key=lambda p: p[1])
        for name, idx in (("exact match", 2), ("edit similarity", 3)):
            ax.plot([p[1] for p in points], [p[idx] for p in points], "o-", label=name)
        for label, x, em, _ in points:
            ax.annotate(label, (x, em), textcoords="offset points", xytext=(4, -12), fontsize=8)
        ax.set_xlabel("cold latency p50 (s), 2 CPU cores")
        ax.set_ylabel("score")
        ax.set_title(f"Prompt budget: {len(ids)} holes from {args.repo}")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=110)
        print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
