"""Per-client sliding-window rate limiter, e.g. for guarding a login endpoint."""
from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Decision:
    allowed: bool
    remaining: int
    retry_after: float  # seconds until the next request would be allowed

    def headers(self) -> dict[str, str]:
        h = {"X-RateLimit-Remaining": str(self.remaining)}
        if not self.allowed:
            # Retry-After must be whole seconds; round up so clients don't retry too soon.
            h["Retry-After"] = str(max(1, int(-(-self.retry_after // 1))))
        return h


class SlidingWindowLimiter:
    """Allow ``limit`` hits per ``window`` seconds for each key.

    Unlike fixed windows, this doesn't allow a 2x burst straddling a window
    boundary. The trade-off is storing one timestamp per recent hit.
    """

    def __init__(self, limit: int, window: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> Decision:
        now = self._clock()
        with self._lock:
            q = self._hits.setdefault(key, deque())
            cutoff = now - self.window
            while q and q[0] <= cutoff:
                q.popleft()
            if len(q) >= self.limit:
                return Decision(False, 0, q[0] + self.window - now)
            q.append(now)
            return Decision(True, self.limit - len(q), 0.0)

    def sweep(self) -> int:
        """Drop idle keys so memory doesn't grow with every client ever seen."""
        cutoff = self._clock() - self.window
        with self._lock:
            stale = [k for k, q in self._hits.items() if not q or q[-1] <= cutoff]
            for k in stale:
                del self._hits[k]
        return len(stale)


if __name__ == "__main__":
    fake_now = [0.0]
    limiter = SlidingWindowLimiter(limit=3, window=60, clock=lambda: fake_now[0])
    for t in (0, 10, 20, 30, 61):
        fake_now[0] = t
        d = limiter.hit("203.0.113.7")
        print(t, d.allowed, d.headers())
