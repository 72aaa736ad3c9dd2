"""In-process llama.cpp engine (llama-cpp-python): load a GGUF once, complete a middle.

The FIM format comes from the registry: the GGUF's own record or fim_* keys when it has
them, otherwise prefix-only. Prompts are tokenized piece by piece: sentinels placed by
the renderer become control tokens, user text is tokenized with ``special=False``, so no
string in user code (``<eos>``, ``<|fim_prefix|>``...) can become a control token.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from fimkit.errors import FimkitError, require
from fimkit.formats import FimFormat, Sanitizer, split_specials
from fimkit.models.resolve import ResolvedModel, inspect_model
from fimkit.serve.postprocess import heal_leading_blanks, hold_trailing_blanks, postprocess


@dataclass(frozen=True)
class GenerationConfig:
    """Sampling and length settings for one completion.

    max_tokens: most tokens to generate for the middle.
    temperature: 0 means greedy (deterministic), the right default for completion.
    top_p: nucleus sampling cut when temperature > 0.
    single_line: stop at the first newline (editors ask for this when text is right of the cursor).
    """

    max_tokens: int = 64
    temperature: float = 0.0
    top_p: float = 0.95
    single_line: bool = False


@dataclass(frozen=True)
class Completion:
    middle: str  # after post-processing: what an editor inserts
    raw: str  # what the model generated, before post-processing
    fim_format: str
    prompt_tokens: int
    completion_tokens: int
    prompt_ms: float  # time to first token (prompt evaluation + first sample)
    total_ms: float
    finish_reason: str

    @property
    def tokens_per_second(self) -> float:
        gen_ms = self.total_ms - self.prompt_ms
        return (self.completion_tokens - 1) / (gen_ms / 1000) if self.completion_tokens > 1 and gen_ms > 0 else 0.0


class LlamaCppEngine:
    """A loaded GGUF model that completes middles. Heavy: construct once, reuse."""

    def __init__(
        self,
        model: ResolvedModel,
        *,
        n_ctx: int = 2048,
        n_threads: int | None = None,
        fim_format: FimFormat | None = None,
        verbose: bool = False,
    ):
        if model.kind != "gguf":
            raise FimkitError(
                f"the llama.cpp engine needs a GGUF file, but {model.ref} is a Hugging Face directory; "
                "export it first (fimkit export) or use the transformers backend"
            )
        llama_cpp = require("llama_cpp", package="llama-cpp-python", extra="llama", purpose="llama.cpp inference")
        info = inspect_model(model)
        if fim_format is None:
            det = info.detection
            fim_format = FimFormat(det.family, det.layout or det.family.default_layout) if det.is_fim else FimFormat(None, "prefix-only")
        self.model, self.info, self.fim_format = model, info, fim_format
        self.llm = llama_cpp.Llama(
            model_path=str(model.path),
            n_ctx=n_ctx,
            n_threads=n_threads or max(1, os.cpu_count() or 1),
            verbose=verbose,
        )
        self._check_sentinels()

    def _check_sentinels(self) -> None:
        """A FIM format only works if each structural sentinel is one token of this model."""
        if not self.fim_format.is_fim:
            return
        for s in self.fim_format.family.structural():
            if len(self.llm.tokenize(s.encode("utf-8"), add_bos=False, special=True)) != 1:
                raise FimkitError(
                    f"{self.model.ref} has no token {s!r}, so it cannot be prompted as {self.fim_format.spec}; "
                    f"its own format is {self.info.detection.describe()}: drop the override, or fine-tune it "
                    "with FIM tokens first (fimkit train)"
                )

    def tokenize_prompt(self, prompt: str) -> list[int]:
        ids: list[int] = []
        for i, (piece, special) in enumerate(split_specials(prompt, self.fim_format.family if self.fim_format.is_fim else None)):
            ids += self.llm.tokenize(piece.encode("utf-8"), add_bos=(i == 0), special=special)
        if not ids:
            ids = self.llm.tokenize(b"", add_bos=True, special=False)
        return ids

    def _stop_ids(self) -> set[int]:
        """Token ids that end a middle: end-of-generation tokens and the family's single-token stops."""
        if getattr(self, "_stop_id_cache", None) is None:
            ids = {self.llm.token_eos()}
            for s in self.fim_format.stop_strings():
                piece = self.llm.tokenize(s.encode("utf-8"), add_bos=False, special=True)
                if len(piece) == 1:
                    ids.add(piece[0])
            self._stop_id_cache = ids
        return self._stop_id_cache

    def complete(self, prefix: str, suffix: str, config: GenerationConfig = GenerationConfig()) -> Completion:
        # Only the end of the prompt may move blanks: PSM/SPM-dolma prompts end after the middle
        # sentinel, where holding blanks back would change what the model was trained on.
        held = ""
        prompt_prefix = prefix
        if self.fim_format.layout in ("prefix-only", "spm-paper"):
            prompt_prefix, held = hold_trailing_blanks(prefix)
        prompt = self.fim_format.render(prompt_prefix, suffix)
        tokens = self.tokenize_prompt(prompt)
        budget = self.llm.n_ctx() - config.max_tokens
        if len(tokens) > budget:
            # Keep the end of the prompt (nearest the cursor); the context-budget rules of the server
            # cut at line boundaries before this point is ever reached.
            tokens = tokens[-budget:]
        stop_strings = ["\n"] if config.single_line else []
        stop_ids = self._stop_ids()
        start = time.perf_counter()
        first: float | None = None
        out: list[int] = []
        text, finish = "", "length"
        greedy = config.temperature <= 0
        for tok in self.llm.generate(
            tokens,
            temp=config.temperature,
            top_k=1 if greedy else 40,
            top_p=1.0 if greedy else config.top_p,
            min_p=0.0,
            repeat_penalty=1.0,
        ):
            if first is None:
                first = time.perf_counter()
            if tok in stop_ids:
                finish = "stop"
                break
            out.append(tok)
            text = self.llm.detokenize(out).decode("utf-8", errors="ignore")
            cut = min((text.find(s) for s in stop_strings if s in text), default=-1)
            if cut >= 0:
                text, finish = text[:cut], "stop"
                break
            if len(out) >= config.max_tokens:
                break
        end = time.perf_counter()
        count = len(out)
        raw = heal_leading_blanks(Sanitizer.unescape(text), held)
        middle = postprocess(raw, prefix, suffix)
        return Completion(
            middle=middle, raw=raw, fim_format=self.fim_format.spec, prompt_tokens=len(tokens),
            completion_tokens=count, prompt_ms=((first or end) - start) * 1000, total_ms=(end - start) * 1000,
            finish_reason=finish,
        )
