"""The engine interface every backend implements, and the request/result types of a completion.

An engine owns a model and its tokenizer: it counts tokens (for the context budget) and
generates tokens for a rendered prompt, each call returning its own ``Generation``. Everything
else (budget, rendering, post-processing, checks) is shared in ``fimkit.infer.complete``, so
every backend, every HTTP API, the CLI, the LSP and evaluation give the same middle for the
same request.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from fimkit.errors import FimkitError
from fimkit.formats import FimFormat
from fimkit.infer.context.anchor import Anchors
from fimkit.infer.engines.healing import BackOff
from fimkit.models.profile import ModelProfile, profile_for


@dataclass(frozen=True)
class TokenPiece:
    text: str  # the text this token adds (may be "" while a UTF-8 character is incomplete)
    logprob: float | None = None
    token_id: int | None = None
    top: tuple[tuple[str, float], ...] = ()  # the likeliest tokens at this step (when asked for)
    top_ids: tuple[int, ...] = ()  # ...and their ids, in the same order
    healing: bool = False  # a token that re-spells backed-off prompt text (its logprob: the allowed set's)


@dataclass
class GenerationStats:
    prompt_tokens: int = 0
    cached_tokens: int = 0  # prompt tokens whose KV cache was reused from the previous request
    prompt_ms: float = 0.0  # until the first token
    predicted_ms: float = 0.0  # from the first token to the end
    predicted_tokens: int = 0
    drafted_tokens: int = 0  # prompt-lookup decoding: tokens proposed from the context
    accepted_tokens: int = 0  # ...and kept (each one a decoding step saved)
    healed_chars: int = 0  # prompt characters backed off and re-spelled by the model (token healing)


@dataclass(frozen=True)
class SamplingParams:
    """max_tokens: most tokens for the middle; 0 evaluates the prompt into the cache and generates
    nothing (a warm-up). temperature 0 is greedy. seed: reproducible sampling. top_logprobs: how
    many of the likeliest tokens each step reports (OpenAI's ``logprobs``). first_token: a token id the
    generation starts with instead of choosing one (how candidate ranking branches; after healing).
    healing: how far to back the prompt off and heal it (``fimkit.infer.engines.healing``); engines
    that cannot (``Engine.can_heal`` False) ignore it. adapter: which of the engine's LoRA adapters this
    generation runs with (None: the base alone; engines that serve several, ``Engine.adapters``).
    affinity: whose prompt this is (a typist and a file): an engine with several prompt caches keeps one
    name's prompts on the same one, so the next keystroke's prompt finds its start already evaluated."""

    max_tokens: int = 128
    temperature: float = 0.0
    top_p: float = 0.95
    top_k: int = 40
    seed: int | None = None
    top_logprobs: int = 0
    first_token: int | None = None
    healing: BackOff = BackOff()
    adapter: str | None = None
    affinity: str | None = None


STOP_REASONS = ("eos", "limit", "cancelled", "closed")


def fit_window(tokens: list[int], n_ctx: int, reserve: int) -> list[int]:
    """``tokens`` with room for ``reserve`` more in an ``n_ctx`` window: the first (BOS) and the latest
    kept. The context budget keeps prompts within it; an engine never crashes or sends what cannot fit."""
    room = n_ctx - reserve
    return tokens if len(tokens) <= room else tokens[:1] + tokens[len(tokens) - room + 1:]


class Generation:
    """One call's output: iterate it for the tokens; when iteration ends, ``stats`` and
    ``stop_reason`` say what happened ("eos": the model ended it; "limit": ``max_tokens``;
    "cancelled": the cancel event; "closed": the caller stopped iterating). Each call gets its own
    object, so nothing about a call lives on the long-lived engine."""

    def __init__(self, produce: Callable[[Generation], Iterator[TokenPiece]]):
        self.stats = GenerationStats()
        self.stop_reason: str | None = None
        self._pieces = produce(self)

    def __iter__(self) -> Generation:
        return self

    def __next__(self) -> TokenPiece:
        return next(self._pieces)

    def close(self) -> None:
        self._pieces.close()
        if self.stop_reason is None:
            self.stop_reason = "closed"

    def __enter__(self) -> Generation:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass(frozen=True)
class EngineInfo:
    """What a loaded engine serves: shown by /health, /v1/models, /api/tags, /api/show."""

    backend: str
    model: str
    fim_format: FimFormat
    n_ctx: int
    size_bytes: int = 0
    architecture: str | None = None
    quantization: str | None = None
    healing: bool = False  # whether a cursor mid-word is healed (the engine exposes logits)

    @property
    def mode(self) -> str:
        return "fim" if self.fim_format.is_fim else "prefix-only"

    def as_dict(self) -> dict:
        return {"backend": self.backend, "model": self.model, "fim_format": self.fim_format.spec, "mode": self.mode,
                "n_ctx": self.n_ctx, "healing": self.healing}




class Engine(ABC):
    """A loaded model that generates tokens. Not thread-safe: the server runs one request at a time."""

    backend: str = "?"
    name: str = "?"
    fim_format: FimFormat
    n_ctx: int = 2048
    # Most prompt tokens per completion (None: the window less the middle). Cold latency grows with
    # it one for one while quality saturates, so backends set a default per device class.
    prompt_tokens: int | None = None
    # Candidate middles ranked per completion when a request does not say (fimkit.infer.candidates).
    candidates: int = 1
    # Whether the engine can heal a prompt that ends mid-word (it sees logits and the vocabulary):
    # ``SamplingParams.healing`` is ignored by engines that cannot.
    can_heal: bool = False
    # How far prompts are backed off and healed (a policy of fimkit.infer.engines.healing), for
    # engines that can: set by the engine's settings, overridden per request.
    healing: str = "off"
    # Requests generated at once (llama-server's slots); the server runs this many workers.
    parallel: int = 1
    # LoRA adapters a request may choose by name (SamplingParams.adapter).
    adapters: tuple[str, ...] = ()

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes as plain text (no BOS)."""

    def generate(self, prompt: str, params: SamplingParams, cancel: threading.Event | None = None) -> Generation:
        """The tokens of a rendered prompt, until EOS, ``max_tokens``, ``cancel`` or the caller stops."""
        if params.adapter is not None and params.adapter not in self.adapters:
            raise FimkitError(f"no adapter {params.adapter!r} on the {self.backend} engine; adapters chosen per "
                              "request need --backend llama-server or vllm with --adapter NAME=PATH")
        return Generation(lambda gen: self._produce(gen, prompt, params, cancel))

    @abstractmethod
    def _produce(self, gen: Generation, prompt: str, params: SamplingParams,
                 cancel: threading.Event | None) -> Iterator[TokenPiece]:
        """Yield the tokens; fill ``gen.stats`` and set ``gen.stop_reason`` before returning.
        Check ``cancel`` between tokens."""

    def score(self, prompt: str, continuation: str, *, end: bool = False,
              cancel: threading.Event | None = None) -> float | None:
        """The log-likelihood of ``continuation`` (plain text) right after the rendered ``prompt``, and
        of the format's end token after it when ``end``; None when cancelled. Candidate ranking needs it."""
        raise FimkitError(f"the {self.backend} backend cannot score text, so it cannot rank candidates; "
                          "use --candidates 1 (or n 1), or the llama-cpp or transformers backend")

    def info(self) -> EngineInfo:
        return EngineInfo(self.backend, self.name, self.fim_format, self.n_ctx, healing=self.heals)

    @property
    def anchors(self) -> Anchors:
        """Where typing began in recent prompts (``fimkit.infer.context.anchor``)."""
        if "_anchors" not in self.__dict__:
            self._anchors = Anchors()
        return self._anchors

    @property
    def profile(self) -> ModelProfile:
        """How this model is prompted and its middles shaped (``fimkit.models.profile``): its family's,
        unless one was set (a benchmark measuring another choice)."""
        if self.__dict__.get("_profile") is not None:
            return self._profile
        fmt = self.fim_format
        return profile_for(fmt.family.name if fmt.is_fim else None)

    @profile.setter
    def profile(self, profile: ModelProfile) -> None:
        self._profile = profile

    @property
    def heals(self) -> bool:
        return self.can_heal and self.healing != "off"

    @staticmethod
    def _done(gen: Generation, params: SamplingParams, cancel: threading.Event | None) -> bool:
        """After a token: the limit is reached or the caller cancelled (the reason is recorded)."""
        if gen.stats.predicted_tokens >= params.max_tokens:
            gen.stop_reason = "limit"
        elif cancel is not None and cancel.is_set():
            gen.stop_reason = "cancelled"
        else:
            return False
        return True

    def close(self) -> None:  # noqa: B027 - optional: most engines hold nothing to free early
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
    min_shown_logprob: float | None = None  # shaping: cut where the middle becomes unlikely (ShapeConfig)
    parse_check: bool = True
    language: str | None = None
    filename: str | None = None
    candidates: int | None = None  # middles to rank (None: the engine's default)
    healing: str | None = None  # token-healing policy (None: the engine's; "off" turns it off)


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
    pieces: list[TokenPiece] = field(default_factory=list)  # every generated token, as the engine gave it
    stats: GenerationStats = field(default_factory=GenerationStats)
    truncated: bool = False  # the prompt did not fit and was cut
    cancelled: bool = False
    trimmed_by_parse: bool = False
    context: tuple[tuple[str, str], ...] = ()  # repository chunks the prompt showed, as (path, text)
    score: float | None = None  # candidate ranking: log-likelihood of the middle and the suffix's start
    alternatives: list[CompletionResult] = field(default_factory=list)  # the other candidates, best first
