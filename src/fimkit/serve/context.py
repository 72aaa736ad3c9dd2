"""Fitting prefix, suffix and repository context into the model's window.

Shares follow the seed's advice: the suffix gets at most ~30% of the prompt budget and the
prefix at most ~60% (each may use what the other leaves), with ``max_tokens`` of headroom
for the middle. Both are cut at line boundaries: the prefix loses its oldest lines, the
suffix its farthest ones. Before that, the suffix is made syntax-aware: with a tree-sitter
grammar, it is kept up to the end of the definition that encloses the cursor (the code the
middle must fit into) rather than the whole rest of the file; without one, up to
``suffix_lines`` lines. Repository chunks fill what is left, nearest-first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fimkit.data.spans import parser_for

# Node types that delimit "the code around the cursor" per grammar.
ENCLOSING = {
    "python": {"function_definition", "class_definition", "decorated_definition"},
    "javascript": {"function_declaration", "method_definition", "class_declaration", "arrow_function",
                   "function_expression", "function"},
    "typescript": {"function_declaration", "method_definition", "class_declaration", "arrow_function"},
}


@dataclass(frozen=True)
class ContextBudget:
    """prefix_share / suffix_share: most of the prompt budget each may take (the rest goes to repo
    context). suffix_lines: suffix kept without a grammar (or at top level). reserve: tokens for
    sentinels and BOS."""

    prefix_share: float = 0.6
    suffix_share: float = 0.3
    suffix_lines: int = 40
    reserve: int = 16


@dataclass(frozen=True)
class FittedContext:
    prefix: str
    suffix: str
    extra: tuple[tuple[str, str], ...]
    truncated: bool


def syntax_suffix(prefix: str, suffix: str, language: str | None, max_lines: int) -> str:
    """The suffix up to the end of the definition enclosing the cursor (whole lines), else ``max_lines``."""
    lines = suffix.split("\n")
    fallback = "\n".join(lines[:max_lines])
    parser = parser_for(language) if language in ENCLOSING else None
    if parser is None:
        return fallback
    data = (prefix + suffix).encode("utf-8")
    cursor = len(prefix.encode("utf-8"))
    node = parser.parse(data).root_node.descendant_for_byte_range(cursor, cursor)
    enclosing = None
    while node is not None:
        if node.type in ENCLOSING[language] and node.start_byte < cursor <= node.end_byte:
            enclosing = node  # keep climbing: the outermost definition (method inside class -> class)
            if node.parent is not None and node.parent.type == "module":
                break
        node = node.parent
    if enclosing is None:
        return fallback
    end = data.find(b"\n", enclosing.end_byte)
    end = len(data) if end < 0 else end
    kept = data[cursor:end].decode("utf-8", errors="ignore")
    return kept if len(kept.split("\n")) <= max(max_lines * 4, 1) else fallback


def _keep_last_lines(text: str, cap: int, count: Callable[[str], int]) -> str:
    """The longest tail of whole lines of ``text`` that fits in ``cap`` tokens (binary search)."""
    if count(text) <= cap:
        return text
    lines = text.split("\n")
    lo, hi = 0, len(lines)  # number of lines kept from the end
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count("\n".join(lines[-mid:])) <= cap:
            lo = mid
        else:
            hi = mid - 1
    return "\n".join(lines[-lo:]) if lo else ""


def _keep_first_lines(text: str, cap: int, count: Callable[[str], int]) -> str:
    if count(text) <= cap:
        return text
    lines = text.split("\n")
    lo, hi = 0, len(lines)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count("\n".join(lines[:mid])) <= cap:
            lo = mid
        else:
            hi = mid - 1
    return "\n".join(lines[:lo])


def fit_context(prefix: str, suffix: str, extra: tuple[tuple[str, str], ...], *, n_ctx: int, max_tokens: int,
                count: Callable[[str], int], budget: ContextBudget = ContextBudget(),
                language: str | None = None, use_suffix: bool = True) -> FittedContext:
    """Cut prefix, suffix and extra chunks to fit ``n_ctx - max_tokens`` (see the module docstring)."""
    available = max(16, n_ctx - max_tokens - budget.reserve)
    short_suffix = syntax_suffix(prefix, suffix, language, budget.suffix_lines) if use_suffix else ""
    suffix_cap = int(available * budget.suffix_share)
    new_suffix = _keep_first_lines(short_suffix, suffix_cap, count)
    used_suffix = count(new_suffix) if new_suffix else 0
    prefix_cap = int(available * budget.prefix_share) + max(0, suffix_cap - used_suffix)
    new_prefix = _keep_last_lines(prefix, prefix_cap, count)
    # The cursor's line must survive even if it alone is over budget: cut it by characters.
    if not new_prefix and prefix:
        last = prefix.rsplit("\n", 1)[-1]
        new_prefix = last[-prefix_cap * 3:] if last else ""
    used = used_suffix + (count(new_prefix) if new_prefix else 0)
    room = available - used
    kept_extra = []
    for name, text in extra:
        cost = count(f"{name}\n{text}") + 2
        if cost <= room:
            kept_extra.append((name, text))
            room -= cost
    truncated = new_prefix != prefix or new_suffix != short_suffix
    return FittedContext(new_prefix, new_suffix, tuple(kept_extra), truncated)
