"""Held-out holes cut from your own code: the completions you actually need, mid-function.

Each hole lies inside a function body (never at the end of a file, never across functions):
- ``line``: one simple statement, from its first character to the end of its line;
- ``block``: a whole compound statement (if/for/while/with/try), several lines;
- ``body``: a whole function body;
- ``condition``: the condition of an if/while (text stays right of the cursor: mid-line);
- ``arguments``: the arguments of a call, between its parentheses (mid-line);
- ``typed``: where a user stops typing: a one-line statement cut at a random character (never its
  first nor past its last), the target the rest of the line. Each is labelled by what precedes the
  cursor (``position``): mid-identifier, end of an identifier, after a dot, after an operator or
  bracket, after a space. Cut only when asked for (``typed:PATH``), so the other kinds' task sets
  stay the same.
Files are walked like the corpus builder does (.gitignore respected) and sorted; the choice of
holes is seeded, so the same seed and code give the same tasks. Scored by exact match, edit
similarity and whether the filled-in file still parses.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from fimkit.data.corpus import iter_sources
from fimkit.errors import FimkitError
from fimkit.eval.task import Task
from fimkit.syntax import extension_table, node_types, parser_for, walk

KINDS = ("line", "block", "body", "condition", "arguments")
TYPED = "typed"
POSITIONS = ("mid-identifier", "end-of-identifier", "after-dot", "after-operator", "after-space")


@dataclass(frozen=True)
class HoleConfig:
    """per_file: most holes per file, one per kind in turn (kinds come round again only when per_file
    is larger than the number of kinds). max_files: files to use. max_middle_lines: longest hole.
    kinds: which KINDS to cut."""

    per_file: int = 4
    max_files: int = 300
    max_middle_lines: int = 15
    seed: int = 0
    languages: tuple[str, ...] = ("python", "javascript")
    kinds: tuple[str, ...] = KINDS


def candidates(code: bytes, language: str) -> dict[str, list[tuple[int, int]]]:
    """Byte spans of each hole kind, all inside function bodies."""
    parser, nodes = parser_for(language), node_types(language)
    if parser is None or not nodes.functions:
        return {}
    tree = parser.parse(code)
    if tree.root_node.has_error:
        return {}
    found: dict[str, list[tuple[int, int]]] = {k: [] for k in (*KINDS, TYPED)}
    for fn in walk(tree.root_node):
        if fn.type not in nodes.functions:
            continue
        body = fn.child_by_field_name("body")
        if body is None or body.end_byte - body.start_byte < 2 or "\n" not in code[body.start_byte : body.end_byte].decode("utf-8", "ignore"):
            continue
        lo, hi = body.start_byte, body.end_byte
        found["body"].append((lo, hi))
        for node in walk(body):
            if node is body or node.start_byte < lo or node.end_byte > hi:
                continue
            if node.type in nodes.simple and node.start_point[0] == node.end_point[0]:
                found["line"].append((node.start_byte, node.end_byte))
                end = code.find(b"\n", node.end_byte)
                found[TYPED].append((node.start_byte, len(code) if end < 0 else end))
            elif node.type in nodes.compound:
                found["block"].append((node.start_byte, node.end_byte))
            if node.type in nodes.conditional:
                cond = node.child_by_field_name("condition")
                if cond is not None:
                    found["condition"].append((cond.start_byte, cond.end_byte))
            if node.type == nodes.call:
                args = node.child_by_field_name("arguments")
                if args is not None and args.type == nodes.arguments and args.end_byte - args.start_byte > 2:
                    found["arguments"].append((args.start_byte + 1, args.end_byte - 1))
    return found


def holes_in(code: bytes, rel: str, language: str, config: HoleConfig, rng: random.Random,
             lines: set[int] | None = None) -> list[Task]:
    """Holes of one file; with ``lines`` (0-based line numbers), only holes lying wholly on them, such
    as the lines written after a commit."""
    found = candidates(code, language)
    if lines is not None:
        found = {k: [(a, b) for a, b in spans if _on_lines(code, a, b, lines)] for k, spans in found.items()}
    kinds = [k for k in (*KINDS, TYPED) if k in config.kinds and found.get(k)]
    rng.shuffle(kinds)
    tasks: list[Task] = []
    used: set[tuple[int, int]] = set()
    # Kinds come round again only when more holes than kinds are asked for: task sets cut before
    # (per_file <= kinds) stay the same, so earlier reports remain comparable.
    rounds = config.per_file if config.per_file > len(config.kinds) else min(config.per_file, len(kinds))
    for i in range(rounds):
        if not kinds:
            break
        kind = kinds[i % len(kinds)]
        spans = [span for span in found[kind] if span not in used] if i >= len(kinds) else found[kind]
        if not spans:
            continue
        start, end = spans[rng.randrange(len(spans))]
        used.add((start, end))
        position = ""
        if kind == TYPED:
            cut = typed_cursor(code, start, end, rng)
            if cut is None:
                continue
            start, position = cut
        middle = code[start:end].decode("utf-8")
        if not middle.strip() or middle.count("\n") >= config.max_middle_lines:
            continue
        tasks.append(Task(f"{rel}:{kind}:{start}", code[:start].decode("utf-8"), code[end:].decode("utf-8"),
                          middle, language=language, kind=kind, path=rel, position=position))
    return tasks


def typed_cursor(code: bytes, start: int, end: int, rng: random.Random) -> tuple[int, str] | None:
    """A cursor inside the line ``code[start:end]`` (after its first character, before its last
    non-blank one, on a character boundary) and what precedes it; None for a line too short to cut."""
    line = code[start:end].decode("utf-8").rstrip()
    if len(line) < 3:
        return None
    at = rng.randrange(1, len(line))
    return start + len(line[:at].encode("utf-8")), cursor_position(line[:at], line[at:])


def cursor_position(before: str, after: str) -> str:
    """What the user just typed at a cursor: one of POSITIONS."""
    last, nxt = before[-1], after[:1]
    word = last.isalnum() or last == "_"
    if word:
        return "mid-identifier" if (nxt.isalnum() or nxt == "_") else "end-of-identifier"
    if last == ".":
        return "after-dot"
    if last in " \t":
        return "after-space"
    return "after-operator"


def _on_lines(code: bytes, start: int, end: int, lines: set[int]) -> bool:
    first = code.count(b"\n", 0, start)
    return all(n in lines for n in range(first, first + code.count(b"\n", start, end) + 1))


def cut_holes(path: str, config: HoleConfig = HoleConfig()) -> list[Task]:
    table = extension_table()
    rng = random.Random(config.seed)
    tasks: list[Task] = []
    files = sorted((p, rel) for p, rel, _ in iter_sources([path]) if table.get(p.suffix.lower()) in config.languages)
    for path_, rel in files[: config.max_files]:
        try:
            code = path_.read_bytes()
            code.decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        tasks += holes_in(code, rel, table[path_.suffix.lower()], config, rng)
    if not tasks:
        raise FimkitError(f"no holes could be cut from {path}: it needs Python or JavaScript files with functions")
    return tasks
