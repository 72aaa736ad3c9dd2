"""Request bodies of the APIs fimkit speaks, and their translation into one CompletionRequest.

Each model mirrors what the anchor's clients send (unknown fields are accepted and ignored, as
the anchors do); ``to_request`` maps it onto fimkit's single request type, so the OpenAI,
llama.cpp, Ollama, Tabby and fimkit endpoints all share budget, rendering and post-processing.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from fimkit.formats import FIM_LAYOUTS, FimFormat, families
from fimkit.serve.engine import CompletionRequest, SamplingParams


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow")


class FimkitOptions(_Body):
    """fimkit's own knobs, accepted on every endpoint."""

    language: str | None = None
    filename: str | None = None
    min_confidence: float | None = Field(None, description="mean token log-probability below which nothing is shown")
    single_line: bool | None = None
    parse_check: bool = True


class SeedBody(FimkitOptions):
    """POST /complete: the seed's API."""

    prefix: str
    suffix: str = ""
    max_tokens: int | None = Field(None, ge=1)
    temperature: float = Field(0.0, ge=0.0, le=2.0)


class OpenAIBody(FimkitOptions):
    """POST /v1/completions (OpenAI), or Tabby's shape when ``segments`` is present."""

    model: str | None = None
    prompt: str | list[str] = ""
    suffix: str | None = None
    max_tokens: int | None = Field(None, ge=1)
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    top_p: float = Field(0.95, gt=0.0, le=1.0)
    n: int = Field(1, ge=1, le=8)
    stream: bool = False
    stop: str | list[str] | None = None
    logprobs: int | None = Field(None, ge=0, le=5)
    seed: int | None = None
    echo: bool = False
    segments: dict[str, Any] | None = None  # Tabby: {prefix, suffix, filepath, ...}


class InfillExtra(_Body):
    filename: str = ""
    text: str = ""


class InfillBody(FimkitOptions):
    """POST /infill (llama.cpp server)."""

    input_prefix: str = ""
    input_suffix: str = ""
    input_extra: list[InfillExtra] = []
    prompt: str = ""
    n_predict: int = -1
    t_max_predict_ms: int | None = Field(None, ge=0)
    n_indent: int | None = Field(None, ge=0)
    cache_prompt: bool = True
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    top_k: int = Field(40, ge=0)
    top_p: float = Field(0.95, gt=0.0, le=1.0)
    stream: bool = False
    seed: int | None = None
    stop: list[str] = []


class OllamaOptions(_Body):
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    num_predict: int | None = None
    top_p: float = Field(0.95, gt=0.0, le=1.0)
    top_k: int = Field(40, ge=0)
    seed: int | None = None
    stop: list[str] | str | None = None


class OllamaBody(FimkitOptions):
    """POST /api/generate (Ollama)."""

    model: str = ""
    prompt: str = ""
    suffix: str | None = None
    raw: bool = False
    stream: bool = True  # Ollama streams unless told not to
    options: OllamaOptions = OllamaOptions()
    keep_alive: Any = None


def _stops(value) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(v for v in value if v)


def _cap(requested: int | None, default: int, cap: int) -> int:
    if requested is None or requested < 0:
        return min(default, cap)
    return min(requested, cap)


def parse_rendered_prompt(prompt: str) -> tuple[str, str, str] | None:
    """A prompt a client already rendered with some family's sentinels (Continue and twinny send
    these with Ollama's ``raw``): (prefix, suffix, text typed after the middle sentinel), or None."""
    for family in families().values():
        if not all(s in prompt for s in family.structural()):
            continue
        for layout in FIM_LAYOUTS:
            try:
                parts = FimFormat(family, layout).parse(prompt)
            except Exception:  # noqa: BLE001 - not this family/layout; try the next
                continue
            if parts.prefix is not None:
                return parts.prefix, parts.suffix, parts.middle or ""
            return parts.middle or "", parts.suffix, ""  # SPM-paper: the prompt ends with the prefix
    return None


def _options(body: FimkitOptions, **kw) -> dict:
    return dict(language=body.language, filename=body.filename, min_mean_logprob=body.min_confidence,
                single_line=body.single_line, parse_check=body.parse_check, **kw)


def from_seed(body: SeedBody, default_max: int, cap: int, gate: float | None) -> CompletionRequest:
    opts = _options(body)
    opts["min_mean_logprob"] = body.min_confidence if body.min_confidence is not None else gate
    return CompletionRequest(body.prefix, body.suffix, sampling=SamplingParams(
        max_tokens=_cap(body.max_tokens, default_max, cap), temperature=body.temperature), **opts)


def from_openai(body: OpenAIBody, default_max: int, cap: int, gate: float | None, index: int = 0) -> CompletionRequest:
    if body.segments is not None:  # Tabby
        seg = body.segments
        prefix, suffix = str(seg.get("prefix", "")), str(seg.get("suffix", "") or "")
        filename = seg.get("filepath") or body.filename
        language = body.language
    else:
        prompt = body.prompt if isinstance(body.prompt, str) else "".join(body.prompt)
        prefix, suffix, filename, language = prompt, body.suffix or "", body.filename, body.language
    middle_start = ""
    if body.suffix is None and body.segments is None:
        parsed = parse_rendered_prompt(prefix)  # vLLM-style clients render the FIM template themselves
        if parsed:
            prefix, suffix, middle_start = parsed
    seed = body.seed + index if body.seed is not None else (index if index else None)
    opts = _options(body)
    opts.update(language=language, filename=filename,
                min_mean_logprob=body.min_confidence if body.min_confidence is not None else gate)
    return CompletionRequest(prefix, suffix, middle_start=middle_start, stop=_stops(body.stop), sampling=SamplingParams(
        max_tokens=_cap(body.max_tokens, default_max, cap), temperature=body.temperature, top_p=body.top_p, seed=seed), **opts)


def from_infill(body: InfillBody, default_max: int, cap: int, gate: float | None) -> CompletionRequest:
    opts = _options(body)
    opts["min_mean_logprob"] = body.min_confidence if body.min_confidence is not None else gate
    return CompletionRequest(
        body.input_prefix, body.input_suffix, middle_start=body.prompt,
        extra=tuple((e.filename, e.text) for e in body.input_extra), stop=_stops(body.stop),
        n_indent=body.n_indent or None, t_max_predict_ms=body.t_max_predict_ms or None,
        sampling=SamplingParams(max_tokens=_cap(body.n_predict, default_max, cap), temperature=body.temperature,
                                top_k=body.top_k, top_p=body.top_p, seed=body.seed), **opts)


def from_ollama(body: OllamaBody, default_max: int, cap: int, gate: float | None) -> CompletionRequest:
    prefix, suffix, middle_start = body.prompt, body.suffix or "", ""
    if body.suffix is None:
        parsed = parse_rendered_prompt(body.prompt)
        if parsed:
            prefix, suffix, middle_start = parsed
    o = body.options
    opts = _options(body)
    opts["min_mean_logprob"] = body.min_confidence if body.min_confidence is not None else gate
    return CompletionRequest(prefix, suffix, middle_start=middle_start, stop=_stops(o.stop), sampling=SamplingParams(
        max_tokens=_cap(o.num_predict, default_max, cap), temperature=o.temperature, top_p=o.top_p, top_k=o.top_k,
        seed=o.seed), **opts)
