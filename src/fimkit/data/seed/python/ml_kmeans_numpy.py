"""K-means clustering with k-means++ seeding, implemented in plain NumPy."""
from __future__ import annotations

import numpy as np


def _kmeans_pp_init(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Pick initial centroids far apart (Arthur & Vassilvitskii, 2007)."""
    n = x.shape[0]
    centers = np.empty((k, x.shape[1]), dtype=x.dtype)
    centers[0] = x[rng.integers(n)]
    # Squared distance of every point to its nearest chosen centre so far.
    closest = np.sum((x - centers[0]) ** 2, axis=1)
    for i in range(1, k):
        total = closest.sum()
        if total == 0.0:  # all remaining points coincide with a centre
            centers[i:] = centers[0]
            break
        idx = rng.choice(n, p=closest / total)
        centers[i] = x[idx]
        closest = np.minimum(closest, np.sum((x - centers[i]) ** 2, axis=1))
    return centers


def kmeans(
    x: np.ndarray, k: int, max_iter: int = 100, tol: float = 1e-6, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, float]:
    """Run Lloyd's algorithm.

    Returns ``(centroids, labels, inertia)`` where inertia is the sum of
    squared distances from each point to its assigned centroid.
    """
    if not 0 < k <= len(x):
        raise ValueError("k must be in [1, n_samples]")
    rng = np.random.default_rng(seed)
    x = np.asarray(x, dtype=np.float64)
    centers = _kmeans_pp_init(x, k, rng)

    for _ in range(max_iter):
        # ||a-b||^2 = ||a||^2 - 2ab + ||b||^2 avoids an (n, k, d) temporary.
        d2 = (
            np.sum(x**2, axis=1, keepdims=True)
            - 2.0 * x @ centers.T
            + np.sum(centers**2, axis=1)
        )
        labels = np.argmin(d2, axis=1)
        new_centers = centers.copy()
        for j in range(k):
            members = x[labels == j]
            if len(members):  # empty cluster keeps its previous centre
                new_centers[j] = members.mean(axis=0)
        shift = np.max(np.linalg.norm(new_centers - centers, axis=1))
        centers = new_centers
        if shift < tol:
            break

    d2 = np.sum((x[:, None, :] - centers[None, :, :]) ** 2, axis=2)
    labels = np.argmin(d2, axis=1)
    inertia = float(d2[np.arange(len(x)), labels].sum())
    return centers, labels, inertia


if __name__ == "__main__":
    gen = np.random.default_rng(42)
    blobs = np.vstack([gen.normal(c, 0.3, size=(50, 2)) for c in ((0, 0), (3, 3), (0, 4))])
    c, lab, sse = kmeans(blobs, k=3)
    print(np.round(c, 2), np.bincount(lab), round(sse, 3))
