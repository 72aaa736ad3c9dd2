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

from fimkit.syntax import node_types, parser_for

# The prefix starts on a file line that is a multiple of this (see _align); the editors' client-side
# budget (fimkit.editor.context, and the VS Code extension's core/context.ts) cuts on the same grid.
ALIGN_LINES = 16


@dataclass(frozen=True)
class ContextBudget:
    """prefix_share / suffix_share: most of the prompt budget each may take (the rest goes to repo
    context). suffix_lines: suffix kept without a grammar (or at top level). reserve: tokens for
    sentinels and BOS."""

    prefix_share: float = 0.6
    suffix_share: float = 0.3
    suffix_lines: int = 40
    reserve: int = 16
    prompt_tokens: int | None = None  # most prompt tokens; None: the whole window less the middle
    align_lines: int = ALIGN_LINES
    extra_share: float = 0.25  # repository context shown before the prefix: at most this share
    extra_on_top: bool = False  # that context adds to the prompt budget instead of taking from the prefix
    # How far the suffix reaches before the token budget cuts it: ``definition`` (to the end of the
    # definition enclosing the cursor), ``scope`` (to the end of the block the cursor is in, with the
    # line that closes it) or ``blank`` (to the first blank line after code). A FIM prompt reads the
    # suffix again whenever the prefix changes, so a shorter one is a cheaper keystroke.
    suffix_scope: str = "definition"


@dataclass(frozen=True)
class FittedContext:
    prefix: str
    suffix: str
    extra: tuple[tuple[str, str], ...]
    truncated: bool
    filename: str | None = None  # as the prompt names the file (relative to the workspace)


def syntax_suffix(prefix: str, suffix: str, language: str | None, max_lines: int) -> str:
    """The suffix up to the end of the definition enclosing the cursor (whole lines), else ``max_lines``."""
    lines = suffix.split("\n")
    fallback = "\n".join(lines[:max_lines])
    enclosing_types = node_types(language).enclosing
    parser = parser_for(language) if enclosing_types else None
    if parser is None:
        return fallback
    data = (prefix + suffix).encode("utf-8")
    cursor = len(prefix.encode("utf-8"))
    node = parser.parse(data).root_node.descendant_for_byte_range(cursor, cursor)
    enclosing = None
    while node is not None:
        if node.type in enclosing_types and node.start_byte < cursor <= node.end_byte:
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


SUFFIX_SCOPES = ("definition", "scope", "blank")


def near_suffix(prefix: str, suffix: str, scope: str, language: str | None, max_lines: int) -> str:
    """The part of ``suffix`` the prompt shows, by ``ContextBudget.suffix_scope`` (whole lines, the
    cursor's own line always)."""
    if scope == "definition":
        return syntax_suffix(prefix, suffix, language, max_lines)
    if scope not in SUFFIX_SCOPES:
        raise ValueError(f"unknown suffix scope {scope!r}; choose one of: {', '.join(SUFFIX_SCOPES)}")
    lines = suffix.split("\n")[: max_lines + 1]
    kept = lines[:1]
    cursor_line = prefix.rsplit("\n", 1)[-1] + lines[0]
    # The block's indentation: the cursor's line's (a line of only blanks counts: the user indented it).
    floor = len(cursor_line) - len(cursor_line.lstrip(" \t")) if cursor_line else None
    for line in lines[1:]:
        if scope == "blank" and not line.strip() and any(k.strip() for k in kept[1:]):
            break
        if scope == "scope" and line.strip():
            indent = len(line) - len(line.lstrip(" \t"))
            if floor is None:
                floor = indent  # at a blank cursor line, the first code below sets the block
            elif indent < floor:
                kept.append(line)  # the line that closes the block ("}", the next statement outside)
                break
        kept.append(line)
    return "\n".join(kept)


# No tokenizer fimkit serves spends more characters than this on one token of code, so text cut to
# budget * MAX_CHARS_PER_TOKEN characters keeps everything the budget could use. Cutting by characters
# first makes the cost of fitting linear in what can be used, not in what a client sent.
MAX_CHARS_PER_TOKEN = 16


def tail_chars(text: str, limit: int) -> str:
    """The last ``limit`` characters of ``text``, from a line start when there is one."""
    if len(text) <= limit:
        return text
    cut = text[-limit:]
    nl = cut.find("\n")
    return cut[nl + 1:] if 0 <= nl < len(cut) - 1 else cut


def head_chars(text: str, limit: int) -> str:
    """The first ``limit`` characters of ``text``, up to a line end when there is one."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    nl = cut.rfind("\n")
    return cut[:nl] if nl > 0 else cut


def _align(kept: int, n_lines: int, first_line: int, grid: int) -> int:
    """Fewer kept lines, so that the first one is a file line on a ``grid``-line boundary.

    Why: the KV cache is reused only for the prompt's common beginning. Were the prefix cut at
    "as many lines as fit", each line the cursor moves down would shift the prompt's first line and
    make the next request start from scratch; cut on a grid, the beginning stays put while the
    cursor moves up to ``grid`` lines, and a warm-up done anywhere above still serves. It costs
    at most ``grid - 1`` of the oldest lines. The cursor's own line is always kept."""
    if grid <= 1 or kept >= n_lines and first_line == 0:
        return kept
    start = first_line + n_lines - kept  # file line number of the first kept line
    aligned = -(-start // grid) * grid
    return kept - (aligned - start) if kept > aligned - start else kept


def _keep_lines(text: str, cap: int, count: Callable[[str], int], *, from_end: bool, first_line: int = 0,
                grid: int = 1) -> tuple[str, int]:
    """The longest run of whole lines of ``text`` that fits in ``cap`` tokens, taken from its end
    (the prefix: its oldest lines go) or its start (the suffix: its farthest lines go), and its
    token count. Each line is tokenized once; the joined text once more to confirm, since tokens
    can merge across a newline. From the end, ``first_line`` is the file line ``text`` starts on
    and the first kept line is aligned to ``grid`` (see ``_align``)."""
    if from_end:
        cut = tail_chars(text, cap * MAX_CHARS_PER_TOKEN)
        first_line += text.count("\n", 0, len(text) - len(cut))
        text = cut
    else:
        text = head_chars(text, cap * MAX_CHARS_PER_TOKEN)
    lines = text.split("\n")
    order = reversed(lines) if from_end else lines
    total = kept = 0
    for line in order:
        cost = count(line) + 1  # its newline
        if total + cost > cap:
            break
        total, kept = total + cost, kept + 1
    if from_end:
        kept = _align(kept, len(lines), first_line, grid)

    def join(n: int) -> str:
        return "\n".join(lines[len(lines) - n:] if from_end else lines[:n]) if n else ""

    out = join(kept)
    used = count(out) if out else 0
    while kept and used > cap:  # rare: the per-line estimate was short; drop a tenth and check again
        kept -= max(1, kept // 10)
        out = join(kept)
        used = count(out) if out else 0
    return out, used


def fit_context(prefix: str, suffix: str, extra: tuple[tuple[str, str], ...], *, n_ctx: int, max_tokens: int,
                count: Callable[[str], int], budget: ContextBudget = ContextBudget(),
                language: str | None = None, use_suffix: bool = True, use_extra: bool = True,
                extra_first: bool = False) -> FittedContext:
    """Cut prefix, suffix and extra chunks to fit ``n_ctx - max_tokens`` (see the module docstring).
    ``use_suffix`` / ``use_extra``: whether the prompt has room for them at all (a prefix-only model
    reads no suffix), so they are not tokenized for nothing. ``extra_first``: the chunks are shown
    before the prefix as preceding files (``repository.render_preceding``), so they get up to
    ``extra_share`` of the budget before the prefix takes the rest, rather than what it leaves."""
    available = max(16, n_ctx - max_tokens - budget.reserve)
    if budget.prompt_tokens:
        available = max(16, min(available, budget.prompt_tokens - budget.reserve))
    window = available * MAX_CHARS_PER_TOKEN
    near_prefix, near_suffix_text = tail_chars(prefix, window), head_chars(suffix, window)
    prefix_line = prefix.count("\n", 0, len(prefix) - len(near_prefix))
    short_suffix = (near_suffix(near_prefix, near_suffix_text, budget.suffix_scope, language, budget.suffix_lines)
                    if use_suffix else "")
    suffix_cap = int(available * budget.suffix_share)
    new_suffix, used_suffix = _keep_lines(short_suffix, suffix_cap, count, from_end=False)
    prefix_cap = int(available * budget.prefix_share) + max(0, suffix_cap - used_suffix)
    kept_extra: list[tuple[str, str]] = []
    if extra_first and use_extra and extra:
        kept_extra, used_extra = _keep_chunks(extra, int(available * budget.extra_share), count)
        room = available
        if budget.extra_on_top:  # within the window, the prefix keeps the whole budget
            room = min(max(16, n_ctx - max_tokens - budget.reserve), available + used_extra)
        prefix_cap = room - used_suffix - used_extra
    elif not use_extra or not extra:
        prefix_cap = available - used_suffix  # nothing else competes for the window
    new_prefix, used_prefix = _keep_lines(near_prefix, prefix_cap, count, from_end=True, first_line=prefix_line,
                                          grid=budget.align_lines)
    # The cursor's line must survive even if it alone is over budget: cut it by characters.
    if not new_prefix and prefix:
        last = prefix.rsplit("\n", 1)[-1]
        new_prefix = last[-prefix_cap * 3:] if last else ""
        used_prefix = count(new_prefix) if new_prefix else 0
    if use_extra and not extra_first:
        kept_extra, _ = _keep_chunks(extra, available - used_suffix - used_prefix, count)
    truncated = new_prefix != prefix or new_suffix != short_suffix
    return FittedContext(new_prefix, new_suffix, tuple(kept_extra), truncated)


def _keep_chunks(extra: tuple[tuple[str, str], ...], room: int, count: Callable[[str], int],
                 ) -> tuple[list[tuple[str, str]], int]:
    """The chunks that fit in ``room`` tokens, in their order of priority (one that does not fit is
    skipped, a later smaller one may still fit), and the tokens they take with their headers."""
    kept, used = [], 0
    for name, text in extra:
        if room - used <= 2:
            break
        if len(name) + len(text) > (room - used) * MAX_CHARS_PER_TOKEN:
            continue  # cannot fit: not worth tokenizing
        cost = count(f"{name}\n{text}") + 4  # a header line and the blank line after the chunk
        if used + cost <= room:
            kept.append((name, text))
            used += cost
    return kept, used
