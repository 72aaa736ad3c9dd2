"""Typing into a FIM prompt without evaluating it again: prompts anchored where typing began.

A PSM prompt is ``PRE prefix SUF suffix MID``: every character typed changes the prefix, which comes
before the suffix, so each keystroke would make the model read the whole suffix again (1.6 s a
keystroke measured with Qwen2.5-Coder 0.5B on 2 cores). But what the user types since the cursor came to
a place is, to a FIM model, the start of the middle: the prompt can stay ``PRE prefix-at-the-anchor SUF
suffix MID`` and grow only after the middle sentinel (``typed``), where the KV cache of everything
before is still valid. An SPM prompt (``PRE SUF suffix MID prefix``) already ends with the prefix, so
typing appends anyway; there the anchor keeps the fitted suffix and the prefix's first line fixed,
which a budget or a syntax tree recomputed on half-typed code could otherwise move. A new anchor is
taken at the start of the cursor's line (what llama.vscode sends as ``prompt``) or after its
indentation (the model profile says which: ``anchor_point``); it holds while the suffix, the file's
context and the request's options stay the same, the cursor only moves forward over text it typed,
and what was typed stays within ``MAX_TYPED_TOKENS`` and ``MAX_TYPED_LINES``. The fitted prefix,
suffix and context are kept with the anchor, so the prompt's beginning is the same text, token for
token, however the budget would have cut the longer prefix.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from fimkit.infer.context.budget import FittedContext

MAX_TYPED_TOKENS = 160  # then a new anchor: the window's budget reserves this much for what is typed
ANCHORED_MIDDLE = 256  # ...and at least this much for the middle, whatever a request's max_tokens
MAX_TYPED_LINES = 12
MAX_ANCHORS = 8  # recent places (files, typists) kept


def digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


@dataclass(frozen=True)
class Anchor:
    """Where typing began: the prefix up to there and the suffix (as digests: a buffer may be megabytes,
    an anchor is kept for minutes), what else the prompt depends on, and the fitted context."""

    prefix_len: int
    prefix_digest: bytes
    suffix_digest: bytes
    key: tuple  # file, language, client context, budget
    fitted: FittedContext

    @classmethod
    def at(cls, prefix: str, suffix: str, key: tuple, fitted: FittedContext) -> Anchor:
        return cls(len(prefix), digest(prefix), digest(suffix), key, fitted)


class Anchors:
    """Recent anchors, most recent last. Thread-safe (a batching engine prepares prompts in parallel)."""

    def __init__(self, size: int = MAX_ANCHORS):
        self.size = size
        self._items: OrderedDict[int, Anchor] = OrderedDict()
        self._next = 0
        self._lock = threading.Lock()

    def find(self, prefix: str, suffix: str, key: tuple, count: Callable[[str], int]) -> tuple[Anchor, str] | None:
        """The anchor this request continues, and the text typed since it; None when there is none."""
        with self._lock:
            items = list(self._items.items())
        suffix_digest = None
        for ident, anchor in reversed(items):
            if anchor.key != key or anchor.prefix_len > len(prefix):
                continue
            suffix_digest = suffix_digest or digest(suffix)
            if anchor.suffix_digest != suffix_digest or digest(prefix[:anchor.prefix_len]) != anchor.prefix_digest:
                continue
            typed = prefix[anchor.prefix_len:]
            if typed.count("\n") > MAX_TYPED_LINES or count(typed) > MAX_TYPED_TOKENS:
                return None  # typed too far from it: the next anchor starts at the cursor's line
            with self._lock:
                if ident in self._items:
                    self._items.move_to_end(ident)
            return anchor, typed
        return None

    def add(self, anchor: Anchor) -> None:
        with self._lock:
            self._items[self._next] = anchor
            self._next += 1
            while len(self._items) > self.size:
                self._items.popitem(last=False)


def line_start(prefix: str) -> int:
    """Where the cursor's line starts in ``prefix``."""
    return prefix.rfind("\n") + 1


def anchor_point(prefix: str, mode: str) -> int:
    """Where a new anchor ends in ``prefix``: the start of the cursor's line (``line``), or of its code,
    after the line's indentation (``code``: a model reads indentation better in the prefix)."""
    start = line_start(prefix)
    if mode == "code":
        line = prefix[start:]
        return start + len(line) - len(line.lstrip(" \t"))
    return start
