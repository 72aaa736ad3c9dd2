"""Evaluation speed: the whole HumanEval single-line set with the embedded model, and the execution step alone.

    .venv/bin/python benchmarks/bench_eval.py              # both (~8 minutes on 2 cores)
    .venv/bin/python benchmarks/bench_eval.py --exec-only  # the sandbox throughput only

Targets (issue #6): all 1,033 single-line tasks in under 15 minutes; execution alone at
>= 20 samples/s with 2 workers (canonical solutions, so every sample runs its full tests).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import print_table


def execution_rate(workers: int) -> tuple[float, int, str]:
    from fimkit.eval.sandbox import Sandbox, SandboxLimits
    from fimkit.eval.tasks import load_tasks

    tasks = load_tasks("humaneval-single")
    sandbox = Sandbox(SandboxLimits(timeout_s=15, cpu_s=15), workers=workers)
    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(lambda t: sandbox.run(t.program(t.middle)), tasks))
    elapsed = time.perf_counter() - start
    return len(tasks) / elapsed, sum(r.passed for r in results), sandbox.isolation


def full_eval(limit: int | None) -> tuple[float, dict]:
    from fimkit.eval.report import summarize
    from fimkit.eval.runner import Contender, EvalConfig, run_eval
    from fimkit.eval.tasks import load_tasks

    tasks = load_tasks("humaneval-single", limit=limit)
    out = Path(tempfile.mkdtemp(prefix="fimkit-bench-eval-"))
    try:
        start = time.perf_counter()
        results, _ = run_eval([Contender("gemma-3-270m", "prefix-only")], tasks,
                              EvalConfig(single_line=True, max_tokens=64), output=out, progress=True)
        elapsed = time.perf_counter() - start
        report = summarize(list(results.rows.values()), samples=1)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return elapsed, {"tasks": len(tasks), **report["contenders"]["gemma-3-270m:prefix-only"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--exec-only", action="store_true")
    ap.add_argument("--limit", type=int, help="evaluate fewer tasks (the target is about all 1,033)")
    args = ap.parse_args()
    rows = []
    rate, passed, isolation = execution_rate(2)
    rows.append(("execution alone, 2 workers (1,033 canonical solutions)", f"{rate:.1f} samples/s",
                 f"target >= 20; {passed}/1033 passed; isolation: {isolation}"))
    if not args.exec_only:
        elapsed, rep = full_eval(args.limit)
        m = rep["metrics"]
        rows.append((f"full eval, embedded Gemma prefix-only, {rep['tasks']} single-line tasks", f"{elapsed / 60:.1f} min",
                     f"target < 15 min; pass@1 {100 * m['pass@1']['mean']:.1f}%, EM {100 * m['exact_match']['mean']:.1f}%"))
    print()
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
