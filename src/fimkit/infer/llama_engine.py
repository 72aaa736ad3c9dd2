"""In-process llama.cpp engine (llama-cpp-python): load a GGUF once, stream a middle.

The FIM format comes from the registry: the GGUF's own record or fim_* keys when it has
them, otherwise prefix-only. Prompts are tokenized piece by piece: sentinels placed by the
renderer become control tokens, user text is tokenized with ``special=False``, so no string
in user code (``<eos>``, ``<|fim_prefix|>``...) can become a control token. llama-cpp-python
keeps the KV cache of the longest common token prefix between consecutive prompts, which is
what makes keystroke-by-keystroke completion cheap when the prompt only grows at its end.
"""

from __future__ import annotations

import codecs
import os
import threading
import time
from collections.abc import Iterator

from fimkit.errors import FimkitError, require
from fimkit.formats import FimFormat, split_specials
from fimkit.infer.engine import Engine, EngineInfo, Generation, SamplingParams, TokenPiece, serving_format
from fimkit.models.resolve import ResolvedModel, inspect_model


class LlamaCppEngine(Engine):
    backend = "llama-cpp"

    def __init__(self, model: ResolvedModel, *, n_ctx: int = 2048, n_threads: int | None = None,
                 fim_format: FimFormat | None = None, logprobs: bool = True, cache_reuse: bool = True,
                 verbose: bool = False):
        if model.kind != "gguf":
            raise FimkitError(
                f"the llama.cpp engine needs a GGUF file, but {model.ref} is a Hugging Face directory; "
                "export it first (fimkit export) or use --backend transformers"
            )
        llama_cpp = require("llama_cpp", package="llama-cpp-python", extra="llama", purpose="llama.cpp inference")
        self.model_info = inspect_model(model)
        self.model = model
        self.name = model.name
        self.fim_format = fim_format or serving_format(self.model_info.detection)
        self.want_logprobs = logprobs
        self.cache_reuse = cache_reuse
        self.llm = llama_cpp.Llama(
            model_path=str(model.path), n_ctx=n_ctx, n_threads=n_threads or max(1, os.cpu_count() or 1),
            verbose=verbose,
        )
        self.n_ctx = self.llm.n_ctx()
        self._check_sentinels()
        self._stop_ids = self._find_stop_ids()

    def _check_sentinels(self) -> None:
        """A FIM format only works if each structural sentinel is one token of this model."""
        if not self.fim_format.is_fim:
            return
        for s in self.fim_format.family.structural():
            if len(self.llm.tokenize(s.encode("utf-8"), add_bos=False, special=True)) != 1:
                raise FimkitError(
                    f"{self.model.ref} has no token {s!r}, so it cannot be prompted as {self.fim_format.spec}; "
                    f"its own format is {self.model_info.detection.describe()}: drop the override, or fine-tune it "
                    "with FIM tokens first (fimkit train)"
                )

    def _find_stop_ids(self) -> set[int]:
        """End-of-generation tokens and the family's single-token stops (EOT, file separator...)."""
        ids = {self.llm.token_eos()}
        for s in self.fim_format.stop_strings():
            piece = self.llm.tokenize(s.encode("utf-8"), add_bos=False, special=True)
            if len(piece) == 1:
                ids.add(piece[0])
        return ids

    def count_tokens(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)) if text else 0

    def tokenize_prompt(self, prompt: str) -> list[int]:
        family = self.fim_format.family if self.fim_format.is_fim else None
        ids: list[int] = []
        for i, (piece, special) in enumerate(split_specials(prompt, family)):
            ids += self.llm.tokenize(piece.encode("utf-8"), add_bos=(i == 0), special=special)
        return ids or self.llm.tokenize(b"", add_bos=True, special=False)

    def _scores(self, token: int, top_n: int) -> tuple[float | None, tuple[tuple[str, float], ...]]:
        """The log-probability of ``token`` and, when asked, the ``top_n`` likeliest tokens with theirs."""
        if not self.want_logprobs:
            return None, ()
        import numpy as np

        try:  # the logits of the step that produced ``token`` (llama-cpp-python keeps no copy of them)
            logits = np.ctypeslib.as_array(self.llm._ctx.get_logits(), shape=(self.llm.n_vocab(),))
        except Exception:  # noqa: BLE001 - a binding without this accessor: no logprobs, still a completion
            return None, ()
        top = float(logits.max())
        norm = top + float(np.log(np.exp(logits - top).sum()))
        best: tuple[tuple[str, float], ...] = ()
        if top_n > 0:
            ids = np.argpartition(-logits, top_n)[:top_n]
            ids = ids[np.argsort(-logits[ids])]
            best = tuple((self.llm.detokenize([int(i)]).decode("utf-8", "replace"), float(logits[i]) - norm) for i in ids)
        return float(logits[token]) - norm, best

    def _evaluate(self, tokens: list[int], cancel: threading.Event | None) -> bool:
        """Evaluate ``tokens`` into the KV cache (reusing its common prefix) one batch at a time, so a
        cancel stops a long prompt within a batch. False when cancelled."""
        llm = self.llm
        n = self.cached_prefix(tokens)
        llm.n_tokens = n
        batch = max(1, llm.n_batch)
        for i in range(n, len(tokens), batch):
            if cancel is not None and cancel.is_set():
                return False
            llm.eval(tokens[i:i + batch])
        return True

    def cached_prefix(self, tokens: list[int]) -> int:
        """How many leading tokens of ``tokens`` are already in the KV cache."""
        n = 0
        for a, b in zip(self.llm._input_ids[: self.llm.n_tokens], tokens):
            if a != b:
                break
            n += 1
        return n

    def info(self) -> EngineInfo:
        mi = self.model_info
        return EngineInfo(self.backend, self.name, self.fim_format, self.n_ctx, mi.size_bytes or 0, mi.architecture,
                          mi.quantization)

    def _produce(self, gen: Generation, prompt: str, params: SamplingParams,
                 cancel: threading.Event | None) -> Iterator[TokenPiece]:
        tokens = self.tokenize_prompt(prompt)
        if not self.cache_reuse:
            self.llm.reset()  # forget the KV cache: every prompt is evaluated from its first token
        room = self.n_ctx - params.max_tokens
        if len(tokens) > room:  # fit_context keeps this from happening; never crash on it
            tokens = tokens[:1] + tokens[len(tokens) - room + 1 :]
        stats = gen.stats
        stats.prompt_tokens, stats.cached_tokens = len(tokens), self.cached_prefix(tokens)
        greedy = params.temperature <= 0
        if params.seed is not None:
            self.llm.set_seed(params.seed)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        start = time.perf_counter()
        first = None
        # The prompt but its last token goes in first, cancellable batch by batch; generate() then finds
        # it cached. max_tokens 0 is a warm-up (llama.cpp's n_predict 0): the whole prompt, no token.
        warm_up = params.max_tokens <= 0
        if not self._evaluate(tokens if warm_up else tokens[:-1], cancel):
            gen.stop_reason = "cancelled"
            stats.prompt_ms = (time.perf_counter() - start) * 1000
            return
        if warm_up:
            gen.stop_reason = "limit"
            stats.prompt_ms = (time.perf_counter() - start) * 1000
            return
        try:
            for tok in self.llm.generate(
                tokens, temp=max(params.temperature, 0.0), top_k=1 if greedy else params.top_k,
                top_p=1.0 if greedy else params.top_p, min_p=0.0, repeat_penalty=1.0,
            ):
                if first is None:
                    first = time.perf_counter()
                    stats.prompt_ms = (first - start) * 1000
                if tok in self._stop_ids:
                    gen.stop_reason = "eos"
                    break
                stats.predicted_tokens += 1
                logprob, best = self._scores(tok, params.top_logprobs)
                yield TokenPiece(decoder.decode(self.llm.detokenize([tok])), logprob, tok, best)
                if stats.predicted_tokens >= params.max_tokens:
                    gen.stop_reason = "limit"
                    break
                if cancel is not None and cancel.is_set():
                    gen.stop_reason = "cancelled"
                    break
        finally:
            end = time.perf_counter()
            if first is None:
                stats.prompt_ms = (end - start) * 1000
            stats.predicted_ms = (end - (first or end)) * 1000

    def close(self) -> None:
        llm, self.llm = self.llm, None
        if llm is not None:
            llm.close()
