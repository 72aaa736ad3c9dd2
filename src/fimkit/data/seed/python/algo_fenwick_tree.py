"""Fenwick (binary indexed) tree for prefix sums with point updates.

Index i (1-based) stores the sum of the ``i & -i`` elements ending at i.
``i & -i`` isolates the lowest set bit, so both update and query touch at
most log2(n) cells. Compared with a segment tree it uses n+1 slots and
very little code, at the price of supporting only invertible operations.
"""


class FenwickTree:
    def __init__(self, size_or_values):
        if isinstance(size_or_values, int):
            self.size = size_or_values
            self.tree = [0] * (self.size + 1)
        else:
            values = list(size_or_values)
            self.size = len(values)
            self.tree = [0] + values
            # O(n) construction: push each node's total into its parent once.
            for i in range(1, self.size + 1):
                parent = i + (i & -i)
                if parent <= self.size:
                    self.tree[parent] += self.tree[i]

    def add(self, index, delta):
        """Add ``delta`` to element ``index`` (0-based)."""
        i = index + 1
        while i <= self.size:
            self.tree[i] += delta
            i += i & -i

    def prefix_sum(self, count):
        """Sum of the first ``count`` elements."""
        total = 0
        i = count
        while i > 0:
            total += self.tree[i]
            i -= i & -i
        return total

    def range_sum(self, lo, hi):
        """Sum over the half-open index range [lo, hi)."""
        return self.prefix_sum(hi) - self.prefix_sum(lo)

    def lower_bound(self, target):
        """Smallest count with prefix_sum(count) >= target (non-negative data).

        Walks down powers of two instead of binary-searching prefix sums,
        giving O(log n) rather than O(log^2 n).
        """
        pos, remaining = 0, target
        step = 1 << self.size.bit_length()
        while step:
            nxt = pos + step
            if nxt <= self.size and self.tree[nxt] < remaining:
                pos = nxt
                remaining -= self.tree[nxt]
            step >>= 1
        return pos + 1


if __name__ == "__main__":
    counts = FenwickTree([3, 0, 2, 5, 1, 4])
    print(counts.prefix_sum(4), counts.range_sum(2, 5))   # 10 8
    counts.add(1, 6)
    print(counts.range_sum(0, 2), counts.lower_bound(11))  # 9 3
