"""Running generated code: one subprocess per sample, contained, with its outcome recorded.

Like HumanEval's own harness this is not a security boundary against a determined attacker,
but it contains what models actually write (infinite loops, fork bombs, memory hogs, huge
outputs, ``os._exit``/``sys.exit`` before the checks, segfaults, writes to shared places):

- as root with ``unshare`` available: new PID, network and mount namespaces (no network; the
  sample is PID 1 of its own namespace, so when it ends or is killed every process it started
  dies with it; /tmp, /var/tmp and /dev/shm are private tmpfs), then it drops to a per-worker
  unprivileged uid where process-count limits apply;
- everywhere: CPU, memory, file-size and process rlimits, a wall-clock timeout that kills the
  whole process group, stdout/stderr captured to capped files, a temporary working directory;
- a sample passes only if it exits 0 *and* prints a per-run random marker after the checks, so
  exiting early never counts as a pass.
Without root or namespaces, ``isolation`` says what is missing.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

# Runs as root inside the new namespaces, then becomes the sandbox user and execs the sample.
_JAIL = r"""
import ctypes, os, resource, sys
workdir, uid, cpu, mem, fsize, nproc, python = sys.argv[1], int(sys.argv[2]), *map(int, sys.argv[3:7]), sys.argv[7]
libc = ctypes.CDLL(None, use_errno=True)
MS_REC, MS_PRIVATE, MS_NOSUID, MS_NODEV = 16384, 1 << 18, 2, 4
fd = os.open(workdir, os.O_RDONLY)
script = os.open(os.path.join(workdir, "program.py"), os.O_RDONLY)  # the path is hidden once /tmp is remounted
os.set_inheritable(script, True)
libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None)
for target in (b"/tmp", b"/var/tmp", b"/dev/shm"):
    if os.path.isdir(target):
        libc.mount(b"tmpfs", target, b"tmpfs", MS_NOSUID | MS_NODEV, b"size=64m,mode=1777")
os.fchdir(fd)
for res, value in ((resource.RLIMIT_CPU, cpu), (resource.RLIMIT_AS, mem), (resource.RLIMIT_FSIZE, fsize),
                   (resource.RLIMIT_NPROC, nproc), (resource.RLIMIT_CORE, 0)):
    resource.setrlimit(res, (value, value))
os.setgroups([])
os.setgid(uid)
os.setuid(uid)
os.environ.clear()
os.environ.update(HOME=os.getcwd(), PATH="/usr/bin:/bin", LANG="C.UTF-8")
os.execv(python, [python, "-I", f"/dev/fd/{script}"])
"""


@dataclass(frozen=True)
class SandboxLimits:
    """timeout_s: wall clock per sample. cpu_s / memory_mb / file_mb / processes: rlimits.
    output_bytes: how much of stdout/stderr is kept in the result."""

    timeout_s: float = 10.0
    cpu_s: int = 10
    memory_mb: int = 1024
    file_mb: int = 16
    processes: int = 64
    output_bytes: int = 4000


@dataclass(frozen=True)
class ExecResult:
    status: str  # passed, failed, timeout
    returncode: int | None
    stdout: str
    stderr: str
    seconds: float

    @property
    def passed(self) -> bool:
        return self.status == "passed"


def _probe_namespaces() -> str | None:
    """None when namespaces work here, else the reason they do not."""
    if os.geteuid() != 0:
        return "not root: no network or filesystem isolation (rlimits and timeouts still apply)"
    if shutil.which("unshare") is None:
        return "the unshare command is missing (util-linux): no network or filesystem isolation"
    try:
        subprocess.run(["unshare", "--pid", "--fork", "--net", "--mount", "--mount-proc", "true"], check=True,
                       capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"unshare is not permitted here ({exc}): no network or filesystem isolation"
    return None


def _children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (OSError, ValueError):
        return []


def _sample_python() -> str:
    """An interpreter the unprivileged sandbox user can run (the system one; ours may sit under /root)."""
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3", sys.executable):
        if os.path.exists(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return sys.executable


class Sandbox:
    def __init__(self, limits: SandboxLimits = SandboxLimits(), workers: int = 2):
        self.limits = limits
        self.workers = workers
        self.problem = _probe_namespaces()
        self.python = _sample_python() if self.problem is None else sys.executable
        self.marker = "FIMKIT-PASSED-" + secrets.token_hex(8)
        self._free = list(range(workers))
        self._lock = threading.Condition()

    @property
    def isolation(self) -> str:
        return "namespaces (pid, net, mount) + unprivileged uid + rlimits" if self.problem is None else self.problem

    def program(self, code: str) -> str:
        """The code to run, followed by the pass marker (printed only if everything before it ran)."""
        return f"{code}\n\nprint({self.marker!r})\n"

    def run(self, code: str) -> ExecResult:
        with self._lock:
            while not self._free:
                self._lock.wait()
            slot = self._free.pop()
        try:
            return self._run(code, slot)
        finally:
            with self._lock:
                self._free.append(slot)
                self._lock.notify()

    def _run(self, code: str, slot: int) -> ExecResult:
        lim = self.limits
        workdir = Path(tempfile.mkdtemp(prefix="fimkit-exec-"))
        uid = 61000 + slot
        try:
            (workdir / "program.py").write_text(self.program(code), encoding="utf-8")
            out_path, err_path = workdir / "stdout.txt", workdir / "stderr.txt"
            mem, fsize = lim.memory_mb * 1024 * 1024, lim.file_mb * 1024 * 1024
            if self.problem is None:
                os.chown(workdir, uid, uid)
                cmd = ["unshare", "--pid", "--fork", "--kill-child=SIGKILL", "--net", "--mount", "--mount-proc",
                       sys.executable, "-I", "-S", "-c", _JAIL, str(workdir), str(uid), str(lim.cpu_s), str(mem),
                       str(fsize), str(lim.processes), self.python]
                preexec = None
            else:
                cmd = [sys.executable, "-I", "program.py"]

                def preexec():
                    import resource

                    for res, value in ((resource.RLIMIT_CPU, lim.cpu_s), (resource.RLIMIT_AS, mem),
                                       (resource.RLIMIT_FSIZE, fsize), (resource.RLIMIT_NPROC, lim.processes)):
                        resource.setrlimit(res, (value, value))
            start = time.perf_counter()
            with open(out_path, "wb") as out, open(err_path, "wb") as err:
                proc = subprocess.Popen(cmd, cwd=workdir, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                        start_new_session=True, preexec_fn=preexec)
                try:
                    proc.wait(timeout=lim.timeout_s)
                    timed_out = False
                except subprocess.TimeoutExpired:
                    timed_out = True
                finally:
                    self._kill(proc)
            seconds = time.perf_counter() - start
            stdout, stderr = self._head(out_path), self._head(err_path)
            if timed_out:
                status = "timeout"
            elif proc.returncode == 0 and self.marker in stdout:
                status = "passed"
            else:
                status = "failed"
            return ExecResult(status, proc.returncode, stdout.replace(self.marker, "").strip(), stderr, seconds)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def _kill(self, proc: subprocess.Popen) -> None:
        """Kill the sample and everything it started, leaving no zombie behind.

        With namespaces, the sample is PID 1 of its namespace and a child of ``unshare``: killing it
        first lets ``unshare`` reap it (the kernel then ends the rest of the namespace); killing both
        at once would orphan the sample to a PID 1 that may never reap it.
        """
        if self.problem is None and proc.poll() is None:
            for child in _children(proc.pid):
                try:
                    os.kill(child, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # whatever is left in the sample's session
        except ProcessLookupError:
            pass
        proc.wait()

    def _head(self, path: Path) -> str:
        try:
            with open(path, "rb") as fh:
                return fh.read(self.limits.output_bytes).decode("utf-8", "replace")
        except OSError:
            return ""
