"""Prefix tree supporting insertion, lookup and prefix enumeration."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Iterator, Optional


@dataclass
class _Node:
    children: Dict[str, "_Node"] = field(default_factory=dict)
    terminal: bool = False
    # Number of stored words passing through this node; lets us answer
    # "how many words start with X" without walking the subtree.
    passing: int = 0


class Trie:
    def __init__(self, words=()) -> None:
        self._root = _Node()
        self._size = 0
        for w in words:
            self.insert(w)

    def insert(self, word: str) -> bool:
        """Add ``word``; return False if it was already present."""
        if word in self:
            return False
        node = self._root
        node.passing += 1
        for ch in word:
            node = node.children.setdefault(ch, _Node())
            node.passing += 1
        node.terminal = True
        self._size += 1
        return True

    def _walk(self, prefix: str) -> Optional[_Node]:
        node = self._root
        for ch in prefix:
            node = node.children.get(ch)
            if node is None:
                return None
        return node

    def __contains__(self, word: str) -> bool:
        node = self._walk(word)
        return node is not None and node.terminal

    def __len__(self) -> int:
        return self._size

    def count_prefix(self, prefix: str) -> int:
        node = self._walk(prefix)
        return node.passing if node else 0

    def complete(self, prefix: str) -> Iterator[str]:
        """Yield stored words starting with ``prefix`` in lexicographic order."""
        start = self._walk(prefix)
        if start is None:
            return
        # Explicit stack; children pushed in reverse so pops come out sorted.
        stack = [(start, prefix)]
        while stack:
            node, text = stack.pop()
            if node.terminal:
                yield text
            for ch in sorted(node.children, reverse=True):
                stack.append((node.children[ch], text + ch))


if __name__ == "__main__":
    t = Trie(["car", "card", "care", "cart", "cat", "dog", "do"])
    print(list(t.complete("car")))
    print(t.count_prefix("ca"), "ca" in t, "cat" in t, len(t))
