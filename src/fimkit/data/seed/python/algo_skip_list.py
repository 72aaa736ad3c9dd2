"""Ordered map implemented as a skip list.

Expected O(log n) search/insert/delete like a balanced tree, with simpler
code: each node is promoted to a higher "express lane" with probability P.
"""
import random

MAX_LEVEL = 16
P = 0.5


class _Node:
    __slots__ = ("key", "value", "forward")

    def __init__(self, key, value, level):
        self.key, self.value = key, value
        self.forward = [None] * level


class SkipList:
    def __init__(self, seed=None):
        self._head = _Node(None, None, MAX_LEVEL)
        self._level = 1
        self._len = 0
        self._rng = random.Random(seed)

    def _random_level(self):
        lvl = 1
        while lvl < MAX_LEVEL and self._rng.random() < P:
            lvl += 1
        return lvl

    def _find_predecessors(self, key):
        """Last node before ``key`` on every level, top to bottom."""
        update = [self._head] * MAX_LEVEL
        node = self._head
        for lvl in range(self._level - 1, -1, -1):
            while node.forward[lvl] is not None and node.forward[lvl].key < key:
                node = node.forward[lvl]
            update[lvl] = node
        return update

    def get(self, key, default=None):
        node = self._find_predecessors(key)[0].forward[0]
        return node.value if node is not None and node.key == key else default

    def insert(self, key, value):
        update = self._find_predecessors(key)
        nxt = update[0].forward[0]
        if nxt is not None and nxt.key == key:
            nxt.value = value
            return
        lvl = self._random_level()
        # update[] defaults to the head sentinel for levels above self._level.
        self._level = max(self._level, lvl)
        node = _Node(key, value, lvl)
        for i in range(lvl):
            node.forward[i] = update[i].forward[i]
            update[i].forward[i] = node
        self._len += 1

    def remove(self, key):
        update = self._find_predecessors(key)
        target = update[0].forward[0]
        if target is None or target.key != key:
            return False
        for i in range(len(target.forward)):
            update[i].forward[i] = target.forward[i]
        while self._level > 1 and self._head.forward[self._level - 1] is None:
            self._level -= 1
        self._len -= 1
        return True

    def __len__(self):
        return self._len

    def items(self):
        node = self._head.forward[0]
        while node is not None:
            yield node.key, node.value
            node = node.forward[0]


if __name__ == "__main__":
    sl = SkipList(seed=7)
    for k in [30, 10, 50, 20, 40, 10]:
        sl.insert(k, str(k) * 2)
    sl.remove(20)
    print(list(sl.items()), len(sl), sl.get(40), sl.get(99, "-"))
