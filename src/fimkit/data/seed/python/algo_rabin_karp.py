"""Rabin-Karp matching and duplicate-substring detection with a rolling hash.

A polynomial hash over a sliding window can be updated in O(1) per step:
drop the leading character's contribution, shift, add the new character.
Hash equality is only a *hint*, so matches are verified by direct
comparison to rule out collisions.
"""

MOD = (1 << 61) - 1   # Mersenne prime: large, so collisions are rare
BASE = 131


class RollingHash:
    """Prefix-hash table allowing O(1) hashing of any substring."""

    def __init__(self, text, base=BASE, mod=MOD):
        self.mod = mod
        n = len(text)
        self._prefix = [0] * (n + 1)
        self._power = [1] * (n + 1)
        for i, ch in enumerate(text):
            self._prefix[i + 1] = (self._prefix[i] * base + ord(ch)) % mod
            self._power[i + 1] = (self._power[i] * base) % mod

    def window(self, start, length):
        end = start + length
        return (self._prefix[end] - self._prefix[start] * self._power[length]) % self.mod


def rabin_karp(text, pattern):
    """Return every index where ``pattern`` occurs in ``text``."""
    m = len(pattern)
    if m == 0 or m > len(text):
        return [] if m else list(range(len(text) + 1))
    target = RollingHash(pattern).window(0, m)
    rh = RollingHash(text)
    return [i for i in range(len(text) - m + 1)
            if rh.window(i, m) == target and text[i:i + m] == pattern]


def has_repeat(text, length):
    """True if some substring of ``length`` characters occurs twice."""
    rh = RollingHash(text)
    seen = {}
    for i in range(len(text) - length + 1):
        h = rh.window(i, length)
        for j in seen.get(h, ()):
            if text[j:j + length] == text[i:i + length]:
                return True
        seen.setdefault(h, []).append(i)
    return False


def longest_repeated_substring_length(text):
    """Binary search on length: a repeat of length L implies one of L-1."""
    lo, hi = 0, len(text) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if has_repeat(text, mid):
            lo = mid
        else:
            hi = mid - 1
    return max(lo, 0)


if __name__ == "__main__":
    print(rabin_karp("the cat sat on the mat with the hat", "the"))
    print(longest_repeated_substring_length("banana"))        # "ana" -> 3
    print(longest_repeated_substring_length("abcdefg"))       # 0
