"""``--model auto``: the best embedded model that meets the typing latency goal on this machine.

Measured once per machine (CPU, cores, GPU offload, llama.cpp version, the installed models) in a few
seconds and cached in ``$FIMKIT_HOME/auto-model.json``: each installed FIM model, best first, is
loaded (with every layer offloaded where llama.cpp has a GPU) and timed on what typing costs, a
keystroke (a few tokens appended to a cached prompt, then a few generated) and a cold prompt. The first
whose figures are within the goal is chosen; where none is, the fastest. ``fimkit models`` and
``/health`` report the choice and why.

The limits are the typing goals translated into what the probe measures, calibrated on the typing
replay of benchmarks/bench_typing.py (docs/models.md): at ``KEYSTROKE_MS`` for the probe's keystroke
the replay's median stays within 150 ms, and ``COLD_MS_PER_TOKEN`` keeps a cold prompt of the
profile's budget within 3 s.
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass

from fimkit.errors import FimkitError, require
from fimkit.fileio import write_json
from fimkit.models.embedded import AUTO, EMBEDDED, EmbeddedModel, assemble, package_installed
from fimkit.paths import fimkit_home

# Best first: what auto tries, and in which order. Only FIM models: a prefix-only model that is faster
# is not better (Gemma-3-270m scores far lower on every hole kind, docs/models.md); it is the choice only
# where no FIM model is installed.
PREFERENCE = ("qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b")
FALLBACK = "gemma-3-270m"
KEYSTROKE_MS = 400.0  # the probe's keystroke (8 tokens appended, 8 generated) within this...
COLD_MS_PER_TOKEN = 6.0  # ...and a cold prompt's tokens within this, each
PROBE_CONTEXT = 256  # prompt tokens the keystroke is appended to
VERSION = 2  # of the measurement: a new one measures again


@dataclass(frozen=True)
class Probe:
    model: str
    load_s: float
    cold_ms_per_token: float
    keystroke_ms: float
    decode_ms_per_token: float
    gpu: bool

    @property
    def meets_goal(self) -> bool:
        return self.keystroke_ms <= KEYSTROKE_MS and self.cold_ms_per_token <= COLD_MS_PER_TOKEN

    def describe(self) -> str:
        return (f"{self.model}: keystroke {self.keystroke_ms:.0f} ms (limit {KEYSTROKE_MS:.0f}), cold "
                f"{self.cold_ms_per_token:.1f} ms per prompt token (limit {COLD_MS_PER_TOKEN:.1f}), "
                f"{self.decode_ms_per_token:.0f} ms per generated token" + (", GPU offload" if self.gpu else ""))


@dataclass(frozen=True)
class Choice:
    model: str
    reason: str
    probes: tuple[Probe, ...]
    machine: dict


def _installed() -> list[EmbeddedModel]:
    by_name = {m.name: m for m in EMBEDDED}
    return [by_name[n] for n in (*PREFERENCE, FALLBACK) if package_installed(by_name[n])]


def machine_key(models: list[EmbeddedModel]) -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), cpu)
    except OSError:
        pass
    try:
        from importlib.metadata import version

        llama = version("llama-cpp-python")
    except Exception:  # noqa: BLE001 - not installed: the probe will say so
        llama = None
    return {"version": VERSION, "cpu": cpu, "cores": os.cpu_count(), "llama_cpp": llama,
            "models": [m.sha256[:16] for m in models], "threads": os.environ.get("FIMKIT_THREADS")}


def cache_path():
    return fimkit_home() / "auto-model.json"


def pinned_choice() -> Choice | None:
    """``$FIMKIT_AUTO_MODEL``: what auto means where an operator (a fleet, CI) decided it."""
    pinned = os.environ.get("FIMKIT_AUTO_MODEL", "").strip()
    return Choice(pinned, "set by FIMKIT_AUTO_MODEL", (), {}) if pinned else None


def cached_choice() -> Choice | None:
    """The choice pinned or measured on this machine, if it still holds (no measuring)."""
    pinned = pinned_choice()
    if pinned is not None:
        return pinned
    try:
        data = json.loads(cache_path().read_text(encoding="utf-8"))
        if data.get("machine") != machine_key(_installed()):
            return None
        return Choice(data["model"], data["reason"], tuple(Probe(**p) for p in data["probes"]), data["machine"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def probe(model: EmbeddedModel, *, threads: int | None = None, log=None) -> Probe:
    """Load ``model`` and time a cold prompt, a keystroke on a cached one, and decoding."""
    llama_cpp = require("llama_cpp", package="llama-cpp-python", extra="llama", purpose="measuring models")
    from fimkit.console import held_library_output

    path = assemble(model, log=log)
    try:
        gpu = bool(llama_cpp.llama_supports_gpu_offload())
    except (AttributeError, OSError):
        gpu = False
    start = time.perf_counter()
    with held_library_output():
        llm = llama_cpp.Llama(model_path=str(path), n_ctx=PROBE_CONTEXT + 64, n_threads=threads or os.cpu_count(),
                              n_gpu_layers=-1 if gpu else 0, verbose=False)
    load_s = time.perf_counter() - start
    try:
        text = "".join(f"def f{i}(x):\n    return x * {i} + {i % 7}\n\n" for i in range(60))
        tokens = llm.tokenize(text.encode(), add_bos=False)[:PROBE_CONTEXT]
        llm.reset()
        llm.eval(tokens[:16])  # warm the kernels
        llm.reset()
        start = time.perf_counter()
        llm.eval(tokens)
        cold = (time.perf_counter() - start) * 1000 / len(tokens)
        start = time.perf_counter()
        # a keystroke: a few tokens appended to the cached prompt, then a short line generated
        for n, _ in enumerate(llm.generate([*tokens, *tokens[:8]], temp=0, top_k=1), 1):
            if n >= 8:
                break
        keystroke = (time.perf_counter() - start) * 1000
        start = time.perf_counter()
        for _ in range(8):
            llm.eval([tokens[_]])
        decode = (time.perf_counter() - start) * 1000 / 8
    finally:
        llm.close()
    return Probe(model.name, round(load_s, 3), round(cold, 2), round(keystroke, 1), round(decode, 1), gpu)


def choose(*, refresh: bool = False, threads: int | None = None, log=None) -> Choice:
    """The model ``--model auto`` serves on this machine: ``$FIMKIT_AUTO_MODEL`` when set (a fleet, or CI,
    that decided), else cached, else measured now (a few seconds)."""
    pinned = pinned_choice()
    if pinned is not None:
        return pinned
    if not refresh:
        cached = cached_choice()
        if cached is not None:
            return cached
    models = _installed()
    if not models:
        raise FimkitError("--model auto found no embedded model installed; install them with: pip install "
                          "'fimkit[embedded]' (or name a model: fimkit models)")
    key = machine_key(models)
    probes: list[Probe] = []
    fim = [m for m in models if m.name in PREFERENCE]
    if not fim:
        fallback = models[0]
        choice = Choice(fallback.name, f"no FIM model is installed (pip install 'fimkit[embedded]'); {fallback.name} "
                        "serves prefix-only", (), key)
        write_json(cache_path(), asdict(choice))
        return choice
    if log:
        log(f"measuring which model this machine serves fast enough ({', '.join(m.name for m in fim)}); once, a "
            "few seconds")
    chosen = None
    for model in fim:
        result = probe(model, threads=threads, log=log)
        probes.append(result)
        if result.meets_goal:
            chosen = result
            break
    if chosen is not None:
        better = [p.model for p in probes if p is not chosen]
        reason = (f"the best installed model within the typing goal ({chosen.describe()})"
                  + (f"; too slow here: {', '.join(better)}" if better else ""))
    else:
        chosen = min(probes, key=lambda p: p.keystroke_ms)
        reason = f"no installed FIM model meets the typing goal here; the fastest ({chosen.describe()})"
    choice = Choice(chosen.model, reason, tuple(probes), key)
    write_json(cache_path(), asdict(choice))
    return choice


def resolve_auto(ref: str, *, log=None) -> str:
    """``ref`` with ``auto`` replaced by the model chosen for this machine."""
    if ref.strip().lower() != AUTO:
        return ref
    return choose(log=log).model
