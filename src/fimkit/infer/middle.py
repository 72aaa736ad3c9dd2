"""One middle for a prepared prompt: generate, shape as the tokens arrive, stop when shaping decides.
Plain completions and every candidate of a ranked one go through here."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from fimkit.infer.engines.contract import CompletionRequest, CompletionResult, Engine, GenerationStats
from fimkit.infer.engines.healing import BackOff
from fimkit.infer.shaping import Shaper


@dataclass(frozen=True)
class Prepared:
    """What every candidate of one request shares: the rendered prompt and how to shape a middle."""

    prompt: str
    held: str  # blanks held back from the prompt's end: the model writes them before the middle
    truncated: bool
    new_shaper: Callable[[], Shaper]  # each candidate is shaped from the same start
    context: tuple[tuple[str, str], ...] = ()  # the repository chunks the prompt shows
    back_off: BackOff = BackOff()  # how far the engine heals the prompt's end (the cursor mid-word)


def generate_middle(engine: Engine, request: CompletionRequest, prepared: Prepared, *,
                    cancel: threading.Event | None = None, on_delta: Callable[[str], None] | None = None,
                    on_start: Callable[[GenerationStats], None] | None = None) -> CompletionResult:
    """One middle for a prepared prompt: generate, shape as the tokens arrive, stop when shaping decides.
    ``on_start`` sees the generation's statistics as soon as it starts, kept up to date while it runs (a
    reply sent before the generation ends reports what it cost so far)."""
    sampling = request.sampling
    shaper = prepared.new_shaper()
    raw, logprobs, tokens, pieces = [], [], [], []
    stop_type, stopping_word, cancelled = "limit", "", False
    start = time.perf_counter()
    generation = engine.generate(prepared.prompt, replace(sampling, healing=prepared.back_off), cancel)
    if on_start is not None:
        on_start(generation.stats)
    try:
        for piece in generation:
            if cancel is not None and cancel.is_set():
                cancelled, stop_type = True, "cancelled"
                break
            pieces.append(piece)
            raw.append(piece.text)
            logprobs.append(piece.logprob)
            if piece.token_id is not None:
                tokens.append(piece.token_id)
            text_so_far = "".join(raw)
            hit = next((w for w in request.stop if w and w in text_so_far), None)
            if hit:
                # Feed only what comes before the stop string.
                cut = text_so_far.index(hit)
                before = text_so_far[: cut]
                fed = "".join(raw[:-1])
                delta, _ = shaper.feed(before[len(fed):], piece.logprob, healing=piece.healing)
                if delta and on_delta:
                    on_delta(delta)
                stop_type, stopping_word = "word", hit
                break
            delta, stop = shaper.feed(piece.text, piece.logprob, healing=piece.healing)
            if delta and on_delta:
                on_delta(delta)
            if stop:
                stop_type = shaper.stop_reason or "gated"
                break
            if (request.t_max_predict_ms and "\n" in text_so_far
                    and (time.perf_counter() - start) * 1000 > request.t_max_predict_ms):
                stop_type = "limit"
                break
        else:
            stop_type = generation.stop_reason or "eos"
            if stop_type == "cancelled":
                cancelled = True
    finally:
        generation.close()
    delta, shaped = shaper.finish()
    if delta and on_delta:
        on_delta(delta)
    if shaped.gated:
        stop_type = "gated"
    elif shaped.stop_reason and stop_type in ("eos", "limit"):
        stop_type = shaped.stop_reason
    return CompletionResult(
        text=shaped.text, raw="".join(raw), stop_type=stop_type, stopping_word=stopping_word, gated=shaped.gated,
        mean_logprob=shaped.mean_logprob, logprobs=[lp for lp in logprobs if lp is not None], tokens=tokens,
        pieces=pieces, stats=generation.stats, truncated=prepared.truncated, context=prepared.context, cancelled=cancelled, trimmed_by_parse=shaped.trimmed_by_parse,
    )
