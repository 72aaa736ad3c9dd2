"""Linear regression trained with mini-batch gradient descent.

Features are standardised first: with raw features of very different scales
the loss surface is badly conditioned and a single learning rate either
diverges on the large-scale directions or crawls on the small ones.
"""
from typing import NamedTuple

import numpy as np


class GDResult(NamedTuple):
    weights: np.ndarray   # in original feature units
    bias: float
    losses: list


def train_linear_gd(X, y, lr=0.1, epochs=200, batch_size=32, seed=0) -> GDResult:
    rng = np.random.default_rng(seed)
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    mu, sigma = X.mean(axis=0), X.std(axis=0)
    sigma[sigma == 0] = 1.0  # constant columns: leave them unscaled
    Xs = (X - mu) / sigma

    n, d = Xs.shape
    w = np.zeros(d)
    b = float(y.mean())  # good starting point; saves a few epochs
    history = []
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            err = Xs[idx] @ w + b - y[idx]
            # Gradient of 0.5 * mean squared error.
            w -= lr * (Xs[idx].T @ err) / len(idx)
            b -= lr * err.mean()
        history.append(0.5 * np.mean((Xs @ w + b - y) ** 2))

    # Undo the standardisation so callers can use raw features directly:
    # y = sum(w_j (x_j - mu_j) / s_j) + b  =>  w' = w / s, b' = b - sum(w' mu)
    w_raw = w / sigma
    return GDResult(w_raw, b - float(w_raw @ mu), history)


if __name__ == "__main__":
    rng = np.random.default_rng(3)
    X = np.column_stack([rng.normal(0, 1, 500), rng.normal(100, 50, 500)])
    y = 4.0 * X[:, 0] - 0.02 * X[:, 1] + 1.5 + rng.normal(0, 0.05, 500)
    res = train_linear_gd(X, y, epochs=50)
    print(res.weights.round(4), round(res.bias, 3), f"final loss {res.losses[-1]:.5f}")
