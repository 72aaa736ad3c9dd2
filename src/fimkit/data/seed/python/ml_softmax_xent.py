"""Numerically stable softmax, log-softmax and cross-entropy in NumPy."""
import numpy as np


def logsumexp(z: np.ndarray, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    # Shift by the max so exp() never overflows; the shift cancels exactly:
    # log sum exp(z) = m + log sum exp(z - m).
    m = np.max(z, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)  # all -inf row: avoid inf - inf = nan
    out = m + np.log(np.sum(np.exp(z - m), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    # Computing log(softmax(z)) directly underflows to log(0) = -inf for very
    # negative logits; subtracting logsumexp keeps full precision.
    return z - logsumexp(z, axis=axis, keepdims=True)


def cross_entropy(logits: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy over a batch and its gradient w.r.t. the logits.

    logits:  (N, C) unnormalised scores
    targets: (N,) integer class indices
    """
    n = logits.shape[0]
    logp = log_softmax(logits, axis=1)
    loss = -logp[np.arange(n), targets].mean()
    # d loss / d logits = softmax(logits) - one_hot(targets), averaged over N.
    grad = np.exp(logp)
    grad[np.arange(n), targets] -= 1.0
    return float(loss), grad / n


if __name__ == "__main__":
    big = np.array([[1000.0, 1001.0, 1002.0], [-1000.0, 0.0, 1000.0]])
    print(softmax(big).round(4))
    loss, g = cross_entropy(big, np.array([2, 0]))
    print(round(loss, 4), g.round(4))
    # Finite-difference check of the gradient on a small random problem.
    rng = np.random.default_rng(0)
    z, t, eps = rng.normal(size=(4, 5)), rng.integers(0, 5, size=4), 1e-6
    _, analytic = cross_entropy(z, t)
    dz = np.zeros_like(z); dz[1, 3] = eps
    numeric = (cross_entropy(z + dz, t)[0] - cross_entropy(z - dz, t)[0]) / (2 * eps)
    print(abs(numeric - analytic[1, 3]) < 1e-8)
