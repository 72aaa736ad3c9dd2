"""One file's outline for repository context: its chunks (whole definitions, else line windows) and
its definitions (functions, classes, methods, module constants) rendered as stubs, the way a
``.pyi`` file shows an API: what a call's arguments must match, without the bodies.

Definitions come from tree-sitter where the language has a Python-like grammar; every other file
is chunked by line windows and has no definitions (BM25 still finds its chunks).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fimkit.syntax import parser_for

CHUNK_LINES = 40  # a chunk's most lines: a definition longer than this is cut into windows
STUB_CHARS = 160  # a constant's stub: its first line, cut here
MAX_METHODS = 12  # methods listed in a class's stub

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
# Words in nearly every chunk of Python or JavaScript: they only blur lexical similarity.
STOPWORDS = frozenset(
    ["self", "cls", "def", "class", "return", "if", "else", "elif", "for", "while", "in", "is", "not", "and", "or", "none", "true", "false", "import", "from", "as", "with", "try", "except", "finally", "raise", "pass", "break", "continue", "lambda", "yield", "async", "await", "const", "let", "var", "function", "new", "this", "null", "undefined", "the", "a", "an", "of", "to"]
)


@dataclass(frozen=True, slots=True)
class Chunk:
    start: int  # first line (0-based)
    end: int  # one past the last line


@dataclass(frozen=True, slots=True)
class Symbol:
    name: str
    kind: str  # "function", "class", "method" or "constant"
    line: int
    stub: str  # how it is shown to the model
    owner: str | None = None  # a method's class


def words(text: str) -> list[str]:
    """BM25 terms: identifiers, lowercased, and their snake_case / camelCase parts."""
    out = []
    for ident in _IDENT.findall(text):
        low = ident.lower()
        if low in STOPWORDS or len(low) < 2:
            continue
        out.append(low)
        parts = [p.lower() for p in _WORD.findall(ident)]
        if len(parts) > 1:
            out.extend(p for p in parts if len(p) > 1 and p not in STOPWORDS)
    return out


def identifiers(text: str) -> list[str]:
    return _IDENT.findall(text)


def _windows(start: int, end: int) -> list[Chunk]:
    return [Chunk(s, min(end, s + CHUNK_LINES)) for s in range(start, end, CHUNK_LINES)]


def outline(text: str, language: str | None) -> tuple[list[Chunk], list[Symbol]]:
    """Chunks covering the file and its definitions."""
    n_lines = text.count("\n") + 1
    parser = parser_for(language) if language == "python" else None
    if parser is None:
        return _windows(0, n_lines), []
    data = text.encode("utf-8")
    root = parser.parse(data).root_node
    chunks: list[Chunk] = []
    symbols: list[Symbol] = []
    covered = 0  # lines before this are in a chunk

    def src(node) -> str:
        return data[node.start_byte:node.end_byte].decode("utf-8", "replace")

    def header(node) -> str:
        """The definition's first line(s) up to its colon, on one line (comments after it dropped)."""
        colons = [c for c in node.children if c.type == ":"]
        end = colons[-1].end_byte if colons else node.end_byte
        return " ".join(data[node.start_byte:end].decode("utf-8", "replace").split())

    for child in root.children:
        node = child
        if node.type == "decorated_definition":
            node = node.child_by_field_name("definition") or node
        name_node = node.child_by_field_name("name")
        line = child.start_point[0]
        if node.type == "function_definition" and name_node is not None:
            symbols.append(Symbol(src(name_node), "function", line, header(node) + " ..."))
        elif node.type == "class_definition" and name_node is not None:
            cls = src(name_node)
            fields, methods = [], []
            body = node.child_by_field_name("body")
            for member in body.children if body is not None else ():
                inner = member.child_by_field_name("definition") if member.type == "decorated_definition" else member
                if inner is not None and inner.type == "function_definition":
                    mname = inner.child_by_field_name("name")
                    if mname is not None:
                        stub = "    " + header(inner) + " ..."
                        methods.append(stub)
                        symbols.append(Symbol(src(mname), "method", member.start_point[0],
                                              f"{header(node)}\n{stub}", cls))
                elif member.type == "expression_statement" and member.children[0].type == "assignment":
                    fields.append("    " + src(member).split("\n", 1)[0][:STUB_CHARS])  # dataclass fields...
            members = fields[:MAX_METHODS] + methods[:MAX_METHODS]
            symbols.append(Symbol(cls, "class", line, "\n".join([header(node), *members]) if members
                                  else header(node) + " ..."))
        elif node.type == "expression_statement" and node.children and node.children[0].type == "assignment":
            target = node.children[0].child_by_field_name("left")
            if target is not None and target.type == "identifier":
                first = src(node).split("\n", 1)[0][:STUB_CHARS]
                symbols.append(Symbol(src(target), "constant", line, first))
            continue  # assignments stay in the windows between definitions
        else:
            continue
        start, end = child.start_point[0], child.end_point[0] + 1
        if start > covered:
            chunks += _windows(covered, start)
        chunks += _windows(start, end)
        covered = end
    if covered < n_lines:
        chunks += _windows(covered, n_lines)
    return chunks, symbols
