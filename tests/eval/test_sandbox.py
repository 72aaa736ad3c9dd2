"""Hostile samples are contained and the harness survives them, each result recorded."""

import os
import time
from pathlib import Path

import pytest

from fimkit.eval.sandbox import Sandbox, SandboxLimits

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sandbox():
    return Sandbox(SandboxLimits(timeout_s=2.0, cpu_s=2, memory_mb=512), workers=2)


def test_passing_and_failing_code(sandbox):
    assert sandbox.run("assert sorted([3, 1, 2]) == [1, 2, 3]").passed
    bad = sandbox.run("assert 1 + 1 == 3")
    assert bad.status == "failed" and "AssertionError" in bad.stderr


@pytest.mark.parametrize("code,status", [
    ("while True:\n    pass", "timeout"),
    ("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass", "timeout"),
    ("x = bytearray(8 * 1024 ** 3)", "failed"),
    ("import sys\nwhile True:\n    sys.stdout.write('x' * 100_000)", "failed"),
    ("import os\nos._exit(0)", "failed"),
    ("import sys\nsys.exit(0)", "failed"),
    ("import ctypes\nctypes.string_at(0)", "failed"),
])
def test_hostile_samples_never_pass_and_never_hang(sandbox, code, status):
    start = time.perf_counter()
    result = sandbox.run(code)
    assert result.status == status
    assert time.perf_counter() - start < 10
    assert len(result.stdout) <= sandbox.limits.output_bytes


def test_killing_its_process_group_or_parent_does_not_hurt_the_harness(sandbox):
    for code in ("import os, signal\nos.killpg(os.getpgid(0), signal.SIGKILL)",
                 "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"):
        sandbox.run(code)
    assert sandbox.run("assert True").passed  # we are alive and still working


def test_no_processes_survive_a_fork_bomb(sandbox):
    sandbox.run("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass")
    time.sleep(0.5)
    if sandbox.problem is None:
        leftovers = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _uid(p) in range(61000, 61000 + sandbox.workers)]
        assert leftovers == []


def _uid(proc: Path) -> int:
    """The process's uid (-1 when it is gone)."""
    try:
        for line in (proc / "status").read_text().splitlines():
            if line.startswith("Uid:"):
                return int(line.split()[1])
    except OSError:
        pass
    return -1


def test_writes_outside_the_work_dir_and_network_are_contained(sandbox, tmp_path):
    if sandbox.problem is not None:
        pytest.skip(sandbox.problem)
    probe = f"/tmp/fimkit-escape-{os.getpid()}"
    sandbox.run(f"open({probe!r}, 'w').write('x')")
    assert not os.path.exists(probe)
    net = sandbox.run("import socket\nsocket.create_connection(('127.0.0.1', 22), timeout=1)")
    assert net.status == "failed"
    assert sandbox.run(f"open({str(tmp_path / 'x')!r}, 'w')").status == "failed"  # other users' folders are off limits
