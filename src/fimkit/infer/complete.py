"""One completion, end to end: gather context, budget, render, then one middle (``middle``) or the
best of several (``candidates``). Every API, the CLI, the LSP, evaluation and the demo call this."""

from __future__ import annotations

import threading
from collections.abc import Callable

from fimkit.infer.candidates import ranked_completion
from fimkit.infer.context.budget import MAX_CHARS_PER_TOKEN, ContextBudget, fit_context, head_chars, tail_chars
from fimkit.infer.context.repository import RepoContext
from fimkit.infer.engines.contract import CompletionRequest, CompletionResult, Engine
from fimkit.infer.engines.healing import BackOff, back_off_for
from fimkit.infer.middle import Prepared, generate_middle
from fimkit.infer.render import render_prompt, uses_file_separator
from fimkit.infer.shaping import ShapeConfig, Shaper
from fimkit.syntax import language_of


def run_completion(engine: Engine, request: CompletionRequest, *, budget: ContextBudget | None = None,
                   cancel: threading.Event | None = None, on_delta: Callable[[str], None] | None = None,
                   context: RepoContext | None = None,
                   on_prepared: Callable[[Prepared], None] | None = None) -> CompletionResult:
    """Complete ``request`` with ``engine``; ``on_delta`` receives text as it becomes final (streaming).
    ``budget``: how the window is shared (default: the engine's prompt budget). ``context``: where
    repository context comes from (a workspace index), besides the request's own ``extra`` chunks.
    With more than one candidate (``request.candidates``, else the engine's), the best-ranked middle
    is returned and the others are its ``alternatives`` (``fimkit.infer.candidates``). ``on_prepared``
    sees the rendered prompt and the context it shows before generation starts."""
    budget = budget or ContextBudget(prompt_tokens=engine.prompt_tokens)
    prepared = prepare(engine, request, budget, context)
    if on_prepared is not None:
        on_prepared(prepared)
    n = request.candidates if request.candidates is not None else engine.candidates
    if n > 1 and request.sampling.max_tokens > 0:
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
    back_off, prefix, middle_start = healing_back_off(engine, request, fitted.prefix)
    prompt, held = render_prompt(fmt, prefix, fitted.suffix, middle_start, fitted.extra,
                                 filename=filename, language=language)
    # Rules judge the buffer as the user has it (middle_start included), not the fitted prompt, within
    # a bounded window, so a huge file costs no more than the text the model could see.
    window = engine.n_ctx * MAX_CHARS_PER_TOKEN
    before = tail_chars(request.prefix + request.middle_start, window)
    after = head_chars(request.suffix, window)
    config = ShapeConfig(single_line=request.single_line, n_indent=request.n_indent,
                         min_mean_logprob=request.min_mean_logprob, parse_check=request.parse_check, language=language,
                         min_shown_logprob=request.min_shown_logprob)
    return Prepared(prompt, held, fitted.truncated, lambda: Shaper(before, after, config, held_blanks=held),
                    fitted.extra, back_off)


def healing_back_off(engine: Engine, request: CompletionRequest, prefix: str) -> tuple[BackOff, str, str]:
    """How far the engine backs the prompt off to heal it (``fimkit.infer.engines.healing``), and the
    (prefix, middle start) to render. Prefix-only and SPM prompts end with the text before the cursor,
    so the engine backs off its last tokens; a PSM prompt ends with the middle sentinel, so the word
    being typed moves after it (as llama.cpp's /infill ``prompt`` does) where it can be backed off."""
    policy = request.healing if request.healing is not None else engine.healing
    if not engine.can_heal or policy == "off":
        return BackOff(), prefix, request.middle_start
    back_off = back_off_for(request.prefix + request.middle_start, policy)
    fmt = engine.fim_format
    ends_with_prefix = fmt.layout in ("prefix-only", "spm-paper") or (fmt.layout == "spm-dolma" and not fmt.family.middle)
    if back_off and not ends_with_prefix and not request.middle_start:
        word = max(back_off.chars, back_off_for(prefix, "lexeme").chars)
        if 0 < word < len(prefix):
            return back_off, prefix[:-word], prefix[-word:]
    return back_off, prefix, request.middle_start
