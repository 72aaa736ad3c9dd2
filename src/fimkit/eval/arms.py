"""Arms of an experiment compared on what users did: accept rate, characters accepted, latency.

Each served completion that an editor showed is one trial of its arm; accepted or not is a Bernoulli
outcome (Wilson interval per arm), and the difference of two arms' rates gets Newcombe's interval
(the hybrid score interval built from the two Wilson intervals: it behaves at small counts and rates
near 0 or 1, where the plain normal interval does not). Characters accepted and latency are means
with normal intervals. The verdict is on the accept rate, against the experiment's first arm (its
control): ``better`` or ``worse`` only when the 95% interval of the difference excludes zero, and
``not yet`` while either arm has fewer than ``MIN_SHOWN`` shown completions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054
MIN_SHOWN = 30  # fewer shown completions than this per arm: no verdict yet


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    if n <= 0:
        return (0.0, 1.0)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def newcombe(k1: int, n1: int, k2: int, n2: int, z: float = Z95) -> tuple[float, float]:
    """95% interval of p2 - p1 (Newcombe's method 10)."""
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson(k1, n1, z)
    l2, u2 = wilson(k2, n2, z)
    d = p2 - p1
    return (d - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2), d + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2))


def mean_interval(n: int, total: float, squares: float, z: float = Z95
                  ) -> tuple[float | None, tuple[float, float] | None]:
    """Mean and its 95% interval from a count, a sum and a sum of squares (what SQL aggregates give), of
    a quantity that cannot be negative (characters, milliseconds): the interval never goes below 0."""
    if n <= 0:
        return None, None
    m = total / n
    if n < 2:
        return m, None
    half = z * math.sqrt(max(0.0, (squares - n * m * m) / (n - 1)) / n)
    return m, (max(0.0, m - half), m + half)


@dataclass
class ArmOutcomes:
    """One arm's counts: completions shown and accepted, characters accepted over the shown ones (sum
    and sum of squares; 0 for one not accepted), and the latency of every completion it served."""

    arm: str
    shown: int = 0
    accepted: int = 0
    chars: float = 0.0
    chars_sq: float = 0.0
    served: int = 0
    latency: float = 0.0
    latency_sq: float = 0.0

    def summary(self) -> dict:
        n, k = self.shown, self.accepted
        chars, chars_ci = mean_interval(n, self.chars, self.chars_sq)
        lat, lat_ci = mean_interval(self.served, self.latency, self.latency_sq)
        return {"shown": n, "accepted": k, "accept_rate": _r(k / n) if n else None,
                "accept_rate_95": [_r(x) for x in wilson(k, n)] if n else None,
                "chars_accepted_per_shown": _r(chars, 2), "chars_95": [_r(x, 2) for x in chars_ci] if chars_ci else None,
                "served": self.served, "mean_latency_ms": _r(lat, 1),
                "latency_95": [_r(x, 1) for x in lat_ci] if lat_ci else None}


def compare(arms: list[ArmOutcomes]) -> dict:
    """Each arm's summary, and every other arm against the first (the control) with a verdict."""
    out = {"arms": {a.arm: a.summary() for a in arms}, "control": arms[0].arm if arms else None, "versus": {}}
    if len(arms) < 2:
        return out
    control = arms[0]
    n1, k1 = control.shown, control.accepted
    for arm in arms[1:]:
        n2, k2 = arm.shown, arm.accepted
        if min(n1, n2) < MIN_SHOWN:
            out["versus"][arm.arm] = {"verdict": "not yet", "why": f"fewer than {MIN_SHOWN} shown completions in an arm"}
            continue
        low, high = newcombe(k1, n1, k2, n2)
        verdict = "better" if low > 0 else "worse" if high < 0 else "no difference shown"
        out["versus"][arm.arm] = {"accept_rate_difference": _r(k2 / n2 - k1 / n1),
                                  "difference_95": [_r(low), _r(high)], "verdict": verdict}
    return out


def control_first(names, order: tuple[str, ...] = ()) -> list[str]:
    """Arms in comparison order: as the routes file lists them, else base first, then by name."""
    names = set(names)
    listed = [a for a in order if a in names]
    rest = sorted(names - set(listed), key=lambda a: (a != "base", a))
    return listed + rest


def _r(x, digits: int = 4):
    return None if x is None else round(x, digits)
