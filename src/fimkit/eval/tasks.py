"""Benchmarks: HumanEval-Infilling (vendored), holes cut from a repository, or a JSON lines set."""

from __future__ import annotations

import gzip
import json
import random
from importlib import resources

from fimkit.data.jsonl import read_lines
from fimkit.errors import FimkitError
from fimkit.eval.holes import HoleConfig, cut_holes
from fimkit.eval.task import Task

HUMANEVAL = {
    "humaneval-single": "HumanEval-SingleLineInfilling.jsonl.gz",
    "humaneval-multi": "HumanEval-MultiLineInfilling.jsonl.gz",
    "humaneval-random-span": "HumanEval-RandomSpanInfilling.jsonl.gz",
    "humaneval-random-span-light": "HumanEval-RandomSpanInfillingLight.jsonl.gz",
}
BENCHMARK_HELP = (
    "humaneval-single (1,033 tasks), humaneval-multi (5,815), humaneval-random-span (1,640), "
    "humaneval-random-span-light (164), holes:PATH (cut from your code), jsonl:PATH (prefix, suffix, middle[, test])"
)


def _humaneval(name: str) -> list[Task]:
    data = resources.files("fimkit.eval").joinpath("data", HUMANEVAL[name]).read_bytes()
    tasks = []
    for line in gzip.decompress(data).decode("utf-8").splitlines():
        row = json.loads(line)
        tasks.append(Task(row["task_id"], row["prompt"], row["suffix"], row["canonical_solution"], row["test"],
                          row["entry_point"]))
    return tasks


def _jsonl(path: str) -> list[Task]:

    tasks = []
    for line in read_lines(path):
        r = line.record
        if r is None or not all(isinstance(r.get(k), str) for k in ("prefix", "suffix", "middle")):
            raise FimkitError(f"{path}:{line.number}: a task needs string fields prefix, suffix and middle"
                              + (f" ({line.error})" if line.error else ""))
        tasks.append(Task(str(r.get("id", f"{path}:{line.number}")), r["prefix"], r["suffix"], r["middle"],
                          r.get("test"), r.get("entry_point"), r.get("language", "python")))
    if not tasks:
        raise FimkitError(f"{path}: no tasks")
    return tasks


def load_tasks(benchmark: str, *, limit: int | None = None, seed: int = 0) -> list[Task]:
    """Tasks of a benchmark; ``limit`` keeps a seeded sample, in the benchmark's order."""
    if benchmark in HUMANEVAL:
        tasks = _humaneval(benchmark)
    elif benchmark.startswith("holes:"):
        tasks = cut_holes(benchmark[len("holes:"):], HoleConfig(seed=seed))
    elif benchmark.startswith("jsonl:"):
        tasks = _jsonl(benchmark[len("jsonl:"):])
    else:
        raise FimkitError(f"unknown benchmark {benchmark!r}; choose one of: {BENCHMARK_HELP}")
    if limit is not None and limit < len(tasks):
        keep = sorted(random.Random(seed).sample(range(len(tasks)), limit))
        tasks = [tasks[i] for i in keep]
    return tasks
