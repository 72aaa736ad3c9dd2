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

from fimkit.console import held_library_output
from fimkit.errors import FimkitError, require
from fimkit.formats import FimFormat, split_specials
from fimkit.infer.engines.contract import (
    Engine,
    EngineInfo,
    Generation,
    SamplingParams,
    TokenPiece,
    fit_window,
)
from fimkit.infer.engines.healing import BackOff, Healing, VocabIndex, allowed_mass, tokens_to_back_off
from fimkit.infer.engines.llama_cpp_kv import KvCache
from fimkit.infer.engines.lookup import lookup_draft
from fimkit.infer.engines.prompt_cache import PromptStates
from fimkit.models.adapter import check_adapter, find_adapter
from fimkit.models.profile import served_format
from fimkit.models.resolve import ResolvedModel, inspect_model

# Most draft tokens per step of prompt-lookup decoding.
DRAFT_TOKENS = 8
# Scored positions per batch when ranking candidates: each needs a row of logits (1 MB for Gemma's
# 262k-token vocabulary), so batches stay small.
SCORE_CHUNK = 32


def gpu_offload(llama_cpp) -> bool:
    """Whether this llama.cpp build can offload to a GPU."""
    try:
        return bool(llama_cpp.llama_supports_gpu_offload())
    except (AttributeError, OSError):  # an older binding: assume the CPU build
        return False


class LlamaCppEngine(KvCache, Engine):
    backend = "llama-cpp"
    can_heal = True

    def __init__(self, model: ResolvedModel, *, n_ctx: int = 2048, n_threads: int | None = None,
                 fim_format: FimFormat | None = None, logprobs: bool = True, cache_reuse: bool = True,
                 prompt_caches: int = 4, lookup_decoding: bool = False, lora: str | None = None,
                 verbose: bool = False):
        if model.kind != "gguf":
            raise FimkitError(
                f"the llama.cpp engine needs a GGUF file, but {model.ref} is a Hugging Face directory; "
                "export it first (fimkit export) or use --backend transformers"
            )
        llama_cpp = require("llama_cpp", package="llama-cpp-python", extra="llama", purpose="llama.cpp inference")
        self._llama = llama_cpp
        self.model_info = inspect_model(model)
        self.model = model
        self.name = model.name
        self.fim_format = fim_format or served_format(self.model_info.detection)
        self.want_logprobs = logprobs
        self.cache_reuse = cache_reuse
        self.lora = find_adapter(lora) if lora else model.lora  # --lora, else an adapted folder's own adapter
        if self.lora is not None:
            check_adapter(self.lora, model.path)  # llama.cpp would crash later on a bad one
        if lora:
            self.name = f"{model.name}+{self.lora.stem}"
        self.llm = self._load(llama_cpp, n_ctx, n_threads or max(1, os.cpu_count() or 1), verbose)
        self.n_ctx = self.llm.n_ctx()
        self.prompt_tokens = self.default_prompt_tokens(llama_cpp)
        self.states = PromptStates(prompt_caches if cache_reuse else 0)
        self.lookup_decoding = lookup_decoding
        self._check_sentinels()
        self._stop_ids = self._find_stop_ids()
        self._end_id = self._find_end_id()
        self._vocab: VocabIndex | None = None

    def _load(self, llama_cpp, n_ctx: int, n_threads: int, verbose: bool):
        """The llama.cpp model and context. Its set-up lines (even with verbose off, llama.cpp prints
        some, such as the sliding-window cache notice) are shown only if loading fails."""
        kwargs = {"model_path": str(self.model.path), "n_ctx": n_ctx, "n_threads": n_threads,
                  "n_gpu_layers": -1 if gpu_offload(llama_cpp) else 0}  # every layer on a GPU where there is one
        if self.lora is not None:
            kwargs["lora_path"] = str(self.lora)
        if verbose:
            return llama_cpp.Llama(**kwargs, verbose=True)
        with held_library_output() as log:
            try:
                return llama_cpp.Llama(**kwargs, verbose=False)
            except (ValueError, RuntimeError, OSError) as exc:
                said = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-8:]
                adapter = f" and the adapter {self.lora} (made for another base model?)" if self.lora else ""
                raise FimkitError(f"llama.cpp could not load {self.model.path}{adapter} with n_ctx {n_ctx}: {exc}"
                                  + ("\n" + "\n".join(said) if said else "")) from exc

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

    def _find_end_id(self) -> int:
        """The token that ends a middle: the family's EOT for a FIM format, else end of sequence."""
        if self.fim_format.is_fim:
            piece = self.llm.tokenize(self.fim_format.family.eot.encode("utf-8"), add_bos=False, special=True)
            if len(piece) == 1:
                return piece[0]
        return self.llm.token_eos()

    def count_tokens(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)) if text else 0

    def tokenize_prompt(self, prompt: str) -> list[int]:
        return self._prompt_tokens(prompt)[0]

    def _prompt_tokens(self, prompt: str) -> tuple[list[int], int]:
        """The prompt's tokens, and how many of the last ones are plain text (its last piece when that
        is user text, not a sentinel; BOS not counted): the tokens healing may back off."""
        family = self.fim_format.family if self.fim_format.is_fim else None
        ids: list[int] = []
        plain = 0
        for i, (piece, special) in enumerate(split_specials(prompt, family)):
            part = self.llm.tokenize(piece.encode("utf-8"), add_bos=(i == 0), special=special)
            ids += part
            plain = 0 if special else len(part) - (1 if i == 0 and part and part[0] == self.llm.token_bos() else 0)
        return (ids, plain) if ids else (self.llm.tokenize(b"", add_bos=True, special=False), 0)

    def vocab_index(self) -> VocabIndex:
        """Every token's bytes, sorted for healing's lookups; built on first use (~1 s for Gemma's
        262k tokens), then kept."""
        if self._vocab is None:
            import ctypes

            llama_cpp, vocab = self._llama, self.llm._model.vocab
            buf = ctypes.create_string_buffer(256)
            pieces = []
            for token in range(self.llm.n_vocab()):
                n = llama_cpp.llama_token_to_piece(vocab, token, buf, 256, 0, False)
                pieces.append(buf.raw[:n] if n > 0 else b"")
            self._vocab = VocabIndex(pieces)
        return self._vocab

    def _back_off(self, prompt: str, back_off: BackOff) -> tuple[list[int], Healing | None]:
        """The prompt's tokens without the ones healing re-spells, and the healing to do (None: none)."""
        tokens, plain = self._prompt_tokens(prompt)
        if not back_off:
            return tokens, None
        index = self.vocab_index()
        k = tokens_to_back_off([index.pieces[t] for t in tokens[len(tokens) - plain:]], plain, back_off)
        text = b"".join(index.pieces[t] for t in tokens[len(tokens) - k:]) if k else b""
        # Only when the removed tokens spell the prompt's end exactly (a tokenizer that adds a space
        # prefix, say, would make the middle start with text the user never typed).
        if not text or k >= len(tokens) or not prompt.encode("utf-8").endswith(text):
            return tokens, None
        return tokens[:-k], Healing(index, text)

    def _heal(self, gen: Generation, tokens: list[int], healing: Healing, params: SamplingParams,
              cancel: threading.Event | None, decoder) -> Iterator[TokenPiece]:
        """Decode the tokens that re-spell the backed-off text, each chosen among the allowed ones;
        ``tokens`` grows by them (the last one not yet in the cache, as generation expects)."""
        import numpy as np

        rng = np.random.default_rng(params.seed)
        gen.stats.healed_chars = len(healing.backed_off.decode("utf-8", "replace"))
        row = self._decode([tokens[-1]])[0]
        while True:
            allowed = np.asarray(healing.allowed(), dtype=np.int64)
            if not len(allowed):  # nothing spells it (cannot happen with the prompt's own tokens): stop
                return
            scores = row[allowed]
            if params.temperature <= 0:
                tok = int(allowed[int(scores.argmax())])
            else:
                p = np.exp((scores - scores.max()) / params.temperature)
                tok = int(rng.choice(allowed, p=p / p.sum()))
            mass = allowed_mass(row, allowed) if self.want_logprobs else None
            text = decoder.decode(healing.take(tok))
            gen.stats.predicted_tokens += 1
            tokens.append(tok)
            yield TokenPiece(text, mass, tok, healing=True)
            if healing.done or self._done(gen, params, cancel):
                return
            row = self._decode([tok])[0]

    def _scores(self, token: int, top_n: int, logits=None) -> tuple[float | None, tuple[tuple[str, float], ...], tuple[int, ...]]:
        """The log-probability of ``token`` and, when asked, the ``top_n`` likeliest tokens with theirs
        and their ids. ``logits``: the row that predicted ``token`` (default: the last step's)."""
        if not self.want_logprobs:
            return None, (), ()
        import numpy as np

        if logits is None:
            try:  # the logits of the step that produced ``token`` (llama-cpp-python keeps no copy of them)
                logits = np.ctypeslib.as_array(self.llm._ctx.get_logits(), shape=(self.llm.n_vocab(),))
            except Exception:  # noqa: BLE001 - a binding without this accessor: no logprobs, still a completion
                return None, (), ()
        top = float(logits.max())
        norm = top + float(np.log(np.exp(logits - top).sum()))
        best: tuple[tuple[str, float], ...] = ()
        best_ids: tuple[int, ...] = ()
        if top_n > 0:
            ids = np.argpartition(-logits, top_n)[:top_n]
            ids = ids[np.argsort(-logits[ids])]
            best = tuple((self.llm.detokenize([int(i)]).decode("utf-8", "replace"), float(logits[i]) - norm) for i in ids)
            best_ids = tuple(int(i) for i in ids)
        return float(logits[token]) - norm, best, best_ids

    def default_prompt_tokens(self, llama_cpp) -> int:
        """Prompt budget by device class, the model profile's: cold latency grows with every prompt
        token on a CPU while quality saturates; a GPU evaluates a prompt 50-100x faster."""
        return self.profile.budget_tokens(gpu_offload(llama_cpp))

    def info(self) -> EngineInfo:
        mi = self.model_info
        return EngineInfo(self.backend, self.name, self.fim_format, self.n_ctx, mi.size_bytes or 0, mi.architecture,
                          mi.quantization, healing=self.heals)

    def _produce(self, gen: Generation, prompt: str, params: SamplingParams,
                 cancel: threading.Event | None) -> Iterator[TokenPiece]:
        tokens, healing = self._back_off(prompt, params.healing)
        if not self.cache_reuse:
            self.llm.reset()  # forget the KV cache: every prompt is evaluated from its first token
        tokens = fit_window(tokens, self.n_ctx, params.max_tokens)
        self._resume(tokens)
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
        if healing is not None:
            for piece in self._heal(gen, tokens, healing, params, cancel, decoder):
                if first is None:
                    first = time.perf_counter()
                    stats.prompt_ms = (first - start) * 1000
                yield piece
            if gen.stop_reason is not None or not healing.done:
                gen.stop_reason = gen.stop_reason or "eos"
                self._time(stats, start, first)
                return
        if greedy and self.lookup_decoding and params.first_token is None:
            yield from self._greedy_lookup(gen, tokens, params, cancel, decoder, start)
            return
        try:
            if params.first_token is not None:  # a candidate branch: the first token is given, not chosen
                rows = self._decode([tokens[-1]])
                first = time.perf_counter()
                stats.prompt_ms = (first - start) * 1000
                piece = self._piece(gen, params.first_token, params, decoder, rows[0])
                if piece is None:
                    return
                yield piece
                if self._done(gen, params, cancel):
                    return
                tokens = [*tokens, params.first_token]
            for tok in self.llm.generate(
                tokens, temp=max(params.temperature, 0.0), top_k=1 if greedy else params.top_k,
                top_p=1.0 if greedy else params.top_p, min_p=0.0, repeat_penalty=1.0,
            ):
                if first is None:
                    first = time.perf_counter()
                    stats.prompt_ms = (first - start) * 1000
                piece = self._piece(gen, tok, params, decoder)
                if piece is None:
                    break
                yield piece
                if self._done(gen, params, cancel):
                    break
        finally:
            self._time(stats, start, first)

    def score(self, prompt: str, continuation: str, *, end: bool = False,
              cancel: threading.Event | None = None) -> float | None:
        """One batch after the cached prompt, logits only at the scored positions: the last prompt
        token's row predicts the first continuation token, and so on."""
        import numpy as np

        tokens = self.tokenize_prompt(prompt)
        cont = self.llm.tokenize(continuation.encode("utf-8"), add_bos=False, special=False) if continuation else []
        cont = (cont + [self._end_id] if end else cont)[: max(0, self.n_ctx - len(tokens))]
        if not cont:
            return 0.0
        self._resume(tokens)
        if not self._evaluate(tokens[:-1], cancel):
            return None
        feed, total = [tokens[-1], *cont[:-1]], 0.0
        for i in range(0, len(feed), SCORE_CHUNK):
            if cancel is not None and cancel.is_set():
                return None
            rows = self._decode(feed[i:i + SCORE_CHUNK])
            want = np.asarray(cont[i:i + SCORE_CHUNK])
            top = rows.max(axis=1)
            norm = top + np.log(np.exp(rows - top[:, None]).sum(axis=1))
            total += float((rows[np.arange(len(want)), want] - norm).sum())
        return total

    def _greedy_lookup(self, gen: Generation, tokens: list[int], params: SamplingParams,
                       cancel: threading.Event | None, decoder, start: float) -> Iterator[TokenPiece]:
        """Greedy decoding with prompt-lookup drafts (``fimkit.infer.engines.lookup``): each step scores the
        next token and a draft in one batch and keeps the draft up to its first miss. The tokens are
        those of plain greedy decoding (up to batch rounding)."""
        stats, llm = gen.stats, self.llm
        history = list(tokens)
        first = None
        try:
            rows = self._decode([tokens[-1]])
            first = time.perf_counter()
            stats.prompt_ms = (first - start) * 1000
            row = rows[0]
            while True:
                tok = int(row.argmax())
                draft: list[int] = []
                accepted = -1
                rows = None
                while True:  # emit ``tok``, then the draft tokens the model agrees with
                    piece = self._piece(gen, tok, params, decoder, row)
                    if piece is None:
                        return
                    yield piece
                    history.append(tok)
                    if self._done(gen, params, cancel):
                        return
                    if rows is None:  # ``tok`` is not in the cache yet: score it with a draft
                        draft = lookup_draft(history, min(DRAFT_TOKENS, params.max_tokens - stats.predicted_tokens))
                        rows = self._decode([tok, *draft])
                        stats.drafted_tokens += len(draft)
                    accepted += 1
                    row = rows[accepted]
                    if accepted >= len(draft) or int(row.argmax()) != draft[accepted]:
                        break
                    tok = draft[accepted]
                    stats.accepted_tokens += 1
                llm.n_tokens -= len(draft) - accepted  # drop the rejected draft from the cache
        finally:
            self._time(stats, start, first)

    def _piece(self, gen: Generation, tok: int, params: SamplingParams, decoder, logits=None) -> TokenPiece | None:
        """What ``tok`` adds, with its scores; None when it is an end token (and the generation ends)."""
        if tok in self._stop_ids:
            gen.stop_reason = "eos"
            return None
        gen.stats.predicted_tokens += 1
        logprob, best, best_ids = self._scores(tok, params.top_logprobs, logits)
        return TokenPiece(decoder.decode(self.llm.detokenize([tok])), logprob, tok, best, best_ids)

    @staticmethod
    def _time(stats, start: float, first: float | None) -> None:
        end = time.perf_counter()
        if first is None:
            stats.prompt_ms = (end - start) * 1000
        stats.predicted_ms = (end - (first or end)) * 1000

    def close(self) -> None:
        llm, self.llm = self.llm, None
        if llm is not None:
            llm.close()
