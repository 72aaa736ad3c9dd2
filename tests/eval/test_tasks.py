"""The vendored benchmarks: canonical solutions pass, wrong completions fail."""

import random
from concurrent.futures import ThreadPoolExecutor

import pytest

from fimkit.eval.sandbox import Sandbox, SandboxLimits
from fimkit.eval.tasks import HUMANEVAL, load_tasks

EXPECTED = {"humaneval-single": 1033, "humaneval-multi": 5815, "humaneval-random-span": 1640, "humaneval-random-span-light": 164}


@pytest.mark.parametrize("name", sorted(HUMANEVAL))
def test_counts_and_fields(name):
    tasks = load_tasks(name)
    assert len(tasks) == EXPECTED[name]
    assert all(t.test and t.entry_point for t in tasks)


def _run_all(tasks, middle_of):
    sandbox = Sandbox(SandboxLimits(timeout_s=15.0, cpu_s=15), workers=2)
    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(lambda t: sandbox.run(t.program(middle_of(t))), tasks))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(HUMANEVAL))
def test_canonical_solutions_pass_on_a_sample(name):
    tasks = random.Random(1).sample(load_tasks(name), 25)
    results = _run_all(tasks, lambda t: t.middle)
    assert [r.status for r in results] == ["passed"] * len(tasks), [r.stderr for r in results if not r.passed][:2]


@pytest.mark.slow
def test_wrong_completions_fail():
    tasks = [t for t in load_tasks("humaneval-single") if t.middle.strip().startswith("return")][:20]
    results = _run_all(tasks, lambda t: t.middle.replace("return", "return None and", 1))
    assert sum(r.passed for r in results) <= 2  # a None-returning line can still satisfy a rare test
    results = _run_all(tasks, lambda t: "    import sys; sys.exit(0)\n")
    assert not any(r.passed for r in results)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["humaneval-single", "humaneval-random-span-light", "humaneval-random-span"])
def test_canonical_solutions_pass_on_every_task(name):
    tasks = load_tasks(name)
    results = _run_all(tasks, lambda t: t.middle)
    failed = [t.id for t, r in zip(tasks, results) if not r.passed]
    assert failed == []


def test_limit_is_a_seeded_sample_in_order():
    a = load_tasks("humaneval-single", limit=10, seed=3)
    b = load_tasks("humaneval-single", limit=10, seed=3)
    ids = [t.id for t in load_tasks("humaneval-single")]
    assert a == b and [ids.index(t.id) for t in a] == sorted(ids.index(t.id) for t in a)


def test_safim_python_tasks_split_at_the_placeholder(tmp_path):
    import gzip
    import json

    from fimkit.errors import FimkitError
    from fimkit.eval.tasks import load_tasks

    rows = [
        {"task_id": "block_completion_000001", "lang": "python", "ground_truth": "x += 1\r\n        y += 1",
         "eval_prompt": "def f(x, y):\r\n    while x:\r\n        {{completion}}\r\n    return y\r\n"},
        {"task_id": "block_completion_000002", "lang": "java", "ground_truth": "i++;", "eval_prompt": "{{completion}}"},
    ]
    path = tmp_path / "block_completion.jsonl.gz"
    path.write_bytes(gzip.compress("\n".join(json.dumps(r) for r in rows).encode()))
    (task,) = load_tasks(f"safim:{path}")
    assert task.prefix == "def f(x, y):\n    while x:\n        " and task.suffix == "\n    return y\n"
    assert task.middle == "x += 1\n        y += 1" and task.kind == "block" and task.id == "block/block_completion_000001"
    bad = tmp_path / "control_completion.jsonl.gz"
    bad.write_bytes(b"not gzip")
    with pytest.raises(FimkitError, match="cannot read SAFIM"):
        load_tasks(f"safim:{bad}")
