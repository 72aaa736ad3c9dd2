"""Longest common subsequence, the core of line-based diff tools.

The classic table is (n+1) x (m+1). We fill it from the *end* of both
sequences so that reconstruction can walk forwards, emitting the
subsequence in order without a final reverse.
"""
from typing import List, Sequence, Tuple, TypeVar

T = TypeVar("T")


def lcs_table(a: Sequence[T], b: Sequence[T]) -> List[List[int]]:
    """``table[i][j]`` is the LCS length of ``a[i:]`` and ``b[j:]``."""
    n, m = len(a), len(b)
    table = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        row, below = table[i], table[i + 1]
        for j in range(m - 1, -1, -1):
            if a[i] == b[j]:
                row[j] = below[j + 1] + 1
            else:
                row[j] = max(below[j], row[j + 1])
    return table


def lcs(a: Sequence[T], b: Sequence[T]) -> List[T]:
    """One longest common subsequence.

    >>> "".join(lcs("ABCBDAB", "BDCABA"))
    'BDAB'
    """
    table = lcs_table(a, b)
    i = j = 0
    out: List[T] = []
    while i < len(a) and j < len(b):
        if a[i] == b[j]:
            out.append(a[i])
            i += 1
            j += 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return out


def diff(old: Sequence[str], new: Sequence[str]) -> List[Tuple[str, str]]:
    """Minimal unified-style diff: ' ' keep, '-' removed, '+' added."""
    table = lcs_table(old, new)
    i = j = 0
    ops: List[Tuple[str, str]] = []
    while i < len(old) or j < len(new):
        if i < len(old) and j < len(new) and old[i] == new[j]:
            ops.append((" ", old[i]))
            i, j = i + 1, j + 1
        elif j == len(new) or (i < len(old) and table[i + 1][j] >= table[i][j + 1]):
            ops.append(("-", old[i]))
            i += 1
        else:
            ops.append(("+", new[j]))
            j += 1
    return ops


if __name__ == "__main__":
    import doctest

    doctest.testmod()
    before = ["import os", "def main():", "    print('hi')", "main()"]
    after = ["import os", "import sys", "def main():", "    print('hello')", "main()"]
    for tag, line in diff(before, after):
        print(tag, line)
