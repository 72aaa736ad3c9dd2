"""Where to cut the hole: character, line and syntax-node spans.

Every chooser returns ``(start, end)`` character offsets with ``start < end`` (a non-empty
middle) given a ``random.Random``; the caller owns the RNG so runs are reproducible.

- ``char``: two distinct cut points uniform over Unicode characters (BigCode, Dolma). A
  model trained this way copes with a cursor in the middle of a token.
- ``line``: a run of whole lines (1 to ``max_lines``), the seed's split and what a
  line-completion editor asks for.
- ``ast``: one whole tree-sitter node: a statement, a block, a call, a condition or an
  argument list, like SAFIM's syntax-aware holes. Falls back to ``line`` when the language
  has no grammar installed or the text does not parse into any candidate.
"""

from __future__ import annotations

import random

from fimkit.syntax import node_types, parser_for

SPANS = ("char", "line", "ast")


def char_span(text: str, rng: random.Random) -> tuple[int, int]:
    start, end = sorted(rng.sample(range(len(text) + 1), 2))
    return start, end


def line_span(text: str, rng: random.Random, max_lines: int = 4) -> tuple[int, int]:
    """A run of whole lines, each with its newline; short runs are likelier (1 line: ~50%)."""
    starts = [0]
    for i, ch in enumerate(text):
        if ch == "\n" and i + 1 < len(text):
            starts.append(i + 1)
    ends = starts[1:] + [len(text)]
    first = rng.randrange(len(starts))
    n = 1
    while n < max_lines and first + n < len(starts) and rng.random() < 0.5:
        n += 1
    return starts[first], ends[first + n - 1]


def ast_candidates(text: str, language: str) -> list[tuple[int, int]]:
    """Character spans of maskable syntax nodes, in document order."""
    parser = parser_for(language)
    wanted = node_types(language).maskable
    if parser is None or not wanted:
        return []
    data = text.encode("utf-8")
    tree = parser.parse(data)
    spans: list[tuple[int, int]] = []
    # Byte offsets from tree-sitter -> character offsets, computed once per document.
    char_at = _byte_to_char(text) if len(data) != len(text) else None
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type in wanted and node.end_byte > node.start_byte and not node.has_error:
            s, e = node.start_byte, node.end_byte
            spans.append((char_at[s], char_at[e]) if char_at else (s, e))
        stack.extend(reversed(node.children))
    return spans


def _byte_to_char(text: str) -> list[int]:
    table = []
    for i, ch in enumerate(text):
        table.extend([i] * len(ch.encode("utf-8")))
    table.append(len(text))
    return table


def ast_span(text: str, rng: random.Random, language: str) -> tuple[int, int]:
    candidates = ast_candidates(text, language)
    if not candidates:
        return line_span(text, rng)
    return candidates[rng.randrange(len(candidates))]


def choose_span(kind: str, text: str, rng: random.Random, language: str | None = None) -> tuple[int, int]:
    if kind == "char":
        return char_span(text, rng)
    if kind == "line":
        return line_span(text, rng)
    if kind == "ast":
        return ast_span(text, rng, language or "python")
    raise ValueError(f"unknown span kind {kind!r}; choose one of {', '.join(SPANS)}")
