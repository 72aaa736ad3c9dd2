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
from functools import lru_cache

SPANS = ("char", "line", "ast")

# Node types worth masking, per grammar. Blocks and bodies teach multi-line completion;
# conditions, calls and arguments teach the short mid-line holes editors see most.
AST_NODE_TYPES = {
    "python": {
        "expression_statement", "return_statement", "if_statement", "for_statement", "while_statement",
        "with_statement", "try_statement", "block", "call", "argument_list", "comparison_operator",
        "boolean_operator", "assignment", "augmented_assignment", "raise_statement", "list_comprehension",
        "dictionary", "lambda",
    },
    "javascript": {
        "expression_statement", "return_statement", "if_statement", "for_statement", "for_in_statement",
        "while_statement", "statement_block", "call_expression", "arguments", "binary_expression",
        "lexical_declaration", "variable_declaration", "arrow_function", "object", "array",
        "parenthesized_expression", "jsx_element", "template_string", "await_expression",
    },
    "sql": {
        "select", "from", "where", "join", "group_by", "order_by", "having", "window_specification",
        "case", "invocation", "binary_expression", "cte", "term",
    },
}
AST_NODE_TYPES["typescript"] = AST_NODE_TYPES["javascript"]

_GRAMMARS = {"python": "tree_sitter_python", "javascript": "tree_sitter_javascript", "sql": "tree_sitter_sql",
             "typescript": "tree_sitter_javascript"}


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


@lru_cache(maxsize=None)
def parser_for(language: str):
    """A tree-sitter parser for ``language``, or None when its grammar package is not installed."""
    module = _GRAMMARS.get(language)
    if module is None:
        return None
    try:
        import importlib

        import tree_sitter

        grammar = importlib.import_module(module)
        return tree_sitter.Parser(tree_sitter.Language(grammar.language()))
    except ImportError:
        return None


def ast_candidates(text: str, language: str) -> list[tuple[int, int]]:
    """Character spans of maskable syntax nodes, in document order."""
    parser = parser_for(language)
    wanted = AST_NODE_TYPES.get(language)
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
