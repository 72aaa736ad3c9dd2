"""Moving averages for 1-D signals: simple (cumsum), exponential, and
a bias-corrected EMA like the one Adam uses for its moment estimates."""
import numpy as np


def simple_moving_average(x: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over ``window`` samples; output has len(x) - window + 1 items.

    The cumulative-sum trick is O(n) regardless of window size. We accumulate
    in float64 because the running sum can grow large and lose precision.
    """
    if window < 1 or window > len(x):
        raise ValueError("window must be between 1 and len(x)")
    c = np.cumsum(np.asarray(x, dtype=np.float64))
    c = np.concatenate(([0.0], c))
    return (c[window:] - c[:-window]) / window


def exponential_moving_average(x: np.ndarray, alpha: float) -> np.ndarray:
    """EMA with smoothing factor alpha in (0, 1]; seeded with the first value.

    A recurrence cannot be vectorised directly, so we just loop: it is simple
    and for typical series lengths fast enough.
    """
    if not 0.0 < alpha <= 1.0:
        raise ValueError("alpha must be in (0, 1]")
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    acc = x[0]
    for i, v in enumerate(x):
        acc = alpha * v + (1.0 - alpha) * acc
        out[i] = acc
    return out


def debiased_ema(x: np.ndarray, beta: float = 0.9) -> np.ndarray:
    """EMA started at zero and divided by (1 - beta^t).

    Starting at zero biases early estimates towards zero; the correction
    factor exactly rescales the weights so they sum to one at every step.
    """
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    m = 0.0
    for t, v in enumerate(x, start=1):
        m = beta * m + (1.0 - beta) * v
        out[t - 1] = m / (1.0 - beta**t)
    return out


if __name__ == "__main__":
    sig = np.sin(np.linspace(0, 6, 50)) + 5.0
    print(simple_moving_average(sig, 5)[:3].round(4))
    print(exponential_moving_average(sig, 0.3)[:3].round(4))
    print(debiased_ema(sig)[:3].round(4))  # close to 5, not close to 0
