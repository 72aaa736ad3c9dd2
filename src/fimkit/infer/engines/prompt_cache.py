"""Saved KV-cache states of recent prompts, so that going back to a file resumes where it was.

llama.cpp keeps one KV cache: the prompt of the last request. Moving the cursor within a file
keeps most of it (the prompt's beginning is stable, see ``context._align``), but switching to
another file and back would evaluate the whole first file again, seconds on a laptop CPU. So
before the cache is overwritten, its state (one sequence's keys and values, ~12 KB per token for
Gemma-3-270m) is copied out, and a later prompt that shares more with a saved state than with the
live cache starts from that state instead. Saving takes ~15 ms and restoring ~4 ms, against
~3 ms per token re-evaluated. Entries are kept least-recently-used, bounded in count and bytes.
"""

from __future__ import annotations

from dataclasses import dataclass


def common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


@dataclass
class SavedPrompt:
    tokens: list[int]
    data: bytes


class PromptStates:
    """Least-recently-used saved states; ``limit`` 0 turns the cache off."""

    def __init__(self, limit: int = 4, max_bytes: int = 512 << 20):
        self.limit, self.max_bytes = limit, max_bytes
        self.entries: list[SavedPrompt] = []  # most recently used last
        self.saves = self.restores = 0

    def best(self, tokens: list[int]) -> tuple[SavedPrompt | None, int]:
        """The saved state sharing the longest beginning with ``tokens``, and that length."""
        found, longest = None, 0
        for entry in self.entries:
            n = common_prefix(entry.tokens, tokens)
            if n > longest:
                found, longest = entry, n
        return found, longest

    def covers(self, tokens: list[int]) -> bool:
        """A saved state already holds all of ``tokens``."""
        return any(len(e.tokens) >= len(tokens) and e.tokens[: len(tokens)] == tokens for e in self.entries)

    def add(self, tokens: list[int], data: bytes) -> None:
        if not self.limit or len(data) > self.max_bytes:
            return
        # A saved prompt that this one extends is redundant: the new state serves it too.
        self.entries = [e for e in self.entries if e.tokens != tokens[: len(e.tokens)]]
        self.entries.append(SavedPrompt(list(tokens), data))
        self.saves += 1
        self._trim()

    def touch(self, entry: SavedPrompt) -> None:
        """``entry`` was restored: it becomes the most recent, back in the cache even if saving the live
        state evicted it meanwhile (the engine picks the state, then saves what it overwrites)."""
        if entry in self.entries:
            self.entries.remove(entry)
        self.entries.append(entry)
        self.restores += 1
        self._trim()

    def _trim(self) -> None:
        while len(self.entries) > self.limit or sum(len(e.data) for e in self.entries) > self.max_bytes:
            self.entries.pop(0)

    @property
    def size_bytes(self) -> int:
        return sum(len(e.data) for e in self.entries)
