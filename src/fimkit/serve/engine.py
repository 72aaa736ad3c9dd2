"""The engine interface every backend implements, and the request/result types of a completion.

An engine owns a model and its tokenizer: it counts tokens (for the context budget) and
streams tokens for a rendered prompt. Everything else (budget, rendering, post-processing,
checks) is shared in ``fimkit.serve.complete``, so every backend and every HTTP API gives
the same middle for the same request.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field

from fimkit.formats import FimFormat


@dataclass(frozen=True)
class TokenPiece:
    text: str  # the text this token adds (may be "" while a UTF-8 character is incomplete)
    logprob: float | None = None
    token_id: int | None = None


@dataclass
class GenerationStats:
    prompt_tokens: int = 0
    cached_tokens: int = 0  # prompt tokens whose KV cache was reused from the previous request
    prompt_ms: float = 0.0  # until the first token
    predicted_ms: float = 0.0  # from the first token to the end
    predicted_tokens: int = 0


@dataclass(frozen=True)
class SamplingParams:
    """max_tokens: most tokens for the middle. temperature 0 is greedy. seed: reproducible sampling."""

    max_tokens: int = 128
    temperature: float = 0.0
    top_p: float = 0.95
    top_k: int = 40
    seed: int | None = None


class Engine(ABC):
    """A loaded model that streams tokens. Not thread-safe: the server runs one request at a time."""

    backend: str = "?"
    name: str = "?"
    fim_format: FimFormat
    n_ctx: int = 2048

    def __init__(self):
        self.last_stats = GenerationStats()

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes as plain text (no BOS)."""

    @abstractmethod
    def stream(self, prompt: str, params: SamplingParams, cancel: threading.Event | None = None) -> Iterator[TokenPiece]:
        """Yield generated tokens for a rendered prompt until EOS, ``max_tokens`` or the caller stops
        iterating; sets ``last_stats``. Checks ``cancel`` between tokens."""

    def describe(self) -> dict:
        return {
            "backend": self.backend, "model": self.name, "fim_format": self.fim_format.spec,
            "mode": "fim" if self.fim_format.is_fim else "prefix-only", "n_ctx": self.n_ctx,
        }

    def close(self) -> None:
        """Free the model."""


@dataclass(frozen=True)
class CompletionRequest:
    """One completion, whatever API it arrived through.

    prefix / suffix: the code before and after the cursor.
    middle_start: text already typed on the cursor's line that the prompt places after the
        middle sentinel (llama.cpp /infill's ``prompt``; keeps the prefix stable for cache reuse).
    extra: repository context as (filename, text) chunks, used when the budget allows.
    stop: extra stop strings. t_max_predict_ms: once a line is complete and this much time has
        passed, stop. language / filename: for syntax-aware budgeting and the parse check.
    """

    prefix: str
    suffix: str = ""
    middle_start: str = ""
    extra: tuple[tuple[str, str], ...] = ()
    sampling: SamplingParams = field(default_factory=SamplingParams)
    stop: tuple[str, ...] = ()
    n_indent: int | None = None
    t_max_predict_ms: int | None = None
    single_line: bool | None = None
    min_mean_logprob: float | None = None
    parse_check: bool = True
    language: str | None = None
    filename: str | None = None


@dataclass
class CompletionResult:
    text: str  # the middle, after post-processing: never includes the suffix
    raw: str  # what the model generated
    stop_type: str  # "eos", "limit" (max tokens or time), "word" (a stop string) or a shaping reason
    stopping_word: str = ""
    gated: str | None = None
    mean_logprob: float | None = None
    logprobs: list[float] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    stats: GenerationStats = field(default_factory=GenerationStats)
    truncated: bool = False  # the prompt did not fit and was cut
    cancelled: bool = False
    trimmed_by_parse: bool = False
