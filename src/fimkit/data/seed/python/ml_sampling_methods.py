"""Sampling utilities: Walker's alias method, reservoir sampling and
Gumbel-max sampling from logits."""
from __future__ import annotations

from typing import Iterable, TypeVar

import numpy as np

T = TypeVar("T")


class AliasSampler:
    """O(1)-per-draw sampling from a fixed discrete distribution.

    Setup is O(n): every bucket holds at most two outcomes, its own and an
    "alias" that tops it up to exactly 1/n probability mass.
    """

    def __init__(self, weights: np.ndarray, seed: int | None = None) -> None:
        p = np.asarray(weights, dtype=np.float64)
        if p.ndim != 1 or np.any(p < 0) or p.sum() <= 0:
            raise ValueError("weights must be a non-negative 1-D array with positive sum")
        n = len(p)
        scaled = p * n / p.sum()
        self.prob = np.ones(n)
        self.alias = np.arange(n)
        small = [i for i in range(n) if scaled[i] < 1.0]
        large = [i for i in range(n) if scaled[i] >= 1.0]
        while small and large:
            s, g = small.pop(), large.pop()
            self.prob[s], self.alias[s] = scaled[s], g
            scaled[g] -= 1.0 - scaled[s]  # g donates what s was missing
            (small if scaled[g] < 1.0 else large).append(g)
        # Leftovers are 1.0 up to rounding error; prob stays 1 for them.
        self._rng = np.random.default_rng(seed)

    def sample(self, size: int) -> np.ndarray:
        bucket = self._rng.integers(len(self.prob), size=size)
        keep = self._rng.random(size) < self.prob[bucket]
        return np.where(keep, bucket, self.alias[bucket])


def reservoir_sample(stream: Iterable[T], k: int, seed: int | None = None) -> list[T]:
    """Uniform sample of k items from a stream of unknown length (Algorithm R)."""
    rng = np.random.default_rng(seed)
    reservoir: list[T] = []
    for i, item in enumerate(stream):
        if i < k:
            reservoir.append(item)
        else:
            j = int(rng.integers(i + 1))  # item i survives with prob k/(i+1)
            if j < k:
                reservoir[j] = item
    return reservoir


def gumbel_max_sample(logits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """argmax(logits + Gumbel noise) is a draw from softmax(logits), per row.

    Handy because it never normalises, so it works with huge logits.
    """
    u = rng.random(logits.shape)
    gumbel = -np.log(-np.log(np.clip(u, 1e-20, 1.0)))
    return np.argmax(logits + gumbel, axis=-1)


if __name__ == "__main__":
    w = np.array([0.1, 0.2, 0.3, 0.4])
    draws = AliasSampler(w, seed=0).sample(100_000)
    print(np.bincount(draws, minlength=4) / len(draws))
    print(reservoir_sample(range(1_000), k=5, seed=1))
    g = gumbel_max_sample(np.tile(np.log(w), (50_000, 1)), np.random.default_rng(2))
    print(np.bincount(g, minlength=4) / len(g))
