"""Longest strictly increasing subsequence in O(n log n).

Patience-sorting idea: ``tails[k]`` is the smallest possible tail value of
an increasing subsequence of length ``k + 1``. Keeping tails minimal leaves
the most room for future elements to extend them. ``tails`` is always
sorted, so we can binary-search where each new element belongs.
"""
from bisect import bisect_left


def lis_length(seq):
    """Length of the longest strictly increasing subsequence.

    >>> lis_length([10, 9, 2, 5, 3, 7, 101, 18])
    4
    >>> lis_length([])
    0
    """
    tails = []
    for x in seq:
        pos = bisect_left(tails, x)  # bisect_left => strictly increasing
        if pos == len(tails):
            tails.append(x)
        else:
            tails[pos] = x
    return len(tails)


def lis(seq):
    """Return one longest strictly increasing subsequence itself.

    Alongside ``tails`` values we store the index that produced each tail
    and a back-pointer from every element to its predecessor in the best
    chain ending at it.

    >>> lis([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5])
    [1, 2, 3, 5]
    """
    tail_vals, tail_idx = [], []
    back = [-1] * len(seq)
    for i, x in enumerate(seq):
        pos = bisect_left(tail_vals, x)
        if pos > 0:
            back[i] = tail_idx[pos - 1]
        if pos == len(tail_vals):
            tail_vals.append(x)
            tail_idx.append(i)
        else:
            tail_vals[pos] = x
            tail_idx[pos] = i

    out = []
    k = tail_idx[-1] if tail_idx else -1
    while k != -1:
        out.append(seq[k])
        k = back[k]
    return out[::-1]


if __name__ == "__main__":
    import doctest

    failures, _ = doctest.testmod()
    print("doctest failures:", failures)
