"""k-th smallest element via quickselect (Hoare's FIND).

Expected O(n) time, versus O(n log n) for sorting first. We pick pivots at
random so adversarial (e.g. already sorted) inputs don't trigger the
quadratic worst case, and use a three-way partition so arrays with many
duplicates also stay linear.
"""
import random


def quickselect(values, k, *, rng=random):
    """Return the element that would be at index ``k`` after sorting.

    ``values`` is not modified; we work on a copy.

    >>> quickselect([7, 2, 9, 4, 4, 1], 0)
    1
    >>> quickselect([7, 2, 9, 4, 4, 1], 3)
    4
    """
    if not 0 <= k < len(values):
        raise IndexError(f"k={k} out of range for {len(values)} elements")
    arr = list(values)
    lo, hi = 0, len(arr) - 1
    while True:
        if lo == hi:
            return arr[lo]
        pivot = arr[rng.randint(lo, hi)]
        # Dutch national flag: [lo, lt) < pivot, [lt, i) == pivot, (gt, hi] > pivot
        lt, i, gt = lo, lo, hi
        while i <= gt:
            if arr[i] < pivot:
                arr[lt], arr[i] = arr[i], arr[lt]
                lt += 1
                i += 1
            elif arr[i] > pivot:
                arr[gt], arr[i] = arr[i], arr[gt]
                gt -= 1
            else:
                i += 1
        if k < lt:
            hi = lt - 1
        elif k > gt:
            lo = gt + 1
        else:
            return pivot


def median(values):
    """Median using at most two selections (for even-length input)."""
    n = len(values)
    if n == 0:
        raise ValueError("median of empty sequence")
    upper = quickselect(values, n // 2)
    if n % 2:
        return upper
    return (quickselect(values, n // 2 - 1) + upper) / 2


if __name__ == "__main__":
    import doctest

    doctest.testmod()
    sample = [random.random() for _ in range(1001)]
    assert median(sample) == sorted(sample)[500]
    print(median([5, 3, 8, 1]))
