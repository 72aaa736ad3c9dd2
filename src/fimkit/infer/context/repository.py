"""Repository context: what of the rest of the project a completion's prompt shows, chosen here for
every API (``RepoContext.gather``) and fitted by ``fimkit.infer.context.budget``.

Three sources, in priority order:
1. definitions of the names at the cursor, nearest first (what a call's arguments must match, the
   attributes a class has), as stubs, from the workspace index for other files and from the
   request's own text for the current file (so a hole never sees itself, and an unsaved buffer
   counts as it is); names defined in many places are too ambiguous to help and are skipped;
2. chunks the client sent (recent edits, open files, clipboard: ``input_extra``, Tabby's snippets),
   near-duplicates dropped;
3. chunks of other files most like the code before the cursor (BM25).

A prefix-only model reads them as the files before the current one in a concatenated repository,
each under a path comment in the language's own syntax (``render_preceding``); a FIM model with a
file separator gets them as separate files (``fimkit.infer.render``). What is chosen depends only on
the file, the cursor's 16-line block and the index's version, so while the user types in one place
the prompt's beginning, and its KV cache, stay the same.
"""

from __future__ import annotations

import builtins
import hashlib
import keyword
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, replace

from fimkit.infer.context.budget import ALIGN_LINES
from fimkit.infer.context.outline import identifiers, outline, words
from fimkit.infer.context.workspace import WorkspaceIndex
from fimkit.syntax import language_for_path, languages

REFRESH_S = 60.0  # a served workspace is checked for changed files this often
NEAR_LINES = 30  # the code "at the cursor": names are taken from these last lines of the prefix
MAX_DEFINITIONS = 8
MAX_SIMILAR = 2
AMBIGUOUS = 4  # a name defined in more places than this is skipped
DUPLICATE = 0.9  # Jaccard similarity of word sets above which a client chunk is a near-duplicate
_SKIP = frozenset(keyword.kwlist) | frozenset(dir(builtins)) | {"self", "cls"}
_IMPORT = re.compile(r"^\s*(?:from\s+[\w.]+\s+)?import\s+\(?([^)\n]+)", re.M)


@dataclass(frozen=True)
class ContextChunk:
    path: str
    text: str
    source: str  # "definitions", "client" or "similar"

    def as_extra(self) -> tuple[str, str]:
        return self.path, self.text


class RepoContext:
    """Repository context over an optional workspace index. Thread-safe; cheap to call per request."""

    def __init__(self, index: WorkspaceIndex | None = None, *, max_definitions: int = MAX_DEFINITIONS,
                 max_similar: int = MAX_SIMILAR, memo: int = 64):
        self.index = index
        self.max_definitions, self.max_similar = max_definitions, max_similar
        self._memo: OrderedDict[tuple, tuple[ContextChunk, ...]] = OrderedDict()
        self._memo_size = memo
        self._lock = threading.Lock()

    @property
    def name(self) -> str | None:
        """The repository's name as a repository-level prompt shows it: its folder's."""
        return self.index.root.name if self.index is not None else None

    def open_later(self, root: str, log=None, refresh_s: float = REFRESH_S) -> threading.Thread:
        """Index ``root`` in the background; until it is ready, completions get no workspace context.
        Then look for changed files every ``refresh_s`` seconds (only those are read again)."""

        def run():
            try:
                self.index = WorkspaceIndex.open(root)
                while refresh_s > 0:
                    time.sleep(refresh_s)
                    if self.index.refresh().read:
                        self.index.save()
            except Exception as exc:  # noqa: BLE001 - a broken workspace must not stop the server
                if log:
                    log(f"workspace {root} not indexed: {exc}")

        thread = threading.Thread(target=run, name="fimkit-workspace", daemon=True)
        thread.start()
        return thread

    def gather(self, prefix: str, suffix: str, filename: str | None, language: str | None,
               client: tuple[tuple[str, str], ...] = (), *, cursor_line: int | None = None,
               ) -> tuple[ContextChunk, ...]:
        """The chunks for a cursor, best first (see the module docstring). ``prefix`` may be the end of
        the file's prefix only; ``cursor_line`` is then the cursor's line in the whole file."""
        rel = self.index.relative(filename) if self.index is not None and filename else filename
        if cursor_line is None:
            cursor_line = prefix.count("\n")
        block = cursor_line // ALIGN_LINES
        # Without a file name the file is known only by its text: the lines above the cursor's line and
        # the text after the cursor stand for it (they stay the same while the user types on the line),
        # so two users' unnamed buffers never share an entry.
        unnamed = None if rel else _text_key(prefix, suffix)
        key = (rel, unnamed, block, self.index.version if self.index is not None else 0, client)
        with self._lock:
            if key in self._memo:
                self._memo.move_to_end(key)
                return self._memo[key]
        found = self._definitions(prefix, suffix, rel, language, cursor_line)
        found += _client_chunks(client)
        if self.index is not None:
            near = "\n".join(prefix.split("\n")[-NEAR_LINES:])
            seen = {(c.path, c.text) for c in found}
            for path, chunk, _ in self.index.search(near, self.max_similar + 2, exclude=rel):
                if len([c for c in found if c.source == "similar"]) >= self.max_similar:
                    break
                text = self.index.text(path, chunk)
                if text.strip() and (path, text) not in seen:
                    found.append(ContextChunk(path, text, "similar"))
        chunks = tuple(found)
        with self._lock:
            self._memo[key] = chunks
            while len(self._memo) > self._memo_size:
                self._memo.popitem(last=False)
        return chunks

    def _definitions(self, prefix: str, suffix: str, rel: str | None, language: str | None,
                     cursor_line: int) -> list[ContextChunk]:
        """Stubs of the names used near the cursor and imported, nearest first, grouped per file."""
        lines = prefix.split("\n")
        near = "\n".join(lines[-NEAR_LINES:])
        names = list(dict.fromkeys(reversed(identifiers(near))))  # nearest first
        names += [n for m in _IMPORT.finditer(prefix) for n in identifiers(m.group(1)) if n not in names]
        names = [n for n in names if n not in _SKIP and len(n) > 2]
        # The current file, from the request's text: definitions the prompt does not show (below the
        # cursor, or far above it), never the hole's own code.
        local: dict[str, list] = {}
        if language == "python":
            shown_from = max(0, cursor_line - 2 * NEAR_LINES)
            # The index's outline of this file when it has one (kept current by the editor's
            # notifications; its stubs are signatures, which no hole inside a body can contain),
            # else one parse of the request's text.
            entry = self.index.files.get(rel) if self.index is not None and rel else None
            if entry is not None:
                symbols = entry.symbols
            else:  # the request's text: its lines count from the start of the (possibly cut) prefix
                first = cursor_line - (len(lines) - 1)
                symbols = [replace(s, line=s.line + first) for s in outline(prefix + suffix, language)[1]]
            for s in symbols:
                if not shown_from <= s.line <= cursor_line + 1:
                    local.setdefault(s.name, []).append((rel or "", s))
        by_file: dict[str, list[str]] = {}
        taken = 0
        for name in names:
            if taken >= self.max_definitions:
                break
            found = local.get(name, [])
            if self.index is not None:
                found = found + [(p, s) for p, s in self.index.definitions(name) if p != rel]
            if not found or len(found) > AMBIGUOUS:
                continue
            for path, sym in found[:2]:
                stubs = by_file.setdefault(path, [])
                if sym.stub not in stubs:
                    stubs.append(sym.stub)
                    taken += 1
        return [ContextChunk(path, "\n".join(stubs), "definitions") for path, stubs in by_file.items()]


def _text_key(prefix: str, suffix: str) -> str:
    above = prefix.rsplit("\n", 1)[0] if "\n" in prefix else ""
    return hashlib.blake2b("\0".join((above, suffix)).encode("utf-8", "replace"), digest_size=16).hexdigest()


def _client_chunks(client: tuple[tuple[str, str], ...]) -> list[ContextChunk]:
    kept: list[tuple[ContextChunk, set[str]]] = []
    for name, text in client:
        if not text.strip():
            continue
        ws = set(words(text))
        if any(ws and other and len(ws & other) / len(ws | other) > DUPLICATE for _, other in kept):
            continue
        kept.append((ContextChunk(name or "untitled", text, "client"), ws))
    return [c for c, _ in kept]


def render_preceding(chunks: tuple[tuple[str, str], ...], filename: str | None, language: str | None) -> str:
    """Chunks as the files before the current one, each under a path comment, then the current file's
    own path comment; what a base model saw in concatenated repositories. Lowest priority first, so
    the most relevant text sits nearest the cursor."""
    if not chunks:
        return ""
    lang = language or (language_for_path(filename) if filename else None)
    mark = languages()[lang].comment if lang in languages() else "#"
    parts = [f"{mark} {path}\n{text.rstrip()}\n\n" for path, text in reversed(chunks)]
    return "".join(parts) + (f"{mark} {filename}\n" if filename else "")
