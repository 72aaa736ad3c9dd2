"""What no anchor server does: a confidence gate and a parse check on each completion.

Confidence: the mean log-probability of the tokens shown. A base model that is guessing
writes low-probability tokens; hiding those completions trades a little recall for far
fewer wrong suggestions. The gate returns an empty completion with its reason.

Parse check: prefix + middle + suffix is parsed with tree-sitter and compared with
prefix + suffix. A completion that adds syntax errors the buffer did not have is trimmed
to its longest clean prefix of whole lines, or dropped. "Clean" is relative: a buffer the
user is in the middle of typing has errors already (``b = ``), and a good middle removes
them, so the bar is the fewest errors any whole-line prefix of the middle reaches, provided
that is no more than the buffer had.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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


@dataclass(frozen=True)
class ParseVerdict:
    middle: str
    trimmed: bool
    checked: bool  # False when no grammar is installed for the language


def parse_check(prefix: str, middle: str, suffix: str, language: str | None) -> ParseVerdict:
    """Keep the longest whole-line prefix of ``middle`` that adds no syntax error to the buffer."""
    if not language or not middle:
        return ParseVerdict(middle, False, False)
    baseline = error_count(prefix + suffix, language)
    if baseline is None:
        return ParseVerdict(middle, False, False)
    lines = middle.split("\n")
    counts = {n: error_count(prefix + "\n".join(lines[:n]) + suffix, language)
              for n in range(1, len(lines) + 1) if "\n".join(lines[:n]).strip()}
    if not counts or min(counts.values()) > baseline:
        return ParseVerdict("", True, True)
    best = max(n for n, c in counts.items() if c == min(counts.values()))
    return ParseVerdict("\n".join(lines[:best]), best < len(lines), True)
