"""Random and stratified train/test splitting for NumPy arrays."""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np


def train_test_split(
    *arrays: np.ndarray,
    test_size: float = 0.25,
    stratify: Optional[np.ndarray] = None,
    seed: Optional[int] = None,
) -> list[np.ndarray]:
    """Split any number of equally long arrays into train and test parts.

    Returns ``[a_train, a_test, b_train, b_test, ...]``. With ``stratify`` the
    class proportions of the given labels are preserved in both parts, which
    matters for small or imbalanced datasets where a purely random split can
    leave a rare class out of the test set entirely.
    """
    if not arrays:
        raise ValueError("at least one array is required")
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError("all arrays must have the same length")
    if not 0.0 < test_size < 1.0:
        raise ValueError("test_size must be a fraction in (0, 1)")
    rng = np.random.default_rng(seed)

    if stratify is None:
        perm = rng.permutation(n)
        n_test = max(1, int(round(n * test_size)))
        test_idx, train_idx = perm[:n_test], perm[n_test:]
    else:
        test_parts: list[np.ndarray] = []
        train_parts: list[np.ndarray] = []
        for cls in np.unique(stratify):
            members = rng.permutation(np.flatnonzero(stratify == cls))
            k = int(round(len(members) * test_size))
            test_parts.append(members[:k])
            train_parts.append(members[k:])
        # Shuffle again so classes are not laid out in contiguous blocks.
        test_idx = rng.permutation(np.concatenate(test_parts))
        train_idx = rng.permutation(np.concatenate(train_parts))

    out: list[np.ndarray] = []
    for a in arrays:
        a = np.asarray(a)
        out.extend((a[train_idx], a[test_idx]))
    return out


def class_fractions(labels: Sequence[int]) -> dict[int, float]:
    values, counts = np.unique(labels, return_counts=True)
    return {int(v): round(float(c) / float(counts.sum()), 3) for v, c in zip(values, counts)}


if __name__ == "__main__":
    X = np.arange(100).reshape(50, 2)
    y = np.array([0] * 40 + [1] * 10)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, stratify=y, seed=0)
    print(X_tr.shape, X_te.shape, class_fractions(y_tr), class_fractions(y_te))
