"""Space-efficient probabilistic set membership (Bloom filter).

A Bloom filter never gives false negatives, but may report an item as
present when it is not. Sizing follows the standard formulas:

    m = -n * ln(p) / (ln 2)^2     bits
    k = (m / n) * ln 2            hash functions
"""
import hashlib
import math


class BloomFilter:
    def __init__(self, expected_items: int, false_positive_rate: float = 0.01):
        if expected_items <= 0 or not 0 < false_positive_rate < 1:
            raise ValueError("need expected_items > 0 and 0 < rate < 1")
        m = -expected_items * math.log(false_positive_rate) / (math.log(2) ** 2)
        self.num_bits = max(8, int(math.ceil(m)))
        self.num_hashes = max(1, round(self.num_bits / expected_items * math.log(2)))
        self._bits = bytearray((self.num_bits + 7) // 8)
        self._added = 0

    def _positions(self, item):
        # Double hashing (Kirsch & Mitzenmacher): derive k indices from two
        # 64-bit halves of one digest instead of computing k separate hashes.
        data = item if isinstance(item, bytes) else str(item).encode("utf-8")
        digest = hashlib.blake2b(data, digest_size=16).digest()
        h1 = int.from_bytes(digest[:8], "little")
        h2 = int.from_bytes(digest[8:], "little") | 1  # odd => never zero step
        for i in range(self.num_hashes):
            yield (h1 + i * h2) % self.num_bits

    def add(self, item) -> None:
        for pos in self._positions(item):
            self._bits[pos >> 3] |= 1 << (pos & 7)
        self._added += 1

    def __contains__(self, item) -> bool:
        return all(self._bits[pos >> 3] & (1 << (pos & 7)) for pos in self._positions(item))

    def estimated_fp_rate(self) -> float:
        """Theoretical false-positive rate given how many items were added."""
        k, m, n = self.num_hashes, self.num_bits, self._added
        return (1 - math.exp(-k * n / m)) ** k


if __name__ == "__main__":
    bf = BloomFilter(expected_items=1000, false_positive_rate=0.02)
    for i in range(1000):
        bf.add(f"user-{i}")
    assert all(f"user-{i}" in bf for i in range(1000))  # no false negatives
    false_hits = sum(f"other-{i}" in bf for i in range(10000))
    print(f"bits={bf.num_bits} k={bf.num_hashes}")
    print(f"observed fp={false_hits / 10000:.4f} expected={bf.estimated_fp_rate():.4f}")
