"""Iterative segment tree for range queries with point updates.

The bottom-up layout (leaves at indices n..2n-1) avoids recursion and works
for any associative operation with an identity element, so the same class
answers range sums, minimums, maximums or gcds.
"""
import operator
from math import gcd, inf


class SegmentTree:
    def __init__(self, values, combine=operator.add, identity=0):
        self._n = len(values)
        self._op = combine
        self._id = identity
        self._tree = [identity] * self._n + list(values)
        for i in range(self._n - 1, 0, -1):
            self._tree[i] = combine(self._tree[2 * i], self._tree[2 * i + 1])

    def __len__(self):
        return self._n

    def __getitem__(self, index):
        return self._tree[index + self._n]

    def update(self, index, value):
        """Set element ``index`` to ``value`` in O(log n)."""
        if not 0 <= index < self._n:
            raise IndexError(index)
        i = index + self._n
        self._tree[i] = value
        while i > 1:
            i //= 2
            self._tree[i] = self._op(self._tree[2 * i], self._tree[2 * i + 1])

    def query(self, left, right):
        """Combine elements in the half-open range [left, right).

        Left and right partial results are kept separately because the
        operation need not be commutative (e.g. matrix products).
        """
        acc_left, acc_right = self._id, self._id
        lo, hi = left + self._n, right + self._n
        while lo < hi:
            if lo & 1:
                acc_left = self._op(acc_left, self._tree[lo])
                lo += 1
            if hi & 1:
                hi -= 1
                acc_right = self._op(self._tree[hi], acc_right)
            lo //= 2
            hi //= 2
        return self._op(acc_left, acc_right)


if __name__ == "__main__":
    data = [5, 2, 8, 6, 3, 9, 1, 4]
    sums = SegmentTree(data)
    mins = SegmentTree(data, min, inf)
    gcds = SegmentTree([12, 18, 24, 36], gcd, 0)
    print(sums.query(2, 6), mins.query(0, 5), gcds.query(0, 3))
    sums.update(3, 100)
    mins.update(6, 50)
    print(sums.query(2, 6), mins.query(0, 8))
    # Cross-check against brute force on every range.
    for a in range(len(data)):
        for b in range(a + 1, len(data) + 1):
            assert mins.query(a, b) == min(mins[i] for i in range(a, b))
