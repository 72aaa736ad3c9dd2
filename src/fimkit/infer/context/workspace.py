"""The workspace index: a project's files, outlined (``fimkit.infer.context.outline``), with a BM25 index over
their chunks (bm25s) and a table of definitions by name. Repository context (``repository``) asks
it two questions: where is NAME defined, and which chunks look like this code.

Files are listed as the corpus builder lists them (``git ls-files`` in a checkout, else a walk that
honours .gitignore files) and read with its filters (no binaries, minified or huge files). Memory
is bounded: at most ``max_files`` files, and chunk texts are not kept (a chunk is a line range,
read back when it is used). The outline of every file, with its size and mtime, is saved under
``$FIMKIT_HOME/workspaces/``: opening the index again re-reads only what changed. An editor's
unsaved buffer replaces the file on disk (``update``); the BM25 index is rebuilt after changes,
in the background, and lookups use the previous one meanwhile.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fimkit.data.corpus import CorpusConfig, is_text_name
from fimkit.errors import FimkitError, require
from fimkit.fileio import atomic_output, read_text_file
from fimkit.infer.context.outline import Chunk, Symbol, outline, words
from fimkit.paths import fimkit_home
from fimkit.syntax import language_for_path

INDEX_VERSION = 3  # raised whenever outlines change, so saved indexes are rebuilt
MAX_FILES = 20_000


@dataclass
class FileEntry:
    mtime_ns: int
    size: int
    chunks: list[Chunk]
    symbols: list[Symbol]
    terms: list[str]  # each chunk's BM25 terms, space-joined (kept so a reopened index needs no re-read)


@dataclass
class IndexStats:
    files: int = 0
    chunks: int = 0
    symbols: int = 0
    read: int = 0  # files (re)outlined by the last refresh
    seconds: float = 0.0
    dropped: dict[str, int] = field(default_factory=dict)


def cache_path(root: Path) -> Path:
    key = hashlib.sha256(str(root).encode("utf-8")).hexdigest()[:16]
    return fimkit_home() / "workspaces" / f"{root.name}-{key}" / "index.json.gz"


class WorkspaceIndex:
    """Open with ``WorkspaceIndex.open(root)``. Thread-safe: the server's request threads read it while
    the editor's notifications update it."""

    def __init__(self, root: str | Path, *, max_files: int = MAX_FILES, cache: Path | None = None):
        try:
            self.root = Path(root).expanduser().resolve(strict=True)
        except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop (Python 3.11)
            raise FimkitError(f"workspace {root}: not a folder ({exc}); give the project's root folder") from None
        if not self.root.is_dir():
            raise FimkitError(f"workspace {root}: not a folder")
        self.max_files = max_files
        self.cache = cache or cache_path(self.root)
        self.files: dict[str, FileEntry] = {}
        self.buffers: dict[str, str] = {}  # unsaved editor text, by path
        self.version = 0  # changes whenever what lookups see changes
        self._lock = threading.RLock()
        self._by_name: dict[str, list[tuple[str, Symbol]]] = {}
        # BM25 and the chunk each of its rows stands for, swapped together (readers take no lock).
        self._lexical: tuple[object, list[tuple[str, Chunk]]] = (None, [])
        self._dirty = False
        self._rebuilding: threading.Thread | None = None

    @classmethod
    def open(cls, root: str | Path, *, progress: bool = False, **kwargs) -> WorkspaceIndex:
        """Load the saved index, re-read what changed on disk, save it back."""
        index = cls(root, **kwargs)
        index.load()
        stats = index.refresh(progress=progress)
        if stats.read:
            index.save()
        return index

    # ---- building

    def refresh(self, *, progress: bool = False) -> IndexStats:
        """Bring the index up to date with the files on disk (only changed files are read)."""
        from tqdm import tqdm

        from fimkit.data.corpus import CorpusConfig, iter_sources, read_source

        started = time.perf_counter()
        stats = IndexStats()
        config = CorpusConfig(languages=(), min_file_bytes=1)  # a short module still defines names
        listed = []
        for path, rel, _ in iter_sources([str(self.root)]):
            if language_for_path(rel) is None:
                continue
            why = self._refuse(path, rel)
            if why:
                stats.dropped[why] = stats.dropped.get(why, 0) + 1
                continue
            if len(listed) >= self.max_files:
                stats.dropped["over max_files"] = stats.dropped.get("over max_files", 0) + 1
                continue
            listed.append((path, rel))
        fresh: dict[str, FileEntry] = {}
        for path, rel in tqdm(listed, desc="index", unit=" files", disable=not progress):
            try:
                st = path.stat()
            except OSError:
                continue
            old = self.files.get(rel)
            if old is not None and old.mtime_ns == st.st_mtime_ns and old.size == st.st_size:
                fresh[rel] = old
                continue
            text, reason = read_source(path, config)
            if text is None:
                stats.dropped[reason] = stats.dropped.get(reason, 0) + 1
                continue
            fresh[rel] = self._entry(text, rel, st.st_mtime_ns, st.st_size)
            stats.read += 1
        with self._lock:
            changed = stats.read or fresh.keys() != self.files.keys()
            self.files = fresh
            if changed or self._lexical[0] is None:
                self._rebuild()
        stats.files = len(fresh)
        stats.chunks = sum(len(e.chunks) for e in fresh.values())
        stats.symbols = sum(len(e.symbols) for e in fresh.values())
        stats.seconds = time.perf_counter() - started
        return stats

    def _refuse(self, path: Path, rel: str) -> str | None:
        """Why a listed file must not be read, or None: a name that is not text, or a link that loops,
        is broken or leads out of the workspace (its target could be anything on the machine)."""
        if not is_text_name(rel):
            return "file name not UTF-8"
        try:
            real = path.resolve(strict=True)
        except (OSError, RuntimeError):  # RuntimeError: a symlink loop (Python 3.11)
            return "broken or looping link"
        if not real.is_relative_to(self.root):
            return "link outside the workspace"
        return None

    def _inside(self, rel: str) -> Path | None:
        """The file ``rel`` names, when it really lies inside the root (links followed), else None."""
        if not is_text_name(rel):
            return None
        try:
            real = (self.root / rel).resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        return real if real.is_relative_to(self.root) else None

    @staticmethod
    def _entry(text: str, rel: str, mtime_ns: int, size: int) -> FileEntry:
        chunks, symbols = outline(text, language_for_path(rel))
        lines = text.split("\n")
        # Each term once per chunk: term frequency barely matters in code search (BM25 saturates it)
        # and the index of a 10k-file tree stays a few hundred MB.
        terms = [" ".join(dict.fromkeys(words("\n".join(lines[c.start:c.end])))) for c in chunks]
        return FileEntry(mtime_ns, size, chunks, symbols, terms)

    def update(self, path: str | Path, text: str | None, *, rebuild: bool = True) -> None:
        """An editor's buffer for ``path`` (None: it was closed, the disk is right again). Definitions
        are current at once; BM25 catches up in the background (``rebuild``; editors pass False on
        each keystroke and True on save, since a rebuild reads every chunk of the project)."""
        rel = self.relative(path)
        if rel is None or language_for_path(rel) is None:
            return
        with self._lock:
            if text is None:
                self.buffers.pop(rel, None)
                return
            self.buffers[rel] = text
            self.files[rel] = self._entry(text, rel, -1, len(text))  # -1: re-read from disk on refresh
            self._index_names()
            self.version += 1
            self._dirty = True
        if rebuild:
            self._rebuild_later()

    def _rebuild(self) -> None:
        bm25s = require("bm25s", extra="data", purpose="repository context (BM25)")
        from bm25s.tokenization import Tokenized

        refs, corpus, vocab = [], [], {}
        for rel, entry in self.files.items():
            for chunk, terms in zip(entry.chunks, entry.terms):
                if terms:
                    refs.append((rel, chunk))
                    # Term ids from one dict: each list holds pointers to shared ints, not new strings.
                    corpus.append([vocab.setdefault(w, len(vocab)) for w in terms.split()])
        bm25 = None
        if corpus:
            bm25 = bm25s.BM25()
            bm25.index(Tokenized(ids=corpus, vocab=vocab), show_progress=False)
        del corpus
        with self._lock:
            self._lexical, self._dirty = (bm25, refs), False
            self._index_names()
            self.version += 1

    def _rebuild_later(self) -> None:
        if self._rebuilding is not None and self._rebuilding.is_alive():
            return

        def run():
            time.sleep(1.0)  # a burst of keystrokes is one rebuild
            while self._dirty:
                self._rebuild()

        self._rebuilding = threading.Thread(target=run, name="fimkit-index", daemon=True)
        self._rebuilding.start()

    def _index_names(self) -> None:
        by_name: dict[str, list[tuple[str, Symbol]]] = {}
        for rel, entry in self.files.items():
            for sym in entry.symbols:
                by_name.setdefault(sym.name, []).append((rel, sym))
        self._by_name = by_name

    # ---- lookups

    def relative(self, path: str | Path | None) -> str | None:
        """``path`` relative to the root (None when it is outside it)."""
        if not path or not is_text_name(str(path)):
            return None
        p = Path(str(path))
        if not p.is_absolute():
            return p.as_posix()
        try:
            return p.resolve().relative_to(self.root).as_posix()
        except (ValueError, OSError, RuntimeError):  # outside the root, or a looping link
            return None

    def definitions(self, name: str) -> list[tuple[str, Symbol]]:
        return self._by_name.get(name, [])

    def search(self, text: str, k: int, *, exclude: str | None = None) -> list[tuple[str, Chunk, float]]:
        """The ``k`` chunks most like ``text`` by BM25, best first, none from ``exclude``."""
        bm25, refs = self._lexical
        query = list(dict.fromkeys(words(text)))
        if bm25 is None or not query or k <= 0:
            return []
        import numpy as np

        scores = bm25.get_scores(query)
        top = np.argpartition(-scores, min(len(scores) - 1, k * 4))[: k * 4]
        out = []
        for i in top[np.argsort(-scores[top])]:
            rel, chunk = refs[i]
            if scores[i] <= 0 or rel == exclude:
                continue
            out.append((rel, chunk, float(scores[i])))
            if len(out) == k:
                break
        return out

    def text(self, rel: str, chunk: Chunk | None = None) -> str:
        """A file's text (its unsaved buffer when there is one), or one chunk of it."""
        text = self.buffers.get(rel)
        if text is None:
            real = self._inside(rel)
            if real is None:  # replaced by a link out of the workspace since it was indexed
                return ""
            try:  # the careful reader, with the index's own size limit: a file swapped for a FIFO never blocks
                text = read_text_file(real, "source", max_bytes=CorpusConfig.max_file_bytes)
            except FimkitError:
                return ""
        if chunk is None:
            return text
        return "\n".join(text.split("\n")[chunk.start:chunk.end])

    # ---- persistence

    def save(self) -> None:
        data = {"version": INDEX_VERSION, "root": str(self.root), "files": {
            rel: {"mtime_ns": e.mtime_ns, "size": e.size, "chunks": [[c.start, c.end] for c in e.chunks],
                  "symbols": [asdict(s) for s in e.symbols], "terms": e.terms}
            for rel, e in self.files.items() if e.mtime_ns >= 0}}
        self.cache.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(self.cache) as tmp, gzip.open(tmp, "wt", encoding="utf-8") as fh:
            json.dump(data, fh, separators=(",", ":"))

    def load(self) -> None:
        """The saved outlines, if any and of this version; a damaged cache is ignored (rebuilt)."""
        try:
            with gzip.open(self.cache, "rt", encoding="utf-8") as fh:
                data = json.load(fh)
            if data.get("version") != INDEX_VERSION or data.get("root") != str(self.root):
                return
            self.files = {rel: FileEntry(e["mtime_ns"], e["size"], [Chunk(*c) for c in e["chunks"]],
                                         [Symbol(**s) for s in e["symbols"]], e["terms"])
                          for rel, e in data["files"].items()}
        except (OSError, ValueError, KeyError, TypeError, EOFError):
            self.files = {}

    def size_bytes(self) -> int:
        return self.cache.stat().st_size if self.cache.exists() else 0
