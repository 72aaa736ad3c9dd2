"""Scores: pass@k (unbiased), exact match, edit similarity, bootstrap confidence intervals.

Edit similarity here is ``1 - Levenshtein(a, b) / max(len(a), len(b))`` on the stripped strings
(1.0 for two empty strings): the definition CodeXGLUE and the SantaCoder/Qwen reports use, not
``fuzz.ratio``'s indel-based one.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased estimator 1 - C(n-c, k) / C(n, k) (Chen et al. 2021), computed stably."""
    if k > n:
        raise ValueError(f"pass@{k} needs at least {k} samples per task, got {n}")
    if n - c < k:
        return 1.0
    prod = 1.0
    for i in range(n - c + 1, n + 1):
        prod *= 1.0 - k / i
    return 1.0 - prod


def exact_match(prediction: str, reference: str) -> bool:
    return prediction.strip() == reference.strip()


def levenshtein(a: str, b: str) -> int:
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def edit_similarity(prediction: str, reference: str) -> float:
    a, b = prediction.strip(), reference.strip()
    if not a and not b:
        return 1.0
    return 1.0 - levenshtein(a, b) / max(len(a), len(b))


def bootstrap_ci(values: Sequence[float], *, samples: int = 1000, confidence: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean over tasks."""
    if not values:
        return (math.nan, math.nan)
    rng = random.Random(seed)
    n = len(values)
    means = sorted(sum(values[rng.randrange(n)] for _ in range(n)) / n for _ in range(samples))
    lo = means[int((1 - confidence) / 2 * samples)]
    hi = means[min(samples - 1, int((1 + confidence) / 2 * samples))]
    return lo, hi


def paired_difference_ci(a: Sequence[float], b: Sequence[float], *, samples: int = 1000, seed: int = 0) -> tuple[float, float]:
    """Bootstrap interval of mean(a - b) over the same tasks: excludes 0 when the difference is real."""
    diffs = [x - y for x, y in zip(a, b)]
    return bootstrap_ci(diffs, samples=samples, seed=seed)


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]
