"""Closed-form (ridge) linear regression via the normal equations."""
import numpy as np


def add_bias_column(X: np.ndarray) -> np.ndarray:
    """Prepend a column of ones so the intercept is learned as weight 0."""
    return np.hstack([np.ones((X.shape[0], 1), dtype=X.dtype), X])


def fit_normal_equations(X: np.ndarray, y: np.ndarray, l2: float = 0.0) -> np.ndarray:
    """Solve (A^T A + l2 * I') w = A^T y where A = [1, X].

    The intercept is not penalised (I' has a zero in its top-left entry),
    otherwise the fit would depend on where the data happens to be centred.
    We call ``np.linalg.solve`` rather than inverting the Gram matrix: it is
    cheaper and numerically better behaved.
    """
    A = add_bias_column(np.asarray(X, dtype=float))
    gram = A.T @ A
    penalty = l2 * np.eye(A.shape[1])
    penalty[0, 0] = 0.0
    try:
        return np.linalg.solve(gram + penalty, A.T @ y)
    except np.linalg.LinAlgError:
        # Singular Gram matrix (collinear features, l2 == 0): fall back to the
        # minimum-norm least-squares solution.
        return np.linalg.lstsq(A, y, rcond=None)[0]


def predict(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    return add_bias_column(np.asarray(X, dtype=float)) @ w


def r2_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    ss_res = np.sum((y_true - y_pred) ** 2)
    ss_tot = np.sum((y_true - np.mean(y_true)) ** 2)
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else 0.0


if __name__ == "__main__":
    rng = np.random.default_rng(7)
    X = rng.uniform(-2, 2, size=(100, 3))
    true_w = np.array([0.5, 2.0, -1.0, 3.0])
    y = predict(X, true_w) + rng.normal(scale=0.1, size=100)
    for lam in (0.0, 1.0, 10.0):
        w = fit_normal_equations(X, y, l2=lam)
        print(f"l2={lam:5.1f} w={np.round(w, 3)} r2={r2_score(y, predict(X, w)):.4f}")
