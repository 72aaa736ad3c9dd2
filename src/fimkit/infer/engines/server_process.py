"""llama.cpp's own server (``llama-server``) as a child process that fimkit starts and looks after.

fimkit keeps prompts, context, post-processing and every editor API; the child does the generating,
with ``--parallel`` slots, continuous batching and per-slot prompt caches. ``EngineProcess`` finds the
binary (the Makefile builds it from the llama.cpp sources of the pinned llama-cpp-python, without AMX),
starts it on a free loopback port with its log in a file, waits until it answers ``/health``, starts
it again when it dies (a watchdog, with a growing pause so a crash loop does not spin), and stops it
cleanly (SIGTERM, then SIGKILL) when fimkit stops.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from fimkit.errors import BackendUnavailableError, FimkitError

log = logging.getLogger("fimkit.engine")

BINARY = "llama-server"
START_TIMEOUT_S = 120.0  # loading a 7B GGUF from a cold disk can take a minute
RESTART_PAUSES_S = (0.5, 2.0, 5.0, 15.0, 30.0)  # between restarts after crashes in a row


def find_binary(explicit: str | None = None) -> Path:
    """``explicit``, else $FIMKIT_LLAMA_SERVER, else the one beside this Python (the Makefile puts it in
    .venv/bin), else ``llama-server`` on PATH."""
    for candidate in (explicit, os.environ.get("FIMKIT_LLAMA_SERVER"), str(Path(sys.executable).parent / BINARY),
                      shutil.which(BINARY)):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    raise FimkitError(f"no {BINARY} binary found: `make install` builds it into .venv/bin (from the llama.cpp "
                      "sources of the pinned llama-cpp-python), or set $FIMKIT_LLAMA_SERVER to one you built, or "
                      "pass --base-url of a llama-server that is already running")


def _die_with_parent():
    """A function for the child to run before exec: on Linux, it ends the child when fimkit ends, even by
    SIGKILL (no orphan engine holding the port and the memory). libc is looked up here, in the parent:
    importing in a forked child of a threaded process can deadlock."""
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return lambda: prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str, timeout: float = 2.0):
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read().decode("utf-8"))


class EngineProcess:
    """One supervised llama-server. ``url`` is where it answers; ``restarts`` counts the times the
    watchdog started it again."""

    def __init__(self, model: Path, *, n_ctx: int, parallel: int, threads: int | None = None,
                 adapters: tuple[Path, ...] = (), log_path: Path, binary: str | None = None,
                 extra_args: tuple[str, ...] = (), start_timeout: float = START_TIMEOUT_S):
        self.binary = find_binary(binary)
        self.model, self.n_ctx, self.parallel, self.threads = model, n_ctx, parallel, threads
        self.adapters, self.log_path, self.start_timeout = adapters, log_path, start_timeout
        self.extra_args = extra_args
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.restarts = 0
        self._proc: subprocess.Popen | None = None
        self._started = 0.0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._watchdog: threading.Thread | None = None

    def command(self) -> list[str]:
        # Every slot gets its own whole window (n_ctx each), so a request fits any slot as it fits the
        # in-process engine. Not one unified KV cache: with it, llama-server clears every idle slot when
        # a task starts, and a typist's next keystroke evaluated its whole prompt again (seconds on a CPU).
        cmd = [str(self.binary), "--model", str(self.model), "--host", "127.0.0.1", "--port", str(self.port),
               "--ctx-size", str(self.n_ctx * self.parallel), "--parallel", str(self.parallel), "--no-kv-unified",
               "--cont-batching", "--no-webui", "--metrics", "--slots", "--cache-reuse", "64",
               # warnings and errors only: at info it writes lines per request, and a team server's log
               # would grow without end (--engine-args '--log-verbosity 3' shows them when wanted)
               "--log-verbosity", "2"]
        if self.threads:
            cmd += ["--threads", str(self.threads), "--threads-batch", str(self.threads)]
        for adapter in self.adapters:
            cmd += ["--lora", str(adapter)]
        if self.adapters:
            # Each request says which adapter it gets (none: the base). The server's RAM prompt cache
            # restores a prompt's KV state whatever adapter computed it: with adapters it would hand one
            # repository's state to another's request (tests/serve/test_team.py saw 17% of answers
            # change), so it is off; each slot still keeps its own cache, cleared when its adapter changes.
            cmd += ["--lora-init-without-apply", "--cache-ram", "0"]
        return cmd + list(self.extra_args)

    def start(self) -> EngineProcess:
        self._spawn()
        self._watchdog = threading.Thread(target=self._watch, name="fimkit-engine-watchdog", daemon=True)
        self._watchdog.start()
        return self

    def _spawn(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, open(self.log_path, "ab") as out:
            out.write(f"\n== fimkit starts: {' '.join(self.command())}\n".encode())
            out.flush()
            self._started = time.monotonic()
            self._proc = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, start_new_session=True,
                                          preexec_fn=_die_with_parent())
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            proc = self._proc
            if proc is None or proc.poll() is not None:
                raise FimkitError(f"{BINARY} exited (status {proc.returncode if proc else '?'}) while loading "
                                  f"{self.model}: {self.last_log_lines()}")
            try:
                if get_json(self.url + "/health", timeout=1.0).get("status") == "ok":
                    return
            except (urllib.error.URLError, OSError, ValueError):
                pass  # still loading (503) or not listening yet
            time.sleep(0.1)
        self.stop()
        raise FimkitError(f"{BINARY} did not become ready within {self.start_timeout:g} s; its log: {self.log_path}")

    def last_log_lines(self, n: int = 4) -> str:
        try:
            lines = self.log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        except OSError:
            return f"(no log at {self.log_path})"
        return " | ".join(line.strip() for line in lines[-n:]) + f" (log: {self.log_path})"

    @property
    def alive(self) -> bool:
        proc = self._proc
        return proc is not None and proc.poll() is None

    def _watch(self) -> None:
        crashes = 0
        while not self._stopping.wait(0.25):
            if self.alive:
                continue
            code = self._proc.returncode if self._proc is not None else None
            if time.monotonic() - self._started > 60:
                crashes = 0  # it ran a while: not a crash loop
            pause = RESTART_PAUSES_S[min(crashes, len(RESTART_PAUSES_S) - 1)]
            log.warning("%s exited (status %s); starting it again in %.1f s. %s", BINARY, code, pause,
                        self.last_log_lines(2))
            if self._stopping.wait(pause):
                return
            try:
                self._spawn()
                self.restarts += 1
                crashes += 1
                log.warning("%s is back (restart %d)", BINARY, self.restarts)
            except FimkitError as exc:
                crashes += 1
                log.error("%s", exc)

    def check(self) -> None:
        """Raise the error a request gets while the engine is down (HTTP 503: retry shortly)."""
        if not self.alive:
            raise BackendUnavailableError(f"the {BINARY} engine is restarting; retry shortly (log: {self.log_path})")

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
