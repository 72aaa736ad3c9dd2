"""One completion, end to end: budget, render, generate, shape. Every API and the CLI call this."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from fimkit.formats import FimFormat, sanitizer_for
from fimkit.serve.checks import language_of
from fimkit.serve.context import ContextBudget, fit_context
from fimkit.serve.engine import CompletionRequest, CompletionResult, Engine
from fimkit.serve.postprocess import hold_trailing_blanks
from fimkit.serve.shaping import ShapeConfig, Shaper


def render_prompt(fmt: FimFormat, prefix: str, suffix: str, middle_start: str = "",
                  extra: tuple[tuple[str, str], ...] = ()) -> tuple[str, str]:
    """The prompt string for ``fmt`` and the blanks held back from its end (see hold_trailing_blanks).

    Repository chunks go first, each after the family's file separator; PSM puts ``middle_start``
    after the middle sentinel (so typing on one line keeps the prompt's beginning stable), while
    SPM and prefix-only already end with the prefix, so it is simply part of it.
    """
    context = ""
    family = fmt.family
    if extra and family is not None and family.file_sep and fmt.is_fim:
        esc = sanitizer_for(family).escape
        context = "".join(f"{family.file_sep}{esc(name)}\n{esc(text)}" for name, text in extra) + family.file_sep
    if fmt.layout in ("prefix-only", "spm-paper") or (fmt.layout == "spm-dolma" and not family.middle):
        prompt_prefix, held = hold_trailing_blanks(prefix + middle_start)
        return context + fmt.render(prompt_prefix, suffix), held
    # PSM (and Dolma SPM): the prompt ends with the middle sentinel; typed text of the cursor's line
    # follows it, and only its trailing blanks are held back.
    tail, held = hold_trailing_blanks(middle_start)
    return context + fmt.render(prefix, suffix) + sanitizer_for(family).escape(tail), held


def run_completion(engine: Engine, request: CompletionRequest, *, budget: ContextBudget = ContextBudget(),
                   cancel: threading.Event | None = None, on_delta: Callable[[str], None] | None = None,
                   ) -> CompletionResult:
    """Complete ``request`` with ``engine``; ``on_delta`` receives text as it becomes final (streaming)."""
    fmt = engine.fim_format
    language = language_of(request.language, request.filename)
    sampling = request.sampling
    fitted = fit_context(
        request.prefix, request.suffix, request.extra, n_ctx=engine.n_ctx,
        max_tokens=sampling.max_tokens + engine.count_tokens(request.middle_start) if request.middle_start else sampling.max_tokens,
        count=engine.count_tokens, budget=budget, language=language, use_suffix=fmt.is_fim,
    )
    prompt, held = render_prompt(fmt, fitted.prefix, fitted.suffix, request.middle_start, fitted.extra)
    # Rules judge the whole buffer: the prefix as the user has it, middle_start included.
    shaper = Shaper(
        request.prefix + request.middle_start, request.suffix,
        ShapeConfig(single_line=request.single_line, n_indent=request.n_indent,
                    min_mean_logprob=request.min_mean_logprob, parse_check=request.parse_check, language=language),
        held_blanks=held,
    )
    raw, logprobs, tokens = [], [], []
    stop_type, stopping_word, cancelled = "limit", "", False
    start = time.perf_counter()
    stream = engine.stream(prompt, sampling, cancel)
    try:
        for piece in stream:
            if cancel is not None and cancel.is_set():
                cancelled, stop_type = True, "cancelled"
                break
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
                delta, _ = shaper.feed(before[len(fed):], piece.logprob)
                if delta and on_delta:
                    on_delta(delta)
                stop_type, stopping_word = "word", hit
                break
            delta, stop = shaper.feed(piece.text, piece.logprob)
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
            stop_type = "eos" if engine.last_stats.predicted_tokens < sampling.max_tokens else "limit"
    finally:
        stream.close()
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
        stats=engine.last_stats, truncated=fitted.truncated, cancelled=cancelled, trimmed_by_parse=shaped.trimmed_by_parse,
    )
