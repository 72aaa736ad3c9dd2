"""The llama-server engine: llama.cpp's own server generates, with parallel slots and continuous batching.

It is the in-process llama.cpp engine with the generating moved out: the same GGUF is opened here for
its vocabulary only (under a second, no weights), so prompts are tokenized exactly as in-process (sentinels
as control tokens, user text never) and sent as token ids, and the same end tokens stop a middle. The
server is a supervised child (``server_process``) or one already running (``--base-url``). Requests
run at once up to ``parallel``; each names its LoRA adapter, or none, with every loaded adapter's
scale set, so a request never inherits another's. Closing the stream is how a request is cancelled:
llama-server stops that slot's generation when its next write fails. Every request carries the
engine's key (``server_process``: the child's, random per start; ``--remote-api-key`` for one already
running), every read has a deadline (``remote.post``), and what the server says about itself
(``/props``, ``/lora-adapters``) is checked before it is believed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

from fimkit.console import held_library_output
from fimkit.errors import FimkitError, require
from fimkit.formats import FimFormat
from fimkit.infer.engines.contract import (
    EngineInfo,
    Generation,
    SamplingParams,
    TokenPiece,
    fit_window,
)
from fimkit.infer.engines.healing import Healing
from fimkit.infer.engines.llama_cpp import LlamaCppEngine
from fimkit.infer.engines.remote import (
    Cancelled,
    ServerBacked,
    heal_by_requests,
    read_json,
)
from fimkit.infer.engines.server_process import EngineProcess
from fimkit.models.adapter import check_adapter, find_adapter
from fimkit.models.profile import served_format
from fimkit.models.resolve import ResolvedModel, inspect_model

log = logging.getLogger("fimkit.engine")

HEALING_BIAS = 1000.0  # healing: the bias that lifts the allowed tokens over all others (logits are tens at most)
MAX_SLOTS = 256  # --parallel's limit: a server that claims more gets this many requests at once


class LlamaServerEngine(ServerBacked, LlamaCppEngine):
    server_name, completion_path = "llama-server", "/completion"
    backend = "llama-server"
    can_heal = True  # healing steps are requests of one token with the allowed tokens biased up

    def __init__(self, model: ResolvedModel, *, n_ctx: int = 2048, parallel: int = 4, threads: int | None = None,
                 fim_format: FimFormat | None = None, adapters: dict[str, str] | None = None,
                 base_url: str | None = None, log_path: Path | None = None, binary: str | None = None,
                 engine_args: tuple[str, ...] = (), api_key: str | None = None):
        if model.kind != "gguf":
            raise FimkitError(f"the llama-server engine needs a GGUF file, but {model.ref} is a Hugging Face folder; "
                              "export it first (fimkit export RUN)")
        self._llama = require("llama_cpp", package="llama-cpp-python", extra="llama", purpose="tokenizing prompts")
        self.model, self.model_info, self.name = model, inspect_model(model), model.name
        self.fim_format = fim_format or served_format(self.model_info.detection)
        self.adapter_paths: dict[str, Path] = {}
        for name, ref in (adapters or {}).items():
            path = find_adapter(ref)
            check_adapter(path, model.path)  # a bad file would take the whole engine down at its first use
            self.adapter_paths[name] = path
        if model.lora is not None:
            raise FimkitError(f"{model.ref} is a base with its adapter; serve the base and give the adapter with "
                              "--adapter NAME=PATH")
        with held_library_output():
            self.llm = self._llama.Llama(model_path=str(model.path), vocab_only=True, verbose=False)
        self._tok_lock = threading.Lock()  # requests tokenize from several threads at once
        self._vocab = None  # healing's table of token texts, built on first use
        self.n_ctx, self.parallel, self.want_logprobs = n_ctx, parallel, True
        self.prompt_tokens = self.default_prompt_tokens(self._llama)
        self._check_sentinels()
        self._stop_ids = self._find_stop_ids()
        self._end_id = self._find_end_id()
        self.process: EngineProcess | None = None
        if base_url:  # one already running: its adapters are its own, in the order it loaded them
            self.url, self.key = base_url.rstrip("/").removesuffix("/v1"), api_key
            self._check_remote()
        else:
            self.process = EngineProcess(model.path, n_ctx=n_ctx, parallel=parallel, threads=threads,
                                         adapters=tuple(self.adapter_paths.values()), binary=binary,
                                         extra_args=engine_args,
                                         log_path=log_path or Path("llama-server.log")).start()
            self.url, self.key = self.process.url, self.process.key
        self._ids = {name: i for i, name in enumerate(self.adapter_paths)}
        self._slots: OrderedDict[str, int] = OrderedDict()  # affinity -> slot, most recent last
        self._slot_used = {i: 0.0 for i in range(self.parallel)}
        self._slot_lock = threading.Lock()

    def _check_remote(self) -> None:
        """What a server fimkit did not start says about itself, checked: a /props that is not an object
        is not a llama-server, and its slot count is believed up to MAX_SLOTS (each slot is a worker
        thread here)."""
        props = self._get("/props")
        if not isinstance(props, dict):
            raise FimkitError(f"{self.url}/props is not a JSON object: is it a llama-server?")
        slots = props.get("total_slots")
        if isinstance(slots, int) and not isinstance(slots, bool) and slots > 0:
            if slots > MAX_SLOTS:
                log.warning("llama-server at %s reports %d slots; fimkit sends it at most %d requests at once",
                            self.url, slots, MAX_SLOTS)
            self.parallel = min(slots, MAX_SLOTS)
        if self.adapter_paths:
            loaded = self._get("/lora-adapters")
            if not isinstance(loaded, list):
                raise FimkitError(f"{self.url}/lora-adapters is not a JSON list: is it a llama-server?")
            if len(loaded) != len(self.adapter_paths):
                raise FimkitError(f"llama-server at {self.url} loaded {len(loaded)} adapter(s), --adapter names "
                                  f"{len(self.adapter_paths)}: give them in the order it was started with")
            log.warning("llama-server at %s serves adapters: it must run with --cache-ram 0, or its prompt cache "
                        "can hand one adapter's prompt state to another's request", self.url)

    @property
    def adapters(self) -> tuple[str, ...]:
        return tuple(self.adapter_paths)

    def count_tokens(self, text: str) -> int:
        with self._tok_lock:
            return super().count_tokens(text)

    def tokenize_prompt(self, prompt: str) -> list[int]:
        with self._tok_lock:
            return super().tokenize_prompt(prompt)

    def info(self) -> EngineInfo:
        mi = self.model_info
        return EngineInfo(self.backend, self.name, self.fim_format, self.n_ctx, mi.size_bytes or 0, mi.architecture,
                          mi.quantization, healing=self.heals)

    def _lora(self, adapter: str | None) -> list[dict]:
        """Every loaded adapter's scale for one request (``generate`` has checked the name): the one it
        asked for at 1, all others at 0, so nothing carries over from the slot's previous request."""
        return [{"id": i, "scale": 1.0 if name == adapter else 0.0} for name, i in self._ids.items()]

    def _slot(self, affinity: str | None) -> int:
        """The slot for ``affinity``: the one its last prompt went to (its KV cache is there), else the
        slot used longest ago. llama-server holds a request for a busy slot until the slot is free, which
        costs less than evaluating the whole prompt again on another one."""
        if affinity is None:
            return -1
        with self._slot_lock:
            slot = self._slots.pop(affinity, None)
            if slot is None:
                slot = min(self._slot_used, key=self._slot_used.get)
                if len(self._slots) >= 64 * self.parallel:
                    self._slots.popitem(last=False)
            self._slots[affinity] = slot
            self._slot_used[slot] = time.monotonic()
            return slot

    def _produce(self, gen: Generation, prompt: str, params: SamplingParams,
                 cancel: threading.Event | None) -> Iterator[TokenPiece]:
        if params.first_token is not None:
            raise FimkitError("the llama-server engine cannot branch on a given first token (candidate ranking); "
                              "use --candidates 1")
        lora = self._lora(params.adapter)
        if self.process is not None:
            self.process.check()
        with self._tok_lock:
            tokens, healing = self._back_off(prompt, params.healing)
        tokens = fit_window(tokens, self.n_ctx, max(params.max_tokens, 1))
        stats = gen.stats
        stats.prompt_tokens = len(tokens)
        greedy = params.temperature <= 0
        body = {"n_predict": max(params.max_tokens, 0), "stream": True, "cache_prompt": True,
                "return_tokens": True, "n_probs": max(1, params.top_logprobs), "temperature": max(params.temperature, 0.0),
                "top_k": 1 if greedy else params.top_k, "top_p": 1.0 if greedy else params.top_p, "min_p": 0.0,
                "repeat_penalty": 1.0, "samplers": ["top_k", "top_p", "temperature"] if not greedy else ["top_k"]}
        if lora:
            body["lora"] = lora
        slot = self._slot(params.affinity)
        if slot >= 0:
            body["id_slot"] = slot
        if params.seed is not None:
            body["seed"] = params.seed
        start = time.perf_counter()
        first = None
        if cancel is not None and cancel.is_set():
            gen.stop_reason = "cancelled"
            return
        healed = 0
        try:
            if healing is not None and params.max_tokens > 0:
                for piece in self._heal(gen, tokens, healing, body, params, cancel):
                    if first is None:
                        first = time.perf_counter()
                        stats.prompt_ms = (first - start) * 1000
                    yield piece
                healed = stats.predicted_tokens
                if gen.stop_reason is not None or not healing.done:
                    gen.stop_reason = gen.stop_reason or "eos"
                    return
            with self._call({**body, "prompt": tokens, "n_predict": max(params.max_tokens - healed, 0)}, cancel) as resp:
                for chunk in self._events(resp):
                    if chunk.get("stop"):
                        if isinstance(chunk.get("tokens_predicted"), int):
                            stats.predicted_tokens = healed + chunk["tokens_predicted"]
                        if gen.stop_reason is None:
                            gen.stop_reason = "limit" if chunk.get("stop_type") == "limit" else "eos"
                        break
                    ids = chunk.get("tokens") or []
                    if not ids:
                        continue
                    tok = int(ids[-1])
                    if first is None:
                        first = time.perf_counter()
                        stats.prompt_ms = (first - start) * 1000
                    if tok in self._stop_ids:
                        gen.stop_reason = "eos"
                        return
                    # A token that ends mid-way through a UTF-8 character is not sent on its own: its text
                    # comes with the next token's, and only that token's id and probability are given.
                    decoded = chunk.get("tokens_predicted")
                    stats.predicted_tokens = healed + decoded if isinstance(decoded, int) else stats.predicted_tokens + 1
                    p = (chunk.get("completion_probabilities") or [{}])[0]
                    tops = (p.get("top_logprobs") or [])[: params.top_logprobs]
                    logprob = p.get("logprob")
                    yield TokenPiece(chunk.get("content") or "", float(logprob) if logprob is not None else None, tok,
                                     tuple((t.get("token", ""), float(t.get("logprob", 0.0))) for t in tops),
                                     tuple(int(t.get("id", -1)) for t in tops))
                    if self._done(gen, params, cancel):
                        return  # the connection closes before the server's next write: it stops this slot
            if gen.stop_reason is None and cancel is not None and cancel.is_set():
                gen.stop_reason = "cancelled"  # hung up while waiting: the stream just ended
            if gen.stop_reason is None:
                gen.stop_reason = "limit" if params.max_tokens <= 0 else "eos"
        except Cancelled:
            gen.stop_reason = "cancelled"
        finally:
            self._time(stats, start, first)

    def _heal(self, gen: Generation, tokens: list[int], healing: Healing, body: dict, params: SamplingParams,
              cancel: threading.Event | None) -> Iterator[TokenPiece]:
        """The tokens that re-spell the backed-off text (``heal_by_requests``): each step a request of one
        token with the allowed tokens' logits biased above every other (the server exposes no logits,
        but applies a bias before it samples)."""
        def step(tokens: list[int], allowed: list[int]) -> int | None:
            request = {**body, "prompt": tokens, "n_predict": 1, "stream": False, "n_probs": 0,
                       "logit_bias": [[t, HEALING_BIAS] for t in allowed]}
            with self._call(request, cancel) as resp:
                reply = read_json(resp, self.source)
            ids = (reply.get("tokens") if isinstance(reply, dict) else None) or []
            return ids[0] if isinstance(ids, list) and ids and isinstance(ids[0], int) else None

        yield from heal_by_requests(gen, tokens, healing, step, lambda g: self._done(g, params, cancel))
