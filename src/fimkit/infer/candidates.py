"""Candidate ranking: several middles for one hole, the one that best fits the code around it first.

A prefix-only model writes without seeing the suffix, so its greedy middle may not lead into the
code after the cursor. Ranking, as InCoder does it (Fried et al. 2022, arXiv 2204.05999): candidate 1
is the greedy middle; candidates 2..n start with the next likeliest first tokens and continue
greedily (at a temperature above 0 they are n samples instead). Each candidate, shaped exactly as a
user would get it, is scored by the log-likelihood the model gives to the filled-in text after the
prompt: the middle followed by the start of the suffix (prefix-only), or the middle followed by the
end-of-middle token (FIM formats, whose prompt already holds the suffix). Scoring is one batch per
candidate on top of the prompt's KV cache, with logits only at the scored positions
(``Engine.score``), so a candidate costs its decoding plus one short batch, never its prompt again.

Off by default: whether it pays is measured (docs/evaluation.md, "Candidate ranking").
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace

from fimkit.infer.config import MAX_CANDIDATES
from fimkit.infer.engines.contract import CompletionRequest, CompletionResult, Engine, GenerationStats
from fimkit.infer.middle import Prepared, generate_middle

# The suffix's start scored after each middle (prefix-only): about 24 tokens of code, enough to
# tell a middle that leads into the next line from one that repeats or contradicts it.
SUFFIX_CHARS = 96


def ranked_completion(engine: Engine, request: CompletionRequest, prepared: Prepared, n: int, *,
                      cancel: threading.Event | None = None, on_delta: Callable[[str], None] | None = None,
                      ) -> CompletionResult:
    """The best of up to ``n`` candidates, with the others as its ``alternatives`` (best first) and
    ``stats`` covering the whole call. Streaming callers get the winner's text once, at the end."""
    start = time.perf_counter()
    n = min(n, MAX_CANDIDATES)
    asked = request.sampling
    greedy = asked.temperature <= 0
    # The greedy middle, reporting the likeliest first tokens it could have started with.
    probe = replace(asked, top_logprobs=max(asked.top_logprobs, n)) if greedy else asked
    first = generate_middle(engine, replace(request, sampling=probe), prepared, cancel=cancel)
    results = [first]
    if greedy:
        # Branch at the first token the model chose freely (healing's tokens only re-spell the prompt).
        free = next((p for p in first.pieces if not p.healing), None)
        chosen = free.token_id if free is not None else None
        tops = free.top_ids if free is not None else ()
        variants = [replace(asked, first_token=t) for t in tops if t != chosen][: n - 1]
    else:
        variants = [replace(asked, seed=None if asked.seed is None else asked.seed + i) for i in range(1, n)]
    for sampling in variants:
        if first.cancelled or (cancel is not None and cancel.is_set()):
            break
        results.append(generate_middle(engine, replace(request, sampling=sampling), prepared, cancel=cancel))
    if greedy and asked.top_logprobs < n:  # report only the alternatives the client asked for
        for r in results:
            r.pieces = [replace(p, top=p.top[: asked.top_logprobs], top_ids=p.top_ids[: asked.top_logprobs])
                        for p in r.pieces]
    ranked = _rank(engine, request, prepared, results, cancel)
    best = ranked[0]
    best.alternatives = ranked[1:]
    best.stats = _total(results, start)
    best.cancelled = any(r.cancelled for r in results)
    if on_delta and best.text:
        on_delta(best.text)
    return best


def _rank(engine: Engine, request: CompletionRequest, prepared: Prepared, results: list[CompletionResult],
          cancel: threading.Event | None) -> list[CompletionResult]:
    """Candidates best first: distinct non-empty middles by score (an empty middle shows nothing, so
    it wins only when there is nothing else), ties kept in generation order (greedy first)."""
    fim = engine.fim_format.is_fim
    tail = "" if fim else request.suffix[:SUFFIX_CHARS]
    seen: dict[str, CompletionResult] = {}
    for r in results:
        if r.text in seen or r.cancelled:
            continue
        seen[r.text] = r
        if not r.text.strip():
            continue
        r.score = engine.score(prepared.prompt, prepared.held + r.text + tail, end=fim, cancel=cancel)
        if r.score is None:  # cancelled while scoring: keep the order so far
            break
    unique = list(seen.values()) or results[:1]
    order = sorted(range(len(unique)), key=lambda i: (unique[i].score is None, -(unique[i].score or 0.0), i))
    return [unique[i] for i in order]


def _total(results: list[CompletionResult], start: float) -> GenerationStats:
    """One call's stats: the first candidate's prompt, every candidate's tokens, the whole time."""
    first = results[0].stats
    elapsed = (time.perf_counter() - start) * 1000
    return GenerationStats(
        prompt_tokens=first.prompt_tokens, cached_tokens=first.cached_tokens, prompt_ms=first.prompt_ms,
        predicted_ms=max(0.0, elapsed - first.prompt_ms),
        predicted_tokens=sum(r.stats.predicted_tokens for r in results),
        drafted_tokens=sum(r.stats.drafted_tokens for r in results),
        accepted_tokens=sum(r.stats.accepted_tokens for r in results),
    )
