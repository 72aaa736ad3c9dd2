"""Binary search variants built on a single predicate-based primitive.

Almost every binary search bug comes from off-by-one errors in the loop
bounds. Writing one carefully reviewed "first index where predicate becomes
true" helper and expressing every variant through it keeps the tricky
arithmetic in one place.
"""
from typing import Callable, Optional, Sequence


def first_true(lo: int, hi: int, pred: Callable[[int], bool]) -> int:
    """Smallest i in [lo, hi) with pred(i) true, or ``hi`` if none.

    ``pred`` must be monotone: false ... false true ... true.
    """
    while lo < hi:
        mid = lo + (hi - lo) // 2
        if pred(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def lower_bound(a: Sequence, x) -> int:
    """First index whose element is >= x (insertion point keeping order)."""
    return first_true(0, len(a), lambda i: a[i] >= x)


def upper_bound(a: Sequence, x) -> int:
    """First index whose element is > x."""
    return first_true(0, len(a), lambda i: a[i] > x)


def find(a: Sequence, x) -> Optional[int]:
    i = lower_bound(a, x)
    return i if i < len(a) and a[i] == x else None


def count(a: Sequence, x) -> int:
    return upper_bound(a, x) - lower_bound(a, x)


def search_rotated(a: Sequence, x) -> Optional[int]:
    """Locate ``x`` in a sorted array that was rotated, e.g. [4,5,6,1,2,3]."""
    if not a:
        return None
    # The rotation point is the first element smaller than a[0]... or 0 if none.
    pivot = first_true(1, len(a), lambda i: a[i] < a[0]) % len(a)
    n = len(a)
    i = first_true(0, n, lambda k: a[(k + pivot) % n] >= x)
    if i < n and a[(i + pivot) % n] == x:
        return (i + pivot) % n
    return None


def isqrt_floor(n: int) -> int:
    """Integer square root, showing a search over an answer space."""
    return first_true(0, n + 2, lambda r: r * r > n) - 1


if __name__ == "__main__":
    data = [1, 3, 3, 3, 7, 9, 12]
    print(lower_bound(data, 3), upper_bound(data, 3), count(data, 3))
    print(find(data, 9), find(data, 8))
    print(search_rotated([15, 18, 22, 3, 6, 9, 12], 6))
    print([isqrt_floor(n) for n in (0, 1, 15, 16, 17, 99)])
