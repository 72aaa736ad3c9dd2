"""The vLLM engine: vLLM generates (continuous batching, paged KV cache, prefix caching, LoRA modules, a GPU
pool), fimkit keeps prompts, healing, post-processing and every editor API.

It is the transformers engine with the generating moved out, as the llama-server engine is llama.cpp's:
the model's Hugging Face tokenizer is loaded here (no weights), prompts are tokenized exactly as in-process
(sentinels as control tokens, user text never) and sent as token ids, and the same end tokens stop a
middle (``stop_token_ids``, so vLLM stops there too). Token healing runs as requests of one token each
with ``allowed_token_ids`` set to the tokens that re-spell the backed-off text, so the choice among them
is the model's. Middles stream; closing the stream is the cancel (vLLM aborts a request whose client
went away). Each request names its adapter as its ``model`` (``SERVED_BASE`` for none); vLLM's prefix
cache keys on the adapter, so nothing crosses between repositories. Text is decoded here from the token
ids vLLM returns (``return_token_ids``), the way the transformers engine decodes, so a middle is the same
string on both. The server is a supervised child (``vllm_process``) or one already running (``--base-url``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from fimkit.data.tokenizer import load_tokenizer
from fimkit.errors import BackendError, FimkitError
from fimkit.formats import FimFormat
from fimkit.infer.engines.contract import Generation, SamplingParams, TokenPiece, fit_window
from fimkit.infer.engines.hf import TransformersEngine
from fimkit.infer.engines.remote import (
    Cancelled,
    ServerBacked,
    heal_by_requests,
    read_json,
)
from fimkit.infer.engines.vllm_process import NO_ADAPTER, SERVED_BASE, VllmProcess, lora_rank
from fimkit.models.adapter import peft_beside
from fimkit.models.hf_folder import dequantized
from fimkit.models.profile import served_format
from fimkit.models.resolve import ResolvedModel, inspect_model

log = logging.getLogger("fimkit.engine")


def hf_model(model: ResolvedModel, *, log=None) -> Path:
    """The Hugging Face folder vLLM loads for ``model``: itself, or a GGUF's dequantized copy."""
    if model.lora is not None:
        raise FimkitError(f"{model.ref} is a base with its adapter; serve the base and give the adapter with "
                          "--adapter NAME=PATH (a PEFT folder)")
    if model.kind == "gguf":
        return dequantized(model, log=log)
    if not (model.path / "tokenizer.json").is_file():
        raise FimkitError(f"{model.path} has no tokenizer.json: vLLM and fimkit both need the model's tokenizer "
                          "beside its weights (fimkit export --format hf writes one)")
    return model.path


def peft_adapter(ref: str) -> Path:
    """An adapter vLLM loads: a PEFT folder (adapter_config.json), a training run (its adapter/), or the PEFT
    folder beside a GGUF adapter fimkit wrote (``fimkit export --lora-only`` and ``fimkit adapt`` keep one)."""
    path = Path(ref).expanduser()
    # the folder itself, a training run's adapter/, the copy beside a GGUF, an adapt folder's
    for candidate in (path, path / "adapter", peft_beside(path), path / "adapter.peft"):
        if (candidate / "adapter_config.json").is_file():
            lora_rank(candidate)
            return candidate
    raise FimkitError(f"--adapter {ref}: vLLM loads LoRA adapters in the PEFT layout (a folder with "
                      "adapter_config.json and adapter_model.safetensors), as `fimkit train` writes them; "
                      "a GGUF adapter is llama.cpp's")


class VllmEngine(ServerBacked, TransformersEngine):
    server_name, completion_path = "vLLM", "/v1/completions"
    backend = "vllm"
    can_heal = True

    def __init__(self, model: ResolvedModel, *, n_ctx: int = 2048, parallel: int = 8,
                 fim_format: FimFormat | None = None, adapters: dict[str, str] | None = None,
                 base_url: str | None = None, api_key: str | None = None, engine_args: tuple[str, ...] = (),
                 log_path: Path | None = None, python: str | None = None, log=None):
        folder = hf_model(model, log=log)
        self.model_info = inspect_model(ResolvedModel(ref=str(folder), kind="hf", path=folder, name=model.name)
                                        if model.kind == "gguf" else model)
        fmt = fim_format or served_format(self.model_info.detection)
        tok = load_tokenizer(str(folder), fmt.family if fmt.is_fim else None, add_fim_tokens=False)
        self.tok, self.fim_format, self.name, self._vocab = tok, fmt, model.name, None
        self.n_ctx, self.parallel, self.folder = n_ctx, parallel, folder
        self.stop_ids = self.end_ids(tok, fmt)
        # The profile's CPU budget: fimkit cannot see the engine's device; on a GPU pool give --prompt-tokens.
        self.prompt_tokens = self.profile.budget_tokens(False)
        # A vLLM at --base-url loaded its adapters itself, from its own disk: only their names matter here.
        self.adapter_paths = {name: Path(ref) if base_url else peft_adapter(ref) for name, ref in (adapters or {}).items()}
        self.process: VllmProcess | None = None
        self._base = NO_ADAPTER if self.adapter_paths else SERVED_BASE  # what base requests name (zero_adapter)
        if base_url:
            self.url, self.key = base_url.rstrip("/").removesuffix("/v1"), api_key
            self._check_remote()
        else:
            self.process = VllmProcess(folder, n_ctx=n_ctx, parallel=parallel, adapters=self.adapter_paths,
                                       log_path=log_path or Path("vllm.log"), python=python,
                                       extra_args=engine_args).start()
            self.url, self.key = self.process.url, self.process.key

    def _check_remote(self) -> None:
        """A vLLM fimkit did not start serves the base as ``SERVED_BASE`` and each adapter by its name."""
        listing = self._get("/v1/models")
        data = listing.get("data") if isinstance(listing, dict) else None
        names = {m.get("id") for m in data if isinstance(m, dict)} if isinstance(data, list) else set()
        if self.adapter_paths and NO_ADAPTER not in names:
            log.warning("vLLM at %s serves adapters but no %s: base requests go to %s, and vLLM's CPU build was "
                        "seen to compute them with an adapter when batched beside adapter requests", self.url,
                        NO_ADAPTER, SERVED_BASE)
            self._base = SERVED_BASE
        missing = sorted({SERVED_BASE, *self.adapter_paths} - names)
        if missing:
            raise FimkitError(f"vLLM at {self.url} serves {sorted(n for n in names if isinstance(n, str))}, not "
                              f"{missing}: start it with --served-model-name {SERVED_BASE} and --lora-modules "
                              "NAME=PATH for each --adapter")

    @property
    def adapters(self) -> tuple[str, ...]:
        return tuple(self.adapter_paths)

    def _body(self, tokens: list[int], params: SamplingParams, max_tokens: int) -> dict:
        greedy = params.temperature <= 0
        body = {"model": params.adapter or self._base, "prompt": tokens, "max_tokens": max(max_tokens, 1),
                "temperature": 0.0 if greedy else params.temperature, "top_p": 1.0 if greedy else params.top_p,
                "top_k": -1 if greedy else params.top_k, "stop_token_ids": sorted(self.stop_ids),
                "return_token_ids": True, "logprobs": max(1, params.top_logprobs), "skip_special_tokens": False,
                "repetition_penalty": 1.0, "cache_salt": f"fimkit:{params.adapter or SERVED_BASE}"}
        if params.seed is not None:
            body["seed"] = params.seed
        return body

    def _produce(self, gen: Generation, prompt: str, params: SamplingParams,
                 cancel: threading.Event | None) -> Iterator[TokenPiece]:
        if params.first_token is not None:
            raise FimkitError("the vllm engine cannot branch on a given first token (candidate ranking); "
                              "use --candidates 1")
        if self.process is not None:
            self.process.check()
        ids = ([self.tok.bos_id] if self.tok.bos_id is not None else []) + self.tok.encode(prompt)
        tokens, healing = self._back_off(prompt, ids, params.healing)
        tokens = fit_window(tokens, self.n_ctx, max(params.max_tokens, 1))
        stats = gen.stats
        stats.prompt_tokens = len(tokens)
        start, first = time.perf_counter(), None
        if cancel is not None and cancel.is_set():
            gen.stop_reason = "cancelled"
            return
        try:
            if healing is not None and params.max_tokens > 0:
                for piece in self._heal(gen, tokens, healing, params, cancel):
                    first = first or time.perf_counter()
                    yield piece
                if gen.stop_reason is not None or not healing.done:
                    gen.stop_reason = gen.stop_reason or "eos"
                    return
            budget = params.max_tokens - stats.predicted_tokens
            body = {**self._body(tokens, params, budget), "stream": True}
            context, generated, text = tokens[-1], [], ""
            lead = len(self.tok.decode([context]))
            with self._call(body, cancel) as resp:
                for chunk in self._events(resp):
                    choice = (chunk.get("choices") or [None])[0]
                    if not isinstance(choice, dict):
                        continue
                    new = choice.get("token_ids") or []
                    if not isinstance(new, list) or not all(
                            isinstance(t, int) and not isinstance(t, bool) and 0 <= t < self.tok.vocab_size for t in new):
                        raise BackendError(f"vLLM at {self.url} sent token ids that are not this model's: {new!r:.80}")
                    logprobs = choice.get("logprobs") or {}
                    lps = logprobs.get("token_logprobs") or []
                    tops = logprobs.get("top_logprobs") or []
                    for i, tok in enumerate(new):
                        if first is None:
                            first = time.perf_counter()
                            stats.prompt_ms = (first - start) * 1000
                        if tok in self.stop_ids or params.max_tokens <= 0:
                            gen.stop_reason = "eos" if params.max_tokens > 0 else "limit"
                            return
                        generated.append(tok)
                        stats.predicted_tokens += 1
                        full = self.tok.decode([context, *generated])[lead:]
                        piece = full[len(text):] if not full.endswith("\ufffd") else ""
                        text += piece
                        lp = lps[i] if i < len(lps) and isinstance(lps[i], (int, float)) else None
                        best = _tops(tops[i] if i < len(tops) else None, params.top_logprobs)
                        yield TokenPiece(piece, lp, tok, tuple((self.tok.decode([t]), v) for t, v in best),
                                         tuple(t for t, _ in best))
                        if self._done(gen, params, cancel):
                            return
                    if choice.get("finish_reason") and gen.stop_reason is None:
                        gen.stop_reason = "limit" if choice["finish_reason"] == "length" else "eos"
            if gen.stop_reason is None and cancel is not None and cancel.is_set():
                gen.stop_reason = "cancelled"
            if gen.stop_reason is None:
                gen.stop_reason = "limit" if params.max_tokens <= 0 else "eos"
        except Cancelled:
            gen.stop_reason = "cancelled"
        finally:
            end = time.perf_counter()
            stats.predicted_ms = (end - (first or end)) * 1000
            if first is None:
                stats.prompt_ms = (end - start) * 1000

    def _heal(self, gen: Generation, tokens: list[int], healing, params: SamplingParams,
              cancel: threading.Event | None) -> Iterator[TokenPiece]:
        """The tokens that re-spell the backed-off text (``heal_by_requests``): each step a request of one
        token that only the allowed tokens may be (``allowed_token_ids``)."""
        def step(tokens: list[int], allowed: list[int]) -> int | None:
            body = {**self._body(tokens, params, 1), "allowed_token_ids": sorted(allowed), "logprobs": None}
            with self._call(body, cancel) as resp:
                reply = read_json(resp, self.source)
            choices = reply.get("choices") if isinstance(reply, dict) else None
            ids = (choices[0].get("token_ids") if isinstance(choices, list) and choices
                   and isinstance(choices[0], dict) else None) or []
            return ids[0] if isinstance(ids, list) and ids and isinstance(ids[0], int) else None

        yield from heal_by_requests(gen, tokens, healing, step, lambda g: self._done(g, params, cancel))


def _tops(row, k: int) -> list[tuple[int, float]]:
    """A step's likeliest tokens from vLLM's ``{"token_id:N": logprob}`` (``--return-tokens-as-token-ids``)."""
    if not isinstance(row, dict) or k <= 0:
        return []
    out = []
    for key, value in row.items():
        if isinstance(key, str) and key.startswith("token_id:") and isinstance(value, (int, float)):
            try:
                out.append((int(key[9:]), float(value)))
            except ValueError:
                continue
    return sorted(out, key=lambda kv: -kv[1])[:k]
