"""Disjoint-set forest with union by size and path halving."""


class DisjointSet:
    """Track a partition of ``range(n)`` into disjoint sets.

    Both optimisations together give an amortised cost per operation of
    O(alpha(n)), the inverse Ackermann function -- effectively constant.

    >>> ds = DisjointSet(6)
    >>> ds.union(0, 1); ds.union(2, 3); ds.union(1, 3)
    True
    True
    True
    >>> ds.connected(0, 2), ds.connected(0, 4)
    (True, False)
    >>> ds.components
    3
    """

    __slots__ = ("_parent", "_size", "components")

    def __init__(self, n: int) -> None:
        self._parent = list(range(n))
        self._size = [1] * n
        self.components = n

    def find(self, x: int) -> int:
        parent = self._parent
        while parent[x] != x:
            # Path halving: point every other node at its grandparent.
            # One pass, no recursion, and nearly as effective as full
            # path compression.
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: int, b: int) -> bool:
        """Merge the sets holding ``a`` and ``b``; False if already joined."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        if self._size[ra] < self._size[rb]:
            ra, rb = rb, ra
        # Hang the smaller tree beneath the larger so depth grows slowly.
        self._parent[rb] = ra
        self._size[ra] += self._size[rb]
        self.components -= 1
        return True

    def connected(self, a: int, b: int) -> bool:
        return self.find(a) == self.find(b)

    def size_of(self, x: int) -> int:
        return self._size[self.find(x)]


if __name__ == "__main__":
    import doctest

    doctest.testmod(verbose=False)
    islands = DisjointSet(10)
    for a, b in [(0, 1), (1, 2), (5, 6), (7, 8), (8, 9), (9, 7)]:
        islands.union(a, b)
    print("groups:", islands.components, "size of 8's group:", islands.size_of(8))
