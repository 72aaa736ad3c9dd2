"""Stable merge sort with a key function and a single scratch buffer."""
from typing import Callable, List, MutableSequence, Optional, TypeVar

T = TypeVar("T")

# Below this size insertion sort beats the recursion overhead of merging.
_CUTOFF = 16


def merge_sort(items: MutableSequence[T], key: Optional[Callable[[T], object]] = None) -> None:
    """Sort ``items`` in place, preserving the order of equal keys.

    Keys are computed once up front (decorate-sort-undecorate) so an
    expensive ``key`` is not re-evaluated on every comparison.
    """
    n = len(items)
    if n < 2:
        return
    keyed = [(key(x) if key else x, x) for x in items]
    scratch: List = [None] * n
    _sort(keyed, scratch, 0, n)
    for i, (_, value) in enumerate(keyed):
        items[i] = value


def _insertion(arr: List, lo: int, hi: int) -> None:
    for i in range(lo + 1, hi):
        current = arr[i]
        j = i - 1
        # Strict '>' keeps equal elements in their original order.
        while j >= lo and arr[j][0] > current[0]:
            arr[j + 1] = arr[j]
            j -= 1
        arr[j + 1] = current


def _sort(arr: List, buf: List, lo: int, hi: int) -> None:
    if hi - lo <= _CUTOFF:
        _insertion(arr, lo, hi)
        return
    mid = (lo + hi) // 2
    _sort(arr, buf, lo, mid)
    _sort(arr, buf, mid, hi)
    # Already ordered halves need no merge -- a cheap win on sorted input.
    if not arr[mid][0] < arr[mid - 1][0]:
        return
    buf[lo:hi] = arr[lo:hi]
    i, j, k = lo, mid, lo
    while i < mid and j < hi:
        # Take from the left on ties; this is what makes the sort stable.
        if buf[j][0] < buf[i][0]:
            arr[k] = buf[j]
            j += 1
        else:
            arr[k] = buf[i]
            i += 1
        k += 1
    while i < mid:
        arr[k] = buf[i]
        i += 1
        k += 1
    # Leftovers from the right half need no copy: when the left run is
    # exhausted k == j, so buf[j:hi] already matches arr[j:hi].


if __name__ == "__main__":
    import random

    data = [random.randint(0, 50) for _ in range(200)]
    expected = sorted(data)
    merge_sort(data)
    assert data == expected
    people = [("ann", 31), ("bob", 25), ("cy", 31), ("dee", 25), ("eve", 40)]
    merge_sort(people, key=lambda p: p[1])
    print(people)
