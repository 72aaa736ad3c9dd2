"""k-nearest-neighbours classifier with distance weighting, chunked so the
pairwise-distance matrix never exceeds a fixed memory budget."""
from collections.abc import Iterator

import numpy as np


def _chunks(n: int, size: int) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


class KNNClassifier:
    def __init__(self, k: int = 5, weighted: bool = True, chunk_size: int = 1024):
        self.k = k
        self.weighted = weighted
        self.chunk_size = chunk_size

    def fit(self, X: np.ndarray, y: np.ndarray) -> "KNNClassifier":
        # kNN is lazy: "training" just memorises the data.
        self.X_ = np.asarray(X, dtype=np.float64)
        self.classes_, self.y_ = np.unique(y, return_inverse=True)
        self._sq_norms = np.einsum("ij,ij->i", self.X_, self.X_)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        k = min(self.k, len(self.X_))
        probs = np.zeros((len(X), len(self.classes_)))
        for sl in _chunks(len(X), self.chunk_size):
            q = X[sl]
            d2 = np.einsum("ij,ij->i", q, q)[:, None] - 2 * q @ self.X_.T + self._sq_norms
            np.maximum(d2, 0.0, out=d2)  # cancellation can yield tiny negatives
            # argpartition is O(n) per row; we do not need the k sorted.
            nn = np.argpartition(d2, k - 1, axis=1)[:, :k]
            rows = np.arange(len(q))[:, None]
            if self.weighted:
                w = 1.0 / (np.sqrt(d2[rows, nn]) + 1e-9)
            else:
                w = np.ones(nn.shape)
            labels = self.y_[nn]
            block = probs[sl]
            # Unbuffered add so repeated labels within a row accumulate.
            np.add.at(block, (np.broadcast_to(rows, labels.shape), labels), w)
            probs[sl] = block / block.sum(axis=1, keepdims=True)
        return probs

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


if __name__ == "__main__":
    rng = np.random.default_rng(5)
    a = rng.normal([0, 0], 0.7, size=(100, 2))
    b = rng.normal([2, 2], 0.7, size=(100, 2))
    X = np.vstack([a, b])
    y = np.array(["a"] * 100 + ["b"] * 100)
    model = KNNClassifier(k=7, chunk_size=64).fit(X[::2], y[::2])
    print("accuracy:", np.mean(model.predict(X[1::2]) == y[1::2]))
