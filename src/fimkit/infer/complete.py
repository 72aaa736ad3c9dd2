"""One completion, end to end: budget, render, generate, shape. Every API and the CLI call this."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from fimkit.infer.context import MAX_CHARS_PER_TOKEN, ContextBudget, fit_context, head_chars, tail_chars
from fimkit.infer.engine import CompletionRequest, CompletionResult, Engine
from fimkit.infer.render import render_prompt, uses_file_separator
from fimkit.infer.repo_context import RepoContext
from fimkit.infer.shaping import ShapeConfig, Shaper
from fimkit.syntax import language_of


@dataclass(frozen=True)
class Prepared:
    """What every candidate of one request shares: the rendered prompt and how to shape a middle."""

    prompt: str
    held: str  # blanks held back from the prompt's end: the model writes them before the middle
    truncated: bool
    new_shaper: Callable[[], Shaper]  # each candidate is shaped from the same start
    context: tuple[tuple[str, str], ...] = ()  # the repository chunks the prompt shows


def run_completion(engine: Engine, request: CompletionRequest, *, budget: ContextBudget | None = None,
                   cancel: threading.Event | None = None, on_delta: Callable[[str], None] | None = None,
                   context: RepoContext | None = None) -> CompletionResult:
    """Complete ``request`` with ``engine``; ``on_delta`` receives text as it becomes final (streaming).
    ``budget``: how the window is shared (default: the engine's prompt budget). ``context``: where
    repository context comes from (a workspace index), besides the request's own ``extra`` chunks.
    With more than one candidate (``request.candidates``, else the engine's), the best-ranked middle
    is returned and the others are its ``alternatives`` (``fimkit.infer.candidates``)."""
    budget = budget or ContextBudget(prompt_tokens=engine.prompt_tokens)
    prepared = prepare(engine, request, budget, context)
    n = request.candidates if request.candidates is not None else engine.candidates
    if n > 1 and request.sampling.max_tokens > 0:
        from fimkit.infer.candidates import ranked_completion

        return ranked_completion(engine, request, prepared, n, cancel=cancel, on_delta=on_delta)
    return generate_middle(engine, request, prepared, cancel=cancel, on_delta=on_delta)


def prepare(engine: Engine, request: CompletionRequest, budget: ContextBudget,
            context: RepoContext | None = None) -> Prepared:
    """Gather repository context, fit everything into the budget and render the prompt."""
    fmt = engine.fim_format
    language = language_of(request.language, request.filename)
    sampling = request.sampling
    extra, filename = request.extra, request.filename
    if context is not None:
        window = engine.n_ctx * MAX_CHARS_PER_TOKEN
        chunks = context.gather(tail_chars(request.prefix, window), head_chars(request.suffix, window),
                                request.filename, language, request.extra, cursor_line=request.prefix.count("\n"))
        extra = tuple(c.as_extra() for c in chunks)
        filename = context.index.relative(filename) if context.index is not None and filename else filename
    if filename and filename.startswith("/"):
        filename = filename.rsplit("/", 1)[-1]  # a path comment names the file, not the user's home folder
    fitted = fit_context(
        request.prefix, request.suffix, extra, n_ctx=engine.n_ctx,
        max_tokens=sampling.max_tokens + engine.count_tokens(request.middle_start) if request.middle_start else sampling.max_tokens,
        count=engine.count_tokens, budget=budget, language=language, use_suffix=fmt.is_fim,
        # Without a file separator, chunks become text before the prefix, which measured no gain with
        # the embedded model: only when repository context is on (a ``context``: --workspace).
        use_extra=bool(extra) and (uses_file_separator(fmt) or context is not None),
        extra_first=not uses_file_separator(fmt),
    )
    prompt, held = render_prompt(fmt, fitted.prefix, fitted.suffix, request.middle_start, fitted.extra,
                                 filename=filename, language=language)
    # Rules judge the buffer as the user has it (middle_start included), not the fitted prompt, within
    # a bounded window, so a huge file costs no more than the text the model could see.
    window = engine.n_ctx * MAX_CHARS_PER_TOKEN
    before = tail_chars(request.prefix + request.middle_start, window)
    after = head_chars(request.suffix, window)
    config = ShapeConfig(single_line=request.single_line, n_indent=request.n_indent,
                         min_mean_logprob=request.min_mean_logprob, parse_check=request.parse_check, language=language)
    return Prepared(prompt, held, fitted.truncated, lambda: Shaper(before, after, config, held_blanks=held),
                    fitted.extra)


def generate_middle(engine: Engine, request: CompletionRequest, prepared: Prepared, *,
                    cancel: threading.Event | None = None, on_delta: Callable[[str], None] | None = None,
                    ) -> CompletionResult:
    """One middle for a prepared prompt: generate, shape as the tokens arrive, stop when shaping decides."""
    sampling = request.sampling
    shaper = prepared.new_shaper()
    raw, logprobs, tokens, pieces = [], [], [], []
    stop_type, stopping_word, cancelled = "limit", "", False
    start = time.perf_counter()
    generation = engine.generate(prepared.prompt, sampling, cancel)
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
