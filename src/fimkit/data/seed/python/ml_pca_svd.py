"""Principal component analysis computed from a thin SVD.

Using the SVD of the centred data matrix instead of eigen-decomposing the
covariance matrix is more accurate: forming X^T X squares the condition number.
"""
from dataclasses import dataclass, field

import numpy as np


@dataclass
class PCA:
    n_components: int
    mean_: np.ndarray = field(init=False, repr=False)
    components_: np.ndarray = field(init=False, repr=False)
    explained_variance_: np.ndarray = field(init=False, repr=False)
    explained_variance_ratio_: np.ndarray = field(init=False, repr=False)

    def fit(self, X: np.ndarray) -> "PCA":
        X = np.asarray(X, dtype=float)
        n_samples = X.shape[0]
        if self.n_components > min(X.shape):
            raise ValueError("n_components cannot exceed min(n_samples, n_features)")
        self.mean_ = X.mean(axis=0)
        U, S, Vt = np.linalg.svd(X - self.mean_, full_matrices=False)

        # Flip signs so the largest-magnitude loading of each component is
        # positive; SVD signs are arbitrary and this makes results reproducible.
        max_rows = np.argmax(np.abs(Vt), axis=1)
        signs = np.sign(Vt[np.arange(Vt.shape[0]), max_rows])
        Vt *= signs[:, None]

        variance = S**2 / max(n_samples - 1, 1)
        self.components_ = Vt[: self.n_components]
        self.explained_variance_ = variance[: self.n_components]
        self.explained_variance_ratio_ = self.explained_variance_ / variance.sum()
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return (np.asarray(X, dtype=float) - self.mean_) @ self.components_.T

    def inverse_transform(self, Z: np.ndarray) -> np.ndarray:
        return Z @ self.components_ + self.mean_

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        return self.fit(X).transform(X)


if __name__ == "__main__":
    rng = np.random.default_rng(1)
    latent = rng.normal(size=(200, 2))
    data = latent @ rng.normal(size=(2, 5)) + 0.05 * rng.normal(size=(200, 5))
    pca = PCA(n_components=2)
    Z = pca.fit_transform(data)
    err = np.abs(pca.inverse_transform(Z) - data).max()
    print(pca.explained_variance_ratio_.round(4), f"max reconstruction error {err:.3f}")
