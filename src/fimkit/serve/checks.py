"""What no anchor server does: a confidence gate and a parse check on each completion.

Confidence: the mean log-probability of the tokens shown. A base model that is guessing
writes low-probability tokens; hiding those completions trades a little recall for far
fewer wrong suggestions. The gate returns an empty completion with its reason.

Parse check: ``error_count`` parses prefix + middle + suffix with tree-sitter; the shaper
(``fimkit.serve.shaping``) releases a middle only up to the longest whole-line prefix that
leaves the buffer with no more errors than it had. "No more" is relative: a buffer the user is
typing has errors already (``b = ``), and a good middle removes them.
"""

from __future__ import annotations

import math

from fimkit.data.spans import parser_for

LANGUAGE_BY_EXTENSION = {
    ".py": "python", ".pyi": "python", ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript",
    ".jsx": "javascript", ".ts": "typescript", ".tsx": "typescript", ".sql": "sql",
}
LANGUAGE_ALIASES = {"py": "python", "python3": "python", "js": "javascript", "javascriptreact": "javascript",
                    "typescriptreact": "typescript", "ts": "typescript"}


def language_of(language: str | None = None, filename: str | None = None) -> str | None:
    if language:
        lang = language.lower()
        return LANGUAGE_ALIASES.get(lang, lang)
    if filename:
        for ext, lang in LANGUAGE_BY_EXTENSION.items():
            if filename.lower().endswith(ext):
                return lang
    return None


def mean_logprob(logprobs: list[float]) -> float | None:
    finite = [lp for lp in logprobs if lp is not None and math.isfinite(lp)]
    return sum(finite) / len(finite) if finite else None


def error_count(text: str, language: str) -> int | None:
    """Number of ERROR/MISSING nodes tree-sitter finds, or None without a grammar for ``language``."""
    parser = parser_for(language)
    if parser is None:
        return None
    tree = parser.parse(text.encode("utf-8"))
    count, stack = 0, [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            count += 1
        if node.has_error:
            stack.extend(node.children)
    return count
