"""Benchmarks: HumanEval-Infilling (vendored), holes cut from a repository, or a JSON lines set."""

from __future__ import annotations

import gzip
import json
import random
from importlib import resources
from pathlib import Path

from fimkit.data.jsonl import read_lines
from fimkit.errors import FimkitError
from fimkit.eval.holes import TYPED, HoleConfig, cut_holes
from fimkit.eval.task import Task

HUMANEVAL = {
    "humaneval-single": "HumanEval-SingleLineInfilling.jsonl.gz",
    "humaneval-multi": "HumanEval-MultiLineInfilling.jsonl.gz",
    "humaneval-random-span": "HumanEval-RandomSpanInfilling.jsonl.gz",
    "humaneval-random-span-light": "HumanEval-RandomSpanInfillingLight.jsonl.gz",
}
BENCHMARK_HELP = (
    "humaneval-single (1,033 tasks), humaneval-multi (5,815), humaneval-random-span (1,640), "
    "humaneval-random-span-light (164), holes:PATH (cut from your code), typed:PATH (holes where a user stops "
    "typing: a line cut at a random character, the rest of the line missing), jsonl:PATH (prefix, suffix, middle[, test]), "
    "safim:PATH (a SAFIM block/control/api .jsonl.gz; its Python tasks)"
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


def _safim(path: str) -> list[Task]:
    """SAFIM (Gong et al. 2024, arXiv 2403.04814): the bare program (``eval_prompt``) split at its
    ``{{completion}}`` placeholder, Python tasks only (the languages fimkit can parse-check), line
    ends normalised to ``\\n``. Scored by exact match, edit similarity and parses; SAFIM's own
    unit-test execution is not run."""
    try:
        raw = gzip.decompress(Path(path).expanduser().read_bytes()) if path.endswith(".gz") else Path(path).read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise FimkitError(f"cannot read SAFIM data {path}: {exc}") from exc
    kind = Path(path).name.split("_", 1)[0]  # block, control or api
    tasks = []
    for number, line in enumerate(raw.decode("utf-8").splitlines(), 1):
        try:
            row = json.loads(line)
            program, middle = row["eval_prompt"].replace("\r\n", "\n"), row["ground_truth"].replace("\r\n", "\n")
        except (ValueError, KeyError, AttributeError) as exc:
            raise FimkitError(f"{path}:{number}: not a SAFIM record ({exc})") from exc
        if row.get("lang") != "python" or program.count("{{completion}}") != 1:
            continue
        prefix, suffix = program.split("{{completion}}")
        tasks.append(Task(f"{kind}/{row.get('task_id', number)}", prefix, suffix, middle, language="python", kind=kind))
    if not tasks:
        raise FimkitError(f"{path}: no Python SAFIM tasks")
    return tasks


def load_tasks(benchmark: str, *, limit: int | None = None, seed: int = 0) -> list[Task]:
    """Tasks of a benchmark; ``limit`` keeps a seeded sample, in the benchmark's order."""
    if benchmark in HUMANEVAL:
        tasks = _humaneval(benchmark)
    elif benchmark.startswith("holes:"):
        tasks = cut_holes(benchmark[len("holes:"):], HoleConfig(seed=seed))
    elif benchmark.startswith("typed:"):
        tasks = cut_holes(benchmark[len("typed:"):], HoleConfig(seed=seed, kinds=(TYPED,), per_file=8))
    elif benchmark.startswith("jsonl:"):
        tasks = _jsonl(benchmark[len("jsonl:"):])
    elif benchmark.startswith("safim:"):
        tasks = _safim(benchmark[len("safim:"):])
    else:
        raise FimkitError(f"unknown benchmark {benchmark!r}; choose one of: {BENCHMARK_HELP}")
    if limit is not None and limit < len(tasks):
        keep = sorted(random.Random(seed).sample(range(len(tasks)), limit))
        tasks = [tasks[i] for i in keep]
    return tasks
