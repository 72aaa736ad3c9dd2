"""Repository context's cost: the workspace index on a 10k-file tree, the lookup per completion, and a
completion with and without context, side by side (embedded Gemma-3-270m, in-process).

    .venv/bin/python benchmarks/bench_workspace.py               # .venv's site-packages, ~10 minutes
    .venv/bin/python benchmarks/bench_workspace.py --tree PATH --repo pygments --holes 15

(1) index: build from nothing (``fimkit index``'s work: list, read, outline, BM25), its saved size,
    the process's peak memory, and reopening it when nothing changed.
(2) lookup: ``RepoContext.gather`` for holes of a package inside the tree, each a new place (the memo
    misses), and again at the same place (while typing: the memo hits). Target <= 20 ms p50.
(3) completion: ``run_completion`` for the same one-line holes without and with the workspace context,
    cold (each hole a new file) and while typing (three characters typed, a completion each).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

from bench_context import repo_path
from common import print_table

from fimkit.eval.holes import HoleConfig, cut_holes
from fimkit.eval.metrics import percentile as pct


def ms(values: list[float]) -> str:
    return f"p50 {statistics.median(values):.1f} ms, p95 {pct(values, 95):.1f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tree", default=sysconfig.get_paths()["purelib"],
                    help="the big tree to index (default: this Python's site-packages)")
    ap.add_argument("--repo", default="pygments", help="package (inside the tree) whose holes are completed")
    ap.add_argument("--holes", type=int, default=15)
    ap.add_argument("--lookups", type=int, default=200)
    args = ap.parse_args()
    tree = args.tree
    cache = Path(tempfile.mkdtemp(prefix="fimkit-bench-index-")) / "index.json.gz"  # from nothing

    from fimkit.infer.context.repository import RepoContext
    from fimkit.infer.context.workspace import WorkspaceIndex

    rows = []
    started = time.perf_counter()
    index = WorkspaceIndex(tree, cache=cache)
    stats = index.refresh(progress=sys.stderr.isatty())
    index.save()
    build_s = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows.append(("index build, from nothing", f"{build_s:.0f} s",
                 f"{stats.files:,} files, {stats.chunks:,} chunks, {stats.symbols:,} definitions; "
                 f"peak memory {peak_mb:.0f} MB"))
    rows.append(("index saved", f"{index.size_bytes() / 1e6:.0f} MB", str(index.cache)))
    started = time.perf_counter()
    again = WorkspaceIndex.open(tree, cache=cache)
    rows.append(("index reopened, nothing changed", f"{time.perf_counter() - started:.1f} s", "stat every file, "
                 "load the saved outlines, rebuild BM25"))
    index = again

    repo = repo_path(args.repo)
    rel_root = Path(repo).resolve().relative_to(Path(tree).resolve())
    tasks = [t for t in cut_holes(repo, HoleConfig(seed=5, per_file=5, languages=("python",)))]
    context = RepoContext(index)
    new_place, same_place = [], []
    for task in tasks[: args.lookups]:
        filename = str(Path(tree, rel_root, task.path))
        t0 = time.perf_counter()
        context.gather(task.prefix, task.suffix, filename, "python")
        new_place.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        context.gather(task.prefix + "x", task.suffix, filename, "python")
        same_place.append((time.perf_counter() - t0) * 1000)
    rows.append(("lookup, a new place", ms(new_place), f"{len(new_place)} holes of {args.repo}; target <= 20 ms p50"))
    rows.append(("lookup, typing in one place", ms(same_place), "the memo: same file and 16-line block"))

    from fimkit.infer import CompletionRequest, SamplingParams, run_completion
    from fimkit.infer.config import EngineConfig
    from fimkit.infer.engines.choice import load_engine

    engine = load_engine(EngineConfig(threads=2))
    lines = [t for t in tasks if t.kind == "line"]
    seen, holes = set(), []
    for t in lines:
        if t.path not in seen:
            seen.add(t.path)
            holes.append(t)
    holes = holes[: args.holes]
    for label, ctx in (("without context", None), ("with workspace context", context)):
        cold, typing = [], []
        for task in holes:
            filename = str(Path(tree, rel_root, task.path))
            engine.llm.reset()
            req = CompletionRequest(task.prefix, task.suffix, language="python", filename=filename,
                                    sampling=SamplingParams(max_tokens=48))
            t0 = time.perf_counter()
            run_completion(engine, req, context=ctx)
            cold.append((time.perf_counter() - t0) * 1000)
            typed = task.prefix
            for ch in task.middle[:3]:
                typed += ch
                req = CompletionRequest(typed, task.suffix, language="python", filename=filename,
                                        sampling=SamplingParams(max_tokens=48))
                t0 = time.perf_counter()
                run_completion(engine, req, context=ctx)
                typing.append((time.perf_counter() - t0) * 1000)
        rows.append((f"completion cold, {label}", ms(cold), f"{len(cold)} one-line holes, each in a new file"))
        rows.append((f"completion typing, {label}", ms(typing), "a completion per typed character"))
    print_table(rows)


if __name__ == "__main__":
    main()
