"""Static interval tree for overlap queries ("which bookings touch 14:00?").

Intervals are sorted by start and laid out as an implicit balanced BST over
that array (the middle element is the root of each range). Every subtree
also records the maximum end point it contains, which lets a query skip
whole subtrees that end before the query begins. Queries cost
O(log n + k) for k reported intervals.
"""
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence


@dataclass(frozen=True)
class Interval:
    start: float
    end: float          # inclusive
    label: Any = None

    def overlaps(self, lo: float, hi: float) -> bool:
        return self.start <= hi and lo <= self.end


class IntervalTree:
    def __init__(self, intervals: Sequence[Interval]) -> None:
        self._items: List[Interval] = sorted(intervals, key=lambda iv: (iv.start, iv.end))
        self._max_end: List[float] = [0.0] * len(self._items)
        if self._items:
            self._build(0, len(self._items) - 1)

    def _build(self, lo: int, hi: int) -> float:
        mid = (lo + hi) // 2
        best = self._items[mid].end
        if lo < mid:
            best = max(best, self._build(lo, mid - 1))
        if mid < hi:
            best = max(best, self._build(mid + 1, hi))
        self._max_end[mid] = best
        return best

    def overlapping(self, lo: float, hi: Optional[float] = None) -> List[Interval]:
        """All intervals intersecting [lo, hi] (a point query if hi is None)."""
        if hi is None:
            hi = lo
        found: List[Interval] = []
        stack = [(0, len(self._items) - 1)] if self._items else []
        while stack:
            left, right = stack.pop()
            if left > right:
                continue
            mid = (left + right) // 2
            if self._max_end[mid] < lo:
                continue  # nothing in this subtree reaches the query
            node = self._items[mid]
            stack.append((left, mid - 1))
            # Right subtree starts at or after node.start, so if this node
            # already begins past ``hi`` the whole right side can be skipped.
            if node.start <= hi:
                stack.append((mid + 1, right))
                if node.end >= lo:
                    found.append(node)
        return sorted(found, key=lambda iv: (iv.start, iv.end))


if __name__ == "__main__":
    bookings = IntervalTree([
        Interval(9, 10.5, "standup"),
        Interval(10, 12, "design review"),
        Interval(13, 14, "lunch talk"),
        Interval(13.5, 17, "workshop"),
        Interval(16, 16.5, "1:1"),
    ])
    print([iv.label for iv in bookings.overlapping(14)])
    print([iv.label for iv in bookings.overlapping(10.25, 13.25)])
    print([iv.label for iv in bookings.overlapping(18)])
