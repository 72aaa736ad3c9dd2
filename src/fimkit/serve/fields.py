"""Request fields every dialect accepts (fimkit's own options) and the conversions they share:
token caps, stop lists, the confidence gate's fallback, and prompts a client rendered itself.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from fimkit.formats import FIM_LAYOUTS, FimFormat, families
from fimkit.infer.engines.healing import POLICIES
from fimkit.serve.config import ServerConfig


class Body(BaseModel):
    """Unknown fields are accepted and ignored, as the anchors' servers do. Values are taken strictly:
    ``true`` is not the number 1 nor ``"1"`` a boolean, so a client's mistake is a 422 naming the field
    rather than a guess."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False, strict=True)


# The ranges every dialect shares, declared once: sampling temperature as OpenAI bounds it, and a seed
# that llama.cpp's 32-bit sampler seed can hold.
Temperature = Annotated[float, Field(ge=0.0, le=2.0)]
TopP = Annotated[float, Field(gt=0.0, le=1.0)]
TopK = Annotated[int, Field(ge=0, le=1_000_000)]
Seed = Annotated[int, Field(ge=0, le=2**32 - 1)]
LogProb = Annotated[float, Field(ge=-100.0, le=0.0)]


MAX_EXTRA_CHUNKS = 64


class ExtraChunk(Body):
    """A piece of repository context a client sends (llama.cpp's ``input_extra`` items)."""

    filename: str = ""
    text: str = ""


class FimkitOptions(Body):
    """fimkit's own knobs, accepted on every endpoint. ``input_extra``: repository context from the
    client (recent edits, open files, clipboard), used with the server's own (``--workspace``).
    ``show_context``: the reply lists the context the prompt showed, under ``fimkit.context``."""

    language: str | None = None
    filename: str | None = None
    min_confidence: LogProb | None = Field(None, description="mean token log-probability below which nothing is shown")
    min_shown_logprob: LogProb | None = Field(None, description="cut the middle where the sum of its tokens' "
                                              "log-probabilities falls below this; an explicit null shows "
                                              "whole middles (left out: the server's --min-shown-logprob)")
    healing: Literal[POLICIES] | None = Field(None, description="token healing at a cursor mid-word")
    single_line: bool | None = None
    parse_check: bool = True
    input_extra: list[ExtraChunk] = Field([], max_length=MAX_EXTRA_CHUNKS)
    show_context: bool = Field(False, strict=True)
    early_reply: bool = Field(False, description="an editor that asks again after the user accepts part of a "
                              "suggestion (what fimkit's editors send): a middle that may span lines is answered with "
                              "its first line as soon as it is complete, the rest generated ahead for the request "
                              "that continues it, and the server's --min-shown-logprob cut applies; every other "
                              "request gets the whole middle")


def stops(value) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(v for v in value if v)


def max_tokens(requested: int | None, config: ServerConfig) -> int:
    """What a client asked for, within the server's cap; the server's default when it asked for none."""
    if requested is None or requested < 0:
        return min(config.default_max_tokens, config.max_tokens_cap)
    return min(requested, config.max_tokens_cap)


def options(body: FimkitOptions, config: ServerConfig, **overrides) -> dict:
    """The CompletionRequest fields that come from fimkit's options; a request's own confidence
    threshold wins over the server-wide one."""
    gate = body.min_confidence if body.min_confidence is not None else config.min_confidence
    # An editor that asks again after a partial accept (early_reply, as fimkit's own do) gets the server's
    # cut unless it sets its own; any other client gets whole middles unless it asks for a cut (a block
    # header without its body is no answer for a client that shows what it gets, as it gets it).
    if "min_shown_logprob" in body.model_fields_set:
        cut = body.min_shown_logprob
    else:
        cut = config.min_shown_logprob if body.early_reply else None
    out = dict(language=body.language, filename=body.filename, min_mean_logprob=gate, single_line=body.single_line,
               parse_check=body.parse_check, extra=tuple((e.filename, e.text) for e in body.input_extra),
               min_shown_logprob=cut, healing=body.healing)
    out.update(overrides)
    return out


def with_context(reply: dict, body: FimkitOptions, result) -> dict:
    """``reply`` with ``fimkit.context`` (path and text of each chunk the prompt showed) when asked."""
    if body.show_context:
        reply.setdefault("fimkit", {})["context"] = [{"path": p, "text": t} for p, t in result.context]
    return reply


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
