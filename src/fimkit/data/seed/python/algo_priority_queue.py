"""Indexed priority queue on top of heapq with update and removal.

heapq alone cannot change the priority of an entry already in the heap.
The usual workaround (from the heapq docs' own discussion) is to mark the
old entry as removed and push a new one; removed entries are skipped when
they reach the top. This gives O(log n) push/update and amortised pop.
"""
import heapq
import itertools

_REMOVED = object()  # identity-compared sentinel; cannot collide with a task


class PriorityQueue:
    def __init__(self):
        self._heap = []
        self._entries = {}
        # Monotonic sequence numbers give FIFO order among equal priorities
        # and stop heapq from ever comparing the task objects themselves.
        self._seq = itertools.count()

    def push(self, task, priority):
        """Insert ``task`` or change its priority if already queued."""
        if task in self._entries:
            self.discard(task)
        entry = [priority, next(self._seq), task]
        self._entries[task] = entry
        heapq.heappush(self._heap, entry)

    def discard(self, task):
        entry = self._entries.pop(task, None)
        if entry is not None:
            entry[-1] = _REMOVED

    def pop(self):
        """Remove and return (task, priority) with the lowest priority."""
        while self._heap:
            priority, _, task = heapq.heappop(self._heap)
            if task is not _REMOVED:
                del self._entries[task]
                return task, priority
        raise KeyError("pop from an empty priority queue")

    def peek(self):
        while self._heap and self._heap[0][-1] is _REMOVED:
            heapq.heappop(self._heap)
        if not self._heap:
            raise KeyError("peek at an empty priority queue")
        priority, _, task = self._heap[0]
        return task, priority

    def __len__(self):
        return len(self._entries)

    def __bool__(self):
        return bool(self._entries)

    def __contains__(self, task):
        return task in self._entries


if __name__ == "__main__":
    pq = PriorityQueue()
    for job, prio in [("backup", 5), ("email", 2), ("deploy", 1), ("lint", 2)]:
        pq.push(job, prio)
    pq.push("backup", 0)   # escalate
    pq.discard("lint")
    while pq:
        print(*pq.pop())
