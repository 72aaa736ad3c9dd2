"""Languages and their tree-sitter grammars: the one table data, inference and evaluation read.

``languages.toml`` (beside this module) names each language's file extensions, editor aliases,
grammar package and the node types each part of fimkit looks for (see its header). Parsers are
built lazily and cached; a language whose grammar is not installed simply has no parser, and
every caller falls back to plain-text rules.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources


@dataclass(frozen=True)
class NodeTypes:
    """Tree-sitter node types by the role fimkit gives them (see languages.toml)."""

    enclosing: frozenset[str] = frozenset()
    functions: frozenset[str] = frozenset()
    simple: frozenset[str] = frozenset()
    compound: frozenset[str] = frozenset()
    conditional: frozenset[str] = frozenset()
    call: str | None = None
    arguments: str | None = None
    maskable: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Language:
    name: str
    extensions: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    grammar: str | None = None
    nodes: NodeTypes = field(default_factory=NodeTypes)
    comment: str = "#"


def _nodes(row: dict) -> NodeTypes:
    sets = {k: frozenset(v) for k, v in row.items() if isinstance(v, list)}
    return NodeTypes(**sets, call=row.get("call"), arguments=row.get("arguments"))


@lru_cache(maxsize=1)
def languages() -> dict[str, Language]:
    """Every language fimkit knows, by name, in the table's order."""
    table = tomllib.loads(resources.files("fimkit").joinpath("languages.toml").read_text(encoding="utf-8"))
    out = {}
    for name, row in table.items():
        nodes_row = table[row["nodes_from"]].get("nodes", {}) if "nodes_from" in row else row.get("nodes", {})
        out[name] = Language(name, tuple(row["extensions"]), tuple(row.get("aliases", ())), row.get("grammar"),
                             _nodes(nodes_row), row.get("comment", "#"))
    return out


@lru_cache(maxsize=1)
def extension_table() -> dict[str, str]:
    """File extension (lower case, with its dot) -> language name."""
    return {ext: lang.name for lang in languages().values() for ext in lang.extensions}


def language_for_path(path: str) -> str | None:
    """The language of a file name by its extension, or None."""
    dot = path.rfind(".")
    return extension_table().get(path[dot:].lower()) if dot >= 0 else None


def language_of(language: str | None = None, filename: str | None = None) -> str | None:
    """A request's language: an explicit name or editor alias wins, else the file's extension.
    An unknown explicit name is kept as given (lower case): it simply has no grammar."""
    if language:
        lang = language.lower()
        for row in languages().values():
            if lang == row.name or lang in row.aliases:
                return row.name
        return lang
    return language_for_path(filename) if filename else None


def node_types(language: str | None) -> NodeTypes:
    row = languages().get(language or "")
    return row.nodes if row is not None else NodeTypes()


@cache
def parser_for(language: str | None):
    """A tree-sitter parser for ``language``, or None when it has no grammar or the grammar package
    is not installed."""
    row = languages().get(language or "")
    if row is None or row.grammar is None:
        return None
    try:
        import importlib

        import tree_sitter

        grammar = importlib.import_module(row.grammar)
        return tree_sitter.Parser(tree_sitter.Language(grammar.language()))
    except ImportError:
        return None


def error_count(text: str, language: str | None) -> int | None:
    """Number of ERROR/MISSING nodes tree-sitter finds in ``text``, or None without a grammar."""
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


def walk(node):
    """Every node under ``node`` (itself included), in document order."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.children))



# Languages told apart by parsing (each with a grammar of its own; TypeScript reads as JavaScript).
GUESSABLE = ("python", "javascript", "sql")
GUESS_CHARS = 3000  # around the cursor: enough lines to tell, cheap to parse three times
_SQL_KEYWORD = re.compile(r"\b(select|insert|update|delete|create|alter|with)\b", re.I)


def guess_language(before: str, after: str = "") -> str | None:
    """The language of a buffer whose client named none (no language, no file name): the grammar that
    parses the code around the cursor with clearly the fewest errors, or None when none does (plain
    text, a language without a grammar here, too little code to tell)."""
    text = before[-GUESS_CHARS:] + after[:GUESS_CHARS // 3]
    code_lines = sum(1 for line in text.split("\n") if line.strip())
    if code_lines < 2:
        return None
    # tree-sitter's SQL grammar accepts prose with few errors: SQL needs a statement keyword as well.
    candidates = [n for n in GUESSABLE if n != "sql" or _SQL_KEYWORD.search(text)]
    scores = sorted((n, name) for name in candidates if (n := error_count(text, name)) is not None)
    if not scores:
        return None
    (best, name), runner_up = scores[0], scores[1][0] if len(scores) > 1 else None
    if runner_up is not None and runner_up <= best:
        return None  # no grammar is clearly better
    return name if best <= max(1, code_lines // 6) else None
