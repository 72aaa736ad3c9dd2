"""llama.cpp's own server (``llama-server``) as a child process that fimkit starts and looks after.

fimkit keeps prompts, context, post-processing and every editor API; the child does the generating,
with ``--parallel`` slots, continuous batching and per-slot prompt caches. ``EngineProcess`` finds the
binary (the Makefile builds it from the llama.cpp sources of the pinned llama-cpp-python, without AMX),
starts it on a free loopback port with its log in a file, waits until it answers ``/health``, starts
it again when it dies (a watchdog, with a growing pause so a crash loop does not spin), and stops it
cleanly (SIGTERM, then SIGKILL) when fimkit stops.

Only fimkit may use it: it gets a random key at each start (``--api-key`` through its environment,
which other users cannot read, unlike its command line), and every request fimkit makes carries it,
so another local process, or a web page posting to the port, gets 401 and cannot take its slots.
Where it listens and who may call it are fimkit's to decide: ``--engine-args`` may not set those
flags (``check_engine_args``), and the ``LLAMA_ARG_*`` variables that would set them are not passed
on. And it never outlives fimkit: the kernel kills it (SIGKILL, which a stuck engine cannot ignore)
when the thread that started it ends, however fimkit ends.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
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
STOP_TIMEOUT_S = 5.0  # SIGTERM, then this long, then SIGKILL: a stuck engine never holds up fimkit's exit
MAX_REPLY_BYTES = 4 << 20  # /props, /lora-adapters, /slots: a few kB; a bigger reply is not one of them

# Flags fimkit sets itself, so --engine-args may not (short forms and --flag=value included).
_OWNED = {
    "where it listens": "--host --port --reuse-port --path --api-prefix --ssl-key-file --ssl-cert-file",
    "who may call it": "--api-key --api-key-file --cors-origins --cors-methods --cors-headers --cors-credentials "
                       "--no-cors-credentials",
    "what it serves besides completions": "--props --slot-save-path --media-path --ui --webui --no-ui --no-webui "
                                          "--ui-config --webui-config --ui-config-file --webui-config-file "
                                          "--ui-mcp-proxy --webui-mcp-proxy --no-ui-mcp-proxy --no-webui-mcp-proxy "
                                          "--tools --tools-runtime --mcp-servers-config --mcp-servers-json -ag "
                                          "--agent -no-ag --no-agent --models-dir --models-preset --models-max "
                                          "--models-autoload --no-models-autoload",
    "what fimkit's bookkeeping depends on": "-m --model -mu --model-url -hf -hfr --hf-repo -hff --hf-file -dr "
                                            "--docker-repo --lora --lora-scaled --lora-init-without-apply -np "
                                            "--parallel -c --ctx-size -cram --cache-ram -kvu --kv-unified -no-kvu "
                                            "--no-kv-unified",
}
OWNED_FLAGS = frozenset(flag for flags in _OWNED.values() for flag in flags.split())


def check_engine_args(args: list[str] | tuple[str, ...], owned: dict[str, str] | None = None,
                      engine: str = BINARY) -> tuple[str, ...]:
    """``args`` (``--engine-args``, split) when none is a flag fimkit owns (``owned``: why -> flags, for
    ``engine``; llama-server's by default); else a one-line FimkitError."""
    owned = _OWNED if owned is None else owned
    for arg in args:
        flag = arg.split("=", 1)[0]
        what = next((why for why, flags in owned.items() if flag in flags.split()), None)
        if what is not None:
            raise FimkitError(f"--engine-args: {flag} is fimkit's to set ({what}): fimkit starts {engine} on "
                              "loopback with a key only it sends, and sets its model, adapters, slots and window from "
                              "its own flags (--model, --adapter, --parallel, --n-ctx); to serve other machines, run "
                              "fimkit serve --host ADDRESS --api-key KEY")
    return tuple(args)


def engine_env(key: str) -> dict[str, str]:
    """The child's environment: fimkit's, less every ``LLAMA_ARG_*`` / ``LLAMA_API_KEY*`` variable (they
    would set what --engine-args may not: its address, its key, its model), plus the engine's key."""
    env = {}
    for name, value in os.environ.items():
        if name.startswith(("LLAMA_ARG_", "LLAMA_API_KEY")):
            log.warning("%s is set in the environment and not passed to %s: give engine flags with --engine-args",
                        name, BINARY)
            continue
        env[name] = value
    env["LLAMA_API_KEY"] = key
    return env


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


def _die_with_parent(sig: int = signal.SIGKILL):
    """A function for the child to run before exec: on Linux, the kernel sends the child SIGKILL when the
    thread that started it ends, which is at the latest when fimkit ends, however it ends (SIGTERM,
    SIGINT, SIGKILL, a crash). SIGKILL, not SIGTERM: with fimkit gone nothing graceful is left to do,
    and an engine that is stuck (or stopped) ignores SIGTERM and would live on orphaned, holding its
    port and memory. If fimkit died between the fork and the prctl, the signal would never come: the
    child checks its parent is still the one that forked it. libc is looked up here, in the parent:
    importing in a forked child of a threaded process can deadlock."""
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def in_child():
        prctl(1, sig)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:
            os._exit(1)

    return in_child


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str, timeout: float = 2.0, key: str | None = None):
    """GET ``url`` (with the engine's ``key``) and its JSON; a reply past ``MAX_REPLY_BYTES`` is a ValueError."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout) as resp:
        raw = resp.read(MAX_REPLY_BYTES + 1)
    if len(raw) > MAX_REPLY_BYTES:
        raise ValueError(f"a reply over {MAX_REPLY_BYTES:,} bytes")
    return json.loads(raw.decode("utf-8"))


class EngineProcess:
    """One supervised engine server: llama-server here, others by overriding ``name``, ``command``,
    ``env`` and ``probe`` (``fimkit.infer.engines.vllm_process``). ``url`` is where it answers;
    ``restarts`` counts the times the watchdog started it again."""

    name = BINARY
    # What the kernel sends the child when fimkit ends (``_die_with_parent``): SIGKILL for an engine
    # that is one process; a child that starts processes of its own must catch it and end them all.
    death_signal = signal.SIGKILL

    def __init__(self, model: Path, *, n_ctx: int, parallel: int, threads: int | None = None,
                 adapters: tuple[Path, ...] = (), log_path: Path, binary: str | None = None,
                 extra_args: tuple[str, ...] = (), start_timeout: float = START_TIMEOUT_S):
        self.binary = self.find(binary)
        self.model, self.n_ctx, self.parallel, self.threads = model, n_ctx, parallel, threads
        self.adapters, self.log_path, self.start_timeout = adapters, log_path, start_timeout
        self.extra_args = self.check_args(extra_args)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.key = secrets.token_urlsafe(32)  # this start's: only fimkit's requests carry it
        self.restarts = 0
        self.ready = False  # answering /health: loaded, not only running
        self._proc: subprocess.Popen | None = None
        self._started = 0.0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._watchdog: threading.Thread | None = None

    def find(self, explicit: str | None) -> Path:
        return find_binary(explicit)

    def check_args(self, args: tuple[str, ...]) -> tuple[str, ...]:
        return check_engine_args(args)

    def env(self) -> dict[str, str]:
        return engine_env(self.key)

    def probe(self) -> bool:
        """Whether the running child answers as loaded (llama-server: 503 while loading, then status ok)."""
        return get_json(self.url + "/health", timeout=1.0).get("status") == "ok"

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
        self.ready = False
        with self._lock, open(self.log_path, "ab") as out:
            out.write(f"\n== fimkit starts: {' '.join(self.command())}\n".encode())
            out.flush()
            self._started = time.monotonic()
            self._proc = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, start_new_session=True,
                                          preexec_fn=_die_with_parent(self.death_signal), env=self.env())
        try:
            self._wait_ready()
        except BaseException:  # a timeout, Ctrl-C, anything: a child that never became ready goes now
            self._kill()
            raise
        self.ready = True

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            proc = self._proc
            if proc is None or proc.poll() is not None:
                raise FimkitError(f"{self.name} exited (status {proc.returncode if proc else '?'}) while loading "
                                  f"{self.model}: {self.last_log_lines()}")
            try:
                if self.probe():
                    return
            except (urllib.error.URLError, OSError, ValueError):
                pass  # still loading (503) or not listening yet
            time.sleep(0.1)
        raise FimkitError(f"{self.name} did not become ready within {self.start_timeout:g} s; its log: {self.log_path}")

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
            log.warning("%s exited (status %s); starting it again in %.1f s. %s", self.name, code, pause,
                        self.last_log_lines(2))
            if self._stopping.wait(pause):
                return
            try:
                self._respawn()
                self.restarts += 1
                crashes += 1
                log.warning("%s is back (restart %d)", self.name, self.restarts)
            except FimkitError as exc:
                crashes += 1
                log.error("%s", exc)

    @property
    def state(self) -> str:
        """What /health says of it: ok, loading (running, not answering yet) or restarting (not running)."""
        if not self.alive:
            return "restarting"
        return "ok" if self.ready else "loading"

    def check(self) -> None:
        """Raise the error a request gets while the engine is down or still loading (HTTP 503: retry shortly)."""
        state = self.state
        if state != "ok":
            what = "is restarting" if state == "restarting" else "is loading its model"
            raise BackendUnavailableError(f"the {self.name} engine {what}; retry shortly (log: {self.log_path})")

    def _kill(self) -> None:
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is not None:
            _kill_group(proc)

    def _respawn(self) -> None:
        """Start again after the child exited; what it started (vLLM's engine processes) goes first, or
        the new one would find their memory still held."""
        with self._lock:
            proc = self._proc
        if proc is not None:
            _kill_group(proc)
        self._spawn()

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        self._stopping.set()
        self.ready = False
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is not None:
            _kill_group(proc)  # what it left behind
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        _kill_group(proc)


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL to the child and every process it started (its session's group: the child leads it), then
    reap it. The group outlives its leader while any member lives, so this also ends what a dead child
    left behind."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if proc.poll() is None:
        proc.kill()
    proc.wait()
