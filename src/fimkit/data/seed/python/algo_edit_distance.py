"""Levenshtein edit distance with an optional alignment trace."""
from typing import List, Sequence, Tuple


def levenshtein(a: Sequence, b: Sequence) -> int:
    """Minimum number of insertions, deletions and substitutions.

    Only two rows of the DP table are kept, so memory is O(min(len(a), len(b)))
    -- we swap arguments to make ``b`` the shorter one.

    >>> levenshtein("kitten", "sitting")
    3
    >>> levenshtein("", "abc")
    3
    """
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            current[j] = min(
                previous[j] + 1,               # delete ca
                current[j - 1] + 1,            # insert cb
                previous[j - 1] + (ca != cb),  # substitute (free if equal)
            )
        previous = current
    return previous[-1]


def edit_script(a: str, b: str) -> List[Tuple[str, str, str]]:
    """Return a list of (op, from, to) steps transforming ``a`` into ``b``.

    This needs the full table so we can walk back from the bottom-right cell.
    """
    rows, cols = len(a) + 1, len(b) + 1
    table = [[0] * cols for _ in range(rows)]
    for i in range(rows):
        table[i][0] = i
    for j in range(cols):
        table[0][j] = j
    for i in range(1, rows):
        for j in range(1, cols):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1,
                              table[i - 1][j - 1] + cost)

    ops = []
    i, j = len(a), len(b)
    while i or j:
        if i and j and table[i][j] == table[i - 1][j - 1] + (a[i - 1] != b[j - 1]):
            op = "keep" if a[i - 1] == b[j - 1] else "sub"
            ops.append((op, a[i - 1], b[j - 1]))
            i, j = i - 1, j - 1
        elif i and table[i][j] == table[i - 1][j] + 1:
            ops.append(("del", a[i - 1], ""))
            i -= 1
        else:
            ops.append(("ins", "", b[j - 1]))
            j -= 1
    ops.reverse()
    return ops


if __name__ == "__main__":
    import doctest

    doctest.testmod()
    for step in edit_script("intention", "execution"):
        print(step)
