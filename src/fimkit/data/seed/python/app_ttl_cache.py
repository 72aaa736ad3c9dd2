"""Memoisation decorator whose entries expire after a fixed time-to-live."""
from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict
from typing import Any, Callable, Hashable


def ttl_cache(seconds: float, maxsize: int = 256,
              clock: Callable[[], float] = time.monotonic):
    """Cache results per argument tuple for ``seconds``, evicting LRU beyond ``maxsize``.

    Uses a monotonic clock so wall-clock jumps (NTP, DST) can't resurrect or
    prematurely kill entries.
    """
    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        lock = threading.RLock()

        @functools.wraps(fn)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            key = (args, tuple(sorted(kwargs.items())))
            now = clock()
            with lock:
                hit = entries.get(key)
                if hit is not None and hit[0] > now:
                    entries.move_to_end(key)
                    return hit[1]
            # Compute outside the lock: a slow call must not block unrelated keys.
            value = fn(*args, **kwargs)
            with lock:
                entries[key] = (now + seconds, value)
                entries.move_to_end(key)
                while len(entries) > maxsize:
                    entries.popitem(last=False)
            return value

        def cache_clear() -> None:
            with lock:
                entries.clear()

        def cache_len() -> int:
            with lock:
                return len(entries)

        wrapped.cache_clear = cache_clear  # type: ignore[attr-defined]
        wrapped.cache_len = cache_len  # type: ignore[attr-defined]
        return wrapped

    return decorate


@ttl_cache(seconds=60, maxsize=32)
def exchange_rate(base: str, quote: str) -> float:
    # Stand-in for a slow call to https://api.example.com/fx
    time.sleep(0.2)
    return {("EUR", "USD"): 1.09, ("USD", "JPY"): 151.3}.get((base, quote), 1.0)


if __name__ == "__main__":
    t0 = time.perf_counter()
    exchange_rate("EUR", "USD")
    exchange_rate("EUR", "USD")
    print(f"two lookups took {time.perf_counter() - t0:.2f}s (second was cached)")
