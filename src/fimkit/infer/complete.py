"""One completion, end to end: gather context, budget, render, then one middle (``middle``) or the
best of several (``candidates``). Every API, the CLI, the LSP, evaluation and the demo call this."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace

from fimkit.infer.candidates import ranked_completion
from fimkit.infer.context.anchor import ANCHORED_MIDDLE, MAX_TYPED_TOKENS, Anchor, anchor_point, line_start
from fimkit.infer.context.budget import (
    MAX_CHARS_PER_TOKEN,
    ContextBudget,
    FittedContext,
    fit_context,
    head_chars,
    tail_chars,
)
from fimkit.infer.context.repository import RepoContext
from fimkit.infer.engines.contract import CompletionRequest, CompletionResult, Engine, GenerationStats
from fimkit.infer.engines.healing import BackOff, back_off_for
from fimkit.infer.middle import Prepared, generate_middle
from fimkit.infer.render import render_prompt, uses_file_separator
from fimkit.infer.shaping import ShapeConfig, Shaper
from fimkit.syntax import GUESS_CHARS, guess_language, language_of


def run_completion(engine: Engine, request: CompletionRequest, *, budget: ContextBudget | None = None,
                   cancel: threading.Event | None = None, on_delta: Callable[[str], None] | None = None,
                   context: RepoContext | None = None,
                   on_prepared: Callable[[Prepared], None] | None = None,
                   on_start: Callable[[GenerationStats], None] | None = None) -> CompletionResult:
    """Complete ``request`` with ``engine``; ``on_delta`` receives text as it becomes final (streaming).
    ``budget``: how the window is shared (default: the engine's prompt budget). ``context``: where
    repository context comes from (a workspace index), besides the request's own ``extra`` chunks.
    With more than one candidate (``request.candidates``, else the engine's), the best-ranked middle
    is returned and the others are its ``alternatives`` (``fimkit.infer.candidates``). ``on_prepared``
    sees the rendered prompt and the context it shows before generation starts; ``on_start`` the live
    statistics of a single middle's generation (``generate_middle``)."""
    budget = budget or profile_budget(engine)
    prepared = prepare(engine, request, budget, context)
    if on_prepared is not None:
        on_prepared(prepared)
    n = request.candidates if request.candidates is not None else engine.candidates
    if n > 1 and request.sampling.max_tokens > 0:
        return ranked_completion(engine, request, prepared, n, cancel=cancel, on_delta=on_delta)
    return generate_middle(engine, request, prepared, cancel=cancel, on_delta=on_delta, on_start=on_start)


def profile_budget(engine: Engine) -> ContextBudget:
    """How the engine's model profile shares its prompt budget (``fimkit.models.profile``)."""
    profile = engine.profile
    return ContextBudget(prompt_tokens=engine.prompt_tokens, prefix_share=profile.prefix_share,
                         suffix_share=profile.suffix_share, suffix_scope=profile.suffix_scope)


def prepare(engine: Engine, request: CompletionRequest, budget: ContextBudget,
            context: RepoContext | None = None) -> Prepared:
    """Gather repository context, fit everything into the budget and render the prompt. Where the profile
    says so, typing is anchored (``anchor``): the fitted prefix, suffix and context of an earlier
    request are reused and what was typed since goes at the prompt's end (after the middle sentinel
    in PSM, after the prefix in SPM), so the prompt's beginning, and its KV cache, stay the same."""
    fmt = engine.fim_format
    language = language_of(request.language, request.filename) or _guessed_language(request)
    anchoring = engine.profile.anchor != "off" and fmt.is_fim
    key = (request.filename, language, request.extra, context is not None, budget)
    found = engine.anchors.find(request.prefix, request.suffix, key, engine.count_tokens) if anchoring else None
    if found is not None:
        anchor, typed = found
        fitted = anchor.fitted
    else:
        cut = anchor_point(request.prefix, engine.profile.anchor) if anchoring else len(request.prefix)
        # An anchored fit reserves the same room whatever the request's max_tokens, so a warm-up (0) and
        # the completions after it share the anchor and its KV cache.
        fitted = _fit(engine, request, budget, context, request.prefix[:cut], language,
                      reserve=MAX_TYPED_TOKENS + max(0, ANCHORED_MIDDLE - request.sampling.max_tokens) if anchoring else 0)
        typed = request.prefix[cut:]
        if anchoring:
            engine.anchors.add(Anchor.at(request.prefix[:cut], request.suffix, key, fitted))
    back_off, prefix, middle_start = healing_back_off(engine, request, fitted.prefix, typed + request.middle_start)
    filename = fitted.filename
    prompt, held = render_prompt(fmt, prefix, fitted.suffix, middle_start, fitted.extra, filename=filename,
                                 language=language, style=engine.profile.repository,
                                 repository=context.name if context is not None else None)
    # Rules judge the buffer as the user has it (middle_start included), not the fitted prompt, within
    # a bounded window, so a huge file costs no more than the text the model could see.
    window = engine.n_ctx * MAX_CHARS_PER_TOKEN
    before = tail_chars(request.prefix + request.middle_start, window)
    after = head_chars(request.suffix, window)
    config = ShapeConfig(single_line=request.single_line, n_indent=request.n_indent,
                         min_mean_logprob=request.min_mean_logprob, parse_check=request.parse_check, language=language,
                         min_shown_logprob=request.min_shown_logprob, rules=frozenset(engine.profile.rules))
    return Prepared(prompt, held, fitted.truncated, lambda: Shaper(before, after, config, held_blanks=held),
                    fitted.extra, back_off)


def _guessed_language(request: CompletionRequest) -> str | None:
    """A client that names neither language nor file still gets the parse check and syntax-aware budgets:
    the language is told from the code around the cursor, up to the start of its line (so it does not
    change while the user types on the line)."""
    before = tail_chars(request.prefix, GUESS_CHARS * 2)
    return guess_language(before[:line_start(before)], request.suffix[:GUESS_CHARS])


def _fit(engine: Engine, request: CompletionRequest, budget: ContextBudget, context: RepoContext | None,
         prefix: str, language: str | None, reserve: int) -> FittedContext:
    """Repository context for ``prefix``, and everything fitted into the window with ``reserve`` tokens
    kept for text typed after it (besides the middle's own ``max_tokens``)."""
    fmt = engine.fim_format
    extra, filename = request.extra, request.filename
    if context is not None:
        window = engine.n_ctx * MAX_CHARS_PER_TOKEN
        chunks = context.gather(tail_chars(prefix, window), head_chars(request.suffix, window),
                                request.filename, language, request.extra, cursor_line=prefix.count("\n"))
        extra = tuple(c.as_extra() for c in chunks)
        filename = context.index.relative(filename) if context.index is not None and filename else filename
    if filename and filename.startswith("/"):
        filename = filename.rsplit("/", 1)[-1]  # a path comment names the file, not the user's home folder
    reserve += engine.count_tokens(request.middle_start) if request.middle_start else 0
    fitted = fit_context(
        prefix, request.suffix, extra, n_ctx=engine.n_ctx, max_tokens=request.sampling.max_tokens + reserve,
        count=engine.count_tokens, budget=budget, language=language, use_suffix=fmt.is_fim,
        # Without a file separator, chunks become text before the prefix, which measured no gain with
        # the embedded model: only when repository context is on (a ``context``: --workspace).
        use_extra=bool(extra) and (uses_file_separator(fmt) or context is not None),
        extra_first=not uses_file_separator(fmt),
    )
    return replace(fitted, filename=filename)


def ends_with_middle(fmt) -> bool:
    """The prompt ends with the middle sentinel (PSM, Dolma's SPM), not with the text before the cursor."""
    return fmt.is_fim and not (fmt.layout == "spm-paper" or (fmt.layout == "spm-dolma" and not fmt.family.middle))


def healing_back_off(engine: Engine, request: CompletionRequest, prefix: str,
                     middle_start: str) -> tuple[BackOff, str, str]:
    """How far the engine backs the prompt off to heal it (``fimkit.infer.engines.healing``), and the
    (prefix, middle start) to render. Prefix-only and SPM prompts end with the text before the cursor,
    so the engine backs off its last tokens; a PSM prompt ends with the middle sentinel, so the word
    being typed moves after it (as llama.cpp's /infill ``prompt`` does) where it can be backed off,
    unless typed text is there already."""
    policy = request.healing if request.healing is not None else engine.healing
    if not engine.can_heal or policy == "off":
        return BackOff(), prefix, middle_start
    back_off = back_off_for(request.prefix + request.middle_start, policy)
    if back_off and ends_with_middle(engine.fim_format) and not middle_start:
        word = max(back_off.chars, back_off_for(prefix, "lexeme").chars)
        if 0 < word < len(prefix):
            return back_off, prefix[:-word], prefix[-word:]
    return back_off, prefix, middle_start
