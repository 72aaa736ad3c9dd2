"""Knuth-Morris-Pratt substring search.

Naive search can re-examine text characters many times (O(n*m) on inputs
like "aaaa...ab"). KMP precomputes, for each pattern prefix, the length of
its longest proper border (prefix that is also a suffix); on a mismatch we
fall back to that border instead of restarting, so the text index never
moves backwards and the whole search is O(n + m).
"""
from typing import Iterator, List


def failure_table(pattern: str) -> List[int]:
    """``table[i]`` = length of the longest proper border of pattern[:i+1].

    >>> failure_table("ababaca")
    [0, 0, 1, 2, 3, 0, 1]
    """
    table = [0] * len(pattern)
    border = 0
    for i in range(1, len(pattern)):
        while border and pattern[i] != pattern[border]:
            border = table[border - 1]
        if pattern[i] == pattern[border]:
            border += 1
        table[i] = border
    return table


def find_all(text: str, pattern: str) -> Iterator[int]:
    """Yield start offsets of every (possibly overlapping) match.

    >>> list(find_all("abababab", "abab"))
    [0, 2, 4]
    >>> list(find_all("hello", ""))
    [0, 1, 2, 3, 4, 5]
    """
    if not pattern:
        # Mirror str.find semantics: the empty string matches everywhere.
        yield from range(len(text) + 1)
        return
    table = failure_table(pattern)
    matched = 0
    for pos, ch in enumerate(text):
        while matched and ch != pattern[matched]:
            matched = table[matched - 1]
        if ch == pattern[matched]:
            matched += 1
        if matched == len(pattern):
            yield pos - matched + 1
            matched = table[matched - 1]  # allow overlapping matches


def smallest_period(s: str) -> int:
    """Length of the shortest string whose repetition builds ``s``.

    >>> smallest_period("abcabcabc"), smallest_period("abcab")
    (3, 5)
    """
    if not s:
        return 0
    p = len(s) - failure_table(s)[-1]
    return p if len(s) % p == 0 else len(s)


if __name__ == "__main__":
    import doctest

    print(doctest.testmod())
