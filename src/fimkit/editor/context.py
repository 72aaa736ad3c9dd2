"""Client-side logic shared by fimkit's editor integrations (the language server; the VS Code
extension implements the same rules in TypeScript, tested against the same cases).

- ``budget``: prefix and suffix around the cursor, capped in lines and characters, cut at
  line boundaries (the nearest code is kept).
- ``CompletionCache``: an LRU keyed by (prefix, suffix) that also answers when the user has
  typed the beginning of a cached completion: the rest is returned without a request.
- ``looks_binary``: buffers an editor should never send (NUL bytes, huge lines).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from fimkit.infer.context.budget import ALIGN_LINES


@dataclass(frozen=True)
class Budget:
    """max_prefix_lines / max_prefix_chars: context before the cursor; the suffix likewise."""

    max_prefix_lines: int = 200
    max_prefix_chars: int = 8000
    max_suffix_lines: int = 60
    max_suffix_chars: int = 2500


# The prefix starts on a file line that is a multiple of this, so that its beginning (and the
# engine's KV cache of it) stays put while the cursor moves down: the engine's own grid.
GRID_LINES = ALIGN_LINES


def budget(text: str, offset: int, limits: Budget = Budget()) -> tuple[str, str]:
    """(prefix, suffix) around ``offset`` within ``limits``; whole lines only, except the cursor's own.
    The prefix's first line is a multiple of ``GRID_LINES`` in the file (see ``GRID_LINES``)."""
    prefix, suffix = text[:offset], text[offset:]
    head = prefix.split("\n")
    last = len(head) - 1  # the cursor's line, always kept
    start = max(0, len(head) - limits.max_prefix_lines)
    if start:
        start = min(last, -(-start // GRID_LINES) * GRID_LINES)
    size = sum(len(x) + 1 for x in head[start:]) - 1
    while start < last and size > limits.max_prefix_chars:
        step = (start // GRID_LINES + 1) * GRID_LINES
        step = step if step < last else start + 1  # under one grid step of room: line by line
        size -= sum(len(x) + 1 for x in head[start:step])
        start = step
    tail = suffix.split("\n")
    if len(tail) > limits.max_suffix_lines:
        tail = tail[: limits.max_suffix_lines]
    while len(tail) > 1 and sum(len(x) + 1 for x in tail) - 1 > limits.max_suffix_chars:
        tail = tail[:-1]
    new_prefix, new_suffix = "\n".join(head[start:]), "\n".join(tail)
    return new_prefix[-limits.max_prefix_chars:], new_suffix[: limits.max_suffix_chars]


def looks_binary(text: str, max_line: int = 10_000) -> bool:
    if "\x00" in text[:65536]:
        return True
    return any(len(line) > max_line for line in text[:200_000].split("\n"))


class CompletionCache:
    """LRU of completions; ``get`` also serves a completion whose beginning the user has since typed."""

    def __init__(self, size: int = 256):
        self.size = size
        self._items: OrderedDict[tuple[str, str], str] = OrderedDict()

    def put(self, prefix: str, suffix: str, completion: str) -> None:
        self._items[(prefix, suffix)] = completion
        self._items.move_to_end((prefix, suffix))
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def get(self, prefix: str, suffix: str) -> str | None:
        hit = self._items.get((prefix, suffix))
        if hit is not None:
            self._items.move_to_end((prefix, suffix))
            return hit
        # Typed ahead: an earlier prefix plus characters that match the start of its completion.
        for (p, s), completion in reversed(self._items.items()):
            if s == suffix and prefix.startswith(p) and len(prefix) > len(p):
                typed = prefix[len(p):]
                if completion.startswith(typed) and len(completion) > len(typed):
                    return completion[len(typed):]
        return None
